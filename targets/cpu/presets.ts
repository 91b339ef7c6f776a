import { G, GiB, T, type DevicePreset } from '../device.js';

export const CPU_PRESETS: Record<string, DevicePreset> = {
  'intel-xeon-8480': {
    class: 'cpu',
    title: 'Intel Xeon Platinum 8480+ (one socket, 56 cores, 8×DDR5-4800)',
    memory: [{ name: 'ddr5', capacity: 512 * GiB, bandwidth: 307 * G }],
    // 56 cores × 2.0 GHz × 2 AVX-512 FMA units × 16 lanes × 2; AMX: 1024 bf16/int8 ops per cycle per core.
    compute: { float32: 7.2 * T, float64: 3.6 * T, bfloat16: 114 * T, int8: 229 * T, float16: 7.2 * T },
    launchOverhead: 2e-6,
    source: 'Intel ARK 8480+ (cores, clocks, memory channels); per-cycle throughput from the AVX-512/AMX ISA',
  },
};
