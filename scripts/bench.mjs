#!/usr/bin/env node
// npm run bench — every benchmark, each printed as figures and ratios against a reference
// measured in the same run. `npm run bench -- runtime gemm` runs a subset.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
const BENCHES = {
  inspect: ['inspect time and RSS vs onnxruntime-node session creation', tsx, ['scripts/bench/inspect.mjs']],
  stablehlo: ['StableHLO parse + convert speed and linearity', tsx, ['scripts/bench/stablehlo-parse.mjs']],
  runtime: ['fleetrt vs onnxruntime-node latency per model', tsx, ['scripts/bench/runtime.ts']],
  generate: [
    'decode step vs onnxruntime-node loop on a 32M decoder; tokens/s vs the memory-bandwidth bound',
    tsx,
    ['scripts/bench/generate.ts'],
  ],
  serve: [
    'fleetc serve: 64 concurrent clients on a 2-device fleet vs one at a time, prefix reuse, a small KV pool, faults',
    tsx,
    ['scripts/bench/serve.ts'],
  ],
  gemm: ['SGEMM GFLOP/s against the measured FMA peak', path.join(root, 'native/build/fleetrt_gemm_bench'), []],
  'gemm-kernel': [
    'the SGEMM microkernels alone (AVX2 6×16 for 1–6 rows, AVX-512 12×32; in cache) against the measured FMA peak',
    path.join(root, 'native/build/fleetrt_gemm_bench'),
    ['1', '--kernel'],
  ],
  stream: [
    'few-row matrix products, Transpose and paged attention against memcpy bandwidth',
    path.join(root, 'native/build/fleetrt_stream_bench'),
    [],
  ],
  'stablehlo-model': [
    'BERT-base StableHLO with weights as arguments vs its ONNX twin on onnxruntime-node',
    tsx,
    ['scripts/bench/stablehlo-model.ts'],
  ],
  large: [
    'real-size models vs onnxruntime-node (BERT-base, GPT decode step, CNNs at 224²)',
    tsx,
    ['scripts/bench/large.ts'],
  ],
  partition: ['partition quality vs greedy baseline and MILP', tsx, ['scripts/bench/partition.ts']],
  live: [
    'live re-placement: a cpu device slowed 3× mid-run; steps to re-place, throughput vs the best static plan',
    tsx,
    ['scripts/bench/live.ts'],
  ],
  float: [
    'floating ops (--float) vs the same placement pinned on two cpus of this host; fewer channels, latency',
    tsx,
    ['scripts/bench/float.ts'],
  ],
  calibration: [
    'fleetc tune: predicted vs measured busy and latency before and after calibration, two fleets',
    tsx,
    ['scripts/bench/calibration.ts'],
  ],
};

const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(BENCHES);
let failed = 0;
for (const name of wanted) {
  const b = BENCHES[name];
  if (!b) {
    console.error(`bench: unknown benchmark '${name}' (known: ${Object.keys(BENCHES).join(', ')})`);
    process.exit(1);
  }
  const [title, cmd, args] = b;
  console.log(`\n=== ${name}: ${title}`);
  const script = cmd === tsx && args[0] && path.join(root, args[0]); // a native program's args are not files
  if ((script && !existsSync(script)) || !existsSync(cmd)) {
    console.log(`(not available: ${script && !existsSync(script) ? args[0] : cmd} is missing — run npm install first)`);
    failed++;
    continue;
  }
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
