import type { IRGraph } from '../../src/ir/graph.js';
import type { Pass } from '../pass.js';
import { FLEETC_DOMAIN } from './conv.js';
import { dimEq } from '../../src/ir/sym.js';
import { fleetTakes, outerReferenced, dropIfUnused, floatWeight, soleConsumer } from './util.js';

/** Opcodes of the FusedElementwise program (native/src/kernels/fused_elementwise.cpp). */
const BINARY: Record<string, number> = { Add: 0, Sub: 1, Mul: 2, Div: 3, Pow: 4, Max: 5, Min: 6 };
const UNARY: Record<string, number> = {
  Relu: 20,
  Sigmoid: 21,
  Tanh: 22,
  Erf: 23,
  Neg: 24,
  Abs: 25,
  Exp: 26,
  Sqrt: 27,
  Log: 28,
  Reciprocal: 29,
};
const SQUARE = 30;

/** Whether `op` is an elementwise op over float32 values of static shape that the kernel evaluates. */
function fusible(graph: IRGraph, op: string): boolean {
  const a = graph.op(op);
  if (a.domain !== '' || graph.subgraphs(op).length) return false;
  const ins = graph.opInputs(op);
  const outs = graph.opOutputs(op);
  if (outs.length !== 1 || outs[0] === undefined) return false;
  if (BINARY[a.opType] !== undefined) {
    if (ins.length !== 2) return false;
  } else if (UNARY[a.opType] === undefined || ins.length !== 1) return false;
  return [...ins, outs[0]].every((v) => v !== undefined && graph.value(v).dtype === 'float32');
}

/**
 * Whether value `a` broadcasts to value `b` (numpy rules). Only a guard against recomputing a
 * small intermediate per element of a much larger output: the kernel broadcasts at run time, so
 * any chain is correct.
 */
function broadcastsTo(graph: IRGraph, a: string, b: string): boolean {
  const x = graph.value(a).shape;
  const y = graph.value(b).shape;
  if (!x || !y || x.length > y.length) return false;
  const off = y.length - x.length;
  return x.every((d, i) => d === 1 || dimEq(d, y[off + i]!));
}

/**
 * Prepends to `chain` the producers of its outside operands whose results only the chain reads
 * (x in x·Φ(x): the chain from Φ's argument reads x twice), while one qualifies. Such a producer
 * cannot read a chain result (those are read inside the chain only), so prepending keeps the
 * order topological.
 */
function growBackwards(graph: IRGraph, chain: string[], out: string, outer: ReadonlySet<string>): void {
  for (;;) {
    const inChain = new Set(chain);
    let added: string | undefined;
    for (const id of chain) {
      for (const v of graph.opInputs(id)) {
        if (v === undefined || graph.outputs.includes(v) || outer.has(v)) continue;
        const p = graph.producer(v);
        if (!p || inChain.has(p.op) || !fusible(graph, p.op)) continue;
        if (!graph.consumers(v).every((u) => inChain.has(u.op)) || !broadcastsTo(graph, v, out)) continue;
        added = p.op;
        break;
      }
      if (added) break;
    }
    if (!added) return;
    chain.unshift(added);
  }
}

/**
 * Fuses chains of float32 elementwise ops (each intermediate read only by the next op of the
 * chain, or only by ops of the chain: see growBackwards) into one fleetc FusedElementwise whose `program` evaluates the chain per element, with
 * the chain's other operands (weights, other tensors) broadcast as inputs. Chains of one op are
 * left alone. Returns the number of fused ops created.
 */
export function fuseElementwise(graph: IRGraph, minOps = 2): number {
  let created = 0;
  const outer = outerReferenced(graph);
  for (const start of graph.topoOps()) {
    if (!graph.hasOp(start) || !fusible(graph, start)) continue;
    const chain = [start];
    let cur = graph.opOutputs(start)[0]!;
    for (;;) {
      const use = soleConsumer(graph, cur, outer);
      if (!use || !fusible(graph, use.op)) break;
      const ins = graph.opInputs(use.op);
      if (ins.filter((v) => v === cur).length !== 1) break;
      const next = graph.opOutputs(use.op)[0]!;
      if (!broadcastsTo(graph, cur, next)) break;
      chain.push(use.op);
      cur = next;
    }
    growBackwards(graph, chain, cur, outer);
    if (chain.length < minOps) continue;
    // Registers: the external inputs first (deduplicated), then one per op.
    const inputs: string[] = [];
    const reg = new Map<string, number>();
    const program: number[] = [];
    const operand = (v: string): number => {
      const r = reg.get(v);
      if (r !== undefined) return r;
      inputs.push(v);
      reg.set(v, -1 - (inputs.length - 1));
      return -1 - (inputs.length - 1);
    };
    const raw: [number, number, number][] = [];
    const removedIns: string[] = [];
    chain.forEach((id, k) => {
      const a = graph.op(id);
      const ins = graph.opInputs(id) as string[];
      removedIns.push(...ins);
      const exp = a.opType === 'Pow' ? floatWeight(graph, ins[1]) : undefined;
      if (exp && exp.length === 1 && exp[0] === 2) raw.push([SQUARE, operand(ins[0]!), 0]);
      else if (BINARY[a.opType] !== undefined) raw.push([BINARY[a.opType]!, operand(ins[0]!), operand(ins[1]!)]);
      else raw.push([UNARY[a.opType]!, operand(ins[0]!), 0]);
      reg.set(graph.opOutputs(id)[0]!, 1_000_000 + k);
    });
    // Operands: −1−i is external input i, 1e6+k is the result of op k.
    const n = inputs.length;
    const fix = (r: number): number => (r < 0 ? -1 - r : n + (r - 1_000_000));
    for (const [op, a, b] of raw) program.push(op, fix(a), op >= 20 ? -1 : fix(b));
    const first = graph.op(chain[0]!);
    const fusedTypes = chain.map((id) => graph.op(id).opType);
    const inner = chain.map((id) => graph.opOutputs(id)[0]!);
    for (const id of chain) graph.removeOp(id);
    graph.addOp(
      {
        opType: 'FusedElementwise',
        domain: FLEETC_DOMAIN,
        opset: 1,
        attrs: {
          program: { type: 'ints', value: program },
          fused_ops: { type: 'strings', value: fusedTypes },
        },
        loc: first.loc,
        name: `${first.name}.fused`,
      },
      inputs,
      [cur],
    );
    for (const v of [...inner, ...removedIns]) if (v !== cur) dropIfUnused(graph, v, outer);
    created++;
  }
  return created;
}

export const fuseElementwisePass: Pass = {
  name: 'fuse-elementwise',
  summary: 'fuse chains of float32 elementwise ops into one fleetc FusedElementwise',
  kind: 'transform',
  options: { 'min-ops': 2 },
  run(graph, ctx, options) {
    if (!fleetTakes(ctx, 'FusedElementwise', FLEETC_DOMAIN))
      return { changed: false, summary: 'skipped: the fleet has non-cpu devices or refuses FusedElementwise' };
    const n = fuseElementwise(graph, Number(options['min-ops'] ?? 2));
    return { changed: n > 0, summary: `${n} elementwise chains fused` };
  },
};
