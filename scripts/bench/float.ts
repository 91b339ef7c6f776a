// npm run bench -- float: floating ops (docs/floating.md) against the same placement pinned
// (the default; `--float` floats) on two real cpu devices of this host (fixtures/fleets/cpu-threads.yaml), with
// the split forced by pinning the matrix products to cpu1. Reference in the same run: every op on
// cpu1 (graph inputs and outputs still travel from and to the home device cpu0). Plans are timed in interleaved rounds (fleetrt --repeat, warm-up left out);
// the figure is the median over rounds of each run's median latency.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../../src/api/compile.js';
import { findFleetrt } from '../../runtime/fleetrt.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 200);
const FLEET = path.join(root, 'fixtures/fleets/cpu-threads.yaml');
const MODELS = ['gpt_decoder_kv', 'bert_encoder'];

interface Variant {
  name: string;
  plan: string;
  channels: number;
  floating: number;
  p50: number[];
  shared?: number;
  runs?: Record<string, number>;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};

function time(v: Variant, inputs: string, dir: string, metrics: boolean): void {
  const m = path.join(dir, `${v.name}.metrics.json`);
  const args = [v.plan, '--inputs-dir', inputs, '--output-dir', path.join(dir, v.name), '--repeat', String(REPEAT)];
  args.push('--warmup', '20', ...(metrics ? ['--metrics', m] : []), '--summary-json');
  const r = spawnSync(findFleetrt(), args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`fleetrt ${v.name}: ${r.stderr.trim()}`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('{"summary"'))!;
  v.p50.push((JSON.parse(line) as { summary: { latencyMs: { p50: number } } }).summary.latencyMs.p50);
  if (metrics) {
    const f = (
      JSON.parse(readFileSync(m, 'utf8')) as {
        floating?: { sharedValuesPerRequest: number; runsPerDevice: Record<string, number> };
      }
    ).floating;
    if (f) {
      v.shared = f.sharedValuesPerRequest;
      v.runs = f.runsPerDevice;
    }
  }
}

for (const model of MODELS) {
  const dir = mkdtempSync(path.join(tmpdir(), `fleetc-bench-float-${model}-`));
  const file = path.join(root, 'fixtures/models', model, 'model.onnx');
  const inputs = path.join(root, 'fixtures/models', model, 'test_data_set_0');
  const variants: Variant[] = [];
  for (const [name, opts] of [
    ['floating', { pins: ['MatMul=cpu1'], float: true }],
    ['pinned', { pins: ['MatMul=cpu1'] }],
    ['all on cpu1', { pins: ['.*=cpu1'] }],
  ] as const) {
    const c = await compile(file, path.join(dir, name.replace(' ', '-')), { fleet: FLEET, report: false, ...opts });
    variants.push({
      name,
      plan: c.planPath,
      channels: c.plan.channels.length,
      floating: c.plan.floating?.ops.length ?? 0,
      p50: [],
    });
  }
  for (let r = 0; r < ROUNDS; r++) for (const v of variants) time(v, inputs, dir, r === 0);
  console.log(
    `\n${model} on cpu-threads, MatMul pinned to cpu1 (${ROUNDS} rounds × ${REPEAT} runs, median of medians)`,
  );
  console.log('  plan         floating ops  channels  shared/req  runs per device           latency');
  const ref = median(variants[2]!.p50);
  for (const v of variants) {
    const runs = v.runs
      ? Object.entries(v.runs)
          .map(([d, n]) => `${d} ${n}`)
          .join(', ')
      : '—';
    const lat = median(v.p50);
    console.log(
      `  ${v.name.padEnd(12)} ${String(v.floating).padStart(12)}  ${String(v.channels).padStart(8)}  ${(v.shared ?? 0).toFixed(1).padStart(10)}  ${runs.padEnd(24)}  ${(lat * 1000).toFixed(1).padStart(6)} µs (${(lat / ref).toFixed(2)}× all on cpu1)`,
    );
  }
  const [f, p] = [median(variants[0]!.p50), median(variants[1]!.p50)];
  console.log(`  floating / pinned latency: ${(f / p).toFixed(2)}×`);
}
