// Generation speed (issue 10): decode step latency of fleetrt's engine against onnxruntime-node's
// reference loop (present fed back as past), 2 intra-op threads each, on a ≥ 30M-parameter
// decoder at context 64 and 2048, measured interleaved in one run; and tokens/s against the
// memory-bandwidth bound (weights + KV bytes read per step ÷ the bytes memcpy moves per second,
// read + written, measured here by fleetrt_stream_bench).
//
// The decoder is exported on first use by `/usr/bin/python3 fixtures/gen/export_models.py --only
// decoder_large` into .cache/models/ (git-ignored; Debian's python3-torch).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../../src/api/compile.js';
import type { PlanJSON } from '../../src/api/plan.js';
import { EngineProcess, type GenerationStats } from '../../runtime/engine.js';
import { openDecoder, ortGenerate } from '../../test/helpers/ort-generate.js';
import { references } from './interleave.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const STEPS = Number(process.env.BENCH_STEPS ?? 16);
const CONTEXTS = (process.env.BENCH_CONTEXTS ?? '64,2048').split(',').map(Number);
const model = path.join(root, '.cache/models/decoder_large/model.onnx');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

if (!existsSync(model)) {
  console.log('exporting the ≥ 30M-parameter decoder (once) …');
  const r = spawnSync('/usr/bin/python3', ['fixtures/gen/export_models.py', '--only', 'decoder_large'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    console.log('(not available: needs Debian python3-torch and python3-onnx)');
    process.exit(1);
  }
}

const prompt = (n: number): number[] => Array.from({ length: n }, (_, i) => (i * 37 + 11) % 8000);

async function fleetrtRun(plan: string, ctx: number): Promise<GenerationStats> {
  const engine = new EngineProcess(plan, () => {}, { threads: THREADS });
  await engine.ready;
  engine.submit({ id: 'bench', prompt: prompt(ctx), maxTokens: STEPS + 1 });
  const stats = await engine.close();
  return stats!;
}

const dir = mkdtempSync(path.join(tmpdir(), 'fleetc-bench-generate-'));
const maxCtx = Math.max(...CONTEXTS) + STEPS + 64;
const build = await compile(model, path.join(dir, 'build'), {
  generate: { maxContext: Math.ceil(maxCtx / 16) * 16 },
  report: false,
});
const plan = JSON.parse(readFileSync(build.planPath, 'utf8')) as PlanJSON;
const weights = plan.devices.reduce((a, d) => a + d.memory.weights, 0);
const session = await openDecoder(model, { threads: THREADS });
// fleetrt_stream_bench's memcpy on the same threads: bytes read + written per second, the rate a
// stream that only reads can come close to.
const bandwidth = references(false)?.memcpyGBs ?? NaN;
console.log(
  `decoder_large: ${(weights / 2 ** 20).toFixed(0)} MiB of weights, ${plan.state.length} state objects; ${THREADS} threads each; ` +
    `memcpy ${bandwidth.toFixed(1)} GB/s (read + write, ${THREADS} threads); ${ROUNDS} interleaved rounds, ${STEPS} decode steps each`,
);
const rows: string[] = [];
for (const ctx of CONTEXTS) {
  const ours: { step: number; prefill: number; kvRead: number }[] = [];
  const ref: { step: number; prefill: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const s = await fleetrtRun(build.planPath, ctx);
    ours.push({ step: s.decodeStepMs.p50, prefill: s.prefillMs, kvRead: s.kvBytesReadPerDecodeStep });
    const o = await ortGenerate(session, prompt(ctx), { maxNewTokens: STEPS + 1 });
    ref.push({ step: median(o.stepMs), prefill: o.prefillMs });
  }
  const step = median(ours.map((x) => x.step));
  const refStep = median(ref.map((x) => x.step));
  const bytesPerStep = weights + median(ours.map((x) => x.kvRead));
  // A step reads every weight and the cache once.
  const boundTps = (bandwidth * 1e9) / bytesPerStep;
  const tps = 1000 / step;
  rows.push(
    `context ${String(ctx).padStart(5)}: decode step fleetrt ${step.toFixed(2)} ms, onnxruntime ${refStep.toFixed(2)} ms → ${(step / refStep).toFixed(2)}× ` +
      `(target ≤ ${ctx >= 2048 ? '0.5' : '1.0'}); ${tps.toFixed(1)} tokens/s = ${((100 * tps) / boundTps).toFixed(0)}% of the bandwidth bound ` +
      `(${(bytesPerStep / 2 ** 20).toFixed(1)} MiB/step, target ≥ 50%); prefill fleetrt ${median(ours.map((x) => x.prefill)).toFixed(1)} ms, ` +
      `onnxruntime ${median(ref.map((x) => x.prefill)).toFixed(1)} ms`,
  );
  console.log(rows.at(-1));
}
