// The table of targets: one entry per device class, each from its own folder. A class adds its
// datasheet presets, op support and defaults, its lanes for the roofline, what it knows of this
// machine, and its emitter. Copy targets/skeleton/ to add one.
import { cpuTarget } from './cpu/index.js';
import { dataflowTarget } from './dataflow/index.js';
import { DEVICE_CLASSES, type DevicePreset, type DeviceClass, type DeviceSpec } from './device.js';
import { gpuTarget } from './gpu/index.js';
import { hpuTarget } from './hpu/index.js';
import { ipuTarget } from './ipu/index.js';
import { npuTarget } from './npu/index.js';
import { deviceRoofline, type DeviceRoofline } from './roofline.js';
import type { Target } from './target.js';

export const TARGETS: Record<DeviceClass, Target> = {
  cpu: cpuTarget,
  gpu: gpuTarget,
  ipu: ipuTarget,
  hpu: hpuTarget,
  npu: npuTarget,
  dataflow: dataflowTarget,
};

export function targetOf(cls: DeviceClass): Target {
  return TARGETS[cls];
}

/** Every preset of every class, by name (names are unique across classes). */
export const DEVICE_PRESETS: Record<string, DevicePreset> = Object.assign(
  {},
  ...DEVICE_CLASSES.map((c) => TARGETS[c].presets),
);

/** A device as the roofline sees it: its figures and its class's lanes. */
export function rooflineOf(d: DeviceSpec, description?: string): DeviceRoofline {
  return deviceRoofline(d, TARGETS[d.class].lanes(d.threads), description);
}

export { DEVICE_CLASSES, type DeviceClass, type DeviceSpec, type DevicePreset } from './device.js';
export type { Backend, MemoryLevel, OpSupport } from './device.js';
export {
  lineFor,
  opCost,
  peakFor,
  type Boundness,
  type DeviceFit,
  type DeviceRoofline,
  type OpCost,
  type OpWork,
  type WorkFit,
} from './roofline.js';
export { WORK_KINDS, opLine, workKind, type WorkKind } from './work.js';
export { OP_FAMILIES, expandOpList, refusal } from './support.js';
export type { Target, Unstated } from './target.js';
