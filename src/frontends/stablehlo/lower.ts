import { isFloat, type AttrValue, type DType, type Shape } from '../../ir/index.js';
import type { Attr, MOp, MType } from './ast.js';
import { intOf, intsOf } from './attrs-ir.js';
import { lowerChlo } from './chlo.js';
import { hasSubByte, lowerSubByte } from './subbyte.js';
import type { Lowering, Scope } from './lowering.js';
import { elemDType } from './dense.js';
import { dot, dotGeneral } from './lower-dot.js';

/**
 * StableHLO → ONNX where the semantics match exactly; everything else stays a `stablehlo.*` op
 * (see docs/frontend-stablehlo.md for the table and the reasons).
 */
export function lowerOp(cx: Lowering, op: MOp, ins: string[], outs: string[], scope: Scope): void {
  const short = op.name.startsWith('stablehlo.') ? op.name.slice(10) : '';
  if (op.name === 'tensor.cast') {
    // Only the static-ness of dims changes; the data and its layout do not.
    cx.onnx('Identity', ins, outs, op);
    return;
  }
  if (op.name.startsWith('chlo.')) return lowerChlo(cx, op, ins, outs, scope);
  const rule = short ? (RULES[short] ?? STATIC_FORMS[short]) : undefined;
  if (hasSubByte(op)) return lowerSubByte(cx, op, ins, outs, scope);
  if (rule && rule(cx, op, ins, outs, scope)) return;
  cx.emitKept(op, ins, outs, scope);
}

type Rule = (cx: Lowering, op: MOp, ins: string[], outs: string[], scope: Scope) => boolean;

const isUnsigned = (t: MType | undefined): boolean => t?.kind === 'tensor' && /^ui/.test(t.elem);
const signedOrFloat = (op: MOp): boolean => !isBool(op.operandTypes[0]) && !isUnsigned(op.operandTypes[0]);

const dtypeOf = (t: MType | undefined): DType | undefined => (t?.kind === 'tensor' ? elemDType(t.elem) : undefined);
const dimsOf = (t: MType | undefined): number[] => (t?.kind === 'tensor' ? t.dims : []);
const staticShape = (t: MType | undefined): boolean => t?.kind === 'tensor' && t.dims.every((d) => d >= 0);
const isBool = (t: MType | undefined): boolean => dtypeOf(t) === 'bool';
const isFloatT = (t: MType | undefined): boolean => {
  const d = dtypeOf(t);
  return d !== undefined && isFloat(d);
};
const irShape = (cx: Lowering, name: string): Shape | null => cx.graph.value(name).shape;

/** One ONNX op with the same inputs and outputs. */
function direct(opType: string, when: (op: MOp) => boolean = () => true, attrs: Record<string, AttrValue> = {}): Rule {
  return (cx, op, ins, outs) => {
    if (!when(op)) return false;
    cx.onnx(opType, ins, outs, op, attrs);
    return true;
  };
}

/** Logical ops on i1, bitwise on integers. */
function logical(boolOp: string, intOp: string): Rule {
  return (cx, op, ins, outs) => {
    cx.onnx(isBool(op.operandTypes[0]) ? boolOp : intOp, ins, outs, op);
    return true;
  };
}

const notBool = (op: MOp): boolean => !isBool(op.operandTypes[0]);
const floatOnly = (op: MOp): boolean => isFloatT(op.operandTypes[0]);

const COMPARE: Record<string, string> = {
  EQ: 'Equal',
  LT: 'Less',
  LE: 'LessOrEqual',
  GT: 'Greater',
  GE: 'GreaterOrEqual',
};

const RULES: Record<string, Rule> = {
  add: (cx, op, ins, outs) => (cx.onnx(isBool(op.operandTypes[0]) ? 'Or' : 'Add', ins, outs, op), true),
  subtract: direct('Sub', notBool),
  multiply: (cx, op, ins, outs) => (cx.onnx(isBool(op.operandTypes[0]) ? 'And' : 'Mul', ins, outs, op), true),
  // Integer x/0 is -1 in StableHLO (undefined in ONNX): integer division stays a stablehlo op.
  divide: direct('Div', floatOnly),
  maximum: (cx, op, ins, outs) => (cx.onnx(isBool(op.operandTypes[0]) ? 'Or' : 'Max', ins, outs, op), true),
  minimum: (cx, op, ins, outs) => (cx.onnx(isBool(op.operandTypes[0]) ? 'And' : 'Min', ins, outs, op), true),
  exponential: direct('Exp', floatOnly),
  log: direct('Log', floatOnly),
  tanh: direct('Tanh', floatOnly),
  negate: direct('Neg', signedOrFloat),
  abs: direct('Abs', notBool),
  sqrt: direct('Sqrt', floatOnly),
  floor: direct('Floor', floatOnly),
  ceil: direct('Ceil', floatOnly),
  sine: direct('Sin', floatOnly),
  cosine: direct('Cos', floatOnly),
  tan: direct('Tan', floatOnly),
  logistic: direct('Sigmoid', floatOnly),
  sign: direct('Sign', signedOrFloat),
  round_nearest_even: direct('Round', floatOnly),
  // remainder has the sign of the dividend, like C fmod: ONNX Mod with fmod=1 (required for floats).
  remainder: direct('Mod', floatOnly, { fmod: { type: 'int', value: 1 } }),
  power: direct('Pow', floatOnly),
  and: logical('And', 'BitwiseAnd'),
  or: logical('Or', 'BitwiseOr'),
  xor: logical('Xor', 'BitwiseXor'),
  not: logical('Not', 'BitwiseNot'),
  select: direct('Where'),
  optimization_barrier: (cx, op, ins, outs) => {
    ins.forEach((v, i) => cx.onnx('Identity', [v], [outs[i]!], op));
    return true;
  },
  rsqrt: (cx, op, ins, outs) => {
    if (!floatOnly(op)) return false;
    const v = cx.graph.value(outs[0]!);
    const s = cx.tmp(`${outs[0]}_sqrt`, v.dtype, v.shape);
    cx.onnx('Sqrt', ins, [s], op);
    cx.onnx('Reciprocal', [s], outs, op);
    return true;
  },
  convert: (cx, op, ins, outs) => {
    const to = dtypeOf(op.resultTypes[0]);
    const from = dtypeOf(op.operandTypes[0]);
    if (!to) return false;
    // Float → unsigned/narrow int conversions of out-of-range values differ between specs; in range they agree.
    cx.onnx(
      from === to ? 'Identity' : 'Cast',
      ins,
      outs,
      op,
      from === to ? {} : { to: { type: 'int', value: onnxCode(to) } },
    );
    return true;
  },
  reshape: (cx, op, ins, outs) => {
    if (!staticShape(op.resultTypes[0])) return false;
    cx.onnx('Reshape', [ins[0]!, cx.i64(`${outs[0]}_shape`, dimsOf(op.resultTypes[0]))], outs, op);
    return true;
  },
  transpose: (cx, op, ins, outs) => {
    const perm = intsOf(op.attrs['permutation']) ?? [];
    if (perm.every((p, i) => p === i)) cx.onnx('Identity', ins, outs, op);
    else cx.onnx('Transpose', ins, outs, op, { perm: { type: 'ints', value: perm } });
    return true;
  },
  concatenate: (cx, op, ins, outs) => {
    cx.onnx('Concat', ins, outs, op, { axis: { type: 'int', value: intOf(op.attrs['dimension']) ?? 0 } });
    return true;
  },
  slice: (cx, op, ins, outs) => {
    const starts = intsOf(op.attrs['start_indices']) ?? [];
    const o = outs[0]!;
    if (!starts.length) {
      cx.onnx('Identity', ins, outs, op);
      return true;
    }
    cx.onnx(
      'Slice',
      [
        ins[0]!,
        cx.i64(`${o}_starts`, starts),
        cx.i64(`${o}_ends`, intsOf(op.attrs['limit_indices']) ?? []),
        cx.i64(
          `${o}_axes`,
          starts.map((_, i) => i),
        ),
        cx.i64(`${o}_steps`, intsOf(op.attrs['strides']) ?? starts.map(() => 1)),
      ],
      outs,
      op,
    );
    return true;
  },
  compare: (cx, op, ins, outs) => {
    const dir = op.attrs['comparison_direction'];
    const type = op.attrs['compare_type'];
    if (dir?.k !== 'enum' || (type?.k === 'enum' && type.v === 'TOTALORDER')) return false;
    const bool = isBool(op.operandTypes[0]);
    if (dir.v === 'NE') {
      const e = cx.tmp(`${outs[0]}_eq`, 'bool', irShape(cx, outs[0]!));
      cx.onnx('Equal', ins, [e], op);
      cx.onnx('Not', [e], outs, op);
      return true;
    }
    if (bool && dir.v !== 'EQ') return false;
    cx.onnx(COMPARE[dir.v]!, ins, outs, op);
    return true;
  },
  clamp: (cx, op, ins, outs) => {
    // clamp(min, x, max) = min(max(x, min), max), with NaN and broadcasting as Max/Min define them.
    if (isBool(op.operandTypes[1])) return false;
    const v = cx.graph.value(outs[0]!);
    const lo = cx.tmp(`${outs[0]}_lo`, v.dtype, v.shape);
    cx.onnx('Max', [ins[1]!, ins[0]!], [lo], op);
    cx.onnx('Min', [lo, ins[2]!], outs, op);
    return true;
  },
  broadcast_in_dim: (cx, op, ins, outs) => broadcastInDim(cx, op, ins[0]!, outs[0]!),
  dot_general: (cx, op, ins, outs) => dotGeneral(cx, op, ins, outs[0]!),
  dot: (cx, op, ins, outs) => dot(cx, op, ins, outs[0]!),
  reduce: (cx, op, ins, outs) => reduce(cx, op, ins, outs),
  convolution: (cx, op, ins, outs) => convolution(cx, op, ins, outs[0]!),
  pad: (cx, op, ins, outs) => {
    const interior = intsOf(op.attrs['interior_padding']) ?? [];
    if (interior.some((x) => x !== 0)) return false;
    const lo = intsOf(op.attrs['edge_padding_low']) ?? [];
    const hi = intsOf(op.attrs['edge_padding_high']) ?? [];
    cx.onnx('Pad', [ins[0]!, cx.i64(`${outs[0]}_pads`, [...lo, ...hi]), ins[1]!], outs, op, {
      mode: { type: 'string', value: 'constant' },
    });
    return true;
  },
};

/** An int64 list held by a constant operand, else undefined. */
function constInts(cx: Lowering, name: string): number[] | undefined {
  const c = cx.constBytes(name);
  if (!c || !/^u?int(8|16|32|64)$/.test(c.dtype)) return undefined;
  const dv = new DataView(c.bytes.buffer, c.bytes.byteOffset, c.bytes.byteLength);
  const bytes = Number(c.dtype.replace(/^u?int/, '')) / 8;
  const n = c.bytes.byteLength / bytes;
  const out: number[] = [];
  for (let i = 0; i < n; i++)
    out.push(
      bytes === 8
        ? Number(dv.getBigInt64(i * 8, true))
        : bytes === 4
          ? dv.getInt32(i * 4, true)
          : bytes === 2
            ? dv.getInt16(i * 2, true)
            : dv.getInt8(i),
    );
  return out;
}

const ints = (v: number[]): Attr => ({ k: 'ints', v, elem: 'i64' });

/** Lowers `op` as the static op `name` with `attrs`, on its first two operands. */
function lowerStatic(
  cx: Lowering,
  op: MOp,
  name: string,
  attrs: Record<string, Attr>,
  ins: string[],
  outs: string[],
  scope: Scope,
): true {
  lowerOp(cx, { ...op, name, attrs, operandTypes: op.operandTypes.slice(0, 2) }, ins.slice(0, 2), outs, scope);
  return true;
}

/** dynamic_* ops whose dynamic operands are constants: the static op (padding as attributes). */
const STATIC_FORMS: Record<string, Rule> = {
  dynamic_pad: (cx, op, ins, outs, scope) => {
    const [lo, hi, inner] = [ins[2], ins[3], ins[4]].map((v) => (v ? constInts(cx, v) : undefined));
    if (!lo || !hi || !inner) return false;
    const attrs = {
      ...op.attrs,
      edge_padding_low: ints(lo),
      edge_padding_high: ints(hi),
      interior_padding: ints(inner),
    };
    return lowerStatic(cx, op, 'stablehlo.pad', attrs, ins, outs, scope);
  },
  dynamic_conv: (cx, op, ins, outs, scope) => {
    const pad = ins[2] ? constInts(cx, ins[2]) : undefined;
    if (!pad) return false;
    const attrs = { ...op.attrs, padding: ints(pad) };
    return lowerStatic(cx, op, 'stablehlo.convolution', attrs, ins, outs, scope);
  },
};

const ONNX_CODES: Partial<Record<DType, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
  bfloat16: 16,
  uint4: 21,
  int4: 22,
};

function onnxCode(dt: DType): number {
  return ONNX_CODES[dt] ?? 0;
}

/** broadcast_in_dim → [Transpose] → [Reshape] → [Expand]. */
function broadcastInDim(cx: Lowering, op: MOp, x: string, out: string): boolean {
  const inT = op.operandTypes[0];
  const outT = op.resultTypes[0];
  if (!staticShape(inT) || !staticShape(outT)) return false;
  const dims = intsOf(op.attrs['broadcast_dimensions']) ?? [];
  const inDims = dimsOf(inT);
  const outDims = dimsOf(outT);
  const dtype = dtypeOf(inT)!;
  let cur = x;
  // Operand dims must appear in increasing result order; permute them first if not.
  const order = dims.map((d, i) => [d, i] as const).sort((a, b) => a[0] - b[0]);
  const perm = order.map(([, i]) => i);
  let curDims = inDims;
  if (perm.some((p, i) => p !== i)) {
    curDims = perm.map((p) => inDims[p]!);
    const t = cx.tmp(`${out}_perm`, dtype, curDims);
    cx.onnx('Transpose', [cur], [t], op, { perm: { type: 'ints', value: perm } });
    cur = t;
  }
  const sorted = order.map(([d]) => d);
  const reshaped = outDims.map(() => 1);
  sorted.forEach((d, i) => (reshaped[d] = curDims[i]!));
  const needExpand = reshaped.some((d, i) => d !== outDims[i]);
  // Operand dims on the trailing result dims broadcast as numpy does: Expand needs no Reshape.
  const trailing = sorted.every((d, i) => d === outDims.length - sorted.length + i);
  if (!(trailing && needExpand) && (reshaped.length !== curDims.length || reshaped.some((d, i) => d !== curDims[i]))) {
    const t = needExpand ? cx.tmp(`${out}_rs`, dtype, reshaped) : out;
    cx.onnx('Reshape', [cur, cx.i64(`${out}_rshape`, reshaped)], [t], op);
    cur = t;
  }
  if (needExpand) cx.onnx('Expand', [cur, cx.i64(`${out}_eshape`, outDims)], [out], op);
  else if (cur !== out) cx.onnx('Identity', [cur], [out], op);
  return true;
}

const REDUCE_OPS: Record<string, { onnx: string; combine: string }> = {
  'stablehlo.add': { onnx: 'ReduceSum', combine: 'Add' },
  'stablehlo.maximum': { onnx: 'ReduceMax', combine: 'Max' },
  'stablehlo.minimum': { onnx: 'ReduceMin', combine: 'Min' },
  'stablehlo.multiply': { onnx: 'ReduceProd', combine: 'Mul' },
};

/** A single-input reduce whose body is one add/max/min/mul of its two arguments → Reduce*. */
function reduce(cx: Lowering, op: MOp, ins: string[], outs: string[]): boolean {
  if (ins.length !== 2 || op.regions.length !== 1) return false;
  const block = op.regions[0]![0];
  if (!block || block.args.length !== 2 || block.ops.length !== 2) return false;
  const [body, ret] = block.ops as [MOp, MOp];
  const kind = REDUCE_OPS[body.name];
  if (!kind || body.regions.length || Object.keys(body.attrs).length) return false;
  const [p, q] = block.args.map((a) => a.key);
  const args = new Set(body.operands);
  if (!(args.has(p!) && args.has(q!) && args.size === 2)) return false;
  if (ret.operands.length !== 1 || ret.operands[0] !== body.results[0]) return false;
  if (isBool(op.operandTypes[0])) return false;
  const dims = intsOf(op.attrs['dimensions']) ?? [];
  const out = outs[0]!;
  const identity = isIdentity(cx, ins[1]!, kind.onnx);
  const red = identity ? out : cx.tmp(`${out}_red`, cx.graph.value(out).dtype, cx.graph.value(out).shape);
  cx.onnx(kind.onnx, [ins[0]!, cx.i64(`${out}_axes`, dims)], [red], op, {
    keepdims: { type: 'int', value: 0 },
    noop_with_empty_axes: { type: 'int', value: 1 },
  });
  if (!identity) cx.onnx(kind.combine, [red, ins[1]!], [out], op);
  return true;
}

/** True when the init value is a constant equal to the reduction's identity. */
function isIdentity(cx: Lowering, init: string, onnx: string): boolean {
  const c = cx.constBytes(init);
  if (!c) return false;
  const dv = new DataView(c.bytes.buffer, c.bytes.byteOffset, c.bytes.byteLength);
  let v: number;
  switch (c.dtype) {
    case 'float32':
      v = dv.getFloat32(0, true);
      break;
    case 'float64':
      v = dv.getFloat64(0, true);
      break;
    case 'int32':
      v = dv.getInt32(0, true);
      break;
    case 'int64':
      v = Number(dv.getBigInt64(0, true));
      break;
    default:
      return false;
  }
  if (onnx === 'ReduceSum') return v === 0 && !Object.is(v, -0) ? true : v === 0;
  if (onnx === 'ReduceProd') return v === 1;
  if (onnx === 'ReduceMax')
    return (
      v === -Infinity ||
      (c.dtype === 'int32' && v === -2147483648) ||
      (c.dtype === 'int64' && v <= Number.MIN_SAFE_INTEGER)
    );
  if (onnx === 'ReduceMin')
    return (
      v === Infinity ||
      (c.dtype === 'int32' && v === 2147483647) ||
      (c.dtype === 'int64' && v >= Number.MAX_SAFE_INTEGER)
    );
  return false;
}

/** convolution → Transpose(lhs, rhs) to NCHW/OIHW, Conv, Transpose back. */
function convolution(cx: Lowering, op: MOp, ins: string[], out: string): boolean {
  const dn = op.attrs['dimension_numbers'];
  const lT = op.operandTypes[0];
  const rT = op.operandTypes[1];
  const oT = op.resultTypes[0];
  if (!isFloatT(lT) || !staticShape(lT) || !staticShape(rT) || !staticShape(oT)) return false;
  if ([lT, rT, oT].some((t) => dimsOf(t).includes(0))) return false; // empty tensors: the stablehlo kernel handles them
  if (dtypeOf(lT) !== dtypeOf(oT) || dtypeOf(rT) !== dtypeOf(oT)) return false;
  let lay: { lhs: number[]; rhs: number[]; out: number[] };
  if (dn?.k === 'conv') {
    const sp = (l: string[]): number[] => {
      const r: number[] = [];
      l.forEach((x, i) => /^\d+$/.test(x) && (r[Number(x)] = i));
      return r;
    };
    lay = {
      lhs: [dn.lhs.indexOf('b'), dn.lhs.indexOf('f'), ...sp(dn.lhs)],
      rhs: [dn.rhs.indexOf('o'), dn.rhs.indexOf('i'), ...sp(dn.rhs)],
      out: [dn.out.indexOf('b'), dn.out.indexOf('f'), ...sp(dn.out)],
    };
  } else if (dn?.k === 'struct') {
    const g = (n: string): number[] => intsOf(dn.fields[n]) ?? [];
    lay = {
      lhs: [...g('input_batch_dimension'), ...g('input_feature_dimension'), ...g('input_spatial_dimensions')],
      rhs: [
        ...g('kernel_output_feature_dimension'),
        ...g('kernel_input_feature_dimension'),
        ...g('kernel_spatial_dimensions'),
      ],
      out: [...g('output_batch_dimension'), ...g('output_feature_dimension'), ...g('output_spatial_dimensions')],
    };
  } else return false;
  const ns = lay.lhs.length - 2;
  const ones = (a: number[] | undefined): boolean => !a || a.every((x) => x === 1);
  if ((intOf(op.attrs['batch_group_count']) ?? 1) !== 1 || !ones(intsOf(op.attrs['lhs_dilation']))) return false;
  const rev = intsOf(op.attrs['window_reversal']);
  if (rev?.some((x) => x)) return false;
  const pad = intsOf(op.attrs['padding']) ?? new Array(2 * ns).fill(0);
  if (pad.some((x) => x < 0)) return false;
  const strides = intsOf(op.attrs['window_strides']) ?? new Array(ns).fill(1);
  const dil = intsOf(op.attrs['rhs_dilation']) ?? new Array(ns).fill(1);
  const group = intOf(op.attrs['feature_group_count']) ?? 1;
  const dt = dtypeOf(oT)!;
  const permute = (x: string, perm: number[], dims: number[], tag: string): string => {
    if (perm.every((p, i) => p === i)) return x;
    const t = cx.tmp(
      `${out}_${tag}`,
      dt,
      perm.map((p) => dims[p]!),
    );
    cx.onnx('Transpose', [x], [t], op, { perm: { type: 'ints', value: perm } });
    return t;
  };
  const a = permute(ins[0]!, lay.lhs, dimsOf(lT), 'x');
  const w = permute(ins[1]!, lay.rhs, dimsOf(rT), 'w');
  const oDims = dimsOf(oT);
  const nchw = lay.out.map((p) => oDims[p]!);
  // Output layout: position lay.out[j] of the result holds NCHW dim j.
  const back: number[] = new Array(nchw.length);
  lay.out.forEach((p, j) => (back[p] = j));
  const identityOut = back.every((p, i) => p === i);
  const y = identityOut ? out : cx.tmp(`${out}_nchw`, dt, nchw);
  cx.onnx('Conv', [a, w], [y], op, {
    strides: { type: 'ints', value: strides },
    pads: { type: 'ints', value: [...pad.filter((_, i) => i % 2 === 0), ...pad.filter((_, i) => i % 2 === 1)] },
    dilations: { type: 'ints', value: dil },
    group: { type: 'int', value: group },
  });
  if (!identityOut) cx.onnx('Transpose', [y], [out], op, { perm: { type: 'ints', value: back } });
  return true;
}
