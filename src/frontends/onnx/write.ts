import { dtypeCode } from '../../ir/dtype.js';
import type { IRGraph } from '../../ir/graph.js';
import { dimToJSON } from '../../ir/sym.js';
import type { AttrValue } from '../../ir/graph.js';
import type { TensorConst, ValueAttrs, WeightRef } from '../../ir/types.js';
import { readWeightBytes } from '../../ir/weights.js';
import {
  onnx,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type TypeProto,
  type ValueInfoProto,
} from './proto.js';

/**
 * Writes IR back to ONNX with onnx-proto (the inverse of the frontend, for tools such as
 * `fleetc export`): ops become nodes in the order given, weights initializers, subgraphs nested
 * GraphProtos, symbolic dimensions `dim_param`s (expressions printed as the plan prints them).
 */
export interface WriteOnnxOptions {
  /** The ops to write, in this order (default: all, topologically). */
  ops?: readonly string[];
  /** Graph inputs and outputs (default: the graph's own). */
  inputs?: readonly string[];
  outputs?: readonly string[];
  /** Opset version per domain ('' = ai.onnx); every domain the written ops use must be here. */
  opsets: Readonly<Record<string, number>>;
  /** ModelProto.ir_version (default: what the ai.onnx opset needs, see irVersionFor). */
  irVersion?: number;
  graphName?: string;
  docString?: string;
  metadata?: Readonly<Record<string, string>>;
  producer?: { name: string; version: string };
}

const AT = onnx.AttributeProto.AttributeType;
const utf8 = new TextEncoder();

/**
 * The IR version a model of the given ai.onnx opset declares (onnx.helper's VERSION_TABLE), at
 * least 4 (before that every initializer had to be a graph input too); element types newer than
 * that need a later one (float8 IR 9, int4 IR 10, float4 IR 11).
 */
export function irVersionFor(opset: number, dtypes: Iterable<string> = []): number {
  const table: [number, number][] = [
    [9, 4],
    [10, 5],
    [11, 6],
    [14, 7],
    [18, 8],
    [20, 9],
    [22, 10],
    [24, 11],
  ];
  let ir = 12;
  for (const [upTo, v] of table)
    if (opset <= upTo) {
      ir = v;
      break;
    }
  for (const d of dtypes) {
    if (d.startsWith('float8')) ir = Math.max(ir, d === 'float8e8m0' ? 11 : 9);
    else if (d === 'int4' || d === 'uint4') ir = Math.max(ir, 10);
    else if (d === 'float4e2m1') ir = Math.max(ir, 11);
    else if (d === 'int2' || d === 'uint2') ir = Math.max(ir, 12);
  }
  return ir;
}

/** An int64 for protobufjs: numbers at or beyond ±2^63 (INT64_MAX read as a double) saturate. */
function i64(v: number): number | { low: number; high: number; unsigned: boolean } {
  if (v >= 2 ** 63) return { low: -1, high: 0x7fffffff, unsigned: false };
  if (v <= -(2 ** 63)) return { low: 0, high: -0x80000000, unsigned: false };
  return Math.trunc(v);
}

/** A value's ONNX type; undefined when its element type is unknown. */
export function typeProto(v: Pick<ValueAttrs, 'dtype' | 'shape' | 'container'>): TypeProto | undefined {
  if (!v.dtype || v.container === 'map') return undefined;
  const tensor: TypeProto = { tensorType: { elemType: dtypeCode(v.dtype) } };
  if (!v.container && v.shape)
    tensor.tensorType!.shape = {
      dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: i64(d) } : { dimParam: String(dimToJSON(d)) })),
    };
  if (v.container === 'sequence') return { sequenceType: { elemType: tensor } };
  if (v.container === 'optional') return { optionalType: { elemType: tensor } };
  return tensor;
}

function valueInfo(graph: IRGraph, name: string): ValueInfoProto {
  const v = graph.value(name);
  const type = typeProto(v);
  return type ? { name, type } : { name };
}

/** A TensorProto of `dtype`/`dims` from the IR's raw little-endian bytes (strings: u32 length + UTF-8 records). */
export function tensorProto(
  name: string,
  dtype: NonNullable<ValueAttrs['dtype']>,
  dims: readonly number[],
  ref: WeightRef,
): TensorProto {
  const bytes = readWeightBytes(ref);
  const t: TensorProto = { name, dims: dims.map(i64), dataType: dtypeCode(dtype) };
  if (dtype === 'string') {
    const out: Uint8Array[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let at = 0; at + 4 <= bytes.length;) {
      const len = view.getUint32(at, true);
      out.push(bytes.subarray(at + 4, at + 4 + len));
      at += 4 + len;
    }
    t.stringData = out;
  } else t.rawData = bytes;
  return t;
}

function constProto(c: TensorConst): TensorProto {
  return tensorProto('', c.dtype, c.shape, c.ref);
}

/**
 * Names an op reads: its inputs, and the values its subgraphs (at any depth) take from the
 * enclosing scope. `visible` says which names an enclosing scope defines; a subgraph's weight of
 * such a name is that outer value (ONNX forbids a subgraph to shadow an outer name).
 */
export function opReads(
  graph: IRGraph,
  op: string,
  visible: (name: string) => boolean = (n) => graph.hasValue(n),
): string[] {
  const out = new Set<string>();
  for (const v of graph.opInputs(op)) if (v !== undefined) out.add(v);
  for (const [, sub] of graph.subgraphs(op)) for (const n of freeNames(sub, visible)) out.add(n);
  return [...out];
}

/** Names a subgraph reads without defining them (its outer references). */
function freeNames(sub: IRGraph, visible: (name: string) => boolean): Set<string> {
  const defined = localNames(sub, visible);
  const inner = (n: string): boolean => defined.has(n) || visible(n);
  const out = new Set<string>();
  const use = (n: string | undefined): void => {
    if (n !== undefined && n !== '' && !defined.has(n)) out.add(n);
  };
  for (const id of sub.ops()) {
    sub.opInputs(id).forEach(use);
    for (const [, g] of sub.subgraphs(id)) for (const n of freeNames(g, inner)) use(n);
  }
  sub.outputs.forEach(use);
  return out;
}

/** Names a subgraph defines itself: its inputs, what its ops produce, its own weights. */
function localNames(sub: IRGraph, visible: (name: string) => boolean): Set<string> {
  const out = new Set<string>(sub.inputs);
  for (const id of sub.ops()) for (const v of sub.opOutputs(id)) if (v !== undefined) out.add(v);
  for (const v of sub.values()) {
    const a = sub.value(v);
    if (a.weight && !sub.producer(v) && !visible(v)) out.add(v);
  }
  return out;
}

function attrProto(name: string, a: AttrValue, visible: (n: string) => boolean): AttributeProto {
  switch (a.type) {
    case 'int':
      return { name, type: AT.INT, i: i64(a.value) };
    case 'float':
      return { name, type: AT.FLOAT, f: a.value };
    case 'string':
      return { name, type: AT.STRING, s: utf8.encode(a.value) };
    case 'ints':
      return { name, type: AT.INTS, ints: a.value.map(i64) };
    case 'floats':
      return { name, type: AT.FLOATS, floats: a.value };
    case 'strings':
      return { name, type: AT.STRINGS, strings: a.value.map((s) => utf8.encode(s)) };
    case 'tensor':
      return { name, type: AT.TENSOR, t: constProto(a.value) };
    case 'tensors':
      return { name, type: AT.TENSORS, tensors: a.value.map(constProto) };
    case 'graph':
      return { name, type: AT.GRAPH, g: subgraphProto(a.value, visible) };
    case 'graphs':
      return { name, type: AT.GRAPHS, graphs: a.value.map((g) => subgraphProto(g, visible)) };
    case 'type': {
      const tp = typeProto({ dtype: a.value.dtype, shape: a.value.shape });
      return tp ? { name, type: AT.TYPE_PROTO, tp } : { name, type: AT.TYPE_PROTO, tp: {} };
    }
  }
}

/** Drops trailing absent slots; absent ones inside stay as ''. */
function slots(list: (string | undefined)[]): string[] {
  const out = list.map((v) => v ?? '');
  while (out.length && out[out.length - 1] === '') out.pop();
  return out;
}

function nodeProto(graph: IRGraph, id: string, visible: (n: string) => boolean): NodeProto {
  const op = graph.op(id);
  const inner = (n: string): boolean => graph.hasValue(n) || visible(n);
  const node: NodeProto = {
    name: op.name,
    opType: op.opType,
    input: slots(graph.opInputs(id)),
    output: slots(graph.opOutputs(id)),
    attribute: Object.entries(op.attrs).map(([k, a]) => attrProto(k, a, inner)),
  };
  if (op.domain) node.domain = op.domain;
  return node;
}

/** Initializers of a graph: the weights among `reads` that no op produces and that are not inputs. */
function initializers(graph: IRGraph, reads: Iterable<string>, inputs: ReadonlySet<string>): TensorProto[] {
  const out: TensorProto[] = [];
  const seen = new Set<string>();
  for (const n of reads) {
    if (seen.has(n) || inputs.has(n) || !graph.hasValue(n)) continue;
    seen.add(n);
    const v = graph.value(n);
    if (!v.weight || graph.producer(n)) continue;
    if (!v.dtype || !v.shape || v.shape.some((d) => typeof d !== 'number'))
      throw new Error(`weight '${n}' has no static type and shape`);
    out.push(tensorProto(n, v.dtype, v.shape as number[], v.weight));
  }
  return out;
}

function graphBody(
  graph: IRGraph,
  ops: readonly string[],
  inputs: readonly string[],
  outputs: readonly string[],
  name: string,
  visible: (n: string) => boolean,
): GraphProto {
  const inputSet = new Set(inputs);
  const outputSet = new Set(outputs);
  const reads: string[] = [];
  const valueInfo: ValueInfoProto[] = [];
  for (const id of ops) {
    reads.push(...opReads(graph, id, (n) => graph.hasValue(n) || visible(n)));
    for (const v of graph.opOutputs(id))
      if (v !== undefined && !outputSet.has(v) && graph.value(v).dtype) valueInfo.push(valueInfoOf(graph, v));
  }
  reads.push(...outputs);
  return {
    name,
    node: ops.map((id) => nodeProto(graph, id, visible)),
    input: inputs.map((n) => valueInfoOf(graph, n)),
    output: outputs.map((n) => valueInfoOf(graph, n)),
    // A subgraph's weight that names an outer value is that value (ONNX forbids shadowing).
    initializer: initializers(
      graph,
      reads.filter((n) => !visible(n)),
      inputSet,
    ),
    valueInfo,
  };
}

function valueInfoOf(graph: IRGraph, name: string): ValueInfoProto {
  return graph.hasValue(name) ? valueInfo(graph, name) : { name };
}

function subgraphProto(sub: IRGraph, visible: (n: string) => boolean): GraphProto {
  return graphBody(sub, sub.topoOps(), sub.inputs, sub.outputs, sub.name, visible);
}

/** A ModelProto of (the given ops of) an IR graph. */
export function modelProto(graph: IRGraph, o: WriteOnnxOptions): ModelProto {
  const ops = o.ops ?? graph.topoOps();
  const body = graphBody(
    graph,
    ops,
    o.inputs ?? graph.inputs,
    o.outputs ?? graph.outputs,
    o.graphName ?? graph.name,
    () => false,
  );
  const dtypes = new Set<string>();
  for (const n of graph.values()) {
    const d = graph.value(n).dtype;
    if (d) dtypes.add(d);
  }
  return onnx.ModelProto.create({
    irVersion: o.irVersion ?? irVersionFor(o.opsets[''] ?? 1, dtypes),
    producerName: o.producer?.name ?? 'fleetc',
    producerVersion: o.producer?.version ?? '',
    docString: o.docString ?? '',
    opsetImport: Object.entries(o.opsets)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([domain, version]) => ({ domain, version })),
    metadataProps: Object.entries(o.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: body,
  });
}

/** The serialized model. */
export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}
