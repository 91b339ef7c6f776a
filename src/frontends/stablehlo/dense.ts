import { numberToBfloat16, numberToHalf, type DType } from '../../ir/index.js';
import type { Attr, MType } from './ast.js';
import { encodeMinifloat, isMinifloat } from './minifloat.js';
import { typeToString } from './ast.js';

/** MLIR element types fleetc's IR can hold. */
const ELEM: Record<string, DType> = {
  i1: 'bool',
  i2: 'int2',
  si2: 'int2',
  ui2: 'uint2',
  i4: 'int4',
  si4: 'int4',
  i8: 'int8',
  si8: 'int8',
  i16: 'int16',
  si16: 'int16',
  i32: 'int32',
  si32: 'int32',
  i64: 'int64',
  si64: 'int64',
  ui4: 'uint4',
  ui8: 'uint8',
  ui16: 'uint16',
  ui32: 'uint32',
  ui64: 'uint64',
  f16: 'float16',
  bf16: 'bfloat16',
  f32: 'float32',
  f64: 'float64',
  index: 'int64',
  f8E4M3FN: 'float8e4m3fn',
  f8E4M3FNUZ: 'float8e4m3fnuz',
  f8E5M2: 'float8e5m2',
  f8E5M2FNUZ: 'float8e5m2fnuz',
  f4E2M1FN: 'float4e2m1',
  f8E8M0FNU: 'float8e8m0',
};

/** Why an element type is not supported, or undefined when it is. */
export function elemUnsupported(elem: string): string | undefined {
  if (elem in ELEM) return undefined;
  if (elem.startsWith('complex')) return `complex element type '${elem}'`;
  if (elem.startsWith('!quant')) return `quantized element type '${elem}'`;
  if (/^f\d+E/.test(elem)) return `narrow float element type '${elem}'`;
  return `element type '${elem}'`;
}

export function elemDType(elem: string): DType | undefined {
  return ELEM[elem];
}

export interface DenseValue {
  dtype: DType;
  shape: number[];
  /** Little-endian element bytes (int4/uint4 packed two per byte, low nibble first). */
  bytes: Uint8Array;
  /** When true, `bytes` holds one element that fills the whole shape. */
  splat: boolean;
}

/** Thrown for a literal that does not fit its type; the caller adds the location. */
export class DenseError extends Error {
  constructor(
    message: string,
    readonly unsupported = false,
  ) {
    super(message);
  }
}

const numel = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Encodes a `dense<…>` attribute for its tensor type. */
export function encodeDense(attr: Attr & { k: 'dense' }): DenseValue {
  const t: MType = attr.type;
  if (t.kind !== 'tensor') throw new DenseError(`dense attribute of non-tensor type`, true);
  const why = elemUnsupported(t.elem);
  if (why) throw new DenseError(`unsupported ${why}`, true);
  if (t.dims.some((d) => d < 0)) throw new DenseError('a constant must have a static shape');
  const dtype = ELEM[t.elem]!;
  const shape = t.dims;
  const n = numel(shape);
  const d = attr.data;
  if (d.kind === 'hex') return fromHex(d.hex, dtype, shape, n);
  const lits = d.lits;
  if (lits.includes('complex')) throw new DenseError('complex literal', true);
  if (n === 0 && lits.length === 0) return { dtype, shape, bytes: new Uint8Array(0), splat: false };
  const splat = lits.length === 1 && d.shape.length === 0 && n !== 1;
  if (!splat && lits.length !== n)
    throw new DenseError(`dense literal has ${lits.length} elements but its type ${typeToString(t)} holds ${n}`);
  if (!splat && d.shape.length && d.shape.join('x') !== shape.join('x') && !(shape.length === 0 && lits.length === 1))
    throw new DenseError(`dense literal has shape [${d.shape.join(', ')}] but the type has [${shape.join(', ')}]`);
  const count = splat ? 1 : n;
  return { dtype, shape, bytes: encodeLits(lits, dtype, count), splat };
}

/** A constant's full bytes: a splat's one element repeated over the shape (int4/uint4: nibbles). */
export function denseBytes(d: DenseValue): Uint8Array {
  if (!d.splat) return d.bytes;
  const n = numel(d.shape);
  const bits = dtypeBitsOf(d.dtype);
  if (bits < 8) {
    // Packed sub-byte integers (low bits first): the element's bits repeated across each byte.
    const v = d.bytes[0]! & ((1 << bits) - 1);
    let byte = 0;
    for (let k = 0; k < 8; k += bits) byte |= v << k;
    return new Uint8Array(Math.ceil((n * bits) / 8)).fill(byte);
  }
  const out = new Uint8Array(d.bytes.length * n);
  for (let i = 0; i < n; i++) out.set(d.bytes, i * d.bytes.length);
  return out;
}

function fromHex(hex: string, dtype: DType, shape: number[], n: number): DenseValue {
  const raw = Uint8Array.from(Buffer.from(hex, 'hex'));
  const bits = dtypeBitsOf(dtype);
  const stored = Math.ceil(bits / 8); // MLIR stores sub-byte elements one per byte
  let count: number;
  let splat = false;
  if (raw.length === stored * n) count = n;
  else if (raw.length === stored) {
    count = 1;
    splat = n !== 1;
  } else
    throw new DenseError(
      `hex blob has ${raw.length} bytes; ${shape.join('x') || 'scalar'} of ${dtype} needs ${stored * n}`,
    );
  if (bits < 8 && !isMinifloat(dtype)) return { dtype, shape, bytes: packBits(count, bits, (i) => raw[i]!), splat };
  if (bits === 4) {
    const out = new Uint8Array(Math.ceil(count / 2));
    for (let i = 0; i < count; i++) out[i >> 1]! |= (raw[i]! & 15) << ((i & 1) * 4);
    return { dtype, shape, bytes: out, splat };
  }
  return { dtype, shape, bytes: raw, splat };
}

/** `count` elements of `bits` bits each, packed low bits first (ONNX's int4/int2 layout). */
function packBits(count: number, bits: number, element: (i: number) => number): Uint8Array {
  const out = new Uint8Array(Math.ceil((count * bits) / 8));
  const per = 8 / bits;
  for (let i = 0; i < count; i++) out[Math.floor(i / per)]! |= (element(i) & ((1 << bits) - 1)) << ((i % per) * bits);
  return out;
}

function dtypeBitsOf(dt: DType): number {
  switch (dt) {
    case 'int2':
    case 'uint2':
      return 2;
    case 'int4':
    case 'uint4':
    case 'float4e2m1':
      return 4;
    case 'float8e4m3fn':
    case 'float8e4m3fnuz':
    case 'float8e5m2':
    case 'float8e5m2fnuz':
    case 'float8e8m0':
      return 8;
    case 'bool':
    case 'int8':
    case 'uint8':
      return 8;
    case 'int16':
    case 'uint16':
    case 'float16':
    case 'bfloat16':
      return 16;
    case 'int32':
    case 'uint32':
    case 'float32':
      return 32;
    default:
      return 64;
  }
}

const isHexLit = (s: string): boolean => /^-?0x/i.test(s);

function litBig(s: string): bigint {
  if (s === 'true') return 1n;
  if (s === 'false') return 0n;
  const neg = s.startsWith('-');
  const body = neg ? s.slice(1) : s;
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(body)) throw new DenseError(`'${s}' is not an integer`);
  const v = BigInt(body);
  return neg ? -v : v;
}

function litFloat(s: string): number {
  if (s === 'inf' || s === '+inf') return Infinity;
  if (s === '-inf') return -Infinity;
  if (s === 'nan' || s === '-nan') return NaN;
  if (s === 'true') return 1;
  if (s === 'false') return 0;
  const v = Number(s);
  if (Number.isNaN(v)) throw new DenseError(`'${s}' is not a number`);
  return v;
}

function encodeLits(lits: string[], dtype: DType, count: number): Uint8Array {
  const bits = dtypeBitsOf(dtype);
  if (isMinifloat(dtype)) {
    // Hex literals are raw bits; numbers round to the nearest code.
    const code = (s: string): number =>
      isHexLit(s) ? Number(BigInt.asUintN(bits, litBig(s))) : encodeMinifloat(dtype, litFloat(s));
    if (bits === 4) {
      const out = new Uint8Array(Math.ceil(count / 2));
      for (let i = 0; i < count; i++) out[i >> 1]! |= code(lits[i]!) << ((i & 1) * 4);
      return out;
    }
    return Uint8Array.from(lits.slice(0, count), code);
  }
  if (bits < 8) return packBits(count, bits, (i) => Number(BigInt.asUintN(bits, litBig(lits[i]!))));
  const buf = new ArrayBuffer((bits / 8) * count);
  const dv = new DataView(buf);
  for (let i = 0; i < count; i++) {
    const s = lits[i]!;
    switch (dtype) {
      case 'bool':
        dv.setUint8(i, s === 'true' || (s !== 'false' && litBig(s) !== 0n) ? 1 : 0);
        break;
      case 'int8':
      case 'uint8':
        dv.setUint8(i, Number(BigInt.asUintN(8, litBig(s))));
        break;
      case 'int16':
      case 'uint16':
        dv.setUint16(i * 2, Number(BigInt.asUintN(16, litBig(s))), true);
        break;
      case 'int32':
      case 'uint32':
        dv.setUint32(i * 4, Number(BigInt.asUintN(32, litBig(s))), true);
        break;
      case 'int64':
      case 'uint64':
        dv.setBigUint64(i * 8, BigInt.asUintN(64, litBig(s)), true);
        break;
      case 'float32':
        if (isHexLit(s)) dv.setUint32(i * 4, Number(BigInt.asUintN(32, litBig(s))), true);
        else dv.setFloat32(i * 4, litFloat(s), true);
        break;
      case 'float64':
        if (isHexLit(s)) dv.setBigUint64(i * 8, BigInt.asUintN(64, litBig(s)), true);
        else dv.setFloat64(i * 8, litFloat(s), true);
        break;
      case 'float16':
        dv.setUint16(i * 2, isHexLit(s) ? Number(BigInt.asUintN(16, litBig(s))) : numberToHalf(litFloat(s)), true);
        break;
      case 'bfloat16':
        dv.setUint16(i * 2, isHexLit(s) ? Number(BigInt.asUintN(16, litBig(s))) : numberToBfloat16(litFloat(s)), true);
        break;
      default:
        throw new DenseError(`cannot encode ${dtype} literals`, true);
    }
  }
  return new Uint8Array(buf);
}
