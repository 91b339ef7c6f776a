import { costGraph, evaluator, opWork } from '../../passes/analysis/cost.js';
import type { FleetCost } from '../fleet/cost.js';
import type { IRGraph } from '../ir/graph.js';

/**
 * Predicted time of running every op of `graph` in sequence on device `d` of the fleet: each op
 * priced by the fleet's cost model (unbound symbols at 1, unknown costs at their dispatch only).
 */
export function predictSingleDevice(
  graph: IRGraph,
  cost: FleetCost,
  d: number,
  dims: ReadonlyMap<string, number>,
): number {
  const value = evaluator(dims);
  return costGraph(graph).ops.reduce((t, c) => t + cost.op(d, opWork(graph, c, value).work).time, 0);
}
