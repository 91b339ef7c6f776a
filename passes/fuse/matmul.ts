import type { IRGraph, AttrValue } from '../../src/ir/graph.js';
import { dimEq, type Dim } from '../../src/ir/sym.js';
import type { Pass } from '../pass.js';
import { FLEETC_DOMAIN } from './conv.js';
import { fleetTakes, isOp, outerReferenced, dropIfUnused, sameShape, scalarWeight, soleConsumer } from './util.js';

/** Activations fleetc FusedMatMul applies (native/src/kernels/math_matmul_epilogue.cpp). */
export const MATMUL_ACTIVATIONS = ['Relu', 'Gelu', 'Tanh', 'Sigmoid'] as const;

const near = (v: number | undefined, want: number): boolean => v !== undefined && Math.abs(v - want) <= 1e-6;

/** The other input of a binary op than `slot`, or undefined. */
function otherInput(graph: IRGraph, op: string, slot: number): string | undefined {
  const ins = graph.opInputs(op);
  return ins.length === 2 ? ins[1 - slot] : undefined;
}

/**
 * GELU in the erf form exporters write, reading x: Div(x, √2) (or Mul(x, 1/√2)), Erf, Add 1,
 * then the product of x, that and 0.5 by two Muls in any of the orders (x·e)·½, x·(e·½),
 * (x·½)·e. Returns the ops and the final value, or undefined when x's readers are not exactly that.
 */
function eraseGelu(graph: IRGraph, x: string, outer: ReadonlySet<string>): { ops: string[]; out: string } | undefined {
  const uses = graph.consumers(x);
  if (uses.length !== 2 || graph.outputs.includes(x) || outer.has(x)) return undefined;
  const scale = uses.find(
    (u) =>
      (isOp(graph, u.op, 'Div') && u.slot === 0 && near(scalarWeight(graph, graph.opInputs(u.op)[1]), Math.SQRT2)) ||
      (isOp(graph, u.op, 'Mul') && near(scalarWeight(graph, otherInput(graph, u.op, u.slot)), Math.SQRT1_2)),
  );
  const xMul = uses.find((u) => u !== scale && isOp(graph, u.op, 'Mul'));
  if (!scale || !xMul) return undefined;
  const step = (v: string | undefined, opType: string): { op: string; slot: number; out: string } | undefined => {
    if (v === undefined) return undefined;
    const u = soleConsumer(graph, v, outer);
    const out = u ? graph.opOutputs(u.op)[0] : undefined;
    return u && out !== undefined && isOp(graph, u.op, opType) ? { ...u, out } : undefined;
  };
  const erf = step(graph.opOutputs(scale.op)[0], 'Erf');
  const plus1 = step(erf?.out, 'Add');
  if (!erf || !plus1 || !near(scalarWeight(graph, otherInput(graph, plus1.op, plus1.slot)), 1)) return undefined;
  const isHalf = (v: string | undefined): boolean => near(scalarWeight(graph, v), 0.5);
  const m1 = step(plus1.out, 'Mul');
  if (!m1) return undefined;
  const m1Other = otherInput(graph, m1.op, m1.slot);
  let last: { op: string; out: string } | undefined;
  if (m1.op === xMul.op && m1Other === x) {
    // (x·e)·½
    const m2 = step(m1.out, 'Mul');
    if (m2 && isHalf(otherInput(graph, m2.op, m2.slot))) last = m2;
  } else if (isHalf(m1Other)) {
    // x·(e·½)
    const m2 = step(m1.out, 'Mul');
    if (m2 && m2.op === xMul.op && otherInput(graph, m2.op, m2.slot) === x) last = m2;
  } else {
    // (x·½)·e: m1 reads x·½, which xMul makes
    const xHalf = graph.opOutputs(xMul.op)[0];
    if (
      isHalf(otherInput(graph, xMul.op, xMul.slot)) &&
      m1Other === xHalf &&
      soleConsumer(graph, xHalf!, outer)?.op === m1.op
    )
      last = m1;
  }
  if (!last) return undefined;
  const ops = [...new Set([scale.op, erf.op, plus1.op, xMul.op, m1.op, last.op])];
  return { ops, out: last.out };
}

/**
 * The factor of a Mul by a one-value constant, or of a Div by a power of two (whose reciprocal is
 * exact), reading the product at `slot`: what the SGEMM's alpha computes with the same rounding.
 * Undefined for anything else (attention's scores ÷ √d: √64 = 8 qualifies, √96 does not).
 */
function scaleOf(graph: IRGraph, op: string, slot: number): number | undefined {
  const c = scalarWeight(graph, otherInput(graph, op, slot));
  if (c === undefined || !Number.isFinite(c) || c === 0) return undefined;
  if (isOp(graph, op, 'Mul')) return c;
  if (!isOp(graph, op, 'Div') || slot !== 0) return undefined;
  const e = Math.log2(Math.abs(c));
  return Number.isInteger(e) && Math.abs(e) < 100 ? 1 / c : undefined;
}

/** A single-op activation reading `v` as input 0: its name for the epilogue. */
function activationOp(graph: IRGraph, op: string): string | undefined {
  const a = graph.op(op);
  if (a.domain !== '' || graph.opInputs(op).length !== 1) return undefined;
  if (a.opType === 'Gelu') {
    const approx = a.attrs.approximate;
    return !approx || (approx.type === 'string' && approx.value === 'none') ? 'Gelu' : undefined;
  }
  return (MATMUL_ACTIVATIONS as readonly string[]).includes(a.opType) ? a.opType : undefined;
}

/**
 * Whether an Add of a value of shape `s` to the product (shape `y`) is a bias for the epilogue:
 * one value per column ([N], leading dims of 1 allowed), one value, or one such row per index of
 * the product's leading dims with 1 after them, the rows dim included (an attention mask
 * [batch, 1, 1, N] over scores [batch, heads, M, N]): what the kernel's bias_rows takes.
 */
function biasRows(s: readonly Dim[] | null | undefined, y: readonly Dim[]): boolean {
  if (!s || s.length > y.length) return false;
  if (s.length === 0) return true;
  const last = s[s.length - 1]!;
  const n = y[y.length - 1]!;
  if (s.slice(0, -1).every((d) => d === 1)) return dimEq(last, n) || last === 1;
  if (s.length !== y.length || !dimEq(last, n)) return false;
  let k = 0;
  while (k < s.length - 2 && s[k] !== 1 && dimEq(s[k]!, y[k]!)) k++;
  return k > 0 && s.slice(k, -1).every((d) => d === 1);
}

/**
 * Fuses a float32 MatMul with what reads its output alone: a Mul by a constant scalar (or Div by
 * a power of two), an Add of a bias (biasRows: per output column, or per column and leading index
 * as an attention mask), an Add of a residual of the output's shape, then
 * an activation (Relu, Tanh, Sigmoid, GELU as the Gelu op or its erf form), each optional but in
 * that order, into one fleetc FusedMatMul(A, B, bias, Z) with `alpha` and `activation`, computing
 * act(alpha·A·B + bias + Z) as the product's blocks are finished. Returns the number fused.
 */
export function fuseMatMul(graph: IRGraph): number {
  let fused = 0;
  const outer = outerReferenced(graph);
  const f32 = (v: string | undefined): boolean => v !== undefined && graph.value(v).dtype === 'float32';
  for (const id of graph.topoOps()) {
    if (!graph.hasOp(id) || !isOp(graph, id, 'MatMul')) continue;
    const [a, b] = graph.opInputs(id);
    const [y] = graph.opOutputs(id);
    if (!f32(a) || !f32(b) || !f32(y)) continue;
    const yShape = graph.value(y!).shape;
    if (!yShape || yShape.length < 1) continue;
    let cur = y!;
    const removed: string[] = [];
    let bias: string | undefined;
    let residual: string | undefined;
    let use = soleConsumer(graph, cur, outer);
    const alpha = use ? scaleOf(graph, use.op, use.slot) : undefined;
    if (use && alpha !== undefined) {
      removed.push(use.op);
      cur = graph.opOutputs(use.op)[0]!;
      use = soleConsumer(graph, cur, outer);
    }
    const addOf = (u: { op: string; slot: number } | undefined): { other: string; out: string } | undefined => {
      if (!u || !isOp(graph, u.op, 'Add')) return undefined;
      const other = otherInput(graph, u.op, u.slot);
      const [out] = graph.opOutputs(u.op);
      if (other === undefined || other === cur || out === undefined || !f32(other) || !sameShape(graph, out, cur))
        return undefined;
      return { other, out };
    };
    const asBias = addOf(use);
    if (asBias) {
      if (biasRows(graph.value(asBias.other).shape, yShape)) {
        bias = asBias.other;
        removed.push(use!.op);
        cur = asBias.out;
        use = soleConsumer(graph, cur, outer);
      }
    }
    const asResidual = addOf(use);
    if (asResidual && sameShape(graph, asResidual.other, cur)) {
      residual = asResidual.other;
      removed.push(use!.op);
      cur = asResidual.out;
      use = soleConsumer(graph, cur, outer);
    }
    let activation: string | undefined;
    const single = use && use.slot === 0 ? activationOp(graph, use.op) : undefined;
    if (use && single) {
      activation = single;
      removed.push(use.op);
      cur = graph.opOutputs(use.op)[0]!;
    } else {
      const gelu = eraseGelu(graph, cur, outer);
      if (gelu) {
        activation = 'Gelu';
        removed.push(...gelu.ops);
        cur = gelu.out;
      }
    }
    if (!removed.length) continue;
    const mm = graph.op(id);
    const extra = removed.flatMap((r) => graph.opInputs(r));
    const inner = removed.flatMap((r) => graph.opOutputs(r));
    const attrs: Record<string, AttrValue> = {};
    if (activation) attrs.activation = { type: 'string', value: activation };
    if (alpha !== undefined) attrs.alpha = { type: 'float', value: alpha };
    for (const r of removed) graph.removeOp(r);
    graph.removeOp(id);
    const inputs = residual ? [a!, b!, bias ?? '', residual] : bias ? [a!, b!, bias] : [a!, b!];
    graph.addOp({ opType: 'FusedMatMul', domain: FLEETC_DOMAIN, opset: 1, attrs, loc: mm.loc, name: mm.name }, inputs, [
      cur,
    ]);
    for (const v of [y!, ...inner, ...extra]) if (v !== cur) dropIfUnused(graph, v, outer);
    fused++;
  }
  return fused;
}

export const fuseMatMulPass: Pass = {
  name: 'fuse-matmul',
  summary: 'fuse MatMul with a bias Add, a residual Add and an activation (GELU too) into fleetc FusedMatMul',
  kind: 'transform',
  options: {},
  run(graph, ctx) {
    if (!fleetTakes(ctx, 'FusedMatMul', FLEETC_DOMAIN))
      return { changed: false, summary: 'skipped: the fleet has non-cpu devices or refuses FusedMatMul' };
    const n = fuseMatMul(graph);
    return { changed: n > 0, summary: `${n} MatMul fused with their epilogue` };
  },
};
