// The hpu class: Habana/Intel Gaudi accelerators (matrix engines + tensor processor cores). Emulated here.
import { G, GiB, T, type DevicePreset } from '../device.js';
import { emitProgram } from '../fleetrt/emit.js';
import { HOST_ONLY } from '../support.js';
import { presetDevice, type Target } from '../target.js';

export const HPU_PRESETS: Record<string, DevicePreset> = {
  'intel-gaudi2': {
    class: 'hpu',
    title: 'Intel Gaudi 2 (HL-225)',
    memory: [{ name: 'hbm2e', capacity: 96 * GiB, bandwidth: 2.46 * T }],
    // Matrix engines: 432 TFLOP/s bf16; float32 is an estimate for the vector (TPC) cores.
    compute: { bfloat16: 432 * T, float8e4m3fn: 865 * T, float16: 432 * T, float32: 11 * T },
    launchOverhead: 8e-6,
    hostLink: { bandwidth: 32 * G, latency: 3e-6, kind: 'pcie4-x16' },
    source: 'Intel Gaudi 2 product brief (bf16 432 TFLOP/s, 96 GB HBM2e at 2.46 TB/s, PCIe 4 x16); fp32 estimated',
  },
};

export const hpuTarget: Target = {
  class: 'hpu',
  title: 'Gaudi HPU',
  defaults: {
    dtypes: ['float32', 'bfloat16', 'float16', 'int8', 'int32', 'int64', 'bool', 'float8e4m3fn'],
    deny: [...HOST_ONLY, '@data-dependent'],
    launchOverhead: 8e-6,
    // Estimate: a host↔device copy with its synchronisation, as on a GPU.
    messageOverhead: 10e-6,
    hostLink: { kind: 'pcie4-x16', bandwidth: 32e9, latency: 2e-6 },
  },
  // 24 tensor processor cores × 256-byte SIMD.
  lanes: () => 24 * 256,
  presets: HPU_PRESETS,
  backends: ['emulated'],
  reference: () => presetDevice(hpuTarget, 'intel-gaudi2'),
  emit: emitProgram,
};
