import type { IRGraph } from '../../src/ir/graph.js';

export interface CriticalPath {
  /** The ops on the longest path by predicted time, first to last. */
  ops: string[];
  /** Its length in seconds. */
  time: number;
}

/**
 * The longest path through the op DAG where each op weighs its predicted time (values weigh
 * nothing). `order` is a topological order of the ops (graph.topoOps()).
 */
export function criticalPath(graph: IRGraph, order: readonly string[], time: (op: string) => number): CriticalPath {
  const finish = new Map<string, number>();
  const via = new Map<string, string | undefined>();
  let end: string | undefined;
  let best = -1;
  for (const id of order) {
    let start = 0;
    let from: string | undefined;
    for (const v of graph.opInputs(id)) {
      if (v === undefined) continue;
      const p = graph.producer(v);
      if (!p) continue;
      const f = finish.get(p.op) ?? 0;
      if (from === undefined || f > start) {
        start = f;
        from = p.op;
      }
    }
    const f = start + time(id);
    finish.set(id, f);
    via.set(id, from);
    if (f > best) {
      best = f;
      end = id;
    }
  }
  const ops: string[] = [];
  for (let cur = end; cur !== undefined; cur = via.get(cur)) ops.push(cur);
  return { ops: ops.reverse(), time: Math.max(best, 0) };
}
