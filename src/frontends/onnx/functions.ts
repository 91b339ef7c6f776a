import { clean, fail, type LoadContext, type Where } from './context.js';
import {
  int64,
  normDomain,
  onnx,
  type AttributeProto,
  type FunctionExtras,
  type FunctionProto,
  type GraphProto,
  type NodeProto,
  type OperatorSetIdProto,
} from './proto.js';

export type Opsets = ReadonlyMap<string, number>;

export function opsetMap(
  imports: readonly OperatorSetIdProto[] | null | undefined,
  base?: Opsets,
): Map<string, number> {
  const m = new Map(base ?? []);
  for (const o of imports ?? []) m.set(normDomain(o.domain), int64(o.version));
  return m;
}

interface FunctionDef {
  key: string;
  proto: FunctionProto;
  /** Declared attribute names → default value (undefined: no default). */
  attrs: Map<string, AttributeProto | undefined>;
  opsets: Opsets;
}

export type FunctionTable = Map<string, FunctionDef>;

const fnKey = (domain: string, name: string): string => `${domain}\u0000${name}`;

/** Model-local functions by (domain, name). Overloads (IR 10) of one name are refused. */
export function functionTable(
  ctx: LoadContext,
  protos: readonly FunctionProto[],
  extras: readonly FunctionExtras[],
  modelOpsets: Opsets,
): FunctionTable {
  const table: FunctionTable = new Map();
  protos.forEach((p, i) => {
    const key = fnKey(normDomain(p.domain), p.name ?? '');
    if (!p.name) fail(ctx, 'E0102', `model-local function #${i} has no name`);
    if (table.has(key))
      fail(
        ctx,
        extras[i]?.overload ? 'E0103' : 'E0102',
        `model-local function '${clean(p.name)}' is defined twice${extras[i]?.overload ? ' (overloads are not supported)' : ''}`,
      );
    const attrs = new Map<string, AttributeProto | undefined>();
    for (const a of p.attribute ?? []) attrs.set(a, undefined);
    for (const a of extras[i]?.attributeDefaults ?? []) attrs.set(a.name ?? '', a);
    table.set(key, { key, proto: p, attrs, opsets: opsetMap(p.opsetImport, modelOpsets) });
  });
  return table;
}

/** A node after function inlining, ready to become an op. */
export interface FlatNode {
  opType: string;
  domain: string;
  opset: number;
  input: string[];
  output: string[];
  attribute: AttributeProto[];
  /** Proposed op name. */
  name: string;
  /** The node of the graph being converted that this came from (its own, or the call site). */
  where: Where;
}

/**
 * The nodes of one graph with every call of a model-local function replaced by the function's
 * body: function inputs and outputs become the caller's values, internal values get fresh
 * names `<caller>/<name>` that clash with nothing visible, `ref_attr_name` attributes take the
 * caller's attribute or the function's default (absent when neither), and body nodes use the
 * function's own opset imports. Recursion is refused.
 */
export function flattenNodes(
  ctx: LoadContext,
  nodes: readonly NodeProto[],
  opsets: Opsets,
  fns: FunctionTable,
  taken: (name: string) => boolean,
  scope: string,
): FlatNode[] {
  const out: FlatNode[] = [];
  const made = new Set<string>();
  const fresh = (base: string): string => {
    let name = base;
    for (let k = 1; taken(name) || made.has(name); k++) name = `${base}_${k}`;
    made.add(name);
    return name;
  };

  const emit = (node: NodeProto, name: string, where: Where, ops: Opsets, stack: string[]): void => {
    const opType = node.opType ?? '';
    if (!opType) fail(ctx, 'E0102', 'node has no op_type', where);
    const domain = normDomain(node.domain);
    const fn = fns.get(fnKey(domain, opType));
    if (!fn) {
      out.push({
        opType,
        domain,
        opset: ops.get(domain) ?? 1,
        input: node.input ?? [],
        output: node.output ?? [],
        attribute: node.attribute ?? [],
        name,
        where,
      });
      return;
    }
    if (stack.includes(fn.key)) fail(ctx, 'E0105', `model-local function '${clean(opType)}' calls itself`, where);
    inline(fn, node, name, where, stack);
  };

  const inline = (fn: FunctionDef, node: NodeProto, name: string, where: Where, stack: string[]): void => {
    const p = fn.proto;
    const fname = clean(p.name ?? '');
    const map = new Map<string, string>();
    (p.input ?? []).forEach((n, k) => map.set(n, node.input?.[k] ?? ''));
    const produced = new Set<string>();
    for (const b of p.node ?? []) for (const o of b.output ?? []) if (o) produced.add(o);
    const passThrough: [string, string][] = [];
    (p.output ?? []).forEach((n, k) => {
      const actual = node.output?.[k] ?? '';
      if (!produced.has(n)) {
        if (!map.has(n))
          fail(ctx, 'E0105', `model-local function '${fname}' never computes its output '${clean(n)}'`, where);
        if (actual) passThrough.push([map.get(n)!, actual]);
      } else map.set(n, actual || fresh(`${name}/${n}`));
    });
    for (const o of produced) if (!map.has(o)) map.set(o, fresh(`${name}/${o}`));

    const given = new Map<string, AttributeProto>();
    for (const a of node.attribute ?? []) given.set(a.name ?? '', a);
    const env = new Map<string, AttributeProto>();
    for (const [a, dflt] of fn.attrs) {
      const v = given.get(a) ?? dflt;
      if (v) env.set(a, v);
    }
    const ren = (n: string): string => {
      if (!n) return '';
      const m = map.get(n);
      if (m === undefined)
        fail(ctx, 'E0105', `model-local function '${fname}' reads undefined value '${clean(n)}'`, where);
      return m;
    };
    const inner = [...stack, fn.key];
    (p.node ?? []).forEach((b, j) => {
      const body: NodeProto = {
        opType: b.opType,
        domain: b.domain,
        input: (b.input ?? []).map(ren),
        output: (b.output ?? []).map(ren),
        attribute: substitute(b.attribute ?? [], env, (n) => (n ? (map.get(n) ?? n) : n)),
      };
      emit(body, `${name}/${b.name || `${b.opType ?? ''}_${j}`}`, where, fn.opsets, inner);
    });
    passThrough.forEach(([from, to], k) => {
      out.push({
        opType: 'Identity',
        domain: '',
        opset: fn.opsets.get('') ?? 1,
        input: [from],
        output: [to],
        attribute: [],
        name: `${name}/passthrough_${k}`,
        where,
      });
    });
  };

  nodes.forEach((node, index) => {
    const where: Where = { node: node.name ?? '', index, scope };
    emit(node, node.name || `${node.opType ?? ''}_${index}`, where, opsets, []);
  });
  return out;
}

/** Attributes with `ref_attr_name` replaced from `env` (dropped when absent); nested graphs rewritten. */
function substitute(
  attrs: readonly AttributeProto[],
  env: ReadonlyMap<string, AttributeProto>,
  ren: (n: string) => string,
): AttributeProto[] {
  const out: AttributeProto[] = [];
  for (const a of attrs) {
    if (a.refAttrName) {
      const v = env.get(a.refAttrName);
      if (v) out.push(onnx.AttributeProto.create({ ...v, name: a.name, refAttrName: '' }));
      continue;
    }
    if (a.g || a.graphs?.length)
      out.push(
        onnx.AttributeProto.create({
          ...a,
          g: a.g ? rewriteGraph(a.g, env, ren) : a.g,
          graphs: a.graphs?.map((g) => rewriteGraph(g, env, ren)),
        }),
      );
    else out.push(a);
  }
  return out;
}

/** A graph inside a function body: free names renamed like the body's, attribute references substituted. */
function rewriteGraph(
  g: GraphProto,
  env: ReadonlyMap<string, AttributeProto>,
  outer: (n: string) => string,
): GraphProto {
  const local = new Set<string>();
  for (const v of g.input ?? []) local.add(v.name ?? '');
  for (const t of g.initializer ?? []) local.add(t.name ?? '');
  for (const n of g.node ?? []) for (const o of n.output ?? []) local.add(o);
  const ren = (n: string): string => (!n || local.has(n) ? n : outer(n));
  return {
    ...g,
    node: (g.node ?? []).map((n) => ({
      ...n,
      input: (n.input ?? []).map(ren),
      attribute: substitute(n.attribute ?? [], env, ren),
    })),
    output: (g.output ?? []).map((v) => ({ ...v, name: ren(v.name ?? '') })),
  };
}
