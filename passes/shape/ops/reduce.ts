import type { Dim, Shape } from '../../../src/ir/sym.js';
import type { OpCtx, ShapeFn } from '../context.js';
import { normAxis, t } from './util.js';

/** The opset from which each reduction takes its axes as input 1 instead of an attribute. */
const AXES_INPUT_FROM: Record<string, number> = { ReduceSum: 13 };

function reduceShape(c: OpCtx, axes: number[] | undefined, keep: boolean, noopEmpty: boolean): Shape | null {
  const s = c.shape(0);
  if (!s) return null;
  if (!axes || axes.length === 0) {
    if (noopEmpty) return s.slice();
    axes = s.map((_, i) => i);
  }
  const set = new Set(axes.map((a) => normAxis(a, s.length)));
  const out: Dim[] = [];
  s.forEach((d, i) => {
    if (!set.has(i)) out.push(d);
    else if (keep) out.push(1);
  });
  return out;
}

const reduce: ShapeFn = (c) => {
  const keep = c.attrInt('keepdims', 1) === 1;
  const noop = c.attrInt('noop_with_empty_axes', 0) === 1;
  const fromInput = c.opset >= (AXES_INPUT_FROM[c.opType] ?? 18);
  const outDType = c.dtype(0);
  if (!fromInput || !c.has(1)) return [t(outDType, reduceShape(c, c.attrInts('axes'), keep, noop))];
  const axes = c.intValues(1);
  if (axes) return [t(outDType, reduceShape(c, axes, keep, noop))];
  // Axes known only at run time: keepdims keeps the rank (each dim is itself or 1).
  const s = c.shape(0);
  const nAxes = c.shape(1)?.[0];
  if (!s) return [t(outDType, null)];
  if (keep)
    return [
      t(
        outDType,
        s.map((_, i) => c.fresh(`d${i}`)),
      ),
    ];
  if (typeof nAxes === 'number' && nAxes > 0) return [t(outDType, c.freshShape(s.length - nAxes))];
  return [t(outDType, null)];
};

const argReduce: ShapeFn = (c) => {
  const s = c.shape(0);
  if (!s) return [t('int64', null)];
  const axis = normAxis(c.attrInt('axis', 0), s.length);
  const keep = c.attrInt('keepdims', 1) === 1;
  const out = s.flatMap((d, i) => (i !== axis ? [d] : keep ? [1] : []));
  return [t('int64', out)];
};

export const REDUCE_OPS: Record<string, ShapeFn> = {
  ...Object.fromEntries(
    [
      'ReduceL1',
      'ReduceL2',
      'ReduceLogSum',
      'ReduceLogSumExp',
      'ReduceMax',
      'ReduceMean',
      'ReduceMin',
      'ReduceProd',
      'ReduceSum',
      'ReduceSumSquare',
    ].map((op) => [op, reduce]),
  ),
  ArgMax: argReduce,
  ArgMin: argReduce,
};
