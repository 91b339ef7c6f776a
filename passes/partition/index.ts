import type { IRGraph } from '../../src/ir/graph.js';
import { FleetcError } from '../../src/diagnostics/index.js';
import { route } from '../../src/fleet/route.js';
import type { Fleet } from '../../src/fleet/types.js';
import { targetOf, type Pass, type PassContext, type PassOptions } from '../pass.js';
import { formatBytes } from '../../src/util/units.js';
import { buildProblem, type OpFacts } from './build.js';
import { residesOnDevice } from './memory.js';
import type { Problem } from './problem.js';
import type { Boundness } from '../../targets/index.js';
import type { FleetCost } from '../../src/fleet/cost.js';
import { bytesOf } from '../analysis/tensor.js';
import { evaluate } from '../../src/ir/sym.js';
import { criticalPath, explain, type Placement } from './explain.js';
import { greedyPriority } from './greedy.js';
import { unplaceable, type Objective } from './heft.js';
import { adj, fits, memoryOf, simulate, type Schedule } from './simulate.js';
import { solve } from './solve.js';

export type { MoeReportLayer } from './moe-place.js';

export interface DeviceSummary {
  id: string;
  class: string;
  backend: string;
  emulated: boolean;
  ops: number;
  flops: number;
  weightBytes: number;
  activationPeak: number;
  memory: number;
  capacity: number;
  busy: number;
  utilisation: number;
  /** The device's roofline: peak FLOP/s of its default element type and memory bandwidth. */
  roofline: { peakFlops: number; bandwidth: number };
}

export interface Channel {
  value: string;
  from: string;
  to: string;
  bytes: number;
  links: string[];
}

/** What the partition pass decides and predicts; the plan and the report are made from it. */
export interface PartitionResult {
  fleet: string;
  objective: Objective;
  method: string;
  placement: Record<string, string>;
  devices: DeviceSummary[];
  links: { id: string; bytes: number; seconds: number }[];
  channels: Channel[];
  segments: Placement[];
  criticalPath: string[];
  predicted: { latency: number; throughput: number; bottleneck: number };
  baseline: { method: string; latency: number; throughput: number; fits: boolean };
  candidates: { method: string; objective: number; fits: boolean }[];
  unboundSymbols: string[];
  /** Dispatch order of ops (the plan's schedule). */
  schedule: string[];
  /** Per op: its segment and where it sits on its device's roofline. */
  ops: Record<
    string,
    {
      segment: number;
      flops: number;
      bytes: number;
      intensity: number;
      time: number;
      bound: Boundness;
      /** Its op line when that is not its op type (targets/work.ts `opLine`). */
      line?: string;
    }
  >;
  /** The predicted execution of one request: segments and transfers in seconds from arrival. */
  timeline: {
    segments: { name: string; device: string; start: number; finish: number; ops: number }[];
    transfers: { from: string; to: string; bytes: number; start: number; end: number }[];
  };
}

declare module '../pass.js' {
  interface PassResults {
    /** partition: where every op runs, and the predicted figures. */
    partition?: PartitionResult;
  }
}

export const partitionPass: Pass = {
  name: 'partition',
  summary: 'place every op on a fleet device (HEFT + refinement, pipeline cuts, exact MILP for small graphs)',
  kind: 'transform',
  options: { objective: 'latency', exact: 'auto', coarsen: true },
  provides: 'partition',
  needsTarget: true,
  run(graph: IRGraph, ctx: PassContext, options: PassOptions) {
    const { fleet, cost } = targetOf(ctx, 'partition');
    const objective = options.objective as Objective;
    if (objective !== 'latency' && objective !== 'throughput')
      throw new FleetcError('E0901', `partition objective must be latency or throughput, not '${String(objective)}'`);
    const experts = ctx.results.experts;
    const maxMemory = ctx.settings.maxMemory;
    let result: PartitionResult;
    try {
      result = partition(
        graph,
        fleet,
        experts?.costDims ?? ctx.dims,
        objective,
        options.exact as boolean | 'auto',
        options.coarsen !== false,
        { opPins: experts?.pins, cost, memoryDims: ctx.dims, maxMemory },
      );
    } catch (e) {
      if (maxMemory !== undefined && e instanceof FleetcError && e.code === 'E0302')
        throw new FleetcError(
          'E0401',
          `no placement keeps every device under --max-memory ${formatBytes(maxMemory)}: ${e.message}`,
        );
      throw e;
    }
    ctx.results.partition = result;
    return {
      changed: true,
      summary: `${result.segments.length} segments on ${result.devices.filter((d) => d.ops > 0).length} devices by ${result.method}`,
    };
  },
};

/** What a partition can be told beside the graph and fleet. */
export interface PartitionOptions {
  /** Placement decided before partitioning (experts and their layers): op id → device id. */
  opPins?: ReadonlyMap<string, string>;
  /** The fleet's cost model (default: its datasheet figures). */
  cost?: FleetCost;
  /** Bindings memory is planned with when costs are priced at others (default `dims`). */
  memoryDims?: ReadonlyMap<string, number>;
  /** Bytes no device may use, below its capacity (`--max-memory`). */
  maxMemory?: number;
}

export function partition(
  graph: IRGraph,
  fleet: Fleet,
  dims: Map<string, number>,
  objective: Objective,
  exact: boolean | 'auto' = 'auto',
  coarsen = true,
  o: PartitionOptions = {},
): PartitionResult {
  const {
    problem: p,
    facts,
    cost,
    unboundSymbols,
  } = buildProblem(graph, fleet, {
    dims,
    coarsen,
    opPins: o.opPins,
    cost: o.cost,
    memoryDims: o.memoryDims,
    maxMemory: o.maxMemory,
  });
  const stuck = unplaceable(p);
  if (stuck.length) {
    const task = p.tasks[stuck[0]!]!;
    const op = graph.op(task.ops[0]!);
    const why = p.devices
      .map(
        (d, i) => `${d.id}: ${task.pinned !== undefined && task.pinned !== i ? `pinned elsewhere` : task.refused[i]}`,
      )
      .join('; ');
    throw new FleetcError('E0302', `no device can run ${op.opType} '${op.name}' (${why})`, op.loc);
  }
  const sol = solve(p, objective, exact);
  const s = sol.schedule;
  const mem = memoryOf(p, s);
  const over = mem.memory.findIndex((m, d) => m > p.capacity[d]!);
  if (over >= 0) {
    const dev = p.devices[over]!;
    throw new FleetcError(
      'E0302',
      `the model does not fit the fleet: ${dev.id} needs ${mb(mem.memory[over]!)} (weights ${mb(mem.weightBytes[over]!)}${p.prepares?.[over] ? ' with the copies its kernels keep' : ''} + activations ${mb(mem.activationPeak[over]!)}) but holds ${mb(p.capacity[over]!)}`,
      { file: fleet.file || 'fleet' },
    );
  }

  const placement: Record<string, string> = {};
  p.tasks.forEach((t, i) => {
    for (const op of t.ops) {
      placement[op] = p.devices[s.placement[i]!]!.id;
      graph.updateOp(op, { placement: placement[op] });
    }
  });
  for (const v of graph.values()) {
    const prod = graph.producer(v);
    graph.updateValue(v, { placement: prod ? placement[prod.op]! : p.devices[p.home]!.id });
  }

  const rooflines = cost.rooflines;
  const devices: DeviceSummary[] = p.devices.map((d, i) => {
    const ops = Object.values(placement).filter((x) => x === d.id).length;
    const flops = p.tasks.reduce(
      (sum, t, k) => (s.placement[k] === i ? sum + t.ops.reduce((a, o) => a + facts.get(o)!.flops, 0) : sum),
      0,
    );
    return {
      id: d.id,
      class: d.class,
      backend: d.backend,
      emulated: d.backend === 'emulated',
      ops,
      flops,
      weightBytes: mem.weightBytes[i]!,
      activationPeak: mem.activationPeak[i]!,
      memory: mem.memory[i]!,
      capacity: p.capacity[i]!,
      busy: s.busy[i]!,
      utilisation: s.latency > 0 ? s.busy[i]! / s.latency : 0,
      roofline: { peakFlops: rooflines[i]!.peakFlops.default, bandwidth: rooflines[i]!.memBandwidth },
    };
  });

  const channels: Channel[] = [];
  for (const v of graph.values()) {
    const prod = graph.producer(v);
    const from = prod ? placement[prod.op]! : p.devices[p.home]!.id;
    const tos = new Set(graph.consumers(v).map((u) => placement[u.op]!));
    if (graph.outputs.includes(v)) tos.add(p.devices[p.home]!.id);
    if (residesOnDevice(graph, v)) continue;
    for (const to of [...tos].sort()) {
      if (to === from) continue;
      const r = route(fleet, from, to);
      channels.push({
        value: v,
        from,
        to,
        bytes: bytesOfValue(graph, v, dims),
        links: r ? r.hops.map((h) => h.link) : [],
      });
    }
  }

  const g = greedyPriority(p);
  const gs = simulate(p, g);
  const { preds } = adj(p);
  const schedule: string[] = [];
  const byStart = [...s.priority].sort(
    (a, b) => s.start[a]! - s.start[b]! || s.priority.indexOf(a) - s.priority.indexOf(b),
  );
  for (const t of byStart) schedule.push(...p.tasks[t]!.ops);
  return {
    fleet: fleet.name,
    objective,
    method: sol.method,
    placement,
    devices,
    links: [...s.linkBytes.entries()]
      .map(([id, bytes]) => ({ id, bytes, seconds: s.linkBusy.get(id) ?? 0 }))
      .sort((a, b) => a.id.localeCompare(b.id)),
    channels,
    segments: explain(p, s, objective),
    criticalPath: criticalPath(p, s, preds).map((t) => p.tasks[t]!.name),
    predicted: { latency: s.latency, throughput: s.bottleneck > 0 ? 1 / s.bottleneck : 0, bottleneck: s.bottleneck },
    baseline: {
      method: 'greedy priority',
      latency: gs.latency,
      throughput: gs.bottleneck > 0 ? 1 / gs.bottleneck : 0,
      fits: fits(p, gs),
    },
    candidates: sol.candidates,
    unboundSymbols,
    schedule,
    ops: opRows(p, s, facts, cost),
    timeline: {
      segments: p.tasks.map((t, i) => ({
        name: t.name,
        device: p.devices[s.placement[i]!]!.id,
        start: s.start[i]!,
        finish: s.finish[i]!,
        ops: t.ops.length,
      })),
      transfers: s.transfers.map((tr) => ({
        from: p.devices[tr.fromDevice]!.id,
        to: p.devices[tr.toDevice]!.id,
        bytes: tr.bytes,
        start: tr.start,
        end: tr.end,
      })),
    },
  };
}

function opRows(p: Problem, s: Schedule, facts: Map<string, OpFacts>, cost: FleetCost): PartitionResult['ops'] {
  const rows: PartitionResult['ops'] = {};
  p.tasks.forEach((t, i) => {
    const d = s.placement[i]!;
    for (const op of t.ops) {
      const f = facts.get(op)!;
      const r = cost.op(d, f.work);
      rows[op] = {
        segment: i,
        flops: f.flops,
        bytes: f.bytes,
        intensity: r.intensity,
        time: f.time[d]!,
        bound: r.bound,
        ...(f.work.line ? { line: f.work.line } : {}),
      };
    }
  });
  return rows;
}

function mb(b: number): string {
  return `${(b / 2 ** 20).toFixed(2)} MiB`;
}

function bytesOfValue(graph: IRGraph, v: string, dims: Map<string, number>): number {
  const b = bytesOf(graph, v);
  return b === null ? 0 : Math.max(0, evaluate(b, dims) ?? 0);
}
