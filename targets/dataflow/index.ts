// The dataflow class: reconfigurable dataflow accelerators (a graph laid out on a fabric of
// compute and memory units). Emulated here.
import { G, GiB, T, type DevicePreset } from '../device.js';
import { emitProgram } from '../fleetrt/emit.js';
import { HOST_ONLY } from '../support.js';
import { presetDevice, type Target } from '../target.js';

export const DATAFLOW_PRESETS: Record<string, DevicePreset> = {
  'sambanova-sn30-like': {
    class: 'dataflow',
    title: 'A reconfigurable dataflow unit (SN30-class, approximate)',
    memory: [
      { name: 'on-chip-sram', capacity: 640 * 1e6, bandwidth: 100 * T },
      { name: 'ddr', capacity: 512 * GiB, bandwidth: 200 * G },
    ],
    compute: { bfloat16: 688 * T, float32: 40 * T },
    launchOverhead: 20e-6,
    hostLink: { bandwidth: 32 * G, latency: 5e-6, kind: 'pcie4-x16' },
    source: 'approximate, from public SN30 announcements; a stand-in for a dataflow accelerator class',
  },
};

export const dataflowTarget: Target = {
  class: 'dataflow',
  title: 'dataflow accelerator',
  defaults: {
    dtypes: ['float32', 'bfloat16', 'float16', 'int32', 'bool'],
    deny: [...HOST_ONLY, '@data-dependent', '@control-flow', '@random'],
    launchOverhead: 20e-6,
    // Estimate: reconfiguring for and synchronising with a host exchange.
    messageOverhead: 20e-6,
    hostLink: { kind: 'pcie4-x16', bandwidth: 32e9, latency: 2e-6 },
  },
  lanes: () => 8192,
  presets: DATAFLOW_PRESETS,
  backends: ['emulated'],
  reference: () => presetDevice(dataflowTarget, 'sambanova-sn30-like'),
  emit: emitProgram,
};
