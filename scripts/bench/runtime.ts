// Runtime latency: fleetrt against onnxruntime-node, same model, same inputs, same intra-op
// thread count, in one run. Prints per model the median latency of each and their ratio.
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { compile } from '../../src/api/compile.js';
import { run } from '../../src/api/run.js';
import { inspect } from '../../src/api/inspect.js';
import { writeNpy } from '../../src/util/npy.js';
import { pbTensor } from '../../test/ort-tensor.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shared = path.resolve(root, '../shared');
const THREADS = Number(process.env.BENCH_THREADS ?? availableParallelism());
const REPEAT = Number(process.env.BENCH_REPEAT ?? 30);

/** Fixtures with their ONNX test data (inputs the exporter produced), plus the shared models. */
const MODELS: { name: string; file: string; kind: string }[] = [
  ...['cnn_small', 'mobilenet_block', 'unet_tiny', 'audio_conv1d'].map((m) => ({
    name: m,
    file: `fixtures/models/${m}/model.onnx`,
    kind: 'CNN',
  })),
  ...['gpt_decoder_kv', 'bert_encoder', 'tiny_vit', 'mlp_mixer', 'moe_topk'].map((m) => ({
    name: m,
    file: `fixtures/models/${m}/model.onnx`,
    kind: 'transformer',
  })),
  { name: 'opt-mnist_cntk', file: path.join(shared, 'models/onnx/opt-mnist_cntk.onnx'), kind: 'CNN' },
  {
    name: 'pytorch_super_resolution',
    file: path.join(shared, 'models/onnx/pytorch_super_resolution.onnx'),
    kind: 'CNN',
  },
];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const rows: string[][] = [];
let simd: string | undefined; // which fleetrt kernel code ran (metrics' simd)
const ratios: Record<string, number[]> = {};
for (const m of MODELS) {
  const file = path.resolve(root, m.file);
  if (!existsSync(file)) continue;
  const dir = mkdtempSync(path.join(tmpdir(), `fleetc-bench-${m.name}-`));
  const dataDir = path.join(path.dirname(file), 'test_data_set_0');
  const hasData = existsSync(dataDir) && path.basename(file) === 'model.onnx';
  try {
    const c = await compile(file, path.join(dir, 'build'), {});
    const out = path.join(dir, 'out');
    const feeds: Record<string, ort.Tensor> = {};
    const inputFiles: Record<string, string> = {};
    if (!hasData) {
      // Seeded random float inputs with symbols bound to 1, written as .npy for fleetrt.
      const info = await inspect(file);
      let seed = 1;
      for (const t of info.inputs) {
        const shape = (t.shape ?? []).map((d) => (typeof d === 'number' ? d : 1));
        const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(
          () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1,
        );
        feeds[t.name] = new ort.Tensor('float32', data, shape);
        inputFiles[t.name] = path.join(dir, `${t.name.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`);
        writeNpy(inputFiles[t.name]!, '<f4', shape, data);
      }
    }
    const runOpts = hasData ? { inputsDir: dataDir } : { inputs: inputFiles };
    const metrics = path.join(dir, 'metrics.json');
    const fleet = await run(c.planPath, { ...runOpts, outputDir: out, repeat: REPEAT, threads: THREADS, metrics });
    simd ??= (JSON.parse(readFileSync(metrics, 'utf8')) as { simd?: string }).simd;
    const fleetMs = fleet.latencyMs.p50;

    const session = await ort.InferenceSession.create(file, {
      intraOpNumThreads: THREADS,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    if (hasData) {
      const files = readdirSync(dataDir)
        .filter((f) => /^input_\d+\.pb$/.test(f))
        .sort((a, b) => parseInt(a.slice(6)) - parseInt(b.slice(6)));
      files.forEach((f, i) => (feeds[session.inputNames[i]!] = pbTensor(path.join(dataDir, f))));
    }
    await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t0);
    }
    const ortMs = median(times);
    const ratio = fleetMs / ortMs;
    (ratios[m.kind] ??= []).push(ratio);
    rows.push([m.name, m.kind, `${fleetMs.toFixed(3)} ms`, `${ortMs.toFixed(3)} ms`, `${ratio.toFixed(2)}×`]);
  } catch (e) {
    rows.push([m.name, m.kind, 'error', '', (e as Error).message.split('\n')[0]!.slice(0, 90)]);
  }
}

const header = ['model', 'kind', 'fleetrt p50', 'ORT p50', 'fleetrt / ORT'];
const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
console.log(
  `runtime latency, ${THREADS} intra-op threads, ${REPEAT} runs each, fleetrt kernels: ${simd ?? '?'} (lower ratio is better; target ≤ 2.0)`,
);
console.log(header.map((h, i) => h.padEnd(w[i]!)).join('  '));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i]!)).join('  '));
for (const [kind, rs] of Object.entries(ratios)) {
  const g = Math.exp(rs.reduce((a, b) => a + Math.log(b), 0) / rs.length);
  console.log(`geomean ${kind}: ${g.toFixed(2)}× ORT's latency`);
}
