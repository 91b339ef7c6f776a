import type { EvalFn } from '../context.js';
import { opKey } from '../table.js';
import { EVAL_OPS } from './ops.js';

const TABLE: ReadonlyMap<string, EvalFn> = new Map(Object.entries(EVAL_OPS));

/** The evaluator for an op, when it has one (ai.onnx ops on small constant or symbolic tensors). */
export function lookupEvalFn(domain: string, opType: string): EvalFn | undefined {
  return TABLE.get(opKey(domain, opType));
}

export function evaluatedOps(): string[] {
  return [...TABLE.keys()].sort();
}
