// Real-size models against onnxruntime-node, same machine, same thread count, interleaved rounds:
// a BERT-base encoder at sequence 7 (every run reads all 440 MB of weights: bound by memory) and
// 128 (bound by compute), one decode step of a 42M-parameter GPT-style decoder with a KV cache,
// torchvision ResNet-18, ResNet-50 and MobileNetV2 at 224×224; MobileNetV2 again while another
// process keeps one CPU busy, and ResNet-50 while one keeps it busy 3 ms of every 6 (as neighbours
// on a shared host do; both runtimes face them). Target per model: ≤ 1.0× ORT's latency. Prints
// the achieved FLOP/s against the SGEMM microbenchmark and the weight bytes read per second
// against memcpy bandwidth, both measured in this run.
// FLOP/s count each conv's direct multiply-adds: the 3×3s that run by Winograd's F(2×2, 3×3) do
// fewer, so a CNN can pass the SGEMM.
// Models: fixtures/gen/export_large_models.py, generated into bench/.cache/models on first use.
// Arguments: case filters (a model name or part of a label). BENCH_BASELINE=<another checkout>
// also times that checkout's fleetrt on the plan its own run of this bench built (its
// bench/.cache/builds, so run the bench there first) in the same rounds: before/after against ORT.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import {
  ROUNDS_NOTE,
  THREADS,
  build,
  ensureModel,
  ortTensor,
  printTable,
  references,
  setExpected,
  setInputs,
  timeInterleaved,
} from './interleave.js';
import { readNpy } from '../../src/util/npy.js';

interface Case {
  label: string;
  model: string;
  set: string;
  dims: Record<string, number>;
  /** timed while another process spins on one CPU: all the time, or 3 ms of every 6 */
  neighbour?: 'busy' | 'bursts';
}

const CASES: Case[] = [
  { label: 'BERT-base seq 7', model: 'bert_base', set: 'seq7', dims: { batch: 1, seq: 7 } },
  { label: 'BERT-base seq 128', model: 'bert_base', set: 'seq128', dims: { batch: 1, seq: 128 } },
  {
    label: 'GPT 42M decode step',
    model: 'gpt_decoder_42m',
    set: 'step',
    dims: { batch: 1, seq: 1, past_seq: 127 },
  },
  { label: 'ResNet-18 224', model: 'resnet18', set: '224', dims: {} },
  { label: 'ResNet-50 224', model: 'resnet50', set: '224', dims: {} },
  { label: 'MobileNetV2 224', model: 'mobilenet_v2', set: '224', dims: {} },
  { label: 'MobileNetV2, 1 CPU busy', model: 'mobilenet_v2', set: '224', dims: {}, neighbour: 'busy' },
  { label: 'ResNet-50, 1 CPU busy in bursts', model: 'resnet50', set: '224', dims: {}, neighbour: 'bursts' },
];

const SPIN = {
  busy: 'for (;;) {}',
  bursts:
    'const spin = () => { const end = Date.now() + 3; while (Date.now() < end) {} setTimeout(spin, 3); }; spin();',
};

/** A process spinning on the last CPU (pinned with taskset where there is one) until killed. */
function neighbour(kind: keyof typeof SPIN): () => void {
  const spin = [process.execPath, '-e', SPIN[kind]];
  const pinned = spawnSync('taskset', ['--version']).status === 0;
  const cmd = pinned ? ['taskset', '-c', String(availableParallelism() - 1), ...spin] : spin;
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: 'ignore' });
  return () => child.kill('SIGKILL');
}

const only = process.argv.slice(2);
const refs = references(false);
const memcpy = refs?.memcpyGBs ?? NaN;
const gemm = refs?.gemmGflops ?? NaN;
console.log(
  `${THREADS} threads each, ${ROUNDS_NOTE}; memcpy ${memcpy.toFixed(1)} GB/s ` +
    `(read + written), SGEMM 1024³ ${gemm.toFixed(1)} GFLOP/s (fleetrt_gemm_bench), same run`,
);
const baselineRoot = process.env.BENCH_BASELINE;
const rows: string[][] = [];
let simd = '?';
for (const c of CASES) {
  if (only.length && !only.some((o) => c.model.includes(o) || c.label.toLowerCase().includes(o.toLowerCase())))
    continue;
  const m = ensureModel(c.model);
  if ('skip' in m) {
    rows.push([c.label, 'skipped', '', '', '', '', '', '', m.skip]);
    continue;
  }
  const { dir, info } = m;
  try {
    const plan = await build(path.join(dir, 'model.onnx'), `${c.model}-${c.set}`, c.dims);
    const inputs = setInputs(dir, c.set, info.inputs);
    const feeds = Object.fromEntries(Object.entries(inputs).map(([n, f]) => [n, ortTensor(readNpy(f))]));
    const basePlan = baselineRoot && path.join(baselineRoot, 'bench/.cache/builds', `${c.model}-${c.set}`, 'plan.json');
    if (basePlan && !existsSync(basePlan)) throw new Error(`no baseline plan ${basePlan}: run the bench there first`);
    const stopNeighbour = c.neighbour ? neighbour(c.neighbour) : undefined;
    const t = await timeInterleaved({
      plan,
      inputs,
      onnx: path.join(dir, 'model.onnx'),
      feeds,
      expected: setExpected(dir, c.set),
      workDir: mkdtempSync(path.join(tmpdir(), `fleetc-large-${c.model}-`)),
      ...(basePlan ? { baseline: { plan: basePlan, fleetrt: path.join(baselineRoot!, 'native/build/fleetrt') } } : {}),
    }).finally(() => stopNeighbour?.());
    simd = t.simd;
    const flops = info.sets[c.set]!.flops;
    const gflops = flops / (t.fleetMs / 1e3) / 1e9;
    const gbs = info.weight_bytes / (t.fleetMs / 1e3) / 1e9;
    const ratio = t.fleetMs / t.ortMs;
    rows.push([
      c.label,
      `${t.fleetMs.toFixed(2)} ms`,
      `${t.ortMs.toFixed(2)} ms`,
      `${ratio.toFixed(2)}× ${ratio <= 1.0 ? 'ok' : 'MISS'}`,
      `${t.ratio.toFixed(2)}×`,
      `${gflops.toFixed(1)} (${((100 * gflops) / gemm).toFixed(0)}%)`,
      `${gbs.toFixed(1)} (${((100 * gbs) / memcpy).toFixed(0)}%)`,
      t.maxRelErr.toExponential(1),
      `${(info.params / 1e6).toFixed(1)}M params, ${t.rounds} rounds`,
      ...(t.baselineMs !== undefined
        ? [
            `${t.baselineMs.toFixed(2)} ms = ${t.baselineRatio!.toFixed(2)}× ORT, this/baseline ${t.vsBaseline!.toFixed(3)}`,
          ]
        : []),
    ]);
  } catch (e) {
    rows.push([c.label, 'error', '', '', '', '', '', '', (e as Error).message.split('\n')[0]!.slice(0, 100)]);
  }
}
console.log(
  `fleetrt kernels: ${simd}; target ≤ 1.0× ORT (fleetrt/ORT: of the medians of all runs; paired: the ` +
    `median over rounds of the ratio of the round's medians, which a slow spell of the machine moves less)`,
);
printTable(
  [
    'model',
    'fleetrt p50',
    'ORT p50',
    'fleetrt/ORT',
    'paired',
    'GFLOP/s (% of SGEMM)',
    'weights GB/s (% of memcpy)',
    'max rel err',
    '',
    ...(baselineRoot ? ['baseline (BENCH_BASELINE)'] : []),
  ],
  rows,
);
