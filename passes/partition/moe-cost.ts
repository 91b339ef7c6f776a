// What one routed token costs an expert on each fleet device: the roofline of the expert's
// work per token (compute, or activation traffic when that is slower), the weights streamed
// once per step (the floor when few tokens come), the kernel launches, and the dispatch and
// combine transfer over the route from the layer's home device.
import type { DType } from '../../src/ir/dtype.js';
import { route } from '../../src/fleet/route.js';
import type { Fleet } from '../../src/fleet/types.js';
import { peakFor } from '../analysis/roofline.js';
import { deviceRoofline } from './devices.js';
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
export function linkCost(fleet: Fleet, from: string, to: string): { perByte: number; latency: number } {
  if (from === to) return { perByte: 0, latency: 0 };
  const r = route(fleet, from, to);
  if (!r) return { perByte: Infinity, latency: Infinity };
  return {
    perByte: r.hops.reduce((s, h) => s + 1 / h.bandwidth, 0),
    latency: r.hops.reduce((s, h) => s + h.latency, 0),
  };
}

/**
 * The cost of `work` on every device of `fleet`, with tokens arriving from `home`. `grouped`:
 * the device runs all its experts as one grouped kernel and receives one message per step (as
 * production MoE runtimes do), so launches and latency are per device (`deviceFixed`), not per
 * expert.
 */
export function expertCosts(fleet: Fleet, home: string, work: ExpertWork, grouped = false): ExpertCost[] {
  return fleet.devices.map((d) => {
    const r = deviceRoofline(d);
    const peak = peakFor(r, work.dtype);
    const there = linkCost(fleet, home, d.id);
    const back = linkCost(fleet, d.id, home);
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
export function migrationTime(fleet: Fleet, from: string, to: string, bytes: number): number {
  const l = linkCost(fleet, from, to);
  return from === to ? 0 : l.latency + bytes * l.perByte;
}

/** Per device, what a grouped step costs once: launches and the message latency to and from home. */
export function groupedFixed(fleet: Fleet, home: string, launches: number): number[] {
  return fleet.devices.map((d) => {
    const r = deviceRoofline(d);
    const remote = d.id !== home;
    return (
      launches * r.launchOverhead +
      (remote ? linkCost(fleet, home, d.id).latency + linkCost(fleet, d.id, home).latency : 0)
    );
  });
}
