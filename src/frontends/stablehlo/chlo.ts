import { isFloat, type AttrValue, type DType } from '../../ir/index.js';
import type { Attr, MOp, MType } from './ast.js';
import { typeToString } from './ast.js';
import { intsOf } from './attrs-ir.js';
import type { Lowering, Scope } from './lowering.js';
import { DenseError, denseBytes, elemDType, encodeDense } from './dense.js';
import { hasSubByte } from './subbyte.js';

/**
 * The CHLO dialect (stablehlo/dialect/ChloOps.td), op by op: what each op becomes and the
 * element types it takes. docs/frontend-stablehlo.md prints this table and
 * test/stablehlo/chlo.test.ts keeps the two (and the chlo kernels) in step.
 *
 * - `onnx`: lowered to the ONNX op(s) named in `into`;
 * - `stablehlo`: lowered to StableHLO ops, which then lower as usual (the broadcasting binary
 *   ops: explicit broadcast_in_dim of each operand, then the element-wise op);
 * - `kernel`: kept as a `chlo.*` op and run by the native kernel of that name;
 * - `refused`: a compile-time E0103 (complex-only ops; fleetc has no complex element type).
 */
export type ChloHow = 'onnx' | 'stablehlo' | 'kernel' | 'refused';

export interface ChloOp {
  how: ChloHow;
  into: string;
  dtypes: string;
  /** Absent for kernels and refused ops. */
  rule?: Rule;
}

type Rule = (cx: Lowering, op: MOp, ins: string[], outs: string[], scope: Scope) => boolean;

const FLOATS = 'f16, bf16, f32, f64';
/** Integers of every width (2- and 4-bit ones run at 8 bits, src/frontends/stablehlo/subbyte.ts). */
const INTS = 'i2 … i64, ui2 … ui64';

const elemOf = (t: MType | undefined): string => (t?.kind === 'tensor' ? t.elem : '');
const dtypeOf = (t: MType | undefined): DType | undefined => elemDType(elemOf(t));
const isFloatT = (t: MType | undefined): boolean => {
  const d = dtypeOf(t);
  return d !== undefined && isFloat(d);
};

/** One ONNX op with the op's operands and results, for float operands. */
function onnx(opType: string, attrs: Record<string, AttrValue> = {}): Rule {
  return (cx, op, ins, outs) => {
    if (!isFloatT(op.operandTypes[0])) throw notFloat(cx, op);
    cx.onnx(opType, ins, outs, op, attrs);
    return true;
  };
}

const notFloat = (cx: Lowering, op: MOp): Error => {
  const bad = op.operandTypes.find((t) => !isFloatT(t)) ?? op.operandTypes[0];
  return cx.err(op.pos, `'${op.name}' takes float operands, got ${bad ? typeToString(bad) : 'none'}`);
};

const int = (value: number): AttrValue => ({ type: 'int', value });

/** The same op name as a StableHLO (or CHLO) op on operands already broadcast to the result shape. */
function elementwise(
  cx: Lowering,
  op: MOp,
  name: string,
  attrs: Record<string, Attr>,
  ins: string[],
  outs: string[],
  scope: Scope,
): void {
  const rt = op.resultTypes[0];
  const dims = rt?.kind === 'tensor' ? rt.dims : [];
  const operandTypes: MType[] = op.operandTypes.map((t) => (t.kind === 'tensor' ? { ...t, dims } : t));
  cx.lower({ ...op, name, attrs, operandTypes }, ins, outs, scope);
}

/**
 * The broadcasting binary ops: each operand goes through broadcast_in_dim to the result's shape
 * (`broadcast_dimensions` places a lower-rank operand; without it, numpy's rule aligns the
 * trailing dims), then the element-wise op takes equal shapes.
 */
function broadcasting(target: string, attrsOf: (op: MOp) => Record<string, Attr> = () => ({})): Rule {
  return (cx, op, ins, outs, scope) => {
    const elems = op.operandTypes.map(elemOf);
    const [x, y] = target === 'stablehlo.select' ? [elems[1], elems[2]] : [elems[0], elems[1]];
    if (x !== y || (target === 'stablehlo.select' && elems[0] !== 'i1'))
      throw cx.err(op.pos, `operand element types of '${op.name}' do not agree: ${elems.join(', ')}`);
    const b = ins.map((v, i) => broadcastOperand(cx, op, v, i, scope));
    elementwise(cx, op, target, attrsOf(op), b, outs, scope);
    return true;
  };
}

function broadcastOperand(cx: Lowering, op: MOp, v: string, i: number, scope: Scope): string {
  const t = op.operandTypes[i];
  const rt = op.resultTypes[0];
  if (t?.kind !== 'tensor' || rt?.kind !== 'tensor') throw cx.err(op.pos, `'${op.name}' needs ranked tensor types`);
  const r = t.dims.length;
  const R = rt.dims.length;
  if (r > R) throw cx.err(op.pos, `operand ${i} of '${op.name}' has rank ${r}, above the result's ${R}`);
  const given = intsOf(op.attrs['broadcast_dimensions']);
  const dims = r === R ? t.dims.map((_, d) => d) : (given ?? t.dims.map((_, d) => R - r + d));
  if (dims.length !== r || dims.some((d) => d < 0 || d >= R))
    throw cx.err(
      op.pos,
      `broadcast_dimensions [${dims.join(', ')}] do not fit operand ${i} (rank ${r}) of '${op.name}'`,
    );
  const same = r === R && t.dims.every((d, k) => d === rt.dims[k]);
  if (same) return v;
  t.dims.forEach((d, k) => {
    const want = rt.dims[dims[k]!]!;
    if (d === want || d === 1) return;
    if (d < 0 || want < 0)
      throw cx.err(
        op.pos,
        `'${op.name}' broadcasts operand ${i} to a dynamic shape; only static broadcasting is supported`,
        'E0103',
      );
    throw cx.err(op.pos, `operand ${i} of '${op.name}' (${typeToString(t)}) does not broadcast to ${typeToString(rt)}`);
  });
  if (rt.dims.some((d) => d < 0))
    throw cx.err(
      op.pos,
      `'${op.name}' broadcasts operand ${i} to a dynamic shape; only static broadcasting is supported`,
      'E0103',
    );
  const rty: MType = { kind: 'tensor', dims: rt.dims, elem: t.elem };
  const out = cx.tmp(`${v}_bcast`, dtypeOf(t) ?? null, rt.dims);
  const bop: MOp = {
    ...op,
    name: 'stablehlo.broadcast_in_dim',
    operands: [op.operands[i]!],
    operandPos: [op.operandPos[i] ?? op.pos],
    attrs: { broadcast_dimensions: { k: 'ints', v: dims, elem: 'i64' } },
    regions: [],
    operandTypes: [t],
    resultTypes: [rty],
  };
  cx.lower(bop, [v], [out], scope);
  return out;
}

/** chlo.broadcast_compare: the direction and compare type under StableHLO's attribute names. */
const compareAttrs = (op: MOp): Record<string, Attr> => {
  const out: Record<string, Attr> = {};
  const dir = op.attrs['comparison_direction'];
  if (dir?.k === 'enum') out['comparison_direction'] = { k: 'enum', name: 'comparison_direction', v: dir.v };
  const type = op.attrs['compare_type'];
  if (type?.k === 'enum' && type.v !== 'NOTYPE')
    out['compare_type'] = { k: 'enum', name: 'comparison_type', v: type.v };
  return out;
};

/** chlo.constant_like: a splat of `value` in the shape of the operand. */
const constantLike: Rule = (cx, op, ins, outs) => {
  const rt = op.resultTypes[0];
  const value = op.attrs['value'];
  if (rt?.kind !== 'tensor' || !value) throw cx.err(op.pos, "'chlo.constant_like' needs a value and a tensor result");
  const lit = literalOf(value);
  if (lit === undefined) throw cx.err(op.pos, "'chlo.constant_like' needs a scalar number or bool value", 'E0103');
  let bytes: Uint8Array;
  try {
    const one = encodeDense({
      k: 'dense',
      type: { ...rt, dims: [] },
      data: { kind: 'list', lits: [lit], shape: [] },
      pos: op.pos,
    });
    bytes = denseBytes(one);
  } catch (e) {
    if (e instanceof DenseError) throw cx.err(op.pos, e.message, e.unsupported ? 'E0103' : 'E0102');
    throw e;
  }
  const dtype = dtypeOf(rt)!;
  const scalar = {
    type: 'tensor' as const,
    value: { dtype, shape: [1], ref: { kind: 'inline' as const, data: bytes } },
  };
  const out = outs[0]!;
  if (rt.dims.every((d) => d >= 0)) {
    cx.onnx('ConstantOfShape', [cx.i64(`${out}_shape`, rt.dims)], [out], op, { value: scalar });
    return true;
  }
  const shape = cx.tmp(`${out}_shape`, 'int64', [rt.dims.length]);
  cx.onnx('Shape', [ins[0]!], [shape], op);
  cx.onnx('ConstantOfShape', [shape], [out], op, { value: scalar });
  return true;
};

/** A scalar attribute's literal text, as a dense<…> literal would spell it. */
function literalOf(a: Attr): string | undefined {
  if (a.k === 'bool') return a.v ? 'true' : 'false';
  if (a.k === 'int') return a.big !== undefined ? a.big.toString() : String(a.v);
  if (a.k === 'float') {
    if (Number.isNaN(a.v)) return 'nan';
    if (!Number.isFinite(a.v)) return a.v > 0 ? 'inf' : '-inf';
    return Object.is(a.v, -0) ? '-0.0' : String(a.v);
  }
  if (a.k === 'dense' && a.data.kind === 'list' && a.data.lits.length === 1) return a.data.lits[0];
  return undefined;
}

const kernel = (dtypes: string): ChloOp => ({ how: 'kernel', into: 'chlo kernel', dtypes });
const viaOnnx = (into: string, rule: Rule, dtypes = FLOATS): ChloOp => ({ how: 'onnx', into, dtypes, rule });
/** A broadcasting binary op: `target` is a StableHLO op name, or a CHLO one with its `chlo.` prefix. */
const viaShlo = (target: string, dtypes: string, attrs?: (op: MOp) => Record<string, Attr>): ChloOp => {
  const name = target.includes('.') ? target : `stablehlo.${target}`;
  return { how: 'stablehlo', into: `broadcast_in_dim, ${name}`, dtypes, rule: broadcasting(name, attrs) };
};
const refused = (into: string, dtypes: string): ChloOp => ({ how: 'refused', into, dtypes });

export const CHLO_OPS: Record<string, ChloOp> = {
  // Element-wise functions with an exact ONNX counterpart.
  acos: viaOnnx('Acos', onnx('Acos')),
  acosh: viaOnnx('Acosh', onnx('Acosh')),
  asin: viaOnnx('Asin', onnx('Asin')),
  asinh: viaOnnx('Asinh', onnx('Asinh')),
  atan: viaOnnx('Atan', onnx('Atan')),
  atanh: viaOnnx('Atanh', onnx('Atanh')),
  cosh: viaOnnx('Cosh', onnx('Cosh')),
  sinh: viaOnnx('Sinh', onnx('Sinh')),
  tan: viaOnnx('Tan', onnx('Tan')),
  erf: viaOnnx('Erf', onnx('Erf')),
  is_inf: viaOnnx('IsInf', onnx('IsInf')),
  is_neg_inf: viaOnnx('IsInf(detect_positive=0)', onnx('IsInf', { detect_positive: int(0) })),
  is_pos_inf: viaOnnx('IsInf(detect_negative=0)', onnx('IsInf', { detect_negative: int(0) })),
  square: viaOnnx('Mul(x, x)', (cx, op, ins, outs) => {
    if (!isFloatT(op.operandTypes[0])) throw notFloat(cx, op);
    cx.onnx('Mul', [ins[0]!, ins[0]!], outs, op);
    return true;
  }),
  conj: viaOnnx('Identity (real operands)', onnx('Identity')),
  constant: { how: 'onnx', into: 'a weight (as stablehlo.constant)', dtypes: 'all' },
  constant_like: viaOnnx('ConstantOfShape (with Shape when the shape is dynamic)', constantLike, 'all'),
  // Special functions: native kernels (native/src/kernels/chlo_elementwise.cpp).
  lgamma: kernel(FLOATS),
  digamma: kernel(FLOATS),
  erfc: kernel(FLOATS),
  erf_inv: kernel(FLOATS),
  bessel_i1e: kernel(FLOATS),
  polygamma: kernel(FLOATS),
  zeta: kernel(FLOATS),
  next_after: kernel(FLOATS),
  // Other kept ops with kernels of their own (stablehlo_data.cpp, stablehlo_linalg.cpp, stablehlo_region.cpp).
  top_k: kernel(`${FLOATS}, i1, i8 … i64, ui8 … ui64`),
  mulhi: kernel('i8 … i64, ui8 … ui64'),
  ragged_dot: kernel(`${FLOATS} (group sizes: integers)`),
  scan: kernel('any'),
  // Broadcasting binary ops.
  broadcast_add: viaShlo('add', `${FLOATS}, i1, ${INTS}`),
  broadcast_subtract: viaShlo('subtract', `${FLOATS}, ${INTS}`),
  broadcast_multiply: viaShlo('multiply', `${FLOATS}, i1, ${INTS}`),
  broadcast_divide: viaShlo('divide', `${FLOATS}, ${INTS}`),
  broadcast_remainder: viaShlo('remainder', `${FLOATS}, ${INTS}`),
  broadcast_maximum: viaShlo('maximum', `${FLOATS}, i1, ${INTS}`),
  broadcast_minimum: viaShlo('minimum', `${FLOATS}, i1, ${INTS}`),
  broadcast_power: viaShlo('power', `${FLOATS}, ${INTS}`),
  broadcast_atan2: viaShlo('atan2', FLOATS),
  broadcast_and: viaShlo('and', `i1, ${INTS}`),
  broadcast_or: viaShlo('or', `i1, ${INTS}`),
  broadcast_xor: viaShlo('xor', `i1, ${INTS}`),
  broadcast_shift_left: viaShlo('shift_left', INTS),
  broadcast_shift_right_arithmetic: viaShlo('shift_right_arithmetic', INTS),
  broadcast_shift_right_logical: viaShlo('shift_right_logical', INTS),
  broadcast_compare: viaShlo('compare', `${FLOATS}, i1, ${INTS}`, compareAttrs),
  broadcast_select: viaShlo('select', 'any'),
  broadcast_next_after: viaShlo('chlo.next_after', FLOATS),
  broadcast_polygamma: viaShlo('chlo.polygamma', FLOATS),
  broadcast_zeta: viaShlo('chlo.zeta', FLOATS),
  // Complex-only ops.
  broadcast_complex: refused('E0103 (complex result)', 'complex'),
  _asin_acos_kernel: refused('E0103 (complex operand)', 'complex'),
};

/** Lowers a `chlo.*` op by the table; an op the table does not know is E0103 at compile time. */
export function lowerChlo(cx: Lowering, op: MOp, ins: string[], outs: string[], scope: Scope): void {
  const info = CHLO_OPS[op.name.slice('chlo.'.length)];
  if (!info || info.how === 'refused')
    throw cx.err(op.pos, `unsupported op '${op.name}'${info ? ` (${info.into})` : ''}`, 'E0103');
  if (info.rule?.(cx, op, ins, outs, scope)) return;
  if (info.dtypes === FLOATS && !op.operandTypes.every(isFloatT)) throw notFloat(cx, op);
  // Kernels read whole bytes; mulhi's high half and top_k's order do not survive widening.
  if (hasSubByte(op)) throw cx.err(op.pos, `'${op.name}' on 2- or 4-bit integers is not supported`, 'E0103');
  cx.emitKept(op, ins, outs, scope);
}
