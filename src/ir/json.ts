import { IRGraph, type AttrValue, type OpAttrs } from './graph.js';
import { dimFromJSON, dimToJSON, type Shape } from './sym.js';
import type { ModelMeta, TensorConst, ValueAttrs, WeightRef } from './types.js';

/** JSON form of the IR. Shapes print dimensions as numbers or expression strings. */
export interface GraphJSON {
  name: string;
  meta: ModelMeta;
  inputs: string[];
  outputs: string[];
  values: ValueJSON[];
  ops: OpJSON[];
}

type ValueJSON = Omit<ValueAttrs, 'kind' | 'shape' | 'weight'> & {
  shape: (number | string)[] | null;
  weight?: WeightJSON;
};
type WeightJSON =
  | { kind: 'file'; path: string; offset: number; length: number }
  | { kind: 'inline'; base64: string }
  | { kind: 'elided' };
type OpJSON = Omit<OpAttrs, 'kind' | 'attrs'> & {
  attrs: Record<string, unknown>;
  inputs: (string | null)[];
  outputs: (string | null)[];
};

const shapeOut = (s: Shape | null): (number | string)[] | null => (s ? s.map(dimToJSON) : null);
const shapeIn = (s: (number | string)[] | null): Shape | null => (s ? s.map(dimFromJSON) : null);

function weightOut(w: WeightRef): WeightJSON {
  return w.kind === 'inline' ? { kind: 'inline', base64: Buffer.from(w.data).toString('base64') } : w;
}
function weightIn(w: WeightJSON): WeightRef {
  return w.kind === 'inline' ? { kind: 'inline', data: new Uint8Array(Buffer.from(w.base64, 'base64')) } : w;
}

function tensorOut(t: TensorConst): unknown {
  return { dtype: t.dtype, shape: t.shape, ref: weightOut(t.ref) };
}
function tensorIn(t: { dtype: TensorConst['dtype']; shape: number[]; ref: WeightJSON }): TensorConst {
  return { dtype: t.dtype, shape: t.shape, ref: weightIn(t.ref) };
}

function attrOut(a: AttrValue): unknown {
  switch (a.type) {
    case 'tensor':
      return { type: a.type, value: tensorOut(a.value) };
    case 'tensors':
      return { type: a.type, value: a.value.map(tensorOut) };
    case 'graph':
      return { type: a.type, value: graphToJSON(a.value) };
    case 'graphs':
      return { type: a.type, value: a.value.map(graphToJSON) };
    case 'type':
      return { type: a.type, value: { dtype: a.value.dtype, shape: shapeOut(a.value.shape) } };
    default:
      return a;
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function attrIn(a: any): AttrValue {
  switch (a.type) {
    case 'tensor':
      return { type: 'tensor', value: tensorIn(a.value) };
    case 'tensors':
      return { type: 'tensors', value: a.value.map(tensorIn) };
    case 'graph':
      return { type: 'graph', value: graphFromJSON(a.value) };
    case 'graphs':
      return { type: 'graphs', value: a.value.map(graphFromJSON) };
    case 'type':
      return { type: 'type', value: { dtype: a.value.dtype, shape: shapeIn(a.value.shape) } };
    default:
      return a as AttrValue;
  }
}

export function graphToJSON(graph: IRGraph): GraphJSON {
  const values: ValueJSON[] = graph.values().map((name) => {
    const { kind: _k, shape, weight, ...rest } = graph.value(name);
    return { ...rest, shape: shapeOut(shape), ...(weight ? { weight: weightOut(weight) } : {}) };
  });
  const ops: OpJSON[] = graph.ops().map((id) => {
    const { kind: _k, attrs, ...rest } = graph.op(id);
    return {
      ...rest,
      attrs: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, attrOut(v)])),
      inputs: graph.opInputs(id).map((v) => v ?? null),
      outputs: graph.opOutputs(id).map((v) => v ?? null),
    };
  });
  return { name: graph.name, meta: graph.meta, inputs: graph.inputs, outputs: graph.outputs, values, ops };
}

export function graphFromJSON(j: GraphJSON): IRGraph {
  const graph = new IRGraph(j.name, j.meta);
  for (const v of j.values) {
    const { shape, weight, ...rest } = v;
    graph.addValue({ ...rest, shape: shapeIn(shape), ...(weight ? { weight: weightIn(weight) } : {}) });
  }
  for (const o of j.ops) {
    const { attrs, inputs, outputs, name, ...rest } = o;
    const id = graph.addOp(
      { ...rest, name, attrs: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, attrIn(v)])) },
      inputs.map((v) => v ?? ''),
      outputs.map((v) => v ?? ''),
    );
    if (id !== name) throw new Error(`op name '${name}' is not unique in the JSON`);
    graph.updateOp(id, { numInputs: rest.numInputs, numOutputs: rest.numOutputs });
  }
  graph.inputs = j.inputs;
  graph.outputs = j.outputs;
  return graph;
}
