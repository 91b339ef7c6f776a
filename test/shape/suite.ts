import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pkg from 'onnx-proto';
import protobuf from 'protobufjs';
import { ShapeInference } from '../../passes/shape/infer.js';
import { unsupportedReason } from '../../passes/shape/unsupported.js';
import type { Known, VType } from '../../passes/shape/types.js';
import { decodeElements } from '../../passes/shape/eval/bytes.js';
import { FleetcError } from '../../src/diagnostics/index.js';
import { dtypeFromCode, type DType } from '../../src/ir/dtype.js';
import type { IRGraph } from '../../src/ir/graph.js';
import { dimToString, evaluate, isSym, sym, symbolsOf, type Dim } from '../../src/ir/sym.js';
import { loadOnnx } from '../../src/frontends/onnx/index.js';
import { verifyGraph } from '../../src/ir/verify.js';

const { onnx } = pkg;

/** What a test_data_set output holds: a tensor, or a sequence/optional of tensors. */
export interface Expected {
  container?: 'sequence' | 'optional';
  dtype: DType | null;
  /** One shape per element (one for a tensor; none for an empty sequence/optional). */
  shapes: number[][];
}

export type Status = 'match' | 'mismatch' | 'unsupported' | 'error';

export interface CaseResult {
  name: string;
  /** The op domains the model's nodes use ('' = ai.onnx). */
  domains: string[];
  status: Status;
  detail: string;
}

function tensorExpected(t: pkg.onnx.TensorProto): { dtype: DType | null; shape: number[] } {
  return { dtype: dtypeFromCode(t.dataType) ?? null, shape: (t.dims ?? []).map((d) => Number(d)) };
}

/**
 * SequenceProto / OptionalProto are not in onnx-proto's schema: read their fields by hand.
 * Both keep elem_type in field 2 and tensors in field 3 (tensor_values / tensor_value).
 */
function containerExpected(bytes: Uint8Array, container: 'sequence' | 'optional'): Expected {
  const r = protobuf.Reader.create(bytes);
  const shapes: number[][] = [];
  let dtype: DType | null = null;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 3 && (tag & 7) === 2) {
      const t = onnx.TensorProto.decode(r.bytes());
      const e = tensorExpected(t);
      dtype = e.dtype;
      shapes.push(e.shape);
    } else r.skipType(tag & 7);
  }
  return { container, dtype, shapes };
}

/** OptionalProto holding a SequenceProto in field 5 (sequence_value), or nothing. */
function optionalSequenceExpected(bytes: Uint8Array): Expected {
  const r = protobuf.Reader.create(bytes);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 5 && (tag & 7) === 2) return containerExpected(r.bytes(), 'sequence');
    r.skipType(tag & 7);
  }
  return { container: 'sequence', dtype: null, shapes: [] };
}

/** The declared kind (tensor/sequence/optional) of each graph output, from the model proto. */
function outputKinds(
  model: pkg.onnx.ModelProto,
): ('tensor' | 'sequence' | 'optional' | 'optional-sequence' | 'other')[] {
  return (model.graph?.output ?? []).map((o) => {
    const t = o.type;
    if (!t || t.tensorType) return 'tensor';
    if (t.sequenceType) return 'sequence';
    const opt = (t as { optionalType?: { elemType?: pkg.onnx.ITypeProto } }).optionalType;
    // fleetc keeps an optional sequence as a sequence (see the ONNX frontend's convertType).
    if (opt) return opt.elemType?.sequenceType ? 'optional-sequence' : 'optional';
    return 'other';
  });
}

export function readExpected(dir: string, kinds: ReturnType<typeof outputKinds>): (Expected | undefined)[] {
  return kinds.map((kind, i) => {
    const f = join(dir, 'test_data_set_0', `output_${i}.pb`);
    if (!existsSync(f)) return undefined;
    const bytes = readFileSync(f);
    if (kind === 'sequence' || kind === 'optional') return containerExpected(bytes, kind);
    if (kind === 'optional-sequence') return optionalSequenceExpected(bytes);
    if (kind !== 'tensor') return undefined;
    const e = tensorExpected(onnx.TensorProto.decode(bytes));
    return { dtype: e.dtype, shapes: [e.shape] };
  });
}

/**
 * Gives each graph input the concrete shape of the test's input tensor (a runtime knows the
 * shapes it is fed; declared symbols like `N` would otherwise stay symbols). Sequence inputs get
 * the element shape where all elements agree.
 */
export function bindInputShapes(dir: string, g: IRGraph, model: pkg.onnx.ModelProto): void {
  const declared = new Map((model.graph?.input ?? []).map((i) => [i.name ?? '', i.type]));
  g.inputs.forEach((name, i) => {
    const f = join(dir, 'test_data_set_0', `input_${i}.pb`);
    const t = declared.get(name);
    if (!existsSync(f) || !t) return;
    const bytes = readFileSync(f);
    let shape: Dim[] | undefined;
    if (t.tensorType) shape = tensorExpected(onnx.TensorProto.decode(bytes)).shape;
    else if (t.sequenceType) {
      // Dims where the elements agree become numbers, the others symbols of the input.
      const e = containerExpected(bytes, 'sequence');
      const first = e.shapes[0];
      if (first && e.shapes.every((s) => s.length === first.length))
        shape = first.map((d, k) => (e.shapes.every((s) => s[k] === d) ? d : sym(`${name}_d${k}`)));
    }
    const v = g.value(name);
    if (shape && (!v.shape || v.shape.length === shape.length)) g.updateValue(name, { shape });
  });
}

/** The run's input tensors as known contents (what a runtime knows before it executes). */
export function readInputKnowns(dir: string, g: IRGraph, limit: number): Map<string, Known> {
  const out = new Map<string, Known>();
  g.inputs.forEach((name, i) => {
    const f = join(dir, 'test_data_set_0', `input_${i}.pb`);
    if (!existsSync(f) || g.value(name).container) return;
    let t: pkg.onnx.TensorProto;
    try {
      t = onnx.TensorProto.decode(readFileSync(f));
    } catch {
      return;
    }
    const dtype = dtypeFromCode(t.dataType);
    const shape = (t.dims ?? []).map((d) => Number(d));
    const n = shape.reduce((a, b) => a * b, 1);
    if (!dtype || n > limit) return;
    const data = typedContents(t, dtype, n);
    if (data) out.set(name, { dtype, shape, data });
  });
  return out;
}

function typedContents(t: pkg.onnx.TensorProto, dtype: DType, n: number): number[] | undefined {
  if (t.rawData && t.rawData.length) return decodeElements(dtype, t.rawData, n);
  const pick = (xs: unknown[] | null | undefined): number[] | undefined =>
    xs && xs.length === n ? xs.map((x) => Number(x)) : undefined;
  switch (dtype) {
    case 'float32':
      return pick(t.floatData);
    case 'float64':
      return pick(t.doubleData);
    case 'int64':
      return pick(t.int64Data);
    case 'uint32':
    case 'uint64':
      return pick(t.uint64Data);
    case 'int32':
    case 'int16':
    case 'int8':
    case 'uint16':
    case 'uint8':
    case 'bool':
      return pick(t.int32Data);
    default:
      return undefined;
  }
}

function typeStr(t: VType): string {
  const s = `${t.dtype ?? '?'}${t.shape ? `[${t.shape.map(dimToString).join(',')}]` : '[?]'}`;
  return t.container ? `${t.container}<${s}>` : s;
}

function expectedStr(e: Expected): string {
  const s = `${e.dtype ?? '?'}${e.shapes.map((sh) => `[${sh.join(',')}]`).join('|') || '[]'}`;
  return e.container ? `${e.container}<${s}>` : s;
}

/** Does the inferred type equal the reference output? Exact numbers for tensors; for containers, per element. */
export function typeMatches(t: VType, e: Expected): boolean {
  if ((t.container ?? undefined) !== e.container) return false;
  if (e.container && e.shapes.length === 0) return true;
  if (t.dtype !== e.dtype) return false;
  const rank = e.shapes[0]!.length;
  // Elements of a sequence with different ranks: only an unknown rank describes them all.
  if (e.shapes.some((s) => s.length !== rank)) return t.shape === null;
  if (!t.shape) return false;
  if (t.shape.length !== rank) return false;
  return t.shape.every((d, i) => {
    const vals = new Set(e.shapes.map((s) => s[i]!));
    // Elements of a sequence that differ in a dim: the inferred dim must be symbolic.
    if (vals.size > 1) return typeof d !== 'number';
    return d === [...vals][0];
  });
}

/** The domains of the ops of a model proto (subgraphs and local functions included). */
function protoDomains(model: pkg.onnx.ModelProto): string[] {
  const out = new Set<string>();
  const visit = (nodes: pkg.onnx.INodeProto[] | null | undefined): void => {
    for (const n of nodes ?? []) {
      const d = n.domain && n.domain !== 'ai.onnx' ? n.domain : '';
      const isFn = (model.functions ?? []).some((f) => f.name === n.opType && (f.domain ?? '') === (n.domain ?? ''));
      if (!isFn) out.add(d);
      for (const a of n.attribute ?? []) {
        if (a.g) visit(a.g.node);
        for (const g of a.graphs ?? []) visit(g.node);
      }
    }
  };
  visit(model.graph?.node);
  for (const f of model.functions ?? []) visit(f.node);
  return [...out].sort();
}

export interface RunOptions {
  /** Seed inference with the test's input tensors (small ones). */
  knownInputs?: boolean;
  limit?: number;
}

/**
 * One conformance test: load and verify the model, forget the declared types of its outputs
 * (so nothing but inference can produce them), infer, compare with test_data_set_0.
 */
export function runCase(dir: string, name: string, opts: RunOptions = {}): CaseResult {
  const file = join(dir, 'model.onnx');
  let model: pkg.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(readFileSync(file));
  } catch (e) {
    return { name, domains: [], status: 'error', detail: `decode: ${(e as Error).message}` };
  }
  const domains = protoDomains(model);
  let g: IRGraph;
  try {
    g = loadOnnx(file);
  } catch (e) {
    if (e instanceof FleetcError && e.code === 'E0103')
      return { name, domains, status: 'unsupported', detail: e.format() };
    return {
      name,
      domains,
      status: 'error',
      detail: e instanceof FleetcError ? e.format() : `internal: ${(e as Error).stack}`,
    };
  }
  const expected = readExpected(dir, outputKinds(model));
  for (const o of g.outputs)
    if (!g.inputs.includes(o)) g.updateValue(o, { dtype: null, shape: null, container: undefined });
  bindInputShapes(dir, g, model);
  const limit = opts.limit ?? 1 << 16;
  const knownValues = opts.knownInputs ? readInputKnowns(dir, g, limit) : undefined;
  const inf = new ShapeInference(g, [], { limit, knownValues });
  try {
    inf.run();
  } catch (e) {
    return { name, domains, status: 'error', detail: `internal: ${(e as Error).stack}` };
  }
  const problems = verifyGraph(g);
  if (problems.length)
    return { name, domains, status: 'error', detail: `IR verification after inference: ${problems[0]!.message}` };
  const unsupported = [...inf.results.unsupported.keys()];
  if (unsupported.length) {
    const reasons = unsupported.map((k) => `${k} (${unsupportedReason(k) ?? 'no shape function'})`);
    return { name, domains, status: 'unsupported', detail: `unsupported: ${reasons.join('; ')}` };
  }
  const bad: string[] = [];
  g.outputs.forEach((o, i) => {
    const e = expected[i];
    if (!e) return;
    const v = g.value(o);
    const t: VType = v.container
      ? { dtype: v.dtype, shape: v.shape, container: v.container }
      : { dtype: v.dtype, shape: v.shape };
    if (!typeMatches(t, e)) bad.push(`output ${i} '${o}': inferred ${typeStr(t)}, expected ${expectedStr(e)}`);
  });
  return bad.length
    ? { name, domains, status: 'mismatch', detail: bad.join('; ') }
    : { name, domains, status: 'match', detail: '' };
}

export function listTests(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'model.onnx')))
    .map((d) => d.name)
    .sort();
}

/** Binds each input's declared symbols to the sizes of data set `set` (undefined where they disagree). */
function bindingsFor(dir: string, set: string, g: IRGraph): Map<string, number> | undefined {
  const b = new Map<string, number>();
  for (const [i, name] of g.inputs.entries()) {
    const f = join(dir, set, `input_${i}.pb`);
    const v = g.value(name);
    if (!existsSync(f) || !v.shape || v.container) continue;
    const dims = tensorExpected(onnx.TensorProto.decode(readFileSync(f))).shape;
    if (dims.length !== v.shape.length) return undefined;
    for (const [k, d] of v.shape.entries()) {
      if (typeof d === 'number' || !isSym(d) || !symbolsOf(d).has(d.key)) continue; // plain symbols only
      const prev = b.get(d.key);
      if (prev !== undefined && prev !== dims[k]) return undefined;
      b.set(d.key, dims[k]!);
    }
  }
  return b;
}

/**
 * A model with dynamic axes, checked symbolically: infer once with the declared (symbolic) input
 * shapes, then for every test_data_set bind the symbols to that set's input sizes and evaluate
 * each output's dims, which must equal the reference outputs'.
 */
export function runSymbolicCase(dir: string, name: string): CaseResult & { sets: number; outputs: string[] } {
  const file = join(dir, 'model.onnx');
  const model = onnx.ModelProto.decode(readFileSync(file));
  const domains = protoDomains(model);
  const g = loadOnnx(file);
  for (const o of g.outputs)
    if (!g.inputs.includes(o)) g.updateValue(o, { dtype: null, shape: null, container: undefined });
  const inf = new ShapeInference(g, []);
  inf.run();
  const outputs = g.outputs.map((o) => `${o}: ${typeStr(g.value(o))}`);
  const bad: string[] = [];
  if (inf.results.unsupported.size) bad.push(`no shape function for ${[...inf.results.unsupported.keys()].join(', ')}`);
  if (inf.results.failed) bad.push(`${inf.results.failed} ops failed inference`);
  const sets = readdirSync(dir)
    .filter((d) => d.startsWith('test_data_set_'))
    .sort();
  const kinds = outputKinds(model);
  for (const set of sets) {
    const b = bindingsFor(dir, set, g);
    if (!b) {
      bad.push(`${set}: inputs disagree on a symbol`);
      continue;
    }
    g.outputs.forEach((o, i) => {
      const f = join(dir, set, `output_${i}.pb`);
      if (!existsSync(f) || kinds[i] !== 'tensor') return;
      const e = tensorExpected(onnx.TensorProto.decode(readFileSync(f)));
      const v = g.value(o);
      const got = v.shape?.map((d) => evaluate(d, b));
      const ok = v.dtype === e.dtype && got?.length === e.shape.length && got.every((d, k) => d === e.shape[k]);
      if (!ok)
        bad.push(
          `${set} output '${o}': ${typeStr(v)} evaluates to ${v.dtype}[${got?.map((d) => d ?? '?').join(',') ?? '?'}], expected ${e.dtype}[${e.shape.join(',')}]`,
        );
    });
  }
  const status: Status = bad.length ? 'mismatch' : 'match';
  return { name, domains, status, detail: bad.join('; '), sets: sets.length, outputs };
}
