import { add, floorDiv, max, mul, type Dim } from '../../../src/ir/sym.js';
import type { ShapeFn } from '../context.js';
import { statsShape } from './norm.js';
import { matmulShape } from './linalg.js';
import { t } from './util.js';

/** com.microsoft Attention: packed QKV projection inside, `past`/`present` as [2, B, heads, S, head]. */
const attention: ShapeFn = (c) => {
  const x = c.shape(0);
  const w = c.shape(1);
  const dt = c.dtype(0);
  const heads = c.attrInt('num_heads', 1);
  const sizes = c.attrInts('qkv_hidden_sizes');
  if (!x) return [t(dt, null), t(dt, null)];
  const [b, s] = [x[0]!, x[1]!];
  const qHidden: Dim = sizes ? sizes[0]! : w ? floorDiv(w[1]!, 3) : c.fresh('hidden');
  const vHidden: Dim = sizes ? sizes[2]! : qHidden;
  const past = c.has(4) ? c.shape(4) : null;
  const total = past ? add(past[3]!, s) : s;
  return [t(dt, [b, s, vHidden]), t(dt, [2, b, heads, total, floorDiv(qHidden, heads)])];
};

/** com.microsoft MultiHeadAttention: separate (or packed) Q/K/V, BNSH `past_key`/`past_value`. */
const multiHeadAttention: ShapeFn = (c) => {
  const q = c.shape(0);
  const k = c.has(1) ? c.shape(1) : null;
  const v = c.has(2) ? c.shape(2) : null;
  const dt = c.dtype(0);
  const heads = c.attrInt('num_heads', 1);
  if (!q) return [t(dt, null), t(dt, null), t(dt, null)];
  const [b, s] = [q[0]!, q[1]!];
  let qHidden: Dim;
  let vHidden: Dim;
  let kvLen: Dim = s;
  if (q.length === 5) {
    // Packed QKV [B, S, N, 3, H].
    qHidden = mul(q[2]!, q[4]!);
    vHidden = qHidden;
  } else {
    qHidden = q[2]!;
    vHidden = v ? (v.length === 4 ? mul(v[1]!, v[3]!) : v[2]!) : qHidden;
    if (k) kvLen = k.length === 4 ? k[2]! : k[1]!;
  }
  const pastK = c.has(6) ? c.shape(6) : null;
  const total = pastK ? add(pastK[2]!, kvLen) : kvLen;
  const head = floorDiv(qHidden, heads);
  const headV = floorDiv(vHidden, heads);
  return [t(dt, [b, s, vHidden]), t(dt, [b, heads, total, head]), t(dt, [b, heads, total, headV])];
};

/** com.microsoft GroupQueryAttention: present length is max(past, total_sequence_length). */
const groupQueryAttention: ShapeFn = (c) => {
  const q = c.shape(0);
  const dt = c.dtype(0);
  const heads = c.attrInt('num_heads', 1);
  const kvHeads = c.attrInt('kv_num_heads', heads);
  if (!q) return [t(dt, null), t(dt, null), t(dt, null)];
  const [b, s] = [q[0]!, q[1]!];
  const packed = !c.has(1);
  const head: Dim = packed ? floorDiv(q[2]!, heads + 2 * kvHeads) : floorDiv(q[2]!, heads);
  const past = c.has(3) ? c.shape(3) : null;
  const totalKnown = c.scalar(6);
  let present: Dim;
  if (totalKnown !== undefined) present = past ? max(past[2]!, totalKnown) : totalKnown;
  else present = past ? add(past[2]!, s) : s;
  return [t(dt, [b, s, mul(heads, head)]), t(dt, [b, kvHeads, present, head]), t(dt, [b, kvHeads, present, head])];
};

const skipLayerNorm: ShapeFn = (c) => {
  const x = c.shape(0);
  const stats = x ? [...x.slice(0, -1), 1] : null;
  return [{ ...c.input(0) }, t('float32', stats), t('float32', stats), { ...c.input(0) }];
};

const simplifiedLayerNorm: ShapeFn = (c) => [{ ...c.input(0) }, t('float32', statsShape(c))];

const embedLayerNorm: ShapeFn = (c) => {
  const ids = c.shape(0);
  const emb = c.shape(2);
  const dt = c.dtype(2);
  const hidden = emb?.[1] ?? c.fresh('hidden');
  if (!ids) return [t(dt, null), t('int32', null), t(dt, null)];
  const out = [ids[0]!, ids[1]!, hidden];
  return [t(dt, out), t('int32', [ids[0]!]), t(dt, out.slice())];
};

const fusedMatMul: ShapeFn = (c) => {
  const swap = (s: Dim[] | null, tr: boolean): Dim[] | null =>
    s && tr && s.length >= 2 ? [...s.slice(0, -2), s[s.length - 1]!, s[s.length - 2]!] : s;
  return [
    t(c.dtype(0), matmulShape(swap(c.shape(0), !!c.attrInt('transA', 0)), swap(c.shape(1), !!c.attrInt('transB', 0)))),
  ];
};

const same: ShapeFn = (c) => [{ ...c.input(0) }];

const MS = 'com.microsoft';

export const CONTRIB_OPS: Record<string, ShapeFn> = {
  [`${MS}:Attention`]: attention,
  [`${MS}:MultiHeadAttention`]: multiHeadAttention,
  [`${MS}:GroupQueryAttention`]: groupQueryAttention,
  [`${MS}:SkipLayerNormalization`]: skipLayerNorm,
  [`${MS}:SkipSimplifiedLayerNormalization`]: skipLayerNorm,
  [`${MS}:SimplifiedLayerNormalization`]: simplifiedLayerNorm,
  // onnxruntime registers it in the default domain too, and its exporters write it there.
  SimplifiedLayerNormalization: simplifiedLayerNorm,
  [`${MS}:EmbedLayerNormalization`]: embedLayerNorm,
  [`${MS}:FastGelu`]: same,
  [`${MS}:BiasGelu`]: same,
  [`${MS}:QuickGelu`]: same,
  [`${MS}:Gelu`]: same,
  [`${MS}:BiasAdd`]: same,
  [`${MS}:RotaryEmbedding`]: same,
  [`${MS}:FusedMatMul`]: fusedMatMul,
};
