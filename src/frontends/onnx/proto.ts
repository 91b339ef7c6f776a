import pkg from 'onnx-proto';
import protobuf from 'protobufjs';

/** The generated ONNX message classes (protobufjs 6 static code, schema of ONNX 1.10 / IR 8). */
export const { onnx } = pkg;
export type ModelProto = pkg.onnx.ModelProto;
export type GraphProto = pkg.onnx.IGraphProto;
export type NodeProto = pkg.onnx.INodeProto;
export type TensorProto = pkg.onnx.ITensorProto;
export type SparseTensorProto = pkg.onnx.ISparseTensorProto;
export type AttributeProto = pkg.onnx.IAttributeProto;
export type TypeProto = pkg.onnx.ITypeProto;
export type ValueInfoProto = pkg.onnx.IValueInfoProto;
export type FunctionProto = pkg.onnx.IFunctionProto;
export type OperatorSetIdProto = pkg.onnx.IOperatorSetIdProto;

/** protobufjs decodes int64 fields into Long objects (the `long` package is installed). */
export type Int64 = number | { low: number; high: number; unsigned: boolean; toNumber?: () => number };

/** An int64 as a JS number: exact up to 2^53, the nearest double beyond (e.g. INT64_MAX sentinels). */
export function int64(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  const lo = v.low >>> 0;
  return v.unsigned ? (v.high >>> 0) * 4294967296 + lo : v.high * 4294967296 + lo;
}

/** Normalises an ONNX operator domain: 'ai.onnx' and '' both mean the default domain. */
export function normDomain(d: string | null | undefined): string {
  return !d || d === 'ai.onnx' ? '' : d;
}

export class ProtoError extends Error {}

/**
 * Decodes a ModelProto. The bytes fields of the result (raw_data) are views into `bytes`, not
 * copies: protobufjs slices with Uint8Array#subarray / Buffer#slice. Any decoder failure
 * (truncation, bad wire types, nesting deep enough to exhaust the stack) becomes a ProtoError
 * with a readable reason.
 */
export function decodeModel(bytes: Uint8Array): ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new ProtoError(describeDecodeError(err, bytes.length));
  }
}

export function describeDecodeError(err: unknown, size: number): string {
  if (err instanceof RangeError && /call stack/i.test(err.message)) return 'messages are nested too deeply';
  const msg = err instanceof Error ? err.message : String(err);
  const oob = /index out of range: (\d+) \+ (\d+) > (\d+)/.exec(msg);
  if (oob) {
    const at = Number(oob[1]);
    return `truncated at byte ${at} (a field there needs ${oob[2]} bytes; the file has ${size})`;
  }
  const wire = /invalid wire type (\d+) at offset (\d+)/.exec(msg);
  if (wire) return `invalid protobuf wire type ${wire[1]} at byte ${wire[2]}`;
  return `protobuf decoding failed (${msg.replace(/\s+/g, ' ').slice(0, 120)})`;
}

/** Fields newer than the bundled schema, read straight from the wire. */
export interface FunctionExtras {
  /** FunctionProto.attribute_proto (field 11, IR 9): attributes with default values. */
  attributeDefaults: pkg.onnx.AttributeProto[];
  /** FunctionProto.overload (field 13, IR 10). */
  overload: string;
}

/**
 * The schema predates FunctionProto.attribute_proto and .overload, so protobufjs skips them.
 * This scans ModelProto.functions (field 25) on the wire and reads them, one entry per function
 * in file order (the order of ModelProto.functions).
 */
export function scanFunctionExtras(bytes: Uint8Array): FunctionExtras[] {
  const out: FunctionExtras[] = [];
  const r = protobuf.Reader.create(bytes);
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag >>> 3 === 25 && (tag & 7) === 2) {
        const len = r.uint32();
        const end = r.pos + len;
        out.push(scanFunction(r, end));
        r.pos = end;
      } else r.skipType(tag & 7);
    }
  } catch (err) {
    throw new ProtoError(describeDecodeError(err, bytes.length));
  }
  return out;
}

function scanFunction(r: protobuf.Reader, end: number): FunctionExtras {
  const extras: FunctionExtras = { attributeDefaults: [], overload: '' };
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 11 && (tag & 7) === 2) extras.attributeDefaults.push(onnx.AttributeProto.decode(r, r.uint32()));
    else if (field === 13 && (tag & 7) === 2) extras.overload = r.string();
    else r.skipType(tag & 7);
  }
  return extras;
}
