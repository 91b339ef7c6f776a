import { execFileSync } from 'node:child_process';

/** A CUDA GPU of this machine. */
export interface LocalGpu {
  /** CUDA device index. */
  index: number;
  name: string;
  /** Bytes. */
  memory: number;
}

/** Parses `nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits` (memory in MiB). */
export function parseNvidiaSmi(text: string): LocalGpu[] {
  const out: LocalGpu[] = [];
  for (const line of text.split('\n')) {
    const parts = line.split(',').map((s) => s.trim());
    if (parts.length < 3) continue;
    const index = Number(parts[0]);
    const mib = Number(parts[parts.length - 1]);
    const name = parts.slice(1, -1).join(',');
    if (!Number.isInteger(index) || index < 0 || !Number.isFinite(mib) || mib <= 0 || !name) continue;
    out.push({ index, name, memory: mib * 2 ** 20 });
  }
  return out;
}

let cached: LocalGpu[] | undefined;

/**
 * This machine's CUDA GPUs, from nvidia-smi (none when it is absent or fails). Read once per
 * process; FLEETC_NO_GPUS=1 hides them (a cpu-only local fleet on a GPU machine).
 */
export function detectCudaGpus(): LocalGpu[] {
  if (process.env.FLEETC_NO_GPUS === '1') return [];
  if (cached) return cached;
  try {
    const text = execFileSync('nvidia-smi', ['--query-gpu=index,name,memory.total', '--format=csv,noheader,nounits'], {
      encoding: 'utf8',
      timeout: 10000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    cached = parseNvidiaSmi(text);
  } catch {
    cached = [];
  }
  return cached;
}
