import type { DType } from '../../../src/ir/dtype.js';
import { add, dimEq, floorDiv, max, mul, product, sub, type Dim, type Shape } from '../../../src/ir/sym.js';
import type { OpCtx, ShapeFn } from '../context.js';
import { ShapeError, tensor, type VType } from '../types.js';

export { add, sub, mul, floorDiv, max, product, dimEq };

export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new ShapeError(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/**
 * Multidirectional (numpy) broadcasting of symbolic shapes. Per dimension: equal dims stay;
 * 1 against x gives x; a number n > 1 against a symbol gives n (the symbol must be 1 or n);
 * two different symbols give max(a, b), which is exact in both valid cases (one is 1, or they
 * are equal). Two different numbers, neither 1, are an error.
 */
export function broadcast(shapes: readonly (Shape | null)[]): Shape | null {
  if (shapes.some((s) => s === null)) return null;
  const ss = shapes as Shape[];
  const rank = Math.max(0, ...ss.map((s) => s.length));
  const out: Shape = [];
  for (let i = 0; i < rank; i++) {
    let num: number | undefined;
    const syms: Dim[] = [];
    for (const s of ss) {
      const d = s[s.length - rank + i];
      if (d === undefined || d === 1) continue;
      if (typeof d === 'number') {
        if (num !== undefined && num !== d) throw new ShapeError(`cannot broadcast dimensions ${num} and ${d}`);
        num = d;
      } else if (!syms.some((x) => dimEq(x, d))) syms.push(d);
    }
    if (num !== undefined) out.push(num);
    else if (syms.length === 0) out.push(1);
    else out.push(syms.reduce((a, b) => max(a, b)));
  }
  return out;
}

/** The first known element type among the given inputs. */
export function firstDType(c: OpCtx, ...idx: number[]): DType | null {
  for (const i of idx) {
    const d = c.dtype(i);
    if (d) return d;
  }
  return null;
}

/** Output 0 has input i's type (dtype and shape). */
export function sameAs(i: number): ShapeFn {
  return (c) => [{ ...c.input(i) }];
}

/** Output 0 has input 0's shape and the given dtype. */
export function sameShape(dtype: DType): ShapeFn {
  return (c) => [tensor(dtype, c.shape(0))];
}

export function t(dtype: DType | null, shape: Shape | null): VType {
  return tensor(dtype, shape);
}

/** Reads an optional integer list given as an attribute (old opsets) or a constant input (new). */
export function intsFromAttrOrInput(c: OpCtx, attr: string, input: number): Dim[] | undefined | null {
  const a = c.attrInts(attr);
  if (a) return a;
  if (!c.has(input)) return null; // absent
  return c.values(input);
}

export function numel(shape: Shape | null): Dim | undefined {
  return shape ? product(shape) : undefined;
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Pool/conv output length for one spatial dim. */
export function windowOut(inLen: Dim, k: number, stride: number, dil: number, padTotal: Dim, ceil: boolean): Dim {
  const eff = (k - 1) * dil + 1;
  const span = sub(add(inLen, padTotal), eff);
  return add(ceil ? sub(0, floorDiv(sub(0, span), stride)) : floorDiv(span, stride), 1);
}

/** Input i's shape, which must be known and of rank >= min. */
export function needShape(c: OpCtx, i: number, min = 0): Shape {
  const s = c.shape(i);
  if (!s) throw new ShapeError(`input ${i} has unknown rank`);
  if (s.length < min) throw new ShapeError(`input ${i} must have rank >= ${min}, has ${s.length}`);
  return s;
}
