import {
  bfloat16ToNumber,
  byteSize,
  halfToNumber,
  numberToBfloat16,
  numberToHalf,
  type DType,
} from '../../../src/ir/dtype.js';

/** Element types whose contents the evaluator reads and writes. */
const SUPPORTED = new Set<DType>([
  'float32',
  'float64',
  'float16',
  'bfloat16',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'bool',
]);

export function evalSupportsDType(dt: DType): boolean {
  return SUPPORTED.has(dt);
}

/** Decodes raw little-endian element bytes into numbers (bool as 0/1, 64-bit ints rounded to doubles). */
export function decodeElements(dt: DType, bytes: Uint8Array, count: number): number[] | undefined {
  if (!SUPPORTED.has(dt)) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    switch (dt) {
      case 'float32':
        out[i] = dv.getFloat32(i * 4, true);
        break;
      case 'float64':
        out[i] = dv.getFloat64(i * 8, true);
        break;
      case 'float16':
        out[i] = halfToNumber(dv.getUint16(i * 2, true));
        break;
      case 'bfloat16':
        out[i] = bfloat16ToNumber(dv.getUint16(i * 2, true));
        break;
      case 'int8':
        out[i] = dv.getInt8(i);
        break;
      case 'uint8':
      case 'bool':
        out[i] = dv.getUint8(i);
        break;
      case 'int16':
        out[i] = dv.getInt16(i * 2, true);
        break;
      case 'uint16':
        out[i] = dv.getUint16(i * 2, true);
        break;
      case 'int32':
        out[i] = dv.getInt32(i * 4, true);
        break;
      case 'uint32':
        out[i] = dv.getUint32(i * 4, true);
        break;
      case 'int64': {
        const v = dv.getBigInt64(i * 8, true);
        if (!exactOrSentinel(v)) return undefined;
        out[i] = Number(v);
        break;
      }
      case 'uint64': {
        const v = dv.getBigUint64(i * 8, true);
        if (v > EXACT) return undefined;
        out[i] = Number(v);
        break;
      }
      default:
        return undefined;
    }
  }
  return out;
}

/** Integers up to 2^53 are exact as numbers; beyond, only int64's ±2^63 bounds (a "to the end" sentinel) are read. */
const EXACT = 2n ** 53n;
const SENTINEL = 9.2e18;
const exactOrSentinel = (v: bigint): boolean =>
  (v < 0n ? -v : v) <= EXACT || v >= 9200000000000000000n || v <= -9200000000000000000n;

/** False for an integer result the evaluator may have rounded (so it is not folded into a constant). */
function exactInteger(dt: DType, v: number): boolean {
  const a = Math.abs(v);
  if (a <= 2 ** 53 || !Number.isFinite(v)) return true;
  return dt === 'int64' && a >= SENTINEL;
}

function toBigInt(v: number): bigint {
  if (!Number.isFinite(v)) return 0n;
  if (v >= SENTINEL) return 9223372036854775807n;
  if (v <= -SENTINEL) return -9223372036854775808n;
  return BigInt(Math.trunc(v));
}

/** Encodes numbers as raw little-endian element bytes. */
export function encodeElements(dt: DType, data: readonly number[]): Uint8Array | undefined {
  if (!SUPPORTED.has(dt)) return undefined;
  if (/int/.test(dt) && !data.every((v) => exactInteger(dt, v))) return undefined;
  const bytes = new Uint8Array(byteSize(dt, data.length));
  const dv = new DataView(bytes.buffer);
  data.forEach((v, i) => {
    switch (dt) {
      case 'float32':
        dv.setFloat32(i * 4, v, true);
        break;
      case 'float64':
        dv.setFloat64(i * 8, v, true);
        break;
      case 'float16':
        dv.setUint16(i * 2, numberToHalf(v), true);
        break;
      case 'bfloat16':
        dv.setUint16(i * 2, numberToBfloat16(v), true);
        break;
      case 'int8':
        dv.setInt8(i, v);
        break;
      case 'uint8':
        dv.setUint8(i, v);
        break;
      case 'bool':
        dv.setUint8(i, v ? 1 : 0);
        break;
      case 'int16':
        dv.setInt16(i * 2, v, true);
        break;
      case 'uint16':
        dv.setUint16(i * 2, v, true);
        break;
      case 'int32':
        dv.setInt32(i * 4, v, true);
        break;
      case 'uint32':
        dv.setUint32(i * 4, v, true);
        break;
      case 'int64':
        dv.setBigInt64(i * 8, toBigInt(v), true);
        break;
      case 'uint64':
        dv.setBigUint64(i * 8, BigInt.asUintN(64, toBigInt(v)), true);
        break;
    }
  });
  return bytes;
}

/** Rounds a computed double to what the element type can hold. */
export function castNumber(dt: DType, v: number): number {
  switch (dt) {
    case 'float32':
      return Math.fround(v);
    case 'float64':
      return v;
    case 'float16':
      return halfToNumber(numberToHalf(v));
    case 'bfloat16':
      return bfloat16ToNumber(numberToBfloat16(v));
    case 'bool':
      return v ? 1 : 0;
    case 'int8':
      return (Math.trunc(v) << 24) >> 24;
    case 'uint8':
      return Math.trunc(v) & 0xff;
    case 'int16':
      return (Math.trunc(v) << 16) >> 16;
    case 'uint16':
      return Math.trunc(v) & 0xffff;
    case 'int32':
      return Math.trunc(v) | 0;
    case 'uint32':
      return Math.trunc(v) >>> 0;
    default:
      return Number.isFinite(v) ? Math.trunc(v) : 0;
  }
}
