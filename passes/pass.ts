import type { IRGraph } from '../src/ir/graph.js';
import type { Diagnostic } from '../src/diagnostics/index.js';
import type { FleetCost } from '../src/fleet/cost.js';
import type { Fleet } from '../src/fleet/types.js';

export type PassOptionValue = string | number | boolean;
export type PassOptions = Record<string, PassOptionValue>;

/**
 * What passes leave for later passes, one typed slot per result. Each pass declares its own slot
 * where it is written (`declare module '../pass.js' { interface PassResults { … } }`), so the
 * compile reads `ctx.results.partition` with its type and no lookup by string.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface PassResults {}

/** What a compile targets: the fleet, its cost model and the device requests arrive on. */
export interface CompileTarget {
  fleet: Fleet;
  cost: FleetCost;
  /** Index of the home device (the first cpu): graph inputs arrive and outputs leave there. */
  home: number;
}

/** Settings of a compile that passes read beside their options (from flags, not the pipeline text). */
export interface CompileSettings {
  /** `--max-memory`: bytes no device may use, below its capacity. */
  maxMemory?: number;
  /** MoE models: routing file, extra expert slots, a placement to realise (place-experts). */
  moe?: { routing?: string; expertSlots?: number; placement?: string };
  /** Generation builds: tokens per step and context the KV state is sized for (kv-state). */
  generate?: { maxStepTokens?: number; maxContext?: number };
}

export interface PassContext {
  /** Symbol bindings from `--dim name=value` (generation builds add their own). */
  dims: Map<string, number>;
  results: PassResults;
  diagnostics: Diagnostic[];
  /** Verify the IR after every pass (tests and debug builds). */
  verify: boolean;
  /** The fleet and its cost model; absent for pipelines that only transform the graph. */
  target?: CompileTarget;
  settings: CompileSettings;
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
  /** Results of earlier passes it reads (the driver checks the pipeline provides them). */
  needs?: (keyof PassResults)[];
  /** The result slot it fills. */
  provides?: keyof PassResults;
  /** Whether it needs the compile's fleet (ctx.target). */
  needsTarget?: boolean;
  run(graph: IRGraph, ctx: PassContext, options: PassOptions): PassResult | void;
}

export function newPassContext(init: Partial<PassContext> = {}): PassContext {
  return {
    dims: init.dims ?? new Map(),
    results: init.results ?? {},
    diagnostics: init.diagnostics ?? [],
    verify: init.verify ?? false,
    settings: init.settings ?? {},
    ...(init.target ? { target: init.target } : {}),
  };
}

/** The result an earlier pass left in `slot`; an error naming the pipeline's gap when there is none. */
export function need<K extends keyof PassResults>(ctx: PassContext, slot: K, by: string): NonNullable<PassResults[K]> {
  const r = ctx.results[slot];
  if (r === undefined) throw new Error(`'${by}' ran without the '${String(slot)}' result it needs`);
  return r as NonNullable<PassResults[K]>;
}

/** The compile's fleet; an internal error when a pass that needs one runs without it. */
export function targetOf(ctx: PassContext, by: string): CompileTarget {
  if (!ctx.target) throw new Error(`pass '${by}' needs a fleet (run it from compile)`);
  return ctx.target;
}
