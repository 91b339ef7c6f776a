// Graph helpers for MoE detection: constants, parameter weights seen through layout ops, and
// walks along the data path of an op.
import type { IRGraph } from '../../src/ir/graph.js';
import { readWeightBytes } from '../../src/ir/weights.js';
import { decodeElements } from '../shape/eval/bytes.js';

/** The values of a small constant (a weight with bytes or a Constant op's output), or undefined. */
export function constValues(graph: IRGraph, value: string | undefined, limit = 64): number[] | undefined {
  if (value === undefined || !graph.hasValue(value)) return undefined;
  const v = graph.value(value);
  const prod = graph.producer(value);
  if (prod) {
    const op = graph.op(prod.op);
    if (op.opType !== 'Constant' && !(op.domain === 'stablehlo' && op.opType === 'constant')) return undefined;
    const t = op.attrs['value'];
    if (t?.type !== 'tensor' || t.value.ref.kind === 'elided') return undefined;
    const n = t.value.shape.reduce((a, b) => a * b, 1);
    if (n > limit) return undefined;
    return decodeElements(t.value.dtype, readWeightBytes(t.value.ref), n);
  }
  if (v.role !== 'weight' || !v.weight || v.weight.kind === 'elided' || !v.dtype || !v.shape) return undefined;
  if (!v.shape.every((d) => typeof d === 'number')) return undefined;
  const n = (v.shape as number[]).reduce((a, b) => a * b, 1);
  if (n > limit) return undefined;
  return decodeElements(v.dtype, readWeightBytes(v.weight), n);
}

/** A one-element integer constant, or undefined. */
export function constInt(graph: IRGraph, value: string | undefined): number | undefined {
  const c = constValues(graph, value, 1);
  return c && c.length === 1 && Number.isInteger(c[0]) ? c[0] : undefined;
}

const LAYOUT = new Set(['Transpose', 'Reshape', 'Squeeze', 'Unsqueeze', 'Flatten', 'Identity', 'Cast']);

/**
 * Where a matrix operand comes from when it is a model parameter: the float weight it is read
 * from (through layout ops, or a constant-index Slice / Gather of a stacked weight, as in
 * exports whose experts share one [E, …] tensor). `slice` is the index along the stacked axis.
 */
export interface ParamSource {
  weight: string;
  /** The value the op reads (the weight itself or a layout/slice of it). */
  read: string;
  slice?: number;
}

const splats = new WeakMap<object, boolean>();

/** A weight whose elements are all equal (a broadcast zero, a scale): a constant, not a parameter. */
function isSplat(graph: IRGraph, name: string): boolean {
  const v = graph.value(name);
  if (!v.weight || v.weight.kind === 'elided' || !v.dtype) return false;
  const key = v.weight;
  const known = splats.get(key);
  if (known !== undefined) return known;
  let result = false;
  const n = (v.shape ?? []).reduce<number>((a, d) => a * (typeof d === 'number' ? d : Infinity), 1);
  if (n <= 1 << 16) {
    const values = decodeElements(v.dtype, readWeightBytes(v.weight), n);
    result = !!values && values.every((x) => x === values[0]);
  }
  splats.set(key, result);
  return result;
}

export function paramSource(graph: IRGraph, value: string | undefined): ParamSource | undefined {
  let cur = value;
  let slice: number | undefined;
  for (let depth = 0; depth < 6 && cur !== undefined; depth++) {
    const v = graph.value(cur);
    const prod = graph.producer(cur);
    if (!prod) {
      if (v.role !== 'weight' || !v.dtype || !/^(b?float|float)/.test(v.dtype) || !v.shape) return undefined;
      const n = v.shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 2), 1);
      if (n < 2 || isSplat(graph, cur)) return undefined;
      return { weight: cur, read: value!, ...(slice !== undefined ? { slice } : {}) };
    }
    const op = graph.op(prod.op);
    const ins = graph.opInputs(prod.op);
    if (LAYOUT.has(op.opType) || (op.domain === 'stablehlo' && op.opType === 'convert')) cur = ins[0];
    else if (op.opType === 'Slice') {
      const starts = constValues(graph, ins[1]);
      const axes = ins[3] ? constValues(graph, ins[3]) : starts?.map((_, i) => i);
      const ends = constValues(graph, ins[2]);
      if (!starts || !axes || !ends) return undefined;
      const k = axes.indexOf(0);
      if (k >= 0 && ends[k]! - starts[k]! === 1) slice = starts[k];
      cur = ins[0];
    } else if (op.opType === 'Gather') {
      const axis = op.attrs['axis']?.type === 'int' ? op.attrs['axis'].value : 0;
      const idx = constInt(graph, ins[1]);
      if (axis !== 0 || idx === undefined) return undefined;
      slice = idx;
      cur = ins[0];
    } else return undefined;
  }
  return undefined;
}

/** Matrix ops whose weight operand makes them an expert or router layer. */
export const MATRIX_OPS = new Set(['MatMul', 'Gemm', 'FusedMatMul', 'Einsum']);

/** The parameter operand of a matrix op (slot and source), or undefined when both operands are activations. */
export function matrixParam(graph: IRGraph, op: string): { slot: number; source: ParamSource } | undefined {
  const o = graph.op(op);
  if (!MATRIX_OPS.has(o.opType)) return undefined;
  const ins = graph.opInputs(op);
  for (const slot of [1, 0]) {
    const s = paramSource(graph, ins[slot]);
    if (s) return { slot, source: s };
  }
  return undefined;
}

/** Every float parameter an op reads (matrices, biases, norms), by source. */
export function opParams(graph: IRGraph, op: string): ParamSource[] {
  const out: ParamSource[] = [];
  for (const v of graph.opInputs(op)) {
    const s = paramSource(graph, v);
    if (s) out.push(s);
  }
  return out;
}

/**
 * Follows the main data operand of `value` backwards through ops in `through` (slot 0, or the
 * non-constant operand of a binary op), up to `stopAt`; returns the values visited, `value` first.
 */
export function dataPath(
  graph: IRGraph,
  value: string,
  through: ReadonlySet<string>,
  stopAt?: string,
  maxDepth = 12,
): string[] {
  const path = [value];
  let cur = value;
  for (let i = 0; i < maxDepth && cur !== stopAt; i++) {
    const p = graph.producer(cur);
    if (!p) break;
    const op = graph.op(p.op);
    if (!through.has(op.opType)) break;
    const ins = graph.opInputs(p.op).filter((v): v is string => v !== undefined);
    const next = ins.find((v) => constValues(graph, v, 1) === undefined && !paramSource(graph, v)) ?? ins[0];
    if (next === undefined) break;
    path.push(next);
    cur = next;
  }
  return path;
}

/** Ops reachable forward from the consumers of `value` (its readers included). */
export function forwardOps(graph: IRGraph, value: string): Set<string> {
  const seen = new Set<string>();
  const stack = graph.consumers(value).map((u) => u.op);
  while (stack.length) {
    const op = stack.pop()!;
    if (seen.has(op)) continue;
    seen.add(op);
    for (const v of graph.opOutputs(op)) if (v) for (const u of graph.consumers(v)) stack.push(u.op);
  }
  return seen;
}

/** Ops from which `value` is reachable (its producer included). */
export function backwardOps(graph: IRGraph, value: string): Set<string> {
  const seen = new Set<string>();
  const first = graph.producer(value);
  const stack = first ? [first.op] : [];
  while (stack.length) {
    const op = stack.pop()!;
    if (seen.has(op)) continue;
    seen.add(op);
    for (const v of graph.opInputs(op)) {
      const p = v ? graph.producer(v) : undefined;
      if (p) stack.push(p.op);
    }
  }
  return seen;
}
