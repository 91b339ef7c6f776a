import type { IRGraph, AttrValue } from '../../ir/graph.js';
import { clean, fail, type LoadContext, type Where } from './context.js';
import { int64, type AttributeProto, type GraphProto } from './proto.js';
import { densifySparse } from './sparse.js';
import { convertTensor } from './tensor.js';
import { convertType } from './types.js';

const utf8 = new TextDecoder('utf-8');

/** AttributeType codes (onnx.proto). */
const T = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

export type SubgraphConverter = (g: GraphProto, attr: string) => IRGraph;

/**
 * A node's attributes → AttrValues. Graph attributes are converted by `sub` (which knows the
 * enclosing scopes). `ref_attr_name` must have been substituted already (function inlining);
 * one that is left is outside any function and refused.
 */
export function convertAttrs(
  ctx: LoadContext,
  attrs: readonly AttributeProto[],
  where: Where,
  sub: SubgraphConverter,
): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const a of attrs) {
    const name = a.name ?? '';
    if (!name) fail(ctx, 'E0102', 'an attribute has no name', where);
    if (Object.prototype.hasOwnProperty.call(out, name))
      fail(ctx, 'E0102', `attribute '${clean(name)}' is given twice`, where);
    if (a.refAttrName)
      fail(
        ctx,
        'E0102',
        `attribute '${clean(name)}' refers to function attribute '${clean(a.refAttrName)}' outside a function`,
        where,
      );
    Object.defineProperty(out, name, {
      value: convertAttr(ctx, a, name, where, sub),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function convertAttr(
  ctx: LoadContext,
  a: AttributeProto,
  name: string,
  where: Where,
  sub: SubgraphConverter,
): AttrValue {
  const what = `attribute '${clean(name)}'`;
  const type = a.type || inferType(a);
  switch (type) {
    case T.FLOAT:
      return { type: 'float', value: a.f ?? 0 };
    case T.INT:
      return { type: 'int', value: int64(a.i) };
    case T.STRING:
      return { type: 'string', value: utf8.decode(a.s ?? new Uint8Array()) };
    case T.FLOATS:
      return { type: 'floats', value: [...(a.floats ?? [])] };
    case T.INTS:
      return { type: 'ints', value: (a.ints ?? []).map((v) => int64(v)) };
    case T.STRINGS:
      return { type: 'strings', value: (a.strings ?? []).map((s) => utf8.decode(s)) };
    case T.TENSOR:
      if (!a.t) fail(ctx, 'E0102', `${what} is a tensor attribute without a tensor`, where);
      return { type: 'tensor', value: convertTensor(ctx, a.t, `tensor of ${what}`, where) };
    case T.TENSORS:
      return {
        type: 'tensors',
        value: (a.tensors ?? []).map((t, i) => convertTensor(ctx, t, `tensor ${i} of ${what}`, where)),
      };
    case T.SPARSE_TENSOR:
      if (!a.sparseTensor) fail(ctx, 'E0102', `${what} is a sparse tensor attribute without a tensor`, where);
      return { type: 'tensor', value: densifySparse(ctx, a.sparseTensor, `tensor of ${what}`, where) };
    case T.SPARSE_TENSORS:
      return {
        type: 'tensors',
        value: (a.sparseTensors ?? []).map((t, i) => densifySparse(ctx, t, `tensor ${i} of ${what}`, where)),
      };
    case T.GRAPH:
      if (!a.g) fail(ctx, 'E0102', `${what} is a graph attribute without a graph`, where);
      return { type: 'graph', value: sub(a.g, name) };
    case T.GRAPHS:
      return { type: 'graphs', value: (a.graphs ?? []).map((g, i) => sub(g, `${name}[${i}]`)) };
    case T.TYPE_PROTO: {
      const t = convertType(ctx, a.tp, name, where);
      return { type: 'type', value: { dtype: t.dtype, shape: t.shape } };
    }
    case T.TYPE_PROTOS:
      return fail(ctx, 'E0103', `${what} is a list of types, which fleetc does not support`, where);
    default:
      return fail(ctx, 'E0102', `${what} has ${type ? `unknown type ${type}` : 'no value'}`, where);
  }
}

/** IR < 3 style attributes carry no type: tell it from the field that is set. */
function inferType(a: AttributeProto): number {
  const own = (k: keyof AttributeProto): boolean => Object.prototype.hasOwnProperty.call(a, k) && a[k] !== null;
  if (own('f')) return T.FLOAT;
  if (own('i')) return T.INT;
  if (own('s')) return T.STRING;
  if (own('t')) return T.TENSOR;
  if (own('g')) return T.GRAPH;
  if (own('sparseTensor')) return T.SPARSE_TENSOR;
  if (own('tp')) return T.TYPE_PROTO;
  if (a.floats?.length) return T.FLOATS;
  if (a.ints?.length) return T.INTS;
  if (a.strings?.length) return T.STRINGS;
  if (a.tensors?.length) return T.TENSORS;
  if (a.graphs?.length) return T.GRAPHS;
  if (a.sparseTensors?.length) return T.SPARSE_TENSORS;
  return 0;
}
