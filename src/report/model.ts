// The partition report's content: one JSON-able object from which the terminal, JSON and HTML
// forms are rendered, so the three always agree.
import type { IRGraph } from '../ir/graph.js';
import type { Fleet } from '../fleet/types.js';
import { FleetCost } from '../fleet/cost.js';
import type { MoeReportLayer, PartitionResult } from '../../passes/partition/index.js';
import { byteSize } from '../ir/dtype.js';
import { evaluate, product } from '../ir/sym.js';
import type { ReportFloating } from './floating.js';

export const REPORT_VERSION = 1;

export interface ReportOp {
  id: string;
  name: string;
  opType: string;
  device: string;
  segment: number;
  flops: number;
  bytes: number;
  intensity: number;
  /** Predicted seconds on its device. */
  time: number;
  bound: 'compute' | 'memory' | 'latency';
  critical: boolean;
  reason: string;
  /** The op line a calibration prices it by, when that is not its op type (a convolution's: `Conv.2d`). */
  line?: string;
}

export interface ReportEdge {
  from: string;
  to: string;
  value: string;
  bytes: number;
  /** The value crosses devices here (a channel). */
  cut: boolean;
}

export interface ReportDevice {
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
  /** The memory planner's arena for this device's bundle, when the bundle was emitted. */
  plannedArena?: number;
  busy: number;
  utilisation: number;
  roofline: { peakFlops: number; bandwidth: number };
}

export interface Report {
  version: number;
  model: string;
  fleet: { name: string; file: string };
  objective: string;
  method: string;
  pipeline: string;
  dims: Record<string, number>;
  unboundSymbols: string[];
  predicted: PartitionResult['predicted'];
  baseline: PartitionResult['baseline'];
  devices: ReportDevice[];
  links: PartitionResult['links'];
  channels: PartitionResult['channels'];
  criticalPath: string[];
  segments: PartitionResult['segments'];
  ops: ReportOp[];
  edges: ReportEdge[];
  timeline: PartitionResult['timeline'];
  /** MoE models: per layer, per device its experts, predicted routed tokens and time, and why each expert went where. */
  moe?: MoeReportLayer[];
  /** Ops any device of their group may run (docs/floating.md), and what sharing their values saves. */
  floating?: ReportFloating;
  /** The fleet's datasheet cost model, and the calibration the plan was priced with if any (`fleetc tune` prices the plan again). */
  costModel?: ReportCostModel;
  /** Graph inputs with the ops that read them, graph outputs with the ops that make them (bytes as in `edges`). */
  io?: { inputs: ReportIO[]; outputs: ReportIO[] };
}

export interface ReportIO {
  value: string;
  op: string;
  bytes: number;
}

export interface ReportCostModel {
  /** Made with a calibration (fleetc compile --calibration): its date, and the devices and pairs it measured. */
  calibration?: { createdAt: string; devices: string[]; pairs: [string, string][] };
  /** Per device its datasheet roofline: peak FLOP/s of its default element type, memory bandwidth, per-op and per-message overheads. */
  devices: {
    id: string;
    peakFlops: number;
    bandwidth: number;
    launchOverhead: number;
    messageOverhead: number;
    parallelism: number;
    /** A device that runs here and took figures from this machine: which, and whether measured or nominal. */
    described?: { figures: string[]; measured: boolean; provenance: string };
  }[];
  /**
   * Per ordered pair of devices, as the plan was priced: seconds per message = latency + bytes ×
   * perByte (and the datasheet's figures where a calibration replaced them).
   */
  pairs: {
    from: string;
    to: string;
    latency: number;
    perByte: number;
    datasheet?: { latency: number; perByte: number };
  }[];
}

export interface ReportInput {
  graph: IRGraph;
  fleet: Fleet;
  partition: PartitionResult;
  model: string;
  pipeline: string;
  dims: Map<string, number>;
  plannedArena?: Record<string, number>;
  moe?: MoeReportLayer[];
  floating?: ReportFloating;
}

export function buildReport(input: ReportInput): Report {
  const { graph, fleet, partition: r } = input;
  const critical = new Set(r.criticalPath.flatMap((name) => r.segments.find((s) => s.name === name)?.ops ?? []));
  const reasonOf = new Map<string, string>();
  for (const s of r.segments) for (const op of s.ops) reasonOf.set(op, s.reason);

  const ops: ReportOp[] = graph.topoOps().map((id) => {
    const op = graph.op(id);
    const f = r.ops[id];
    return {
      id,
      name: op.name,
      opType: op.opType,
      device: r.placement[id] ?? '',
      segment: f?.segment ?? -1,
      flops: f?.flops ?? 0,
      bytes: f?.bytes ?? 0,
      intensity: Number.isFinite(f?.intensity) ? f!.intensity : 0,
      time: f?.time ?? 0,
      bound: f?.bound ?? 'latency',
      critical: critical.has(id),
      reason: reasonOf.get(id) ?? '',
      ...(f?.line ? { line: f.line } : {}),
    };
  });

  const ones = new Map(input.dims);
  for (const s of r.unboundSymbols) ones.set(s, 1);
  const edges: ReportEdge[] = [];
  for (const v of graph.values()) {
    const prod = graph.producer(v);
    if (!prod) continue;
    const bytes = valueBytes(graph, v, ones);
    const name = graph.value(v).name;
    for (const to of new Set(graph.consumers(v).map((u) => u.op)))
      edges.push({ from: prod.op, to, value: name, bytes, cut: r.placement[prod.op] !== r.placement[to] });
  }

  const io: Report['io'] = { inputs: [], outputs: [] };
  for (const v of graph.inputs)
    for (const to of new Set(graph.consumers(v).map((u) => u.op)))
      io.inputs.push({ value: graph.value(v).name, op: to, bytes: valueBytes(graph, v, ones) });
  for (const v of graph.outputs) {
    const prod = graph.producer(v);
    if (prod) io.outputs.push({ value: graph.value(v).name, op: prod.op, bytes: valueBytes(graph, v, ones) });
  }

  const devices: ReportDevice[] = r.devices.map((d) => ({
    ...d,
    ...(input.plannedArena?.[d.id] !== undefined ? { plannedArena: input.plannedArena[d.id] } : {}),
  }));

  return {
    version: REPORT_VERSION,
    model: input.model,
    fleet: { name: fleet.name, file: fleet.file },
    objective: r.objective,
    method: r.method,
    pipeline: input.pipeline,
    dims: Object.fromEntries([...input.dims.entries()].sort(([a], [b]) => a.localeCompare(b))),
    unboundSymbols: r.unboundSymbols,
    predicted: r.predicted,
    baseline: r.baseline,
    devices,
    links: r.links,
    channels: r.channels,
    criticalPath: r.criticalPath,
    segments: r.segments,
    ops,
    edges,
    timeline: r.timeline,
    ...(input.moe ? { moe: input.moe } : {}),
    ...(input.floating?.ops.length ? { floating: input.floating } : {}),
    costModel: costModelOf(fleet),
    io,
  };
}

/** The fleet's datasheet cost model (what `fleetc tune` falls back to where runs measured nothing) and the calibration used. */
function costModelOf(fleet: Fleet): ReportCostModel {
  const cal = fleet.calibration;
  const sheet = new FleetCost({ ...fleet, calibration: undefined });
  const priced = cal ? new FleetCost(fleet) : sheet;
  return {
    ...(cal
      ? {
          calibration: {
            createdAt: cal.createdAt ?? '',
            devices: cal.devices.map((d) => d.id),
            pairs: cal.pairs.map((p) => p.between),
          },
        }
      : {}),
    devices: fleet.devices.map((d, i) => {
      const r = sheet.rooflines[i]!;
      return {
        id: d.id,
        peakFlops: r.peakFlops.default,
        bandwidth: r.memBandwidth,
        launchOverhead: r.launchOverhead,
        messageOverhead: d.messageOverhead,
        parallelism: r.parallelism,
        ...(d.described ? { described: d.described } : {}),
      };
    }),
    pairs: fleet.devices.flatMap((a) =>
      fleet.devices
        .filter((b) => b.id !== a.id)
        .map((b) => {
          const used = priced.message(a.id, b.id);
          const ds = sheet.message(a.id, b.id);
          const same = used.latency === ds.latency && used.perByte === ds.perByte;
          return { from: a.id, to: b.id, ...used, ...(same ? {} : { datasheet: ds }) };
        }),
    ),
  };
}

/** A value's size in bytes for the bindings (0 when its type or shape is unknown). */
function valueBytes(graph: IRGraph, name: string, dims: ReadonlyMap<string, number>): number {
  const v = graph.value(name);
  if (!v.dtype || !v.shape || v.container) return 0;
  const n = evaluate(product(v.shape), dims);
  return n === undefined ? 0 : byteSize(v.dtype, Math.max(0, n));
}
