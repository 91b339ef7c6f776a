import type { AttrValue, DType } from '../../ir/index.js';
import { dtypeCode } from '../../ir/dtype.js';
import type { MOp, MType } from './ast.js';
import { intsOf } from './attrs-ir.js';
import { opName, type Lowering } from './lowering.js';
import { elemDType } from './dense.js';

/**
 * stablehlo.dot_general / stablehlo.dot → one matrix product on the operands as they lie.
 *
 * Exporters that pass weights as function arguments (PyTorch/XLA, JAX) transpose them right
 * before the product (`transpose %w, dims = [1, 0]` then `dot_general`); nothing folds at compile
 * time, so a literal lowering moves every weight matrix once per run. Here a Transpose that feeds
 * the product is looked through (its permutation goes into the dimension numbers), and an operand
 * whose contracting dims come before its free dims (or after, for the rhs) becomes a transposed
 * operand of the GEMM (Gemm transA/transB, com.microsoft FusedMatMul for batches) instead of a
 * copy. Batch dims that do not lead, or groups of dims that are not contiguous, still go through
 * Transpose (a blocked, vectorised kernel) to the canonical [batch, M, K] × [batch, K, N].
 */

/** Element types the MatMul kernels take; other dot_generals stay stablehlo ops. */
const MATMUL_TYPES = new Set<DType>([
  'float32',
  'float16',
  'bfloat16',
  'float64',
  'int32',
  'int64',
  'uint32',
  'uint64',
]);

interface Dot {
  a: string;
  b: string;
  /** operand dims (-1: dynamic) */
  ld: number[];
  rd: number[];
  lb: number[];
  rb: number[];
  lc: number[];
  rc: number[];
}

const dtypeOf = (t: MType | undefined): DType | undefined => (t?.kind === 'tensor' ? elemDType(t.elem) : undefined);
const dimsOf = (t: MType | undefined): number[] => (t?.kind === 'tensor' ? t.dims : []);
const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
const prod = (dims: number[], idx: number[]): number => idx.reduce((p, i) => p * dims[i]!, 1);
const same = (x: number[], y: number[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);

export function dotGeneral(cx: Lowering, op: MOp, ins: string[], out: string): boolean {
  const dn = op.attrs['dot_dimension_numbers'];
  if (dn?.k !== 'struct') return false;
  const f = (n: string): number[] => intsOf(dn.fields[n]) ?? [];
  return lowerDot(
    cx,
    op,
    {
      a: ins[0]!,
      b: ins[1]!,
      ld: dimsOf(op.operandTypes[0]),
      rd: dimsOf(op.operandTypes[1]),
      lb: f('lhs_batching_dimensions'),
      rb: f('rhs_batching_dimensions'),
      lc: f('lhs_contracting_dimensions'),
      rc: f('rhs_contracting_dimensions'),
    },
    out,
  );
}

/** stablehlo.dot: vector/matrix products, lhs's last dim against rhs's first. */
export function dot(cx: Lowering, op: MOp, ins: string[], out: string): boolean {
  const ld = dimsOf(op.operandTypes[0]);
  const rd = dimsOf(op.operandTypes[1]);
  if (ld.length < 1 || ld.length > 2 || rd.length < 1 || rd.length > 2) return false;
  return lowerDot(cx, op, { a: ins[0]!, b: ins[1]!, ld, rd, lb: [], rb: [], lc: [ld.length - 1], rc: [0] }, out);
}

function lowerDot(cx: Lowering, op: MOp, d0: Dot, out: string): boolean {
  const outDt = dtypeOf(op.resultTypes[0]);
  const [lT, rT] = op.operandTypes;
  if (!outDt || !lT || !rT || !MATMUL_TYPES.has(outDt)) return false;
  let d = lookThrough(cx, lookThrough(cx, d0, 'lhs'), 'rhs');
  // Mixed or widened precision (preferred_element_type): compute in the result type.
  for (const side of ['lhs', 'rhs'] as const) {
    const src = side === 'lhs' ? d.a : d.b;
    if (cx.graph.value(src).dtype === outDt) continue;
    const c = cx.tmp(`${out}_${side}`, outDt, cx.graph.value(src).shape);
    cx.onnx('Cast', [src], [c], op, { to: { type: 'int', value: dtypeCode(outDt) } });
    d = side === 'lhs' ? { ...d, a: c } : { ...d, b: c };
  }
  const stat = d.ld.every((x) => x >= 0) && d.rd.every((x) => x >= 0);
  if (asGemm(cx, op, d, out, outDt, stat)) return true;
  if (stat) return canonicalMatMul(cx, op, d, out, outDt);
  return einsum(cx, op, d, out);
}

/**
 * dot_general(transpose(x, perm), …) ≡ dot_general(x, …) with dim k of the transposed operand
 * read as dim perm[k] of x, as long as the free dims keep their order (they set the result's).
 */
function lookThrough(cx: Lowering, d: Dot, side: 'lhs' | 'rhs'): Dot {
  const v = side === 'lhs' ? d.a : d.b;
  const p = cx.graph.producer(v);
  if (!p) return d;
  const t = cx.graph.op(p.op);
  const perm = t.attrs['perm'];
  if (t.opType !== 'Transpose' || t.domain !== '' || perm?.type !== 'ints') return d;
  const x = cx.graph.opInputs(p.op)[0];
  if (x === undefined) return d;
  const dims = side === 'lhs' ? d.ld : d.rd;
  const batch = side === 'lhs' ? d.lb : d.rb;
  const contract = side === 'lhs' ? d.lc : d.rc;
  const free = dims.map((_, i) => i).filter((i) => !batch.includes(i) && !contract.includes(i));
  const mapped = free.map((i) => perm.value[i]!);
  if (mapped.some((m, i) => i > 0 && m < mapped[i - 1]!)) return d;
  const xd = dims.map(() => 0);
  perm.value.forEach((src, i) => (xd[src] = dims[i]!));
  const map = (xs: number[]): number[] => xs.map((i) => perm.value[i]!);
  return side === 'lhs'
    ? { ...d, a: x, ld: xd, lb: map(d.lb), lc: map(d.lc) }
    : { ...d, b: x, rd: xd, rb: map(d.rb), rc: map(d.rc) };
}

/**
 * The operand's non-batch dims as two contiguous groups, free then contracting ('fc') or
 * contracting then free ('cf'), with the batch dims leading and every group in increasing order
 * (so the contracting dims of both sides pair up in memory order); null when they are not.
 */
function layout(rank: number, batch: number[], contract: number[]): 'fc' | 'cf' | null {
  const nb = batch.length;
  if (!same(batch, range(0, nb))) return null;
  const nc = contract.length;
  const nf = rank - nb - nc;
  if (same(contract, range(rank - nc, nc))) return 'fc';
  if (same(contract, range(nb, nc)) && nf > 0) return 'cf';
  return null;
}

/** MatMul, Gemm or FusedMatMul on the operands as they lie (Reshape only merges adjacent dims). */
function asGemm(cx: Lowering, op: MOp, d: Dot, out: string, dt: DType, stat: boolean): boolean {
  const lr = d.ld.length;
  const rr = d.rd.length;
  const nb = d.lb.length;
  const la = layout(lr, d.lb, d.lc);
  const rl = layout(rr, d.rb, d.rc);
  // contracting dims pair up in order on both sides
  if (!la || !rl || d.rb.length !== nb) return false;
  const transA = la === 'cf';
  const transB = rl === 'fc';
  const nfl = lr - nb - d.lc.length;
  const nfr = rr - nb - d.rc.length;
  const trans: Record<string, AttrValue> = {};
  if (transA) trans['transA'] = { type: 'int', value: 1 };
  if (transB) trans['transB'] = { type: 'int', value: 1 };
  // No batch, lhs [free…, K] and a 2-D rhs: numpy MatMul already gives [free…, N].
  if (nb === 0 && !transA && d.lc.length === 1 && d.rc.length === 1 && rr === 2 && lr >= 2) {
    if (!transB) cx.onnx('MatMul', [d.a, d.b], [out], op);
    else if (lr === 2) cx.onnx('Gemm', [d.a, d.b], [out], op, trans);
    else fusedMatMul(cx, op, [d.a, d.b], out, trans);
    return true;
  }
  // Single dims per group: batch + [rows, cols] as they lie.
  const single = d.lc.length === 1 && d.rc.length === 1 && nfl === 1 && nfr === 1;
  if (!single && !stat) return false;
  const shape = (dims: number[], g1: number[], g2: number[]): number[] => [
    ...dims.slice(0, nb),
    prod(dims, g1),
    prod(dims, g2),
  ];
  const lfree = range(transA ? nb + d.lc.length : nb, nfl);
  const rfree = range(transB ? nb : nb + d.rc.length, nfr);
  const a2 = single
    ? d.a
    : reshape(cx, op, d.a, shape(d.ld, transA ? d.lc : lfree, transA ? lfree : d.lc), `${out}_l`, dt);
  const b2 = single
    ? d.b
    : reshape(cx, op, d.b, shape(d.rd, transB ? rfree : d.rc, transB ? d.rc : rfree), `${out}_r`, dt);
  const od = dimsOf(op.resultTypes[0]);
  const mm = [...d.ld.slice(0, nb), prod(d.ld, lfree), prod(d.rd, rfree)];
  const direct = single || same(mm, od);
  const y = direct ? out : cx.tmp(`${out}_mm`, dt, mm);
  if (nb === 0) cx.onnx('Gemm', [a2, b2], [y], op, trans);
  else if (transA || transB) fusedMatMul(cx, op, [a2, b2], y, trans);
  else cx.onnx('MatMul', [a2, b2], [y], op);
  if (!direct) cx.onnx('Reshape', [y, cx.i64(`${out}_oshape`, od)], [out], op);
  return true;
}

function reshape(cx: Lowering, op: MOp, x: string, target: number[], base: string, dt: DType): string {
  const cur = cx.graph.value(x).shape;
  if (cur && same(cur as number[], target)) return x;
  const t = cx.tmp(base, dt, target);
  cx.onnx('Reshape', [x, cx.i64(`${t}_shape`, target)], [t], op);
  return t;
}

/** com.microsoft FusedMatMul: MatMul with the last two dims of A and/or B transposed in place. */
function fusedMatMul(cx: Lowering, op: MOp, ins: string[], out: string, attrs: Record<string, AttrValue>): void {
  cx.graph.addOp(
    {
      opType: 'FusedMatMul',
      domain: 'com.microsoft',
      opset: 1,
      attrs,
      loc: cx.loc(op.pos, op.userLoc),
      name: opName('FusedMatMul', [out]),
    },
    ins,
    [out],
  );
}

/**
 * Any static dot_general as one batched MatMul: lhs → [batch…, free…, contract…] → [B, M, K],
 * rhs → [batch…, contract…, free…] → [B, K, N], MatMul, then reshape to the result's dims.
 */
function canonicalMatMul(cx: Lowering, op: MOp, d: Dot, out: string, dt: DType): boolean {
  const { ld, rd } = d;
  const lfree = ld.map((_, i) => i).filter((i) => !d.lb.includes(i) && !d.lc.includes(i));
  const rfree = rd.map((_, i) => i).filter((i) => !d.rb.includes(i) && !d.rc.includes(i));
  const B = prod(ld, d.lb);
  const M = prod(ld, lfree);
  const K = prod(ld, d.lc);
  const N = prod(rd, rfree);
  const batched = d.lb.length > 0;
  const arrange = (x: string, dims: number[], perm: number[], target: number[], tag: string): string => {
    let cur = x;
    if (perm.some((p, i) => p !== i)) {
      const t = cx.tmp(
        `${out}_${tag}t`,
        dt,
        perm.map((p) => dims[p]!),
      );
      cx.onnx('Transpose', [cur], [t], op, { perm: { type: 'ints', value: perm } });
      cur = t;
    }
    return reshape(cx, op, cur, target, `${out}_${tag}r`, dt);
  };
  const a2 = arrange(d.a, ld, [...d.lb, ...lfree, ...d.lc], batched ? [B, M, K] : [M, K], 'l');
  const b2 = arrange(d.b, rd, [...d.rb, ...d.rc, ...rfree], batched ? [B, K, N] : [K, N], 'r');
  const od = dimsOf(op.resultTypes[0]);
  const mm = batched ? [B, M, N] : [M, N];
  const direct = same(mm, od);
  const y = direct ? out : cx.tmp(`${out}_mm`, dt, mm);
  cx.onnx('MatMul', [a2, b2], [y], op);
  if (!direct) cx.onnx('Reshape', [y, cx.i64(`${out}_oshape`, od)], [out], op);
  return true;
}

/** Einsum (dynamic shapes): letters for lhs dims, rhs reuses letters for batch and contracting dims. */
function einsum(cx: Lowering, op: MOp, d: Dot, out: string): boolean {
  const L = 'abcdefghijklmnopqrstuvwxyz';
  const lr = d.ld.length;
  const rr = d.rd.length;
  let next = 0;
  const lhs: string[] = [];
  for (let i = 0; i < lr; i++) lhs.push(L[next++]!);
  const rhs: string[] = new Array(rr).fill('');
  d.lb.forEach((x, i) => (rhs[d.rb[i]!] = lhs[x]!));
  d.lc.forEach((x, i) => (rhs[d.rc[i]!] = lhs[x]!));
  for (let i = 0; i < rr; i++) if (!rhs[i]) rhs[i] = L[next++]!;
  if (next > 26) return false;
  const outL = [
    ...d.lb.map((x) => lhs[x]!),
    ...lhs.filter((_, i) => !d.lb.includes(i) && !d.lc.includes(i)),
    ...rhs.filter((_, i) => !d.rb.includes(i) && !d.rc.includes(i)),
  ];
  cx.onnx('Einsum', [d.a, d.b], [out], op, {
    equation: { type: 'string', value: `${lhs.join('')},${rhs.join('')}->${outL.join('')}` },
  });
  return true;
}
