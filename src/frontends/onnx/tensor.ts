import { byteSize, dtypeBits, type DType } from '../../ir/dtype.js';
import type { TensorConst, WeightRef } from '../../ir/types.js';
import { fail, type LoadContext, type Where } from './context.js';
import { externalRef } from './external.js';
import { int64, type Int64, type TensorProto } from './proto.js';
import { elemType } from './types.js';

/**
 * TensorProto → dtype, static shape and a WeightRef. raw_data stays in the model file (a `file`
 * ref with the byte range inside the .onnx), external data stays in its file (checked, never
 * read), typed fields (float_data, int32_data, …) become inline little-endian bytes in ONNX's
 * raw layout: sub-byte types packed into bytes, first element in the low bits; float16/bfloat16/float8
 * as their bit patterns; strings as a u32 little-endian byte length followed by the UTF-8 bytes,
 * per element.
 */
export function convertTensor(ctx: LoadContext, t: TensorProto, what: string, where: Where): TensorConst {
  if (t.segment) fail(ctx, 'E0103', `${what} is stored in segments, which fleetc does not support`, where);
  const dtype = elemType(ctx, t.dataType, what, where);
  if (!dtype) fail(ctx, 'E0102', `${what} has no data type`, where);
  const shape = tensorShape(ctx, t.dims ?? [], what, where);
  const numel = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(numel)) fail(ctx, 'E0102', `${what} has ${shape.join('x')} elements, too many`, where);
  if (t.dataLocation === 1) return { dtype, shape, ref: externalRef(ctx, t, dtype, numel, what, where) };
  return { dtype, shape, ref: localRef(ctx, t, dtype, numel, what, where) };
}

export function tensorShape(ctx: LoadContext, dims: readonly Int64[], what: string, where: Where): number[] {
  return dims.map((d, axis) => {
    const n = int64(d);
    if (!Number.isSafeInteger(n) || n < 0) fail(ctx, 'E0102', `${what} has dimension ${n} on axis ${axis}`, where);
    return n;
  });
}

type Typed = 'floatData' | 'int32Data' | 'int64Data' | 'uint64Data' | 'doubleData' | 'stringData';
const TYPED: Typed[] = ['floatData', 'int32Data', 'int64Data', 'uint64Data', 'doubleData', 'stringData'];
const FIELD: Record<Typed, string> = {
  floatData: 'float_data',
  int32Data: 'int32_data',
  int64Data: 'int64_data',
  uint64Data: 'uint64_data',
  doubleData: 'double_data',
  stringData: 'string_data',
};

/** Which typed field holds each dtype, and how many entries per element (2 for complex). */
function typedField(dt: DType): Typed {
  switch (dt) {
    case 'float32':
    case 'complex64':
      return 'floatData';
    case 'float64':
    case 'complex128':
      return 'doubleData';
    case 'int64':
      return 'int64Data';
    case 'uint32':
    case 'uint64':
      return 'uint64Data';
    case 'string':
      return 'stringData';
    default:
      return 'int32Data';
  }
}

function localRef(
  ctx: LoadContext,
  t: TensorProto,
  dtype: DType,
  numel: number,
  what: string,
  where: Where,
): WeightRef {
  const raw = t.rawData;
  const present = TYPED.filter((f) => (t[f]?.length ?? 0) > 0);
  if (raw && raw.length > 0) {
    if (present.length) fail(ctx, 'E0102', `${what} has both raw_data and ${FIELD[present[0]!]}`, where);
    if (dtype === 'string')
      fail(ctx, 'E0102', `${what} is a string tensor with raw_data (strings must use string_data)`, where);
    const expected = byteSize(dtype, numel);
    if (raw.length !== expected)
      fail(ctx, 'E0102', `${what} has ${raw.length} bytes of raw_data but ${dtype}[${numel}] needs ${expected}`, where);
    return rawRef(ctx, raw);
  }
  const field = typedField(dtype);
  const other = present.find((f) => f !== field);
  if (other)
    fail(ctx, 'E0102', `${what} is ${dtype} but holds its data in ${FIELD[other]} (expected ${FIELD[field]})`, where);
  const entries =
    dtype === 'complex64' || dtype === 'complex128'
      ? numel * 2
      : field === 'int32Data' && dtypeBits(dtype) < 8
        ? byteSize(dtype, numel)
        : numel;
  const have = t[field]?.length ?? 0;
  if (have !== entries) {
    if (have === 0) fail(ctx, 'E0102', `${what} (${dtype}[${numel}]) has no data`, where);
    fail(ctx, 'E0102', `${what} has ${have} entries in ${FIELD[field]} but ${dtype}[${numel}] needs ${entries}`, where);
  }
  return { kind: 'inline', data: typedBytes(t, dtype, field, entries) };
}

/** raw_data is a view into the decoded file (protobufjs subarrays): refer to its byte range. */
function rawRef(ctx: LoadContext, raw: Uint8Array): WeightRef {
  const file = ctx.fileBytes;
  if (raw.buffer === file.buffer && raw.length >= ctx.opts.inlineRawBelow) {
    const offset = raw.byteOffset - file.byteOffset;
    if (offset >= 0 && offset + raw.length <= file.length)
      return { kind: 'file', path: ctx.absPath, offset, length: raw.length };
  }
  // A copy, so the IR does not keep the whole file buffer alive.
  return { kind: 'inline', data: raw.slice() };
}

function typedBytes(t: TensorProto, dtype: DType, field: Typed, entries: number): Uint8Array {
  if (field === 'stringData') {
    const items = t.stringData ?? [];
    const total = items.reduce((n, s) => n + 4 + s.length, 0);
    const out = new Uint8Array(total);
    const dv = new DataView(out.buffer);
    let p = 0;
    for (const s of items) {
      dv.setUint32(p, s.length, true);
      out.set(s, p + 4);
      p += 4 + s.length;
    }
    return out;
  }
  const width = field === 'int32Data' ? int32Width(dtype) : field === 'floatData' ? 4 : dtype === 'uint32' ? 4 : 8;
  const out = new Uint8Array(entries * width);
  const dv = new DataView(out.buffer);
  switch (field) {
    case 'floatData':
      t.floatData!.forEach((v, i) => dv.setFloat32(i * 4, v, true));
      break;
    case 'doubleData':
      t.doubleData!.forEach((v, i) => dv.setFloat64(i * 8, v, true));
      break;
    case 'int32Data':
      t.int32Data!.forEach((v, i) => {
        if (width === 1) dv.setUint8(i, v & 0xff);
        else if (width === 2) dv.setUint16(i * 2, v & 0xffff, true);
        else dv.setInt32(i * 4, v | 0, true);
      });
      break;
    case 'int64Data':
    case 'uint64Data':
      (t[field] as Int64[]).forEach((v, i) => {
        const [lo, hi] = bits64(v);
        dv.setUint32(i * width, lo, true);
        if (width === 8) dv.setUint32(i * 8 + 4, hi, true);
      });
      break;
  }
  return out;
}

/** Bytes per element of the dtypes stored in int32_data (4-bit types: one packed byte per entry). */
function int32Width(dt: DType): number {
  switch (dt) {
    case 'int32':
      return 4;
    case 'int16':
    case 'uint16':
    case 'float16':
    case 'bfloat16':
      return 2;
    default:
      return 1;
  }
}

function bits64(v: Int64): [number, number] {
  if (typeof v === 'number') {
    const big = BigInt.asUintN(64, BigInt(Math.trunc(v)));
    return [Number(big & 0xffffffffn), Number(big >> 32n)];
  }
  return [v.low >>> 0, v.high >>> 0];
}
