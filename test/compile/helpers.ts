import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IRGraph } from '../../src/ir/graph.js';
import { sym } from '../../src/ir/sym.js';
import { readNpy, writeNpy } from '../../src/util/npy.js';
import { REPO } from '../paths.js';

/** The fleetrt the tests run: $FLEETRT (the sanitized build in .ci/run), else the package's. */
export const FLEETRT = process.env.FLEETRT || join(REPO, 'native/build/fleetrt');
export const HAVE_FLEETRT = existsSync(FLEETRT);

export function tmp(prefix = 'fleetc-compile-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

function f32(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/**
 * y = relu(x * w + b) ; z = concat(y, x) on axis 1 ; x: [batch, 4] (symbolic batch).
 * Also a dead branch (removed by dce) and a foldable constant expression (w2 = c + c).
 */
export function smallGraph(): IRGraph {
  const g = new IRGraph('small', { format: 'ir', file: 'small.ir', opsets: { '': 17 } });
  g.addValue({ name: 'x', dtype: 'float32', shape: [sym('batch'), 4], role: 'input' });
  g.inputs = ['x'];
  g.addValue({
    name: 'w',
    dtype: 'float32',
    shape: [4],
    role: 'weight',
    weight: { kind: 'inline', data: f32([1, -2, 3, -4]) },
  });
  g.addValue({
    name: 'c',
    dtype: 'float32',
    shape: [4],
    role: 'weight',
    weight: { kind: 'inline', data: f32([0.25, 0.5, 0.75, 1]) },
  });
  g.addOp({ opType: 'Add', opset: 17, name: 'fold_me' }, ['c', 'c'], ['b']);
  g.addOp({ opType: 'Mul', opset: 17, name: 'mul' }, ['x', 'w'], ['xw']);
  g.addOp({ opType: 'Add', opset: 17, name: 'add' }, ['xw', 'b'], ['pre']);
  g.addOp({ opType: 'Relu', opset: 17, name: 'relu' }, ['pre'], ['y']);
  g.addOp({ opType: 'Neg', opset: 17, name: 'dead' }, ['y'], ['unused']);
  g.addOp({ opType: 'Concat', opset: 17, name: 'cat', attrs: { axis: { type: 'int', value: 1 } } }, ['y', 'x'], ['z']);
  g.outputs = ['z', 'y'];
  return g;
}

/** The reference result of smallGraph for x (row-major [batch, 4]). */
export function smallGraphRef(x: number[]): { z: number[]; y: number[] } {
  const w = [1, -2, 3, -4];
  const b = [0.5, 1, 1.5, 2];
  const rows = x.length / 4;
  const y: number[] = [];
  const z: number[] = [];
  for (let r = 0; r < rows; r++) {
    const yr = [0, 1, 2, 3].map((k) => Math.max(0, Math.fround(Math.fround(x[r * 4 + k]! * w[k]!) + b[k]!)));
    y.push(...yr);
    z.push(...yr, ...x.slice(r * 4, r * 4 + 4));
  }
  return { z, y };
}

/** Writes a float32 .npy file. */
export function writeNpyF32(path: string, shape: number[], values: number[]): void {
  writeNpy(path, '<f4', shape, values);
}

/** Reads a float32 .npy file written by fleetrt. */
export function readNpyF32(path: string): { shape: number[]; data: number[] } {
  const a = readNpy(path);
  if (a.descr !== '<f4') throw new Error(`${path}: not float32 (${a.descr})`);
  return { shape: a.shape, data: Array.from(a.data) };
}
