// The gpu class: discrete GPUs attached to a host over PCIe (or NVLink). `backend: cuda` runs
// them for real on this machine's NVIDIA GPUs (op support from the cuda kernel table,
// cuda-ops.ts); `emulated` stands in for them on host kernels, with their memory and op support
// enforced and the cost model's time.
import type { DeviceSpec } from '../device.js';
import { emitProgram } from '../fleetrt/emit.js';
import { HOST_ONLY } from '../support.js';
import { presetDevice, type Target } from '../target.js';
import { GPU_PRESETS } from './presets.js';

const DTYPES: DeviceSpec['dtypes'] = [
  'float32',
  'float64',
  'float16',
  'bfloat16',
  'int8',
  'uint8',
  'int16',
  'int32',
  'int64',
  'bool',
  'float8e4m3fn',
  'float8e5m2',
];

export const gpuTarget: Target = {
  class: 'gpu',
  title: 'GPU',
  defaults: {
    dtypes: DTYPES,
    deny: [...HOST_ONLY],
    launchOverhead: 5e-6,
    // Estimate: a small host↔device copy plus the stream synchronisation around it.
    messageOverhead: 10e-6,
    hostLink: { kind: 'pcie4-x16', bandwidth: 32e9, latency: 2e-6 },
  },
  // An H100's 132 SMs × 128 float32 lanes.
  lanes: () => 132 * 128,
  presets: GPU_PRESETS,
  backends: ['emulated', 'cuda'],
  reference: () => presetDevice(gpuTarget, 'nvidia-h100-sxm'),
  emit: emitProgram,
};
