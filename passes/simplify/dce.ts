import type { IRGraph } from '../../src/ir/graph.js';
import type { Pass } from '../pass.js';
import { outerRefs } from './outer.js';

/** Ops that change state outside their outputs (a KV cache's pages): they run though nothing reads them. */
const EFFECTS = new Set(['fleetc:KvAppend']);

export function hasEffects(graph: IRGraph, id: string): boolean {
  const o = graph.op(id);
  return EFFECTS.has(`${o.domain}:${o.opType}`);
}

/**
 * Removes ops none of whose outputs is used (by an op, a graph output, or a subgraph reading
 * it from an outer scope), repeatedly, and then values nothing uses or produces (unused
 * weights among them). Graph inputs stay. Recurses into subgraphs. Returns the ops removed.
 */
export function deadCodeElimination(graph: IRGraph): { ops: number; values: number } {
  let ops = 0;
  let values = 0;
  for (const id of graph.ops()) for (const [, sub] of graph.subgraphs(id)) ops += deadCodeElimination(sub).ops;

  const outerUse = new Map<string, number>();
  const refsOf = new Map<string, Set<string>>();
  for (const id of graph.ops()) {
    const refs = outerRefs(graph, id);
    if (refs.size === 0) continue;
    refsOf.set(id, refs);
    for (const r of refs) outerUse.set(r, (outerUse.get(r) ?? 0) + 1);
  }
  const keep = new Set([...graph.inputs, ...graph.outputs]);
  const used = (v: string): boolean => keep.has(v) || graph.consumers(v).length > 0 || (outerUse.get(v) ?? 0) > 0;
  const isDead = (id: string): boolean =>
    !hasEffects(graph, id) && graph.opOutputs(id).every((v) => v === undefined || !used(v));

  const work = graph.ops().reverse();
  const queued = new Set(work);
  while (work.length) {
    const id = work.pop()!;
    queued.delete(id);
    if (!graph.hasOp(id) || !isDead(id)) continue;
    const ins = graph.opInputs(id);
    const outs = graph.opOutputs(id);
    for (const r of refsOf.get(id) ?? []) {
      outerUse.set(r, outerUse.get(r)! - 1);
      ins.push(r);
    }
    graph.removeOp(id);
    ops++;
    for (const v of outs) {
      if (v === undefined) continue;
      graph.removeValue(v);
      values++;
    }
    for (const v of ins) {
      if (v === undefined || !graph.hasValue(v) || used(v)) continue;
      const p = graph.producer(v);
      if (p && !queued.has(p.op)) {
        queued.add(p.op);
        work.push(p.op);
      }
    }
  }
  for (const v of graph.values()) {
    if (used(v) || graph.producer(v)) continue;
    graph.removeValue(v);
    values++;
  }
  return { ops, values };
}

export const dcePass: Pass = {
  name: 'dce',
  summary: 'remove ops and values whose results nothing uses',
  kind: 'transform',
  options: {},
  run(graph) {
    const r = deadCodeElimination(graph);
    return { changed: r.ops + r.values > 0, summary: `removed ${r.ops} ops and ${r.values} values` };
  },
};
