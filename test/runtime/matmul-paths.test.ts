/**
 * The matrix-product and Transpose paths that real-size models take and the small fixtures do not:
 * few-row products that stream B (K×N MatMul, N×K Gemm transB, float16/bfloat16 weights read in
 * place, split over two threads, a constant K×N B copied N×K once for 3–8 rows, row counts on both
 * sides of the switch to the packed GEMM),
 * com.microsoft FusedMatMul with transposed operands, blocked Transposes of odd sizes, and a
 * same-shape binary op split within its one row. Each output is checked against a float64
 * reference computed here, with the best code the CPU has (AVX-512 / AVX2), with
 * FLEETRT_SIMD=avx2 and with FLEETRT_PORTABLE=1. Sizes are odd (K = 301, N = 999) so every
 * vector loop has a tail.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../fixtures/gen/onnx_builder.mjs';
import { compile } from '../../src/api/compile.js';
import { run } from '../../src/api/run.js';
import { writeNpy } from '../../src/util/npy.js';
import { haveFleetrt } from '../../runtime/fleetrt.js';
import { readNpy } from '../npy.js';
import { SIMD_VARIANTS } from '../helpers/simd-variants.js';

const K = 301;
const N = 999;

/** Values k/1024 with |k| ≤ 512: exact in float16 and float32 (bfloat16: k/256, |k| ≤ 128). */
function values(n: number, seed: number, step = 1024, span = 512): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (((s >>> 8) % (2 * span + 1)) - span) / step;
  });
}

/** float16 code of a value that float16 holds exactly (normal or zero). */
function halfCode(v: number): number {
  if (v === 0) return 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  return sign | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
}
const bf16Code = (v: number): number => new Uint32Array(Float32Array.of(v).buffer)[0]! >>> 16;

/** C[m×n] = alpha · op(A) · op(B) (+ bias per column), in float64. */
function reference(
  a: Float64Array,
  b: Float64Array,
  m: number,
  n: number,
  k: number,
  o: { ta?: boolean; tb?: boolean; alpha?: number; bias?: Float64Array } = {},
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (o.ta ? a[p * m + i]! : a[i * k + p]!) * (o.tb ? b[j * k + p]! : b[p * n + j]!);
      c[i * n + j] = (o.alpha ?? 1) * s + (o.bias?.[j] ?? 0);
    }
  return c;
}

/** erf in float64: its Taylor series below 4 (terms up to e^16: 1e-9 lost to cancellation), ±1 above. */
function erf(x: number): number {
  if (Math.abs(x) >= 4) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

function permute(x: Float64Array, shape: number[], perm: number[]): Float64Array {
  const st = shape.map((_, i) => shape.slice(i + 1).reduce((p, d) => p * d, 1));
  const os = perm.map((p) => shape[p]!);
  const out = new Float64Array(x.length);
  const idx = os.map(() => 0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    perm.forEach((p, i) => (src += idx[i]! * st[p]!));
    out[o] = x[src]!;
    for (let d = os.length - 1; d >= 0 && ++idx[d]! === os[d]; d--) idx[d] = 0;
  }
  return out;
}

interface Case {
  name: string;
  want: Float64Array;
  shape: number[];
  /** tolerance relative to the largest |want| */
  tol: number;
}

function buildModel(dir: string): { file: string; inputs: Record<string, string>; cases: Case[] } {
  const g = new GraphBuilder('matmul_paths');
  const inputs: Record<string, string> = {};
  const addInput = (name: string, shape: number[], data: Float64Array): string => {
    g.input(name, 'float32', shape);
    inputs[name] = join(dir, `${name}.npy`);
    writeNpy(inputs[name]!, '<f4', shape, data);
    return name;
  };
  const cases: Case[] = [];
  const out = (name: string, value: string, want: Float64Array, shape: number[], tol = 1e-5): void => {
    g.op('Identity', [value], {}, [name]);
    g.output(name, 'float32', shape);
    cases.push({ name, want, shape, tol });
  };
  const f32 = (name: string, dims: number[], v: Float64Array): string =>
    g.initializer(name, dims, 'float32', Float32Array.from(v));
  const half = (name: string, dims: number[], v: Float64Array, bf = false): string =>
    g.initializer(name, dims, bf ? 'bfloat16' : 'float16', Uint16Array.from(v, bf ? bf16Code : halfCode));
  const cast = (x: string, to: number): string => g.op('Cast', [x], { to });
  /** Transpose of `input` (values x of `shape`) by perm, checked exactly. */
  const transposed = (name: string, input: string, x: Float64Array, shape: number[], perm: number[]): void =>
    out(
      name,
      g.op('Transpose', [input], { perm }),
      permute(x, shape, perm),
      perm.map((p) => shape[p]!),
      0,
    );

  const x5 = values(5 * K, 1);
  const x48 = values(48 * K, 2);
  const x128 = values(128 * K, 3);
  const w = values(K * N, 4); // K×N
  const wt = values(N * K, 5); // N×K
  const bias = values(N, 6);
  const wbf = values(K * N, 7, 256, 128);
  addInput('x5', [5, K], x5);
  addInput('x48', [48, K], x48);
  addInput('x128', [128, K], x128);
  const W = f32('W', [K, N], w);
  const WT = f32('WT', [N, K], wt);

  // one and two rows (a decode step): the threads split K
  const x1 = values(K, 12);
  const x2 = values(2 * K, 13);
  addInput('x1', [1, K], x1);
  addInput('x2', [2, K], x2);
  out('mm_nn_m1', g.op('MatMul', ['x1', W]), reference(x1, w, 1, N, K), [1, N]);
  out(
    'gemm_nn_m2_bias',
    g.op('Gemm', ['x2', W, f32('bias2', [N], bias)], { beta: 0.5 }),
    reference(x2, w, 2, N, K, { bias: bias.map((v) => 0.5 * v) }),
    [2, N],
  );
  out(
    'mm_nn_m1_f16',
    cast(g.op('MatMul', [cast('x1', 10), half('Wh1', [K, N], w)]), 1),
    reference(x1, w, 1, N, K),
    [1, N],
    2e-3,
  );
  out('mm_nn_m5', g.op('MatMul', ['x5', W]), reference(x5, w, 5, N, K), [5, N]);
  out('mm_nn_m48', g.op('MatMul', ['x48', W]), reference(x48, w, 48, N, K), [48, N]);
  out('mm_nn_m128', g.op('MatMul', ['x128', W]), reference(x128, w, 128, N, K), [128, N]);
  // A's rows 4 KiB apart (K = 1024): they would share one set of L1, so the threads' column split
  // packs A rather than reading it where it lies
  const K4 = 1024;
  const x128k = values(128 * K4, 14);
  const w4 = values(K4 * 75, 15);
  addInput('x128k', [128, K4], x128k);
  out(
    'mm_nn_m128_rows4k',
    g.op('MatMul', ['x128k', f32('W4', [K4, 75], w4)]),
    reference(x128k, w4, 128, 75, K4),
    [128, 75],
  );
  out(
    'gemm_nt_m5',
    g.op('Gemm', ['x5', WT, f32('bias', [N], bias)], { transB: 1 }),
    reference(x5, wt, 5, N, K, { tb: true, bias }),
    [5, N],
  );
  out('gemm_nt_m48', g.op('Gemm', ['x48', WT], { transB: 1 }), reference(x48, wt, 48, N, K, { tb: true }), [48, N]);
  // B an input, not a constant (weights as arguments: nothing is packed ahead), as the StableHLO
  // path runs it: eight rows (the most the AVX-512 loops take in one pass), five and two
  const x8 = values(8 * K, 14);
  addInput('x8', [8, K], x8);
  addInput('WTin', [N, K], wt);
  out('nt_in_m8', g.op('Gemm', ['x8', 'WTin'], { transB: 1 }), reference(x8, wt, 8, N, K, { tb: true }), [8, N]);
  out('nt_in_m5', g.op('Gemm', ['x5', 'WTin'], { transB: 1 }), reference(x5, wt, 5, N, K, { tb: true }), [5, N]);
  out('nt_in_m2', g.op('Gemm', ['x2', 'WTin'], { transB: 1 }), reference(x2, wt, 2, N, K, { tb: true }), [2, N]);
  addInput('Win', [K, N], w);
  out('nn_in_m8', g.op('MatMul', ['x8', 'Win']), reference(x8, w, 8, N, K), [8, N]);
  out('nn_in_m5', g.op('MatMul', ['x5', 'Win']), reference(x5, w, 5, N, K), [5, N]);
  // float16 / bfloat16 weights (the result is rounded to 16 bits, hence the tolerance)
  const x5h = cast('x5', 10);
  out('mm_nn_f16', cast(g.op('MatMul', [x5h, half('Wh', [K, N], w)]), 1), reference(x5, w, 5, N, K), [5, N], 2e-3);
  out(
    'gemm_nt_f16',
    cast(g.op('Gemm', [x5h, half('WTh', [N, K], wt)], { transB: 1 }), 1),
    reference(x5, wt, 5, N, K, { tb: true }),
    [5, N],
    2e-3,
  );
  const x5b = values(5 * K, 11, 256, 128);
  addInput('x5b', [5, K], x5b);
  out(
    'mm_nn_bf16',
    cast(g.op('MatMul', [cast('x5b', 16), half('Wbf', [K, N], wbf, true)]), 1),
    reference(x5b, wbf, 5, N, K),
    [5, N],
    1e-2,
  );
  const wtbf = values(N * K, 15, 256, 128);
  addInput('WTbf', [N, K], wtbf);
  out(
    'nt_in_bf16',
    cast(g.op('Gemm', [cast('x5b', 16), cast('WTbf', 16)], { transB: 1 }), 1),
    reference(x5b, wtbf, 5, N, K, { tb: true }),
    [5, N],
    1e-2,
  );
  out('nn_in_f16', cast(g.op('MatMul', [x5h, cast('Win', 10)]), 1), reference(x5, w, 5, N, K), [5, N], 2e-3);
  out(
    'nt_in_f16',
    cast(g.op('Gemm', [x5h, cast('WTin', 10)], { transB: 1 }), 1),
    reference(x5, wt, 5, N, K, { tb: true }),
    [5, N],
    2e-3,
  );
  // FusedMatMul: A stored [2, K, 5] (transA), B stored [2, 33, K] (transB), alpha
  const a3 = values(2 * K * 5, 8);
  const b3 = values(2 * 33 * K, 9);
  addInput('a3', [2, K, 5], a3);
  const fused = g.op(
    'FusedMatMul',
    ['a3', f32('b3', [2, 33, K], b3)],
    { transA: 1, transB: 1, alpha: 0.5 },
    1,
    'com.microsoft',
  );
  const wantFused = new Float64Array(2 * 5 * 33);
  for (let b = 0; b < 2; b++)
    wantFused.set(
      reference(a3.subarray(b * K * 5, (b + 1) * K * 5), b3.subarray(b * 33 * K, (b + 1) * 33 * K), 5, 33, K, {
        ta: true,
        tb: true,
        alpha: 0.5,
      }),
      b * 5 * 33,
    );
  out('fused_ta_tb', fused, wantFused, [2, 5, 33]);
  // MatMul + bias + GELU in the erf form torch exports, fused: the kernel applies GELU in
  // registers to whole 16-column blocks, the epilogue to the last 7 columns; 23 rows (the kernel
  // that streams B, a 5-row panel at the bottom) and 128 (a 2-row one). Biases up to ±32 take
  // erf's argument past the point where it rounds to ±1.
  const biasGelu = values(N, 16, 16, 512);
  const [sqrt2, one, halfC] = [[Math.SQRT2], [1], [0.5]].map((v, i) => f32(`gelu_c${i}`, [], Float64Array.from(v)));
  const x23 = values(23 * K, 17);
  addInput('x23', [23, K], x23);
  for (const [rows, x] of [
    [23, 'x23'],
    [128, 'x128'],
  ] as const) {
    const h = g.op('Add', [f32(`bias_gelu${rows}`, [N], biasGelu), g.op('MatMul', [x, W])]);
    const e1 = g.op('Add', [g.op('Erf', [g.op('Div', [h, sqrt2])]), one]);
    const want = reference(rows === 23 ? x23 : x128, w, rows, N, K, { bias: biasGelu }).map(
      (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
    );
    out(`fused_gelu_m${rows}`, g.op('Mul', [g.op('Mul', [h, e1]), halfC]), want, [rows, N]);
  }
  // Transposes: 2-D and 4-D, float32 and float16, sizes that are not multiples of the tiles
  const t4 = values(3 * 33 * 17 * 70, 10);
  addInput('t4', [3, 33, 17, 70], t4);
  transposed('transpose_2d', 'x128', x128, [128, K], [1, 0]);
  // source rows 4 KiB apart, all in one L1 set: the blocks read each source line twice in a row
  const t1k = values(40 * 1024, 18);
  addInput('t1k', [40, 1024], t1k);
  transposed('transpose_2d_4k_rows', 't1k', t1k, [40, 1024], [1, 0]);
  transposed('transpose_0231', 't4', t4, [3, 33, 17, 70], [0, 2, 3, 1]);
  // the innermost axis kept: runs of 70 floats (280 bytes, not a multiple of the 64-byte copies)
  transposed('transpose_0213', 't4', t4, [3, 33, 17, 70], [0, 2, 1, 3]);
  out(
    'transpose_f16_3102',
    cast(g.op('Transpose', [cast('t4', 10)], { perm: [3, 1, 0, 2] }), 1),
    permute(t4, [3, 33, 17, 70], [3, 1, 0, 2]),
    [70, 33, 3, 17],
    0,
  );
  // runs copied reading the source in order (24 floats, the four outer axes written in another
  // order), and in the output's order: runs the output reads two lines apart in the source
  // (16 floats, every other one), runs shorter than a line (5 floats)
  const runCases: [string, number[], number[]][] = [
    ['transpose_runs_5d', [4, 5, 6, 7, 24], [2, 0, 3, 1, 4]],
    ['transpose_runs_near', [3, 33, 2, 16], [0, 2, 1, 3]],
    ['transpose_runs_short', [6, 10, 9, 5], [2, 0, 1, 3]],
  ];
  runCases.forEach(([name, shape, perm], i) => {
    const count = shape.reduce((n, d) => n * d, 1);
    const x = values(count, 14 + i);
    transposed(name, addInput(`runs${i}`, shape, x), x, shape, perm);
  });
  // 4.4 MB out, streamed (FLEETRT_STREAM_BYTES is 4 MiB below; rows a multiple of 16 floats), with
  // partial tiles and 16×16 blocks on the other side
  const tl = values(1008 * 1100, 12);
  addInput('tl', [1008, 1100], tl);
  transposed('transpose_2d_stream', 'tl', tl, [1008, 1100], [1, 0]);
  // 4.4 MB out in runs of 64 floats, streamed, each run from 41 KiB further on in the source
  const t3 = values(105 * 165 * 64, 13);
  addInput('t3', [105, 165, 64], t3);
  transposed('transpose_runs_stream', 't3', t3, [105, 165, 64], [1, 0, 2]);
  // a same-shape binary op is one broadcast row: 1.1M elements cut into pieces over the threads
  out('add_one_row', g.op('Sub', [g.op('Add', ['tl', 'tl']), 'tl']), tl, [1008, 1100], 0);
  const file = join(dir, 'model.onnx');
  writeFileSync(file, g.encode({ opset: 17, domains: { 'com.microsoft': 1 } }));
  return { file, inputs, cases };
}

describe.skipIf(!haveFleetrt())('few-row products, FusedMatMul and Transpose on real-size shapes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetc-matmul-paths-'));
  const model = buildModel(dir);
  SIMD_VARIANTS.forEach(([name, env], v) =>
    it(name, { timeout: 120_000 }, async () => {
      const c = await compile(model.file, join(dir, `build${v}`), { report: false, force: true });
      // two runs: the second reads the weights MatMul/Gemm packed in the first (the outputs are the last run's)
      const r = await run(c.planPath, {
        inputs: model.inputs,
        outputDir: join(dir, `out${v}`),
        threads: 2,
        repeat: 2,
        env: { ...env, FLEETRT_STREAM_BYTES: String(4 << 20) },
      });
      for (const want of model.cases) {
        const o = r.outputs.find((x) => x.name === want.name);
        expect(o, want.name).toBeDefined();
        const got = readNpy(o!.file);
        expect(got.shape, want.name).toEqual(want.shape);
        const scale = want.want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        let worst = 0;
        for (let i = 0; i < got.data.length; i++) worst = Math.max(worst, Math.abs(got.data[i]! - want.want[i]!));
        expect(worst / scale, want.name).toBeLessThanOrEqual(want.tol);
      }
    }),
  );
});
