import type { ShapeFn } from '../context.js';
import { t } from './util.js';

const fromAttrs: ShapeFn = (c) => [t(c.attrDType('dtype') ?? 'float32', c.attrInts('shape') ?? null)];
const like: ShapeFn = (c) => [t(c.attrDType('dtype') ?? c.dtype(0), c.shape(0))];

export const RANDOM_OPS: Record<string, ShapeFn> = {
  RandomUniform: fromAttrs,
  RandomNormal: fromAttrs,
  RandomUniformLike: like,
  RandomNormalLike: like,
  Bernoulli: like,
  Multinomial: (c) => [
    t(c.attrDType('dtype') ?? 'int32', [c.shape(0)?.[0] ?? c.fresh('batch'), c.attrInt('sample_size', 1)]),
  ],
};
