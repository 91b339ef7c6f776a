import type { AttrValue, IRGraph } from '../../src/ir/graph.js';
import { dimEq, type Dim } from '../../src/ir/sym.js';
import type { Pass } from '../pass.js';
import { deadCodeElimination } from '../simplify/dce.js';
import { fleetTakes, isOp, outerReferenced, scalarWeight, soleConsumer } from './util.js';

const HEADS_FIRST = [0, 2, 1, 3];
const HEADS_FIRST_T = [0, 2, 3, 1];

/** The standard op `opType` making `value`, with its inputs; else undefined. */
function made(
  graph: IRGraph,
  value: string | undefined,
  opType: string,
): { op: string; ins: (string | undefined)[] } | undefined {
  const p = value === undefined ? undefined : graph.producer(value);
  return p && isOp(graph, p.op, opType) ? { op: p.op, ins: graph.opInputs(p.op) } : undefined;
}

function perm(graph: IRGraph, op: string): number[] | undefined {
  const a = graph.op(op).attrs.perm;
  return a && a.type === 'ints' ? a.value : undefined;
}

const samePerm = (a: number[] | undefined, b: number[]): boolean =>
  !!a && a.length === b.length && a.every((v, i) => v === b[i]);

/** What one of Q, K, V is before its heads are split: `x3` [B, S, H·D] reshaped to [B, S, H, D]. */
interface Split {
  x3: string;
  shape: readonly Dim[];
  heads: number;
  dim: number;
  ops: string[];
}

/**
 * `value` = Transpose(Reshape(x3, [B, S, H, D]), perm) with `perm` [0, 2, 1, 3] (heads first) or
 * [0, 2, 3, 1] (heads first, transposed; also written as two Transposes, [0, 2, 1, 3] then
 * [0, 1, 3, 2]), every intermediate read by this chain only.
 */
function splitHeads(
  graph: IRGraph,
  value: string | undefined,
  transposed: boolean,
  outer: ReadonlySet<string>,
): Split | undefined {
  const ops: string[] = [];
  let t = made(graph, value, 'Transpose');
  if (!t || !soleConsumer(graph, value!, outer)) return undefined;
  ops.push(t.op);
  if (transposed && !samePerm(perm(graph, t.op), HEADS_FIRST_T)) {
    if (!samePerm(perm(graph, t.op), [0, 1, 3, 2]) || !soleConsumer(graph, t.ins[0]!, outer)) return undefined;
    t = made(graph, t.ins[0], 'Transpose');
    if (!t) return undefined;
    ops.push(t.op);
    if (!samePerm(perm(graph, t.op), HEADS_FIRST)) return undefined;
  } else if (!transposed && !samePerm(perm(graph, t.op), HEADS_FIRST)) return undefined;
  const r4 = t.ins[0];
  if (r4 === undefined || !soleConsumer(graph, r4, outer)) return undefined;
  const r = made(graph, r4, 'Reshape');
  const x3 = r?.ins[0];
  if (!r || x3 === undefined) return undefined;
  ops.push(r.op);
  const s4 = graph.value(r4).shape;
  const s3 = graph.value(x3).shape;
  if (!s4 || !s3 || s4.length !== 4 || s3.length !== 3 || graph.value(x3).dtype !== 'float32') return undefined;
  const [heads, dim] = [s4[2], s4[3]];
  if (typeof heads !== 'number' || typeof dim !== 'number' || !dimEq(s3[0]!, s4[0]!) || !dimEq(s3[1]!, s4[1]!))
    return undefined;
  if (s3[2] !== heads * dim) return undefined;
  return { x3, shape: s3, heads, dim, ops };
}

/** A mask added to the scores: any float32 value of rank ≤ 4 whose shape broadcasts to [B, H, S, T]. */
function broadcastsTo(shape: readonly Dim[] | null | undefined, full: Dim[]): boolean {
  if (!shape || shape.length > 4) return false;
  return shape.every((d, i) => d === 1 || dimEq(d, full[full.length - shape.length + i]!));
}

/**
 * Replaces scaled dot-product attention written out with its heads split and merged by Reshape and
 * Transpose, as PyTorch exports `matmul(softmax(q·kᵀ / √d + mask), v)` of a BERT or ViT layer:
 *   Qh = Transpose(Reshape(q, [B, S, H, D]), [0, 2, 1, 3]), Kᵀh likewise with [0, 2, 3, 1], Vh;
 *   P = Softmax(MatMul(Qh, Kᵀh) [/ c or · c] [+ mask], axis −1);
 *   y = Reshape(Transpose(MatMul(P, Vh), [0, 2, 1, 3]), [B, S, H·Dv])
 * by one ONNX Attention(q, k, v[, mask]; q_num_heads = kv_num_heads = H, scale), which reads the
 * heads where the projections wrote them and writes y the same way: no head transposes, and the
 * scores of one head at a time stay in cache instead of a [B, H, S, T] tensor going through
 * memory twice. Every intermediate must be read by the pattern only. Returns the number replaced.
 */
export function fuseAttention(graph: IRGraph): number {
  let fused = 0;
  const outer = outerReferenced(graph);
  const sole = (v: string | undefined): { op: string; slot: number } | undefined =>
    v === undefined ? undefined : soleConsumer(graph, v, outer);
  // MatMul(Qh, Kᵀh) [/ c or · c]: the product, the scale and the ops
  const scores = (v: string | undefined): { qk: string; scale: number; ops: string[] } | undefined => {
    const mm = made(graph, v, 'MatMul');
    if (mm) return { qk: mm.op, scale: 1, ops: [mm.op] };
    const s = made(graph, v, 'Div') ?? made(graph, v, 'Mul');
    if (!s) return undefined;
    const isDiv = graph.op(s.op).opType === 'Div';
    const slot = isDiv ? 0 : [0, 1].find((i) => made(graph, s.ins[i], 'MatMul'));
    const inner = slot === undefined ? undefined : made(graph, s.ins[slot], 'MatMul');
    const c = slot === undefined ? undefined : scalarWeight(graph, s.ins[1 - slot]);
    if (!inner || c === undefined || c === 0 || !sole(s.ins[slot!])) return undefined;
    return { qk: inner.op, scale: isDiv ? 1 / c : c, ops: [s.op, inner.op] };
  };
  for (const id of graph.topoOps()) {
    if (!graph.hasOp(id) || !isOp(graph, id, 'Softmax')) continue;
    const sm = graph.op(id);
    const x = graph.opInputs(id)[0];
    const p = graph.opOutputs(id)[0];
    if (x === undefined || p === undefined || graph.value(x).shape?.length !== 4 || !sole(x)) continue;
    const axisAttr = sm.attrs.axis;
    const axis = axisAttr && axisAttr.type === 'int' ? axisAttr.value : sm.opset >= 13 ? -1 : 1;
    if (axis !== -1 && axis !== 3) continue;
    // the scores [+ mask]
    let chain = scores(x);
    let mask: string | undefined;
    const ops = [id];
    const add = chain ? undefined : made(graph, x, 'Add');
    for (let slot = 0; add && !chain && slot < 2; slot++) {
      chain = sole(add.ins[slot]) ? scores(add.ins[slot]) : undefined;
      mask = add.ins[1 - slot];
    }
    if (add) {
      if (!chain || mask === undefined || graph.value(mask).dtype !== 'float32') continue;
      ops.push(add.op);
    }
    if (!chain) continue;
    ops.push(...chain.ops);
    const [qh, kth] = graph.opInputs(chain.qk);
    const q = splitHeads(graph, qh, false, outer);
    const k = splitHeads(graph, kth, true, outer);
    // P · Vh, then the heads merged back: Reshape(Transpose(·, [0, 2, 1, 3]), [B, S, H·Dv])
    const pv = sole(p);
    if (!q || !k || !pv || pv.slot !== 0 || !isOp(graph, pv.op, 'MatMul')) continue;
    const v = splitHeads(graph, graph.opInputs(pv.op)[1], false, outer);
    const back = sole(graph.opOutputs(pv.op)[0]);
    if (!v || !back || !isOp(graph, back.op, 'Transpose') || !samePerm(perm(graph, back.op), HEADS_FIRST)) continue;
    const merge = sole(graph.opOutputs(back.op)[0]);
    const y = merge ? graph.opOutputs(merge.op)[0] : undefined;
    if (!merge || y === undefined || merge.slot !== 0 || !isOp(graph, merge.op, 'Reshape')) continue;
    const heads = q.heads;
    if (k.heads !== heads || v.heads !== heads || k.dim !== q.dim) continue;
    const [batch, seq] = [q.shape[0]!, q.shape[1]!];
    const kvSeq = k.shape[1]!;
    const ys = graph.value(y).shape;
    if (!ys || ys.length !== 3 || !dimEq(ys[0]!, batch) || !dimEq(ys[1]!, seq) || ys[2] !== heads * v.dim) continue;
    if (!dimEq(v.shape[1]!, kvSeq) || !dimEq(k.shape[0]!, batch) || !dimEq(v.shape[0]!, batch)) continue;
    if (mask !== undefined && !broadcastsTo(graph.value(mask).shape, [batch, heads, seq, kvSeq])) continue;

    ops.push(...q.ops, ...k.ops, ...v.ops, pv.op, back.op, merge.op);
    const first = graph.op(chain.qk);
    const attrs: Record<string, AttrValue> = {
      q_num_heads: { type: 'int', value: heads },
      kv_num_heads: { type: 'int', value: heads },
      scale: { type: 'float', value: chain.scale },
    };
    for (const op of ops) graph.removeOp(op);
    graph.addOp(
      { opType: 'Attention', domain: '', opset: 23, attrs, loc: first.loc, name: `${first.name}.attention` },
      mask === undefined ? [q.x3, k.x3, v.x3] : [q.x3, k.x3, v.x3, mask],
      [y],
    );
    fused++;
  }
  // the intermediates, and the head shapes' computations where they were not constants
  if (fused) deadCodeElimination(graph);
  return fused;
}

export const fuseAttentionPass: Pass = {
  name: 'fuse-attention',
  summary: 'replace attention written with head Reshape/Transpose, MatMul and Softmax by one Attention',
  kind: 'transform',
  options: {},
  run(graph, ctx) {
    if (!fleetTakes(ctx, 'Attention'))
      return { changed: false, summary: 'skipped: the fleet has non-cpu devices or refuses Attention' };
    const n = fuseAttention(graph);
    return { changed: n > 0, summary: `${n} attention blocks fused` };
  },
};
