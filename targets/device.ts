// What a device is to the compiler, whatever fleet it sits in: its class, memory, peak compute,
// fixed costs per op and per message, what it runs and how it runs here. A fleet (src/fleet)
// adds where it sits (host, links); a target class (targets/<class>/) supplies the defaults.
import type { DType } from '../src/ir/dtype.js';

/** The device classes of the target table (targets/index.ts): one folder each. */
export const DEVICE_CLASSES = ['cpu', 'gpu', 'ipu', 'hpu', 'npu', 'dataflow'] as const;
export type DeviceClass = (typeof DEVICE_CLASSES)[number];

/**
 * How a device executes: for real on host kernels (cpu) or on an NVIDIA GPU (cuda), or emulated
 * (host kernels standing in for it, predicted time).
 */
export type Backend = 'cpu' | 'emulated' | 'cuda';

export interface MemoryLevel {
  name: string;
  /** Bytes. */
  capacity: number;
  /** Bytes per second. */
  bandwidth: number;
}

export interface OpSupport {
  /** When set, only these op types (or @families) run here. */
  allow?: string[];
  /** Op types (or @families) that never run here. */
  deny: string[];
}

export interface DeviceSpec {
  id: string;
  class: DeviceClass;
  /** Fastest first; level 0 is where the device computes from and what placement must fit in. */
  memory: MemoryLevel[];
  /** Peak FLOP/s per element type (dense math). */
  compute: Partial<Record<DType, number>>;
  /** Fixed cost of dispatching one op (kernel launch, executor bookkeeping), seconds. */
  launchOverhead: number;
  /** Fixed cost of one message to or from another device at this device's end (staging, sync, wake-up), seconds. */
  messageOverhead: number;
  ops: OpSupport;
  /** Element types the device computes in. */
  dtypes: DType[];
  backend: Backend;
  /** Which GPU of its host a cuda device is (the CUDA device index, plan.json `ordinal`). */
  cudaDevice?: number;
  /** Intra-op threads for real backends. */
  threads: number;
  /** Figures a device that runs for real took from the machine it runs on (the cpu class: the host profile). */
  described?: DescribedByHost;
}

/** Which of a device's figures the machine gave, and whether they were measured there or are nominal. */
export interface DescribedByHost {
  /** compute, bandwidth, capacity, launchOverhead, messageOverhead: those the fleet file left open. */
  figures: string[];
  measured: boolean;
  /** One line: `measured 2026-12-05 on build-7 (avx2)`, or nominal and how to measure. */
  provenance: string;
  /** The kernel code fleetrt ran on that machine (`avx2`, `avx512`, …), where it was measured. */
  simd?: string;
}

/** A datasheet device: what a fleet file's `preset:` fills in. */
export interface DevicePreset {
  class: DeviceClass;
  title: string;
  memory: MemoryLevel[];
  compute: Partial<Record<DType, number>>;
  launchOverhead: number;
  /** Attachment to its host (accelerators). */
  hostLink?: { bandwidth: number; latency: number; kind: string };
  /** Where the figures come from; estimates say so. */
  source: string;
}

export const G = 1e9;
export const T = 1e12;
export const GiB = 2 ** 30;
