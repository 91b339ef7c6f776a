import type { DType } from '../../../src/ir/dtype.js';
import {
  add,
  ceilDiv,
  dimEq,
  dimToString,
  floorDiv,
  max,
  mul,
  product,
  sub,
  type Dim,
  type Shape,
} from '../../../src/ir/sym.js';
import type { OpCtx, ShapeFn } from '../context.js';
import { ShapeError } from '../types.js';
import { broadcast, needShape, normAxis, t } from './util.js';

/** Reshape's target: 0 copies the input dim (unless allowzero), -1 takes what is left. */
export function reshapeTarget(input: Shape | null, target: Dim[], allowZero: boolean): Shape | null {
  const out: Dim[] = target.map((d, i) => {
    if (d === 0 && !allowZero) {
      if (!input || i >= input.length) throw new ShapeError(`Reshape copies dim ${i} the input does not have`);
      return input[i]!;
    }
    return d;
  });
  const neg = out.findIndex((d) => d === -1);
  if (neg < 0) return out;
  if (out.some((d, i) => i !== neg && typeof d === 'number' && d < 0))
    throw new ShapeError('Reshape target has a negative dim');
  if (!input) return null;
  const rest = product(out.filter((_, i) => i !== neg));
  if (rest === 0) throw new ShapeError('Reshape cannot infer -1 next to a 0 dim');
  out[neg] = floorDiv(product(input), rest);
  return out;
}

const reshape: ShapeFn = (c) => {
  const allowZero = c.attrInt('allowzero', 0) === 1;
  const target = c.opset < 5 ? c.attrInts('shape') : c.values(1);
  if (target) return [t(c.dtype(0), reshapeTarget(c.shape(0), target, allowZero))];
  const n = c.shape(1)?.[0];
  return [t(c.dtype(0), typeof n === 'number' ? c.freshShape(n) : null)];
};

const flatten: ShapeFn = (c) => {
  const s = c.shape(0);
  if (!s) return [t(c.dtype(0), null)];
  const axis = c.attrInt('axis', 1);
  const a = axis < 0 ? axis + s.length : axis;
  if (a < 0 || a > s.length) throw new ShapeError(`axis ${axis} is out of range for rank ${s.length}`);
  return [t(c.dtype(0), [product(s.slice(0, a)), product(s.slice(a))])];
};

function axesOf(c: OpCtx, fromOpset: number): number[] | null | undefined {
  if (c.opset < fromOpset) return c.attrInts('axes') ?? null;
  if (!c.has(1)) return null;
  return c.intValues(1);
}

const squeeze: ShapeFn = (c) => {
  const s = c.shape(0);
  const axes = axesOf(c, 13);
  if (!s) return [t(c.dtype(0), null)];
  if (axes === undefined) {
    const n = c.shape(1)?.[0];
    return [t(c.dtype(0), typeof n === 'number' ? c.freshShape(s.length - n) : null)];
  }
  if (axes === null || axes.length === 0) {
    // Without axes every dim of 1 goes; symbolic dims are taken to be other than 1.
    return [
      t(
        c.dtype(0),
        s.filter((d) => d !== 1),
      ),
    ];
  }
  const drop = new Set(axes.map((a) => normAxis(a, s.length)));
  return [
    t(
      c.dtype(0),
      s.filter((_, i) => !drop.has(i)),
    ),
  ];
};

const unsqueeze: ShapeFn = (c) => {
  const s = c.shape(0);
  const axes = axesOf(c, 13);
  if (!s) return [t(c.dtype(0), null)];
  if (!axes) {
    const n = c.shape(1)?.[0];
    return [t(c.dtype(0), typeof n === 'number' ? c.freshShape(s.length + n) : null)];
  }
  const rank = s.length + axes.length;
  const ins = new Set(axes.map((a) => normAxis(a, rank)));
  const out: Dim[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(ins.has(i) ? 1 : s[k++]!);
  return [t(c.dtype(0), out)];
};

const transpose: ShapeFn = (c) => {
  const s = c.shape(0);
  if (!s) return [t(c.dtype(0), null)];
  const perm = c.attrInts('perm') ?? s.map((_, i) => s.length - 1 - i);
  if (perm.length !== s.length) throw new ShapeError(`perm has ${perm.length} entries for rank ${s.length}`);
  return [
    t(
      c.dtype(0),
      perm.map((p) => s[normAxis(p, s.length)]!),
    ),
  ];
};

/** Picks the more specific of two dims that must be equal. */
export function pickDim(a: Dim, b: Dim): Dim {
  if (typeof a === 'number') return a;
  return typeof b === 'number' ? b : a;
}

const concat: ShapeFn = (c) => {
  const shapes: Shape[] = [];
  let dtype: DType | null = null;
  for (let i = 0; i < c.numInputs; i++) {
    if (!c.has(i)) continue;
    dtype ??= c.dtype(i);
    const s = c.shape(i);
    if (!s) return [t(dtype, null)];
    shapes.push(s);
  }
  if (shapes.length === 0) return [t(dtype, null)];
  const rank = shapes[0]!.length;
  const axis = normAxis(c.attrInt('axis', c.opset < 4 ? 1 : 0), rank);
  const out = shapes[0]!.slice();
  let total: Dim = 0;
  for (const s of shapes) {
    if (s.length !== rank) throw new ShapeError(`Concat inputs have ranks ${rank} and ${s.length}`);
    total = add(total, s[axis]!);
    s.forEach((d, i) => {
      if (i !== axis) out[i] = pickDim(out[i]!, d);
    });
  }
  out[axis] = total;
  return [t(dtype, out)];
};

const split: ShapeFn = (c) => {
  const s = c.shape(0);
  const n = c.numOutputs;
  if (!s) return Array.from({ length: n }, () => t(c.dtype(0), null));
  const axis = normAxis(c.attrInt('axis', 0), s.length);
  const len = s[axis]!;
  let sizes: Dim[] | undefined;
  if (c.opset < 13) sizes = c.attrInts('split') ?? (c.opset < 2 || !c.has(1) ? undefined : c.values(1));
  else if (c.has(1)) sizes = c.values(1) ?? c.freshShape(n, 'split');
  if (!sizes) {
    const parts = c.attrInt('num_outputs', n);
    if (c.opset >= 18 && c.attr('num_outputs')) {
      const chunk = ceilDiv(len, parts);
      sizes = Array.from({ length: parts }, (_, i) => (i < parts - 1 ? chunk : sub(len, mul(chunk, parts - 1))));
    } else sizes = Array.from({ length: n }, () => floorDiv(len, n));
  }
  const bad = sizes.find((d) => typeof d === 'number' && d < 0);
  if (bad !== undefined)
    throw new ShapeError(`cannot split a dimension of ${dimToString(len)} into ${sizes.length} parts`);
  return sizes.map((d) => {
    const o = s.slice();
    o[axis] = d;
    return t(c.dtype(0), o);
  });
};

const expand: ShapeFn = (c) => {
  const target = c.values(1);
  if (target) return [t(c.dtype(0), broadcast([c.shape(0), target]))];
  const n = c.shape(1)?.[0];
  const r = c.rank(0);
  return [t(c.dtype(0), typeof n === 'number' && r !== null ? c.freshShape(Math.max(n, r)) : null)];
};

const tile: ShapeFn = (c) => {
  const s = c.shape(0);
  if (!s) return [t(c.dtype(0), null)];
  const reps = c.values(1);
  if (!reps) return [t(c.dtype(0), c.freshShape(s.length))];
  return [
    t(
      c.dtype(0),
      s.map((d, i) => mul(d, reps[i] ?? 1)),
    ),
  ];
};

const pad: ShapeFn = (c) => {
  const s = c.shape(0);
  if (!s) return [t(c.dtype(0), null)];
  const pads = c.opset < 11 ? (c.attrInts('paddings') ?? c.attrInts('pads')) : c.values(1);
  if (!pads) return [t(c.dtype(0), c.freshShape(s.length))];
  let axes = s.map((_, i) => i);
  if (c.opset >= 18 && c.has(3)) {
    const given = c.intValues(3);
    if (!given) return [t(c.dtype(0), c.freshShape(s.length))];
    axes = given.map((a) => normAxis(a, s.length));
  }
  const out = s.slice();
  axes.forEach((a, i) => {
    out[a] = add(add(out[a]!, pads[i]!), pads[i + axes.length]!);
  });
  return [t(c.dtype(0), out)];
};

function clampIndex(i: number, n: number): number {
  const j = i < 0 ? i + n : i;
  return Math.min(Math.max(j, 0), n);
}

const shapeOp: ShapeFn = (c) => {
  const r = c.rank(0);
  if (r === null) return [t('int64', [c.fresh('rank')])];
  const start = clampIndex(c.attrInt('start', 0), r);
  const end = clampIndex(c.attrInt('end', r), r);
  return [t('int64', [Math.max(end - start, 0)])];
};

const depthToSpace: ShapeFn = (c) => {
  const s = needShape(c, 0, 4);
  const b = c.attrInt('blocksize', 1);
  return [t(c.dtype(0), [s[0]!, floorDiv(s[1]!, b * b), mul(s[2]!, b), mul(s[3]!, b)])];
};

const spaceToDepth: ShapeFn = (c) => {
  const s = needShape(c, 0, 4);
  const b = c.attrInt('blocksize', 1);
  return [t(c.dtype(0), [s[0]!, mul(s[1]!, b * b), floorDiv(s[2]!, b), floorDiv(s[3]!, b)])];
};

const constantOfShape: ShapeFn = (c) => {
  const value = c.attrTensor('value');
  const dtype = value?.dtype ?? 'float32';
  const dims = c.values(0);
  if (dims) return [t(dtype, dims)];
  const n = c.shape(0)?.[0];
  return [t(dtype, typeof n === 'number' ? c.freshShape(n) : null)];
};

const rangeOp: ShapeFn = (c) => {
  const [start, limit, delta] = [c.scalar(0), c.scalar(1), c.scalar(2)];
  const dtype = c.dtype(0) ?? c.dtype(1);
  if (start !== undefined && limit !== undefined && typeof delta === 'number' && delta !== 0) {
    if (typeof start === 'number' && typeof limit === 'number')
      return [t(dtype, [Math.max(Math.ceil((limit - start) / delta), 0)])];
    if (Number.isInteger(delta)) {
      return [t(dtype, [delta > 0 ? ceilDiv(sub(limit, start), delta) : ceilDiv(sub(start, limit), -delta)])];
    }
  }
  return [t(dtype, [c.fresh('n')])];
};

const constant: ShapeFn = (c) => {
  const tv = c.attrTensor('value');
  if (tv) return [t(tv.dtype, tv.shape.slice())];
  const a = c.attr('sparse_value');
  if (a?.type === 'tensor') return [t(a.value.dtype, a.value.shape.slice())];
  const scalars: [string, DType][] = [
    ['value_float', 'float32'],
    ['value_int', 'int64'],
    ['value_string', 'string'],
  ];
  for (const [name, dt] of scalars) if (c.attr(name)) return [t(dt, [])];
  const lists: [string, DType][] = [
    ['value_floats', 'float32'],
    ['value_ints', 'int64'],
    ['value_strings', 'string'],
  ];
  for (const [name, dt] of lists) {
    const v = c.attr(name);
    if (v && Array.isArray(v.value)) return [t(dt, [v.value.length])];
  }
  throw new ShapeError('Constant has no value attribute');
};

const centerCropPad: ShapeFn = (c) => {
  const s = c.shape(0);
  if (!s) return [t(c.dtype(0), null)];
  const want = c.values(1);
  const axes = (c.attrInts('axes') ?? s.map((_, i) => i)).map((a) => normAxis(a, s.length));
  const out = s.slice();
  axes.forEach((a, i) => {
    out[a] = want?.[i] ?? c.fresh(`d${a}`);
  });
  return [t(c.dtype(0), out)];
};

function scaleDim(d: Dim, scale: number): Dim {
  if (typeof d === 'number') return Math.floor(d * scale + 1e-9);
  if (Number.isInteger(scale)) return mul(d, scale);
  const inv = 1 / scale;
  if (Number.isInteger(inv)) return floorDiv(d, inv);
  return undefined as unknown as Dim;
}

const resize: ShapeFn = (c) => {
  const s = c.shape(0);
  if (!s) return [t(c.dtype(0), null)];
  const r = s.length;
  const axes = (c.opset >= 18 ? c.attrInts('axes') : undefined)?.map((a) => normAxis(a, r)) ?? s.map((_, i) => i);
  const out = s.slice();
  const scalesIdx = c.opset < 11 ? 1 : 2;
  const sizes = c.opset >= 11 && c.has(3) ? c.values(3) : undefined;
  const scales = c.has(scalesIdx) && (c.shape(scalesIdx)?.[0] ?? 1) !== 0 ? c.values(scalesIdx) : undefined;
  if (c.opset >= 11 && c.has(3) && (c.shape(3)?.[0] ?? 1) !== 0) {
    if (!sizes)
      return [
        t(
          c.dtype(0),
          s.map((d, i) => (axes.includes(i) ? c.fresh(`d${i}`) : d)),
        ),
      ];
    const policy = c.attrStr('keep_aspect_ratio_policy', 'stretch');
    if (
      policy !== 'stretch' &&
      sizes.every((d) => typeof d === 'number') &&
      axes.every((a) => typeof s[a] === 'number')
    ) {
      const ratios = axes.map((a, i) => (sizes[i] as number) / (s[a] as number));
      const scale = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
      axes.forEach((a) => (out[a] = Math.round((s[a] as number) * scale)));
    } else axes.forEach((a, i) => (out[a] = sizes[i]!));
    return [t(c.dtype(0), out)];
  }
  const sc = c.opset < 9 && c.opType === 'Upsample' ? c.attr('scales')?.value : scales;
  if (!Array.isArray(sc))
    return [
      t(
        c.dtype(0),
        s.map((d, i) => (axes.includes(i) ? c.fresh(`d${i}`) : d)),
      ),
    ];
  axes.forEach((a, i) => {
    const v = sc[i];
    if (typeof v !== 'number') throw new ShapeError('scales must be numbers');
    const d = scaleDim(s[a]!, v);
    out[a] = d === undefined ? c.fresh(`d${a}`) : d;
  });
  return [t(c.dtype(0), out)];
};

export const SHAPE_OPS: Record<string, ShapeFn> = {
  Reshape: reshape,
  Flatten: flatten,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Expand: expand,
  Tile: tile,
  Pad: pad,
  Shape: shapeOp,
  Size: () => [t('int64', [])],
  DepthToSpace: depthToSpace,
  SpaceToDepth: spaceToDepth,
  ConstantOfShape: constantOfShape,
  Range: rangeOp,
  Constant: constant,
  EyeLike: (c) => [t(c.attrDType('dtype') ?? c.dtype(0), c.shape(0))],
  CenterCropPad: centerCropPad,
  Resize: resize,
  Upsample: resize,
};

export { dimEq, max };
