import type { DType } from '../ir/dtype.js';
import type { DeviceClass } from './types.js';

export interface DevicePreset {
  class: DeviceClass;
  title: string;
  memory: { name: string; capacity: number; bandwidth: number }[];
  compute: Partial<Record<DType, number>>;
  launchOverhead: number;
  hostLink?: { bandwidth: number; latency: number; kind: string };
  /** Where the figures come from; estimates say so. */
  source: string;
}

const G = 1e9;
const T = 1e12;
const GiB = 2 ** 30;

/**
 * Public datasheet figures (dense, no sparsity). Peak compute is per element type of the
 * inputs of matrix math; elementwise work is priced from memory bandwidth by the roofline.
 */
export const DEVICE_PRESETS: Record<string, DevicePreset> = {
  'intel-xeon-8480': {
    class: 'cpu',
    title: 'Intel Xeon Platinum 8480+ (one socket, 56 cores, 8×DDR5-4800)',
    memory: [{ name: 'ddr5', capacity: 512 * GiB, bandwidth: 307 * G }],
    // 56 cores × 2.0 GHz × 2 AVX-512 FMA units × 16 lanes × 2; AMX: 1024 bf16/int8 ops per cycle per core.
    compute: { float32: 7.2 * T, float64: 3.6 * T, bfloat16: 114 * T, int8: 229 * T, float16: 7.2 * T },
    launchOverhead: 2e-6,
    source: 'Intel ARK 8480+ (cores, clocks, memory channels); per-cycle throughput from the AVX-512/AMX ISA',
  },
  'nvidia-h100-sxm': {
    class: 'gpu',
    title: 'NVIDIA H100 SXM5 80 GB',
    memory: [{ name: 'hbm3', capacity: 80 * GiB, bandwidth: 3.35 * T }],
    compute: {
      float32: 67 * T,
      float64: 34 * T,
      float16: 989 * T,
      bfloat16: 989 * T,
      float8e4m3fn: 1979 * T,
      int8: 1979 * T,
    },
    launchOverhead: 5e-6,
    hostLink: { bandwidth: 64 * G, latency: 2e-6, kind: 'pcie5-x16' },
    source: 'NVIDIA H100 datasheet (SXM5, dense tensor-core figures)',
  },
  'nvidia-h200-sxm': {
    class: 'gpu',
    title: 'NVIDIA H200 SXM 141 GB',
    memory: [{ name: 'hbm3e', capacity: 141e9, bandwidth: 4.8 * T }],
    compute: {
      float32: 67 * T,
      float64: 34 * T,
      float16: 989 * T,
      bfloat16: 989 * T,
      float8e4m3fn: 1979 * T,
      int8: 1979 * T,
    },
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

/** Link kinds a fleet file can name instead of spelling out bandwidth and latency (per direction). */
export const LINK_PRESETS: Record<string, { bandwidth: number; latency: number }> = {
  'pcie4-x16': { bandwidth: 32 * G, latency: 2e-6 },
  'pcie5-x16': { bandwidth: 64 * G, latency: 2e-6 },
  nvlink4: { bandwidth: 450 * G, latency: 1e-6 },
  nvlink3: { bandwidth: 300 * G, latency: 1e-6 },
  'ipu-link': { bandwidth: 64 * G, latency: 1e-6 },
  'ethernet-10g': { bandwidth: 1.25 * G, latency: 30e-6 },
  'ethernet-25g': { bandwidth: 3.125 * G, latency: 20e-6 },
  'ethernet-100g': { bandwidth: 12.5 * G, latency: 10e-6 },
  'infiniband-ndr': { bandwidth: 50 * G, latency: 2e-6 },
};
