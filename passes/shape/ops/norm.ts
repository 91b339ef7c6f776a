import type { Dim } from '../../../src/ir/sym.js';
import type { OpCtx, ShapeFn } from '../context.js';
import { normAxis, t } from './util.js';
import type { VType } from '../types.js';
import { dtypeFromCode } from '../../../src/ir/dtype.js';

/** The input shape with every dim from `axis` on reduced to 1 (mean / inverse std outputs). */
export function statsShape(c: OpCtx, axisDefault = -1): Dim[] | null {
  const s = c.shape(0);
  if (!s) return null;
  const axis = normAxis(c.attrInt('axis', axisDefault), s.length);
  return s.map((d, i) => (i < axis ? d : 1));
}

const batchNorm: ShapeFn = (c) => {
  const ch = c.shape(1)?.[0] ?? c.shape(0)?.[1] ?? c.fresh('c');
  const stat = t(c.dtype(3) ?? c.dtype(1) ?? c.dtype(0), [ch]);
  const out: VType[] = [{ ...c.input(0) }];
  for (let i = 1; i < c.numOutputs; i++) out.push({ ...stat });
  return out;
};

const layerNorm: ShapeFn = (c) => {
  const stash = dtypeFromCode(c.attrInt('stash_type', 1)) ?? 'float32';
  const stats = statsShape(c);
  return [{ ...c.input(0) }, t(stash, stats), t(stash, stats)];
};

export const NORM_OPS: Record<string, ShapeFn> = {
  BatchNormalization: batchNorm,
  InstanceNormalization: (c) => [{ ...c.input(0) }],
  GroupNormalization: (c) => [{ ...c.input(0) }],
  RMSNormalization: (c) => [{ ...c.input(0) }],
  LayerNormalization: layerNorm,
};
