// StableHLO frontend speed: parse + convert a generated module of 50,000 ops in at most 2 s, and
// show that the time is linear in size (4× the ops in at most 4.4× the time). Run through tsx
// (npm run bench -- stablehlo) so that it imports the TypeScript sources directly.
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import { performance } from 'node:perf_hooks';
import { moduleToIR } from '../../src/frontends/stablehlo/convert.js';
import { parseMLIR } from '../../src/frontends/stablehlo/parser.js';

const T = 'tensor<4x8xf32>';

/**
 * A JAX-like module of about `ops` ops: a chain of blocks mixing pretty and generic forms,
 * broadcast_in_dim, dot_general, element-wise ops, a reduce with a region and loc() annotations.
 */
export function generate(ops) {
  const lines = [
    '#loc1 = loc("model.py":1:0)',
    'module @jit_bench attributes {mhlo.num_partitions = 1 : i32} {',
    `  func.func public @main(%arg0: ${T}, %arg1: tensor<8x8xf32>) -> (${T} {jax.result_info = "out"}) {`,
    '    %c = stablehlo.constant dense<1.500000e+00> : tensor<f32>',
    '    %z = stablehlo.constant dense<0.000000e+00> : tensor<f32>',
  ];
  let prev = '%arg0';
  let n = 2;
  for (let i = 0; n < ops; i++) {
    lines.push(
      `    %b${i} = stablehlo.broadcast_in_dim %c, dims = [] : (tensor<f32>) -> ${T}`,
      `    %a${i} = stablehlo.add ${prev}, %b${i} : ${T} loc(#loc1)`,
      `    %d${i} = stablehlo.dot_general %a${i}, %arg1, contracting_dims = [1] x [0], precision = [DEFAULT, DEFAULT] : (${T}, tensor<8x8xf32>) -> ${T}`,
      `    %t${i} = stablehlo.tanh %d${i} : ${T}`,
      `    %g${i} = "stablehlo.multiply"(%t${i}, %a${i}) : (${T}, ${T}) -> ${T} loc("blk${i}")`,
      `    %r${i} = stablehlo.reduce(%g${i} init: %z) applies stablehlo.add across dimensions = [1] : (${T}, tensor<f32>) -> tensor<4xf32>`,
      `    %e${i} = stablehlo.broadcast_in_dim %r${i}, dims = [0] : (tensor<4xf32>) -> ${T}`,
      `    %s${i} = stablehlo.subtract %g${i}, %e${i} : ${T}`,
    );
    prev = `%s${i}`;
    n += 8;
  }
  lines.push(`    return ${prev} : ${T}`, '  }', '}', '');
  return { text: lines.join('\n'), ops: n };
}

/**
 * Parse and convert once. Both wall time and process CPU time (user + system) are measured: on a
 * shared machine the wall time mostly measures the other processes, so the limits apply to CPU.
 */
// Collect the previous run's garbage before each timed run, so a run pays for its own only.
v8.setFlagsFromString('--expose_gc');
const gc = vm.runInNewContext('gc');

function timeOnce(text) {
  gc();
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const w0 = performance.now();
  const c0 = cpu();
  const mod = parseMLIR(text, 'bench.mlir');
  const c1 = cpu();
  const g = moduleToIR(mod);
  const c2 = cpu();
  const w2 = performance.now();
  return { parse: c1 - c0, convert: c2 - c1, total: c2 - c0, wall: w2 - w0, irOps: g.ops().length };
}

function best(text, runs) {
  let b;
  for (let i = 0; i < runs; i++) {
    const r = timeOnce(text);
    if (!b || r.total < b.total) b = r;
  }
  return b;
}

const small = generate(12_500);
const big = generate(50_000);
best(generate(2_000).text, 2); // warm up the JIT
const s = best(small.text, 5);
const b = best(big.text, 5);
const ratio = b.total / s.total;
const fmt = (x) => `${x.toFixed(0)} ms`;
console.log('module  ops     MLIR bytes  parse cpu  convert cpu  total cpu  wall       IR ops');
for (const [name, m, r] of [
  ['small', small, s],
  ['big', big, b],
])
  console.log(
    `${name.padEnd(7)} ${String(m.ops).padEnd(7)} ${String(m.text.length).padEnd(11)} ${fmt(r.parse).padEnd(10)} ${fmt(r.convert).padEnd(12)} ${fmt(r.total).padEnd(10)} ${fmt(r.wall).padEnd(10)} ${r.irOps}`,
  );
const sizeRatio = big.ops / small.ops;
console.log(`load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`);
console.log(
  `size ×${sizeRatio.toFixed(2)} → CPU time ×${ratio.toFixed(2)} (limit ×${(sizeRatio * 1.1).toFixed(2)}); ${big.ops} ops in ${fmt(b.total)} CPU (limit 2000 ms)`,
);
const ok = b.total <= 2000 && ratio <= sizeRatio * 1.1;
console.log(ok ? 'PASS' : 'FAIL');
process.exitCode = ok ? 0 : 1;
