// Where a model's time goes against onnxruntime-node, op by op: ORT's profiler and fleetrt's trace
// taken in alternate rounds of one process (a fresh ORT session per round, then fleetrt on the
// same input), each op's time the median of its runs in a round, and per op the median over
// rounds of the fleetrt/ORT ratio, which the host's slow spells move less than the times. ORT
// renames the nodes it fuses or converts to its blocked layout after their output (`…_nchwc`);
// an ORT node is matched to the fleetrt op with its name, its name + `_output_0`, or one of its
// outputs, or else (a node of the model that one of fleetc's fusions absorbed) to the op that
// computes its first result left in the compiled graph, and counted apart where none fits (ORT's
// own fusions and layout reorders). Each node's time is ORT's kernel time (the profiler's own
// overhead adds some to every one of them, none to the trace).
//
//   npx tsx scripts/bench/ort-ops.ts MODEL [--set SET] [--threads N] [--rounds N] [--runs N] [--top N]
//   MODEL: a model of the large-model section (resnet50, mobilenet_v2, bert_base, …: its cached
//   export and the set's inputs), or a .onnx file with --input NAME=FILE.npy for each input.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { compileGraph } from '../../src/api/compile.js';
import { loadGraph } from '../../src/api/load.js';
import { parseInputs, run } from '../../src/api/run.js';
import { readNpy } from '../../src/util/npy.js';
import type { IRGraph } from '../../src/ir/graph.js';
import { ensureModel, ortTensor, printTable, setInputs } from './interleave.js';

const { positionals, values: flags } = parseArgs({
  allowPositionals: true,
  options: {
    set: { type: 'string' },
    input: { type: 'string', multiple: true, default: [] },
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '6' },
    runs: { type: 'string', default: '12' },
    top: { type: 'string', default: '40' },
  },
});
const model = positionals[0];
if (!model) {
  console.error(
    'usage: ort-ops.ts MODEL [--set SET] [--input NAME=FILE]... [--threads N] [--rounds N] [--runs N] [--top N]',
  );
  process.exit(2);
}
const inputs = parseInputs(flags.input);
let set = flags.set;
const [threads, rounds, runs, top] = [flags.threads, flags.rounds, flags.runs, flags.top].map(Number) as [
  number,
  number,
  number,
  number,
];

let modelFile = model;
const dims: Record<string, number> = {};
if (!model.endsWith('.onnx')) {
  const m = ensureModel(model);
  if ('skip' in m) throw new Error(m.skip);
  set ??= Object.keys(m.info.sets)[0]!;
  const shapes = m.info.sets[set]?.shapes;
  if (!shapes) throw new Error(`${model} has no set '${set}' (${Object.keys(m.info.sets).join(', ')})`);
  modelFile = path.join(m.dir, 'model.onnx');
  Object.assign(inputs, setInputs(m.dir, set, m.info.inputs));
}
if (!Object.keys(inputs).length) throw new Error('give the inputs: --input NAME=FILE.npy …');

const arrays = Object.fromEntries(Object.entries(inputs).map(([name, file]) => [name, readNpy(file)]));
const work = mkdtempSync(path.join(tmpdir(), 'fleetc-ort-ops-'));
const graph = await loadGraph(modelFile);
for (const v of graph.inputs)
  graph.value(v).shape?.forEach((d, k) => {
    if (typeof d === 'string') dims[d] = arrays[v]!.shape[k]!;
  });
// The model's dataflow before compiling rewrites it (for the nodes that fleetc's fusions absorb):
// each node's outputs, and each value's readers' outputs.
const nodeOutputs = new Map(graph.ops().map((id) => [graph.op(id).name, graph.opOutputs(id)]));
const nextValues = new Map<string, string[]>();
for (const id of graph.ops())
  for (const v of graph.opInputs(id)) if (v) nextValues.set(v, [...(nextValues.get(v) ?? []), ...graph.opOutputs(id)]);
const compiled = await compileGraph(graph, path.join(work, 'build'), { dims, force: true, report: false }, modelFile);
const opIds = new Map(graph.ops().map((id) => [graph.op(id).name, id]));

/**
 * The fleetrt op an ORT node stands for: the op of that name (or whose name + `_output_0`, or one
 * of whose outputs, ORT's node is named after); else, for a node of the model that a fusion
 * absorbed, the fleetrt op that computes the first of its results still in the compiled graph
 * (a fused attention's Softmax goes to the attention op).
 */
function ortToOurs(g: IRGraph): (node: string) => string | undefined {
  const byKey = new Map<string, string>();
  for (const id of g.ops()) {
    const op = g.op(id);
    byKey.set(op.name, op.name);
    byKey.set(`${op.name}_output_0`, op.name);
    for (const out of g.opOutputs(id)) byKey.set(out, op.name);
  }
  const absorbedInto = (name: string): string | undefined => {
    const seen = new Set<string>();
    const queue = [...(nodeOutputs.get(name) ?? [])];
    for (let v = queue.shift(); v !== undefined; v = queue.shift()) {
      if (seen.has(v)) continue;
      seen.add(v);
      const use = g.hasValue(v) ? g.producer(v) : undefined;
      if (use) return g.op(use.op).name;
      queue.push(...(nextValues.get(v) ?? []));
    }
    return undefined;
  };
  return (node) => {
    const name = node
      .replace(/_kernel_time$/, '')
      .replace(/_nchwc$/, '')
      .replace(/^fused /, '');
    if (!byKey.has(name)) {
      const ours = absorbedInto(name);
      if (ours) byKey.set(name, ours);
    }
    return byKey.get(name);
  };
}
const match = ortToOurs(graph);

/** A conv's shape in a few words (`3×3 s2`, `1×1`, `3×3 dw`), else the op type. */
function kind(g: IRGraph, name: string): string {
  const id = opIds.get(name);
  if (id === undefined) return '';
  const op = g.op(id);
  if (!/Conv/.test(op.opType)) return op.opType;
  const w = g.value(g.opInputs(id)[1]!).shape;
  const ints = (k: string): number[] | undefined => {
    const a = op.attrs[k];
    return a?.type === 'ints' ? a.value : undefined;
  };
  const k = w?.slice(2).join('×') ?? '?';
  const stride = Math.max(...(ints('strides') ?? [1]));
  const group = op.attrs.group?.type === 'int' ? op.attrs.group.value : 1;
  return `${op.opType} ${k}${stride > 1 ? ` s${stride}` : ''}${group > 1 && w?.[1] === 1 ? ' dw' : ''}`;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const feeds = Object.fromEntries(Object.entries(arrays).map(([name, a]) => [name, ortTensor(a)]));

// per op: its time in each round (µs), ORT's and fleetrt's
const ortTimes = new Map<string, number[]>();
const ourTimes = new Map<string, number[]>();
const unmatched = new Map<string, number[]>();
const totals: { ort: number; ours: number }[] = [];
const push = (m: Map<string, number[]>, k: string, v: number): void => void m.set(k, [...(m.get(k) ?? []), v]);
for (let r = 0; r < rounds; r++) {
  const prefix = path.join(work, `ort${r}`);
  const s = await ort.InferenceSession.create(modelFile, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    enableProfiling: true,
    profileFilePrefix: prefix,
  });
  for (let i = 0; i < runs + 2; i++) await s.run(feeds);
  s.endProfiling();
  await s.release();
  const file = readdirSync(work).find((f) => f.startsWith(`ort${r}_`) && f.endsWith('.json'));
  if (!file) throw new Error('onnxruntime wrote no profile');
  const perNode = new Map<string, number[]>();
  for (const e of JSON.parse(readFileSync(path.join(work, file), 'utf8')) as {
    cat?: string;
    name: string;
    dur: number;
  }[])
    if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) push(perNode, e.name, e.dur);
  const ortRound = new Map<string, number>();
  let ortSum = 0;
  for (const [node, d] of perNode) {
    const t = median(d.slice(2)); // the first two runs warm up
    ortSum += t;
    const ours = match(node);
    if (ours) ortRound.set(ours, (ortRound.get(ours) ?? 0) + t);
    else push(unmatched, node.replace(/_kernel_time$/, ''), t);
  }

  const trace = path.join(work, `trace${r}.json`);
  await run(compiled.planPath, { inputs, outputDir: path.join(work, 'out'), repeat: runs, warmup: 2, threads, trace });
  const perOp = new Map<string, number[]>();
  for (const e of (
    JSON.parse(readFileSync(trace, 'utf8')) as {
      traceEvents: { ph: string; name: string; dur: number; args?: { op?: string; depth?: number } }[];
    }
  ).traceEvents)
    if (e.ph === 'X' && e.args?.op && e.args.depth === 0) push(perOp, e.name, e.dur);
  let ourSum = 0;
  for (const [op, d] of perOp) {
    const t = median(d);
    ourSum += t;
    push(ourTimes, op, t);
  }
  for (const [op, t] of ortRound) push(ortTimes, op, t);
  totals.push({ ort: ortSum, ours: ourSum });
}
rmSync(work, { recursive: true, force: true });

const rows = [...ourTimes.keys()].map((op) => {
  const o = ortTimes.get(op);
  const u = ourTimes.get(op)!;
  const ratios = o ? u.map((t, i) => t / o[i]!) : [];
  return { op, kind: kind(graph, op), ort: o ? median(o) : 0, ours: median(u), ratio: o ? median(ratios) : NaN };
});
rows.sort((a, b) => b.ours - b.ort - (a.ours - a.ort));
const us = (v: number): string => (v ? v.toFixed(0) : '–');
console.log(
  `${path.basename(modelFile)}${set ? ` (${set})` : ''}, ${threads} thread${threads === 1 ? '' : 's'}, ${rounds} rounds × ${runs} runs; ` +
    `sum of op times fleetrt/ORT per round: ${totals.map((t) => (t.ours / t.ort).toFixed(2)).join(' ')}`,
);
const byKind = new Map<string, { ort: number; ours: number; n: number }>();
for (const r of rows) {
  const k = byKind.get(r.kind) ?? { ort: 0, ours: 0, n: 0 };
  byKind.set(r.kind, { ort: k.ort + r.ort, ours: k.ours + r.ours, n: k.n + 1 });
}
printTable(
  ['op kind', 'ops', 'ORT µs', 'fleetrt µs', 'fleetrt/ORT'],
  [...byKind]
    .sort((a, b) => b[1].ours - b[1].ort - (a[1].ours - a[1].ort))
    .map(([k, v]) => [k, String(v.n), us(v.ort), us(v.ours), v.ort ? (v.ours / v.ort).toFixed(2) : '–']),
);
if (unmatched.size) {
  const ortOnly = [...unmatched].map(([node, t]) => ({ node, us: median(t) })).sort((a, b) => b.us - a.us);
  const total = ortOnly.reduce((a, b) => a + b.us, 0);
  console.log(
    `ORT nodes matched to no fleetrt op (its own fusions and layout reorders): ${ortOnly.length}, ${total.toFixed(0)} µs; ` +
      ortOnly
        .slice(0, 5)
        .map((o) => `${o.node} ${o.us.toFixed(0)} µs`)
        .join(', ') +
      (ortOnly.length > 5 ? ', …' : ''),
  );
}
console.log('');
printTable(
  ['op', 'kind', 'ORT µs', 'fleetrt µs', 'fleetrt/ORT (median of rounds)'],
  rows
    .slice(0, top)
    .map((r) => [r.op, r.kind, us(r.ort), us(r.ours), Number.isNaN(r.ratio) ? '–' : r.ratio.toFixed(2)]),
);
