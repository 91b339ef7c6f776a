// Which ops float: cheap ops (shape arithmetic, small element-wise and data ops) that every
// device of a shared-memory group can run, decided at run time by readiness instead of pinned.
// A group is the real cpu devices of one host (fleetrt runs them in one process on host memory),
// so a floating op's values are shared between them instead of copied on channels.
import type { IRGraph } from '../../src/ir/graph.js';
import type { FleetCost } from '../../src/fleet/cost.js';
import type { Fleet } from '../../src/fleet/types.js';
import { byteSize } from '../../src/ir/dtype.js';
import { product } from '../../src/ir/sym.js';
import { refusal } from '../../targets/support.js';
import { workKind, type WorkKind } from '../../targets/work.js';
import { evaluator, opCost, opWork } from '../analysis/cost.js';
import { computeDTypes } from '../partition/build.js';

/** A floating op: the devices any of which may run it, and where the partitioner had placed it. */
export interface FloatingOp {
  op: string;
  name: string;
  opType: string;
  kind: WorkKind;
  /** The group's devices, in fleet order. */
  devices: string[];
  /** The partitioner's device: where it runs when its devices are not in one process (MPI). */
  placed: string;
  /** Predicted work on the slowest candidate (roofline, dispatch left out), seconds. */
  work: number;
}

export interface FloatOptions {
  /** An op floats only when its predicted work is at most this many seconds on every candidate. */
  maxWork: number;
  /** …and each of its outputs holds at most this many bytes (values are shared, not copied). */
  maxBytes: number;
  /** Also float groups that lie inside one device's work (they would run there anyway). */
  interior?: boolean;
}

/** Kinds of work that may float: no dense math, no reductions (their sums' order could change). */
const FLOATING_KINDS: ReadonlySet<WorkKind> = new Set(['shape', 'data', 'elementwise']);
/** Ops whose result is not a function of their inputs alone. */
const NONDETERMINISTIC = /^(Random|Multinomial|Bernoulli|Dropout)/;

/** Devices that share one host's memory in fleetrt's process: real cpu devices, per host. */
export function floatingGroups(fleet: Fleet): string[][] {
  const byHost = new Map<string, string[]>();
  for (const d of fleet.devices) {
    if (d.class !== 'cpu' || d.backend !== 'cpu' || d.hostLink) continue;
    if (!byHost.has(d.host)) byHost.set(d.host, []);
    byHost.get(d.host)!.push(d.id);
  }
  return [...byHost.values()].filter((g) => g.length > 1);
}

export interface FloatInput {
  graph: IRGraph;
  fleet: Fleet;
  cost: FleetCost;
  home: string;
  placement: Record<string, string>;
  dims: ReadonlyMap<string, number>;
  /** Ops the partitioner had to put somewhere (MoE expert placement). */
  fixed: ReadonlySet<string>;
}

/** The floating ops of a placed graph, in topological order. */
export function selectFloating(input: FloatInput, opts: FloatOptions): Map<string, FloatingOp> {
  const { graph, fleet, cost, placement } = input;
  const groups = floatingGroups(fleet);
  const groupOf = new Map<string, string[]>();
  for (const g of groups) for (const d of g) groupOf.set(d, g);
  const out = new Map<string, FloatingOp>();
  if (!groups.length) return out;
  const value = evaluator(input.dims);
  const outputs = new Set(graph.outputs);
  const pins = fleet.pins.filter((p) => !p.forbid).map((p) => new RegExp(p.match));
  const names = new Map<string, number>();
  for (const id of graph.ops()) names.set(graph.op(id).name, (names.get(graph.op(id).name) ?? 0) + 1);
  const deviceOf = (op: string): string => placement[op]!;
  // Ops that read a value through a subgraph (If/Loop/Scan bodies capturing it).
  const capturedBy = new Map<string, string[]>();
  for (const id of graph.ops())
    for (const v of graph.capturedValues(id)) capturedBy.set(v, [...(capturedBy.get(v) ?? []), id]);
  const readers = (v: string): string[] => [...graph.consumers(v).map((u) => u.op), ...(capturedBy.get(v) ?? [])];

  const candidate = (id: string): FloatingOp | undefined => {
    const op = graph.op(id);
    const group = groupOf.get(deviceOf(id));
    if (!group) return undefined;
    const kind = workKind(op.opType, op.domain);
    if (!FLOATING_KINDS.has(kind) || op.domain === 'fleetc' || NONDETERMINISTIC.test(op.opType)) return undefined;
    if (names.get(op.name) !== 1 || graph.subgraphs(id).length) return undefined;
    if (input.fixed.has(id) || pins.some((re) => re.test(op.name) || re.test(id) || re.test(op.opType)))
      return undefined;
    const ins = graph.opInputs(id).filter((v): v is string => v !== undefined);
    if (!ins.length) return undefined; // Constant: folded by the compile, nothing to decide at run time
    const outs = graph.opOutputs(id).filter((v): v is string => v !== undefined);
    for (const v of [...ins, ...outs]) {
      const val = graph.value(v);
      if (val.container || val.role === 'state' || val.dtype === 'string' || !val.dtype) return undefined;
    }
    for (const v of outs) {
      if (outputs.has(v)) return undefined;
      const val = graph.value(v);
      const n = val.shape ? value(product(val.shape)) : null;
      if (n === null || byteSize(val.dtype!, n) > opts.maxBytes) return undefined;
    }
    // Values it reads from outside the group would have to travel on a channel to whichever device runs it.
    for (const v of ins) {
      const p = graph.producer(v);
      if (graph.value(v).role === 'weight') continue;
      const from = p ? deviceOf(p.op) : input.home;
      if (!group.includes(from)) return undefined;
    }
    const dtypes = computeDTypes(graph, id);
    let work = 0;
    for (const d of group) {
      const i = cost.index(d);
      if (refusal(fleet.devices[i]!, op.opType, dtypes, op.domain, false)) return undefined;
      const c = cost.op(i, opWork(graph, opCost(graph, id), value).work);
      work = Math.max(work, c.computeTime, c.memoryTime);
    }
    if (work > opts.maxWork) return undefined;
    return { op: id, name: op.name, opType: op.opType, kind, devices: group, placed: deviceOf(id), work };
  };

  const order = graph.topoOps();
  for (const id of order) {
    const f = candidate(id);
    if (f) out.set(id, f);
  }
  // Readers outside the group (another class of device, another host) would need the value sent
  // from whichever device ran the op: such ops stay where they were placed. Dropping one can
  // strand a floating producer of its inputs, so repeat until nothing changes.
  for (let changed = true; changed;) {
    changed = false;
    for (const [id, f] of out) {
      const readersOutside = graph
        .opOutputs(id)
        .some((v) => v !== undefined && readers(v).some((r) => !out.has(r) && !f.devices.includes(deviceOf(r))));
      const producerOutside = graph.opInputs(id).some((v) => {
        if (v === undefined) return false;
        const p = graph.producer(v);
        return p !== undefined && !out.has(p.op) && !f.devices.includes(deviceOf(p.op));
      });
      if (readersOutside || producerOutside) {
        out.delete(id);
        changed = true;
      }
    }
  }
  return opts.interior ? out : boundaryComponents(graph, out, deviceOf, readers, input.home);
}

/**
 * Keeps the connected groups of floating ops that touch more than one device (through what they
 * read, what reads them, or where their ops were placed). A group inside one device's work would
 * always run there — the device that makes an op's last input takes it — so floating it would
 * only add the run-time bookkeeping.
 */
function boundaryComponents(
  graph: IRGraph,
  floating: Map<string, FloatingOp>,
  deviceOf: (op: string) => string,
  readers: (v: string) => string[],
  home: string,
): Map<string, FloatingOp> {
  const parent = new Map<string, string>([...floating.keys()].map((k) => [k, k]));
  const find = (x: string): string => {
    while (parent.get(x) !== x) x = parent.get(x)!;
    return x;
  };
  for (const id of floating.keys())
    for (const v of graph.opInputs(id)) {
      if (v === undefined || graph.value(v).role === 'weight') continue;
      const p = graph.producer(v);
      if (p && floating.has(p.op)) parent.set(find(p.op), find(id));
    }
  const touched = new Map<string, Set<string>>();
  const touch = (op: string, device: string): void => {
    const r = find(op);
    if (!touched.has(r)) touched.set(r, new Set());
    touched.get(r)!.add(device);
  };
  for (const id of floating.keys()) {
    touch(id, deviceOf(id));
    for (const v of graph.opInputs(id)) {
      if (v === undefined || graph.value(v).role === 'weight') continue;
      const p = graph.producer(v);
      if (!p) touch(id, home);
      else if (!floating.has(p.op)) touch(id, deviceOf(p.op));
    }
    for (const v of graph.opOutputs(id))
      if (v !== undefined) for (const r of readers(v)) if (!floating.has(r)) touch(id, deviceOf(r));
  }
  return new Map([...floating].filter(([id]) => (touched.get(find(id))?.size ?? 0) > 1));
}

/**
 * Before placement (`fleetc inspect --fleet`): per group of devices sharing a host's memory, the
 * ops cheap and supported enough to float there wherever the partitioner puts them; whether one
 * floats in a compile also depends on where its neighbours go (only groups at device boundaries do).
 */
export function floatCandidates(
  graph: IRGraph,
  fleet: Fleet,
  cost: FleetCost,
  dims: ReadonlyMap<string, number>,
  opts: FloatOptions,
): { devices: string[]; ops: FloatingOp[] }[] {
  return floatingGroups(fleet).map((group) => {
    const placement = Object.fromEntries(graph.ops().map((id) => [id, group[0]!]));
    const ops = selectFloating(
      { graph, fleet, cost, home: group[0]!, placement, dims, fixed: new Set() },
      { ...opts, interior: true },
    );
    return { devices: group, ops: [...ops.values()] };
  });
}
