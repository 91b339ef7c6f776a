import type { IRGraph } from '../src/ir/graph.js';
import type { Diagnostic } from '../src/diagnostics/index.js';

export type PassOptionValue = string | number | boolean;
export type PassOptions = Record<string, PassOptionValue>;

export interface PassContext {
  /** Symbol bindings from `--dim name=value`. */
  dims: Map<string, number>;
  /** Analyses store their results here by pass name, for later passes and the report. */
  results: Map<string, unknown>;
  diagnostics: Diagnostic[];
  /** Verify the IR after every pass (tests and debug builds). */
  verify: boolean;
  /** Anything the driver hands the passes (the fleet, the target table …), by key. */
  env: Map<string, unknown>;
}

export interface PassResult {
  /** Transforms: whether the graph changed, and a line saying how. */
  changed?: boolean;
  summary?: string;
}

/** A named pass. Analyses store results in ctx.results and leave the graph alone. */
export interface Pass {
  name: string;
  summary: string;
  kind: 'analysis' | 'transform';
  /** Accepted options with their defaults. */
  options: PassOptions;
  run(graph: IRGraph, ctx: PassContext, options: PassOptions): PassResult | void;
}

export function newPassContext(init: Partial<PassContext> = {}): PassContext {
  return {
    dims: init.dims ?? new Map(),
    results: init.results ?? new Map(),
    diagnostics: init.diagnostics ?? [],
    verify: init.verify ?? false,
    env: init.env ?? new Map(),
  };
}
