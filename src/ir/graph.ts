import graphology from 'graphology';
import type { DType } from './dtype.js';
import type { Shape } from './sym.js';
import type { EdgeAttrs, GraphAttrs, ModelMeta, SourceLoc, TensorConst, ValueAttrs } from './types.js';
import { orderNodes } from './topo-order.js';

/** An attribute's value. Attributes hold subgraphs, so their types live with the graph. */
export type AttrValue =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensor'; value: TensorConst }
  | { type: 'tensors'; value: TensorConst[] }
  | { type: 'graph'; value: IRGraph }
  | { type: 'graphs'; value: IRGraph[] }
  | { type: 'type'; value: { dtype: DType | null; shape: Shape | null } };

export interface OpAttrs {
  kind: 'op';
  name: string;
  opType: string;
  /** '' is ai.onnx; 'com.microsoft', 'stablehlo', … */
  domain: string;
  /** Opset version in force for this op's domain. */
  opset: number;
  attrs: Record<string, AttrValue>;
  loc: SourceLoc;
  /** Number of input slots, present or not (ONNX optional inputs leave gaps). */
  numInputs: number;
  numOutputs: number;
  placement?: string;
}

export type NodeAttrs = ValueAttrs | OpAttrs;

const { MultiDirectedGraph } = graphology;
type Store = graphology.MultiDirectedGraph<NodeAttrs, EdgeAttrs, GraphAttrs>;

const V = 'v:';
const O = 'o:';

export interface OpSpec {
  opType: string;
  domain?: string;
  opset?: number;
  attrs?: Record<string, AttrValue>;
  loc?: SourceLoc;
  /** Unique op name; made unique with a suffix when taken or empty. */
  name?: string;
}

export interface Use {
  op: string;
  slot: number;
}

/**
 * The IR: a bipartite graphology graph whose nodes are ops and values. A value→op edge is an
 * input with its slot; an op→value edge is an output with its slot. Values are named by their
 * model name, ops by a unique op name; both live in one graph with prefixed keys.
 */
export class IRGraph {
  readonly g: Store;

  constructor(name: string, meta?: Partial<ModelMeta>) {
    this.g = new MultiDirectedGraph<NodeAttrs, EdgeAttrs, GraphAttrs>();
    this.g.replaceAttributes({
      name,
      inputs: [],
      outputs: [],
      meta: { format: 'ir', file: '', opsets: {}, ...meta },
    });
  }

  get name(): string {
    return this.g.getAttribute('name');
  }
  get meta(): ModelMeta {
    return this.g.getAttribute('meta');
  }
  get inputs(): string[] {
    return this.g.getAttribute('inputs');
  }
  set inputs(names: string[]) {
    this.g.setAttribute('inputs', names);
  }
  get outputs(): string[] {
    return this.g.getAttribute('outputs');
  }
  set outputs(names: string[]) {
    this.g.setAttribute('outputs', names);
  }

  // -- values ----------------------------------------------------------------------------------

  hasValue(name: string): boolean {
    return this.g.hasNode(V + name);
  }

  addValue(v: Omit<ValueAttrs, 'kind'>): string {
    if (this.hasValue(v.name)) throw new Error(`value '${v.name}' is defined twice`);
    this.g.addNode(V + v.name, { kind: 'value', ...v });
    return v.name;
  }

  value(name: string): ValueAttrs {
    const key = V + name;
    if (!this.g.hasNode(key)) throw new Error(`no value '${name}'`);
    return this.g.getNodeAttributes(key) as ValueAttrs;
  }

  updateValue(name: string, patch: Partial<Omit<ValueAttrs, 'kind' | 'name'>>): void {
    this.g.mergeNodeAttributes(V + name, patch);
  }

  values(): string[] {
    const out: string[] = [];
    this.g.forEachNode((key, a) => {
      if (a.kind === 'value') out.push(key.slice(V.length));
    });
    return out;
  }

  producer(value: string): Use | undefined {
    for (const e of this.g.inEdges(V + value)) {
      return { op: this.g.source(e).slice(O.length), slot: this.g.getEdgeAttribute(e, 'slot') };
    }
    return undefined;
  }

  consumers(value: string): Use[] {
    return this.g
      .outEdges(V + value)
      .map((e) => ({ op: this.g.target(e).slice(O.length), slot: this.g.getEdgeAttribute(e, 'slot') }));
  }

  removeValue(name: string): void {
    this.g.dropNode(V + name);
  }

  /** A value name not yet taken, from `base`. */
  freshValueName(base: string): string {
    if (!this.hasValue(base)) return base;
    for (let i = 1; ; i++) if (!this.hasValue(`${base}_${i}`)) return `${base}_${i}`;
  }

  // -- ops -------------------------------------------------------------------------------------

  hasOp(id: string): boolean {
    return this.g.hasNode(O + id);
  }

  /**
   * Adds an op. `inputs` holds value names, '' for an absent optional input. Output values that
   * do not exist yet are created as intermediates with unknown type. Returns the op's id.
   */
  addOp(spec: OpSpec, inputs: readonly string[], outputs: readonly string[]): string {
    const id = this.freshOpName(spec.name || spec.opType);
    this.g.addNode(O + id, {
      kind: 'op',
      name: id,
      opType: spec.opType,
      domain: spec.domain ?? '',
      opset: spec.opset ?? 0,
      attrs: spec.attrs ?? {},
      loc: spec.loc ?? { file: this.meta.file },
      numInputs: inputs.length,
      numOutputs: outputs.length,
    });
    inputs.forEach((v, slot) => {
      if (v) this.connectInput(id, slot, v);
    });
    outputs.forEach((v, slot) => {
      if (!v) return;
      if (!this.hasValue(v)) this.addValue({ name: v, dtype: null, shape: null, role: 'intermediate' });
      if (this.producer(v)) throw new Error(`value '${v}' is produced twice`);
      this.g.addDirectedEdge(O + id, V + v, { slot });
    });
    return id;
  }

  private connectInput(op: string, slot: number, value: string): void {
    if (!this.hasValue(value)) throw new Error(`op '${op}' reads undefined value '${value}'`);
    this.g.addDirectedEdge(V + value, O + op, { slot });
  }

  op(id: string): OpAttrs {
    const key = O + id;
    if (!this.g.hasNode(key)) throw new Error(`no op '${id}'`);
    return this.g.getNodeAttributes(key) as OpAttrs;
  }

  updateOp(id: string, patch: Partial<Omit<OpAttrs, 'kind' | 'name'>>): void {
    this.g.mergeNodeAttributes(O + id, patch);
  }

  /** Ops in insertion order. */
  ops(): string[] {
    const out: string[] = [];
    this.g.forEachNode((key, a) => {
      if (a.kind === 'op') out.push(key.slice(O.length));
    });
    return out;
  }

  /** Input value names by slot; undefined where an optional input is absent. */
  opInputs(id: string): (string | undefined)[] {
    const out: (string | undefined)[] = new Array(this.op(id).numInputs).fill(undefined);
    for (const e of this.g.inEdges(O + id)) out[this.g.getEdgeAttribute(e, 'slot')] = this.g.source(e).slice(V.length);
    return out;
  }

  opOutputs(id: string): (string | undefined)[] {
    const out: (string | undefined)[] = new Array(this.op(id).numOutputs).fill(undefined);
    for (const e of this.g.outEdges(O + id)) out[this.g.getEdgeAttribute(e, 'slot')] = this.g.target(e).slice(V.length);
    return out;
  }

  /** Re-points input `slot` of `op` to `value` ('' removes it). */
  setOpInput(op: string, slot: number, value: string): void {
    for (const e of this.g.inEdges(O + op)) if (this.g.getEdgeAttribute(e, 'slot') === slot) this.g.dropEdge(e);
    if (value) this.connectInput(op, slot, value);
    const attrs = this.op(op);
    if (slot >= attrs.numInputs) this.updateOp(op, { numInputs: slot + 1 });
  }

  /**
   * Makes output `slot` of `op` write `value` (created as an intermediate of unknown type when it
   * does not exist; it must have no producer). The value written before stays, without a producer.
   */
  setOpOutput(op: string, slot: number, value: string): void {
    if (!this.hasValue(value)) this.addValue({ name: value, dtype: null, shape: null, role: 'intermediate' });
    if (this.producer(value)) throw new Error(`value '${value}' is produced twice`);
    for (const e of this.g.outEdges(O + op)) if (this.g.getEdgeAttribute(e, 'slot') === slot) this.g.dropEdge(e);
    this.g.addDirectedEdge(O + op, V + value, { slot });
    if (slot >= this.op(op).numOutputs) this.updateOp(op, { numOutputs: slot + 1 });
  }

  /** Makes every reader of `from` read `to` instead; graph outputs follow. */
  replaceAllUses(from: string, to: string): void {
    for (const use of this.consumers(from)) this.setOpInput(use.op, use.slot, to);
    if (this.outputs.includes(from)) this.outputs = this.outputs.map((o) => (o === from ? to : o));
  }

  /** Removes an op and its edges; its output values stay (without a producer). */
  removeOp(id: string): void {
    this.g.dropNode(O + id);
  }

  /** Ops in a topological order, stable with respect to insertion order. Throws on a cycle. */
  topoOps(): string[] {
    const order = this.ops();
    const rank = new Map(order.map((id, i) => [id, i]));
    // an op follows the producers of its inputs and of the values its subgraphs capture
    const deps = order.map((id) => {
      const ds: number[] = [];
      for (const v of [...this.opInputs(id), ...this.capturedValues(id)]) {
        const p = v === undefined ? undefined : this.producer(v);
        if (p) ds.push(rank.get(p.op)!);
      }
      return ds;
    });
    return orderNodes(deps, (node) => {
      throw new Error(`the graph has a cycle through op '${order[node]}'`);
    }).map((i) => order[i]!);
  }

  /** Subgraphs owned by an op's attributes, by attribute name. */
  subgraphs(id: string): [string, IRGraph][] {
    const out: [string, IRGraph][] = [];
    for (const [name, a] of Object.entries(this.op(id).attrs)) {
      if (a.type === 'graph') out.push([name, a.value]);
      else if (a.type === 'graphs') a.value.forEach((g, i) => out.push([`${name}[${i}]`, g]));
    }
    return out;
  }

  /**
   * Values of this graph that an op's subgraphs read without an input edge (captured outer
   * values, at any depth): they are dependencies of the op like its inputs.
   */
  capturedValues(id: string): string[] {
    const out = new Set<string>();
    const visit = (sub: IRGraph): void => {
      for (const v of sub.values()) if (sub.value(v).role === 'outer' && !sub.producer(v)) out.add(v);
      for (const op of sub.ops()) for (const [, inner] of sub.subgraphs(op)) visit(inner);
    };
    for (const [, sub] of this.subgraphs(id)) visit(sub);
    return [...out].filter((v) => this.hasValue(v)).sort();
  }

  freshOpName(base: string): string {
    if (!this.hasOp(base)) return base;
    for (let i = 1; ; i++) if (!this.hasOp(`${base}_${i}`)) return `${base}_${i}`;
  }
}
