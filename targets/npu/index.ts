// The npu class: fixed-function neural processing units (float16/int8 matrix engines, no
// control flow or data-dependent shapes). No datasheet preset: fleet files give the figures.
import { G, T, type DevicePreset } from '../device.js';
import { emitProgram } from '../fleetrt/emit.js';
import { HOST_ONLY } from '../support.js';
import { presetDevice, type Target } from '../target.js';

/** A nominal device for `inspect --device-class npu` (not a product: no fleet file can name it). */
const NOMINAL: DevicePreset = {
  class: 'npu',
  title: 'a nominal NPU (no product)',
  memory: [{ name: 'sram', capacity: 32 * 2 ** 20, bandwidth: 1 * T }],
  compute: { float32: 20 * T, float16: 80 * T, int8: 160 * T },
  launchOverhead: 5e-6,
  hostLink: { bandwidth: 32 * G, latency: 2e-6, kind: 'pcie4-x16' },
  source: 'nominal figures for the class, not a product',
};

export const npuTarget: Target = {
  class: 'npu',
  title: 'NPU',
  defaults: {
    dtypes: ['float16', 'int8', 'int32', 'bool', 'float32'],
    deny: [...HOST_ONLY, '@data-dependent', '@control-flow'],
    launchOverhead: 5e-6,
    // Estimate: a host↔device copy with its synchronisation.
    messageOverhead: 10e-6,
    hostLink: { kind: 'pcie4-x16', bandwidth: 32e9, latency: 2e-6 },
  },
  lanes: () => 4096,
  presets: {},
  backends: ['emulated'],
  reference: () => presetDevice({ ...npuTarget, presets: { nominal: NOMINAL } }, 'nominal'),
  emit: emitProgram,
};
