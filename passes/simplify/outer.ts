import type { IRGraph } from '../../src/ir/graph.js';

/** Names that subgraphs (at any depth) of `op` read from enclosing scopes. */
export function outerRefs(graph: IRGraph, op: string, out = new Set<string>()): Set<string> {
  for (const [, sub] of graph.subgraphs(op)) collect(sub, out);
  return out;
}

function collect(sub: IRGraph, out: Set<string>): void {
  for (const name of sub.values()) if (sub.value(name).role === 'outer') out.add(name);
  for (const id of sub.ops()) for (const [, inner] of sub.subgraphs(id)) collect(inner, out);
}
