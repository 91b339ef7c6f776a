import type { IRGraph } from '../../src/ir/graph.js';
import { FLEETC_DOMAIN } from '../fuse/conv.js';
import { outerReferenced } from '../fuse/util.js';
import { BLOCKED, isReorder, layoutOf } from './reorder.js';

/**
 * The inverse of block-layout, for writing a compiled graph back as plain ONNX (`fleetc export`):
 * every fleetc.Reorder goes and every blocked FusedConv loses its `layout`, so that all values are
 * plain again. Each Reorder's two values become one that keeps the plain value's name (the input
 * of a Reorder into NCHW8c, the output of one into NCHW), or the other's where the plain name
 * cannot be kept (a graph input or output, a value a subgraph reads). Returns the Reorders removed.
 */
export function unblock(graph: IRGraph): number {
  const outer = outerReferenced(graph);
  let removed = 0;
  for (const id of graph.ops()) {
    const op = graph.op(id);
    if (op.domain === FLEETC_DOMAIN && op.opType === 'FusedConv' && layoutOf(op) !== undefined) {
      const { layout: _layout, input_layout: _inputLayout, ...attrs } = op.attrs;
      graph.updateOp(id, { attrs });
    }
    if (!isReorder(op)) continue;
    const [x] = graph.opInputs(id);
    const [y] = graph.opOutputs(id);
    if (x === undefined || y === undefined) throw new Error(`Reorder '${op.name}' lacks its input or output`);
    const keepOutput = layoutOf(op) !== BLOCKED;
    graph.removeOp(id);
    const done = keepOutput
      ? renameInto(graph, x, y, outer) || renameInto(graph, y, x, outer)
      : renameInto(graph, y, x, outer) || renameInto(graph, x, y, outer);
    if (!done) throw new Error(`Reorder '${op.name}' joins two values that must both keep their names`);
    removed++;
  }
  return removed;
}

/**
 * Makes `from` (the input or output of a removed Reorder) the same value as `to`: its producer
 * writes `to` and its readers read `to`. False, changing nothing, when `from` must keep its name
 * (a graph input or output, a subgraph reads it, a weight) or `to` already has a producer.
 */
function renameInto(graph: IRGraph, from: string, to: string, outer: ReadonlySet<string>): boolean {
  const producer = graph.producer(from);
  if (
    graph.inputs.includes(from) ||
    graph.outputs.includes(from) ||
    outer.has(from) ||
    graph.value(from).role === 'weight' ||
    (producer && graph.producer(to))
  )
    return false;
  if (producer) graph.setOpOutput(producer.op, producer.slot, to);
  graph.replaceAllUses(from, to);
  graph.removeValue(from);
  return true;
}
