import { readFileSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FleetcError } from '../../diagnostics/index.js';
import type { IRGraph } from '../../ir/graph.js';
import type { ModelMeta } from '../../ir/types.js';
import { verifyGraph } from '../../ir/verify.js';
import { fail, type LoadContext, type LoadOnnxOptions } from './context.js';
import { functionTable, opsetMap } from './functions.js';
import { convertGraph } from './graph.js';
import { decodeModel, int64, ProtoError, scanFunctionExtras } from './proto.js';

export type { LoadOnnxOptions } from './context.js';

/**
 * Loads an ONNX model file into the IR. Weights stay where they are (ranges of the .onnx file or
 * of its external data files); see docs/frontend-onnx.md for the mapping. Every problem with the
 * file is a FleetcError (E0101 unreadable, E0102 malformed, E0103 unsupported, E0104 external
 * data, E0105 graph structure).
 */
export function loadOnnx(path: string, options: LoadOnnxOptions = {}): IRGraph {
  const opts: Required<LoadOnnxOptions> = { initializerInputs: 'weight', inlineRawBelow: 0, verify: true, ...options };
  const base = { file: path };
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return fail(
      base,
      'E0101',
      `cannot read the model (${e.code === 'EISDIR' ? 'it is a folder' : (e.code ?? e.message)})`,
    );
  }
  let model;
  try {
    model = decodeModel(bytes);
  } catch (err) {
    if (err instanceof ProtoError) fail(base, 'E0102', `not a valid ONNX model: ${err.message}`);
    throw err;
  }
  if (!model.graph) fail(base, 'E0102', 'not a valid ONNX model: it has no graph');

  const absPath = resolve(path);
  const dir = dirname(absPath);
  const irVersion = int64(model.irVersion);
  const ctx: LoadContext = {
    file: path,
    absPath,
    dir,
    realDir: realpathSync(dir),
    fileBytes: bytes,
    irVersion,
    opts,
    symbols: new Set(),
    external: new Map(),
  };
  const opsets = opsetMap(model.opsetImport);
  const meta: ModelMeta = {
    format: 'onnx',
    file: path,
    producer: model.producerName ?? '',
    producerVersion: model.producerVersion ?? '',
    irVersion,
    opsets: Object.fromEntries([...opsets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    ...(model.docString ? { doc: model.docString } : {}),
  };

  let graph: IRGraph;
  try {
    const extras = model.functions?.length ? scanFunctionExtras(bytes) : [];
    const fns = functionTable(ctx, model.functions ?? [], extras, opsets);
    graph = convertGraph(ctx, model.graph, { opsets, fns, meta }).graph;
  } catch (err) {
    if (err instanceof FleetcError) throw err;
    if (err instanceof ProtoError) fail(base, 'E0102', `not a valid ONNX model: ${err.message}`);
    if (err instanceof RangeError && /call stack/i.test(err.message))
      fail(base, 'E0102', 'the model is nested too deeply');
    throw err;
  }

  if (opts.verify) {
    const problems = verifyGraph(graph);
    if (problems.length)
      fail(
        base,
        'E0105',
        `${problems[0]!.message}${problems.length > 1 ? ` (and ${problems.length - 1} more problems)` : ''}`,
      );
  }
  return graph;
}
