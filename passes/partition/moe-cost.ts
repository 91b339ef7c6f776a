// What one routed token costs an expert on each fleet device: the roofline of the expert's
// work per token (compute, or activation traffic when that is slower), the weights streamed
// once per step (the floor when few tokens come), the kernel launches, and the dispatch and
// combine transfer over the route from the layer's home device.
import type { DType } from '../../src/ir/dtype.js';
import type { FleetCost } from '../../src/fleet/cost.js';
import { peakFor } from '../../targets/index.js';
import type { ExpertCost } from './moe-balance.js';

/** An expert's work, independent of the device. */
export interface ExpertWork {
  /** FLOPs and activation bytes (read + written, all its ops) per routed token. */
  flopsPerToken: number;
  activationBytesPerToken: number;
  /** The largest activation working set of one of its ops (inputs + outputs) per routed token. */
  workingSetPerToken?: number;
  weightBytes: number;
  /** Element type of its matrix math (picks the device's peak). */
  dtype: DType | null;
  /** Ops it launches per step. */
  launches: number;
  /** Bytes of one token's row sent to the expert and of its result sent back. */
  dispatchBytes: number;
  combineBytes: number;
}

/** Seconds per byte and fixed latency of the route between two devices (0 when equal). */
export function linkCost(cost: FleetCost, from: string, to: string): { perByte: number; latency: number } {
  return cost.message(from, to);
}

/**
 * The cost of `work` on every device of `fleet`, with tokens arriving from `home`. `grouped`:
 * the device runs all its experts as one grouped kernel and receives one message per step (as
 * production MoE runtimes do), so launches and latency are per device (`deviceFixed`), not per
 * expert.
 */
export function expertCosts(cost: FleetCost, home: string, work: ExpertWork, grouped = false): ExpertCost[] {
  return cost.fleet.devices.map((d, i) => {
    const r = cost.rooflines[i]!;
    const peak = peakFor(r, work.dtype);
    const there = linkCost(cost, home, d.id);
    const back = linkCost(cost, d.id, home);
    const remote = d.id !== home;
    return {
      compute: Math.max(work.flopsPerToken / peak, work.activationBytesPerToken / r.memBandwidth),
      stream: work.weightBytes / r.memBandwidth,
      transfer: remote ? work.dispatchBytes * there.perByte + work.combineBytes * back.perByte : 0,
      fixed: grouped ? 0 : work.launches * r.launchOverhead + (remote ? there.latency + back.latency : 0),
      bytesPerToken: remote ? work.dispatchBytes + work.combineBytes : 0,
    };
  });
}

/** Seconds to copy `bytes` of expert weights from device `from` to `to`. */
export function migrationTime(cost: FleetCost, from: string, to: string, bytes: number): number {
  const l = linkCost(cost, from, to);
  return from === to ? 0 : l.latency + bytes * l.perByte;
}

/** Per device, what a grouped step costs once: launches and the message latency to and from home. */
export function groupedFixed(cost: FleetCost, home: string, launches: number): number[] {
  return cost.fleet.devices.map((d, i) => {
    const r = cost.rooflines[i]!;
    const remote = d.id !== home;
    return (
      launches * r.launchOverhead +
      (remote ? linkCost(cost, home, d.id).latency + linkCost(cost, d.id, home).latency : 0)
    );
  });
}
