import { mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { detectKvCache } from '../../passes/analysis/kv.js';
import { resolvePipeline, runPipeline, type PassRecord } from '../../passes/driver.js';
import { planArena } from '../../passes/memory/arena.js';
import { newPassContext } from '../../passes/pass.js';
import type { PartitionResult } from '../../passes/partition/index.js';
import { placeMoe } from '../../passes/partition/moe-place.js';
import { emitProgram, freeNames, type ChannelUse, type EmitResult } from '../../targets/fleetrt/emit.js';
import { FleetcError, type Diagnostic } from '../diagnostics/index.js';
import { loadFleet, localFleet } from '../fleet/load.js';
import { withCalibration } from '../fleet/calibration.js';
import { parsePinFlag } from '../fleet/pins.js';
import { route } from '../fleet/route.js';
import { FleetCost } from '../fleet/cost.js';
import type { Device, Fleet } from '../fleet/types.js';
import { parseQuantity, UnitError, formatBytes, formatTime } from '../util/units.js';
import type { IRGraph } from '../ir/graph.js';
import { dimEq, dimToJSON, evaluate, sym, symbolsOf, type Dim } from '../ir/sym.js';
import { byteSize } from '../ir/dtype.js';
import { packageVersion } from '../version.js';
import { elidedWeightsToInputs } from './elided.js';
import { loadGraph } from './load.js';
import {
  checkOutDir,
  PLAN_SCHEMA_VERSION,
  prepareOutDir,
  sha256Hex,
  writeBundleFile,
  writeBundleFileWith,
  writePlan,
  type PlanDevice,
  type PlanIO,
  type PlanJSON,
} from './plan.js';
import { predictSingleDevice } from './predict.js';
import { generationResult, planState, type GenerateOptions, type StatePlan } from './state-plan.js';
import { STATE_TOKENS } from '../../passes/state/index.js';
import { KV_CONTEXT } from '../../passes/analysis/cost.js';
import { PIPELINES } from '../../passes/registry.js';

let version: string | undefined;

/** The passes every compile runs before emitting (printed into plan.json). */
export const DEFAULT_COMPILE_PIPELINE =
  'split-moe,infer-shapes,fold,dce,cse,fold-batchnorm,fuse-layernorm,fuse-conv,fuse-elementwise';

export interface CompileOptions {
  /** A fleet file, a Fleet, or nothing for this machine as one cpu device. */
  fleet?: string | Fleet;
  /** Symbol bindings (`--dim batch=4`): memory is planned and figures predicted for them. */
  dims?: Record<string, number> | ReadonlyMap<string, number>;
  /** `regex=device` pins (`--pin`). */
  pins?: string[];
  objective?: 'latency' | 'throughput';
  /** Budgets: seconds / bytes, or strings with units (`5ms`, `2GiB`). A missed budget is error E0401. */
  maxLatency?: number | string;
  maxMemory?: number | string;
  /** Pipeline text or name; default DEFAULT_COMPILE_PIPELINE. */
  passes?: string;
  /** Write into a non-empty folder that is not a previous build. */
  force?: boolean;
  /** Verify the IR after every pass. */
  verify?: boolean;
  /** Write report.{json,txt,html} (default true; the conformance runner turns it off). */
  report?: boolean;
  /** MoE models: expected routing (a routing file or an earlier run's metrics.json), uniform when absent. */
  routing?: string;
  /** MoE models: extra expert instances per layer for replicas of hot experts (default 0). */
  expertSlots?: number;
  /** MoE models: an expert placement to realise (written by `fleetc tune`). */
  placement?: string;
  /** A calibration of this fleet (written by `fleetc tune`): devices and links priced as measured. */
  calibration?: string;
  /**
   * Compile a decoder for the engine's generation loop: its KV cache becomes paged state kept on
   * the devices that run its attention (the `generate` pipeline), sized by these options.
   */
  generate?: GenerateOptions | boolean;
}

export interface CompileResult {
  outDir: string;
  planPath: string;
  plan: PlanJSON;
  passes: PassRecord[];
  diagnostics: Diagnostic[];
  ms: number;
}

/** Compiles a model file (or a loaded graph) into `outDir`: plan.json + bundles/<device>/. */
export async function compile(
  model: string | IRGraph,
  outDir: string,
  opts: CompileOptions = {},
): Promise<CompileResult> {
  const graph = typeof model === 'string' ? await loadGraph(model) : model;
  return compileGraph(graph, outDir, opts, typeof model === 'string' ? model : undefined);
}

function toMap(dims: CompileOptions['dims']): Map<string, number> {
  if (!dims) return new Map();
  return dims instanceof Map ? new Map(dims) : new Map(Object.entries(dims));
}

function resolveFleet(f: CompileOptions['fleet'], pins: string[]): Fleet {
  const base = f === undefined || f === 'local' ? localFleet() : typeof f === 'string' ? loadFleet(f) : f;
  const fleet: Fleet = { ...base, pins: [...base.pins] };
  for (const p of pins) fleet.pins.push(parsePinFlag(p, fleet));
  return fleet;
}

function budget(v: number | string | undefined, kind: 'time' | 'bytes', flag: string): number | undefined {
  if (v === undefined) return undefined;
  try {
    return parseQuantity(v, kind);
  } catch (e) {
    if (e instanceof UnitError) throw new FleetcError('E0901', `${flag} '${v}': ${e.message}`);
    throw e;
  }
}

function bundleDirName(id: string, taken: Set<string>): string {
  let base = id.replace(/[^A-Za-z0-9_.-]/g, '_');
  if (base === '' || base === '.' || base === '..') base = `device_${base.length}`;
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

/** Per device, the ops placed there in an order that respects local data dependences. */
function deviceOrders(
  graph: IRGraph,
  topo: string[],
  placement: Record<string, string>,
  schedule: string[],
): Map<string, string[]> {
  const useSchedule = schedule.length === topo.length && new Set(schedule).size === topo.length;
  const order = useSchedule ? schedule : topo;
  const out = new Map<string, string[]>();
  for (const id of order) {
    const d = placement[id]!;
    if (!out.has(d)) out.set(d, []);
    out.get(d)!.push(id);
  }
  if (!useSchedule) return out;
  // The partitioner's dispatch order is by start time; fall back to topological order on any doubt.
  for (const ops of out.values()) {
    const pos = new Map(ops.map((id, k) => [id, k]));
    for (const id of ops)
      for (const v of [...graph.opInputs(id), ...graph.capturedValues(id)]) {
        const p = v === undefined ? undefined : graph.producer(v);
        if (p && pos.has(p.op) && pos.get(p.op)! >= pos.get(id)!) return deviceOrders(graph, topo, placement, []);
      }
  }
  return out;
}

function ioOf(graph: IRGraph, name: string, device: string): PlanIO {
  const v = graph.value(name);
  return {
    name,
    dtype: v.dtype,
    shape: v.shape ? v.shape.map(dimToJSON) : null,
    device,
    kind: v.container === 'sequence' ? 'sequence' : v.container === 'optional' ? 'optional' : 'tensor',
  };
}

function modelFacts(graph: IRGraph, path: string | undefined): PlanJSON['model'] {
  const file = path ?? graph.meta.file ?? '';
  const m: PlanJSON['model'] = { file: file ? basename(file) : '', format: graph.meta.format, name: graph.name };
  if (path) {
    try {
      m.sha256 = sha256Hex(readFileSync(path));
    } catch {
      // loaded already; an unreadable file here is not worth failing the build
    }
  }
  return m;
}

/** Compiles a graph already in memory. The graph is transformed in place by the pipeline. */
export async function compileGraph(
  graph: IRGraph,
  outDir: string,
  opts: CompileOptions = {},
  modelPath?: string,
): Promise<CompileResult> {
  const t0 = performance.now();
  const gen = opts.generate ? (typeof opts.generate === 'object' ? opts.generate : {}) : undefined;
  const dims = toMap(opts.dims);
  const pinsText = opts.pins ?? [];
  const fleet = withCalibration(resolveFleet(opts.fleet, pinsText), opts.calibration);
  const objective = opts.objective ?? 'latency';
  if (objective !== 'latency' && objective !== 'throughput')
    throw new FleetcError('E0901', `--objective must be latency or throughput, not '${String(objective)}'`);
  const maxLatency = budget(opts.maxLatency, 'time', '--max-latency');
  const maxMemory = budget(opts.maxMemory, 'bytes', '--max-memory');
  const pipelineText =
    PIPELINES[opts.passes ?? ''] ?? opts.passes ?? (gen ? PIPELINES.generate! : DEFAULT_COMPILE_PIPELINE);
  const steps = resolvePipeline(pipelineText);
  checkOutDir(outDir, !!opts.force);

  const ctx = newPassContext({ dims, verify: !!opts.verify, env: new Map<string, unknown>([['fleet', fleet]]) });
  // Weights without values become run-time inputs (docs/frontend-stablehlo.md).
  for (const n of elidedWeightsToInputs(graph))
    ctx.diagnostics.push({
      severity: 'note',
      message: `weight '${n}' has no values in the model (elided); it is input #${graph.inputs.indexOf(n)}: supply it with fleetc run --input ${n}=FILE`,
      loc: { file: graph.meta.file || modelPath },
    });
  const records = runPipeline(graph, steps, ctx);
  const genResult = gen ? generationResult(ctx) : undefined;
  if (gen && !genResult)
    throw new FleetcError('E0601', `--generate needs the kv-state pass in the pipeline ('${pipelineText}' has none)`);
  if (genResult) bindGenerationDims(dims, graph, genResult.roles.tokens, gen!);
  // Experts are placed first (docs/moe.md); the partitioner then places the rest around them.
  const moe =
    fleet.devices.length > 1 || opts.report !== false
      ? placeMoe(
          graph,
          fleet,
          dims,
          { routing: opts.routing, expertSlots: opts.expertSlots, placement: opts.placement },
          ctx.diagnostics,
        )
      : undefined;
  const topo = graph.topoOps();
  warnUntyped(graph, topo, ctx.diagnostics);

  const homeIndex = Math.max(
    0,
    fleet.devices.findIndex((d) => d.class === 'cpu'),
  );
  const home = fleet.devices[homeIndex]!;
  const wantReport = opts.report !== false;
  // Loaded only when placing: the partitioner pulls in the MILP solver. On one device it only
  // prices and explains (the report's figures); the placement is trivially the home device.
  const partitioner =
    fleet.devices.length > 1 || wantReport ? (await import('../../passes/partition/index.js')).partition : undefined;
  const limitOf = (d: Device): number => Math.min(d.memory[0]?.capacity ?? Infinity, maxMemory ?? Infinity);
  // What the partitioner may use per device; lowered where the memory planner's arena turns out
  // larger than the partitioner's activation estimate, so that capacity is judged by the plan.
  const budgets = new Map(fleet.devices.map((d) => [d.id, limitOf(d)]));
  let part: PartitionResult | undefined;
  let placement: Record<string, string>;
  let orders: Map<string, string[]>;
  let channels: (PartitionResult['channels'][number] & { id: number })[];
  let emitted: Map<string, EmitResult>;
  let used: Device[];
  const memory: Record<string, number> = {};
  for (let attempt = 0; ; attempt++) {
    if (partitioner) {
      try {
        part = partitioner(
          graph,
          withCapacities(fleet, budgets),
          moe?.costDims ?? dims,
          objective,
          'auto',
          true,
          moe?.pins,
        );
      } catch (e) {
        if (maxMemory !== undefined && e instanceof FleetcError && e.code === 'E0302')
          throw new FleetcError(
            'E0401',
            `no placement keeps every device under --max-memory ${formatBytes(maxMemory)}: ${e.message}`,
          );
        throw e;
      }
      placement = part.placement;
      orders = deviceOrders(graph, topo, placement, part.schedule);
    } else {
      placement = Object.fromEntries(topo.map((id) => [id, home.id]));
      orders = new Map([[home.id, topo]]);
    }

    // Channel sizes for the bindings, unbound symbols at 1 (as the memory plan counts them).
    channels = (
      part ? [...part.channels, ...outerChannels(graph, fleet, topo, placement, part.channels, home.id)] : []
    ).map((c, id) => ({
      ...c,
      id,
      bytes: valueBytes(graph, c.value, dims) ?? c.bytes,
    }));
    emitted = new Map<string, EmitResult>();
    used = fleet.devices.filter((d) => d.id === home.id || (orders.get(d.id)?.length ?? 0) > 0);
    for (const dev of used) {
      const isHome = dev.id === home.id;
      const uses: ChannelUse[] = [];
      for (const c of channels) {
        if (c.from === dev.id) uses.push({ value: c.value, channel: c.id, direction: 'send' });
        if (c.to === dev.id) uses.push({ value: c.value, channel: c.id, direction: 'recv' });
      }
      emitted.set(
        dev.id,
        emitProgram({
          name: dev.id,
          graph,
          ops: orders.get(dev.id) ?? [],
          inputs: isHome ? graph.inputs : [],
          outputs: isHome ? graph.outputs : [],
          channels: uses,
          dims,
          planArena,
        }),
      );
    }
    for (const key of Object.keys(memory)) delete memory[key];
    for (const [id, e] of emitted) memory[id] = e.memory.weightBytes + e.memory.arenaBytes;
    const over = used.filter((d) => memory[d.id]! > limitOf(d));
    if (!over.length || !part || fleet.devices.length === 1 || attempt >= 3) break;
    for (const d of over) {
      const estimated = part.devices.find((x) => x.id === d.id)?.memory ?? 0;
      budgets.set(d.id, Math.max(0, budgets.get(d.id)! - Math.max(1, memory[d.id]! - estimated)));
    }
  }

  // Engine-owned state: owners from the placement, the pool sized by what their memory leaves.
  const statePlan: StatePlan | undefined = genResult
    ? planState(genResult, gen!, placement, fleet.devices, memory, graph.meta.file || modelPath)
    : undefined;
  for (const [id, b] of Object.entries(statePlan?.poolBytes ?? {})) memory[id] = (memory[id] ?? 0) + b;

  // Predictions and budgets, before anything is written.
  const latency = part ? part.predicted.latency : predictSingleDevice(graph, new FleetCost(fleet), homeIndex, dims);
  const throughput = part ? part.predicted.throughput : latency > 0 ? 1 / latency : 0;
  for (const dev of used) {
    const cap = dev.memory[0]?.capacity ?? Infinity;
    if (memory[dev.id]! > cap)
      throw new FleetcError(
        'E0302',
        `the model does not fit ${dev.id}: it needs ${formatBytes(memory[dev.id]!)} but the device holds ${formatBytes(cap)}`,
        {
          file: fleet.file || 'fleet',
        },
      );
  }
  if (maxLatency !== undefined && latency > maxLatency)
    throw new FleetcError(
      'E0401',
      `predicted latency ${formatTime(latency)} exceeds --max-latency ${formatTime(maxLatency)}`,
    );
  if (maxMemory !== undefined)
    for (const dev of used)
      if (memory[dev.id]! > maxMemory)
        throw new FleetcError(
          'E0401',
          `${dev.id} needs ${formatBytes(memory[dev.id]!)} (weights + planned activations), over --max-memory ${formatBytes(maxMemory)}`,
        );

  // Bundles.
  checkOutDir(outDir, !!opts.force);
  prepareOutDir(outDir);
  const taken = new Set<string>();
  const devices: PlanDevice[] = [];
  for (const dev of used) {
    const e = emitted.get(dev.id)!;
    const dir = `bundles/${bundleDirName(dev.id, taken)}`;
    const abs = join(outDir, dir);
    mkdirSync(abs, { recursive: true });
    const manifest = new TextEncoder().encode(JSON.stringify(e.manifest, null, 2) + '\n');
    const files = [
      writeBundleFile(abs, 'manifest.json', manifest),
      writeBundleFile(abs, 'program.bin', e.program),
      writeBundleFileWith(abs, 'weights.bin', e.weights.bytes, (f) => e.weights.writeFile(f)),
    ];
    devices.push(
      planDevice(dev, dev.id === home.id, orders.get(dev.id)?.length ?? 0, dir, files, e, statePlan?.poolBytes[dev.id]),
    );
  }

  const defaulted = [...new Set([...emitted.values()].flatMap((e) => e.defaulted))].sort();
  const symbols = symbolTable([...emitted.values()]);
  for (const name of toMap(opts.dims).keys())
    if (!symbols.some((x) => x.name === name))
      ctx.diagnostics.push({
        severity: 'warning',
        message: `--dim ${name}: the compiled model has no symbol '${name}' (symbols: ${symbols.map((x) => x.name).join(', ') || 'none'})`,
      });
  const ownerOf = (value: string): string => {
    const p = graph.hasValue(value) ? graph.producer(value) : undefined;
    return p ? placement[p.op]! : home.id;
  };
  const plan: PlanJSON = {
    schemaVersion: PLAN_SCHEMA_VERSION,
    generator: { name: 'fleetc', version: (version ??= packageVersion()), programFormat: 1 },
    model: modelFacts(graph, modelPath),
    fleet: {
      name: fleet.name,
      file: fleet.file ? basename(fleet.file) : '',
      devices: fleet.devices.map((d) => ({
        id: d.id,
        class: d.class,
        host: d.host,
        backend: d.backend,
        ...(d.cudaDevice !== undefined ? { ordinal: d.cudaDevice } : {}),
        threads: d.threads,
        memory: d.memory[0]?.capacity ?? 0,
      })),
      links: fleet.links.map((l) => ({
        id: l.id,
        between: l.between,
        bandwidth: l.bandwidth,
        latency: l.latency,
        kind: l.kind,
      })),
    },
    pipeline: {
      text: pipelineText,
      passes: records.map((r) =>
        r.summary === undefined
          ? { pass: r.pass, changed: r.changed }
          : { pass: r.pass, changed: r.changed, summary: r.summary },
      ),
      options: {
        dims: Object.fromEntries([...dims].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
        objective,
        pins: pinsText,
        ...(maxLatency !== undefined ? { maxLatency } : {}),
        ...(maxMemory !== undefined ? { maxMemory } : {}),
        ...(part ? { partition: part.method } : {}),
      },
    },
    symbols,
    inputs: graph.inputs.map((n) => ioOf(graph, n, home.id)),
    outputs: graph.outputs.map((n) => ioOf(graph, n, home.id)),
    devices,
    channels: channels.map((c) => {
      const v = graph.value(c.value);
      return {
        id: c.id,
        value: c.value,
        from: c.from,
        to: c.to,
        bytes: c.bytes,
        links: c.links,
        dtype: v.dtype,
        shape: v.shape ? v.shape.map(dimToJSON) : null,
      };
    }),
    state:
      statePlan?.state ??
      detectKvCache(graph).map((k) => ({
        kind: 'kv-cache',
        input: k.input,
        output: k.output,
        owner: ownerOf(k.output),
        dtype: k.dtype,
        axis: k.axis,
        growth: k.growth === null ? null : dimToJSON(k.growth),
        bytes: k.bytes === null ? null : dimToJSON(k.bytes),
        evidence: k.evidence,
      })),
    ...(statePlan ? { generation: statePlan.generation } : {}),
    ...(moe ? { experts: moe.experts } : {}),
    schedule: (part && part.schedule.length === topo.length ? part.schedule : topo).map((op) => ({
      op,
      device: placement[op]!,
    })),
    predicted: {
      method: part ? `partition (${part.method})` : 'roofline, ops in sequence',
      latency,
      throughput,
      memory,
      busy: part
        ? Object.fromEntries(part.devices.filter((d) => memory[d.id] !== undefined).map((d) => [d.id, d.busy]))
        : { [home.id]: latency },
      links: part?.links ?? [],
      ...(defaulted.length ? { defaultedSymbols: defaulted } : {}),
    },
  };
  const planPath = writePlan(outDir, plan);
  if (part && wantReport) {
    const { buildReport, writeReport } = await import('../report/index.js');
    const plannedArena = Object.fromEntries([...emitted].map(([id, e]) => [id, e.memory.arenaBytes]));
    await writeReport(
      outDir,
      buildReport({
        graph,
        fleet,
        partition: part,
        model: modelPath ? basename(modelPath) : graph.name,
        pipeline: pipelineText,
        dims,
        plannedArena,
        ...(moe ? { moe: moe.report } : {}),
      }),
    );
  }
  return { outDir, planPath, plan, passes: records, diagnostics: ctx.diagnostics, ms: performance.now() - t0 };
}

/**
 * Symbol bindings for a generation build, where the user gave none: the token input is one
 * sequence axis of `maxStepTokens` tokens (the engine flattens a step's sequences into it), logits
 * for up to 64 of them, and the KV pool reserved at `maxContext` tokens while partitioning.
 */
function bindGenerationDims(dims: Map<string, number>, graph: IRGraph, tokens: string, g: GenerateOptions): void {
  const step = g.maxStepTokens ?? 256;
  const [batch, seq] = graph.value(tokens).shape ?? [];
  const defaults: [Dim | undefined, number][] = [
    [batch, 1],
    [seq, step],
    [sym('n_logits'), Math.min(step, 64)],
    [sym(STATE_TOKENS), g.maxContext ?? 2048],
    [sym(KV_CONTEXT), Math.min(g.maxContext ?? 2048, 1024)],
  ];
  for (const [d, v] of defaults) {
    const name = d === undefined ? undefined : [...symbolsOf(d)][0];
    if (name !== undefined && dimEq(d!, sym(name)) && !dims.has(name)) dims.set(name, v);
  }
}

/** The fleet with each device's level-0 capacity replaced by its budget. */
function withCapacities(fleet: Fleet, budgets: ReadonlyMap<string, number>): Fleet {
  return {
    ...fleet,
    devices: fleet.devices.map((d) =>
      d.memory[0] ? { ...d, memory: [{ ...d.memory[0], capacity: budgets.get(d.id)! }, ...d.memory.slice(1)] } : d,
    ),
  };
}

function planDevice(
  dev: Device,
  home: boolean,
  ops: number,
  dir: string,
  files: PlanDevice['bundle']['files'],
  e: EmitResult,
  state?: number,
): PlanDevice {
  const m = e.memory;
  return {
    name: dev.id,
    class: dev.class,
    backend: dev.backend,
    ...(dev.cudaDevice !== undefined ? { ordinal: dev.cudaDevice } : {}),
    emulated: dev.backend === 'emulated',
    threads: Math.max(1, dev.threads),
    home,
    ops,
    bundle: { dir, files },
    memory: {
      weights: m.weightBytes,
      arena: m.arenaBytes,
      arenaUnshared: m.arenaUnshared,
      arenaLowerBound: m.arenaLowerBound,
      arenaTensors: m.arenaTensors,
      dynamicTensors: m.dynamicTensors,
      ...(state !== undefined ? { state } : {}),
      total: m.weightBytes + m.arenaBytes + (state ?? 0),
      capacity: dev.memory[0]?.capacity ?? 0,
    },
  };
}

/** Symbols of every program, by name (bound from inputs wins over bound by kernels). */
function symbolTable(all: EmitResult[]): PlanJSON['symbols'] {
  const out = new Map<string, PlanJSON['symbols'][number]>();
  for (const e of all)
    for (const s of (e.manifest.symbols ?? []) as PlanJSON['symbols']) {
      const prev = out.get(s.name);
      if (!prev || (prev.boundFrom === 'kernels' && s.boundFrom === 'inputs'))
        out.set(s.name, { name: s.name, planned: s.planned, boundFrom: s.boundFrom });
    }
  return [...out.values()];
}

function valueBytes(graph: IRGraph, name: string, dims: ReadonlyMap<string, number>): number | undefined {
  const v = graph.value(name);
  if (!v.dtype || !v.shape || v.container || v.dtype === 'string') return undefined;
  const bind = new Map(dims);
  let n = 1;
  for (const d of v.shape) {
    for (const s of symbolsOf(d)) if (!bind.has(s)) bind.set(s, 1);
    const x = evaluate(d, bind);
    if (x === undefined || x < 0) return undefined;
    n *= x;
  }
  return byteSize(v.dtype, n);
}

/** A value an op produces without a known element type may fail at run time; say which, once. */
function warnUntyped(graph: IRGraph, topo: string[], out: Diagnostic[]): void {
  const untyped: string[] = [];
  for (const id of topo)
    for (const v of graph.opOutputs(id)) if (v !== undefined && graph.value(v).dtype === null) untyped.push(v);
  if (untyped.length === 0) return;
  const some = untyped
    .slice(0, 3)
    .map((v) => `'${v}'`)
    .join(', ');
  out.push({
    severity: 'warning',
    message: `${untyped.length} value(s) have no inferred element type (${some}${untyped.length > 3 ? ', …' : ''}); kernels that need it will fail at run time`,
    loc: { file: graph.meta.file },
  });
}

/**
 * Channels for values that subgraphs read from an enclosing scope (If/Loop bodies): the
 * partitioner sees only direct readers, so a body on another device than the value needs one.
 */
function outerChannels(
  graph: IRGraph,
  fleet: Fleet,
  topo: string[],
  placement: Record<string, string>,
  have: PartitionResult['channels'],
  home: string,
): PartitionResult['channels'] {
  const key = (v: string, to: string): string => `${v}\u0000${to}`;
  const seen = new Set(have.map((c) => key(c.value, c.to)));
  const out: PartitionResult['channels'] = [];
  for (const id of topo)
    for (const v of [...freeNames(graph, id)].sort()) {
      if (!graph.hasValue(v) || graph.value(v).role === 'weight') continue;
      const p = graph.producer(v);
      const from = p ? placement[p.op]! : home;
      const to = placement[id]!;
      if (from === to || seen.has(key(v, to))) continue;
      seen.add(key(v, to));
      out.push({ value: v, from, to, bytes: 0, links: route(fleet, from, to)?.hops.map((h) => h.link) ?? [] });
    }
  return out;
}
