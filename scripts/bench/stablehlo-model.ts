// A BERT-base encoder as StableHLO with its weights as function arguments (the PyTorch/XLA form:
// a stablehlo.transpose of every Linear weight before its dot_general), run by fleetrt against the
// same module exported to ONNX and run by onnxruntime-node, interleaved, same threads. Target:
// ≤ 1.3× ORT's latency. Also: the GFLOP/s of its matrix products (traced in the timed runs) against the
// SGEMM microbenchmark, and the Transpose kernel alone against memcpy (target ≥ 50%).
// Model: fixtures/gen/export_large_models.py (bert_base_shlo), generated into bench/.cache/models.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  REPEAT,
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

const MATMUL_OPS = new Set(['MatMul', 'Gemm', 'FusedMatMul', 'Einsum', 'dot_general']);

const refs = references();
const memcpy = refs?.memcpyGBs ?? NaN;
const gemm = refs?.gemmGflops ?? NaN;
console.log(
  `${THREADS} threads; memcpy ${memcpy.toFixed(1)} GB/s (read + written), SGEMM 1024³ ${gemm.toFixed(1)} GFLOP/s, same run`,
);

const m = ensureModel('bert_base_shlo');
if ('skip' in m) {
  console.log(`BERT-base StableHLO: skipped (${m.skip})`);
} else {
  const { dir, info } = m;
  const work = mkdtempSync(path.join(tmpdir(), 'fleetc-shlo-bert-'));
  const plan = await build(path.join(dir, 'model.mlir'), 'bert_base_shlo');
  const inputs = setInputs(dir, 'seq7', info.mlir_inputs ?? []);
  const onnxInputs = setInputs(dir, 'seq7', info.inputs);
  const feeds = Object.fromEntries(Object.entries(onnxInputs).map(([n, f]) => [n, ortTensor(readNpy(f))]));
  const t = await timeInterleaved({
    plan,
    inputs,
    onnx: path.join(dir, 'model.onnx'),
    feeds,
    expected: setExpected(dir, 'seq7'),
    workDir: work,
    traceOps: MATMUL_OPS,
  });
  const mmMs = t.opsMs ?? NaN;
  const flops = info.sets['seq7']!.flops;
  const mmGflops = flops / (mmMs / 1e3) / 1e9;
  const ratio = t.fleetMs / t.ortMs;
  console.log(
    `BERT-base StableHLO, weights as ${(info.mlir_inputs ?? []).length - 2} arguments (${(info.weight_bytes / 1e6).toFixed(0)} MB), ` +
      `sequence 7, fleetrt kernels ${t.simd}, ${t.rounds} interleaved rounds × ${REPEAT} runs`,
  );
  printTable(
    ['', 'fleetrt p50', 'ORT p50 (ONNX twin)', 'fleetrt/ORT', 'paired', 'target'],
    [
      [
        'latency',
        `${t.fleetMs.toFixed(2)} ms`,
        `${t.ortMs.toFixed(2)} ms`,
        `${ratio.toFixed(2)}×`,
        `${t.ratio.toFixed(2)}×`,
        `≤ 1.3× ${ratio <= 1.3 ? 'ok' : 'MISS'}`,
      ],
    ],
  );
  console.log(
    `matrix products: ${mmMs.toFixed(2)} ms per run, ${mmGflops.toFixed(1)} GFLOP/s = ${((100 * mmGflops) / gemm).toFixed(0)}% of SGEMM 1024³ ` +
      `(${(info.weight_bytes / (mmMs / 1e3) / 1e9).toFixed(1)} GB/s of weights = ${((100 * info.weight_bytes) / (mmMs / 1e3) / 1e9 / memcpy).toFixed(0)}% of memcpy); ` +
      `max rel err vs torch ${t.maxRelErr.toExponential(1)}`,
  );
}

if (refs) {
  console.log(
    'Transpose kernel alone (fleetrt_stream_bench), bytes read + written per second, target ≥ 50% of memcpy:',
  );
  const rows = refs.stream
    .filter((s) => s.kind === 'transpose')
    .map((s) => [
      s.name ?? '',
      `${s.gbps.toFixed(1)} GB/s`,
      `${(100 * (s.ratio ?? 0)).toFixed(0)}% ${(s.ratio ?? 0) >= 0.5 ? 'ok' : 'MISS'}`,
      s.ok === false ? 'WRONG RESULT' : '',
    ]);
  printTable(['permutation', 'Transpose', '% of memcpy', ''], rows);
}
