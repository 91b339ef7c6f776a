import type { IRGraph } from '../../src/ir/graph.js';
import { type BlockedConvKind, blockedConvKind, blockedInputs } from './eligible.js';

/** Convs that read each other's outputs as X or Z: blocked together, they pass values on blocked. */
export interface ConvChain {
  /** Its convs in topological order, with the blocked kernel each runs. */
  kinds: Map<string, BlockedConvKind>;
  depthwise: number;
}

/**
 * The connected components of the convs that have a blocked kernel (blockedConvKind), two being
 * connected when one reads the other's output as an input it reads blocked (X but a stem's, Z);
 * in topological order of their first op.
 */
export function convChains(graph: IRGraph): ConvChain[] {
  const order = graph.topoOps();
  const kinds = new Map(
    order.flatMap((id) => {
      const k = blockedConvKind(graph, id);
      return k ? [[id, k] as const] : [];
    }),
  );
  const parent = new Map([...kinds.keys()].map((id) => [id, id]));
  const root = (id: string): string => {
    let r = id;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(id, r);
    return r;
  };
  for (const [id, kind] of kinds) {
    const ins = graph.opInputs(id);
    for (const slot of blockedInputs(kind)) {
      const v = ins[slot];
      const from = v === undefined ? undefined : graph.producer(v);
      if (from && kinds.has(from.op)) parent.set(root(from.op), root(id));
    }
  }
  const chains = new Map<string, ConvChain>();
  for (const [id, kind] of kinds) {
    const r = root(id);
    const chain: ConvChain = chains.get(r) ?? { kinds: new Map(), depthwise: 0 };
    chain.kinds.set(id, kind);
    if (kind === 'depthwise') chain.depthwise++;
    chains.set(r, chain);
  }
  return [...chains.values()];
}
