import { decomposeAttention, decomposeLayerNorm } from '../../passes/fuse/unfuse.js';
import { FleetcError } from '../diagnostics/index.js';
import type { IRGraph } from '../ir/graph.js';
import type { AttrValue } from '../ir/graph.js';
import { readWeightBytes } from '../ir/weights.js';

/**
 * An ONNX model imports one opset version per domain, but a compiled graph can hold ops of
 * several versions of one domain: the model's own, and those the passes made (fuse-layernorm
 * writes LayerNormalization-17, the MoE and state passes write opset-13/17 ops into models of
 * any version). fleetc export writes each domain at the version most of its ops carry (the
 * model's) and rewrites the others into that version's form: the attribute↔input moves of
 * Squeeze, Unsqueeze, Split, ReduceSum (13), the other Reduce ops (18), TopK and Slice (10), Clip (11),
 * the axis of Softmax, LogSoftmax and Hardmax (13), LayerNormalization before 17 as its
 * decomposition. Other ops are the same across the versions in question and keep their form.
 */

/** Ops whose attribute became an input at `since` (slot: the input's index). */
const ATTR_TO_INPUT: Record<string, { since: number; attrs: string[]; slot: number }> = {
  Squeeze: { since: 13, attrs: ['axes'], slot: 1 },
  Unsqueeze: { since: 13, attrs: ['axes'], slot: 1 },
  ReduceSum: { since: 13, attrs: ['axes'], slot: 1 },
  Split: { since: 13, attrs: ['split'], slot: 1 },
  TopK: { since: 10, attrs: ['k'], slot: 1 },
  Slice: { since: 10, attrs: ['starts', 'ends', 'axes'], slot: 1 },
};
for (const r of ['Mean', 'Max', 'Min', 'Prod', 'L1', 'L2', 'LogSum', 'LogSumExp', 'SumSquare'])
  ATTR_TO_INPUT[`Reduce${r}`] = { since: 18, attrs: ['axes'], slot: 1 };

/** Ops whose form changed at these versions in a way the rewrites here do not cover. */
const CHANGED: Record<string, number[]> = {
  Pad: [11, 18],
  Resize: [11, 13],
  Upsample: [9, 10],
  Dropout: [12],
  BatchNormalization: [9],
  Scatter: [11],
};

/** Per domain, the version most ops carry (ties: the newer), over the graph and its subgraphs. */
export function domainOpsets(graph: IRGraph): Record<string, number> {
  const counts = new Map<string, Map<number, number>>();
  const visit = (g: IRGraph): void => {
    for (const id of g.ops()) {
      const op = g.op(id);
      const c = counts.get(op.domain) ?? new Map<number, number>();
      c.set(op.opset, (c.get(op.opset) ?? 0) + 1);
      counts.set(op.domain, c);
      for (const [, sub] of g.subgraphs(id)) visit(sub);
    }
  };
  visit(graph);
  const out: Record<string, number> = {};
  for (const [domain, c] of counts) {
    let best = 0;
    let n = -1;
    for (const [v, k] of c) if (k > n || (k === n && v > best)) [best, n] = [v, k];
    out[domain] = best;
  }
  return out;
}

function int64Weight(graph: IRGraph, base: string, values: number[], scalar = false): string {
  const name = graph.freshValueName(base);
  const data = new Uint8Array(8 * values.length);
  const dv = new DataView(data.buffer);
  values.forEach((v, i) => dv.setBigInt64(i * 8, BigInt(Math.max(-(2 ** 63), Math.min(2 ** 63 - 1, v))), true));
  graph.addValue({
    name,
    dtype: 'int64',
    shape: scalar ? [] : [values.length],
    role: 'weight',
    weight: { kind: 'inline', data },
  });
  return name;
}

/** The values of an int64 (or int32) weight, or undefined when `value` is not one. */
function intsOf(graph: IRGraph, value: string | undefined): number[] | undefined {
  if (value === undefined || !graph.hasValue(value) || graph.producer(value)) return undefined;
  const v = graph.value(value);
  if (!v.weight || v.weight.kind === 'elided' || (v.dtype !== 'int64' && v.dtype !== 'int32')) return undefined;
  const b = readWeightBytes(v.weight);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const size = v.dtype === 'int64' ? 8 : 4;
  return Array.from({ length: b.byteLength / size }, (_, i) =>
    size === 8 ? Number(dv.getBigInt64(i * 8, true)) : dv.getInt32(i * 4, true),
  );
}

function floatScalar(graph: IRGraph, value: string | undefined): number | undefined {
  if (value === undefined || !graph.hasValue(value) || graph.producer(value)) return undefined;
  const v = graph.value(value);
  if (!v.weight || v.weight.kind === 'elided' || v.dtype !== 'float32') return undefined;
  const b = readWeightBytes(v.weight);
  return b.byteLength === 4 ? new DataView(b.buffer, b.byteOffset).getFloat32(0, true) : undefined;
}

function f32Weight(graph: IRGraph, base: string, value: number): string {
  const name = graph.freshValueName(base);
  const data = new Uint8Array(4);
  new DataView(data.buffer).setFloat32(0, value, true);
  graph.addValue({ name, dtype: 'float32', shape: [], role: 'weight', weight: { kind: 'inline', data } });
  return name;
}

/** What the rewrites did, for the report. */
export interface OpsetRewrites {
  /** ops rewritten into another version's form, by op type */
  adapted: Record<string, number>;
  /** LayerNormalization ops written as their decomposition */
  decomposed: number;
}

/**
 * Rewrites every op of `graph` (and its subgraphs) whose version differs from its domain's in
 * `opsets` into that version's form, and stamps it with that version. Throws E0504 for an op
 * whose form changed in a way this cannot rewrite.
 */
export function adaptOpsets(
  graph: IRGraph,
  opsets: Readonly<Record<string, number>>,
  file: string,
  created?: (replaced: string, ops: string[]) => void,
): OpsetRewrites {
  const done: OpsetRewrites = { adapted: {}, decomposed: 0 };
  const visit = (g: IRGraph): void => {
    for (const id of g.ops()) {
      if (!g.hasOp(id)) continue;
      for (const [, sub] of g.subgraphs(id)) visit(sub);
      const op = g.op(id);
      const target = opsets[op.domain];
      if (target === undefined || op.opset === target) continue;
      if (op.domain !== '') {
        g.updateOp(id, { opset: target });
        continue;
      }
      const decompose =
        op.opType === 'LayerNormalization' && target < 17
          ? decomposeLayerNorm
          : op.opType === 'Attention' && target < 23
            ? decomposeAttention
            : undefined;
      if (decompose) {
        const ops: string[] = [];
        decompose(g, id, target, ops);
        if (g === graph) created?.(id, ops);
        done.decomposed++;
        continue;
      }
      if (adaptOp(g, id, target, file)) done.adapted[op.opType] = (done.adapted[op.opType] ?? 0) + 1;
      if (g.hasOp(id)) g.updateOp(id, { opset: target });
    }
  };
  visit(graph);
  return done;
}

function refuse(op: { name: string; opType: string; opset: number }, target: number, file: string, why: string): never {
  throw new FleetcError(
    'E0504',
    `op '${op.name}' (${op.opType}, opset ${op.opset}) cannot be written in the partition's ai.onnx opset ${target}: ${why}`,
    { file },
  );
}

/** Rewrites one ai.onnx op from its version to `target`; returns whether its form changed. */
function adaptOp(g: IRGraph, id: string, target: number, file: string): boolean {
  const op = g.op(id);
  const lo = Math.min(op.opset, target);
  const hi = Math.max(op.opset, target);
  const crosses = (v: number): boolean => lo < v && v <= hi;
  const up = target > op.opset;

  for (const v of CHANGED[op.opType] ?? [])
    if (crosses(v)) refuse(op, target, file, `${op.opType} changed form at opset ${v}`);

  if (['Softmax', 'LogSoftmax', 'Hardmax'].includes(op.opType) && crosses(13)) {
    const x = g.opInputs(id)[0];
    const rank = x === undefined ? undefined : g.value(x).shape?.length;
    const a = op.attrs.axis;
    const axis = a && a.type === 'int' ? a.value : op.opset < 13 ? 1 : -1;
    const last = axis === -1 || (rank !== undefined && axis === rank - 1);
    if (!last) refuse(op, target, file, `the meaning of its axis changed at opset 13 and axis ${axis} is not the last`);
    g.updateOp(id, { attrs: { ...op.attrs, axis: { type: 'int', value: -1 } } });
    return true;
  }

  if (op.opType === 'Clip') return adaptClip(g, id, target, file);
  const rule = ATTR_TO_INPUT[op.opType];
  if (!rule || !crosses(rule.since)) return false;
  const ins = g.opInputs(id).map((v) => v ?? '');
  const attrs: Record<string, AttrValue> = { ...op.attrs };
  if (up) {
    // attributes → constant inputs
    if (op.opType === 'Slice') {
      const get = (k: string): number[] | undefined => {
        const a = attrs[k];
        return a && a.type === 'ints' ? a.value : undefined;
      };
      const [starts, ends, axes] = [get('starts'), get('ends'), get('axes')];
      if (!starts || !ends) refuse(op, target, file, 'it has no starts/ends');
      delete attrs.starts;
      delete attrs.ends;
      delete attrs.axes;
      const extra = [int64Weight(g, `${op.name}/starts`, starts), int64Weight(g, `${op.name}/ends`, ends)];
      if (axes) extra.push(int64Weight(g, `${op.name}/axes`, axes));
      setInputs(g, id, [ins[0]!, ...extra], attrs);
      return true;
    }
    const a = attrs[rule.attrs[0]!];
    delete attrs[rule.attrs[0]!];
    const next = [...ins];
    while (next.length < rule.slot) next.push('');
    if (a && (a.type === 'ints' || a.type === 'int')) {
      const values = a.type === 'ints' ? a.value : [a.value];
      next[rule.slot] = int64Weight(g, `${op.name}/${rule.attrs[0]}`, values);
    } else if (op.opType === 'Split' && target >= 18) {
      attrs.num_outputs = { type: 'int', value: g.opOutputs(id).length };
    }
    setInputs(g, id, next, attrs);
    return true;
  }
  // constant inputs → attributes
  if (op.opType === 'Slice') {
    const [data, ...rest] = ins;
    const vals = rest.slice(0, 4).map((v) => (v ? intsOf(g, v) : undefined));
    if (!vals[0] || !vals[1] || (rest[2] && !vals[2]) || (rest[3] && vals[3]?.some((s) => s !== 1)))
      refuse(op, target, file, 'its starts, ends and axes are not constants (or it has steps)');
    attrs.starts = { type: 'ints', value: vals[0] };
    attrs.ends = { type: 'ints', value: vals[1] };
    if (vals[2]) attrs.axes = { type: 'ints', value: vals[2] };
    setInputs(g, id, [data!], attrs);
    return true;
  }
  const v = ins[rule.slot];
  if (v) {
    const values = intsOf(g, v);
    if (!values) refuse(op, target, file, `its ${rule.attrs[0]} input is not a constant`);
    attrs[rule.attrs[0]!] = op.opType === 'TopK' ? { type: 'int', value: values[0]! } : { type: 'ints', value: values };
  }
  if (op.opType === 'Split') delete attrs.num_outputs;
  setInputs(g, id, ins.slice(0, rule.slot), attrs);
  return true;
}

/** Re-points an op's inputs to `inputs` (trailing absent ones dropped) and sets its attributes. */
function setInputs(g: IRGraph, id: string, inputs: string[], attrs: Record<string, AttrValue>): void {
  const n = g.op(id).numInputs;
  for (let i = 0; i < Math.max(n, inputs.length); i++) g.setOpInput(id, i, inputs[i] ?? '');
  let count = inputs.length;
  while (count > 0 && !inputs[count - 1]) count--;
  g.updateOp(id, { attrs, numInputs: count });
}

/** Clip's bounds moved from attributes to inputs at opset 11. */
function adaptClip(g: IRGraph, id: string, target: number, file: string): boolean {
  const op = g.op(id);
  if (op.opType !== 'Clip' || Math.min(op.opset, target) >= 11 || Math.max(op.opset, target) < 11) return false;
  const [x, lo, hi] = g.opInputs(id);
  const attrs = { ...op.attrs };
  if (target >= 11) {
    const f = (k: string): number | undefined => {
      const a = attrs[k];
      delete attrs[k];
      return a && a.type === 'float' ? a.value : undefined;
    };
    const [mn, mx] = [f('min'), f('max')];
    if (x !== undefined && g.value(x).dtype !== 'float32')
      refuse(op, target, file, 'Clip bounds of a non-float32 input');
    setInputs(
      g,
      id,
      [
        x ?? '',
        mn === undefined ? '' : f32Weight(g, `${op.name}/min`, mn),
        mx === undefined ? '' : f32Weight(g, `${op.name}/max`, mx),
      ],
      attrs,
    );
    return true;
  }
  const [mn, mx] = [lo ? floatScalar(g, lo) : undefined, hi ? floatScalar(g, hi) : undefined];
  if ((lo && mn === undefined) || (hi && mx === undefined)) refuse(op, target, file, 'its bounds are not constants');
  if (mn !== undefined) attrs.min = { type: 'float', value: mn };
  if (mx !== undefined) attrs.max = { type: 'float', value: mx };
  setInputs(g, id, [x ?? ''], attrs);
  return true;
}
