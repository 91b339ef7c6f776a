// The memory of one device's program: the weights its ops read and the arena of the
// intermediate tensors it keeps (those it produces, does not send to another device and does not
// return), laid out by liveness in the order the device runs its ops. The partitioner checks
// capacities with these numbers and the emitter places tensors at these offsets, so a plan that
// fits when placed fits when emitted.
import { byteSize } from '../../src/ir/dtype.js';
import type { IRGraph } from '../../src/ir/graph.js';
import { evaluate, symbolsOf, type Dim } from '../../src/ir/sym.js';
import type { ValueAttrs, WeightRef } from '../../src/ir/types.js';
import { freeNames } from '../../targets/fleetrt/emit.js';
import { WEIGHT_ALIGN } from '../../targets/fleetrt/weights.js';
import { FLEETC_DOMAIN } from '../fuse/conv.js';
import { alignUp, livePeak, planArena, type ArenaRequest } from './arena.js';

/** ONNX ops whose output is their first input's bytes unchanged (fleetrt's kernels skip the copy when both share a slot). */
const VIEW_OPS = new Set(['Reshape', 'Squeeze', 'Unsqueeze', 'Flatten']);

/** Where each arena tensor of a device's program lies, and what the arena takes. */
export interface ArenaLayout {
  /** Offset and aligned size of each planned tensor, by value name. */
  tensors: Map<string, { offset: number; size: number }>;
  /** The planned peak (the arena's size). */
  bytes: number;
  /** What the tensors would take with no reuse. */
  unshared: number;
  /** The largest sum of tensors live at one op: no layout can be smaller. */
  lowerBound: number;
  /** Symbols without a binding, planned at 1. */
  defaulted: string[];
}

export interface DeviceProgram {
  /** The device's ops in the order it runs them. */
  ops: readonly string[];
  /** Values it sends to other devices (they are allocated when produced, not in the arena). */
  sends: ReadonlySet<string>;
  /** Graph outputs it returns (the home device). */
  outputs: ReadonlySet<string>;
  dims: ReadonlyMap<string, number>;
}

/** Bytes of a tensor for the bindings (unbound symbols at 1, collected in `defaulted`); undefined when unknown. */
export function plannedBytes(
  v: ValueAttrs,
  dims: ReadonlyMap<string, number>,
  defaulted?: Set<string>,
): number | undefined {
  if (v.container || !v.dtype || v.dtype === 'string' || !v.shape) return undefined;
  const bind = new Map(dims);
  for (const d of v.shape as Dim[])
    for (const s of symbolsOf(d))
      if (!bind.has(s)) {
        bind.set(s, 1);
        defaulted?.add(s);
      }
  let n = 1;
  for (const d of v.shape) {
    const x = evaluate(d, bind);
    if (x === undefined || x < 0 || !Number.isFinite(x)) return undefined;
    n *= x;
  }
  const bytes = byteSize(v.dtype, n);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** A device's program as the arena sees it: its ops in order, and what leaves it instead of staying. */
export type ArenaProgram = Omit<DeviceProgram, 'dims'>;

/**
 * Arena layouts of the programs of one graph at one set of bindings. What each op reads and
 * writes and each tensor's size are looked up once, so that the partitioner can ask for many
 * programs (every placement it tries) at the cost of the layout alone.
 */
export class ArenaModel {
  private readonly opIO = new Map<string, { reads: string[]; writes: string[] }>();
  private readonly sizes = new Map<string, { bytes: number | undefined; defaulted: string[] }>();

  constructor(
    private readonly graph: IRGraph,
    private readonly dims: ReadonlyMap<string, number>,
  ) {}

  /**
   * The arena of a program: every tensor an op of it produces that stays (not sent, not a graph
   * output) with a known size, live from its producer to its last reader (subgraph reads
   * included), in the order of first production.
   */
  layout(p: ArenaProgram): ArenaLayout {
    const { names, reqs, members, defaulted } = this.requests(p);
    if (!reqs.length) return { tensors: new Map(), bytes: 0, unshared: 0, lowerBound: 0, defaulted };
    const plan = planArena(reqs);
    return {
      tensors: new Map(
        names.map((n, i) => [n, { offset: plan.offsets[members[i]!]!, size: plan.sizes[members[i]!]! }]),
      ),
      bytes: plan.peak,
      unshared: plan.total,
      lowerBound: plan.lowerBound,
      defaulted,
    };
  }

  /** The most arena bytes live at one op: no layout of the program's arena is smaller. */
  arenaFloor(p: ArenaProgram): number {
    return livePeak(this.requests(p).reqs);
  }

  /**
   * What a program's activations can take at most, without planning: every tensor its ops make
   * and every tensor it receives, each at its full size and all live at once.
   */
  upperBound(ops: readonly string[], receives: Iterable<string>): number {
    let total = 0;
    const add = (v: string): void => {
      const b = this.size(v).bytes;
      if (b !== undefined) total += alignUp(b);
    };
    for (const id of ops) for (const v of this.io(id).writes) add(v);
    for (const v of receives) add(v);
    return total;
  }

  /**
   * Bytes at peak of the tensors a program holds outside its arena, which fleetrt allocates when
   * they are made or arrive: values it sends, from their producer to their last local reader;
   * graph outputs it returns, from their producer to its end; values it receives, from their first
   * reader to their last.
   */
  outsideArena(p: ArenaProgram, receives: ReadonlySet<string>): number {
    const first = new Map<string, number>();
    const last = new Map<string, number>();
    p.ops.forEach((id, k) => {
      const { reads, writes } = this.io(id);
      for (const v of reads) {
        if (!first.has(v)) first.set(v, k);
        last.set(v, k);
      }
      for (const v of writes) if (p.sends.has(v) || p.outputs.has(v)) first.set(v, k);
    });
    const reqs: ArenaRequest[] = [];
    for (const [v, at] of first) {
      const made = p.sends.has(v) || p.outputs.has(v);
      if (!made && !receives.has(v)) continue;
      const bytes = this.size(v).bytes;
      if (bytes === undefined) continue;
      const end = p.outputs.has(v) ? p.ops.length - 1 : Math.max(at, last.get(v) ?? at);
      reqs.push({ bytes, first: at, last: end });
    }
    return livePeak(reqs);
  }

  private requests(p: ArenaProgram): {
    names: string[];
    reqs: ArenaRequest[];
    /** The request each name lies in (a view shares its input's). */
    members: number[];
    defaulted: string[];
  } {
    const first = new Map<string, number>();
    const last = new Map<string, number>();
    const order: string[] = [];
    p.ops.forEach((id, k) => {
      const { reads, writes } = this.io(id);
      for (const v of reads) last.set(v, k);
      for (const v of writes)
        if (!first.has(v)) {
          first.set(v, k);
          order.push(v);
        }
    });
    const defaulted = new Set<string>();
    const stays = (n: string): boolean => !p.sends.has(n) && !p.outputs.has(n) && this.size(n).bytes !== undefined;
    // A view op's output shares its input's slot (fleetrt then skips the copy): one request, live
    // from the input's producer to the last reader of any of them. So does a fused conv's output
    // its residual's, where no one reads that slot after the conv (in place).
    const root = new Map<string, string>();
    const slotLast = new Map<string, number>(); // by root: the last reader of any value in its slot
    p.ops.forEach((id, k) => {
      const view = this.viewSource(id);
      const src = view ?? this.inPlaceResidual(id);
      if (!src || !first.has(src.input) || !stays(src.input) || !stays(src.output)) return;
      if (this.size(src.input).bytes !== this.size(src.output).bytes) return;
      const r = root.get(src.input) ?? src.input;
      const end = slotLast.get(r) ?? last.get(r) ?? -1;
      if (!view && end !== k) return;
      root.set(src.output, r);
      slotLast.set(r, Math.max(end, last.get(src.output) ?? -1));
    });
    const names: string[] = [];
    const reqs: ArenaRequest[] = [];
    const slotOf = new Map<string, number>();
    const members: number[] = [];
    for (const n of order) {
      if (p.sends.has(n) || p.outputs.has(n)) continue;
      const { bytes, defaulted: d } = this.size(n);
      for (const s of d) defaulted.add(s);
      if (bytes === undefined) continue;
      names.push(n);
      const r = root.get(n);
      const at = r === undefined ? undefined : slotOf.get(r);
      const end = last.get(n) ?? first.get(n)!;
      if (at !== undefined) {
        reqs[at]!.last = Math.max(reqs[at]!.last, end);
        members.push(at);
        continue;
      }
      slotOf.set(n, reqs.length);
      members.push(reqs.length);
      reqs.push({ bytes, first: first.get(n)!, last: end });
    }
    return { names, reqs, members, defaulted: [...defaulted].sort() };
  }

  /** The data input and output of an op whose output is its input's bytes under another shape. */
  private viewSource(op: string): { input: string; output: string } | undefined {
    const o = this.graph.op(op);
    if (o.domain !== '' || !VIEW_OPS.has(o.opType)) return undefined;
    return this.sharable(this.graph.opInputs(op)[0], this.graph.opOutputs(op)[0]);
  }

  /**
   * The residual Z and output of a fleetc FusedConv that may write its output over Z: Z is no
   * other input of it, of the output's type (fleetrt's conv kernels read each residual value
   * before they write the output value in its place).
   */
  private inPlaceResidual(op: string): { input: string; output: string } | undefined {
    const o = this.graph.op(op);
    if (o.domain !== FLEETC_DOMAIN || o.opType !== 'FusedConv') return undefined;
    const ins = this.graph.opInputs(op);
    return ins[3] !== undefined && ins.indexOf(ins[3]) === 3
      ? this.sharable(ins[3], this.graph.opOutputs(op)[0])
      : undefined;
  }

  /** input and output when both are plain tensors of one dtype (one may lie in the other's slot). */
  private sharable(
    input: string | undefined,
    output: string | undefined,
  ): { input: string; output: string } | undefined {
    if (input === undefined || output === undefined) return undefined;
    const a = this.graph.value(input);
    const b = this.graph.value(output);
    if (!a.dtype || a.dtype !== b.dtype || a.container || b.container) return undefined;
    return { input, output };
  }

  private io(op: string): { reads: string[]; writes: string[] } {
    let io = this.opIO.get(op);
    if (!io) {
      const reads = [...this.graph.opInputs(op), ...freeNames(this.graph, op)].filter((v) => v !== undefined);
      const writes = this.graph.opOutputs(op).filter((v) => v !== undefined);
      io = { reads, writes };
      this.opIO.set(op, io);
    }
    return io;
  }

  private size(v: string): { bytes: number | undefined; defaulted: string[] } {
    let s = this.sizes.get(v);
    if (!s) {
      const defaulted = new Set<string>();
      s = { bytes: plannedBytes(this.graph.value(v), this.dims, defaulted), defaulted: [...defaulted] };
      this.sizes.set(v, s);
    }
    return s;
  }
}

/** The arena of one device's program (ArenaModel.layout). */
export function planDeviceArena(graph: IRGraph, p: DeviceProgram): ArenaLayout {
  return new ArenaModel(graph, p.dims).layout(p);
}

/**
 * The weights an op reads, each at most what weights.bin gives it (its bytes rounded up to the
 * file's alignment): weight inputs, constants in attributes, and the weights of its subgraphs.
 */
export function opWeights(graph: IRGraph, op: string, dims: ReadonlyMap<string, number>): [string, number][] {
  const out: [string, number][] = [];
  for (const v of graph.opInputs(op)) {
    if (!v) continue;
    const val = graph.value(v);
    if (val.role !== 'weight') continue;
    const b = val.weight ? refBytes(val.weight) : undefined;
    const bytes = b ?? plannedBytes(val, dims);
    if (bytes !== undefined) out.push([v, alignUp(bytes, WEIGHT_ALIGN)]);
  }
  for (const [name, attr] of Object.entries(graph.op(op).attrs)) {
    const consts = attr.type === 'tensor' ? [attr.value] : attr.type === 'tensors' ? attr.value : [];
    consts.forEach((c, i) => {
      const b =
        refBytes(c.ref) ??
        byteSize(
          c.dtype,
          c.shape.reduce((x, y) => x * y, 1),
        );
      out.push([`${op}#${name}[${i}]`, alignUp(b, WEIGHT_ALIGN)]);
    });
  }
  for (const [, sub] of graph.subgraphs(op))
    for (const id of sub.ops()) for (const [k, b] of opWeights(sub, id, dims)) out.push([`${sub.name}/${k}`, b]);
  return out;
}

function refBytes(ref: WeightRef): number | undefined {
  return ref.kind === 'file' ? ref.length : ref.kind === 'inline' ? ref.data.length : undefined;
}
