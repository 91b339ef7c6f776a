import { FleetcError, type DiagnosticCode } from '../../diagnostics/index.js';

export interface LoadOnnxOptions {
  /**
   * Graph inputs that also have an initializer (IR >= 4: an overridable default). 'weight'
   * (default) treats them as weights, as the model is usually meant to run; 'input' keeps them
   * as graph inputs that carry their initializer as `weight` (the default value).
   * IR < 4 models list every initializer among the inputs; those are always weights.
   */
  initializerInputs?: 'weight' | 'input';
  /** raw_data tensors smaller than this many bytes are copied inline instead of referenced in the file (default 0). */
  inlineRawBelow?: number;
  /** Run the IR verifier after loading (default true). */
  verify?: boolean;
}

/** Everything the converters share while one model loads. */
export interface LoadContext {
  /** The model path as the user gave it (for messages). */
  file: string;
  /** Absolute model path (for WeightRefs). */
  absPath: string;
  /** The model's folder (absolute) and its real path: external data must stay inside. */
  dir: string;
  realDir: string;
  /** The decoded buffer: raw_data views into it become file offsets. */
  fileBytes: Uint8Array;
  irVersion: number;
  opts: Required<LoadOnnxOptions>;
  /** Symbols made up for dimensions with neither value nor name, to keep them unique. */
  symbols: Set<string>;
  /** External data files already checked: location → absolute path and size. */
  external: Map<string, { path: string; size: number }>;
}

/** Where a problem is: a node (name, index, enclosing subgraph path) or a tensor/value. */
export interface Where {
  node?: string;
  index?: number;
  /** e.g. `If_3.then_branch`; empty at the top level. */
  scope?: string;
}

/** Quotes a name from the model for an error line: control characters escaped, long names cut. */
export function q(name: string | null | undefined): string {
  let s = JSON.stringify(name ?? '').slice(1, -1);
  if (s.length > 80) s = `${s.slice(0, 77)}...`;
  return `'${s}'`;
}

export function clean(name: string): string {
  return q(name).slice(1, -1);
}

export function fail(ctx: { file: string }, code: DiagnosticCode, message: string, where: Where = {}): never {
  const scope = where.scope ? ` (in subgraph ${clean(where.scope)})` : '';
  throw new FleetcError(code, `${message}${scope}`, {
    file: ctx.file,
    node: where.node !== undefined ? clean(where.node) : undefined,
    index: where.index,
  });
}
