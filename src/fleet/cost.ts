// The fleet's cost model: an op on a device by that device's roofline (targets/roofline.ts),
// a value between two devices along the route between them. Everything that prices a placement
// (partition, MoE placement, predict, report) asks this one object.
import {
  opCost,
  rooflineOf,
  type DeviceFit,
  type DeviceRoofline,
  type OpCost,
  type OpWork,
} from '../../targets/index.js';
import { route, transferTime } from './route.js';
import type { Fleet } from './types.js';

export class FleetCost {
  readonly rooflines: DeviceRoofline[];
  private readonly fits: (DeviceFit | undefined)[];
  private readonly byId: Map<string, number>;

  constructor(readonly fleet: Fleet) {
    this.rooflines = fleet.devices.map((d) => rooflineOf(d));
    this.fits = fleet.devices.map(() => undefined);
    this.byId = new Map(fleet.devices.map((d, i) => [d.id, i]));
  }

  index(id: string): number {
    const i = this.byId.get(id);
    if (i === undefined) throw new Error(`device '${id}' is not in fleet '${this.fleet.name}'`);
    return i;
  }

  /** One op on device `d` (an index into the fleet's devices). */
  op(d: number, w: OpWork): OpCost {
    return opCost(this.rooflines[d]!, w, this.fits[d]);
  }

  /** Seconds to move `bytes` from device `a` to device `b` (0 on one device). */
  transfer(a: number, b: number, bytes: number): number {
    if (a === b || bytes === 0) return 0;
    return transferTime(route(this.fleet, this.fleet.devices[a]!.id, this.fleet.devices[b]!.id)!, bytes);
  }

  /** Per-message latency and seconds per byte between two devices (by id): what a transfer of n bytes costs is latency + n·perByte. */
  message(from: string, to: string): { latency: number; perByte: number } {
    if (from === to) return { latency: 0, perByte: 0 };
    const r = route(this.fleet, from, to);
    if (!r) return { latency: Infinity, perByte: Infinity };
    return {
      latency: r.hops.reduce((s, h) => s + h.latency, 0),
      perByte: r.hops.reduce((s, h) => s + 1 / h.bandwidth, 0),
    };
  }
}
