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
