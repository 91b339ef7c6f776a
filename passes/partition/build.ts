import type { IRGraph } from '../../src/ir/graph.js';
import type { Dim } from '../../src/ir/sym.js';
import type { DType } from '../../src/ir/dtype.js';
import { FleetCost } from '../../src/fleet/cost.js';
import type { Fleet } from '../../src/fleet/types.js';
import { refusal, type OpWork } from '../../targets/index.js';
import { evaluator, opCost, opWork } from '../analysis/cost.js';
import { opWeights } from '../memory/index.js';
import { keepsPreparedWeights, programPreparedBytes } from '../../targets/fleetrt/prepared.js';
import { deviceMemory, residesOnDevice } from './memory.js';
import { bytesOf } from '../analysis/tensor.js';
import type { Problem, Task } from './problem.js';
import { FleetcError } from '../../src/diagnostics/index.js';

export interface BuildOptions {
  /** Symbol bindings; unbound symbols count as 1 (and the report says so). */
  dims: Map<string, number>;
  /** Merge ops into segments (default true); off gives one task per op. */
  coarsen?: boolean;
  /** Placement decided before partitioning (experts and their layers): op id → device id. */
  opPins?: ReadonlyMap<string, string>;
  /** The fleet's cost model (default: the fleet's datasheet figures). */
  cost?: FleetCost;
  /** Bindings memory is planned with, when costs are priced at others (MoE expected rows); default `dims`. */
  memoryDims?: ReadonlyMap<string, number>;
  /** Bytes no device may use, below its capacity (`--max-memory`). */
  maxMemory?: number;
}

/** Per-op facts the partitioner and the report share. */
export interface OpFacts {
  op: string;
  opType: string;
  /** What the op asks of a device (FLOPs, bytes, element type, output elements). */
  work: OpWork;
  flops: number;
  bytes: number;
  dtype: DType | null;
  /** Seconds per device (Infinity where refused). */
  time: number[];
  refused: (string | null)[];
  pinned?: number;
  pinOrigin?: string;
}

export interface BuiltProblem {
  problem: Problem;
  facts: Map<string, OpFacts>;
  cost: FleetCost;
  /** Symbols that had no binding and were taken as 1. */
  unboundSymbols: string[];
}

/**
 * Turns an IR graph and a fleet into a partitioning problem: every op priced on every device by
 * the roofline, refused where the device cannot run it (op support, element types, user
 * forbids), pinned where the user pinned it; ops merged into segments along single-consumer
 * chains of ops with the same allowed devices and pins.
 */
export function buildProblem(graph: IRGraph, fleet: Fleet, opts: BuildOptions): BuiltProblem {
  const devices = fleet.devices;
  const unbound = new Set<string>();
  const value = evaluator(opts.dims, unbound);
  const num = (d: Dim | null): number => value(d) ?? 0;
  const cost = opts.cost ?? new FleetCost(fleet);
  const pins = fleet.pins.map((p) => ({
    ...p,
    re: new RegExp(p.match),
    dev: devices.findIndex((d) => d.id === p.device),
  }));

  const order = graph.topoOps();
  const facts = new Map<string, OpFacts>();
  for (const id of order) {
    const op = graph.op(id);
    const c = opCost(graph, id);
    const { work } = opWork(graph, c, value);
    const dtypes = computeDTypes(graph, id);
    const container = [...graph.opInputs(id), ...graph.opOutputs(id)].some((v) => v && graph.value(v).container);
    // On one device there is no choice: the element types a class computes in (a cost-model
    // list) do not refuse an op there; fleetrt's kernels judge what they take when it loads.
    const types = devices.length > 1 ? dtypes : [];
    const refused = devices.map((d) => refusal(d, op.opType, types, op.domain, container));
    let pinned: number | undefined;
    let pinOrigin: string | undefined;
    for (const p of pins) {
      if (!p.re.test(op.name) && !p.re.test(id) && !p.re.test(op.opType)) continue;
      if (p.forbid) refused[p.dev] ??= `forbidden by ${p.origin}`;
      else if (pinned === undefined) {
        pinned = p.dev;
        pinOrigin = p.origin;
      }
    }
    const fixed = opts.opPins?.get(id);
    if (fixed !== undefined && pinned === undefined) {
      const d = devices.findIndex((x) => x.id === fixed);
      if (d >= 0 && !refused[d]) {
        pinned = d;
        pinOrigin = 'expert placement';
      }
    }
    if (pinned !== undefined && refused[pinned])
      throw new FleetcError(
        'E0303',
        `${pinOrigin} pins ${op.opType} '${op.name}' to ${devices[pinned]!.id}, which cannot run it: ${refused[pinned]}`,
        op.loc,
      );
    const time = devices.map((_d, i) => (refused[i] ? Infinity : cost.op(i, work).time));
    facts.set(id, {
      op: id,
      opType: op.opType,
      work,
      flops: work.flops,
      bytes: work.bytes,
      dtype: c.dtype,
      time,
      refused,
      ...(pinned !== undefined ? { pinned, pinOrigin } : {}),
    });
  }

  // What stays on the device of an op: its weights as weights.bin holds them, and state it uses.
  const memoryDims = opts.memoryDims ?? opts.dims;
  const residents = new Map<string, [string, number][]>();
  for (const id of order) {
    const own = opWeights(graph, id, memoryDims);
    for (const v of graph.opInputs(id)) if (v && graph.value(v).role === 'state') own.push([v, num(bytesOf(graph, v))]);
    residents.set(id, own);
  }
  const opWeightBytes = (op: string): number => residents.get(op)!.reduce((sum, [, b]) => sum + b, 0);
  // A segment may hold at most an eighth of the smallest device's memory in weights, so that
  // memory can still be balanced by moving segments.
  const weightCap = Math.min(...devices.map((d) => d.memory[0]?.capacity ?? Infinity)) / 8;
  const segmentOf = segment(graph, order, facts, opts.coarsen ?? true, opWeightBytes, weightCap);
  const segIds = [...new Set(order.map((id) => segmentOf.get(id)!))];
  const index = new Map(segIds.map((s, i) => [s, i]));
  const members = segIds.map(() => [] as string[]);
  for (const id of order) members[index.get(segmentOf.get(id)!)!]!.push(id);

  const tasks: Task[] = members.map((ops, i) => {
    const fs = ops.map((o) => facts.get(o)!);
    const time = devices.map((_d, d) => fs.reduce((s, f) => s + f.time[d]!, 0));
    const refused = devices.map((_d, d) => fs.map((f) => f.refused[d]).find((r) => r) ?? null);
    const weights = new Map<string, number>();
    let outBytes = 0;
    let workBytes = 0;
    const inSeg = new Set(ops);
    for (const o of ops) {
      let work = 0;
      for (const [w, b] of residents.get(o)!) weights.set(w, b);
      for (const v of graph.opInputs(o)) {
        if (!v || residesOnDevice(graph, v)) continue;
        work += num(bytesOf(graph, v));
      }
      for (const v of graph.opOutputs(o)) {
        if (!v) continue;
        const b = num(bytesOf(graph, v));
        work += b;
        if (graph.outputs.includes(v) || graph.consumers(v).some((u) => !inSeg.has(u.op))) outBytes += b;
      }
      workBytes = Math.max(workBytes, work);
    }
    const pin = fs.find((f) => f.pinned !== undefined);
    const prepared = programPreparedBytes(graph, ops);
    return {
      id: i,
      name: ops.length > 1 ? `${ops[0]} (+${ops.length - 1})` : ops[0]!,
      ops,
      time,
      refused,
      weights: [...weights.entries()],
      ...(prepared ? { prepared } : {}),
      outBytes,
      workBytes,
      ...(pin ? { pinned: pin.pinned } : {}),
      ...(pin?.pinOrigin === 'expert placement' ? { pinOrigin: pin.pinOrigin } : {}),
    };
  });

  const flowBytes = new Map<string, { from: number; to: number; bytes: number; values: string[] }>();
  const inputs = new Map<number, number>();
  const outputs = new Map<number, number>();
  const graphInputs = new Set(graph.inputs);
  // Values that If/Loop/Scan bodies read from this graph are inputs of the op that owns the body.
  const capturedBy = new Map<string, string[]>();
  for (const id of order)
    for (const v of graph.capturedValues(id)) capturedBy.set(v, [...(capturedBy.get(v) ?? []), id]);
  for (const v of graph.values()) {
    const val = graph.value(v);
    const bytes = num(bytesOf(graph, v));
    const prod = graph.producer(v);
    const users = new Set(
      [...graph.consumers(v).map((u) => u.op), ...(capturedBy.get(v) ?? [])].map((op) =>
        index.get(segmentOf.get(op)!)!,
      ),
    );
    if (!prod) {
      if (val.role === 'state') continue;
      if (graphInputs.has(v) || val.role === 'input')
        for (const t of users) inputs.set(t, (inputs.get(t) ?? 0) + bytes);
      continue;
    }
    const from = index.get(segmentOf.get(prod.op)!)!;
    for (const to of users) {
      if (to === from) continue;
      const key = `${from}->${to}`;
      const f = flowBytes.get(key) ?? { from, to, bytes: 0, values: [] };
      f.bytes += bytes;
      f.values.push(v);
      flowBytes.set(key, f);
    }
    if (graph.outputs.includes(v)) outputs.set(from, (outputs.get(from) ?? 0) + bytes);
  }

  const cpu = devices.findIndex((d) => d.class === 'cpu');
  const problem: Problem = {
    fleet,
    devices,
    tasks,
    flows: [...flowBytes.values()],
    inputs: [...inputs.entries()].map(([to, bytes]) => ({ to, bytes })),
    outputs: [...outputs.entries()].map(([from, bytes]) => ({ from, bytes })),
    home: cpu >= 0 ? cpu : 0,
    capacity: devices.map((d) => Math.min(d.memory[0]!.capacity, opts.maxMemory ?? Infinity)),
    prepares: devices.map(keepsPreparedWeights),
    comm: (a, b, bytes) => cost.transfer(a, b, bytes),
    ...deviceMemory(graph, tasks, { home: cpu >= 0 ? cpu : 0, capturedBy, dims: memoryDims }),
    messageTime: cost.messageTime(),
    readinessTime: cost.readinessTime(),
    ...(cost.requestTime() ? { requestTime: cost.requestTime() } : {}),
  };
  return { problem, facts, cost, unboundSymbols: [...unbound].sort() };
}

/**
 * Element types that decide where an op may run: its outputs and its non-constant inputs
 * (constant int64 shape operands of Reshape, Slice … are folded into the bundle and never
 * computed on the device).
 */
function computeDTypes(graph: IRGraph, id: string): (DType | null)[] {
  const out: (DType | null)[] = [];
  for (const v of graph.opOutputs(id)) if (v) out.push(graph.value(v).dtype);
  for (const v of graph.opInputs(id)) {
    if (!v) continue;
    const val = graph.value(v);
    if (val.role === 'weight' && (val.dtype === 'int64' || val.dtype === 'int32')) continue;
    out.push(val.dtype);
  }
  return out;
}

/**
 * Segments: an op joins its producer's segment when it is that producer's only consumer, it
 * reads no other op output from outside the segment, and both have the same allowed devices and
 * pin. Shape-only ops (no FLOPs, small outputs) join their single consumer instead.
 */
function segment(
  graph: IRGraph,
  order: string[],
  facts: Map<string, OpFacts>,
  coarsen: boolean,
  opWeightBytes: (op: string) => number,
  weightCap: number,
): Map<string, string> {
  const seg = new Map<string, string>();
  const segWeights = new Map<string, number>();
  const key = (f: OpFacts): string => `${f.refused.map((r) => (r ? 0 : 1)).join('')}|${f.pinned ?? ''}`;
  for (const id of order) {
    seg.set(id, id);
    const w = opWeightBytes(id);
    segWeights.set(id, w);
    if (!coarsen) continue;
    const preds = new Set<string>();
    for (const v of graph.opInputs(id)) {
      const p = v ? graph.producer(v) : undefined;
      if (p) preds.add(seg.get(p.op)!);
    }
    if (preds.size !== 1) continue;
    const [pseg] = [...preds];
    const producerOps = graph
      .opInputs(id)
      .map((v) => (v ? graph.producer(v)?.op : undefined))
      .filter((p): p is string => !!p);
    const soleConsumer = producerOps.every((p) =>
      graph
        .opOutputs(p)
        .every((v) => !v || (graph.outputs.includes(v) === false && graph.consumers(v).every((u) => u.op === id))),
    );
    const merged = segWeights.get(pseg!)! + w;
    if (soleConsumer && key(facts.get(producerOps[0]!)!) === key(facts.get(id)!) && merged <= weightCap) {
      seg.set(id, pseg!);
      segWeights.set(pseg!, merged);
    }
  }
  return seg;
}
