import { product } from '../../src/ir/sym.js';
import type { IRGraph } from '../../src/ir/graph.js';
import { encodeElements } from './eval/bytes.js';
import { lookupEvalFn } from './eval/index.js';
import { allNumbers } from './eval/tensor.js';
import type { Known } from './types.js';

/** Names every subgraph reads from enclosing scopes; such values must survive even without a visible use. */
function outerNames(graph: IRGraph, out = new Set<string>()): Set<string> {
  for (const id of graph.ops()) {
    for (const [, sub] of graph.subgraphs(id)) {
      for (const v of sub.values()) if (sub.value(v).role === 'outer') out.add(v);
      outerNames(sub, out);
    }
  }
  return out;
}

export interface FoldStats {
  folded: number;
  removed: number;
}

/**
 * Replaces ops whose outputs are all known constants (from the evaluator: constant inputs, or
 * shape arithmetic over static shapes) by inline weights of the same value names, then drops
 * the ops and weights that only fed them. Top-level graph only; graph outputs are left alone.
 */
export function foldGraph(graph: IRGraph, knowns: Map<string, Known>, maxElements: number): FoldStats {
  const outputs = new Set(graph.outputs);
  const keep = outerNames(graph);
  const work: string[] = [];
  let folded = 0;
  for (const id of graph.topoOps()) {
    const op = graph.op(id);
    if (!lookupEvalFn(op.domain, op.opType) || graph.subgraphs(id).length) continue;
    const outs = graph.opOutputs(id);
    const data: [string, Known, Uint8Array][] = [];
    let ok = outs.some((v) => v !== undefined);
    for (const v of outs) {
      if (v === undefined) continue;
      const k = knowns.get(v);
      const bytes =
        k && allNumbers(k.data) && k.data.length <= maxElements ? encodeElements(k.dtype, k.data) : undefined;
      if (!k || !bytes || outputs.has(v)) {
        ok = false;
        break;
      }
      data.push([v, k, bytes]);
    }
    if (!ok) continue;
    for (const v of graph.opInputs(id)) if (v !== undefined) work.push(v);
    graph.removeOp(id);
    for (const [v, k, bytes] of data) {
      graph.updateValue(v, {
        role: 'weight',
        dtype: k.dtype,
        shape: k.shape.slice(),
        weight: { kind: 'inline', data: bytes },
      });
    }
    folded++;
  }
  let removed = 0;
  while (work.length) {
    const v = work.pop()!;
    if (!graph.hasValue(v) || outputs.has(v) || keep.has(v) || graph.consumers(v).length) continue;
    const val = graph.value(v);
    if (val.role === 'input' || val.role === 'outer' || val.role === 'state') continue;
    const p = graph.producer(v);
    if (!p) {
      if (val.role === 'weight' || val.role === 'intermediate') graph.removeValue(v);
      continue;
    }
    const pOuts = graph.opOutputs(p.op);
    if (
      graph.subgraphs(p.op).length ||
      pOuts.some((o) => o !== undefined && (graph.consumers(o).length || outputs.has(o) || keep.has(o)))
    )
      continue;
    const ins = graph.opInputs(p.op);
    graph.removeOp(p.op);
    for (const o of pOuts) if (o !== undefined) graph.removeValue(o);
    removed++;
    for (const i of ins) if (i !== undefined) work.push(i);
  }
  return { folded, removed };
}

export function elementCount(shape: number[]): number {
  return product(shape) as number;
}
