// Link kinds a fleet file can name instead of spelling out bandwidth and latency (per direction).
const G = 1e9;

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
