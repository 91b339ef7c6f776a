// The fleet's cost model: an op on a device by that device's roofline (targets/roofline.ts),
// a value between two devices along the route between them, and the time a message costs the
// device at each end. A calibrated fleet (`fleetc compile --calibration`, calibration.ts) prices its
// measured devices by their fitted lines and its measured pairs by their measured messages.
// Everything that prices a placement (partition, MoE placement, predict, report) asks this one object.
import {
  opCost,
  rooflineOf,
  type DeviceFit,
  type DeviceRoofline,
  type OpCost,
  type OpWork,
} from '../../targets/index.js';
import { deviceFitOf, pairOf } from './calibration.js';
import { route } from './route.js';
import type { Fleet } from './types.js';

export class FleetCost {
  readonly rooflines: DeviceRoofline[];
  private readonly fits: (DeviceFit | undefined)[];
  private readonly byId: Map<string, number>;
  private readonly messages = new Map<string, { latency: number; perByte: number }>();

  constructor(readonly fleet: Fleet) {
    this.rooflines = fleet.devices.map((d) => rooflineOf(d));
    this.fits = fleet.devices.map((d) => deviceFitOf(fleet.calibration, d.id));
    this.byId = new Map(fleet.devices.map((d, i) => [d.id, i]));
  }

  index(id: string): number {
    const i = this.byId.get(id);
    if (i === undefined) throw new Error(`device '${id}' is not in fleet '${this.fleet.name}'`);
    return i;
  }

  /** Device `d`'s measured lines (`fleetc tune`), or undefined: priced by its roofline. */
  fit(d: number): DeviceFit | undefined {
    return this.fits[d];
  }

  /** One op on device `d` (an index into the fleet's devices). */
  op(d: number, w: OpWork): OpCost {
    return opCost(this.rooflines[d]!, w, this.fits[d]);
  }

  /** Seconds to move `bytes` from device `a` to device `b` as one message (0 on one device). */
  transfer(a: number, b: number, bytes: number): number {
    if (a === b || bytes === 0) return 0;
    const m = this.message(this.fleet.devices[a]!.id, this.fleet.devices[b]!.id);
    return m.latency + bytes * m.perByte;
  }

  /**
   * Per-message latency and seconds per byte between two devices (by id): a transfer of n bytes
   * takes latency + n·perByte from the sender's hands to the receiver's. Measured where the fleet
   * is calibrated for the pair; otherwise the route's hops (each its latency, bytes at its
   * bandwidth, store-and-forward).
   */
  message(from: string, to: string): { latency: number; perByte: number } {
    if (from === to) return { latency: 0, perByte: 0 };
    const key = `${from}\u0000${to}`;
    let m = this.messages.get(key);
    if (m) return m;
    const measured = pairOf(this.fleet.calibration, from, to);
    if (measured) m = { latency: measured.latency, perByte: measured.perByte };
    else {
      const r = route(this.fleet, from, to);
      m = r
        ? {
            latency: r.hops.reduce((s, h) => s + h.latency, 0),
            perByte: r.hops.reduce((s, h) => s + 1 / h.bandwidth, 0),
          }
        : { latency: Infinity, perByte: Infinity };
    }
    this.messages.set(key, m);
    return m;
  }

  /** Per device, the seconds per op it pays beyond its ops' time when a plan spans devices (measured only: 0 without a calibration). */
  readinessTime(): number[] {
    return this.fleet.devices.map(
      (d) => this.fleet.calibration?.devices.find((x) => x.id === d.id)?.readiness?.perOp ?? 0,
    );
  }

  /** Seconds a request costs outside any op: per op of the busiest device, per further device (measured only: none without a calibration). */
  requestTime(): { perDevice: number; perOp: number } | undefined {
    const r = this.fleet.calibration?.request;
    return r ? { perDevice: r.perDevice, perOp: r.perOp } : undefined;
  }

  /**
   * Per device, the seconds of its own time one message costs it to send and to receive (staging,
   * synchronisation, waking the other end): measured where calibrated, else its message overhead.
   */
  messageTime(): { send: number[]; recv: number[] } {
    const own = this.fleet.devices.map((d) => this.fleet.calibration?.devices.find((x) => x.id === d.id)?.messages);
    return {
      send: this.fleet.devices.map((d, i) => own[i]?.send ?? d.messageOverhead),
      recv: this.fleet.devices.map((d, i) => own[i]?.recv ?? d.messageOverhead),
    };
  }
}
