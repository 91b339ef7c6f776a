/**
 * Element types, named as numpy names them. The numeric codes are ONNX TensorProto.DataType,
 * which the bundle format and the native runtime use too.
 */
export type DType =
  | 'float32'
  | 'uint8'
  | 'int8'
  | 'uint16'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'string'
  | 'bool'
  | 'float16'
  | 'float64'
  | 'uint32'
  | 'uint64'
  | 'complex64'
  | 'complex128'
  | 'bfloat16'
  | 'float8e4m3fn'
  | 'float8e4m3fnuz'
  | 'float8e5m2'
  | 'float8e5m2fnuz'
  | 'uint4'
  | 'int4'
  | 'float4e2m1'
  | 'float8e8m0'
  | 'uint2'
  | 'int2';

interface DTypeInfo {
  code: number;
  /** Storage bits per element; 0 for variable-size (string). */
  bits: number;
  float: boolean;
  signed: boolean;
}

const TABLE: Record<DType, DTypeInfo> = {
  float32: { code: 1, bits: 32, float: true, signed: true },
  uint8: { code: 2, bits: 8, float: false, signed: false },
  int8: { code: 3, bits: 8, float: false, signed: true },
  uint16: { code: 4, bits: 16, float: false, signed: false },
  int16: { code: 5, bits: 16, float: false, signed: true },
  int32: { code: 6, bits: 32, float: false, signed: true },
  int64: { code: 7, bits: 64, float: false, signed: true },
  string: { code: 8, bits: 0, float: false, signed: false },
  bool: { code: 9, bits: 8, float: false, signed: false },
  float16: { code: 10, bits: 16, float: true, signed: true },
  float64: { code: 11, bits: 64, float: true, signed: true },
  uint32: { code: 12, bits: 32, float: false, signed: false },
  uint64: { code: 13, bits: 64, float: false, signed: false },
  complex64: { code: 14, bits: 64, float: true, signed: true },
  complex128: { code: 15, bits: 128, float: true, signed: true },
  bfloat16: { code: 16, bits: 16, float: true, signed: true },
  float8e4m3fn: { code: 17, bits: 8, float: true, signed: true },
  float8e4m3fnuz: { code: 18, bits: 8, float: true, signed: true },
  float8e5m2: { code: 19, bits: 8, float: true, signed: true },
  float8e5m2fnuz: { code: 20, bits: 8, float: true, signed: true },
  uint4: { code: 21, bits: 4, float: false, signed: false },
  int4: { code: 22, bits: 4, float: false, signed: true },
  float4e2m1: { code: 23, bits: 4, float: true, signed: true },
  float8e8m0: { code: 24, bits: 8, float: true, signed: false },
  uint2: { code: 25, bits: 2, float: false, signed: false },
  int2: { code: 26, bits: 2, float: false, signed: true },
};

const BY_CODE = new Map<number, DType>(
  (Object.entries(TABLE) as [DType, DTypeInfo][]).map(([name, info]) => [info.code, name]),
);

export const ALL_DTYPES = Object.keys(TABLE) as DType[];

export function dtypeFromCode(code: number): DType | undefined {
  return BY_CODE.get(code);
}

export function dtypeCode(dt: DType): number {
  return TABLE[dt].code;
}

export function dtypeBits(dt: DType): number {
  return TABLE[dt].bits;
}

/** Bytes for `count` elements (sub-byte types pack 8/bits per byte, rounded up). */
export function byteSize(dt: DType, count: number): number {
  return Math.ceil((TABLE[dt].bits * count) / 8);
}

export function isFloat(dt: DType): boolean {
  return TABLE[dt].float;
}

export function isInteger(dt: DType): boolean {
  return !TABLE[dt].float && dt !== 'bool' && dt !== 'string';
}

export function isDType(s: string): s is DType {
  return s in TABLE;
}

/** The value of IEEE binary16 bits. */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits of a number: rounded to float32, then to the nearest even half (NaN stays NaN). */
export function numberToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  // a carry out of the mantissa goes on into the exponent (up to infinity)
  let half = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** The value of bfloat16 bits. */
export function bfloat16ToNumber(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0]!;
}

/** bfloat16 bits of a number: rounded to float32, then to the nearest even (NaN stays NaN, quiet). */
export function numberToBfloat16(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}
