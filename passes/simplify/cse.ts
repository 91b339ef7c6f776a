import type { IRGraph, AttrValue, OpAttrs } from '../../src/ir/graph.js';
import type { WeightRef } from '../../src/ir/types.js';
import type { Pass } from '../pass.js';
import { outerRefs } from './outer.js';

/** Ops whose every run gives new results: never merged. */
const RANDOM = new Set([
  'RandomNormal',
  'RandomUniform',
  'RandomNormalLike',
  'RandomUniformLike',
  'Multinomial',
  'Bernoulli',
]);

function isRandom(graph: IRGraph, id: string, op: OpAttrs): boolean {
  if (RANDOM.has(op.opType)) return true;
  if (op.opType !== 'Dropout' || op.domain !== '') return false;
  // Dropout draws a mask in training mode: before opset 7 unless is_test=1, from 12 when the
  // training_mode input is given (we do not assume it is false).
  if (op.opset > 0 && op.opset < 7) return op.attrs.is_test?.value !== 1;
  return graph.opInputs(id)[2] !== undefined;
}

function refKey(r: WeightRef): string | null {
  switch (r.kind) {
    case 'inline':
      return `inline:${Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength).toString('base64')}`;
    case 'file':
      return `file:${r.path}:${r.offset}:${r.length}`;
    case 'elided':
      return null; // unknown values are not known to be equal
  }
}

/** Canonical text of an attribute, or null when it cannot be compared (subgraphs, elided data). */
function attrKey(a: AttrValue): string | null {
  switch (a.type) {
    case 'graph':
    case 'graphs':
      return null;
    case 'tensor': {
      const r = refKey(a.value.ref);
      return r && JSON.stringify(['tensor', a.value.dtype, a.value.shape, r]);
    }
    case 'tensors': {
      const rs = a.value.map((t) => refKey(t.ref));
      if (rs.includes(null)) return null;
      return JSON.stringify(['tensors', a.value.map((t, i) => [t.dtype, t.shape, rs[i]])]);
    }
    case 'type':
      return JSON.stringify(['type', a.value.dtype, a.value.shape?.map(String) ?? null]);
    case 'float':
    case 'floats':
      // JSON would print NaN as null; String keeps NaN and -0 apart from other values.
      return JSON.stringify([a.type, Array.isArray(a.value) ? a.value.map((x) => String(x)) : String(a.value)]);
    default:
      return JSON.stringify([a.type, a.value]);
  }
}

function opKey(graph: IRGraph, id: string): string | null {
  const op = graph.op(id);
  if (isRandom(graph, id, op)) return null;
  const attrs: [string, string][] = [];
  for (const name of Object.keys(op.attrs).sort()) {
    const k = attrKey(op.attrs[name]!);
    if (k === null) return null;
    attrs.push([name, k]);
  }
  const ins = graph.opInputs(id).map((v) => v ?? '');
  // Ops whose result type is declared rather than implied (stablehlo.iota, convert, bitcast_convert …)
  // can read the same inputs and attributes and still differ in the type they make.
  const outs = graph.opOutputs(id).map((v) => {
    if (v === undefined) return null;
    const val = graph.value(v);
    return [val.dtype, val.shape?.map(String) ?? null];
  });
  return JSON.stringify([op.domain, op.opType, op.opset, op.numOutputs, attrs, ins, outs]);
}

/**
 * Merges ops with the same type, domain, opset, attributes, inputs and output types into the first of them.
 * Keeps a duplicate whose outputs are graph outputs (their names are part of the interface) or
 * read by name from a subgraph. Returns the number of ops merged.
 */
export function commonSubexpressionElimination(graph: IRGraph): number {
  let merged = 0;
  for (const id of graph.ops())
    for (const [, sub] of graph.subgraphs(id)) merged += commonSubexpressionElimination(sub);
  const pinned = new Set(graph.outputs);
  for (const id of graph.ops()) for (const r of outerRefs(graph, id)) pinned.add(r);

  const seen = new Map<string, string>();
  for (const id of graph.topoOps()) {
    const key = opKey(graph, id);
    if (key === null) continue;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, id);
      continue;
    }
    const keepOuts = graph.opOutputs(first);
    const dupOuts = graph.opOutputs(id);
    const ok = dupOuts.every((v, i) => v === undefined || (keepOuts[i] !== undefined && !pinned.has(v)));
    if (!ok) continue;
    dupOuts.forEach((v, i) => {
      if (v !== undefined) graph.replaceAllUses(v, keepOuts[i]!);
    });
    graph.removeOp(id);
    for (const v of dupOuts) if (v !== undefined) graph.removeValue(v);
    merged++;
  }
  return merged;
}

export const csePass: Pass = {
  name: 'cse',
  summary: 'merge ops that compute the same thing from the same inputs',
  kind: 'transform',
  options: {},
  run(graph) {
    const n = commonSubexpressionElimination(graph);
    return { changed: n > 0, summary: `merged ${n} ops` };
  },
};
