// npm run bench:partition — the partitioner on every (model, fleet) pair: predicted latency of
// fleetc's plan against the greedy priority baseline (each op to the first device in priority
// order that supports it, as ONNX Runtime's EP list and OpenVINO HETERO do), and against the
// exact MILP optimum (HiGHS) where the coarsened problem is small enough to solve.
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOnnx } from '../../src/frontends/onnx/index.js';
import { loadFleet } from '../../src/fleet/index.js';
import { resolvePipeline, runPipeline } from '../../passes/driver.js';
import { buildProblem } from '../../passes/partition/build.js';
import { partition } from '../../passes/partition/index.js';
import { newPassContext } from '../../passes/pass.js';
import { exactPlacement } from '../../passes/partition/milp.js';
import { fits, simulate } from '../../passes/partition/simulate.js';
// @ts-expect-error: a plain ES module generator without typings
import { writeExternalWeightsModel } from '../../fixtures/gen/external_weights.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shared = path.resolve(root, '../shared');
const EXACT_MAX_TASKS = Number(process.env.EXACT_MAX_TASKS ?? 14);

// Request shapes the benchmark prices: a small batch of medium-length sequences.
const DIMS = new Map(
  Object.entries({ batch: 4, batch_size: 4, seq: 64, seq_len: 64, past_seq: 64, past_seq_len: 64, total_seq_len: 128 }),
);

// The model no single device of fleet (d) holds: a 96 MiB MLP (written once to the temp folder).
const bigMlp = path.join(tmpdir(), 'fleetc-bench', 'mlp96', 'model.onnx');
writeExternalWeightsModel({ mb: 96, hidden: 1024, out: bigMlp });

const models = [
  bigMlp,
  ...readdirSync(path.join(shared, 'models/onnx')).map((f) => path.join(shared, 'models/onnx', f)),
  ...readdirSync(path.join(root, 'fixtures/models'))
    .filter((m) => !m.includes('.'))
    .map((m) => path.join(root, 'fixtures/models', m, 'model.onnx')),
];
const fleets = readdirSync(path.join(root, 'fixtures/fleets'))
  .filter((f) => /\.ya?ml$/.test(f))
  .map((f) => path.join(root, 'fixtures/fleets', f));

const rows: string[][] = [];
const speedups: number[] = [];
const gaps: number[] = [];
let failures = 0;
let baselineOom = 0;
const fmt = (s: number) => (s >= 1e-3 ? `${(s * 1e3).toFixed(3)} ms` : `${(s * 1e6).toFixed(1)} µs`);

for (const model of models) {
  const name =
    path.basename(model) === 'model.onnx' ? path.basename(path.dirname(model)) : path.basename(model, '.onnx');
  const graph = loadOnnx(model);
  runPipeline(graph, resolvePipeline('infer-shapes,fold,dce,cse'), newPassContext({ dims: DIMS }));
  for (const fleetPath of fleets) {
    const fleet = loadFleet(fleetPath);
    const t1 = performance.now();
    let r;
    try {
      r = partition(graph, fleet, DIMS, 'latency', false);
    } catch (e) {
      rows.push([name, fleet.name, '—', '—', '—', '—', '—', (e as Error).message.slice(0, 60)]);
      failures++;
      continue;
    }
    const ms = performance.now() - t1;
    const speedup = r.baseline.latency / r.predicted.latency;
    // A baseline plan that overflows a device is not a plan: it is counted, not compared.
    if (r.baseline.fits) speedups.push(speedup);
    else baselineOom++;
    let exact = '—';
    const { problem } = buildProblem(graph, fleet, { dims: DIMS, coarsen: true });
    if (problem.tasks.length <= EXACT_MAX_TASKS && problem.devices.length <= 4) {
      const e = await exactPlacement(problem, 'latency', 20);
      if (e.status === 'Optimal' && e.placement && !e.placement.includes(-1)) {
        const s = simulate(problem, e.placement);
        if (fits(problem, s)) {
          const gap = r.predicted.latency / s.latency - 1;
          gaps.push(gap);
          exact = `${(gap * 100).toFixed(2)}%`;
        }
      } else exact = e.status;
    }
    rows.push([
      name,
      fleet.name,
      String(problem.tasks.length),
      fmt(r.predicted.latency),
      fmt(r.baseline.latency) + (r.baseline.fits ? '' : ' (OOM)'),
      `${speedup.toFixed(2)}×`,
      exact,
      `${ms.toFixed(0)} ms, ${r.method}, ${r.devices.filter((d) => d.ops > 0).length} dev`,
    ]);
  }
}

const header = ['model', 'fleet', 'segs', 'fleetc', 'greedy', 'speedup', 'vs MILP', 'search'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log(line(header));
for (const r of rows) console.log(line(r));
const geomean = Math.exp(speedups.reduce((a, b) => a + Math.log(b), 0) / speedups.length);
console.log(
  `\npairs: ${speedups.length + baselineOom} planned, ${failures} refused (model does not fit the fleet), ${baselineOom} where the greedy baseline overflows a device's memory (not compared)`,
);
console.log(`geomean predicted-latency improvement over greedy priority: ${geomean.toFixed(2)}× (target ≥ 1.30×)`);
if (gaps.length) {
  const worst = Math.max(...gaps);
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  console.log(
    `vs exact MILP on ${gaps.length} solvable pairs: mean gap ${(mean * 100).toFixed(2)}%, worst ${(worst * 100).toFixed(2)}% (target ≤ 2%)`,
  );
}
