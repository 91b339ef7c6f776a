/**
 * dot_general (and dot) on operands as they lie: a Transpose feeding the product is looked through,
 * a stored-transposed operand becomes Gemm transA/transB or FusedMatMul, and only layouts no GEMM
 * takes (batch dims that do not lead, free dims whose order a transpose swapped) keep a Transpose.
 * The forms are those of PyTorch/XLA (weights as arguments, transposed before the product) and JAX
 * (attention with batch dims [0, 2]). Each program also runs in fleetrt against a float64 reference.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/api/compile.js';
import { run } from '../../src/api/run.js';
import { stablehloFromText } from '../../src/frontends/stablehlo/index.js';
import { writeNpy } from '../../src/util/npy.js';
import { haveFleetrt } from '../../runtime/fleetrt.js';
import { readNpy } from '../npy.js';

const T = (...dims: number[]): string => `tensor<${dims.map((d) => `${d}x`).join('')}f32>`;

interface Program {
  name: string;
  /** argument name → shape */
  args: Record<string, number[]>;
  body: string;
  result: number[];
  /** the product's ops (domain-qualified), in order, once dead ops are gone */
  ops: string[];
  /** float64 reference from the argument values */
  reference: (a: Record<string, Float64Array>) => Float64Array;
}

/** out[b][i][j] = Σ_k A(b, i, k) · B(b, k, j) with element accessors. */
function product(
  nb: number,
  m: number,
  n: number,
  k: number,
  a: (b: number, i: number, p: number) => number,
  b: (b: number, p: number, j: number) => number,
): Float64Array {
  const out = new Float64Array(nb * m * n);
  for (let x = 0; x < nb; x++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a(x, i, p) * b(x, p, j);
        out[(x * m + i) * n + j] = s;
      }
  return out;
}

const PROGRAMS: Program[] = [
  {
    name: 'Linear with the weight transposed first (PyTorch/XLA): Gemm transB on the argument',
    args: { x: [7, 48], w: [40, 48] },
    body: `%t = stablehlo.transpose %w, dims = [1, 0] : (${T(40, 48)}) -> ${T(48, 40)}
    %y = stablehlo.dot_general %x, %t, contracting_dims = [1] x [0] : (${T(7, 48)}, ${T(48, 40)}) -> ${T(7, 40)}`,
    result: [7, 40],
    ops: ['Gemm'],
    reference: ({ x, w }) =>
      product(
        1,
        7,
        40,
        48,
        (_, i, p) => x![i * 48 + p]!,
        (_, p, j) => w![j * 48 + p]!,
      ),
  },
  {
    name: 'stablehlo.dot of a transposed weight',
    args: { x: [3, 48], w: [40, 48] },
    body: `%t = stablehlo.transpose %w, dims = [1, 0] : (${T(40, 48)}) -> ${T(48, 40)}
    %y = stablehlo.dot %x, %t : (${T(3, 48)}, ${T(48, 40)}) -> ${T(3, 40)}`,
    result: [3, 40],
    ops: ['Gemm'],
    reference: ({ x, w }) =>
      product(
        1,
        3,
        40,
        48,
        (_, i, p) => x![i * 48 + p]!,
        (_, p, j) => w![j * 48 + p]!,
      ),
  },
  {
    name: '3-D activations against a transposed weight: FusedMatMul transB',
    args: { x: [2, 5, 48], w: [40, 48] },
    body: `%t = stablehlo.transpose %w, dims = [1, 0] : (${T(40, 48)}) -> ${T(48, 40)}
    %y = stablehlo.dot_general %x, %t, contracting_dims = [2] x [0] : (${T(2, 5, 48)}, ${T(48, 40)}) -> ${T(2, 5, 40)}`,
    result: [2, 5, 40],
    ops: ['com.microsoft.FusedMatMul'],
    reference: ({ x, w }) =>
      product(
        1,
        10,
        40,
        48,
        (_, i, p) => x![i * 48 + p]!,
        (_, p, j) => w![j * 48 + p]!,
      ),
  },
  {
    name: 'batched, contracting dim first on the lhs and last on the rhs: FusedMatMul transA transB',
    args: { a: [4, 48, 6], b: [4, 9, 48] },
    body: `%y = stablehlo.dot_general %a, %b, batching_dims = [0] x [0], contracting_dims = [1] x [2] : (${T(4, 48, 6)}, ${T(4, 9, 48)}) -> ${T(4, 6, 9)}`,
    result: [4, 6, 9],
    ops: ['com.microsoft.FusedMatMul'],
    reference: ({ a, b }) =>
      product(
        4,
        6,
        9,
        48,
        (x, i, p) => a![(x * 48 + p) * 6 + i]!,
        (x, p, j) => b![(x * 9 + j) * 48 + p]!,
      ),
  },
  {
    name: 'a transpose that swaps the free dims stays (it orders the result)',
    args: { x: [7, 3, 16], w: [16, 10] },
    body: `%t = stablehlo.transpose %x, dims = [1, 0, 2] : (${T(7, 3, 16)}) -> ${T(3, 7, 16)}
    %y = stablehlo.dot_general %t, %w, contracting_dims = [2] x [0] : (${T(3, 7, 16)}, ${T(16, 10)}) -> ${T(3, 7, 10)}`,
    result: [3, 7, 10],
    ops: ['Transpose', 'MatMul'],
    reference: ({ x, w }) =>
      product(
        1,
        21,
        10,
        16,
        (_, r, p) => x![((r % 7) * 3 + Math.floor(r / 7)) * 16 + p]!,
        (_, p, j) => w![p * 10 + j]!,
      ),
  },
  {
    name: 'JAX attention scores, batch dims [0, 2]: canonical layout through Transpose',
    args: { q: [2, 5, 3, 8], k: [2, 5, 3, 8] },
    body: `%y = stablehlo.dot_general %q, %k, batching_dims = [0, 2] x [0, 2], contracting_dims = [3] x [3] : (${T(2, 5, 3, 8)}, ${T(2, 5, 3, 8)}) -> ${T(2, 3, 5, 5)}`,
    result: [2, 3, 5, 5],
    ops: ['Transpose', 'Transpose', 'MatMul'],
    reference: ({ q, k }) =>
      product(
        6,
        5,
        5,
        8,
        (x, i, p) => q![((Math.floor(x / 3) * 5 + i) * 3 + (x % 3)) * 8 + p]!,
        (x, p, j) => k![((Math.floor(x / 3) * 5 + j) * 3 + (x % 3)) * 8 + p]!,
      ),
  },
];

function text(p: Program): string {
  const args = Object.entries(p.args)
    .map(([n, s]) => `%${n}: ${T(...s)}`)
    .join(', ');
  return `module @m {
  func.func public @main(${args}) -> ${T(...p.result)} {
    ${p.body}
    return %y : ${T(...p.result)}
  }
}
`;
}

function argValues(p: Program): Record<string, Float64Array> {
  let s = 7;
  return Object.fromEntries(
    Object.entries(p.args).map(([n, shape]) => [
      n,
      Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        return ((s >>> 9) % 2001) / 1000 - 1;
      }),
    ]),
  );
}

/** Op types on the path to the result (dead ops, such as a looked-through Transpose, excluded). */
function liveOps(textSrc: string): string[] {
  const g = stablehloFromText(textSrc, 'dot.mlir');
  const live = new Set<string>();
  const visit = (v: string): void => {
    const p = g.producer(v);
    if (!p || live.has(p.op)) return;
    live.add(p.op);
    for (const x of g.opInputs(p.op)) if (x !== undefined) visit(x);
  };
  g.outputs.forEach(visit);
  return g
    .topoOps()
    .filter((id) => live.has(id))
    .map((id) => g.op(id))
    .filter((o) => !['Reshape', 'Identity'].includes(o.opType))
    .map((o) => (o.domain ? `${o.domain}.${o.opType}` : o.opType));
}

describe('dot_general lowering on operands as they lie', () => {
  for (const p of PROGRAMS) it(p.name, () => expect(liveOps(text(p))).toEqual(p.ops));
});

describe.skipIf(!haveFleetrt())('dot_general lowerings run in fleetrt', () => {
  const work = mkdtempSync(join(tmpdir(), 'fleetc-dot-'));
  PROGRAMS.forEach((p, n) =>
    it(p.name, async () => {
      const dir = join(work, String(n));
      const file = join(work, `p${n}.mlir`);
      writeFileSync(file, text(p));
      const values = argValues(p);
      const inputs: Record<string, string> = {};
      for (const [name, v] of Object.entries(values)) {
        inputs[name] = join(work, `p${n}_${name}.npy`);
        writeNpy(inputs[name]!, '<f4', p.args[name]!, v);
      }
      const c = await compile(file, join(dir, 'build'), { report: false });
      const r = await run(c.planPath, { inputs, outputDir: join(dir, 'out'), threads: 2 });
      const got = readNpy(r.outputs[0]!.file);
      expect(got.shape).toEqual(p.result);
      const f32 = Object.fromEntries(
        Object.entries(values).map(([k, v]) => [k, Float64Array.from(new Float32Array(v))]),
      );
      const want = p.reference(f32);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got.data[i]! - want[i]!)).toBeLessThan(1e-4);
    }),
  );
});
