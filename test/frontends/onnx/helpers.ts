import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pkg from 'onnx-proto';

export const { onnx } = pkg;

/** A TypeProto for a tensor; dims are numbers (dim_value), strings (dim_param) or null (neither). */
export function tensorType(elemType: number, dims?: (number | string | null)[]): pkg.onnx.ITypeProto {
  return {
    tensorType: {
      elemType,
      shape: dims
        ? { dim: dims.map((d) => (d === null ? {} : typeof d === 'number' ? { dimValue: d } : { dimParam: d })) }
        : undefined,
    },
  };
}

export function vi(name: string, elemType = 1, dims?: (number | string | null)[]): pkg.onnx.IValueInfoProto {
  return { name, type: tensorType(elemType, dims) };
}

export function node(
  opType: string,
  input: string[],
  output: string[],
  extra: Partial<pkg.onnx.INodeProto> = {},
): pkg.onnx.INodeProto {
  return { opType, input, output, ...extra };
}

export interface ModelSpec {
  nodes?: pkg.onnx.INodeProto[];
  inputs?: pkg.onnx.IValueInfoProto[];
  outputs?: pkg.onnx.IValueInfoProto[];
  initializers?: pkg.onnx.ITensorProto[];
  valueInfo?: pkg.onnx.IValueInfoProto[];
  opsets?: Record<string, number>;
  irVersion?: number;
  functions?: pkg.onnx.IFunctionProto[];
}

export function modelProto(spec: ModelSpec): pkg.onnx.ModelProto {
  return onnx.ModelProto.create({
    irVersion: spec.irVersion ?? 8,
    producerName: 'fleetc-test',
    producerVersion: '1',
    opsetImport: Object.entries(spec.opsets ?? { '': 17 }).map(([domain, version]) => ({ domain, version })),
    graph: {
      name: 'g',
      node: spec.nodes ?? [],
      input: spec.inputs ?? [],
      output: spec.outputs ?? [],
      initializer: spec.initializers ?? [],
      valueInfo: spec.valueInfo ?? [],
    },
    functions: spec.functions ?? [],
  });
}

export function encodeModel(spec: ModelSpec | pkg.onnx.ModelProto): Uint8Array {
  const m = spec instanceof onnx.ModelProto ? spec : modelProto(spec);
  return onnx.ModelProto.encode(m).finish();
}

/** A length-delimited protobuf field (for fields newer than onnx-proto's schema). */
export function lenField(field: number, bytes: Uint8Array): Uint8Array {
  const head: number[] = [];
  for (let v = (field << 3) | 2; ; v >>>= 7) {
    if (v < 0x80) {
      head.push(v);
      break;
    }
    head.push((v & 0x7f) | 0x80);
  }
  for (let v = bytes.length; ; v >>>= 7) {
    if (v < 0x80) {
      head.push(v);
      break;
    }
    head.push((v & 0x7f) | 0x80);
  }
  const out = new Uint8Array(head.length + bytes.length);
  out.set(head);
  out.set(bytes, head.length);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A temporary folder, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'fleetc-onnx-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeModel(
  dir: string,
  spec: ModelSpec | pkg.onnx.ModelProto | Uint8Array,
  name = 'model.onnx',
): string {
  const path = join(dir, name);
  writeFileSync(path, spec instanceof Uint8Array ? spec : encodeModel(spec));
  return path;
}
