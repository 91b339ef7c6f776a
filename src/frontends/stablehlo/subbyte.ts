import type { DType } from '../../ir/index.js';
import type { Attr, MBlock, MOp, MType, Pos } from './ast.js';
import { key } from './ast.js';
import { opName, type Lowering, type Scope } from './lowering.js';

/**
 * 2- and 4-bit integers (i2, ui2, i4, ui4). The kernels work on bytes, so an op on them runs on
 * 8-bit copies: each sub-byte operand goes through stablehlo.convert to i8/ui8 (sign- or
 * zero-extended), the op is lowered at 8 bits as usual, and each sub-byte result comes back
 * through a convert that keeps its low bits. Wrapping arithmetic, division (x/0 = all ones),
 * comparisons and data movement give the narrow result that way; the ops that see the width
 * (logical shifts of signed values, arithmetic shifts of unsigned ones, popcnt, clz) get a mask
 * or a sign extension around them. convert keeps its narrow operand (the kernel reads packed
 * elements); ops with regions are kept as they are.
 */

/** Sub-byte integer element type → its width in bits. */
const NARROW: Record<string, number> = { i2: 2, si2: 2, ui2: 2, i4: 4, si4: 4, ui4: 4 };

const narrowBits = (t: MType | undefined): number => (t?.kind === 'tensor' ? (NARROW[t.elem] ?? 0) : 0);
const isUnsigned = (t: MType): boolean => t.kind === 'tensor' && t.elem.startsWith('u');
const wide = (t: MType): MType =>
  narrowBits(t) && t.kind === 'tensor' ? { ...t, elem: isUnsigned(t) ? 'ui8' : 'i8' } : t;
const wideDType = (t: MType): DType => (isUnsigned(t) ? 'uint8' : 'int8');

/** True when an operand or result of the op is a 2- or 4-bit integer. */
export function hasSubByte(op: MOp): boolean {
  return [...op.operandTypes, ...op.resultTypes].some((t) => narrowBits(t) > 0);
}

/** Ops that take sub-byte operands as they are. */
const AS_IS = new Set(['stablehlo.convert', 'stablehlo.bitcast_convert']);

export function lowerSubByte(cx: Lowering, op: MOp, ins: string[], outs: string[], scope: Scope): void {
  if (AS_IS.has(op.name)) {
    cx.emitKept(op, ins, outs, scope);
    return;
  }
  const w = new Widener(cx, op, scope);
  const wideIns = ins.map((v, i) => w.widen(v, op.operandTypes[i]!));
  const wideOuts = outs.map((v, i) => (narrowBits(op.resultTypes[i]) ? w.tmp(v, op.resultTypes[i]!) : v));
  const bits = narrowBits(op.operandTypes[0]) || narrowBits(op.resultTypes[0]);
  const t0 = op.operandTypes[0]!;
  const widened: MOp = {
    ...op,
    operandTypes: op.operandTypes.map(wide),
    resultTypes: op.resultTypes.map(wide),
    regions: op.regions.map((r) => r.map(widenBlock)),
  };
  const ty8 = wide(t0);
  switch (op.name) {
    case 'stablehlo.shift_right_logical':
      // A signed value was sign-extended: clear the bits above the width first.
      if (!isUnsigned(t0)) wideIns[0] = w.binary('stablehlo.and', wideIns[0]!, w.splat(ty8, (1 << bits) - 1), ty8);
      break;
    case 'stablehlo.shift_right_arithmetic':
      // An unsigned value was zero-extended: extend its top bit instead.
      if (isUnsigned(t0)) {
        const up = w.binary('stablehlo.shift_left', wideIns[0]!, w.splat(ty8, 8 - bits), ty8);
        wideIns[0] = w.binary('stablehlo.shift_right_arithmetic', up, w.splat(ty8, 8 - bits), ty8);
      }
      break;
    case 'stablehlo.popcnt':
      if (!isUnsigned(t0)) wideIns[0] = w.binary('stablehlo.and', wideIns[0]!, w.splat(ty8, (1 << bits) - 1), ty8);
      break;
    case 'stablehlo.count_leading_zeros': {
      // clz at 8 bits of the zero-extended value, less the 8 − width bits above it.
      const masked = isUnsigned(t0)
        ? wideIns[0]!
        : w.binary('stablehlo.and', wideIns[0]!, w.splat(ty8, (1 << bits) - 1), ty8);
      const clz = w.tmp(outs[0]!, op.resultTypes[0]!);
      cx.lower({ ...widened, name: op.name }, [masked], [clz], scope);
      cx.lower(w.mop('stablehlo.subtract', [ty8, ty8], ty8), [clz, w.splat(ty8, 8 - bits)], [wideOuts[0]!], scope);
      w.narrow(wideOuts, outs, op.resultTypes);
      return;
    }
  }
  cx.lower(widened, wideIns, wideOuts, scope);
  w.narrow(wideOuts, outs, op.resultTypes);
}

let fresh = 0;

/**
 * A region block whose sub-byte arguments and results cross at 8 bits: each such argument comes
 * in wide and is converted to its narrow type on entry (exact: the value is in range), and each
 * narrow returned value is converted back to 8 bits before the terminator. The ops inside keep
 * their types (and are widened one by one when they are lowered).
 */
function widenBlock(block: MBlock): MBlock {
  const entry: MOp[] = [];
  const args = block.args.map((a) => {
    if (!narrowBits(a.type)) return a;
    const k = key(`${a.key.slice(0, a.key.lastIndexOf('#'))}__w${fresh++}`);
    entry.push(convertOp(k, wide(a.type), a.key, a.type, a.pos));
    return { ...a, key: k, type: wide(a.type) };
  });
  const ops = [...entry];
  for (const op of block.ops) {
    if (op.name !== 'stablehlo.return' || !op.operandTypes.some((t) => narrowBits(t))) {
      ops.push(op);
      continue;
    }
    const operands = op.operands.map((k, i) => {
      const t = op.operandTypes[i]!;
      if (!narrowBits(t)) return k;
      const w = key(`${k.slice(0, k.lastIndexOf('#'))}__w${fresh++}`);
      ops.push(convertOp(k, t, w, wide(t), op.pos));
      return w;
    });
    ops.push({ ...op, operands, operandTypes: op.operandTypes.map(wide) });
  }
  return { ...block, args, ops };
}

/** `%to = stablehlo.convert %from : (fromType) -> toType` as a parsed op. */
function convertOp(from: string, fromType: MType, to: string, toType: MType, pos: Pos): MOp {
  return {
    name: 'stablehlo.convert',
    results: [to],
    operands: [from],
    operandPos: [pos],
    attrs: {},
    regions: [],
    operandTypes: [fromType],
    resultTypes: [toType],
    pos,
  };
}

/** Makes the converts, constants and element-wise helper ops around a widened op. */
class Widener {
  constructor(
    readonly cx: Lowering,
    readonly op: MOp,
    readonly scope: Scope,
  ) {}

  tmp(base: string, t: MType): string {
    return this.cx.tmp(
      `${base}_i8`,
      wideDType(t),
      this.cx.graph.hasValue(base) ? this.cx.graph.value(base).shape : dims(t),
    );
  }

  convert(from: string, to: string): void {
    this.cx.graph.addOp(
      {
        opType: 'convert',
        domain: 'stablehlo',
        opset: 1,
        loc: this.cx.loc(this.op.pos, this.op.userLoc),
        name: opName('convert', [to]),
      },
      [from],
      [to],
    );
  }

  widen(v: string, t: MType): string {
    if (!narrowBits(t)) return v;
    const out = this.tmp(v, t);
    this.convert(v, out);
    return out;
  }

  narrow(wideOuts: string[], outs: string[], types: MType[]): void {
    wideOuts.forEach((v, i) => v !== outs[i] && narrowBits(types[i]) && this.convert(v, outs[i]!));
  }

  /** A scalar constant of t's (8-bit) element type; the element-wise ops take it for any shape. */
  splat(t: MType, value: number): string {
    return this.cx.weight(`c${value}_i8`, wideDType(t), [], Uint8Array.of(value & 0xff));
  }

  mop(name: string, operandTypes: MType[], result: MType, attrs: Record<string, Attr> = {}): MOp {
    return { ...this.op, name, attrs, regions: [], operandTypes, resultTypes: [result] };
  }

  /** `a op scalar` at 8 bits. */
  binary(name: string, a: string, scalar: string, t: MType): string {
    const out = this.cx.tmp(`${a}_${name.slice(name.indexOf('.') + 1)}`, wideDType(t), this.cx.graph.value(a).shape);
    this.cx.lower(this.mop(name, [t, scalarOf(t)], t), [a, scalar], [out], this.scope);
    return out;
  }
}

const dims = (t: MType): number[] => (t.kind === 'tensor' ? t.dims : []);
const scalarOf = (t: MType): MType => (t.kind === 'tensor' ? { ...t, dims: [] } : t);
