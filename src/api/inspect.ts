import { costGraph, evaluator, opWork, type CostResult } from '../../passes/analysis/cost.js';
import { criticalPath } from '../../passes/analysis/critical.js';
import { detectKvCache } from '../../passes/analysis/kv.js';
import { detectMoe, summariseMoe, type MoeLayerSummary } from '../../passes/analysis/moe.js';
import { makeState } from '../../passes/state/index.js';
import { graphFromJSON, graphToJSON } from '../ir/json.js';
import {
  DEVICE_CLASSES,
  opCost,
  rooflineOf,
  TARGETS,
  type Boundness,
  type DeviceClass,
  type DeviceRoofline,
} from '../../targets/index.js';
import { newPassContext } from '../../passes/pass.js';
import { runPipeline, resolvePipeline } from '../../passes/driver.js';
import { PASSES } from '../../passes/registry.js';
import { FleetcError, formatLoc } from '../diagnostics/index.js';
import { loadFleet } from '../fleet/load.js';
import type { IRGraph } from '../ir/graph.js';
import { printGraph } from '../ir/print.js';
import { dimToJSON, dimToString, evaluate, product, symbolsOf, type Dim } from '../ir/sym.js';
import { bytesFor } from '../../passes/analysis/tensor.js';
import { loadGraph } from './load.js';

export interface InspectOptions {
  /** Symbol bindings (`--dim batch=4`). Unbound symbols are evaluated as 1. */
  dims?: Record<string, number> | ReadonlyMap<string, number>;
  /** Roofline for per-op classification and predicted times: a class name or a full roofline. */
  device?: string | DeviceRoofline;
  /**
   * A fleet file: ops are classified against each of its devices (`OpRow.boundOn`); the
   * primary roofline (`bound`, times, critical path) is `fleetDevice` or the fleet's first device.
   */
  fleet?: string;
  fleetDevice?: string;
  /** CPU cores for the `cpu` class (default: this machine's). */
  cores?: number;
  /** Include per-op rows. */
  ops?: boolean;
  /** Include the IR text dump. */
  ir?: boolean;
  /** Run shape inference first when it is registered (default true). */
  inferShapes?: boolean;
}

export interface TensorInfo {
  name: string;
  dtype: string | null;
  shape: (number | string)[] | null;
}

export interface KvStateInfo {
  input: string;
  output: string;
  evidence: string;
  dtype: string | null;
  axis: number;
  growth: number | string | null;
  /** Cache size after one step: the expression, and its value for the bindings. */
  bytesExpr: number | string | null;
  bytes: number | null;
  inputBytes: number | null;
}

/** What `fleetc generate` would make of the caches (the kv-state pass on a copy of the graph). */
export interface EngineStateInfo {
  states: {
    input: string;
    output: string;
    part?: 'key' | 'value';
    mode: 'paged' | 'gather';
    layer: number;
    bytesPerToken: number;
    reason?: string;
  }[];
  bytesPerToken: number;
  batching: 'flatten' | 'sequence';
  batchingReason?: string;
  /** A static cache's fixed capacity in tokens: no sequence may hold more. */
  staticCapacity?: number;
}

export interface OpRow {
  name: string;
  opType: string;
  domain: string;
  flops: number | null;
  flopsExpr?: string;
  bytesRead: number | null;
  bytesWritten: number | null;
  intensity: number | null;
  bound: Boundness | null;
  /** Predicted seconds on the device class. */
  time: number;
  critical: boolean;
  /** With a fleet: the roofline class on each fleet device, by device id. */
  boundOn?: Record<string, Boundness | null>;
}

export interface OpTypeTotals {
  opType: string;
  count: number;
  flops: number;
  bytesRead: number;
  bytesWritten: number;
  time: number;
  bound: Partial<Record<Boundness, number>>;
  unknown: number;
}

export interface InspectReport {
  file: string;
  format: string;
  producer: string | null;
  opsets: Record<string, number>;
  /** Top-level op count; ops inside subgraphs are counted in `subgraphNodes`. */
  nodes: number;
  subgraphNodes: number;
  /** Op type (domain-qualified unless ai.onnx) → count. */
  ops: Record<string, number>;
  params: number;
  weightBytes: number;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Symbol values used for every number below; `defaulted` lists those the user did not bind. */
  dims: Record<string, number>;
  defaulted: string[];
  flops: number;
  flopsExpr: string;
  bytesRead: number;
  bytesWritten: number;
  bytesExpr: string;
  /** Ops whose cost is unknown (op type not modelled or shapes unknown), by op type. */
  uncosted: Record<string, number>;
  state: KvStateInfo[];
  /** Mixture-of-Experts layers: experts, top-k, router, expert weight bytes, FLOPs per routed token. */
  moe: MoeLayerSummary[];
  /** The caches as engine state, or why the model cannot generate (absent when it has no cache). */
  engineState?: EngineStateInfo | { error: string };
  device: {
    name: string;
    description: string;
    peakFlops: Record<string, number>;
    memBandwidth: number;
    launchOverhead: number;
  };
  /** Predicted time: every op in sequence, and the critical path (longest path by predicted time). */
  predictedSerialTime: number;
  criticalPath: { time: number; length: number; ops: string[] };
  opTypes: OpTypeTotals[];
  /** Shape-inference warnings (declared types that disagree, ops without a shape function …). */
  warnings: string[];
  opRows?: OpRow[];
  ir?: string;
}

function qualified(opType: string, domain: string): string {
  return domain && domain !== 'ai.onnx' ? `${domain}.${opType}` : opType;
}

function toMap(dims: InspectOptions['dims']): Map<string, number> {
  if (!dims) return new Map();
  return dims instanceof Map ? new Map(dims) : new Map(Object.entries(dims));
}

/** The devices of a fleet file as rooflines, the chosen (or first) one first. */
function fleetRooflines(opts: InspectOptions): DeviceRoofline[] {
  if (!opts.fleet) return [];
  const fleet = loadFleet(opts.fleet);
  const all = fleet.devices.map((d) => rooflineOf(d));
  if (!all.length) throw new FleetcError('E0301', 'the fleet has no devices', { file: opts.fleet });
  if (opts.fleetDevice === undefined) return all;
  const i = all.findIndex((d) => d.name === opts.fleetDevice);
  if (i < 0)
    throw new FleetcError(
      'E0901',
      `--device '${opts.fleetDevice}' is not in the fleet (devices: ${all.map((d) => d.name).join(', ')})`,
    );
  return [all[i]!, ...all.filter((_, k) => k !== i)];
}

function resolveDevice(opts: InspectOptions, fleet: DeviceRoofline[]): DeviceRoofline {
  if (fleet.length) return fleet[0]!;
  if (typeof opts.device === 'object') return opts.device;
  const name = opts.device ?? 'cpu';
  if (!(DEVICE_CLASSES as readonly string[]).includes(name))
    throw new FleetcError('E0901', `unknown device class '${name}' (known: ${DEVICE_CLASSES.join(', ')})`);
  const target = TARGETS[name as DeviceClass];
  const spec = target.reference(opts.cores);
  return rooflineOf(spec, `${target.title}: ${describe(spec)}`);
}

/** Runs shape inference; returns its warnings as one-line strings (`file (node …): warning[E0201]: …`). */
function inferShapes(graph: IRGraph, dims: Map<string, number>): string[] {
  if (!PASSES['infer-shapes']) return [];
  const ctx = newPassContext({ dims });
  runPipeline(graph, resolvePipeline('infer-shapes'), ctx);
  return ctx.diagnostics.map((d) => `${formatLoc(d.loc)}${d.severity}${d.code ? `[${d.code}]` : ''}: ${d.message}`);
}

/** Inspects a model file (or an IR graph already loaded). */
export async function inspect(model: string | IRGraph, opts: InspectOptions = {}): Promise<InspectReport> {
  const graph = typeof model === 'string' ? await loadGraph(model) : model;
  const bound = toMap(opts.dims);
  const warnings = opts.inferShapes !== false ? inferShapes(graph, bound) : [];
  const report = inspectGraph(graph, opts);
  report.warnings = [...warnings, ...report.warnings];
  return report;
}

/** A fixed-size cache written by TensorScatter (a static cache the engine can page). */
function writtenInPlace(graph: IRGraph, output: string): boolean {
  const p = graph.hasValue(output) ? graph.producer(output) : undefined;
  return p !== undefined && graph.op(p.op).opType === 'TensorScatter';
}

function engineState(graph: IRGraph): EngineStateInfo | { error: string } {
  try {
    // as `fleetc generate` compiles it: the simplifications first, so that constants are folded
    const copy = graphFromJSON(graphToJSON(graph));
    const ctx = newPassContext();
    runPipeline(copy, resolvePipeline('fold,dce,cse'), ctx);
    const r = makeState(copy, ctx);
    return {
      states: r.states.map((s) => ({
        input: s.input,
        output: s.output,
        ...(s.part ? { part: s.part } : {}),
        mode: s.mode,
        layer: s.layer,
        bytesPerToken: s.bytesPerToken,
        ...(s.reason ? { reason: s.reason } : {}),
      })),
      bytesPerToken: r.states.reduce((a, s) => a + s.bytesPerToken, 0),
      batching: r.batching,
      ...(r.batchingReason ? { batchingReason: r.batchingReason } : {}),
      ...(r.staticCapacity !== undefined ? { staticCapacity: r.staticCapacity } : {}),
    };
  } catch (e) {
    if (e instanceof FleetcError) return { error: e.message };
    throw e;
  }
}

/** The report for a graph whose shapes are as inferred as they will be. */
export function inspectGraph(graph: IRGraph, opts: InspectOptions = {}): InspectReport {
  const bound = toMap(opts.dims);
  const fleet = fleetRooflines(opts);
  const dev = resolveDevice(opts, fleet);
  const cost = costGraph(graph);
  const kv = detectKvCache(graph);

  // Every symbol the numbers depend on, bound by the user or defaulted to 1.
  const symbols = new Set<string>();
  const io = [...graph.inputs, ...graph.outputs].filter((n) => graph.hasValue(n));
  for (const n of io) for (const d of graph.value(n).shape ?? []) symbolsOf(d, symbols);
  for (const c of cost.ops)
    for (const d of [c.flops, c.bytesRead, c.bytesWritten]) if (d !== null) symbolsOf(d, symbols);
  for (const k of kv) for (const d of [k.bytes, k.inputBytes]) if (d !== null) symbolsOf(d, symbols);
  const unused = [...bound.keys()].filter((s) => !symbols.has(s)).sort();
  const dims = new Map(bound);
  const defaulted: string[] = [];
  for (const s of [...symbols].sort()) {
    if (!dims.has(s)) {
      dims.set(s, 1);
      defaulted.push(s);
    }
  }
  const num = evaluator(dims);

  const opsHist: Record<string, number> = {};
  for (const id of graph.ops()) {
    const op = graph.op(id);
    const k = qualified(op.opType, op.domain);
    opsHist[k] = (opsHist[k] ?? 0) + 1;
  }

  let params = 0;
  let weightBytes = 0;
  for (const name of graph.values()) {
    const v = graph.value(name);
    if (v.role !== 'weight' || !v.shape || !v.dtype) continue;
    const n = evaluate(product(v.shape), dims) ?? 0;
    params += n;
    weightBytes += v.dtype === 'string' ? 0 : (evaluate(bytesFor(v.dtype, n) ?? 0, dims) ?? 0);
  }

  const rows = opRowsFor(graph, cost, dev, num, opts.ops === true, fleet);
  const critical = criticalPath(graph, rows.order, (id) => rows.time.get(id) ?? 0);
  const onPath = new Set(critical.ops);
  for (const r of rows.rows) r.critical = onPath.has(r.name);

  const report: InspectReport = {
    file: graph.meta.file,
    format: graph.meta.format,
    producer: graph.meta.producer
      ? `${graph.meta.producer}${graph.meta.producerVersion ? ` ${graph.meta.producerVersion}` : ''}`
      : null,
    opsets: graph.meta.opsets,
    nodes: graph.ops().length,
    subgraphNodes: countNested(graph),
    ops: sortedRecord(opsHist),
    params,
    weightBytes,
    inputs: graph.inputs
      .filter((n) => graph.hasValue(n) && graph.value(n).role !== 'weight')
      .map((n) => tensorInfo(graph, n)),
    outputs: graph.outputs.filter((n) => graph.hasValue(n)).map((n) => tensorInfo(graph, n)),
    dims: Object.fromEntries([...dims].sort(([a], [b]) => (a < b ? -1 : 1))),
    defaulted,
    flops: num(cost.flops) ?? 0,
    flopsExpr: dimToString(cost.flops),
    bytesRead: num(cost.bytesRead) ?? 0,
    bytesWritten: num(cost.bytesWritten) ?? 0,
    bytesExpr:
      dimToString(cost.bytesRead) === '0' && dimToString(cost.bytesWritten) === '0'
        ? '0'
        : `${dimToString(cost.bytesRead)} read + ${dimToString(cost.bytesWritten)} written`,
    uncosted: rows.uncosted,
    ...(kv.some((k) => k.axis >= 0 || writtenInPlace(graph, k.output)) ? { engineState: engineState(graph) } : {}),
    state: kv.map((k) => ({
      input: k.input,
      output: k.output,
      evidence: k.evidence,
      dtype: k.dtype,
      axis: k.axis,
      growth: k.growth === null ? null : dimToJSON(k.growth),
      bytesExpr: k.bytes === null ? null : dimToJSON(k.bytes),
      bytes: num(k.bytes),
      inputBytes: num(k.inputBytes),
    })),
    moe: summariseMoe(detectMoe(graph, dims)),
    device: {
      name: dev.name,
      description: dev.description,
      peakFlops: { ...dev.peakFlops },
      memBandwidth: dev.memBandwidth,
      launchOverhead: dev.launchOverhead,
    },
    predictedSerialTime: [...rows.time.values()].reduce((a, b) => a + b, 0),
    criticalPath: { time: critical.time, length: critical.ops.length, ops: critical.ops },
    opTypes: totalsByType(rows.rows),
    warnings: unused.map(
      (s) =>
        `${graph.meta.file}: warning: --dim ${s}: the model has no symbol '${s}'` +
        (symbols.size ? ` (its symbols: ${[...symbols].sort().join(', ')})` : ' (its shapes are all static)'),
    ),
  };
  if (opts.ops) report.opRows = rows.rows;
  if (opts.ir) report.ir = printGraph(graph);
  return report;
}

function opRowsFor(
  graph: IRGraph,
  cost: CostResult,
  dev: DeviceRoofline,
  num: (d: Dim | null) => number | null,
  withExpr: boolean,
  fleet: DeviceRoofline[],
): { rows: OpRow[]; order: string[]; time: Map<string, number>; uncosted: Record<string, number> } {
  const rows: OpRow[] = [];
  const time = new Map<string, number>();
  const uncosted: Record<string, number> = {};
  for (const c of cost.ops) {
    const flops = num(c.flops);
    const br = num(c.bytesRead);
    const bw = num(c.bytesWritten);
    const { work, known } = opWork(graph, c, num);
    const r = known ? opCost(dev, work) : null;
    const t = r ? r.time : dev.launchOverhead;
    time.set(c.op, t);
    if (!known) {
      const k = qualified(c.opType, c.domain);
      uncosted[k] = (uncosted[k] ?? 0) + 1;
    }
    const row: OpRow = {
      name: c.op,
      opType: qualified(c.opType, c.domain),
      domain: c.domain,
      flops,
      bytesRead: br,
      bytesWritten: bw,
      intensity: r ? (Number.isFinite(r.intensity) ? r.intensity : null) : null,
      bound: r ? r.bound : null,
      time: t,
      critical: false,
    };
    if (withExpr && c.flops !== null && typeof c.flops !== 'number') row.flopsExpr = dimToString(c.flops);
    if (fleet.length)
      row.boundOn = Object.fromEntries(fleet.map((d) => [d.name, known ? opCost(d, work).bound : null]));
    rows.push(row);
  }
  return { rows, order: cost.ops.map((c) => c.op), time, uncosted: sortedRecord(uncosted) };
}

function totalsByType(rows: OpRow[]): OpTypeTotals[] {
  const by = new Map<string, OpTypeTotals>();
  for (const r of rows) {
    let t = by.get(r.opType);
    if (!t) {
      t = { opType: r.opType, count: 0, flops: 0, bytesRead: 0, bytesWritten: 0, time: 0, bound: {}, unknown: 0 };
      by.set(r.opType, t);
    }
    t.count++;
    t.flops += r.flops ?? 0;
    t.bytesRead += r.bytesRead ?? 0;
    t.bytesWritten += r.bytesWritten ?? 0;
    t.time += r.time;
    if (r.bound) t.bound[r.bound] = (t.bound[r.bound] ?? 0) + 1;
    else t.unknown++;
  }
  return [...by.values()].sort((a, b) => b.time - a.time || (a.opType < b.opType ? -1 : 1));
}

function tensorInfo(graph: IRGraph, name: string): TensorInfo {
  const v = graph.value(name);
  return { name, dtype: v.dtype, shape: v.shape ? v.shape.map(dimToJSON) : null };
}

function countNested(graph: IRGraph): number {
  let n = 0;
  for (const id of graph.ops()) for (const [, sub] of graph.subgraphs(id)) n += sub.ops().length + countNested(sub);
  return n;
}

function sortedRecord(r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1)));
}

/** `Intel Xeon …: 2 threads, 160 GFLOP/s float32, 20 GB/s` */
function describe(d: {
  compute: { float32?: number };
  memory: { bandwidth: number }[];
  threads: number;
  class: string;
}): string {
  const f = d.compute.float32;
  const parts = [
    ...(d.class === 'cpu' ? [`${d.threads} thread${d.threads === 1 ? '' : 's'}`] : []),
    ...(f ? [`${(f / 1e9).toFixed(f >= 1e12 ? 0 : 1)} GFLOP/s float32`] : []),
    `${((d.memory[0]?.bandwidth ?? 0) / 1e9).toFixed(0)} GB/s`,
  ];
  return parts.join(', ');
}
