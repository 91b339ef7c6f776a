import { availableParallelism } from 'node:os';
import type { DType } from '../../src/ir/dtype.js';

/**
 * A device class reduced to the figures a roofline needs. Later fleet presets build on this
 * type: every figure is a plain number in SI units.
 */
export interface DeviceClassRoofline {
  /** `cpu`, `gpu`, `ipu`, or a preset's name. */
  name: string;
  description: string;
  /** Peak FLOP/s by element type; `default` covers the types not listed. */
  peakFlops: Partial<Record<DType, number>> & { default: number };
  /** Bandwidth of the memory the weights and activations live in, bytes/s. */
  memBandwidth: number;
  /** Fixed cost of launching one op (kernel launch, dispatch, sync), seconds. */
  launchOverhead: number;
  /** Output elements needed to occupy every lane once; smaller ops cannot fill the device. */
  parallelism: number;
}

export type DeviceClassName = 'cpu' | 'gpu' | 'ipu';

/**
 * Nominal per-core CPU figures (deterministic: no measurement): a 2.5 GHz core with two 256-bit
 * FMA units does 2 × 8 lanes × 2 FLOPs × 2.5 GHz = 80 GFLOP/s fp32, half that in fp64; without
 * native fp16/bf16 arithmetic those run at the fp32 rate. int8 dot products (VNNI) 4× fp32.
 * Memory: 10 GB/s per core, capped at 100 GB/s (a few DDR channels).
 */
export const CPU_PER_CORE = { fp32: 80e9, fp64: 40e9, int8: 320e9, memBandwidth: 10e9, memCap: 100e9 };

export function cpuRoofline(cores = availableParallelism()): DeviceClassRoofline {
  const f32 = CPU_PER_CORE.fp32 * cores;
  return {
    name: 'cpu',
    description: `CPU, ${cores} cores at nominal ${CPU_PER_CORE.fp32 / 1e9} GFLOP/s fp32 each`,
    peakFlops: {
      default: f32,
      float64: CPU_PER_CORE.fp64 * cores,
      int8: CPU_PER_CORE.int8 * cores,
      uint8: CPU_PER_CORE.int8 * cores,
    },
    memBandwidth: Math.min(CPU_PER_CORE.memBandwidth * cores, CPU_PER_CORE.memCap),
    launchOverhead: 1e-6,
    parallelism: cores * 8,
  };
}

/** NVIDIA H100 SXM5 datasheet (dense, no sparsity). */
export const GPU_H100_SXM: DeviceClassRoofline = {
  name: 'gpu',
  description: 'NVIDIA H100 SXM5 (datasheet, dense)',
  peakFlops: {
    default: 66.9e12, // fp32 without tensor cores
    float64: 33.5e12,
    float16: 989.4e12,
    bfloat16: 989.4e12,
    float8e4m3fn: 1978.9e12,
    float8e5m2: 1978.9e12,
    int8: 1978.9e12,
    uint8: 1978.9e12,
  },
  memBandwidth: 3.35e12, // HBM3
  launchOverhead: 4e-6,
  parallelism: 132 * 128, // SMs × 128 FP32 lanes
};

/** Graphcore GC200 IPU (datasheet): model and activations in the 900 MB of in-processor SRAM. */
export const IPU_GC200: DeviceClassRoofline = {
  name: 'ipu',
  description: 'Graphcore GC200 IPU (datasheet; 900 MB in-processor SRAM)',
  peakFlops: { default: 62.5e12, float16: 250e12 },
  memBandwidth: 47.5e12,
  launchOverhead: 0.5e-6, // one BSP compute-set and sync
  parallelism: 1472 * 6, // tiles × hardware threads
};

export function deviceClass(name: string, opts: { cores?: number } = {}): DeviceClassRoofline | undefined {
  switch (name) {
    case 'cpu':
      return cpuRoofline(opts.cores);
    case 'gpu':
      return GPU_H100_SXM;
    case 'ipu':
      return IPU_GC200;
    default:
      return undefined;
  }
}

export const DEVICE_CLASSES: readonly DeviceClassName[] = ['cpu', 'gpu', 'ipu'];

export function peakFor(dev: DeviceClassRoofline, dtype: DType | null): number {
  return (dtype && dev.peakFlops[dtype]) || dev.peakFlops.default;
}

export type Boundness = 'compute' | 'memory' | 'latency';

export interface OpRoofline {
  /** Seconds: compute time, memory time, and the predicted time max(both) + launch overhead. */
  computeTime: number;
  memoryTime: number;
  time: number;
  /** FLOPs per byte moved. */
  intensity: number;
  bound: Boundness;
}

/**
 * Places one op on the roofline. Latency-bound: the op's work takes less time than one launch,
 * or it has fewer output elements than the device has lanes. Otherwise compute-bound when its
 * intensity reaches the ridge point (peak / bandwidth), else memory-bound.
 */
export function roofline(
  dev: DeviceClassRoofline,
  flops: number,
  bytes: number,
  dtype: DType | null,
  outElems: number,
): OpRoofline {
  const peak = peakFor(dev, dtype);
  const computeTime = flops / peak;
  const memoryTime = bytes / dev.memBandwidth;
  const intensity = bytes > 0 ? flops / bytes : flops > 0 ? Infinity : 0;
  const work = Math.max(computeTime, memoryTime);
  let bound: Boundness;
  if (work < dev.launchOverhead || outElems < dev.parallelism) bound = 'latency';
  else bound = intensity >= peak / dev.memBandwidth ? 'compute' : 'memory';
  return { computeTime, memoryTime, time: work + dev.launchOverhead, intensity, bound };
}

/** What a roofline needs from a fleet device (src/fleet's Device has these fields). */
export interface FleetDeviceLike {
  id: string;
  class: string;
  preset?: string;
  memory: { name: string; bandwidth: number }[];
  compute: Partial<Record<DType, number>>;
  launchOverhead: number;
  threads: number;
}

/**
 * A fleet device as a roofline: its own peak compute per dtype (the default is its fp32 figure,
 * else its slowest listed one) and the bandwidth of its first memory level. Lanes to fill come
 * from the class (a CPU: 8 fp32 lanes per thread).
 */
export function fleetDeviceRoofline(d: FleetDeviceLike): DeviceClassRoofline {
  const listed = Object.values(d.compute).filter((x): x is number => typeof x === 'number' && x > 0);
  const def = d.compute.float32 ?? (listed.length ? Math.min(...listed) : CPU_PER_CORE.fp32);
  const parallelism =
    d.class === 'cpu'
      ? Math.max(1, d.threads) * 8
      : d.class === 'gpu'
        ? GPU_H100_SXM.parallelism
        : d.class === 'ipu'
          ? IPU_GC200.parallelism
          : 1024;
  const mem = d.memory[0];
  return {
    name: d.id,
    description: `${d.id} (${d.class}${d.preset ? `, ${d.preset}` : ''}; ${mem ? `${mem.name} ${(mem.bandwidth / 1e9).toFixed(0)} GB/s` : 'no memory level'})`,
    peakFlops: { ...d.compute, default: def },
    memBandwidth: mem?.bandwidth ?? CPU_PER_CORE.memBandwidth,
    launchOverhead: d.launchOverhead,
    parallelism,
  };
}
