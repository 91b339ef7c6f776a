// This machine's CUDA GPUs as `backend: cuda` devices (`--fleet local`): each by the preset its
// name matches, with its own memory size.
import type { LocalDevice } from '../target.js';
import type { DevicePreset } from '../device.js';
import { detectCudaGpus, type LocalGpu } from './detect.js';
import { GPU_PRESETS } from './presets.js';

/** The preset whose figures fit a GPU by its name (nvidia-smi's), if one does. */
export function gpuPreset(name: string): string | undefined {
  if (/H200/i.test(name)) return 'nvidia-h200-sxm';
  if (/H100/i.test(name)) return 'nvidia-h100-sxm';
  if (/A100/i.test(name)) return 'nvidia-a100-sxm';
  if (/\bL4\b/i.test(name)) return 'nvidia-l4';
  return undefined;
}

export function localGpus(
  defaults: { dtypes: LocalDevice['dtypes']; deny: string[]; messageOverhead: number },
  gpus: readonly LocalGpu[] = detectCudaGpus(),
  threads = 1,
): LocalDevice[] {
  return gpus.map((gpu) => {
    const preset = gpuPreset(gpu.name);
    const p: DevicePreset | undefined = preset ? GPU_PRESETS[preset] : undefined;
    return {
      id: `cuda${gpu.index}`,
      class: 'gpu',
      ...(preset ? { preset } : {}),
      // An unknown GPU gets nominal figures (a mid-range data-centre card) until `fleetc tune` measures it.
      memory: [{ name: 'hbm', capacity: gpu.memory, bandwidth: p?.memory[0]?.bandwidth ?? 1e12 }],
      compute: p ? { ...p.compute } : { float32: 20e12, float16: 150e12, bfloat16: 150e12 },
      launchOverhead: p?.launchOverhead ?? 5e-6,
      messageOverhead: defaults.messageOverhead,
      ops: { deny: [...defaults.deny] },
      dtypes: [...defaults.dtypes],
      backend: 'cuda',
      cudaDevice: gpu.index,
      threads,
      hostLink: p?.hostLink ?? { kind: 'pcie4-x16', bandwidth: 32e9, latency: 2e-6 },
    };
  });
}
