// Writes src/fleet/cuda-ops.json, the op-support profile of `backend: cuda` devices, from the
// kernel registrations in native/src/backends/cuda/. `--check` only says whether it is current.
//   npx tsx scripts/gen-cuda-ops.ts [--check]
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { cudaOpsTable } from '../targets/gpu/cuda-ops.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dir = path.join(root, 'native/src/backends/cuda');
const out = path.join(root, 'src/fleet/cuda-ops.json');

/** The sources of the cuda kernel set. */
export function cudaSources(): string[] {
  return readdirSync(dir)
    .filter((f) => /\.(cu|cpp)$/.test(f))
    .sort()
    .map((f) => readFileSync(path.join(dir, f), 'utf8'));
}

async function currentCudaOps(): Promise<string> {
  const text = JSON.stringify(cudaOpsTable(cudaSources()));
  return format(text, { ...(await resolveConfig(out)), filepath: out });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const text = await currentCudaOps();
  if (process.argv.includes('--check')) {
    if (readFileSync(out, 'utf8') !== text) {
      console.error('src/fleet/cuda-ops.json is out of date: run npx tsx scripts/gen-cuda-ops.ts');
      process.exit(1);
    }
  } else {
    writeFileSync(out, text);
    console.log(`wrote ${path.relative(root, out)}`);
  }
}
