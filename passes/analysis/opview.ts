import type { IRGraph, OpAttrs } from '../../src/ir/graph.js';
import { product, type Dim } from '../../src/ir/sym.js';
import { shapeOf } from './tensor.js';

/** Read-only helpers over one op, for the cost formulas. */
export class OpView {
  readonly op: OpAttrs;
  readonly ins: (string | undefined)[];
  readonly outs: (string | undefined)[];

  constructor(
    readonly graph: IRGraph,
    readonly id: string,
  ) {
    this.op = graph.op(id);
    this.ins = graph.opInputs(id);
    this.outs = graph.opOutputs(id);
  }

  has(slot: number): boolean {
    return this.ins[slot] !== undefined;
  }
  inShape(slot: number): Dim[] | null {
    return shapeOf(this.graph, this.ins[slot]);
  }
  outShape(slot: number): Dim[] | null {
    return shapeOf(this.graph, this.outs[slot]);
  }
  inNumel(slot: number): Dim | null {
    const s = this.inShape(slot);
    return s ? product(s) : null;
  }
  outNumel(slot = 0): Dim | null {
    const s = this.outShape(slot);
    return s ? product(s) : null;
  }
  int(name: string, dflt: number): number {
    const a = this.op.attrs[name];
    return a && a.type === 'int' ? a.value : dflt;
  }
  float(name: string, dflt: number): number {
    const a = this.op.attrs[name];
    return a && (a.type === 'float' || a.type === 'int') ? a.value : dflt;
  }
  ints(name: string): number[] | undefined {
    const a = this.op.attrs[name];
    return a && a.type === 'ints' ? a.value : undefined;
  }
  str(name: string, dflt: string): string {
    const a = this.op.attrs[name];
    return a && a.type === 'string' ? a.value : dflt;
  }
}

/** Numpy broadcasting of two shapes; symbolic dims that differ broadcast to their max. */
export function broadcastShapes(a: readonly Dim[], b: readonly Dim[], max: (x: Dim, y: Dim) => Dim): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    out.push(x === 1 ? y : y === 1 ? x : max(x, y));
  }
  return out;
}
