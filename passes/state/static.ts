/**
 * Static KV caches (opset-24 exports): `present = TensorScatter(past, new, write_indices)` over a
 * cache of fixed capacity, read whole by an ai.onnx `Attention` that takes `nonpad_kv_seqlen`.
 * The scatter writes the new tokens at `write_indices`, so with the cache in the engine's pages
 * (appended in place at the sequence's length) `write_indices` is the number of tokens a sequence
 * already holds. The pair becomes a state object like a growing one, along the scatter's axis;
 * the model's fixed capacity bounds the context (its masks cannot express later positions).
 */
import type { IRGraph } from '../../src/ir/graph.js';
import type { KvCandidate } from '../analysis/kv.js';
import { probeValues, type ProbeRoles } from './probe.js';

export interface StaticCache {
  scatter: string;
  /** The new tokens' K or V (the scatter's updates). */
  update: string;
  /** The graph input holding each row's cached token count. */
  writeIndices: string;
  /** Tokens the model's cache holds. */
  capacity: number;
}

function intAttr(graph: IRGraph, op: string, name: string): number | undefined {
  const a = graph.op(op).attrs[name];
  return a?.type === 'int' ? a.value : undefined;
}

/**
 * The fixed-size pairs written by one TensorScatter each, as candidates along the scatter's axis;
 * or a reason naming the scatter when one is not in the form the engine drives.
 */
export function staticPairs(graph: IRGraph, fixed: KvCandidate[]): Map<KvCandidate, StaticCache> | string {
  const out = new Map<KvCandidate, StaticCache>();
  for (const pair of fixed) {
    const p = graph.producer(pair.output);
    if (!p) continue;
    const o = graph.op(p.op);
    if (o.domain !== '' || o.opType !== 'TensorScatter') continue;
    const [data, update, indices] = graph.opInputs(p.op);
    const shape = graph.value(pair.input).shape;
    const where = `op '${p.op}' (TensorScatter) writes the static KV cache '${pair.input}'`;
    if (data !== pair.input || !update) return `${where} but does not take it as its data`;
    if (!shape || shape.length < 2) return `${where}, whose rank is unknown`;
    const mode = graph.op(p.op).attrs.mode;
    if (mode?.type === 'string' && mode.value !== 'linear')
      return `${where} in ${mode.value} mode; only linear writes are driven`;
    const rawAxis = intAttr(graph, p.op, 'axis') ?? -2;
    const axis = rawAxis < 0 ? rawAxis + shape.length : rawAxis;
    const capacity = shape[axis];
    if (axis < 1 || typeof capacity !== 'number')
      return `${where} along axis ${rawAxis}, which is not a token axis of fixed size`;
    if (!indices || !graph.inputs.includes(indices) || !['int64', 'int32'].includes(graph.value(indices).dtype ?? ''))
      return `${where} at indices that are not an integer graph input (the tokens already cached per row)`;
    const seen = [...out.values()][0];
    if (seen && (seen.writeIndices !== indices || seen.capacity !== capacity))
      return `${where} at '${indices}' with capacity ${capacity}, unlike '${seen.scatter}' (${seen.writeIndices}, ${seen.capacity})`;
    out.set({ ...pair, axis, growth: null }, { scatter: p.op, update, writeIndices: indices, capacity });
  }
  return out;
}

/**
 * The values computed from the write indices that are the tokens' positions (write index + token
 * offset, checked on two probes), each replaced by `positions()`: the engine feeds positions per
 * token, which holds for several sequences flattened into one pass where one index per row cannot.
 * Returns how many were replaced.
 */
export function replaceDerivedPositions(
  graph: IRGraph,
  roles: ProbeRoles & { pastLengths: string },
  positions: () => string,
): number {
  const tokens = graph.value(roles.tokens).shape;
  const reach: string[] = [];
  const seen = new Set<string>([roles.pastLengths]);
  const queue = [roles.pastLengths];
  while (queue.length && reach.length < 64) {
    const v = queue.shift()!;
    for (const u of graph.consumers(v))
      for (const out of graph.opOutputs(u.op)) {
        if (!out || seen.has(out)) continue;
        seen.add(out);
        queue.push(out);
        const s = graph.value(out);
        if (['int64', 'int32'].includes(s.dtype ?? '') && s.shape?.length === 2) reach.push(out);
      }
  }
  if (!reach.length || !tokens) return 0;
  const isPositions = (past: number): Set<string> => {
    const known = probeValues(graph, roles, reach, { past });
    const ok = new Set<string>();
    for (const [v, k] of known ?? []) {
      const s = k.shape as number[];
      if (s.length === 2 && s[0] === 1 && k.data.every((x, i) => x === past + i) && k.data.length === s[1]) ok.add(v);
    }
    return ok;
  };
  const a = isPositions(2);
  const b = isPositions(5);
  let replaced = 0;
  for (const v of reach) {
    if (!a.has(v) || !b.has(v) || graph.outputs.includes(v) || graph.consumers(v).length === 0) continue;
    if (graph.value(v).dtype !== 'int64') continue;
    graph.replaceAllUses(v, positions());
    replaced++;
  }
  return replaced;
}
