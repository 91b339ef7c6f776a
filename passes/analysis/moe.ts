// Finding Mixture-of-Experts layers in a graph: the router (gate matrix → Softmax/Sigmoid →
// TopK, or a StableHLO sort + slice), the experts (per-expert branches with their own
// parameters), how tokens are dispatched to them and combined back, and the com.microsoft MoE
// op with stacked expert weights. docs/moe.md says what is recognised and why.
import type { IRGraph } from '../../src/ir/graph.js';
import { dimToString as dimText, evaluate, isSym, symbolsOf, type Dim } from '../../src/ir/sym.js';
import type { Pass, PassContext } from '../pass.js';
import { opCost } from './cost.js';
import {
  backwardOps,
  constInt,
  constValues,
  dataPath,
  forwardOps,
  matrixParam,
  opParams,
  type ParamSource,
} from './moe-graph.js';
import { bytesOf } from './tensor.js';

declare module '../pass.js' {
  interface PassResults {
    /** detect-moe: the Mixture-of-Experts layers. */
    moeLayers?: MoeLayer[];
  }
}

export interface MoeRouter {
  /** The gate matrix op (token features × router weight → one logit per expert). */
  gate: string;
  gateWeight: string;
  /** The op that picks the top k: TopK, a StableHLO sort, or the com.microsoft MoE op. */
  select: string;
  selectKind: 'TopK' | 'sort' | 'MoE';
  k: number;
  /** The scoring function and whether it runs before the top-k or after it (masked gates). */
  scoring: 'softmax' | 'sigmoid' | 'none';
  scoringAfterSelect: boolean;
  /** The k selected weights are divided by their sum. */
  renormalised: boolean;
  /** The selected expert indices ([tokens, k]) and weights, when the graph has them as values. */
  indices: string | null;
  weights: string | null;
}

export interface MoeExpert {
  /** The expert's index on the router's expert axis (what routing counts refer to). */
  expert: number;
  /** The expert's own ops (its MLP), in topological order; [] for the com.microsoft MoE op. */
  ops: string[];
  /** The value the expert reads (the rows dispatched to it) and the value it produces. */
  input: string;
  output: string;
  /** Parameters the expert reads (weight names; `name[e]` for a slice of a stacked weight). */
  weights: string[];
  weightBytes: number;
  /** Rows the expert processes: a symbol for sparse dispatch, the layer's tokens for dense. */
  tokens: Dim | null;
  /** FLOPs of one routed token through this expert. */
  flopsPerToken: number;
}

export type MoeKind = 'sparse' | 'dense' | 'contrib';

export interface MoeLayer {
  /** Index of the MoE layer in graph order (what `--routing` files and metrics refer to). */
  layer: number;
  /** A readable name: the module scope of the router. */
  name: string;
  kind: MoeKind;
  numExperts: number;
  k: number;
  router: MoeRouter;
  /** The token features entering the layer ([tokens, hidden]) and how many tokens that is. */
  input: string;
  tokens: Dim | null;
  /** The combined result (the first value every expert's output reaches). */
  output: string | null;
  /** How rows reach the experts and come back. */
  dispatch: string[];
  combine: string[];
  experts: MoeExpert[];
  /** Router, dispatch and combine ops: everything of the layer that is not an expert's own. */
  regionOps: string[];
  expertWeightBytes: number;
  /** Mean FLOPs of one routed token through one expert. */
  flopsPerToken: number;
  /** Anything that did not fit the pattern (experts without an index, a count that differs from the router's). */
  notes: string[];
}

const SCORE_PATH = new Set([
  'Softmax',
  'Sigmoid',
  'Cast',
  'Identity',
  'Reshape',
  'Flatten',
  'Squeeze',
  'Unsqueeze',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Exp',
  'Expand',
  'LogSoftmax',
]);
const DISPATCH_PATH = new Set([
  'Gather',
  'GatherND',
  'GatherElements',
  'Reshape',
  'Squeeze',
  'Unsqueeze',
  'Identity',
  'Flatten',
  'Cast',
  'Slice',
  'Expand',
]);

interface Select {
  op: string;
  kind: MoeRouter['selectKind'];
  scores: string;
  k: number;
  values: string | null;
  indices: string | null;
  extraOps: string[];
}

/** Top-k selections: TopK ops, and StableHLO sorts whose sorted outputs are sliced to k. */
function selections(graph: IRGraph, order: string[]): Select[] {
  const out: Select[] = [];
  for (const id of order) {
    const op = graph.op(id);
    const ins = graph.opInputs(id);
    const outs = graph.opOutputs(id);
    if (op.opType === 'TopK' && op.domain === '') {
      const k = constInt(graph, ins[1]);
      if (k === undefined || !ins[0]) continue;
      out.push({
        op: id,
        kind: 'TopK',
        scores: ins[0],
        k,
        values: outs[0] ?? null,
        indices: outs[1] ?? null,
        extraOps: [],
      });
    } else if (op.domain === 'stablehlo' && op.opType === 'sort') {
      const dim = op.attrs['dimension']?.type === 'int' ? op.attrs['dimension'].value : -1;
      const fl = ins.findIndex((v) => v && /float/.test(graph.value(v).dtype ?? ''));
      const ix = ins.findIndex((v) => v && /int/.test(graph.value(v).dtype ?? ''));
      if (fl < 0 || ix < 0) continue;
      // The sorted values and indices are cut to the first k along the sorted dimension.
      const cut = (v: string | undefined): { op: string; value: string; k: number } | undefined => {
        for (const u of v ? graph.consumers(v) : []) {
          const s = graph.op(u.op);
          if (s.opType !== 'Slice') continue;
          const sIns = graph.opInputs(u.op);
          const starts = constValues(graph, sIns[1]);
          const ends = constValues(graph, sIns[2]);
          const axes = sIns[3] ? constValues(graph, sIns[3]) : starts?.map((_, i) => i);
          const rank = graph.value(v!).shape?.length ?? 0;
          const a = axes?.findIndex((x) => (x < 0 ? x + rank : x) === dim) ?? -1;
          if (!starts || !ends || a < 0 || starts[a] !== 0) continue;
          return { op: u.op, value: graph.opOutputs(u.op)[0]!, k: ends[a]! };
        }
        return undefined;
      };
      const vs = cut(outs[fl]);
      const is = cut(outs[ix]);
      if (!is) continue;
      out.push({
        op: id,
        kind: 'sort',
        scores: ins[fl]!,
        k: is.k,
        values: vs?.value ?? null,
        indices: is.value,
        extraOps: [is.op, ...(vs ? [vs.op] : [])],
      });
    }
  }
  return out;
}

/** The gate matrix op behind a selection's scores, with the scoring seen on the way. */
function findGate(
  graph: IRGraph,
  scores: string,
): { gate: string; weight: string; input: string; scoring: MoeRouter['scoring']; ops: string[] } | undefined {
  const path = dataPath(graph, scores, SCORE_PATH);
  const last = path[path.length - 1]!;
  const prod = graph.producer(last);
  if (!prod) return undefined;
  const mp = matrixParam(graph, prod.op);
  if (!mp) return undefined;
  const input = graph.opInputs(prod.op)[mp.slot === 1 ? 0 : 1];
  if (!input) return undefined;
  const ops = path.slice(0, -1).map((v) => graph.producer(v)!.op);
  const types = new Set(ops.map((o) => graph.op(o).opType));
  const scoring =
    types.has('Softmax') || (types.has('Exp') && types.has('Div'))
      ? 'softmax'
      : types.has('Sigmoid')
        ? 'sigmoid'
        : 'none';
  return { gate: prod.op, weight: mp.source.weight, input, scoring, ops: [prod.op, ...ops.reverse()] };
}

/** Consumers of `v` through up to `depth` ops, breadth first. */
function near(graph: IRGraph, v: string, depth: number): string[] {
  const seen = new Set<string>();
  let frontier = [v];
  for (let i = 0; i < depth; i++) {
    const next: string[] = [];
    for (const x of frontier)
      for (const u of graph.consumers(x)) {
        if (seen.has(u.op)) continue;
        seen.add(u.op);
        for (const o of graph.opOutputs(u.op)) if (o) next.push(o);
      }
    frontier = next;
  }
  return [...seen];
}

/** w / sum(w) on the selected weights: a Div reading them and a ReduceSum of them. */
function renormalisation(graph: IRGraph, values: string | null): string[] {
  if (!values) return [];
  for (const u of graph.consumers(values)) {
    const op = graph.op(u.op);
    if (op.opType !== 'ReduceSum' && !(op.domain === 'stablehlo' && op.opType === 'reduce')) continue;
    for (const d of near(graph, graph.opOutputs(u.op)[0]!, 3)) {
      const dop = graph.op(d);
      if (dop.opType === 'Div' && graph.opInputs(d)[0] === values) return [u.op, d];
    }
  }
  return [];
}

/** Bit sets over the entries of one layer. */
class Bits {
  readonly w: Uint32Array;
  constructor(n: number) {
    this.w = new Uint32Array(Math.ceil(n / 32) || 1);
  }
  set(i: number): void {
    this.w[i >> 5]! |= 1 << (i & 31);
  }
  has(i: number): boolean {
    return (this.w[i >> 5]! & (1 << (i & 31))) !== 0;
  }
  or(b: Bits): void {
    for (let i = 0; i < this.w.length; i++) this.w[i]! |= b.w[i]!;
  }
  empty(): boolean {
    return this.w.every((x) => x === 0);
  }
  subsetOf(b: Bits): boolean {
    return this.w.every((x, i) => (x & ~b.w[i]!) === 0);
  }
  items(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.w.length * 32; i++) if (this.has(i)) out.push(i);
    return out;
  }
  count(): number {
    return this.items().length;
  }
}

function paramName(s: ParamSource): string {
  return s.slice === undefined ? s.weight : `${s.weight}[${s.slice}]`;
}

function paramBytes(graph: IRGraph, s: ParamSource, dims: ReadonlyMap<string, number>): number {
  const b = bytesOf(graph, s.weight);
  const total = b === null ? 0 : (evaluate(b, dims) ?? 0);
  if (s.slice === undefined) return total;
  const d0 = graph.value(s.weight).shape?.[0];
  return typeof d0 === 'number' && d0 > 0 ? total / d0 : total;
}

function evalDims(d: Dim, dims: ReadonlyMap<string, number>): number {
  const bind = new Map(dims);
  for (const s of symbolsOf(d)) if (!bind.has(s)) bind.set(s, 1);
  return evaluate(d, bind) ?? 0;
}

/** FLOPs of one more row through `ops`, whose rows are `tokens`. */
function flopsPerRow(graph: IRGraph, ops: string[], tokens: Dim | null, dims: ReadonlyMap<string, number>): number {
  const costs = ops.map((o) => opCost(graph, o).flops).filter((f): f is Dim => f !== null);
  const at = (bind: Map<string, number>): number => costs.reduce<number>((s, f) => s + evalDims(f, bind), 0);
  if (tokens !== null && isSym(tokens)) {
    const syms = [...symbolsOf(tokens)];
    if (syms.length === 1) {
      const [name] = syms;
      const one = new Map(dims).set(name!, 1);
      const zero = new Map(dims).set(name!, 0);
      // `tokens` may be an expression of the symbol; step it by one row.
      const t1 = evalDims(tokens, one);
      const t0 = evalDims(tokens, zero);
      if (t1 - t0 > 0) return (at(one) - at(zero)) / (t1 - t0);
    }
  }
  const rows = tokens === null ? 1 : evalDims(tokens, dims);
  return rows > 0 ? at(new Map(dims)) / rows : 0;
}

function scopeName(graph: IRGraph, gate: string): string {
  const name = graph.op(gate).name;
  const parts = name.split('/').filter(Boolean);
  // '/layers.0/moe/gate/MatMul' → '/layers.0/moe'; a flat name stays as it is.
  return parts.length > 2 ? `/${parts.slice(0, -2).join('/')}` : name;
}

interface RouterFound {
  select: Select;
  gate: NonNullable<ReturnType<typeof findGate>>;
}

/** Detects the MoE layers of a graph whose shapes are inferred. */
export function detectMoe(graph: IRGraph, dims: ReadonlyMap<string, number> = new Map()): MoeLayer[] {
  const order = graph.topoOps();
  const pos = new Map(order.map((id, i) => [id, i]));
  const routers: RouterFound[] = [];
  for (const s of selections(graph, order)) {
    const gate = findGate(graph, s.scores);
    if (gate) routers.push({ select: s, gate });
  }
  const layers: MoeLayer[] = [];
  for (const r of routers) {
    const layer = sparseOrDenseLayer(graph, r, order, pos, dims);
    if (layer) layers.push(layer);
  }
  for (const id of order) {
    const op = graph.op(id);
    if (op.opType === 'MoE' && op.domain === 'com.microsoft') layers.push(contribLayer(graph, id, dims));
  }
  const first = (l: MoeLayer): number =>
    Math.min(...[l.router.gate, l.router.select].map((o) => pos.get(o) ?? Infinity));
  layers.sort((a, b) => first(a) - first(b));
  layers.forEach((l, i) => (l.layer = i));
  return layers;
}

function sparseOrDenseLayer(
  graph: IRGraph,
  r: RouterFound,
  order: string[],
  pos: Map<string, number>,
  dims: ReadonlyMap<string, number>,
): MoeLayer | undefined {
  const { select, gate } = r;
  const X = gate.input;
  const scoresShape = graph.value(select.scores).shape;
  const lastDim = scoresShape?.[scoresShape.length - 1];
  const numExperts = typeof lastDim === 'number' ? lastDim : 0;
  if (numExperts < 2) return undefined;

  const renorm = renormalisation(graph, select.values);
  let scoring = gate.scoring;
  let scoringAfter = false;
  if (scoring === 'none')
    for (const v of [select.values, select.indices])
      for (const o of v ? near(graph, v, 3) : [])
        if (graph.op(o).opType === 'Softmax' || graph.op(o).opType === 'Sigmoid') {
          scoring = graph.op(o).opType === 'Softmax' ? 'softmax' : 'sigmoid';
          scoringAfter = true;
        }
  const routerOps = new Set([...gate.ops, select.op, ...select.extraOps, ...renorm]);

  // Entries: parameter matrix ops (not the router's) whose activation operand is X or rows of X.
  const fwd = forwardOps(graph, X);
  const fwdOrder = order.filter((o) => fwd.has(o));
  const entries: { op: string; input: string; path: string[] }[] = [];
  for (const o of fwdOrder) {
    if (routerOps.has(o)) continue;
    const mp = matrixParam(graph, o);
    if (!mp) continue;
    const data = graph.opInputs(o)[mp.slot === 1 ? 0 : 1];
    if (!data) continue;
    const path = dataPath(graph, data, DISPATCH_PATH, X);
    if (path[path.length - 1] !== X) continue;
    entries.push({ op: o, input: data, path });
  }
  if (entries.length < 2) return undefined;
  const entryIndex = new Map(entries.map((e, i) => [e.op, i]));

  // Which entries reach each op.
  const reach = new Map<string, Bits>();
  for (const o of fwdOrder) {
    const b = new Bits(entries.length);
    const ei = entryIndex.get(o);
    if (ei !== undefined) b.set(ei);
    for (const v of graph.opInputs(o)) {
      const p = v ? graph.producer(v) : undefined;
      const pb = p ? reach.get(p.op) : undefined;
      if (pb) b.or(pb);
    }
    reach.set(o, b);
  }
  // Entries that meet in a parameter op before the combine belong to one expert.
  const parent = entries.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  const weighted = fwdOrder.filter((o) => !routerOps.has(o) && opParams(graph, o).length > 0);
  for (const o of weighted) {
    const b = reach.get(o)!;
    const items = b.items();
    if (items.length < 2 || items.length === entries.length) continue;
    for (const i of items.slice(1)) parent[find(i)] = find(items[0]!);
  }
  const groups = new Map<number, number[]>();
  entries.forEach((_, i) => groups.set(find(i), [...(groups.get(find(i)) ?? []), i]));
  const groupBits = [...groups.values()].map((members) => {
    const b = new Bits(entries.length);
    for (const m of members) b.set(m);
    return b;
  });
  if (groupBits.length < 2) return undefined;

  // Each expert: the ops reached only from its entries that lead to one of its parameter ops.
  const experts: (MoeExpert & { order: number; bits: Bits })[] = [];
  for (const g of groupBits) {
    const inGroup = (o: string): boolean => {
      const b = reach.get(o);
      return !!b && !b.empty() && b.subsetOf(g);
    };
    const body = new Set<string>();
    const stack = weighted.filter(inGroup);
    while (stack.length) {
      const o = stack.pop()!;
      if (body.has(o)) continue;
      body.add(o);
      for (const v of graph.opInputs(o)) {
        const p = v ? graph.producer(v) : undefined;
        if (p && inGroup(p.op)) stack.push(p.op);
      }
    }
    const ops = [...body].sort((a, b) => pos.get(a)! - pos.get(b)!);
    let output = '';
    for (const o of ops)
      for (const v of graph.opOutputs(o))
        if (v && (graph.outputs.includes(v) || graph.consumers(v).some((u) => !body.has(u.op)))) output = v;
    const first = entries[g.items()[0]!]!;
    const params = new Map<string, number>();
    for (const o of ops) for (const s of opParams(graph, o)) params.set(paramName(s), paramBytes(graph, s, dims));
    const tokens = graph.value(first.input).shape?.[0] ?? null;
    experts.push({
      expert: -1,
      ops,
      input: first.input,
      output,
      weights: [...params.keys()],
      weightBytes: [...params.values()].reduce((a, b) => a + b, 0),
      tokens,
      flopsPerToken: flopsPerRow(graph, ops, tokens, dims),
      order: pos.get(ops[0]!)!,
      bits: g,
    });
  }
  experts.sort((a, b) => a.order - b.order);
  const bodyOf = new Map<string, number>();
  experts.forEach((e, i) => e.ops.forEach((o) => bodyOf.set(o, i)));

  // The combine: the first op every expert reaches.
  const reachedBy = (o: string, e: (typeof experts)[number]): boolean => {
    const b = reach.get(o)!;
    return b.w.some((x, i) => (x & e.bits.w[i]!) !== 0);
  };
  let join: string | undefined;
  for (const o of fwdOrder) {
    if (bodyOf.has(o)) continue;
    if (experts.every((e) => reachedBy(o, e))) {
      join = o;
      break;
    }
  }
  const notes: string[] = [];
  let output: string | null = join ? (graph.opOutputs(join)[0] ?? null) : null;
  // A gate applied after stacking (dense exports) belongs to the combine too.
  if (output)
    for (const u of graph.consumers(output)) {
      const readsRouter = graph.opInputs(u.op).some((v) => {
        const p = v && v !== output ? graph.producer(v) : undefined;
        return p && (routerOps.has(p.op) || backwardOps(graph, v!).has(select.op));
      });
      if (readsRouter) {
        output = graph.opOutputs(u.op)[0] ?? output;
        break;
      }
    }
  const region = new Set<string>(routerOps);
  if (output) {
    const back = backwardOps(graph, output);
    for (const o of fwdOrder) if (back.has(o) && !bodyOf.has(o)) region.add(o);
  } else notes.push('no op combines every expert’s output');

  const dense = experts.every((e) => e.input === X);
  const routed = new Set<string>([select.op]);
  for (const v of graph.opOutputs(select.op)) if (v) for (const o of forwardOps(graph, v)) routed.add(o);
  for (const o of select.extraOps) routed.add(o);
  assignIndices(graph, experts, numExperts, region, routed, entries, notes);
  if (experts.length !== numExperts)
    notes.push(`${experts.length} expert branches found for a router with ${numExperts} experts`);

  const regionOps = [...region].sort((a, b) => pos.get(a)! - pos.get(b)!);
  const types = new Set(regionOps.map((o) => graph.op(o).opType));
  const after = new Set<string>();
  for (const e of experts) for (const o of forwardOps(graph, e.output)) if (region.has(o)) after.add(o);
  // Data ops only: index arithmetic of the combine (shape Concats …) says nothing of its style.
  const combineTypes = new Set(
    [...after]
      .filter((o) => /float/.test(graph.value(graph.opOutputs(o)[0] ?? '').dtype ?? ''))
      .map((o) => graph.op(o).opType),
  );
  const dispatch: string[] = [];
  if (dense) dispatch.push('dense');
  else {
    if (types.has('NonZero')) dispatch.push('nonzero');
    const pathTypes = new Set(
      experts
        .flatMap((e) => dataPath(graph, e.input, DISPATCH_PATH, X).map((v) => graph.producer(v)?.op))
        .filter((o): o is string => !!o),
    );
    for (const o of pathTypes) {
      const t = graph.op(o).opType;
      if (t === 'Gather' && !dispatch.includes('index_select')) dispatch.push('index_select');
      if (t === 'GatherND' && !dispatch.includes('gathernd')) dispatch.push('gathernd');
      if (t === 'Slice' && !dispatch.includes('slice')) dispatch.push('slice');
    }
  }
  const combine: string[] = [];
  if (combineTypes.has('ScatterElements')) combine.push('index_add');
  if (combineTypes.has('ScatterND')) combine.push('scatternd');
  if (combineTypes.has('Concat')) combine.push('stack');
  if (combineTypes.has('Einsum') || combineTypes.has('MatMul')) combine.push('weighted-sum');
  if (!combine.length && combineTypes.has('Add')) combine.push('sum');

  const total = experts.reduce((s, e) => s + e.weightBytes, 0);
  return {
    layer: -1,
    name: scopeName(graph, gate.gate),
    kind: dense ? 'dense' : 'sparse',
    numExperts,
    k: select.k,
    router: {
      gate: gate.gate,
      gateWeight: gate.weight,
      select: select.op,
      selectKind: select.kind,
      k: select.k,
      scoring,
      scoringAfterSelect: scoringAfter,
      renormalised: renorm.length > 0,
      indices: select.indices,
      weights: select.values,
    },
    input: X,
    tokens: graph.value(X).shape?.[0] ?? null,
    output,
    dispatch,
    combine,
    experts: experts.map(({ order: _o, bits: _b, ...e }) => e),
    regionOps,
    expertWeightBytes: total,
    flopsPerToken: experts.length ? experts.reduce((s, e) => s + e.flopsPerToken, 0) / experts.length : 0,
    notes,
  };
}

/**
 * Each expert's index on the router axis, from the first rule that gives every expert a distinct
 * index in range: the slice of a stacked weight it reads, a constant compared with (Equal) or
 * picked from (Gather) the routing in its dispatch or combine, its slot in a stacking Concat.
 * Otherwise graph order, with a note.
 */
function assignIndices(
  graph: IRGraph,
  experts: MoeExpert[],
  numExperts: number,
  region: ReadonlySet<string>,
  routed: ReadonlySet<string>,
  entries: { op: string; input: string; path: string[] }[],
  notes: string[],
): void {
  const fromRouting = (v: string | undefined): boolean => {
    const p = v ? graph.producer(v) : undefined;
    return !!p && routed.has(p.op);
  };
  const ok = (xs: (number | undefined)[]): xs is number[] =>
    xs.every((x) => x !== undefined && x >= 0 && x < numExperts) && new Set(xs).size === xs.length;
  const rules: (() => (number | undefined)[])[] = [
    () =>
      experts.map((e) => {
        const s = new Set(e.weights.map((w) => /\[(\d+)\]$/.exec(w)?.[1]).filter((x): x is string => x !== undefined));
        return s.size === 1 ? Number([...s][0]) : undefined;
      }),
    () =>
      experts.map((e) => {
        const found = new Set<number>();
        const body = new Set(e.ops);
        // The routing side of the dispatch (what selects the rows) and of the combine (the gate).
        const starts: string[] = [];
        for (const en of entries) if (body.has(en.op)) for (const v of en.path) starts.push(v);
        for (const v of graph.opOutputs(e.ops[e.ops.length - 1]!))
          for (const u of v ? graph.consumers(v) : []) for (const w of graph.opInputs(u.op)) if (w) starts.push(w);
        const seen = new Set<string>();
        const stack: (readonly [string, number])[] = starts.map((v) => [v, 0] as const);
        while (stack.length) {
          const [v, depth] = stack.pop()!;
          const p = graph.producer(v);
          if (!p || seen.has(p.op) || !region.has(p.op) || depth > 10) continue;
          seen.add(p.op);
          const op = graph.op(p.op);
          const ins = graph.opInputs(p.op);
          if (
            (op.opType === 'Equal' || (op.domain === 'stablehlo' && op.opType === 'compare')) &&
            ins.some(fromRouting)
          )
            for (const x of ins) {
              const c = constValues(graph, x, 1 << 16);
              if (c && c.length && c.every((y) => y === c[0])) found.add(c[0]!);
            }
          // mask[e] on a routing mask ([E, …]); Gathers on shapes are not routing.
          if (op.opType === 'Gather' && fromRouting(ins[0]) && (graph.value(ins[0]!).shape?.length ?? 0) >= 2) {
            const c = constInt(graph, ins[1]);
            if (c !== undefined) found.add(c);
          }
          for (const x of ins) if (x) stack.push([x, depth + 1] as const);
        }
        return found.size === 1 ? [...found][0] : undefined;
      }),
    () =>
      experts.map((e) => {
        for (const u of graph.consumers(e.output)) {
          let cur = u;
          for (let i = 0; i < 3; i++) {
            if (graph.op(cur.op).opType === 'Concat') return cur.slot;
            const o = graph.opOutputs(cur.op)[0];
            const next = o ? graph.consumers(o) : [];
            if (next.length !== 1) break;
            cur = next[0]!;
          }
        }
        return undefined;
      }),
  ];
  for (const rule of rules) {
    const xs = rule();
    if (ok(xs)) {
      experts.forEach((e, i) => (e.expert = xs[i]!));
      return;
    }
  }
  experts.forEach((e, i) => (e.expert = i));
  notes.push('expert indices taken from graph order (no per-expert constant found)');
}

/** The com.microsoft MoE op: one layer whose experts are slices of its stacked weights. */
function contribLayer(graph: IRGraph, id: string, dims: ReadonlyMap<string, number>): MoeLayer {
  const op = graph.op(id);
  const ins = graph.opInputs(id);
  const attr = (n: string): number | undefined =>
    op.attrs[n]?.type === 'int' ? (op.attrs[n] as { value: number }).value : undefined;
  const k = attr('k') ?? 1;
  const fc1 = ins[2] ? graph.value(ins[2]).shape : null;
  const numExperts = typeof fc1?.[0] === 'number' ? fc1[0] : 0;
  const dim = (v: string | undefined, i: number): number => {
    const d = v ? graph.value(v).shape?.[i] : undefined;
    return typeof d === 'number' ? d : 0;
  };
  // ORT's layout: fc1/fc3 [E, inter, hidden], fc2 [E, hidden, inter]; one routed row costs a
  // multiply-add per weight element.
  const flopsPerToken =
    2 * (dim(ins[2], 1) * dim(ins[2], 2) + dim(ins[4], 1) * dim(ins[4], 2) + dim(ins[6], 1) * dim(ins[6], 2));
  const gateOp = ins[1] ? graph.producer(ins[1])?.op : undefined;
  const gateParam = gateOp ? matrixParam(graph, gateOp) : undefined;
  const stacked = [2, 3, 4, 5, 6, 7]
    .map((s) => ins[s])
    .filter((v): v is string => !!v && graph.value(v).role === 'weight');
  const perExpertBytes = stacked.reduce((s, v) => {
    const b = bytesOf(graph, v);
    return s + (b === null ? 0 : (evaluate(b, dims) ?? 0)) / Math.max(1, numExperts);
  }, 0);
  const tokens = ins[0] ? (graph.value(ins[0]).shape?.[0] ?? null) : null;
  const act = op.attrs['activation_type']?.type === 'string' ? op.attrs['activation_type'].value : 'relu';
  const experts: MoeExpert[] = Array.from({ length: numExperts }, (_, e) => ({
    expert: e,
    ops: [],
    input: ins[0] ?? '',
    output: graph.opOutputs(id)[0] ?? '',
    weights: stacked.map((v) => `${v}[${e}]`),
    weightBytes: perExpertBytes,
    tokens: null,
    flopsPerToken,
  }));
  return {
    layer: -1,
    name: op.name,
    kind: 'contrib',
    numExperts,
    k,
    router: {
      gate: gateOp ?? id,
      gateWeight: gateParam?.source.weight ?? '',
      select: id,
      selectKind: 'MoE',
      k,
      scoring: 'softmax',
      scoringAfterSelect: false,
      renormalised: (attr('normalize_routing_weights') ?? 0) === 1,
      indices: null,
      weights: null,
    },
    input: ins[0] ?? '',
    tokens,
    output: graph.opOutputs(id)[0] ?? null,
    dispatch: ['contrib'],
    combine: ['contrib'],
    experts,
    regionOps: [id],
    expertWeightBytes: perExpertBytes * numExperts,
    flopsPerToken,
    notes: act === 'swiglu' ? ['fused SwiGLU (fc1 holds gate and up projections)'] : [],
  };
}

export const moePass: Pass = {
  name: 'detect-moe',
  summary: 'find Mixture-of-Experts layers: router, experts, dispatch and combine',
  kind: 'analysis',
  provides: 'moeLayers',
  options: {},
  run(graph: IRGraph, ctx: PassContext) {
    const layers = detectMoe(graph, ctx.dims);
    ctx.results.moeLayers = layers;
    return { summary: `${layers.length} MoE layers (${layers.reduce((s, l) => s + l.experts.length, 0)} experts)` };
  },
};

/** A MoE layer as plain numbers, for `fleetc inspect` and the report. */
export interface MoeLayerSummary {
  layer: number;
  name: string;
  kind: MoeKind;
  experts: number;
  k: number;
  router: string;
  dispatch: string[];
  combine: string[];
  /** Expert weight bytes: all experts, and one expert on average. */
  expertWeightBytes: number;
  weightBytesPerExpert: number;
  flopsPerToken: number;
  tokens: number | string | null;
  perExpert: {
    expert: number;
    ops: number;
    weightBytes: number;
    flopsPerToken: number;
    tokens: number | string | null;
  }[];
  notes: string[];
}

export function routerText(r: MoeRouter): string {
  const score = r.scoring === 'none' ? 'logits' : r.scoring;
  const sel =
    r.selectKind === 'sort'
      ? `sort + slice top-${r.k}`
      : r.selectKind === 'MoE'
        ? `top-${r.k} (in the MoE op)`
        : `TopK ${r.k}`;
  return r.scoringAfterSelect
    ? `${sel} on logits → ${score} over the selected`
    : `${score} → ${sel}${r.renormalised ? ' → renormalise' : ''}`;
}

export function summariseMoe(layers: MoeLayer[]): MoeLayerSummary[] {
  const dim = (d: Dim | null): number | string | null => (d === null ? null : typeof d === 'number' ? d : dimText(d));
  return layers.map((l) => ({
    layer: l.layer,
    name: l.name,
    kind: l.kind,
    experts: l.experts.length,
    k: l.k,
    router: routerText(l.router),
    dispatch: l.dispatch,
    combine: l.combine,
    expertWeightBytes: l.expertWeightBytes,
    weightBytesPerExpert: l.experts.length ? l.expertWeightBytes / l.experts.length : 0,
    flopsPerToken: l.flopsPerToken,
    tokens: dim(l.tokens),
    perExpert: l.experts.map((e) => ({
      expert: e.expert,
      ops: e.ops.length,
      weightBytes: e.weightBytes,
      flopsPerToken: e.flopsPerToken,
      tokens: dim(e.tokens),
    })),
    notes: l.notes,
  }));
}
