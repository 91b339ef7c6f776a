import type { ShapeFn } from '../context.js';
import { CONV_OPS } from './conv.js';
import { LINALG_OPS } from './linalg.js';
import { broadcast, t } from './util.js';
import { UNKNOWN } from '../types.js';

const conv = CONV_OPS.Conv!;
const matmul = LINALG_OPS.MatMul!;

/**
 * Shapes of the ops the fusion passes (passes/fuse), the block-layout pass (passes/layout) and the
 * kv-state pass (passes/state) create, in the fleetc domain.
 */
export const FUSED_OPS: Record<string, ShapeFn> = {
  // Conv's shape; the residual Z has the output's shape.
  'fleetc:FusedConv': (c) => conv(c),
  // MatMul's shape; the bias is one value per column, the residual Z has the output's shape.
  'fleetc:FusedMatMul': (c) => matmul(c),
  // Every input broadcast together; the element type of input 0.
  'fleetc:FusedElementwise': (c) => {
    const shapes = [];
    for (let i = 0; i < c.numInputs; i++) shapes.push(c.shape(i));
    return [t(c.dtype(0), broadcast(shapes))];
  },
  // Another memory order of the same logical tensor (passes/layout: NCHW ↔ NCHW8c).
  'fleetc:Reorder': (c) => [t('float32', c.shape(0))],
  // docs/state-ops.md: bhsd keeps the query's shape; bsd and packed give [batch, tokens, heads · head_size].
  'fleetc:PagedAttention': (c) => {
    const q = c.shape(0);
    if (!q) return [t(c.dtype(0), null)];
    if (c.attrStr('layout', 'bhsd') === 'bhsd') return [t(c.dtype(0), q)];
    return [t(c.dtype(0), [q[0]!, q[1]!, c.attrInt('num_heads', 0) * c.attrInt('head_size', 0)])];
  },
  // The past tensor: its length is the cache's, known only at run time (the declaration stays).
  'fleetc:KvGather': () => [UNKNOWN],
  'fleetc:KvAppend': () => [t('int64', [])],
  'fleetc:KvShape': (c) => [t('int64', [(c.attrInts('shape') ?? []).length])],
};
