// What the lowering rules (lower.ts, chlo.ts, subbyte.ts) see of the op emitter (convert.ts's
// Emitter): helpers to make values, constants and ops, and `lower` for the ops a rule expands
// into. Rules depend on this, not on the emitter, so that imports point one way.
import type { FleetcError } from '../../diagnostics/index.js';
import type { AttrValue, DType, IRGraph, Shape, SourceLoc, WeightRef } from '../../ir/index.js';
import type { MOp, Pos } from './ast.js';

export interface Lowering {
  readonly graph: IRGraph;
  err(pos: Pos, message: string, code?: 'E0102' | 'E0103' | 'E0105'): FleetcError;
  loc(pos: Pos, userLoc?: string): SourceLoc;
  /** A fresh intermediate value. */
  tmp(base: string, dtype: DType | null, shape: Shape | null): string;
  /** Adds an ONNX op (domain ''). */
  onnx(opType: string, inputs: string[], outputs: string[], op: MOp, attrs?: Record<string, AttrValue>): void;
  /** A constant weight value with inline bytes. */
  weight(base: string, dtype: DType, shape: number[], data: Uint8Array | WeightRef): string;
  /** An int64 1-D constant (shapes, axes, pads). */
  i64(base: string, values: number[]): string;
  /** Weight bytes of a value that is an inline weight, else undefined. */
  constBytes(name: string): { dtype: DType; shape: Shape; bytes: Uint8Array } | undefined;
  /** A kept op in the stablehlo (or chlo) domain, regions converted to subgraphs. */
  emitKept(op: MOp, inputs: string[], outputs: string[], scope: Scope, extra?: Record<string, AttrValue>): void;
  /** Lowers one op by the rules of lower.ts. */
  lower(op: MOp, ins: string[], outs: string[], scope: Scope): void;
}

/** Value keys → IR value names, chained to the enclosing region's scope. */
export class Scope {
  private readonly map = new Map<string, string>();
  constructor(readonly parent: Scope | null) {}
  set(k: string, v: string): void {
    this.map.set(k, v);
  }
  getLocal(k: string): string | undefined {
    return this.map.get(k);
  }
  lookup(k: string): { name: string; depth: number } | undefined {
    const v = this.getLocal(k);
    if (v !== undefined) return { name: v, depth: 0 };
    const r = this.parent?.lookup(k);
    return r && { name: r.name, depth: r.depth + 1 };
  }
}

/**
 * An op's name from its type and first output (`Add_x`): unique without a search, because
 * IRGraph.freshOpName scans `Add_1, Add_2, …` and would make conversion quadratic.
 */
export function opName(opType: string, outputs: readonly (string | undefined)[]): string {
  const o = outputs.find((x) => x);
  return o ? `${opType}_${o}` : opType;
}
