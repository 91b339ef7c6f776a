/**
 * What the engine feeds a decoder and reads from it: the token ids, positions, attention mask and
 * logits, by the names and shapes exporters use (Hugging Face: input_ids, position_ids,
 * attention_mask → logits; onnxruntime-genai's GPT-2: the same).
 */
import type { IRGraph } from '../../src/ir/graph.js';
import { isFloat } from '../../src/ir/dtype.js';
import { sym } from '../../src/ir/sym.js';

export interface GenerationRoles {
  tokens: string;
  positions?: string;
  attentionMask?: string;
  /** [batch] integers: the tokens each row already holds (a static cache's write indices). */
  pastLengths?: string;
  logits: string;
}

const isInt = (d: string | null): boolean => d === 'int64' || d === 'int32';

function pick(graph: IRGraph, names: string[], re: RegExp, ok: (name: string) => boolean): string | undefined {
  return names.find((n) => re.test(n) && ok(n));
}

/** The roles, or a reason why the graph is not a decoder the engine can drive. */
export function findRoles(
  graph: IRGraph,
  stateInputs: Set<string>,
  stateOutputs: Set<string>,
): GenerationRoles | string {
  const inputs = graph.inputs.filter((n) => !stateInputs.has(n));
  const rank2Int = (n: string): boolean => isInt(graph.value(n).dtype) && graph.value(n).shape?.length === 2;
  const tokens =
    pick(graph, inputs, /input_ids|^ids$|token/i, rank2Int) ??
    inputs.find(
      (n) => rank2Int(n) && graph.consumers(n).some((u) => graph.op(u.op).opType === 'Gather' && u.slot === 1),
    );
  if (!tokens) return 'no token-id input ([batch, seq] integers, e.g. input_ids)';
  const positions = pick(graph, inputs, /position/i, (n) => n !== tokens && rank2Int(n));
  const attentionMask = pick(
    graph,
    inputs,
    /attention_mask|^mask$/i,
    (n) => n !== tokens && graph.value(n).shape?.length === 2,
  );
  const outputs = graph.outputs.filter((n) => !stateOutputs.has(n));
  const floatLast = (n: string): boolean => {
    const v = graph.value(n);
    const last = v.shape?.[v.shape.length - 1];
    return !!v.dtype && isFloat(v.dtype) && typeof last === 'number';
  };
  const logits = pick(graph, outputs, /logits/i, floatLast) ?? outputs.find(floatLast);
  if (!logits) return 'no logits output (floats with a static vocabulary as the last dimension)';
  return { tokens, positions, attentionMask, logits };
}

/**
 * The most positions the model can take: rows of the position-embedding table or rotary cache
 * its positions input indexes (through casts and reshapes); undefined when nothing bounds them
 * (rotary computed from the positions).
 */
export function positionLimit(graph: IRGraph, positions: string | undefined): number | undefined {
  if (!positions || !graph.hasValue(positions)) return undefined;
  const rows = (v: string | undefined): number | undefined => {
    const s = v && graph.hasValue(v) && graph.value(v).role === 'weight' ? graph.value(v).shape : undefined;
    return typeof s?.[0] === 'number' ? s[0] : undefined;
  };
  const limits: number[] = [];
  const seen = new Set<string>();
  const visit = (v: string): void => {
    if (seen.has(v)) return;
    seen.add(v);
    for (const u of graph.consumers(v)) {
      const o = graph.op(u.op);
      const key = `${o.domain}:${o.opType}`;
      const ins = graph.opInputs(u.op);
      let limit: number | undefined;
      if (key === ':Gather' && u.slot === 1) limit = rows(ins[0]);
      else if (key === 'com.microsoft:EmbedLayerNormalization' && u.slot === 8) limit = rows(ins[3]);
      else if (key === 'com.microsoft:RotaryEmbedding' && u.slot === 1) limit = rows(ins[2]);
      else if (key === ':RotaryEmbedding' && u.slot === 3) limit = rows(ins[1]);
      else if (['Cast', 'Unsqueeze', 'Squeeze', 'Reshape', 'Flatten', 'Identity'].includes(o.opType) && u.slot === 0)
        for (const out of graph.opOutputs(u.op)) if (out) visit(out);
      if (limit !== undefined) limits.push(limit);
    }
  };
  visit(positions);
  return limits.length ? Math.min(...limits) : undefined;
}

/**
 * Computes logits only for the tokens the engine samples from: a Gather of the hidden states by a
 * new input `fleetc.logits_index` before the final projection (MatMul with a weight, optionally
 * + bias). Returns the input's name, or undefined when the head is not that simple.
 */
export function selectLogitRows(graph: IRGraph, logits: string): string | undefined {
  const chain: string[] = [];
  let v = logits;
  for (;;) {
    const p = graph.producer(v);
    if (!p) return undefined;
    const o = graph.op(p.op);
    const ins = graph.opInputs(p.op);
    if (o.domain !== '') return undefined;
    if (o.opType === 'Add' || o.opType === 'Cast') {
      const next = o.opType === 'Cast' ? ins[0] : ins.find((x) => x !== undefined && graph.producer(x) !== undefined);
      if (!next || (o.opType === 'Add' && ins.some((x) => x !== next && graph.value(x!).role !== 'weight')))
        return undefined;
      chain.push(p.op);
      v = next;
      continue;
    }
    if (o.opType !== 'MatMul' || graph.value(ins[1]!).role !== 'weight') return undefined;
    chain.push(p.op);
    const hidden = ins[0]!;
    const hs = graph.value(hidden).shape;
    if (!hs || hs.length !== 3 || graph.consumers(hidden).length < 1) return undefined;
    const index = graph.freshValueName('fleetc.logits_index');
    graph.addValue({ name: index, dtype: 'int64', shape: [sym('n_logits')], role: 'input' });
    graph.inputs = [...graph.inputs, index];
    const picked = graph.freshValueName(`${hidden}.selected`);
    graph.addValue({
      name: picked,
      dtype: graph.value(hidden).dtype,
      shape: [hs[0]!, sym('n_logits'), hs[2]!],
      role: 'intermediate',
    });
    graph.addOp(
      { opType: 'Gather', name: `${p.op}.select_rows`, attrs: { axis: { type: 'int', value: 1 } }, opset: o.opset },
      [hidden, index],
      [picked],
    );
    graph.setOpInput(p.op, 0, picked);
    // every value from the projection to the logits now has n_logits rows
    for (const op of chain) {
      const out = graph.opOutputs(op)[0]!;
      const s = graph.value(out).shape;
      if (s && s.length === 3) graph.updateValue(out, { shape: [s[0]!, sym('n_logits'), s[2]!] });
    }
    return index;
  }
}
