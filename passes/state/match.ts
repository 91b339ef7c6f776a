/**
 * Finding the attention that reads a KV cache, in the forms exporters write:
 *  - plain ops: present = Concat(past, new) → layout ops → MatMul(q, Kᵀ) → scale → masks →
 *    Softmax → MatMul(·, V), with grouped-query `repeat_kv` between cache and product;
 *  - com.microsoft Attention with a stacked past/present ([2, batch, heads, past, head_dim]).
 * A match names the ops it replaces and what fleetc.PagedAttention needs; anything else is a
 * reason, which the pass reports before running that layer from gathered pages instead.
 */
import type { IRGraph } from '../../src/ir/graph.js';
import type { KvCandidate } from '../analysis/kv.js';
import { weightNumbers } from '../fuse/util.js';
import type { MaskStep } from './probe.js';
import { followToMatMuls, type Label, type View } from './views.js';

export interface AttentionMatch {
  /** A name for messages: the op that computes the scores (or the contrib Attention op). */
  layer: string;
  /** Ops the rewrite removes (the rest of the old attention dies in DCE). */
  remove: string[];
  layout: 'bhsd' | 'bsd' | 'packed';
  /** bhsd/bsd: query, new key, new value. packed: the op input feeding the fused QKV projection. */
  query: string;
  key?: string;
  value?: string;
  /** packed: projection weight and optional bias to rebuild the QKV product. */
  projection?: { weight: string; bias?: string };
  /** bsd: a [3·H·D] bias the op adds to query, key and value. */
  qkvBias?: string;
  /** Rotary embedding the op applies to query and key (at the tokens' positions). */
  rotary?: { cos: string; sin: string; interleaved: boolean };
  /** The op masks future positions itself (besides any mask input). */
  causal?: boolean;
  output: string;
  heads: number;
  kvHeads: number;
  headSize: number;
  scale: number;
  masks: MaskStep[];
  /** A static cache's capacity: the masks are checked over that many keys. */
  capacity?: number;
  /** The cache pairs it consumes, key first. One pair for a stacked cache. */
  pairs: KvCandidate[];
}

export type MatchOutcome = { match: AttentionMatch } | { reason: string };

const num = (d: unknown): number | undefined => (typeof d === 'number' ? d : undefined);

function attrInt(graph: IRGraph, op: string, name: string): number | undefined {
  const a = graph.op(op).attrs[name];
  return a?.type === 'int' ? a.value : undefined;
}
function attrFloat(graph: IRGraph, op: string, name: string): number | undefined {
  const a = graph.op(op).attrs[name];
  return a?.type === 'float' ? a.value : undefined;
}

/** Integer contents of a constant (axes inputs of Unsqueeze/Squeeze). */
export function intConstant(graph: IRGraph, value: string): number[] | undefined {
  const v = graph.hasValue(value) ? graph.value(value) : undefined;
  if (!v || (v.dtype !== 'int64' && v.dtype !== 'int32')) return undefined;
  return weightNumbers(graph, value);
}

/** The one reader of `value` (an op of the given types), skipping Casts; undefined otherwise. */
function soleReader(graph: IRGraph, value: string, casts: string[]): { op: string; slot: number } | undefined {
  let v = value;
  for (;;) {
    const uses = graph.consumers(v);
    if (uses.length !== 1 || graph.outputs.includes(v)) return undefined;
    const u = uses[0]!;
    const o = graph.op(u.op);
    if (o.domain === '' && o.opType === 'Cast') {
      casts.push(u.op);
      v = graph.opOutputs(u.op)[0]!;
      continue;
    }
    return u;
  }
}

/** From the scores, the scale and masks up to the Softmax, then the product with V. */
function followScores(
  graph: IRGraph,
  scoresOp: string,
): { scale: number; masks: MaskStep[]; ops: string[]; pv: string } | string {
  let value = graph.opOutputs(scoresOp)[0]!;
  let scale = 1;
  const masks: MaskStep[] = [];
  const ops: string[] = [];
  for (;;) {
    const u = soleReader(graph, value, ops);
    if (!u) return 'the attention scores have more than one reader';
    const o = graph.op(u.op);
    const ins = graph.opInputs(u.op);
    const out = graph.opOutputs(u.op)[0]!;
    ops.push(u.op);
    if (o.domain !== '') return `the scores go into ${o.domain}.${o.opType}`;
    if (o.opType === 'Softmax') {
      const axis = attrInt(graph, u.op, 'axis') ?? -1;
      const rank = graph.value(value).shape?.length ?? 4;
      if (axis !== -1 && axis !== rank - 1) return 'the softmax is not over the keys';
      const pv = soleReader(graph, out, ops);
      if (!pv || graph.op(pv.op).opType !== 'MatMul' || pv.slot !== 0)
        return 'the softmax does not feed one product with V';
      return { scale, masks, ops, pv: pv.op };
    }
    if (o.opType === 'Mul' || o.opType === 'Div') {
      const other = ins[0] === value ? ins[1] : ins[0];
      const c = weightNumbers(graph, other);
      if (c?.length !== 1 || c[0] === 0 || (o.opType === 'Div' && ins[0] !== value))
        return 'the scores are scaled by a non-constant';
      scale *= o.opType === 'Div' ? 1 / c[0]! : c[0]!;
    } else if (o.opType === 'Add') {
      masks.push({ kind: 'add', mask: (ins[0] === value ? ins[1] : ins[0])! });
    } else if (o.opType === 'Where' && ins[0] !== value) {
      const keep = ins[1] === value;
      masks.push({ kind: 'where', cond: ins[0]!, fill: (keep ? ins[2] : ins[1])!, keepIfTrue: keep });
    } else return `the scores go through ${o.opType}, which paged attention does not do`;
    value = out;
  }
}

function startView(graph: IRGraph, pair: KvCandidate): View | undefined {
  const shape = graph.value(pair.output).shape;
  if (!shape || shape.length !== 4 || (pair.axis !== 2 && pair.axis !== -2)) return undefined;
  const labels: Label[] = ['B', 'G', 'L', 'D'];
  return { value: pair.output, labels, dims: shape, repeat: 1, scale: 1, ops: [] };
}

/** The new tokens' tensor of a plain cache: present = Concat(past, new) on the growth axis. */
export function concatNew(graph: IRGraph, pair: KvCandidate): string | undefined {
  const p = graph.producer(pair.output);
  if (!p) return undefined;
  const o = graph.op(p.op);
  const ins = graph.opInputs(p.op);
  const axis = attrInt(graph, p.op, 'axis');
  if (o.opType !== 'Concat' || o.domain !== '' || ins.length !== 2 || ins[0] !== pair.input) return undefined;
  if (axis !== pair.axis && axis !== pair.axis - 4) return undefined;
  return ins[1];
}

/**
 * Plain-op attention: every KV pair whose view reaches a product as Kᵀ is a key cache; its
 * scores lead through the softmax to the product with the value cache.
 */
export function matchPlain(
  graph: IRGraph,
  pairs: KvCandidate[],
): { matches: AttentionMatch[]; unmatched: Map<KvCandidate, string> } {
  const known = (v: string): number[] | undefined => intConstant(graph, v);
  const ends = new Map<KvCandidate, { op: string; slot: number; view: View } | string>();
  const byProduct = new Map<string, KvCandidate>();
  for (const pair of pairs) {
    const start = startView(graph, pair);
    const fresh = concatNew(graph, pair);
    if (!start || fresh === undefined) {
      ends.set(pair, 'the cache is not [batch, heads, tokens, head_dim] grown by one Concat');
      continue;
    }
    const found = followToMatMuls(graph, start, known);
    if (!found || found.length !== 1 || found[0]!.slot !== 1) {
      ends.set(pair, 'the cache is not read by exactly one attention product through layout ops');
      continue;
    }
    ends.set(pair, found[0]!);
    byProduct.set(found[0]!.op, pair);
  }
  const matches: AttentionMatch[] = [];
  const unmatched = new Map<KvCandidate, string>();
  const done = new Set<KvCandidate>();
  for (const pair of pairs) {
    const e = ends.get(pair)!;
    if (typeof e === 'string') continue;
    const last = e.view.labels.slice(-2).join('');
    if (last !== 'DL') continue; // a value cache; handled with its key
    const fail = (why: string): void => {
      unmatched.set(pair, why);
      done.add(pair);
    };
    const s = followScores(graph, e.op);
    if (typeof s === 'string') {
      fail(s);
      continue;
    }
    const vPair = byProduct.get(s.pv);
    const vEnd = vPair ? ends.get(vPair) : undefined;
    if (!vPair || !vEnd || typeof vEnd === 'string' || vEnd.view.labels.slice(-2).join('') !== 'LD') {
      fail('the product with V does not read a value cache');
      continue;
    }
    const q = graph.opInputs(e.op)[0]!;
    const qShape = graph.value(q).shape;
    const kShape = graph.value(pair.input).shape!;
    const heads = num(qShape?.[1]);
    const kvHeads = num(kShape[1]);
    const headSize = num(kShape[3]);
    if (!qShape || qShape.length !== 4 || heads === undefined || kvHeads === undefined || headSize === undefined) {
      fail('the query is not [batch, heads, tokens, head_dim] with static heads');
      continue;
    }
    const ok = (v: View): boolean =>
      v.labels[0] === 'B' &&
      (v.labels[1] === 'H' ? kvHeads * v.repeat === heads : v.labels[1] === 'G' && kvHeads === heads);
    if (!ok(e.view) || !ok(vEnd.view) || e.view.repeat !== vEnd.view.repeat) {
      fail('query heads do not map onto KV heads the grouped-query way');
      continue;
    }
    done.add(pair).add(vPair);
    matches.push({
      layer: e.op,
      remove: [e.op, ...s.ops, s.pv, ...e.view.ops, ...vEnd.view.ops],
      layout: 'bhsd',
      query: q,
      key: concatNew(graph, pair),
      value: concatNew(graph, vPair),
      output: graph.opOutputs(s.pv)[0]!,
      heads,
      kvHeads,
      headSize,
      scale: e.view.scale * s.scale,
      masks: s.masks,
      pairs: [pair, vPair],
    });
  }
  for (const pair of pairs) {
    if (done.has(pair)) continue;
    const e = ends.get(pair)!;
    unmatched.set(pair, typeof e === 'string' ? e : 'its attention was not found (no key cache leads to it)');
  }
  return { matches, unmatched };
}

/** com.microsoft Attention with a stacked cache: the fused QKV projection stays, the attention becomes paged. */
export function matchContribAttention(graph: IRGraph, op: string, pair: KvCandidate): MatchOutcome {
  const ins = graph.opInputs(op);
  const outs = graph.opOutputs(op);
  if (ins[4] !== pair.input || outs[1] !== pair.output) return { reason: 'the cache is not the op past/present' };
  if ((attrInt(graph, op, 'unidirectional') ?? 0) !== 1)
    return { reason: 'the attention is not unidirectional (causal)' };
  if (ins[5] || ins[6]) return { reason: 'the attention takes an attention bias or a past length' };
  if (graph.op(op).attrs.qkv_hidden_sizes) return { reason: 'the attention has unequal Q/K/V hidden sizes' };
  const heads = attrInt(graph, op, 'num_heads');
  const w = graph.value(ins[1]!).shape;
  const past = graph.value(pair.input).shape;
  const hidden3 = num(w?.[1]);
  if (!heads || hidden3 === undefined || hidden3 % (3 * heads) !== 0 || !past || past.length !== 5)
    return {
      reason: 'the projection or cache shapes are not static [hidden, 3·hidden] and [2, batch, heads, past, head_dim]',
    };
  const headSize = hidden3 / 3 / heads;
  return {
    match: {
      layer: op,
      remove: [op],
      layout: 'packed',
      query: ins[0]!,
      projection: { weight: ins[1]!, bias: ins[2] },
      output: outs[0]!,
      heads,
      kvHeads: heads,
      headSize,
      scale: attrFloat(graph, op, 'scale') ?? 1 / Math.sqrt(headSize),
      masks: [],
      pairs: [pair],
    },
  };
}
