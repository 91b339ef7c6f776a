import type { DType } from '../ir/dtype.js';

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

export interface Device {
  id: string;
  class: DeviceClass;
  host: string;
  preset?: string;
  /** Fastest first; level 0 is where the device computes from and what placement must fit in. */
  memory: MemoryLevel[];
  /** Peak FLOP/s per element type (dense math). */
  compute: Partial<Record<DType, number>>;
  /** Fixed cost of launching one op (seconds). */
  launchOverhead: number;
  ops: OpSupport;
  /** Element types the device computes in. */
  dtypes: DType[];
  backend: Backend;
  /** Which GPU of its host a cuda device is (the CUDA device index, plan.json `ordinal`). */
  cudaDevice?: number;
  /** Intra-op threads for real backends. */
  threads: number;
  /** The device's attachment to its host (PCIe …); absent for a host CPU, whose memory is the host's. */
  hostLink?: { bandwidth: number; latency: number; kind: string };
}

export interface Link {
  id: string;
  /** Device ids or host names. */
  between: [string, string];
  /** Bytes per second, each direction. */
  bandwidth: number;
  /** Seconds. */
  latency: number;
  kind: string;
}

export interface Pin {
  /** Regular expression matched against op names and op types. */
  match: string;
  device: string;
  /** true: the op must NOT go to this device. */
  forbid: boolean;
  /** Where the pin was written (fleet file or command line). */
  origin: string;
}

export interface Fleet {
  name: string;
  /** The file it was read from ('' for the built-in local fleet). */
  file: string;
  hosts: string[];
  devices: Device[];
  links: Link[];
  pins: Pin[];
}
