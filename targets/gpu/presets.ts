import { G, GiB, T, type DevicePreset } from '../device.js';

/** Dense tensor-core figures of the Hopper SXM parts (the H200 computes as the H100). */
const HOPPER_SXM_COMPUTE: DevicePreset['compute'] = {
  float32: 67 * T,
  float64: 34 * T,
  float16: 989 * T,
  bfloat16: 989 * T,
  float8e4m3fn: 1979 * T,
  int8: 1979 * T,
};

export const GPU_PRESETS: Record<string, DevicePreset> = {
  'nvidia-h100-sxm': {
    class: 'gpu',
    title: 'NVIDIA H100 SXM5 80 GB',
    memory: [{ name: 'hbm3', capacity: 80 * GiB, bandwidth: 3.35 * T }],
    compute: HOPPER_SXM_COMPUTE,
    launchOverhead: 5e-6,
    hostLink: { bandwidth: 64 * G, latency: 2e-6, kind: 'pcie5-x16' },
    source: 'NVIDIA H100 datasheet (SXM5, dense tensor-core figures)',
  },
  'nvidia-h200-sxm': {
    class: 'gpu',
    title: 'NVIDIA H200 SXM 141 GB',
    memory: [{ name: 'hbm3e', capacity: 141e9, bandwidth: 4.8 * T }],
    compute: HOPPER_SXM_COMPUTE,
    launchOverhead: 5e-6,
    hostLink: { bandwidth: 64 * G, latency: 2e-6, kind: 'pcie5-x16' },
    source: 'NVIDIA H200 datasheet (SXM, dense tensor-core figures; compute as the H100 SXM)',
  },
  'nvidia-a100-sxm': {
    class: 'gpu',
    title: 'NVIDIA A100 SXM4 80 GB',
    memory: [{ name: 'hbm2e', capacity: 80 * GiB, bandwidth: 2.039 * T }],
    compute: { float32: 19.5 * T, float64: 9.7 * T, float16: 312 * T, bfloat16: 312 * T, int8: 624 * T },
    launchOverhead: 5e-6,
    hostLink: { bandwidth: 32 * G, latency: 2e-6, kind: 'pcie4-x16' },
    source: 'NVIDIA A100 datasheet (SXM4 80 GB, dense tensor-core figures)',
  },
  'nvidia-l4': {
    class: 'gpu',
    title: 'NVIDIA L4 24 GB',
    memory: [{ name: 'gddr6', capacity: 24 * GiB, bandwidth: 300 * G }],
    compute: { float32: 30.3 * T, float16: 121 * T, bfloat16: 121 * T, float8e4m3fn: 242 * T, int8: 242 * T },
    launchOverhead: 5e-6,
    hostLink: { bandwidth: 32 * G, latency: 2e-6, kind: 'pcie4-x16' },
    source: 'NVIDIA L4 datasheet (dense figures)',
  },
};
