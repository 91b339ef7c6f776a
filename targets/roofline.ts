// The one cost model of an op on a device: the roofline (compute time against memory time) plus
// the device's per-op dispatch overhead, or, once `fleetc tune` has measured the device, the
// op's own measured time or the fitted line for its kind of work. inspect, partition, predict and
// report all price and classify ops here.
import type { DType } from '../src/ir/dtype.js';
import type { DeviceSpec } from './device.js';
import { opLine, workKey, workKind, type WorkKind } from './work.js';

/** A device reduced to the figures a roofline needs; every figure a plain number in SI units. */
export interface DeviceRoofline {
  name: string;
  description: string;
  /** Peak FLOP/s by element type; `default` covers the types not listed. */
  peakFlops: Partial<Record<DType, number>> & { default: number };
  /** Bandwidth of the memory the weights and activations live in, bytes/s. */
  memBandwidth: number;
  /** Fixed cost of dispatching one op, seconds. */
  launchOverhead: number;
  /** Output elements needed to occupy every lane once; smaller ops cannot fill the device. */
  parallelism: number;
}

/** What an op asks of a device, for the bindings the compile is priced at. */
export interface OpWork {
  opType: string;
  domain: string;
  flops: number;
  /** Bytes read and written. */
  bytes: number;
  dtype: DType | null;
  /** Output elements (how much parallel work the op offers). */
  outElems: number;
  /** Its op line (work.ts `opLine`) when that is not its op type. */
  line?: string;
}

/** A measured device's line for one kind of work (`fleetc tune`): seconds = dispatch + flops·perFlop + bytes·perByte. */
export interface WorkFit {
  dispatch: number;
  perFlop: number;
  perByte: number;
}

/**
 * The calibration of one device: a line per kind of work, one for kinds it saw too little of, for
 * op types whose kernels run measurably off their kind's line, their own, and the measured time
 * of each op it ran (by `workKey`), which prices that op at those sizes ahead of any line.
 */
export interface DeviceFit {
  all: WorkFit;
  kinds: Partial<Record<WorkKind, WorkFit>>;
  ops?: Record<string, WorkFit>;
  measured?: Record<string, number>;
}

/**
 * The fitted line a calibrated device prices an op by: its op line's own (by default the op type
 * after its domain, as tune names it), else its kind's, else the device's.
 */
export function lineFor(
  fit: DeviceFit,
  opType: string,
  domain: string,
  line = opLine(opType, undefined, domain),
): WorkFit {
  return fit.ops?.[line] ?? fit.kinds[workKind(opType, domain)] ?? fit.all;
}

export type Boundness = 'compute' | 'memory' | 'latency';

export interface OpCost {
  /** Seconds: compute time, memory time and the predicted time (max of both + dispatch, or the fitted line). */
  computeTime: number;
  memoryTime: number;
  time: number;
  /** FLOPs per byte moved. */
  intensity: number;
  bound: Boundness;
  /** Whether `time` comes from a measured fit rather than the datasheet roofline. */
  calibrated: boolean;
}

export function peakFor(dev: DeviceRoofline, dtype: DType | null): number {
  return (dtype && dev.peakFlops[dtype]) || dev.peakFlops.default;
}

/**
 * A device as a roofline: its own peak compute per element type (the default is its float32
 * figure, else its slowest listed one), the bandwidth of its first memory level, its dispatch
 * overhead, and `lanes` output elements to fill (from its class).
 */
export function deviceRoofline(d: DeviceSpec, lanes: number, description?: string): DeviceRoofline {
  const listed = Object.values(d.compute).filter((x): x is number => typeof x === 'number' && x > 0);
  const mem = d.memory[0];
  return {
    name: d.id,
    description:
      description ??
      `${d.id} (${d.class}; ${mem ? `${mem.name} ${(mem.bandwidth / 1e9).toFixed(0)} GB/s` : 'no memory level'})`,
    peakFlops: { ...d.compute, default: d.compute.float32 ?? (listed.length ? Math.min(...listed) : 1e9) },
    memBandwidth: mem?.bandwidth || 1e9,
    launchOverhead: d.launchOverhead,
    parallelism: lanes,
  };
}

/**
 * Prices one op. The class: latency-bound when its work takes less time than one dispatch or it
 * has fewer output elements than the device has lanes; otherwise compute-bound when its
 * intensity reaches the ridge point (peak / bandwidth), else memory-bound. The time: the
 * roofline's max(compute, memory) + dispatch, or on a calibrated device the op's measured time
 * where the calibration ran it at these sizes, else the fitted line for its kind of work.
 */
export function opCost(dev: DeviceRoofline, w: OpWork, fit?: DeviceFit): OpCost {
  const peak = peakFor(dev, w.dtype);
  const computeTime = w.flops / peak;
  const memoryTime = w.bytes / dev.memBandwidth;
  const intensity = w.bytes > 0 ? w.flops / w.bytes : w.flops > 0 ? Infinity : 0;
  const work = Math.max(computeTime, memoryTime);
  let bound: Boundness;
  if (work < dev.launchOverhead || w.outElems < dev.parallelism) bound = 'latency';
  else bound = intensity >= peak / dev.memBandwidth ? 'compute' : 'memory';
  if (fit) {
    const line = lineFor(fit, w.opType, w.domain, w.line);
    return {
      computeTime,
      memoryTime,
      time: fit.measured?.[workKey(w)] ?? line.dispatch + w.flops * line.perFlop + w.bytes * line.perByte,
      intensity,
      bound,
      calibrated: true,
    };
  }
  return { computeTime, memoryTime, time: work + dev.launchOverhead, intensity, bound, calibrated: false };
}
