// The calibration file's content (calibration.schema.json): what `fleetc tune` measured of a
// fleet, read by calibration.ts and carried on a Fleet for its cost model.
import type { FittedLine, FittedOpLine, MeasuredOp } from '../../targets/fit.js';
import type { WorkKind } from '../../targets/work.js';

export const CALIBRATION_FORMAT = 'fleetc-calibration';
export const CALIBRATION_VERSION = 1;

/** What a calibration is tied to: the fleet's name, its devices as they run, and its links. */
export interface FleetIdentity {
  name: string;
  devices: { id: string; class: string; host: string; backend: string; ordinal?: number; threads: number }[];
  links: { id: string; between: [string, string] }[];
}

export interface CalibratedDevice {
  id: string;
  /** Intra-op threads the device ran with in the measured runs. */
  measuredThreads?: number;
  /** Seconds of the device's time per message it sends and per message it receives. */
  messages?: {
    send: number;
    recv: number;
    source: { send: 'measured' | 'datasheet'; recv: 'measured' | 'datasheet' };
  };
  /** Seconds per op beyond the op's time when the device runs readiness-driven (a plan spanning devices). */
  readiness?: { perOp: number; source: 'measured' | 'datasheet' };
  all: FittedLine;
  kinds: Partial<Record<WorkKind, FittedLine>>;
  /** Op lines (targets/work.ts `opLine`) whose kernels run off their kind's line: that line scaled by `scale`. */
  ops?: Record<string, FittedOpLine>;
  /** Each op's own measured time, by `workKey` (op line|FLOPs|bytes): it prices that op at those sizes ahead of any line. */
  measuredOps?: Record<string, MeasuredOp>;
}

/** Seconds a message takes between two devices (either direction), sender's hands to receiver's: latency + bytes × perByte. */
export interface CalibratedPair {
  between: [string, string];
  /** The route's links (for the reader). */
  links?: string[];
  latency: number;
  perByte: number;
  samples: number;
  source: { latency: 'measured' | 'datasheet'; perByte: 'measured' | 'datasheet' };
}

export interface Calibration {
  format: typeof CALIBRATION_FORMAT;
  version: typeof CALIBRATION_VERSION;
  createdAt?: string;
  generator?: { name: string; version: string };
  fleet: FleetIdentity;
  sources?: { metrics: string; build: string; model?: string; passes: number }[];
  devices: CalibratedDevice[];
  pairs: CalibratedPair[];
  /**
   * Seconds a request costs outside any op (binding inputs, laying out arenas, starting device
   * threads): `perOp` for each op of the device with the most, `perDevice` for each device a plan
   * uses beyond the first.
   */
  request?: { perDevice: number; perOp: number; runs: number; source: { perDevice: CalSource; perOp: CalSource } };
}

export type CalSource = 'measured' | 'datasheet';
