// A device class to copy: `cp -r targets/skeleton targets/<class>`, rename, fill in the figures
// and register it (README.md beside this file walks the steps). Not in the table of targets.
import type { DevicePreset } from '../device.js';
import { emitProgram } from '../fleetrt/emit.js';
import { HOST_ONLY } from '../support.js';
import { presetDevice, type Target } from '../target.js';

/** Datasheet devices of the class, by the name fleet files give after `preset:`. */
export const SKELETON_PRESETS: Record<string, DevicePreset> = {
  'example-accelerator': {
    // The class this preset belongs to (the key of this class in targets/index.ts).
    class: 'npu',
    title: 'Example accelerator (replace with the product name)',
    // Fastest level first: level 0 is what the device computes from and what placement must fit in.
    memory: [{ name: 'hbm', capacity: 16 * 2 ** 30, bandwidth: 1e12 }],
    // Peak FLOP/s per element type of dense math (matrix units), from the datasheet.
    compute: { float32: 20e12, float16: 160e12 },
    // Seconds to launch one op.
    launchOverhead: 5e-6,
    hostLink: { bandwidth: 32e9, latency: 2e-6, kind: 'pcie4-x16' },
    source: 'where every figure above comes from (datasheet, product brief; say which are estimates)',
  },
};

export const skeletonTarget: Target = {
  class: 'npu',
  title: 'example accelerator',
  defaults: {
    // Element types its kernels compute in, and op types or @families (targets/support.ts) it never runs.
    dtypes: ['float32', 'float16', 'int32', 'int64', 'bool'],
    deny: [...HOST_ONLY],
    // Per-op dispatch and per-message overheads for devices whose fleet file and preset give none.
    launchOverhead: 5e-6,
    messageOverhead: 10e-6,
    hostLink: { kind: 'pcie4-x16', bandwidth: 32e9, latency: 2e-6 },
  },
  // Output elements the device must have to fill every lane once (smaller ops are latency-bound).
  lanes: () => 4096,
  presets: SKELETON_PRESETS,
  // 'emulated' until fleetrt has a backend for it (native/src/backends/README.md).
  backends: ['emulated'],
  // The device `fleetc inspect --device-class` prices against.
  reference: () => presetDevice(skeletonTarget, 'example-accelerator'),
  // Bundles are fleetrt programs; a class with its own binary format writes its own emitter.
  emit: emitProgram,
};
