/**
 * Attention ops that take the cache as past/present inputs and outputs: com.microsoft
 * MultiHeadAttention and GroupQueryAttention, and ai.onnx Attention (opset 23+). Each becomes
 * fleetc.PagedAttention when what it does fits the paged kernel (causal, no window, no softcap,
 * query/key/value as [batch, seq, heads·dim] or [batch, heads, seq, dim]); its masks are checked on
 * the probe like those of plain-op attention. The reason is returned otherwise.
 */
import type { IRGraph } from '../../src/ir/graph.js';
import type { KvCandidate } from '../analysis/kv.js';
import type { AttentionMatch, MatchOutcome } from './match.js';
import type { StaticCache } from './static.js';

const num = (d: unknown): number | undefined => (typeof d === 'number' ? d : undefined);

function attr(graph: IRGraph, op: string, name: string): number | undefined {
  const a = graph.op(op).attrs[name];
  return a?.type === 'int' || a?.type === 'float' ? a.value : undefined;
}

/** The pairs of an op's past key/value inputs (slots) and present outputs (1, 2). */
function pairsOf(
  graph: IRGraph,
  op: string,
  pastK: number,
  pastV: number,
  byInput: Map<string, KvCandidate>,
): KvCandidate[] | string {
  const ins = graph.opInputs(op);
  const outs = graph.opOutputs(op);
  const k = byInput.get(ins[pastK] ?? '');
  const v = byInput.get(ins[pastV] ?? '');
  if (!k || !v || k.output !== outs[1] || v.output !== outs[2]) return 'its past/present are not the cache pairs';
  return [k, v];
}

function base(
  op: string,
  pairs: KvCandidate[],
  m: Omit<AttentionMatch, 'layer' | 'remove' | 'pairs' | 'masks'> & {
    masks?: AttentionMatch['masks'];
    remove?: string[];
  },
): AttentionMatch {
  return { layer: op, remove: [op], pairs, masks: [], ...m };
}

/** com.microsoft MultiHeadAttention: query/key/value [b, s, H·D], optional packed bias, an additive attention_bias as the mask. */
export function matchMultiHeadAttention(graph: IRGraph, op: string, byInput: Map<string, KvCandidate>): MatchOutcome {
  const ins = graph.opInputs(op);
  const pairs = pairsOf(graph, op, 6, 7, byInput);
  if (typeof pairs === 'string') return { reason: pairs };
  const heads = attr(graph, op, 'num_heads');
  const q = graph.value(ins[0]!).shape;
  const k = ins[1] ? graph.value(ins[1]).shape : null;
  const past = graph.value(pairs[0]!.input).shape;
  if (!heads || !q || q.length !== 3 || !k || k.length !== 3 || !ins[2] || !past || past.length !== 4)
    return {
      reason: 'query, key and value are not [batch, seq, heads·head_dim] with a [batch, heads, past, head_dim] cache',
    };
  if (ins[4]) return { reason: 'the attention takes a key padding mask' };
  const headSize = num(past[3]);
  if (headSize === undefined) return { reason: 'the head size is not static' };
  const causal = (attr(graph, op, 'unidirectional') ?? 0) === 1;
  if (!causal && !ins[5]) return { reason: 'the attention is neither unidirectional nor masked (not causal)' };
  return {
    match: base(op, pairs, {
      layout: 'bsd',
      query: ins[0]!,
      key: ins[1],
      value: ins[2],
      ...(ins[3] ? { qkvBias: ins[3] } : {}),
      output: graph.opOutputs(op)[0]!,
      heads,
      kvHeads: heads,
      headSize,
      scale: attr(graph, op, 'scale') || 1 / Math.sqrt(headSize),
      masks: ins[5] ? [{ kind: 'add', mask: ins[5] }] : [],
      causal,
    }),
  };
}

/** com.microsoft GroupQueryAttention: causal by definition; rotary inside when do_rotary. */
export function matchGroupQueryAttention(graph: IRGraph, op: string, byInput: Map<string, KvCandidate>): MatchOutcome {
  const ins = graph.opInputs(op);
  const pairs = pairsOf(graph, op, 3, 4, byInput);
  if (typeof pairs === 'string') return { reason: pairs };
  const heads = attr(graph, op, 'num_heads');
  const kvHeads = attr(graph, op, 'kv_num_heads');
  if ((attr(graph, op, 'local_window_size') ?? -1) >= 0) return { reason: 'the attention has a local window' };
  if (attr(graph, op, 'softcap') || attr(graph, op, 'smooth_softmax'))
    return { reason: 'the attention caps or smooths its softmax' };
  if (ins[9] || ins[10]) return { reason: 'the attention takes position ids or an attention bias' };
  if (!ins[1] || !ins[2]) return { reason: 'query, key and value are packed into one input' };
  const past = graph.value(pairs[0]!.input).shape;
  const headSize = num(past?.[3]);
  if (!heads || !kvHeads || headSize === undefined) return { reason: 'the head counts or head size are not static' };
  const rotary = (attr(graph, op, 'do_rotary') ?? 0) === 1;
  if (rotary && (!ins[7] || !ins[8])) return { reason: 'rotary is on without cos/sin caches' };
  return {
    match: base(op, pairs, {
      layout: 'bsd',
      query: ins[0]!,
      key: ins[1],
      value: ins[2],
      output: graph.opOutputs(op)[0]!,
      heads,
      kvHeads,
      headSize,
      scale: attr(graph, op, 'scale') || 1 / Math.sqrt(headSize),
      causal: true,
      ...(rotary
        ? { rotary: { cos: ins[7]!, sin: ins[8]!, interleaved: (attr(graph, op, 'rotary_interleaved') ?? 0) === 1 } }
        : {}),
    }),
  };
}

/** ai.onnx Attention (opset 23+): 4-D [b, heads, seq, dim] or 3-D [b, seq, heads·dim] with head counts in attributes. */
export function matchOnnxAttention(graph: IRGraph, op: string, byInput: Map<string, KvCandidate>): MatchOutcome {
  const ins = graph.opInputs(op);
  const outs = graph.opOutputs(op);
  const pairs = pairsOf(graph, op, 4, 5, byInput);
  if (typeof pairs === 'string') return { reason: pairs };
  if (ins[6]) return { reason: 'the attention takes non-padded lengths (a static cache)' };
  if (outs[3] && graph.consumers(outs[3]).length) return { reason: 'the attention scores are an output' };
  if (attr(graph, op, 'softcap')) return { reason: 'the attention caps its scores' };
  const q = graph.value(ins[0]!).shape;
  const past = graph.value(pairs[0]!.input).shape;
  const headSize = num(past?.[3]);
  const kvHeads = num(past?.[1]);
  if (!q || headSize === undefined || kvHeads === undefined)
    return { reason: 'the head size or KV heads are not static' };
  const fourD = q.length === 4;
  const heads = fourD ? num(q[1]) : attr(graph, op, 'q_num_heads');
  if (!heads) return { reason: 'the query heads are not static' };
  const causal = (attr(graph, op, 'is_causal') ?? 0) === 1;
  const mask = ins[3];
  if (!causal && !mask) return { reason: 'the attention is neither causal nor masked' };
  const maskStep =
    mask && graph.value(mask).dtype === 'bool'
      ? ({ kind: 'keep', mask } as const)
      : mask
        ? ({ kind: 'add', mask } as const)
        : undefined;
  return {
    match: base(op, pairs, {
      layout: fourD ? 'bhsd' : 'bsd',
      query: ins[0]!,
      key: ins[1],
      value: ins[2],
      output: outs[0]!,
      heads,
      kvHeads,
      headSize,
      scale: attr(graph, op, 'scale') || 1 / Math.sqrt(headSize),
      masks: maskStep ? [maskStep] : [],
      causal,
    }),
  };
}

/**
 * ai.onnx Attention (opset 23+) over a static cache: key and value are the caches as written by
 * TensorScatter, `nonpad_kv_seqlen` bounds the keys read. The scatters go with the attention: the
 * paged op appends the new tokens (the scatters' updates) at each sequence's length itself.
 */
export function matchStaticAttention(
  graph: IRGraph,
  op: string,
  byOutput: Map<string, KvCandidate>,
  statics: Map<KvCandidate, StaticCache>,
): MatchOutcome | undefined {
  const ins = graph.opInputs(op);
  const outs = graph.opOutputs(op);
  const k = byOutput.get(ins[1] ?? '');
  const v = byOutput.get(ins[2] ?? '');
  if (!k && !v) return undefined;
  if (!k || !v) return { reason: 'only one of its key and value is a static cache' };
  if (ins[4] || ins[5]) return { reason: 'it takes a past cache besides the static one' };
  if (!ins[6]) return { reason: 'it reads the whole static cache without nonpad_kv_seqlen' };
  if (outs.slice(1).some((o) => o && graph.consumers(o).length > 0))
    return { reason: 'its present caches or scores are read' };
  for (const p of [k, v]) {
    const other = graph.consumers(p.output).find((u) => u.op !== op);
    if (other) return { reason: `the cache '${p.output}' is also read by '${other.op}'` };
  }
  if (attr(graph, op, 'softcap')) return { reason: 'the attention caps its scores' };
  const q = graph.value(ins[0]!).shape;
  const cache = graph.value(k.input).shape;
  const sk = statics.get(k)!;
  const sv = statics.get(v)!;
  const update = graph.value(sk.update).shape;
  if (!q || q.length !== 4 || !cache || cache.length !== 4 || k.axis !== 2 || update?.length !== 4)
    return { reason: 'query and cache are not [batch, heads, tokens, head_dim]' };
  const heads = num(q[1]);
  const kvHeads = num(cache[1]);
  const headSize = num(cache[3]);
  if (!heads || !kvHeads || !headSize) return { reason: 'the head counts or head size are not static' };
  // is_causal aligns its triangle to the cache's first slot, not to where the new tokens are written
  if ((attr(graph, op, 'is_causal') ?? 0) === 1)
    return { reason: 'is_causal over a static cache masks from its first slot, not from the write position' };
  const mask = ins[3];
  if (!mask) return { reason: 'the attention over a static cache has no mask (not causal)' };
  const masks: AttentionMatch['masks'] = [{ kind: 'lengths', lengths: ins[6] }];
  masks.push(graph.value(mask).dtype === 'bool' ? { kind: 'keep', mask } : { kind: 'add', mask });
  return {
    match: base(op, [k, v], {
      remove: [op, sk.scatter, sv.scatter],
      layout: 'bhsd',
      query: ins[0]!,
      key: sk.update,
      value: sv.update,
      output: outs[0]!,
      heads,
      kvHeads,
      headSize,
      scale: attr(graph, op, 'scale') || 1 / Math.sqrt(headSize),
      masks,
      causal: false,
      capacity: sk.capacity,
    }),
  };
}
