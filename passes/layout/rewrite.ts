import type { IRGraph, Use } from '../../src/ir/graph.js';
import { FLEETC_DOMAIN } from '../fuse/conv.js';
import { type BlockedConvKind, blockedInputs } from './eligible.js';
import { addBlockedValue, addReorder, BLOCKED, PLAIN } from './reorder.js';

/**
 * Runs the convs of one chain blocked: each becomes a fleetc FusedConv with `layout: NCHW8c`
 * (an ONNX Conv first turns into a FusedConv of the same inputs and attributes), reading its X
 * (a stem's plain: `input_layout: NCHW`) and Z blocked and writing its output blocked. A value that comes from outside the chain is
 * blocked once by a Reorder shared by all its blocked readers (`blockedCopies`, value → its
 * blocked copy, shared between chains); a value the chain makes that something outside it reads
 * (an op, a graph output, a subgraph: `outer`) is made plain again by one Reorder that writes the
 * value's own name, the conv writing a fresh blocked one. Returns the number of Reorders added.
 */
export function blockChain(
  graph: IRGraph,
  chain: ReadonlyMap<string, BlockedConvKind>,
  blockedCopies: Map<string, string>,
  outer: ReadonlySet<string>,
): number {
  const members = new Set(chain.keys());
  let reorders = 0;
  for (const [id, kind] of chain) {
    const ins = graph.opInputs(id);
    for (const slot of blockedInputs(kind)) {
      const v = ins[slot];
      const from = v === undefined ? undefined : graph.producer(v);
      if (v === undefined || (from && members.has(from.op))) continue;
      let blocked = blockedCopies.get(v);
      if (blocked === undefined) {
        blocked = addBlockedValue(graph, v);
        addReorder(graph, v, blocked, BLOCKED, graph.op(id).loc);
        blockedCopies.set(v, blocked);
        reorders++;
      }
      graph.setOpInput(id, slot, blocked);
    }
  }
  const readsBlocked = (u: Use): boolean => {
    const kind = chain.get(u.op);
    return kind !== undefined && blockedInputs(kind).includes(u.slot);
  };
  for (const id of members) {
    const [y] = graph.opOutputs(id);
    if (y === undefined) continue;
    const uses = graph.consumers(y);
    if (uses.every(readsBlocked) && !graph.outputs.includes(y) && !outer.has(y)) continue;
    const blocked = addBlockedValue(graph, y);
    graph.setOpOutput(id, 0, blocked);
    for (const u of uses) if (readsBlocked(u)) graph.setOpInput(u.op, u.slot, blocked);
    addReorder(graph, blocked, y, PLAIN, graph.op(id).loc);
    reorders++;
  }
  for (const [id, kind] of chain) {
    const op = graph.op(id);
    const attrs = {
      ...op.attrs,
      layout: { type: 'string' as const, value: BLOCKED },
      ...(kind === 'stem' ? { input_layout: { type: 'string' as const, value: PLAIN } } : {}),
    };
    if (op.domain === FLEETC_DOMAIN) graph.updateOp(id, { attrs });
    else graph.updateOp(id, { opType: 'FusedConv', domain: FLEETC_DOMAIN, opset: 1, attrs });
  }
  return reorders;
}
