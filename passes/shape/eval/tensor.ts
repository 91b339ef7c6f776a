import type { DType } from '../../../src/ir/dtype.js';
import type { Dim } from '../../../src/ir/sym.js';
import type { Known } from '../types.js';

export function count(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** For each flat index of `out`, the flat index of a broadcast input of shape `inp`. */
export function broadcastIndex(out: readonly number[], inp: readonly number[]): Int32Array {
  const n = count(out);
  const idx = new Int32Array(n);
  const inStr = strides(inp);
  const off = out.length - inp.length;
  const outStr = strides(out);
  for (let f = 0; f < n; f++) {
    let rem = f;
    let j = 0;
    for (let a = 0; a < out.length; a++) {
      const coord = Math.floor(rem / outStr[a]!);
      rem -= coord * outStr[a]!;
      const ia = a - off;
      if (ia >= 0 && inp[ia]! !== 1) j += coord * inStr[ia]!;
    }
    idx[f] = j;
  }
  return idx;
}

/** Numeric broadcast of static shapes (undefined when they do not broadcast). */
export function broadcastShapes(shapes: readonly (readonly number[])[]): number[] | undefined {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const x = s[s.length - rank + i];
      if (x === undefined || x === 1) continue;
      if (d !== 1 && d !== x) return undefined;
      d = x;
    }
    out.push(d);
  }
  return out;
}

export function known(dtype: DType, shape: number[], data: Dim[]): Known {
  return { dtype, shape, data };
}

export function allNumbers(d: readonly Dim[]): d is number[] {
  return d.every((x) => typeof x === 'number');
}
