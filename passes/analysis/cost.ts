import type { IRGraph } from '../../src/ir/graph.js';
import type { DType } from '../../src/ir/dtype.js';
import { add, evaluate, max, mul, product, sym, symbolsOf, type Dim } from '../../src/ir/sym.js';
import { opLine, type OpWork } from '../../targets/index.js';
import type { Pass, PassContext } from '../pass.js';
import { opFlops } from './flops.js';
import { OpView } from './opview.js';
import { bytesFor, bytesOf, DimSum } from './tensor.js';

declare module '../pass.js' {
  interface PassResults {
    /** cost: FLOPs and bytes per op. */
    cost?: CostResult;
  }
}

/** The symbol a paged attention's context length is priced with (`--dim kv_context=N`). */
export const KV_CONTEXT = 'kv_context';

/** The cost of one op: FLOPs and bytes read/written, symbolic (null where unknown). */
export interface OpCost {
  op: string;
  opType: string;
  domain: string;
  flops: Dim | null;
  /** Sizes of the op's input tensors, weights included. */
  bytesRead: Dim | null;
  /** Sizes of its outputs. */
  bytesWritten: Dim | null;
  /** The element type the op computes in (its first float input or output), for the roofline. */
  dtype: DType | null;
}

export interface CostResult {
  /** Per op, in topological order. */
  ops: OpCost[];
  /** Totals over the ops whose cost is known. */
  flops: Dim;
  bytesRead: Dim;
  bytesWritten: Dim;
  /** Ops whose FLOPs or bytes are unknown (unsupported op type or unknown shapes). */
  unknown: string[];
}

function sumBytes(graph: IRGraph, names: (string | undefined)[]): Dim | null {
  const total = new DimSum();
  for (const n of names) {
    if (n === undefined) continue;
    const b = bytesOf(graph, n);
    if (b === null) return null;
    total.add(b);
  }
  return total.value();
}

function computeDType(graph: IRGraph, v: OpView): DType | null {
  let first: DType | null = null;
  for (const n of [...v.ins, ...v.outs]) {
    if (n === undefined || !graph.hasValue(n)) continue;
    const dt = graph.value(n).dtype;
    if (!dt) continue;
    first ??= dt;
    if (dt.startsWith('float') || dt.startsWith('bfloat')) return dt;
  }
  return first;
}

/** FLOPs of control flow: If takes the larger branch, Loop and Scan one body run per iteration. */
function controlFlowFlops(graph: IRGraph, v: OpView): Dim | null {
  const subs = graph.subgraphs(v.id).map(([, g]) => costGraph(g).flops);
  if (subs.length === 0) return null;
  if (v.op.opType === 'If') return subs.reduce((a, b) => max(a, b));
  let body = subs.reduce((a, b) => add(a, b));
  if (v.op.opType === 'Scan') {
    const x = v.inShape(v.ins.length - 1);
    if (x && x.length > 0) body = mul(body, x[0]!);
  }
  return body; // Loop: trip counts are run-time values; one iteration is counted
}

/**
 * Bytes of a KV cache an attention over paged state reads per step: K and V of `kv_context`
 * tokens (a symbol: the context the plan is priced for). The state values themselves are the
 * whole pool and are not read whole.
 */
function stateBytesRead(graph: IRGraph, v: OpView): Dim {
  let total: Dim = 0;
  for (const name of v.ins) {
    if (!name || graph.value(name).role !== 'state') continue;
    const s = graph.value(name).shape;
    const b =
      s && s.length === 3
        ? bytesFor(graph.value(name).dtype ?? 'float32', product([sym(KV_CONTEXT), s[1]!, s[2]!]))
        : null;
    if (b !== null) total = add(total, b);
  }
  return total;
}

export function opCost(graph: IRGraph, id: string): OpCost {
  const v = new OpView(graph, id);
  const cf = ['If', 'Loop', 'Scan'].includes(v.op.opType);
  // Shape and Size read metadata only; state values are read in part (stateBytesRead).
  const readNames = ['Shape', 'Size'].includes(v.op.opType)
    ? []
    : v.ins.filter((x) => !x || graph.value(x).role !== 'state');
  const read = sumBytes(graph, readNames);
  return {
    op: id,
    opType: v.op.opType,
    domain: v.op.domain,
    flops: cf ? controlFlowFlops(graph, v) : opFlops(v),
    bytesRead: read === null ? null : add(read, stateBytesRead(graph, v)),
    bytesWritten: sumBytes(graph, v.outs),
    dtype: computeDType(graph, v),
  };
}

export function costGraph(graph: IRGraph): CostResult {
  const ops: OpCost[] = [];
  const flops = new DimSum();
  const bytesRead = new DimSum();
  const bytesWritten = new DimSum();
  const unknown: string[] = [];
  for (const id of graph.topoOps()) {
    const c = opCost(graph, id);
    ops.push(c);
    if (c.flops === null || c.bytesRead === null || c.bytesWritten === null) unknown.push(id);
    if (c.flops !== null) flops.add(c.flops);
    if (c.bytesRead !== null) bytesRead.add(c.bytesRead);
    if (c.bytesWritten !== null) bytesWritten.add(c.bytesWritten);
  }
  return { ops, flops: flops.value(), bytesRead: bytesRead.value(), bytesWritten: bytesWritten.value(), unknown };
}

export const costPass: Pass = {
  name: 'cost',
  summary: 'FLOPs and bytes read/written per op, as expressions over the shape symbols',
  kind: 'analysis',
  provides: 'cost',
  options: {},
  run(graph: IRGraph, ctx: PassContext) {
    const res = costGraph(graph);
    ctx.results.cost = res;
    return { summary: `${res.ops.length} ops costed, ${res.unknown.length} unknown` };
  },
};

/**
 * Evaluates cost expressions for the bindings: symbols without a binding count as 1 (and are
 * added to `unbound`), sizes that come out negative (`T - 3` at T = 1) as 0, unknown ones as null.
 */
export function evaluator(dims: ReadonlyMap<string, number>, unbound?: Set<string>): (d: Dim | null) => number | null {
  return (d) => {
    if (d === null) return null;
    const v = evaluate(d, dims);
    if (v !== undefined) return Math.max(0, v);
    const withOnes = new Map(dims);
    for (const name of symbolsOf(d))
      if (!withOnes.has(name)) {
        withOnes.set(name, 1);
        unbound?.add(name);
      }
    const w = evaluate(d, withOnes);
    return w === undefined ? null : Math.max(0, w);
  };
}

/** What an op asks of a device (unknown parts count 0), and whether all of it is known. */
export function opWork(
  graph: IRGraph,
  c: OpCost,
  value: (d: Dim | null) => number | null,
): { work: OpWork; known: boolean } {
  const flops = value(c.flops);
  const read = value(c.bytesRead);
  const written = value(c.bytesWritten);
  let outElems = 0;
  for (const v of graph.opOutputs(c.op)) {
    const s = v === undefined ? null : graph.value(v).shape;
    outElems += s ? (value(product(s)) ?? 0) : 0;
  }
  const first = graph.opInputs(c.op)[0];
  const line = opLine(c.opType, first === undefined ? undefined : graph.value(first).shape?.length, c.domain);
  return {
    work: {
      opType: c.opType,
      domain: c.domain,
      flops: flops ?? 0,
      bytes: (read ?? 0) + (written ?? 0),
      dtype: c.dtype,
      outElems,
      ...(line !== c.opType ? { line } : {}),
    },
    known: flops !== null && read !== null && written !== null,
  };
}
