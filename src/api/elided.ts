import type { IRGraph } from '../ir/graph.js';

/**
 * Turns every top-level weight whose values are elided (StableHLO `dense_resource<__elided__>`)
 * into an extra graph input of the same name, dtype and shape, appended after the model's own
 * inputs in the order the model defines them, so that the compiled plan takes the values at run time
 * (`fleetc run --input NAME=FILE`). Returns the names it turned into inputs.
 *
 * Elided weights inside subgraphs are left alone (emission reports them, E0103).
 */
export function elidedWeightsToInputs(graph: IRGraph): string[] {
  const names = graph.values().filter((n) => {
    const v = graph.value(n);
    return v.role === 'weight' && v.weight?.kind === 'elided';
  });
  if (names.length === 0) return [];
  for (const n of names) graph.updateValue(n, { role: 'input', weight: undefined });
  graph.inputs = [...graph.inputs, ...names];
  return names;
}
