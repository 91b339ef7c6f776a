import type { DType } from '../../src/ir/dtype.js';
import { dtypeFromCode } from '../../src/ir/dtype.js';
import type { IRGraph, AttrValue, OpAttrs } from '../../src/ir/graph.js';
import type { Dim, Shape } from '../../src/ir/sym.js';
import type { TensorConst } from '../../src/ir/types.js';
import { ShapeError, UNKNOWN, type Known, type VType } from './types.js';

/** What a subgraph inference gives back: its outputs' types and known contents. */
export interface SubgraphResult {
  types: VType[];
  knowns: (Known | undefined)[];
}

/** Services the driver gives an op's shape and evaluation functions. */
export interface OpServices {
  fresh(op: string, tag: string): Dim;
  warn(op: OpAttrs, message: string): void;
  /** `exact[i]`: input i takes the bound type even where the body declares a more specific one. */
  inferSubgraph(
    g: IRGraph,
    inputs: (VType | undefined)[],
    knowns: (Known | undefined)[],
    exact?: boolean[],
  ): SubgraphResult;
  tensorAttrKnown(t: TensorConst): Known | undefined;
  /** Largest tensor (in elements) the evaluator computes. */
  limit: number;
}

/** One op, as its shape and evaluation functions see it. */
export class OpCtx {
  /** Known output contents a shape function found on the way (an If with a known condition). */
  knownOutputs?: (Known | undefined)[];

  constructor(
    readonly id: string,
    readonly op: OpAttrs,
    private readonly types: (VType | undefined)[],
    private readonly knowns: (Known | undefined)[],
    readonly numOutputs: number,
    private readonly svc: OpServices,
  ) {}

  get opType(): string {
    return this.op.opType;
  }
  get opset(): number {
    return this.op.opset;
  }
  get numInputs(): number {
    return this.types.length;
  }
  get limit(): number {
    return this.svc.limit;
  }

  has(i: number): boolean {
    return this.types[i] !== undefined;
  }
  /** Input i's type; an absent input reads as unknown. */
  input(i: number): VType {
    return this.types[i] ?? UNKNOWN;
  }
  need(i: number): VType {
    const t = this.types[i];
    if (!t) throw new ShapeError(`input ${i} is required`);
    return t;
  }
  dtype(i: number): DType | null {
    return this.input(i).dtype;
  }
  shape(i: number): Shape | null {
    return this.input(i).shape;
  }
  rank(i: number): number | null {
    return this.input(i).shape?.length ?? null;
  }
  known(i: number): Known | undefined {
    return this.knowns[i];
  }
  /** Input i's known contents, flattened. */
  values(i: number): Dim[] | undefined {
    return this.knowns[i]?.data;
  }
  /** Input i's known contents as plain integers (no symbols). */
  intValues(i: number): number[] | undefined {
    const d = this.knowns[i]?.data;
    if (!d || d.some((x) => typeof x !== 'number')) return undefined;
    return d as number[];
  }
  /** A scalar (or one-element) input's known value. */
  scalar(i: number): Dim | undefined {
    const d = this.knowns[i]?.data;
    return d && d.length === 1 ? d[0] : undefined;
  }

  attr(name: string): AttrValue | undefined {
    return this.op.attrs[name];
  }
  attrInt(name: string): number | undefined;
  attrInt(name: string, def: number): number;
  attrInt(name: string, def?: number): number | undefined {
    const a = this.op.attrs[name];
    if (!a) return def;
    if (a.type !== 'int') throw new ShapeError(`attribute '${name}' must be an int`);
    return a.value;
  }
  attrFloat(name: string, def: number): number {
    const a = this.op.attrs[name];
    if (!a) return def;
    if (a.type !== 'float' && a.type !== 'int') throw new ShapeError(`attribute '${name}' must be a float`);
    return a.value;
  }
  attrInts(name: string): number[] | undefined {
    const a = this.op.attrs[name];
    if (!a) return undefined;
    if (a.type === 'int') return [a.value];
    if (a.type !== 'ints') throw new ShapeError(`attribute '${name}' must be a list of ints`);
    return a.value;
  }
  attrStr(name: string, def: string): string {
    const a = this.op.attrs[name];
    if (!a) return def;
    if (a.type !== 'string') throw new ShapeError(`attribute '${name}' must be a string`);
    return a.value;
  }
  attrDType(name: string): DType | undefined {
    const code = this.attrInt(name);
    if (code === undefined) return undefined;
    const dt = dtypeFromCode(code);
    if (!dt) throw new ShapeError(`attribute '${name}' names unknown element type ${code}`);
    return dt;
  }
  attrGraph(name: string): IRGraph | undefined {
    const a = this.op.attrs[name];
    if (!a) return undefined;
    if (a.type !== 'graph') throw new ShapeError(`attribute '${name}' must be a graph`);
    return a.value;
  }
  attrTensor(name: string): TensorConst | undefined {
    const a = this.op.attrs[name];
    if (!a) return undefined;
    if (a.type !== 'tensor') throw new ShapeError(`attribute '${name}' must be a tensor`);
    return a.value;
  }
  tensorKnown(t: TensorConst): Known | undefined {
    return this.svc.tensorAttrKnown(t);
  }

  /** A fresh symbol for a data-dependent dimension, named from the op (deterministic). */
  fresh(tag: string): Dim {
    return this.svc.fresh(this.id, tag);
  }
  freshShape(rank: number, tag = 'd'): Shape {
    return Array.from({ length: rank }, (_, i) => this.fresh(`${tag}${i}`));
  }
  warn(message: string): void {
    this.svc.warn(this.op, message);
  }
  inferSubgraph(
    g: IRGraph,
    inputs: (VType | undefined)[],
    knowns: (Known | undefined)[] = [],
    exact: boolean[] = [],
  ): SubgraphResult {
    return this.svc.inferSubgraph(g, inputs, knowns, exact);
  }
}

/** Output types of an op, by slot (undefined: unknown). */
export type ShapeFn = (c: OpCtx) => (VType | undefined)[];
/** Known output contents of an op, by slot; undefined where not computed. */
export type EvalFn = (c: OpCtx, outTypes: (VType | undefined)[]) => (Known | undefined)[] | undefined;
