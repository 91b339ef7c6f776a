// The ipu class: Graphcore IPUs. They compile static graphs (no data-dependent shapes, no 64-bit
// types) and compute from in-processor SRAM. Emulated on this machine.
import { G, GiB, T, type DevicePreset } from '../device.js';
import { emitProgram } from '../fleetrt/emit.js';
import { HOST_ONLY } from '../support.js';
import { presetDevice, type Target } from '../target.js';

export const IPU_PRESETS: Record<string, DevicePreset> = {
  'graphcore-ipu-gc200': {
    class: 'ipu',
    title: 'Graphcore Colossus Mk2 GC200 IPU',
    memory: [
      { name: 'in-processor-sram', capacity: 900 * 1e6, bandwidth: 47.5 * T },
      { name: 'streaming-ddr', capacity: 112 * GiB, bandwidth: 20 * G },
    ],
    compute: { float16: 250 * T, float32: 62.5 * T },
    launchOverhead: 1e-6,
    hostLink: { bandwidth: 32 * G, latency: 5e-6, kind: 'pcie4-x16' },
    source: 'Graphcore IPU-M2000 / GC200 product brief (per IPU: 1 PFLOP fp16 per 4 IPUs, 900 MB SRAM at 47.5 TB/s)',
  },
};

export const ipuTarget: Target = {
  class: 'ipu',
  title: 'IPU',
  defaults: {
    dtypes: ['float32', 'float16', 'int32', 'uint32', 'int16', 'uint16', 'int8', 'uint8', 'bool'],
    deny: [...HOST_ONLY, '@data-dependent', '@random'],
    launchOverhead: 1e-6,
    // Estimate: a host exchange is one more BSP superstep with its sync.
    messageOverhead: 10e-6,
    hostLink: { kind: 'pcie4-x16', bandwidth: 32e9, latency: 2e-6 },
  },
  // 1472 tiles × 6 hardware threads.
  lanes: () => 1472 * 6,
  presets: IPU_PRESETS,
  backends: ['emulated'],
  reference: () => presetDevice(ipuTarget, 'graphcore-ipu-gc200'),
  emit: emitProgram,
};
