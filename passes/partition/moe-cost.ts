// What one routed token costs an expert on each fleet device: per op of the expert, the roofline
// of its work per token (compute, or activation traffic when that is slower: the matrix products
// are compute-bound, the activation between them memory-bound, and the expert's time is their
// sum), the weights streamed once per step (the floor when few tokens come), the kernel
// launches, and the dispatch and combine transfer over the route from the layer's home device.
// A calibrated device (`fleetc tune`) prices each op by its fitted line instead.
import type { DType } from '../../src/ir/dtype.js';
import type { FleetCost } from '../../src/fleet/cost.js';
import { lineFor, peakFor, type DeviceRoofline } from '../../targets/index.js';
import type { ExpertCost } from './moe-balance.js';

/** One op of an expert: its work per routed token and the weights it reads once per step. */
export interface ExpertOpWork {
  opType: string;
  domain: string;
  dtype: DType | null;
  flopsPerToken: number;
  activationBytesPerToken: number;
  weightBytes: number;
}

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
  /** Its ops one by one (priced op by op when given; else the totals above as one op). */
  ops?: ExpertOpWork[];
}

/** Per token, per step and fixed seconds of an expert's ops on one device (no transfers). */
function opsCost(
  r: DeviceRoofline,
  fit: ReturnType<FleetCost['fit']>,
  work: ExpertWork,
): { compute: number; stream: number; launches: number } {
  const ops: ExpertOpWork[] = work.ops?.length
    ? work.ops
    : [
        {
          opType: 'MatMul',
          domain: '',
          dtype: work.dtype,
          flopsPerToken: work.flopsPerToken,
          activationBytesPerToken: work.activationBytesPerToken,
          weightBytes: work.weightBytes,
        },
      ];
  let compute = 0;
  let stream = 0;
  let launches = 0;
  // Without the ops one by one, the totals stand for `work.launches` kernels.
  const kernels = work.ops?.length ? 1 : work.launches;
  for (const o of ops) {
    if (fit) {
      // The fitted line, dispatch + flops·perFlop + bytes·perByte, with bytes = weights + n·activations.
      const line = lineFor(fit, o.opType, o.domain);
      compute += o.flopsPerToken * line.perFlop + o.activationBytesPerToken * line.perByte;
      launches += kernels * line.dispatch + o.weightBytes * line.perByte;
    } else {
      compute += Math.max(o.flopsPerToken / peakFor(r, o.dtype), o.activationBytesPerToken / r.memBandwidth);
      stream += o.weightBytes / r.memBandwidth;
      launches += kernels * r.launchOverhead;
    }
  }
  return { compute, stream, launches };
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
    const there = linkCost(cost, home, d.id);
    const back = linkCost(cost, d.id, home);
    const remote = d.id !== home;
    const own = opsCost(r, cost.fit(i), work);
    return {
      compute: own.compute,
      stream: own.stream,
      transfer: remote ? work.dispatchBytes * there.perByte + work.combineBytes * back.perByte : 0,
      fixed: grouped ? 0 : own.launches + (remote ? there.latency + back.latency : 0),
      latency: grouped || !remote ? 0 : there.latency + back.latency,
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
