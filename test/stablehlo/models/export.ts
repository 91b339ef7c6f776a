import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { byteSize, type DType } from '../../../src/ir/dtype.js';
import type { IRGraph } from '../../../src/ir/graph.js';
import { loadStablehlo } from '../../../src/frontends/stablehlo/index.js';
import { SHARED } from '../../paths.js';
import { writeFLT1, zeroExpected, type Expected } from '../native/flt1.js';

/**
 * Harness cases for whole models: the hand-written JAX-style MLP and transformer block against
 * the numpy results of reference.py (REF_DIR), and the shared StableHLO models with seeded random
 * arguments (checked to run and give finite outputs). Usage: tsx export.ts REF_DIR OUT_DIR
 */
const [refDir = '/tmp/fleetc_stablehlo_ref', out = '/tmp/fleetc_stablehlo_models'] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const here = new URL('.', import.meta.url).pathname;

function staticShape(g: IRGraph, name: string): number[] {
  const s = g.value(name).shape;
  if (!s || !s.every((d) => typeof d === 'number')) throw new Error(`${name} has no static shape`);
  return s as number[];
}

const f32 = (v: number[]): Uint8Array => new Uint8Array(Float32Array.from(v).buffer);

for (const model of ['mlp', 'transformer']) {
  const g = loadStablehlo(join(here, `${model}.mlir`));
  const ref = JSON.parse(readFileSync(join(refDir, `${model}.json`), 'utf8')) as {
    args: { shape: number[]; data: number[] }[];
    expected: { shape: number[]; data: number[] };
  };
  const inputs: Expected[] = g.inputs.map((n, i) => ({
    name: n,
    dtype: 'float32',
    shape: ref.args[i]!.shape,
    data: f32(ref.args[i]!.data),
  }));
  const o = g.outputs[0]!;
  const exp: Expected[] = [
    {
      name: `${o}|almost_eq|0.0001|0.00001|0`,
      dtype: 'float32',
      shape: ref.expected.shape,
      data: f32(ref.expected.data),
    },
  ];
  writeFileSync(join(out, `${model}.bin`), writeFLT1(g, exp, inputs));
}

/** xorshift32: deterministic arguments without a dependency. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function randomTensor(dtype: DType, shape: number[], next: () => number): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const bytes = new Uint8Array(byteSize(dtype, n));
  const dv = new DataView(bytes.buffer);
  for (let i = 0; i < n; i++) {
    if (dtype === 'float32') dv.setFloat32(i * 4, (next() - 0.5) * 0.2, true);
    else if (dtype === 'int32') dv.setInt32(i * 4, Math.floor(next() * 8), true);
    else if (dtype === 'int64') dv.setBigInt64(i * 8, BigInt(Math.floor(next() * 8)), true);
    else throw new Error(`no random ${dtype} arguments`);
  }
  return bytes;
}

for (const model of ['searchless_chess_9m', 'reactant_kan2', 'iree_edge_detection']) {
  const g = loadStablehlo(join(SHARED, 'models/stablehlo', `${model}.mlir`));
  const next = rng(42);
  const inputs: Expected[] = g.inputs.map((n) => {
    const v = g.value(n);
    const shape = staticShape(g, n);
    return { name: n, dtype: v.dtype!, shape, data: randomTensor(v.dtype!, shape, next) };
  });
  const exp: Expected[] = g.outputs.map((o) => zeroExpected(`${o}|finite|0|0|0`, g.value(o).dtype!, staticShape(g, o)));
  writeFileSync(join(out, `${model}.bin`), writeFLT1(g, exp, inputs));
}
console.log(`wrote model cases to ${out}`);
