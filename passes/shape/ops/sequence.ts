import type { Dim, Shape } from '../../../src/ir/sym.js';
import type { OpCtx, ShapeFn } from '../context.js';
import { unify } from '../merge.js';
import { ShapeError, type VType } from '../types.js';
import { normAxis, t } from './util.js';

function seq(el: VType): VType {
  return { dtype: el.dtype, shape: el.shape, container: 'sequence' };
}

function elem(v: VType): VType {
  return { dtype: v.dtype, shape: v.shape };
}

/** Element types of a sequence may differ in shape: differing dims become fresh symbols. */
function unifyAll(c: OpCtx, types: VType[], tag: string): VType {
  if (types.length === 0) return t(null, null);
  return types.reduce((a, b) => unify(a, b, (i) => c.fresh(`${tag}${i}`)));
}

const splitToSequence: ShapeFn = (c) => {
  const s = c.shape(0);
  if (!s) return [seq(t(c.dtype(0), null))];
  const axis = normAxis(c.attrInt('axis', 0), s.length);
  const out: Dim[] = s.slice();
  if (!c.has(1)) {
    if (c.attrInt('keepdims', 1) === 1) out[axis] = 1;
    else out.splice(axis, 1);
    return [seq(t(c.dtype(0), out))];
  }
  const split = c.values(1);
  const len = s[axis]!;
  if (split && c.rank(1) === 0 && typeof split[0] === 'number' && typeof len === 'number' && len % split[0] === 0)
    out[axis] = split[0];
  else if (split && c.rank(1) === 1 && split.every((d) => typeof d === 'number' && d === split[0]))
    out[axis] = split[0]!;
  else out[axis] = c.fresh('len');
  return [seq(t(c.dtype(0), out))];
};

const concatFromSequence: ShapeFn = (c) => {
  const el = c.input(0);
  if (!el.shape) return [t(el.dtype, null)];
  const newAxis = c.attrInt('new_axis', 0) === 1;
  const rank = el.shape.length + (newAxis ? 1 : 0);
  const axis = normAxis(c.attrInt('axis', 0), rank);
  const out: Shape = el.shape.slice();
  if (newAxis) out.splice(axis, 0, c.fresh('n'));
  else out[axis] = c.fresh('n');
  return [t(el.dtype, out)];
};

const sequenceMap: ShapeFn = (c) => {
  const body = c.attrGraph('body');
  if (!body) throw new ShapeError('SequenceMap has no body');
  const bound: VType[] = [];
  for (let i = 0; i < c.numInputs; i++) {
    const v = c.input(i);
    bound.push(v.container === 'sequence' ? elem(v) : { ...v });
  }
  const res = c.inferSubgraph(body, bound);
  return res.types.map((ty) => seq(ty));
};

export const SEQUENCE_OPS: Record<string, ShapeFn> = {
  SequenceEmpty: (c) => [seq(t(c.attrDType('dtype') ?? 'float32', null))],
  SequenceConstruct: (c) => {
    const types: VType[] = [];
    for (let i = 0; i < c.numInputs; i++) if (c.has(i)) types.push(c.input(i));
    return [seq(unifyAll(c, types, 'd'))];
  },
  SequenceInsert: (c) => {
    const s = c.input(0);
    const el = c.input(1);
    // An empty sequence's element type is unknown in shape: take the inserted tensor's.
    const base = s.shape ? unifyAll(c, [elem(s), elem(el)], 'd') : elem(el);
    return [seq({ dtype: s.dtype ?? el.dtype, shape: base.shape })];
  },
  SequenceAt: (c) => [elem(c.input(0))],
  SequenceErase: (c) => [{ ...c.input(0) }],
  SequenceLength: () => [t('int64', [])],
  SplitToSequence: splitToSequence,
  ConcatFromSequence: concatFromSequence,
  SequenceMap: sequenceMap,
  Optional: (c) => {
    // An optional sequence stays a sequence (the IR keeps one container level; see the ONNX frontend).
    if (c.has(0)) return [{ ...c.input(0), container: c.input(0).container === 'sequence' ? 'sequence' : 'optional' }];
    const ty = c.attr('type');
    return [
      ty?.type === 'type'
        ? { ...ty.value, container: 'optional' }
        : { dtype: null, shape: null, container: 'optional' },
    ];
  },
  OptionalGetElement: (c) => {
    const v = c.input(0);
    return [v.container === 'optional' ? elem(v) : { ...v }];
  },
  OptionalHasElement: () => [t('bool', [])],
};
