import { isFloat, isInteger, type DType } from '../../../src/ir/dtype.js';
import { add, dimEq, floorDiv, max, min, mod, mul, neg, product, sub, type Dim } from '../../../src/ir/sym.js';
import type { EvalFn, OpCtx } from '../context.js';
import { sliceParams } from '../ops/indexing.js';
import { normAxis } from '../ops/util.js';
import type { Known, VType } from '../types.js';
import { castNumber, evalSupportsDType } from './bytes.js';
import { allNumbers, broadcastIndex, broadcastShapes, count, known, strides } from './tensor.js';

/** Thrown (and caught by the driver) where the evaluator gives up on a value. */
class NoValue extends Error {}

function staticShape(v: VType | undefined): number[] | undefined {
  return v?.shape && allNumbers(v.shape) ? (v.shape as number[]) : undefined;
}

function need(c: OpCtx, i: number): Known {
  const k = c.known(i);
  if (!k) throw new NoValue();
  return k;
}

function checkSize(c: OpCtx, shape: readonly number[]): void {
  if (count(shape) > c.limit) throw new NoValue();
}

/** The data as it is, under the inferred (static) output shape: Identity, Reshape, Squeeze … */
const viewAs: EvalFn = (c, outs) => {
  const k = need(c, 0);
  const shape = staticShape(outs[0]);
  if (!shape || count(shape) !== k.data.length) return undefined;
  return [known(k.dtype, shape, k.data)];
};

type Bin = (a: Dim, b: Dim, dt: DType) => Dim | undefined;

function elementwise(fn: Bin, outDType?: DType, arity = 2): EvalFn {
  return (c) => {
    const ins: Known[] = [];
    for (let i = 0; i < c.numInputs; i++) if (c.has(i)) ins.push(need(c, i));
    if (ins.length < Math.min(arity, 2) && arity > 1) throw new NoValue();
    const shape = broadcastShapes(ins.map((k) => k.shape));
    if (!shape) throw new NoValue();
    checkSize(c, shape);
    const dt = ins[0]!.dtype;
    const idx = ins.map((k) => broadcastIndex(shape, k.shape));
    const n = count(shape);
    const data: Dim[] = new Array(n);
    for (let f = 0; f < n; f++) {
      let acc: Dim | undefined = ins[0]!.data[idx[0]![f]!]!;
      for (let j = 1; j < ins.length && acc !== undefined; j++) acc = fn(acc, ins[j]!.data[idx[j]![f]!]!, dt);
      if (acc === undefined) throw new NoValue();
      data[f] = typeof acc === 'number' ? (outDType === 'bool' ? acc : castNumber(dt, acc)) : acc;
    }
    return [known(outDType ?? dt, shape, data)];
  };
}

const num =
  (f: (a: number, b: number, dt: DType) => number): Bin =>
  (a, b, dt) =>
    typeof a === 'number' && typeof b === 'number' ? f(a, b, dt) : undefined;

const divide: Bin = (a, b, dt) => {
  if (typeof a === 'number' && typeof b === 'number') {
    if (isInteger(dt)) return b === 0 ? undefined : Math.trunc(a / b);
    return a / b;
  }
  // Shape arithmetic: dims are non-negative, so truncation is floor division.
  return isInteger(dt) && (typeof b !== 'number' || b > 0) ? floorDiv(a, b) : undefined;
};

function modulo(c: OpCtx): Bin {
  const fmod = c.attrInt('fmod', 0) === 1;
  return (a, b, dt) => {
    if (typeof a === 'number' && typeof b === 'number') {
      if (b === 0) return undefined;
      if (fmod || isFloat(dt)) return a % b;
      const r = a % b;
      return r !== 0 && r < 0 !== b < 0 ? r + b : r;
    }
    return typeof b === 'number' && b > 0 ? mod(a, b) : undefined;
  };
}

const cmp = (f: (a: number, b: number) => boolean): Bin => num((a, b) => (f(a, b) ? 1 : 0));

/**
 * Whether a dim is surely >= 0: a polynomial with non-negative coefficients over plain symbols
 * (symbols are sizes). Monomials are atom keys joined by U+0001 (see src/ir/sym.ts).
 */
function nonNegative(d: Dim): boolean {
  if (typeof d === 'number') return d >= 0;
  for (const [mono, coef] of d.poly) {
    if (coef < 0) return false;
    if (mono && !mono.split('\u0001').every((p) => /^[A-Za-z_][A-Za-z0-9_.:]*$/.test(p))) return false;
  }
  return true;
}

const equal: Bin = (a, b) => {
  if (typeof a === 'number' && typeof b === 'number') return a === b ? 1 : 0;
  if (dimEq(a, b)) return 1;
  // A size never equals a negative constant (torch's `-1` placeholders in Expand/Reshape targets).
  if ((typeof b === 'number' && b < 0 && nonNegative(a)) || (typeof a === 'number' && a < 0 && nonNegative(b)))
    return 0;
  return undefined;
};

function unary(f: (a: number, dt: DType) => number, symbolic?: (a: Dim) => Dim): EvalFn {
  return (c) => {
    const k = need(c, 0);
    const data = k.data.map((a) => {
      if (typeof a === 'number') return castNumber(k.dtype, f(a, k.dtype));
      if (symbolic) return symbolic(a);
      throw new NoValue();
    });
    return [known(k.dtype, k.shape, data)];
  };
}

const shapeEval: EvalFn = (c) => {
  const s = c.shape(0);
  if (!s) return undefined;
  const r = s.length;
  const clamp = (i: number): number => Math.min(Math.max(i < 0 ? i + r : i, 0), r);
  const start = clamp(c.attrInt('start', 0));
  const end = clamp(c.attrInt('end', r));
  const data = s.slice(start, Math.max(start, end));
  return [known('int64', [data.length], data)];
};

const sizeEval: EvalFn = (c) => {
  const s = c.shape(0);
  return s ? [known('int64', [], [product(s)])] : undefined;
};

function cast(to: DType, k: Known): Known {
  if (!evalSupportsDType(to)) throw new NoValue();
  const data = k.data.map((a) => {
    if (typeof a === 'number') return castNumber(to, a);
    if (isInteger(to)) return a;
    throw new NoValue();
  });
  return known(to, k.shape, data);
}

const gatherEval: EvalFn = (c) => {
  const d = need(c, 0);
  const ind = need(c, 1);
  if (!allNumbers(ind.data)) throw new NoValue();
  const axis = normAxis(c.attrInt('axis', 0), d.shape.length);
  const outShape = [...d.shape.slice(0, axis), ...ind.shape, ...d.shape.slice(axis + 1)];
  checkSize(c, outShape);
  const outer = count(d.shape.slice(0, axis));
  const inner = count(d.shape.slice(axis + 1));
  const len = d.shape[axis]!;
  const data: Dim[] = [];
  for (let o = 0; o < outer; o++)
    for (const raw of ind.data) {
      const i = raw < 0 ? raw + len : raw;
      if (i < 0 || i >= len) throw new NoValue();
      for (let j = 0; j < inner; j++) data.push(d.data[(o * len + i) * inner + j]!);
    }
  return [known(d.dtype, outShape, data)];
};

const concatEval: EvalFn = (c) => {
  const ins: Known[] = [];
  for (let i = 0; i < c.numInputs; i++) if (c.has(i)) ins.push(need(c, i));
  if (!ins.length) return undefined;
  const rank = ins[0]!.shape.length;
  const axis = normAxis(c.attrInt('axis', 0), rank);
  const outer = count(ins[0]!.shape.slice(0, axis));
  const outShape = ins[0]!.shape.slice();
  outShape[axis] = ins.reduce((a, k) => a + k.shape[axis]!, 0);
  checkSize(c, outShape);
  const data: Dim[] = [];
  for (let o = 0; o < outer; o++)
    for (const k of ins) {
      const chunk = count(k.shape.slice(axis));
      for (let j = 0; j < chunk; j++) data.push(k.data[o * chunk + j]!);
    }
  return [known(ins[0]!.dtype, outShape, data)];
};

const sliceEval: EvalFn = (c) => {
  const d = need(c, 0);
  const p = sliceParams(c);
  if (!p?.starts || !p.ends || !allNumbers(p.starts) || !allNumbers(p.ends)) throw new NoValue();
  const r = d.shape.length;
  const axes = (p.axes ?? p.starts.map((_, i) => i)).map((a) => normAxis(a, r));
  const start = d.shape.map(() => 0);
  const step = d.shape.map(() => 1);
  const len = d.shape.slice();
  axes.forEach((a, i) => {
    const n = d.shape[a]!;
    const st = p.steps?.[i] ?? 1;
    if (st === 0) throw new NoValue();
    let b = p.starts![i] as number;
    let e = p.ends![i] as number;
    b = b < 0 ? b + n : b;
    e = e < 0 ? e + n : e;
    if (st > 0) {
      b = Math.min(Math.max(b, 0), n);
      e = Math.min(Math.max(e, 0), n);
    } else {
      b = Math.min(Math.max(b, 0), n - 1);
      e = Math.min(Math.max(e, -1), n - 1);
    }
    start[a] = b;
    step[a] = st;
    len[a] = Math.max(0, Math.ceil((e - b) / st));
  });
  checkSize(c, len);
  const inStr = strides(d.shape);
  const outStr = strides(len);
  const n = count(len);
  const data: Dim[] = new Array(n);
  for (let f = 0; f < n; f++) {
    let rem = f;
    let j = 0;
    for (let a = 0; a < r; a++) {
      const coord = Math.floor(rem / outStr[a]!);
      rem -= coord * outStr[a]!;
      j += (start[a]! + coord * step[a]!) * inStr[a]!;
    }
    data[f] = d.data[j]!;
  }
  return [known(d.dtype, len, data)];
};

const rangeEval: EvalFn = (c) => {
  const [s, l, d] = [need(c, 0).data[0], need(c, 1).data[0], need(c, 2).data[0]];
  if (typeof s !== 'number' || typeof l !== 'number' || typeof d !== 'number' || d === 0) throw new NoValue();
  const n = Math.max(Math.ceil((l - s) / d), 0);
  if (n > c.limit) throw new NoValue();
  const dt = need(c, 0).dtype;
  return [
    known(
      dt,
      [n],
      Array.from({ length: n }, (_, i) => castNumber(dt, s + i * d)),
    ),
  ];
};

const constantOfShapeEval: EvalFn = (c) => {
  const s = need(c, 0);
  if (!allNumbers(s.data)) throw new NoValue();
  checkSize(c, s.data);
  const tv = c.attrTensor('value');
  let value: Known = known('float32', [1], [0]);
  if (tv)
    value =
      c.tensorKnown(tv) ??
      (() => {
        throw new NoValue();
      })();
  return [known(value.dtype, s.data.slice(), new Array(count(s.data)).fill(value.data[0] ?? 0))];
};

const expandEval: EvalFn = (c) => {
  const d = need(c, 0);
  const s = need(c, 1);
  if (!allNumbers(s.data)) throw new NoValue();
  const shape = broadcastShapes([d.shape, s.data]);
  if (!shape) throw new NoValue();
  checkSize(c, shape);
  const idx = broadcastIndex(shape, d.shape);
  return [
    known(
      d.dtype,
      shape,
      Array.from(idx, (j) => d.data[j]!),
    ),
  ];
};

const tileEval: EvalFn = (c, outs) => {
  const d = need(c, 0);
  const reps = need(c, 1);
  const shape = staticShape(outs[0]);
  if (!shape || !allNumbers(reps.data)) throw new NoValue();
  checkSize(c, shape);
  const outStr = strides(shape);
  const inStr = strides(d.shape);
  const n = count(shape);
  const data: Dim[] = new Array(n);
  for (let f = 0; f < n; f++) {
    let rem = f;
    let j = 0;
    for (let a = 0; a < shape.length; a++) {
      const coord = Math.floor(rem / outStr[a]!);
      rem -= coord * outStr[a]!;
      j += (coord % d.shape[a]!) * inStr[a]!;
    }
    data[f] = d.data[j]!;
  }
  return [known(d.dtype, shape, data)];
};

const transposeEval: EvalFn = (c) => {
  const d = need(c, 0);
  const r = d.shape.length;
  const perm = c.attrInts('perm') ?? d.shape.map((_, i) => r - 1 - i);
  if (perm.length !== r || new Set(perm).size !== r || perm.some((p) => !(p >= 0 && p < r))) throw new NoValue();
  const shape = perm.map((p) => d.shape[p]!);
  const inStr = strides(d.shape);
  const outStr = strides(shape);
  const n = d.data.length;
  const data: Dim[] = new Array(n);
  for (let f = 0; f < n; f++) {
    let rem = f;
    let j = 0;
    for (let a = 0; a < r; a++) {
      const coord = Math.floor(rem / outStr[a]!);
      rem -= coord * outStr[a]!;
      j += coord * inStr[perm[a]!]!;
    }
    data[f] = d.data[j]!;
  }
  return [known(d.dtype, shape, data)];
};

const whereEval: EvalFn = (c) => {
  const [cond, x, y] = [need(c, 0), need(c, 1), need(c, 2)];
  if (!allNumbers(cond.data)) throw new NoValue();
  const shape = broadcastShapes([cond.shape, x.shape, y.shape]);
  if (!shape) throw new NoValue();
  checkSize(c, shape);
  const [ic, ix, iy] = [
    broadcastIndex(shape, cond.shape),
    broadcastIndex(shape, x.shape),
    broadcastIndex(shape, y.shape),
  ];
  const data = Array.from(ic, (j, f) => (cond.data[j] ? x.data[ix[f]!]! : y.data[iy[f]!]!));
  return [known(x.dtype, shape, data)];
};

function reduceEval(fn: (a: Dim, b: Dim) => Dim, init: (dt: DType) => Dim | undefined): EvalFn {
  return (c, outs) => {
    const d = need(c, 0);
    const r = d.shape.length;
    let axes: number[] | undefined;
    if (c.opset >= (c.opType === 'ReduceSum' ? 13 : 18))
      axes = c.has(1)
        ? (c.intValues(1) ??
          (() => {
            throw new NoValue();
          })())
        : undefined;
    else axes = c.attrInts('axes');
    if (!axes || axes.length === 0) {
      if (c.attrInt('noop_with_empty_axes', 0) === 1) return [d];
      axes = d.shape.map((_, i) => i);
    }
    const set = new Set(axes.map((a) => normAxis(a, r)));
    const redShape = d.shape.map((n, i) => (set.has(i) ? 1 : n));
    const n = count(redShape);
    const acc: (Dim | undefined)[] = new Array(n).fill(init(d.dtype));
    const idx = broadcastIndex(d.shape, redShape);
    d.data.forEach((v, f) => {
      const j = idx[f]!;
      const a = acc[j];
      acc[j] = a === undefined ? v : fn(a, v);
    });
    if (acc.some((a) => a === undefined)) throw new NoValue();
    const shape = staticShape(outs[0]);
    if (!shape) throw new NoValue();
    return [
      known(
        d.dtype,
        shape,
        (acc as Dim[]).map((a) => (typeof a === 'number' ? castNumber(d.dtype, a) : a)),
      ),
    ];
  };
}

function numericMinMax(f: typeof min, g: (a: number, b: number) => number): Bin {
  return (a, b, dt) => {
    if (typeof a === 'number' && typeof b === 'number') return g(a, b);
    return isInteger(dt) ? f(a, b) : undefined;
  };
}

const constantEval: EvalFn = (c) => {
  const tv = c.attrTensor('value');
  if (tv) return [c.tensorKnown(tv)];
  const a = c.op.attrs;
  if (a.value_int?.type === 'int') return [known('int64', [], [a.value_int.value])];
  if (a.value_ints?.type === 'ints') return [known('int64', [a.value_ints.value.length], a.value_ints.value.slice())];
  if (a.value_float?.type === 'float') return [known('float32', [], [a.value_float.value])];
  if (a.value_floats?.type === 'floats')
    return [known('float32', [a.value_floats.value.length], a.value_floats.value.map(Math.fround))];
  return undefined;
};

/** Split: consecutive chunks along the axis, sized by the (static) inferred output shapes. */
const splitEval: EvalFn = (c, outs) => {
  const d = need(c, 0);
  const r = d.shape.length;
  const axis = normAxis(c.attrInt('axis', 0), r);
  const shapes = outs.map(staticShape);
  if (shapes.some((s) => !s || s.length !== r)) throw new NoValue();
  const outer = count(d.shape.slice(0, axis));
  const inner = count(d.shape.slice(axis + 1));
  const len = d.shape[axis]!;
  let start = 0;
  return shapes.map((s) => {
    const part = s![axis]!;
    if (start + part > len) throw new NoValue();
    const data: Dim[] = [];
    for (let o = 0; o < outer; o++)
      for (let a = start; a < start + part; a++)
        for (let i = 0; i < inner; i++) data.push(d.data[(o * len + a) * inner + i]!);
    start += part;
    return known(d.dtype, s!, data);
  });
};

export const EVAL_OPS: Record<string, EvalFn> = {
  Split: splitEval,
  Constant: constantEval,
  Identity: viewAs,
  Reshape: viewAs,
  Squeeze: viewAs,
  Unsqueeze: viewAs,
  Flatten: viewAs,
  Shape: shapeEval,
  Size: sizeEval,
  Cast: (c) => [
    cast(
      c.attrDType('to') ??
        (() => {
          throw new NoValue();
        })(),
      need(c, 0),
    ),
  ],
  CastLike: (c) => [
    cast(
      c.dtype(1) ??
        (() => {
          throw new NoValue();
        })(),
      need(c, 0),
    ),
  ],
  Gather: gatherEval,
  Concat: concatEval,
  Slice: sliceEval,
  Range: rangeEval,
  ConstantOfShape: constantOfShapeEval,
  Expand: expandEval,
  Tile: tileEval,
  Transpose: transposeEval,
  Where: whereEval,
  Add: elementwise((a, b, dt) =>
    isInteger(dt) || (typeof a === 'number' && typeof b === 'number') ? add(a, b) : undefined,
  ),
  Sub: elementwise((a, b, dt) =>
    isInteger(dt) || (typeof a === 'number' && typeof b === 'number') ? sub(a, b) : undefined,
  ),
  Mul: elementwise((a, b, dt) =>
    isInteger(dt) || (typeof a === 'number' && typeof b === 'number') ? mul(a, b) : undefined,
  ),
  Div: elementwise(divide),
  Mod: (c, outs) => elementwise(modulo(c))(c, outs),
  Pow: elementwise(num((a, b) => a ** b)),
  Max: elementwise(numericMinMax(max, Math.max), undefined, 1),
  Min: elementwise(numericMinMax(min, Math.min), undefined, 1),
  Sum: elementwise(
    (a, b, dt) => (isInteger(dt) || (typeof a === 'number' && typeof b === 'number') ? add(a, b) : undefined),
    undefined,
    1,
  ),
  Equal: elementwise(equal, 'bool'),
  Less: elementwise(
    cmp((a, b) => a < b),
    'bool',
  ),
  LessOrEqual: elementwise(
    cmp((a, b) => a <= b),
    'bool',
  ),
  Greater: elementwise(
    cmp((a, b) => a > b),
    'bool',
  ),
  GreaterOrEqual: elementwise(
    cmp((a, b) => a >= b),
    'bool',
  ),
  And: elementwise(
    num((a, b) => (a && b ? 1 : 0)),
    'bool',
  ),
  Or: elementwise(
    num((a, b) => (a || b ? 1 : 0)),
    'bool',
  ),
  Xor: elementwise(
    num((a, b) => (!a !== !b ? 1 : 0)),
    'bool',
  ),
  Not: unary((a) => (a ? 0 : 1)),
  Neg: unary((a) => -a, neg),
  Abs: unary((a) => Math.abs(a)),
  Sign: unary((a) => Math.sign(a)),
  Floor: unary((a) => Math.floor(a)),
  Ceil: unary((a) => Math.ceil(a)),
  Sqrt: unary((a) => Math.sqrt(a)),
  Reciprocal: unary((a) => 1 / a),
  Relu: unary((a) => Math.max(a, 0)),
  ReduceProd: reduceEval(mul, () => undefined),
  ReduceSum: reduceEval(add, () => undefined),
  ReduceMax: reduceEval(
    (a, b) => max(a, b),
    () => undefined,
  ),
  ReduceMin: reduceEval(
    (a, b) => min(a, b),
    () => undefined,
  ),
};

export { NoValue };
