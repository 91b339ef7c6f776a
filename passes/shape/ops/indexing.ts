import { add, ceilDiv, product, sub, type Dim } from '../../../src/ir/sym.js';
import type { OpCtx, ShapeFn } from '../context.js';
import { ShapeError } from '../types.js';
import { needShape, normAxis, t } from './util.js';

const gather: ShapeFn = (c) => {
  const s = c.shape(0);
  const idx = c.shape(1);
  if (!s || !idx) return [t(c.dtype(0), null)];
  const axis = normAxis(c.attrInt('axis', 0), s.length);
  return [t(c.dtype(0), [...s.slice(0, axis), ...idx, ...s.slice(axis + 1)])];
};

const gatherND: ShapeFn = (c) => {
  const s = c.shape(0);
  const idx = c.shape(1);
  if (!s || !idx) return [t(c.dtype(0), null)];
  const b = c.attrInt('batch_dims', 0);
  const k = idx[idx.length - 1];
  if (typeof k !== 'number') return [t(c.dtype(0), null)];
  return [t(c.dtype(0), [...idx.slice(0, -1), ...s.slice(b + k)])];
};

const HUGE = 2 ** 53;

/** Start/end of a slice on a dim: numbers clamp as ONNX says; symbolic bounds are taken to be in range. */
function bound(i: Dim, d: Dim, step: number, isEnd: boolean): Dim {
  if (typeof i !== 'number') return i;
  if (typeof d === 'number') {
    let j = i < 0 ? i + d : i;
    if (step > 0) j = Math.min(Math.max(j, 0), d);
    else j = Math.min(Math.max(j, isEnd ? -1 : 0), d - 1);
    return j;
  }
  if (i >= HUGE / 4) return step > 0 ? d : sub(d, 1);
  if (i <= -HUGE / 4) return step > 0 ? 0 : -1;
  return i < 0 ? add(d, i) : i;
}

export function sliceLen(d: Dim, start: Dim, end: Dim, step: number): Dim {
  if (step === 0) throw new ShapeError('slice step must not be 0');
  const b = bound(start, d, step, false);
  const e = bound(end, d, step, true);
  const span = step > 0 ? sub(e, b) : sub(b, e);
  const st = Math.abs(step);
  if (typeof span === 'number') return Math.max(0, Math.ceil(span / st));
  return st === 1 ? span : ceilDiv(span, st);
}

/** Starts, ends, axes, steps of a Slice from attributes (opset < 10) or inputs. */
export function sliceParams(c: OpCtx): { starts?: Dim[]; ends?: Dim[]; axes?: number[]; steps?: number[] } | undefined {
  if (c.opset < 10) {
    return { starts: c.attrInts('starts'), ends: c.attrInts('ends'), axes: c.attrInts('axes') };
  }
  const starts = c.values(1);
  const ends = c.values(2);
  if (!starts || !ends) return undefined;
  const axes = c.has(3) ? c.intValues(3) : undefined;
  const steps = c.has(4) ? c.intValues(4) : undefined;
  if ((c.has(3) && !axes) || (c.has(4) && !steps)) return undefined;
  return { starts, ends, axes, steps };
}

const slice: ShapeFn = (c) => {
  const s = c.shape(0);
  if (!s) return [t(c.dtype(0), null)];
  const p = sliceParams(c);
  if (!p || !p.starts || !p.ends) {
    // Bounds known only at run time: with known axes only those dims change.
    const axes = c.opset >= 10 && c.has(3) ? c.intValues(3) : undefined;
    if (!axes) return [t(c.dtype(0), c.freshShape(s.length))];
    const set = new Set(axes.map((a) => normAxis(a, s.length)));
    return [t(c.dtype(0), s.map((d, i) => (set.has(i) ? c.fresh(`d${i}`) : d)))];
  }
  const axes = p.axes ?? p.starts.map((_, i) => i);
  const out = s.slice();
  axes.forEach((a0, i) => {
    const a = normAxis(a0, s.length);
    out[a] = sliceLen(s[a]!, p.starts![i]!, p.ends![i]!, p.steps?.[i] ?? 1);
  });
  return [t(c.dtype(0), out)];
};

const compress: ShapeFn = (c) => {
  const s = c.shape(0);
  const cond = c.values(1);
  const count = cond ? cond.filter((v) => v !== 0).length : undefined;
  const axisAttr = c.attrInt('axis');
  if (axisAttr === undefined) return [t(c.dtype(0), [count ?? c.fresh('n')])];
  if (!s) return [t(c.dtype(0), null)];
  const axis = normAxis(axisAttr, s.length);
  const out = s.slice();
  const d = s[axis];
  out[axis] = count !== undefined && typeof d === 'number' ? Math.min(count, d) : c.fresh('n');
  return [t(c.dtype(0), out)];
};

const oneHot: ShapeFn = (c) => {
  const s = c.shape(0);
  if (!s) return [t(c.dtype(2), null)];
  const rank = s.length + 1;
  const axis = normAxis(c.attrInt('axis', -1), rank);
  const depth = c.scalar(1);
  const d = typeof depth === 'number' ? Math.trunc(depth) : depth ?? c.fresh('depth');
  const out = s.slice();
  out.splice(axis, 0, d);
  return [t(c.dtype(2), out)];
};

const unique: ShapeFn = (c) => {
  const s = c.shape(0);
  const n = c.fresh('n');
  const axisAttr = c.attrInt('axis');
  let y = null as Dim[] | null;
  let inverse: Dim[] | null = null;
  if (axisAttr === undefined) {
    y = [n];
    inverse = s ? [product(s)] : null;
  } else if (s) {
    const axis = normAxis(axisAttr, s.length);
    y = s.slice();
    y[axis] = n;
    inverse = [s[axis]!];
  }
  return [t(c.dtype(0), y), t('int64', [n]), t('int64', inverse), t('int64', [n])];
};


const topK: ShapeFn = (c) => {
  const s = needShape(c, 0, 1);
  const axis = normAxis(c.attrInt('axis', -1), s.length);
  const k = c.opset < 10 ? c.attrInt('k') : c.scalar(1);
  const out = s.slice();
  out[axis] = k ?? c.fresh('k');
  return [t(c.dtype(0), out), t('int64', out)];
};

export const INDEX_OPS: Record<string, ShapeFn> = {
  Gather: gather,
  GatherElements: (c) => [t(c.dtype(0), c.shape(1))],
  GatherND: gatherND,
  Slice: slice,
  Compress: compress,
  NonZero: (c) => [t('int64', [c.rank(0) ?? c.fresh('rank'), c.fresh('n')])],
  OneHot: oneHot,
  Unique: unique,
  TopK: topK,
  NonMaxSuppression: (c) => [t('int64', [c.fresh('n'), 3])],
};
