import { add, ceilDiv, product, sub, type Dim } from '../../../src/ir/sym.js';
import type { OpCtx, ShapeFn } from '../context.js';
import { ShapeError, type Known } from '../types.js';
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
    return [
      t(
        c.dtype(0),
        s.map((d, i) => (set.has(i) ? c.fresh(`d${i}`) : d)),
      ),
    ];
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
  const d = typeof depth === 'number' ? Math.trunc(depth) : (depth ?? c.fresh('depth'));
  const out = s.slice();
  out.splice(axis, 0, d);
  return [t(c.dtype(2), out)];
};

/** How many distinct slices along `axis` (all elements when axis is undefined) known data has. */
function distinctCount(k: Known, axis: number | undefined): number | undefined {
  if (!k.data.every((x) => typeof x === 'number')) return undefined;
  const data = k.data as number[];
  if (axis === undefined) return new Set(data.map((x) => (Object.is(x, -0) ? 0 : x))).size;
  const len = k.shape[axis]!;
  const inner = k.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = k.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const keys = new Set<string>();
  for (let a = 0; a < len; a++) {
    const slice: number[] = [];
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) slice.push(data[(o * len + a) * inner + i]!);
    keys.add(slice.join(','));
  }
  return keys.size;
}

function nums(k: Known | undefined): number[] | undefined {
  return k && k.data.every((x) => typeof x === 'number') ? (k.data as number[]) : undefined;
}

/** Boxes as [y1, x1, y2, x2] with min/max ordered (center_point_box=0) or from [xc, yc, w, h] (1). */
function corners(b: number[], center: boolean): [number, number, number, number] {
  if (center) return [b[1]! - b[3]! / 2, b[0]! - b[2]! / 2, b[1]! + b[3]! / 2, b[0]! + b[2]! / 2];
  return [Math.min(b[0]!, b[2]!), Math.min(b[1]!, b[3]!), Math.max(b[0]!, b[2]!), Math.max(b[1]!, b[3]!)];
}

function iou(a: number[], b: number[]): number {
  const ih = Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!);
  const iw = Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!);
  if (ih <= 0 || iw <= 0) return 0;
  const inter = ih * iw;
  const union = (a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter;
  return union <= 0 ? 0 : inter / union;
}

/** NonMaxSuppression with known boxes and scores: how many boxes it selects (greedy, per batch and class). */
function nmsCount(c: OpCtx): number | undefined {
  const boxes = nums(c.known(0));
  const scores = nums(c.known(1));
  const bs = c.known(0)?.shape;
  const ss = c.known(1)?.shape;
  if (!boxes || !scores || bs?.length !== 3 || ss?.length !== 3) return undefined;
  const opt = (i: number, def: number): number | undefined => (c.has(i) ? (nums(c.known(i))?.[0] ?? undefined) : def);
  const maxPer = opt(2, 0);
  const iouMax = opt(3, 0);
  const minScore = c.has(4) ? opt(4, 0) : -Infinity;
  if (maxPer === undefined || iouMax === undefined || minScore === undefined) return undefined;
  const [nb, n] = [bs[0]!, bs[1]!];
  const nc = ss[1]!;
  const center = c.attrInt('center_point_box', 0) === 1;
  let total = 0;
  for (let b = 0; b < nb; b++) {
    const box = (i: number): number[] => corners(boxes.slice((b * n + i) * 4, (b * n + i) * 4 + 4), center);
    for (let k = 0; k < nc; k++) {
      const sc = (i: number): number => scores[(b * nc + k) * n + i]!;
      const order = Array.from({ length: n }, (_, i) => i)
        .filter((i) => sc(i) > minScore)
        .sort((x, y) => sc(y) - sc(x) || x - y);
      const kept: number[][] = [];
      for (const i of order) {
        if (kept.length >= maxPer) break;
        const bi = box(i);
        if (kept.every((kb) => iou(kb, bi) <= iouMax)) kept.push(bi);
      }
      total += kept.length;
    }
  }
  return total;
}

const unique: ShapeFn = (c) => {
  const s = c.shape(0);
  const axisAttr = c.attrInt('axis');
  const k = c.known(0);
  const n =
    (k && distinctCount(k, axisAttr === undefined ? undefined : normAxis(axisAttr, k.shape.length))) ?? c.fresh('n');
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
  NonZero: (c) => {
    const k = c.known(0);
    const nz = k && k.data.every((x) => typeof x === 'number') ? k.data.filter((x) => x !== 0).length : undefined;
    return [t('int64', [c.rank(0) ?? c.fresh('rank'), nz ?? c.fresh('n')])];
  },
  OneHot: oneHot,
  Unique: unique,
  TopK: topK,
  NonMaxSuppression: (c) => [t('int64', [nmsCount(c) ?? c.fresh('n'), 3])],
};
