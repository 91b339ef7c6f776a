// What a device class provides to the compiler: one folder per class under targets/, one entry
// each in the table of targets/index.ts. targets/skeleton/ is a documented one to copy.
import type { DType } from '../src/ir/dtype.js';
import type { Backend, DeviceClass, DevicePreset, DeviceSpec } from './device.js';
import type { EmitResult, EmitSpec } from './fleetrt/emit.js';

/** A device this machine has, as `--fleet local` lists it. */
export type LocalDevice = DeviceSpec & {
  preset?: string;
  hostLink?: { bandwidth: number; latency: number; kind: string };
};

/** What a fleet file left open for a device (so that the class may fill it in). */
export interface Unstated {
  compute: boolean;
  bandwidth: boolean;
  capacity: boolean;
  launchOverhead: boolean;
  messageOverhead: boolean;
}

export interface Target {
  class: DeviceClass;
  title: string;
  /** What a device of the class runs and costs unless its fleet file or preset says otherwise. */
  defaults: {
    dtypes: DType[];
    deny: string[];
    allow?: string[];
    /** Per-op dispatch overhead, seconds. */
    launchOverhead: number;
    /** Per-message overhead at the device's end of a transfer, seconds. */
    messageOverhead: number;
    /** How an accelerator attaches to its host (none: the device computes from its host's memory). */
    hostLink?: { kind: string; bandwidth: number; latency: number };
  };
  /** Output elements a device must fill before an op stops being latency-bound. */
  lanes(threads: number): number;
  /** Datasheet devices of the class, by preset name. */
  presets: Record<string, DevicePreset>;
  /** Backends that run the class on this machine; the first is the default. */
  backends: readonly Backend[];
  /** The device `fleetc inspect --device-class NAME` prices ops against (`threads`: a cpu's cores). */
  reference(threads?: number): DeviceSpec;
  /**
   * A device that runs for real on this machine, described by the machine: what its fleet file
   * left open (`unstated`) is filled in from measurements (the cpu class: the measured host).
   */
  describeLocal?(device: DeviceSpec, unstated: Unstated): DeviceSpec;
  /** Lowers a device's share of the graph to its bundle's program and weights. */
  emit(spec: EmitSpec): EmitResult;
}

/** A device of `target` with a preset's figures and the class's defaults (for `reference()`). */
export function presetDevice(target: Target, preset: string, id = target.class): DeviceSpec {
  const p = target.presets[preset];
  if (!p) throw new Error(`${target.class} has no preset '${preset}'`);
  return {
    id,
    class: target.class,
    memory: p.memory.map((m) => ({ ...m })),
    compute: { ...p.compute },
    launchOverhead: p.launchOverhead,
    messageOverhead: target.defaults.messageOverhead,
    ops: { deny: [...target.defaults.deny], ...(target.defaults.allow ? { allow: [...target.defaults.allow] } : {}) },
    dtypes: [...target.defaults.dtypes],
    backend: target.backends[0]!,
    threads: 1,
  };
}
