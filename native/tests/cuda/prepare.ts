// Compiles what native/tests/cuda/device-check.sh runs on the GPU machine (which has no Node) into
// the git-ignored folder .device/, to be carried there:
//   .device/conformance/<test>/{cpu,cuda,inputs}  ONNX node tests whose ops all have cuda kernels
//   .device/fixtures/<model>/{cpu,cuda,inputs}     fixture models: cpu-only and cpu + cuda fleets
//   .device/gemm/<dtype>/                          one 4096³ MatMul per dtype on a cuda-only fleet
//   .device/decoder/                               the 32M-parameter benchmark decoder for generation
//   .device/*.jsonl                                fleetrt --batch jobs (cpu first, then cuda
//                                                  compared with the cpu outputs)
//   npx tsx native/tests/cuda/prepare.ts [--limit N]
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../../../src/api/compile.js';
import { loadGraph } from '../../../src/api/load.js';
import type { PlanJSON } from '../../../src/api/plan.js';
import { cudaKernel } from '../../../src/fleet/cuda-ops.js';
import { localFleet, parseFleet, loadFleet } from '../../../src/fleet/load.js';
import type { Fleet } from '../../../src/fleet/types.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const out = path.join(root, '.device');
const rel = (p: string): string => path.relative(root, p);
const limitArg = process.argv.indexOf('--limit');
const limit = limitArg > 0 ? Number(process.argv[limitArg + 1]) : Infinity;

const cpuOnly: Fleet = localFleet([]);
const cudaOnly: Fleet = parseFleet(
  'name: cuda-only\ndevices:\n  - { id: cuda0, preset: nvidia-h200-sxm, backend: cuda, cudaDevice: 0, threads: 2 }\n',
  'cuda-only.yaml',
);
const cpuCuda: Fleet = loadFleet(path.join(root, 'fixtures/fleets/cpu-cuda.yaml'));

const safe = (name: string): string => name.replace(/[^A-Za-z0-9._-]/g, '_');

/** fp32 within 1e-5 relative; fp16 / bf16 within their precision. */
function tolerance(dtype: string | null, deep: boolean): { rtol: number; atol: number } {
  if (dtype === 'float16') return { rtol: 2e-3, atol: 2e-3 };
  if (dtype === 'bfloat16') return { rtol: 1.6e-2, atol: 1.6e-2 };
  return deep ? { rtol: 1e-4, atol: 1e-4 } : { rtol: 1e-5, atol: 1e-5 };
}

interface Case {
  name: string;
  model: string;
  inputs: string[];
}

async function prepareCase(
  kind: string,
  c: Case,
  cudaFleet: Fleet,
  deep: boolean,
  jobs: { cpu: string[]; cuda: string[] },
) {
  const dir = path.join(out, kind, c.name);
  mkdirSync(path.join(dir, 'inputs'), { recursive: true });
  let cudaPlan: PlanJSON;
  try {
    await compile(c.model, path.join(dir, 'cpu'), { fleet: cpuOnly, report: false });
    cudaPlan = (await compile(c.model, path.join(dir, 'cuda'), { fleet: cudaFleet })).plan;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    return `${c.name}: not compiled (${(e as Error).message.split('\n')[0]})`;
  }
  const inputs = c.inputs.map((f, i) => {
    const to = path.join(dir, 'inputs', `input_${i}${path.extname(f)}`);
    copyFileSync(f, to);
    return rel(to);
  });
  const cpuOut = path.join(out, 'out', kind, c.name);
  const none = cudaPlan.outputs.map(() => null);
  jobs.cpu.push(
    JSON.stringify({
      id: c.name,
      plan: rel(path.join(dir, 'cpu/plan.json')),
      inputs,
      outputDir: rel(cpuOut),
      expected: none,
    }),
  );
  const expected = cudaPlan.outputs.map((o) => ({
    file: rel(path.join(cpuOut, `${safe(o.name)}.npy`)),
    ...tolerance(o.dtype, deep),
  }));
  jobs.cuda.push(JSON.stringify({ id: c.name, plan: rel(path.join(dir, 'cuda/plan.json')), inputs, expected }));
  const gpuOps = cudaPlan.devices.filter((d) => d.backend === 'cuda').reduce((s, d) => s + d.ops, 0);
  const allOps = cudaPlan.devices.reduce((s, d) => s + d.ops, 0);
  return `${c.name}: ${gpuOps}/${allOps} ops on cuda`;
}

/** Replaces weights.bin by weights-int.json: its size and the bytes of its non-float tensors. */
function stripFloatWeights(bundle: string) {
  const manifest = JSON.parse(readFileSync(path.join(bundle, 'manifest.json'), 'utf8')) as {
    weights: { dtype: string; offset: number; bytes: number }[];
  };
  const bin = readFileSync(path.join(bundle, 'weights.bin'));
  const ints = manifest.weights
    .filter((w) => w.dtype !== 'float32' && w.dtype !== 'float16')
    .map((w) => ({ offset: w.offset, data: bin.subarray(w.offset, w.offset + w.bytes).toString('base64') }));
  writeFileSync(path.join(bundle, 'weights-int.json'), JSON.stringify({ bytes: bin.length, ints }));
  rmSync(path.join(bundle, 'weights.bin'));
}

function inputsOf(testDir: string): string[] {
  const set = path.join(testDir, 'test_data_set_0');
  if (!existsSync(set)) return [];
  return readdirSync(set)
    .filter((f) => /^input_\d+\.pb$/.test(f))
    .sort((a, b) => Number(a.match(/\d+/)![0]) - Number(b.match(/\d+/)![0]))
    .map((f) => path.join(set, f));
}

async function main() {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const notes: string[] = [];

  // (a) Conformance: node tests that pass on the cpu and whose every op has a cuda kernel.
  const passing = new Set(readFileSync(path.join(root, 'test/conformance/passing.txt'), 'utf8').split('\n'));
  const suite = path.join(root, '../shared/conformance/onnx-node');
  const conf = { cpu: [] as string[], cuda: [] as string[] };
  let n = 0;
  for (const t of readdirSync(suite).sort()) {
    if (n >= limit || !passing.has(`onnx-node/${t}`)) continue;
    const model = path.join(suite, t, 'model.onnx');
    if (!existsSync(model)) continue;
    let graph;
    try {
      graph = await loadGraph(model);
    } catch {
      continue;
    }
    const ops = graph.topoOps().map((id) => graph.op(id));
    if (ops.length === 0 || !ops.every((o) => cudaKernel(o.domain, o.opType))) continue;
    notes.push(
      'conformance ' +
        (await prepareCase(
          'conformance',
          { name: t, model, inputs: inputsOf(path.join(suite, t)) },
          cudaOnly,
          false,
          conf,
        )),
    );
    n++;
  }
  writeFileSync(path.join(out, 'conformance-cpu.jsonl'), conf.cpu.join('\n') + '\n');
  writeFileSync(path.join(out, 'conformance-cuda.jsonl'), conf.cuda.join('\n') + '\n');

  // (b) Fixture models on cpu + cuda; (e) their reports carry the predicted per-op times.
  const fixtures = { cpu: [] as string[], cuda: [] as string[] };
  const modelsDir = path.join(root, 'fixtures/models');
  for (const m of readdirSync(modelsDir).sort()) {
    const model = path.join(modelsDir, m, 'model.onnx');
    if (!existsSync(model)) continue;
    notes.push(
      'fixture ' +
        (await prepareCase(
          'fixtures',
          { name: m, model, inputs: inputsOf(path.join(modelsDir, m)) },
          cpuCuda,
          true,
          fixtures,
        )),
    );
  }
  writeFileSync(path.join(out, 'fixtures-cpu.jsonl'), fixtures.cpu.join('\n') + '\n');
  writeFileSync(path.join(out, 'fixtures-cuda.jsonl'), fixtures.cuda.join('\n') + '\n');

  // (c) GEMM: one MatMul per dtype, inputs made by fleetrt --random-inputs on the device.
  const gen = spawnSync(
    '/usr/bin/python3',
    [path.join(root, 'native/tests/cuda/make_models.py'), path.join(out, 'models'), '4096'],
    {
      stdio: 'inherit',
    },
  );
  if (gen.status !== 0) throw new Error('make_models.py failed (needs Debian python3-onnx)');
  for (const dt of ['f32', 'f16', 'bf16']) {
    await compile(path.join(out, 'models', `matmul_${dt}.onnx`), path.join(out, 'gemm', dt), {
      fleet: cudaOnly,
      report: false,
    });
  }
  // (d) The benchmark decoder (32M parameters) for generation on cpu + cuda, carried without its
  // float weights (decode.py refills them on the device): .cache/models/decoder_large/ comes from
  // `/usr/bin/python3 fixtures/gen/export_models.py --only decoder_large`.
  const large = path.join(root, '.cache/models/decoder_large/model.onnx');
  if (existsSync(large)) {
    const dec = path.join(out, 'decoder');
    const r = await compile(large, dec, { fleet: cpuCuda, generate: true });
    for (const d of r.plan.devices) stripFloatWeights(path.join(dec, d.bundle.dir));
    notes.push(`decoder: ${r.plan.devices.map((d) => `${d.name} ${d.ops} ops`).join(', ')}`);
  } else {
    notes.push('decoder: skipped (run /usr/bin/python3 fixtures/gen/export_models.py --only decoder_large first)');
  }
  writeFileSync(path.join(out, 'prepared.txt'), notes.join('\n') + '\n');
  console.log(
    `prepared ${conf.cuda.length} conformance cases, ${fixtures.cuda.length} fixtures, 3 GEMMs in ${rel(out)}/`,
  );
}

await main();
