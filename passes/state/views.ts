/**
 * Following a cached K or V tensor through the layout ops exporters put between the cache and the
 * attention's matrix products (Transpose for Kᵀ, Unsqueeze → Expand → Reshape for grouped-query
 * `repeat_kv`, Squeeze, scalar Mul/Div folding a scale into K). Every axis carries a label, so
 * the walk knows, at the MatMul, which axis is which and how query heads map to KV heads.
 */
import type { IRGraph } from '../../src/ir/graph.js';
import { dimEq, mul, type Dim } from '../../src/ir/sym.js';
import { weightNumbers } from '../fuse/util.js';

/** B batch, G KV heads, L cached tokens, D head size, 1 a unit axis, R a head repeat, H query heads (G × R). */
export type Label = 'B' | 'G' | 'L' | 'D' | '1' | 'R' | 'H';

export interface View {
  value: string;
  labels: Label[];
  dims: Dim[];
  /** Query heads per KV head (1 when the chain repeats nothing). */
  repeat: number;
  /** Scalar factors the chain multiplied in. */
  scale: number;
  /** Ops of the chain, in order. */
  ops: string[];
}

export interface ViewEnd {
  op: string;
  slot: number;
  view: View;
}

function intsAttr(graph: IRGraph, op: string, name: string): number[] | undefined {
  const a = graph.op(op).attrs[name];
  return a?.type === 'ints' ? a.value : undefined;
}

/** Axes of Unsqueeze/Squeeze: the attribute (old opsets) or a constant second input. */
function axesOf(graph: IRGraph, op: string, known: (v: string) => number[] | undefined): number[] | undefined {
  const attr = intsAttr(graph, op, 'axes');
  if (attr) return attr;
  const input = graph.opInputs(op)[1];
  return input ? known(input) : undefined;
}

/** One op applied to a view, or undefined when the op is not a layout op the walk understands. */
function step(graph: IRGraph, op: string, v: View, known: (v: string) => number[] | undefined): View | undefined {
  const o = graph.op(op);
  const out = graph.opOutputs(op)[0];
  if (out === undefined || o.domain !== '') return undefined;
  const outShape = graph.value(out).shape;
  if (!outShape) return undefined;
  const next = (labels: Label[], extra: Partial<View> = {}): View | undefined =>
    labels.length === outShape.length
      ? { ...v, value: out, labels, dims: outShape, ops: [...v.ops, op], ...extra }
      : undefined;
  switch (o.opType) {
    case 'Transpose': {
      const perm = intsAttr(graph, op, 'perm') ?? v.labels.map((_, i) => v.labels.length - 1 - i);
      return next(perm.map((p) => v.labels[p]!));
    }
    case 'Unsqueeze': {
      const axes = axesOf(graph, op, known);
      if (!axes) return undefined;
      const rank = v.labels.length + axes.length;
      const norm = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
      const labels: Label[] = [];
      let k = 0;
      for (let i = 0; i < rank; i++) labels.push(norm.has(i) ? '1' : v.labels[k++]!);
      return next(labels);
    }
    case 'Squeeze': {
      const axes = axesOf(graph, op, known);
      const norm = new Set((axes ?? []).map((a) => (a < 0 ? a + v.labels.length : a)));
      const labels = v.labels.filter((l, i) => !(axes ? norm.has(i) : l === '1'));
      if ([...norm].some((i) => v.labels[i] !== '1')) return undefined;
      return next(labels);
    }
    case 'Expand': {
      // a unit axis after G becomes the repeat; every other axis keeps its size
      const labels = [...v.labels];
      let repeat = v.repeat;
      for (let i = 0; i < labels.length; i++) {
        if (dimEq(v.dims[i]!, outShape[i]!)) continue;
        if (labels[i] !== '1' || labels[i - 1] !== 'G' || typeof outShape[i] !== 'number') return undefined;
        labels[i] = 'R';
        repeat *= outShape[i] as number;
      }
      return next(labels, { repeat });
    }
    case 'Reshape': {
      // only merging G and the repeat after it into query heads (h = g · repeat + r), and dropping unit axes
      const kept = v.labels.map((l, i) => ({ l, d: v.dims[i]! })).filter((x) => x.l !== '1');
      const labels: Label[] = [];
      for (let i = 0; i < kept.length; i++) {
        if (kept[i]!.l === 'G' && kept[i + 1]?.l === 'R') {
          labels.push('H');
          i++;
        } else labels.push(kept[i]!.l);
      }
      if (labels.length !== outShape.length) return undefined;
      // the merged axis must hold G × repeat heads
      const heads = labels.indexOf('H');
      if (heads >= 0 && !dimEq(mul(kept.find((x) => x.l === 'G')!.d, v.repeat), outShape[heads]!)) return undefined;
      return next(labels);
    }
    case 'Mul':
    case 'Div': {
      const ins = graph.opInputs(op);
      const other = ins[0] === v.value ? ins[1] : ins[0];
      const w = weightNumbers(graph, other);
      const c = w?.length === 1 ? w[0] : undefined;
      if (c === undefined || c === 0 || (o.opType === 'Div' && ins[1] !== other)) return undefined;
      return next(v.labels, { scale: v.scale * (o.opType === 'Div' ? 1 / c : c) });
    }
    default:
      return undefined;
  }
}

/**
 * Every MatMul the view reaches through layout ops (Shape readers are ignored: the pass gives
 * them the cache's shape another way). Undefined when a reader is neither.
 */
export function followToMatMuls(
  graph: IRGraph,
  start: View,
  known: (v: string) => number[] | undefined,
): ViewEnd[] | undefined {
  const ends: ViewEnd[] = [];
  const visit = (v: View): boolean => {
    for (const use of graph.consumers(v.value)) {
      const o = graph.op(use.op);
      if (o.opType === 'Shape' && o.domain === '') continue;
      if (o.opType === 'MatMul' && o.domain === '') {
        ends.push({ op: use.op, slot: use.slot, view: v });
        continue;
      }
      const n = step(graph, use.op, v, known);
      if (!n || !visit(n)) return false;
    }
    return true;
  };
  return visit(start) ? ends : undefined;
}
