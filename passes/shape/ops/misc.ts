import { dtypeBits } from '../../../src/ir/dtype.js';
import { add as addDim, floorDiv, mul, type Dim } from '../../../src/ir/sym.js';
import type { ShapeFn } from '../context.js';
import { ShapeError } from '../types.js';
import { t } from './util.js';

const nllLoss: ShapeFn = (c) => {
  const reduction = c.attrStr('reduction', 'mean');
  return [t(c.dtype(0), reduction === 'none' ? c.shape(1) : [])];
};

const sceLoss: ShapeFn = (c) => {
  const reduction = c.attrStr('reduction', 'mean');
  return [t(c.dtype(0), reduction === 'none' ? c.shape(1) : []), { ...c.input(0) }];
};

const affineGrid: ShapeFn = (c) => {
  const size = c.values(1);
  const n = c.shape(1)?.[0];
  if (!size) return [t(c.dtype(0), typeof n === 'number' ? [c.fresh('n'), ...c.freshShape(n - 2), n - 2] : null)];
  return [t(c.dtype(0), [size[0]!, ...size.slice(2), size.length - 2])];
};

const gridSample: ShapeFn = (c) => {
  const x = c.shape(0);
  const g = c.shape(1);
  if (!x || !g) return [t(c.dtype(0), null)];
  return [t(c.dtype(0), [x[0]!, x[1]!, ...g.slice(1, -1)])];
};

const bitCast: ShapeFn = (c) => {
  const to = c.attrDType('to') ?? null;
  const s = c.shape(0);
  const from = c.dtype(0);
  if (!to || !from || !s) return [t(to, s)];
  const a = dtypeBits(from);
  const b = dtypeBits(to);
  if (a === b) return [t(to, s)];
  if (a > b) return [t(to, [...s, a / b])];
  const last: Dim | undefined = s[s.length - 1];
  if (last !== b / a) throw new ShapeError(`BitCast to a wider type needs a last dim of ${b / a}`);
  return [t(to, s.slice(0, -1))];
};

const imageDecoder: ShapeFn = (c) => {
  const gray = c.attrStr('pixel_format', 'RGB') === 'Grayscale';
  return [t('uint8', [c.fresh('h'), c.fresh('w'), gray ? 1 : 3])];
};

/** ONNX Attention (opset 23): 4-D [B, heads, S, H] or 3-D [B, S, heads*H] Q/K/V with an optional KV cache. */
const attention: ShapeFn = (c) => {
  const q = c.shape(0);
  const k = c.shape(1);
  const v = c.shape(2);
  const dt = c.dtype(0);
  if (!q || !k || !v) return [t(dt, null), t(dt, null), t(dt, null), t(dt, null)];
  const qHeads: Dim = q.length === 4 ? q[1]! : (c.attrInt('q_num_heads') ?? c.fresh('q_heads'));
  const kvHeads: Dim = k.length === 4 ? k[1]! : (c.attrInt('kv_num_heads') ?? c.fresh('kv_heads'));
  const b = q[0]!;
  const s = q.length === 4 ? q[2]! : q[1]!;
  const kLen = k.length === 4 ? k[2]! : k[1]!;
  const headK = k.length === 4 ? k[3]! : floorDiv(k[2]!, kvHeads);
  const headV = v.length === 4 ? v[3]! : floorDiv(v[2]!, kvHeads);
  const past = c.has(4) ? c.shape(4) : null;
  const total = past ? addDim(past[2]!, kLen) : kLen;
  const y = q.length === 4 ? [b, qHeads, s, headV] : [b, s, mul(qHeads, headV)];
  return [t(dt, y), t(dt, [b, kvHeads, total, headK]), t(dt, [b, kvHeads, total, headV]), t(dt, [b, qHeads, s, total])];
};

/** ONNX LinearAttention: 3-D [B, S, heads*D] inputs, recurrent state [B, kv_heads, Dk, Dv]. */
const linearAttention: ShapeFn = (c) => {
  const q = c.shape(0);
  const k = c.shape(1);
  const v = c.shape(2);
  const dt = c.dtype(0);
  if (!q || !k || !v) return [t(dt, null), t(dt, c.shape(3))];
  const qHeads = c.attrInt('q_num_heads') ?? 1;
  const kvHeads = c.attrInt('kv_num_heads') ?? qHeads;
  const dk = floorDiv(k[k.length - 1]!, kvHeads);
  const dv = floorDiv(v[v.length - 1]!, kvHeads);
  const state = c.has(3) && c.shape(3) ? c.shape(3)! : [q[0]!, kvHeads, dk, dv];
  return [t(dt, [q[0]!, q[1]!, mul(qHeads, dv)]), t(dt, state)];
};

/**
 * ai.onnx.preview FlexAttention: rank-4 Q [B, Hq, L, E], K [B, Hkv, S, E], V [B, Hkv, S, Ev] → Y [B, Hq, L, Ev].
 * The score_mod / prob_mod bodies take and return the whole [B, Hq, L, S] tensor in Q's dtype, so they are
 * inferred with that input type (their values would otherwise stay untyped).
 */
const flexAttention: ShapeFn = (c) => {
  const q = c.shape(0);
  const k = c.shape(1);
  const v = c.shape(2);
  const dt = c.dtype(0);
  for (const [i, s] of [q, k, v].entries())
    if (s && s.length !== 4) throw new ShapeError(`input ${i} must be rank 4, not rank ${s.length}`);
  const scores = t(dt, q && k ? [q[0]!, q[1]!, q[2]!, k[2]!] : null);
  for (const name of ['score_mod', 'prob_mod']) {
    const g = c.attrGraph(name);
    if (g) c.inferSubgraph(g, [scores]);
  }
  return [t(dt, q && v ? [q[0]!, q[1]!, q[2]!, v[3]!] : null)];
};

export const MISC_OPS: Record<string, ShapeFn> = {
  NegativeLogLikelihoodLoss: nllLoss,
  SoftmaxCrossEntropyLoss: sceLoss,
  AffineGrid: affineGrid,
  GridSample: gridSample,
  BitCast: bitCast,
  ImageDecoder: imageDecoder,
  Attention: attention,
  LinearAttention: linearAttention,
  RotaryEmbedding: (c) => [{ ...c.input(0) }],
  'ai.onnx.preview:FlexAttention': flexAttention,
};
