// Where a decode step's time goes (issue 10): compiles the generation benchmark's decoder
// (.cache/models/decoder_large, exported by `npm run bench -- generate`) for generation once, runs
// fleetrt's engine at each context with --metrics, and prints the step's p50, the op count, and
// each op type's median time per step (the medians over passes, so the one prefill pass drops out).
//
//   npx tsx scripts/bench/profile-decode.ts [OUT_DIR]   (env BENCH_CONTEXTS=64,2048 BENCH_STEPS=32 BENCH_THREADS=2)
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../../src/api/compile.js';
import { EngineProcess } from '../../runtime/engine.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STEPS = Number(process.env.BENCH_STEPS ?? 32);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const CONTEXTS = (process.env.BENCH_CONTEXTS ?? '64,2048').split(',').map(Number);
const model = path.join(root, '.cache/models/decoder_large/model.onnx');
if (!existsSync(model)) {
  console.log(`${model} is missing: run 'npm run bench -- generate' once to export it`);
  process.exit(1);
}
const out = process.argv[2] ?? path.join(root, '.cache/profile-decode');
mkdirSync(out, { recursive: true });
const planPath = path.join(out, 'build/plan.json');
const maxContext = Math.ceil((Math.max(...CONTEXTS) + STEPS + 64) / 16) * 16;
await compile(model, path.join(out, 'build'), { generate: { maxContext }, report: false });
const prompt = (n: number): number[] => Array.from({ length: n }, (_, i) => (i * 37 + 11) % 8000);

interface OpMetrics {
  name: string;
  opType: string;
  medianMs: number;
}
for (const ctx of CONTEXTS) {
  const metrics = path.join(out, `metrics-${ctx}.json`);
  const engine = new EngineProcess(planPath, () => {}, { threads: THREADS, metrics });
  await engine.ready;
  engine.submit({ id: 'profile', prompt: prompt(ctx), maxTokens: STEPS + 1 });
  const stats = (await engine.close())!;
  const ops = (JSON.parse(readFileSync(metrics, 'utf8')) as { devices: { ops: OpMetrics[] }[] }).devices.flatMap(
    (d) => d.ops,
  );
  const byType = new Map<string, { ms: number; n: number }>();
  for (const o of ops) {
    const e = byType.get(o.opType) ?? { ms: 0, n: 0 };
    byType.set(o.opType, { ms: e.ms + o.medianMs, n: e.n + 1 });
  }
  const sum = [...byType.values()].reduce((a, e) => a + e.ms, 0);
  console.log(
    `context ${ctx}: decode step p50 ${stats.decodeStepMs.p50.toFixed(2)} ms (min ${stats.decodeStepMs.min.toFixed(2)}), ` +
      `${ops.length} ops, their medians sum to ${sum.toFixed(2)} ms; prefill ${stats.prefillMs.toFixed(1)} ms`,
  );
  for (const [t, e] of [...byType].sort((a, b) => b[1].ms - a[1].ms))
    console.log(
      `  ${t.padEnd(20)} ${String(e.n).padStart(4)} ops  ${(e.ms * 1000).toFixed(1).padStart(8)} µs  (${((e.ms * 1000) / e.n).toFixed(2)} µs each)`,
    );
}
