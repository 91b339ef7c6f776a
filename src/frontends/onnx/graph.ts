import { IRGraph } from '../../ir/graph.js';
import { dimToString, type Dim } from '../../ir/sym.js';
import type { ModelMeta, TensorConst } from '../../ir/types.js';
import { convertAttrs } from './attrs.js';
import { clean, fail, type LoadContext, type Where } from './context.js';
import { flattenNodes, type FlatNode, type FunctionTable, type Opsets } from './functions.js';
import type { GraphProto, TypeProto } from './proto.js';
import { densifySparse } from './sparse.js';
import { convertTensor } from './tensor.js';
import { convertType } from './types.js';
import { orderNodes } from '../../ir/topo-order.js';

const MAX_DEPTH = 64;

/** One graph being converted and the scopes around it. */
interface Scope {
  graph: IRGraph;
  /** Names visible in this graph → index of the producing node, or -1 (input, weight, outer). */
  defined: Map<string, number>;
  /** Names this graph captured from enclosing graphs (its 'outer' values). */
  captured: string[];
  parent?: Scope;
}

export interface GraphEnv {
  opsets: Opsets;
  fns: FunctionTable;
  meta: ModelMeta;
}

/**
 * GraphProto → IRGraph. Subgraphs (graph attributes) are converted recursively; a name a
 * subgraph reads but does not define becomes an 'outer' value there (and in every graph between
 * it and the definition). Nodes may come in any order: they are added in a topological order
 * (the file's own when it is one) that also respects subgraph captures.
 */
/** A graph input that also has an initializer must be declared with the initializer's type. */
function checkDeclared(
  ctx: LoadContext,
  name: string,
  w: TensorConst,
  decl: { dtype: string | null; shape: Dim[] | null; container?: string },
  at: Where,
): void {
  const tensor = `${w.dtype}[${w.shape.join(', ')}]`;
  const bad = (what: string): never =>
    fail(ctx, 'E0102', `graph input '${clean(name)}' is declared ${what} but its initializer is ${tensor}`, at);
  if (decl.container) bad(`a ${decl.container}`);
  if (decl.dtype && decl.dtype !== w.dtype) bad(decl.dtype);
  if (decl.shape) {
    const s = `[${decl.shape.map(dimToString).join(', ')}]`;
    if (decl.shape.length !== w.shape.length || decl.shape.some((d, i) => typeof d === 'number' && d !== w.shape[i]))
      bad(`with shape ${s}`);
  }
}

export function convertGraph(
  ctx: LoadContext,
  gp: GraphProto,
  env: GraphEnv,
  parent?: Scope,
  path = '',
  depth = 0,
): { graph: IRGraph; scope: Scope } {
  if (depth > MAX_DEPTH) fail(ctx, 'E0102', 'subgraphs are nested too deeply', { scope: path });
  const top = parent === undefined;
  const graph = new IRGraph(
    gp.name || (top ? 'main' : path),
    top ? env.meta : { format: 'onnx', file: ctx.file, opsets: env.meta.opsets },
  );
  const scope: Scope = { graph, defined: new Map(), captured: [], parent };
  const at: Where = { scope: path };
  const defineOnce = (name: string | null | undefined, what: string): string => {
    if (!name) fail(ctx, 'E0102', `a graph ${what} has no name`, at);
    if (scope.defined.has(name)) fail(ctx, 'E0105', `${what} '${clean(name)}' is defined twice`, at);
    scope.defined.set(name, -1);
    return name;
  };

  // Weights: initializers (and sparse initializers, made dense).
  const weights = new Map<string, TensorConst>();
  for (const t of gp.initializer ?? []) {
    const name = defineOnce(t.name, 'initializer');
    weights.set(name, convertTensor(ctx, t, `initializer '${clean(name)}'`, at));
  }
  for (const sp of gp.sparseInitializer ?? []) {
    const name = defineOnce(sp.values?.name, 'sparse initializer');
    weights.set(name, densifySparse(ctx, sp, `initializer '${clean(name)}'`, at));
  }

  // Inputs. Those with an initializer are weights (IR < 4 lists every initializer here).
  const overridable = top && ctx.opts.initializerInputs === 'input' && ctx.irVersion >= 4;
  const inputs: string[] = [];
  const seenInputs = new Set<string>();
  for (const vi of gp.input ?? []) {
    const name = vi.name ?? '';
    if (!name) fail(ctx, 'E0102', 'a graph input has no name', at);
    if (seenInputs.has(name)) fail(ctx, 'E0105', `graph input '${clean(name)}' is listed twice`, at);
    seenInputs.add(name);
    const w = weights.get(name);
    if (w) {
      checkDeclared(ctx, name, w, convertType(ctx, vi.type, name, at), at);
      if (overridable) inputs.push(name);
      continue;
    }
    defineOnce(name, 'graph input');
    graph.addValue({ name, ...convertType(ctx, vi.type, name, at), role: 'input', ...doc(vi.docString) });
    inputs.push(name);
  }
  for (const [name, w] of weights) {
    const role = overridable && seenInputs.has(name) ? 'input' : 'weight';
    graph.addValue({ name, dtype: w.dtype, shape: w.shape, role, weight: w.ref });
  }

  const types = new Map<string, TypeProto>();
  for (const vi of gp.valueInfo ?? []) if (vi.name && vi.type) types.set(vi.name, vi.type);
  for (const vi of gp.output ?? []) if (vi.name && vi.type) types.set(vi.name, vi.type);

  const nodes = flattenNodes(ctx, gp.node ?? [], env.opsets, env.fns, takenNames(gp, scope, env.fns.size > 0), path);

  // Every node output, before any input is resolved: nodes may refer forward.
  nodes.forEach((n, i) => {
    for (const o of n.output) {
      if (!o) continue;
      const prev = scope.defined.get(o);
      if (prev !== undefined)
        fail(
          ctx,
          'E0105',
          `value '${clean(o)}' is ${prev < 0 ? 'a graph input or initializer and also' : `also produced by node ${describe(nodes[prev]!)} and`} produced here`,
          n.where,
        );
      scope.defined.set(o, i);
      graph.addValue({ name: o, ...convertType(ctx, types.get(o), o, n.where), role: 'intermediate' });
    }
  });

  const opNames = uniqueOpNames(nodes);
  const deps: number[][] = [];
  const attrs = nodes.map((n, i) => {
    const before: number[] = [];
    const reads = (name: string): void => {
      if (!visible(scope, name))
        fail(ctx, 'E0105', `node reads value '${clean(name)}', which is never defined`, n.where);
      const p = scope.defined.get(name)!;
      if (p >= 0) before.push(p);
    };
    for (const v of n.input) if (v) reads(v);
    const a = convertAttrs(ctx, n.attribute, n.where, (sg, attr) => {
      const sub = convertGraph(ctx, sg, env, scope, `${path ? `${path}/` : ''}${opNames[i]}.${attr}`, depth + 1);
      for (const name of sub.scope.captured) {
        const p = scope.defined.get(name)!;
        if (p >= 0) before.push(p);
      }
      return sub.graph;
    });
    deps.push(before);
    return a;
  });

  const order = orderNodes(deps, (i, dep) =>
    fail(
      ctx,
      'E0105',
      `node is on a cycle: it needs the result of node ${describe(nodes[dep]!)}, which depends on its own result`,
      nodes[i]!.where,
    ),
  );
  for (const i of order) {
    const n = nodes[i]!;
    graph.addOp(
      {
        opType: n.opType,
        domain: n.domain,
        opset: n.opset,
        attrs: attrs[i]!,
        name: opNames[i]!,
        loc: { file: ctx.file, node: n.where.node, index: n.where.index },
      },
      n.input,
      n.output,
    );
  }

  const outputs: string[] = [];
  for (const vi of gp.output ?? []) {
    const name = vi.name ?? '';
    if (!name) fail(ctx, 'E0102', 'a graph output has no name', at);
    if (outputs.includes(name)) fail(ctx, 'E0105', `graph output '${clean(name)}' is listed twice`, at);
    if (!visible(scope, name)) fail(ctx, 'E0105', `graph output '${clean(name)}' is never computed`, at);
    if (graph.value(name).role === 'intermediate') graph.updateValue(name, { role: 'output' });
    outputs.push(name);
  }
  graph.inputs = inputs;
  graph.outputs = outputs;
  return { graph, scope };
}

/** Whether `name` is defined here or in an enclosing graph; in the latter case it becomes an 'outer' value here. */
function visible(scope: Scope, name: string): boolean {
  if (scope.defined.has(name)) return true;
  if (!scope.parent || !visible(scope.parent, name)) return false;
  const src = scope.parent.graph.value(name);
  scope.graph.addValue({
    name,
    dtype: src.dtype,
    shape: src.shape,
    role: 'outer',
    ...(src.container ? { container: src.container } : {}),
  });
  scope.defined.set(name, -1);
  scope.captured.push(name);
  return true;
}

/** Names fresh values of inlined functions must avoid: everything this graph mentions or can see. */
function takenNames(gp: GraphProto, scope: Scope, needed: boolean): (name: string) => boolean {
  if (!needed) return () => false;
  const names = new Set<string>();
  for (const vi of gp.input ?? []) names.add(vi.name ?? '');
  for (const t of gp.initializer ?? []) names.add(t.name ?? '');
  for (const vi of gp.output ?? []) names.add(vi.name ?? '');
  for (const n of gp.node ?? []) {
    for (const v of n.input ?? []) names.add(v);
    for (const v of n.output ?? []) names.add(v);
  }
  return (name) => {
    if (names.has(name)) return true;
    for (let s: Scope | undefined = scope; s; s = s.parent) if (s.defined.has(name)) return true;
    return false;
  };
}

/** node.name, or `<op_type>_<index>` when empty; repeats get `_1`, `_2`, … (linear, unlike probing). */
function uniqueOpNames(nodes: readonly FlatNode[]): string[] {
  const used = new Set<string>();
  const next = new Map<string, number>();
  return nodes.map((n) => {
    let name = n.name;
    if (used.has(name)) {
      let k = next.get(n.name) ?? 1;
      while (used.has(`${n.name}_${k}`)) k++;
      next.set(n.name, k + 1);
      name = `${n.name}_${k}`;
    }
    used.add(name);
    return name;
  });
}

function describe(n: FlatNode): string {
  return n.where.node ? `'${clean(n.where.node)}' (#${n.where.index})` : `#${n.where.index}`;
}

function doc(s: string | null | undefined): { doc?: string } {
  return s ? { doc: s } : {};
}
