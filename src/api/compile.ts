import { mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { detectKvCache } from '../../passes/analysis/kv.js';
import { resolvePipeline, runPipeline, type PassRecord } from '../../passes/driver.js';
import { need, newPassContext } from '../../passes/pass.js';
import { parsePipeline, printPipeline, type PipelineStep } from '../../passes/pipeline.js';
import { BACKEND_PIPELINE, PIPELINES } from '../../passes/registry.js';
import type { EmitResult } from '../../targets/fleetrt/emit.js';
import { keepsPreparedWeights } from '../../targets/fleetrt/prepared.js';
import { FleetcError, type Diagnostic } from '../diagnostics/index.js';
import { FleetCost } from '../fleet/cost.js';
import { loadFleet, localFleet } from '../fleet/load.js';
import { withCalibration } from '../fleet/calibration.js';
import { parsePinFlag } from '../fleet/pins.js';
import type { Device, Fleet } from '../fleet/types.js';
import type { IRGraph } from '../ir/graph.js';
import { dimToJSON } from '../ir/sym.js';
import { formatBytes, formatTime, parseQuantity, UnitError } from '../util/units.js';
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
import { planState, type GenerateOptions, type StatePlan } from './state-plan.js';

let version: string | undefined;

/** The passes a compile runs by default (pipeline `default`; printed into plan.json). */
export const DEFAULT_COMPILE_PIPELINE = PIPELINES.default!;
/** What every compile pipeline ends with: from placing the graph to the bundles. */
export { BACKEND_PIPELINE };

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
  /**
   * Pipeline text or name (`default`, `generate`, `O0`; passes/registry.ts). A pipeline without
   * the back end (partition … emit) gets it appended.
   */
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
  if (opts.objective !== undefined && opts.objective !== 'latency' && opts.objective !== 'throughput')
    throw new FleetcError('E0901', `--objective must be latency or throughput, not '${String(opts.objective)}'`);
  const maxLatency = budget(opts.maxLatency, 'time', '--max-latency');
  const maxMemory = budget(opts.maxMemory, 'bytes', '--max-memory');
  const steps = compileSteps(opts.passes ?? (gen ? 'generate' : 'default'), opts.objective);
  const pipelineText = printPipeline(steps);
  checkOutDir(outDir, !!opts.force);

  const homeIndex = Math.max(
    0,
    fleet.devices.findIndex((d) => d.class === 'cpu'),
  );
  const ctx = newPassContext({
    dims,
    verify: !!opts.verify,
    target: { fleet, cost: new FleetCost(fleet), home: homeIndex },
    settings: {
      ...(maxMemory !== undefined ? { maxMemory } : {}),
      moe: { routing: opts.routing, expertSlots: opts.expertSlots, placement: opts.placement },
      ...(gen ? { generate: gen } : {}),
    },
  });
  // Weights without values become run-time inputs (docs/frontend-stablehlo.md).
  for (const n of elidedWeightsToInputs(graph))
    ctx.diagnostics.push({
      severity: 'note',
      message: `weight '${n}' has no values in the model (elided); it is input #${graph.inputs.indexOf(n)}: supply it with fleetc run --input ${n}=FILE`,
      loc: { file: graph.meta.file || modelPath },
    });
  const records = runPipeline(graph, steps, ctx);
  const genResult = ctx.results.generation;
  if (gen && !genResult)
    throw new FleetcError('E0601', `--generate needs the kv-state pass in the pipeline ('${pipelineText}' has none)`);
  warnUntyped(graph, graph.topoOps(), ctx.diagnostics);

  const part = need(ctx, 'partition', 'compile');
  const sched = need(ctx, 'schedule', 'compile');
  const channels = need(ctx, 'transfers', 'compile');
  const emitted = need(ctx, 'bundles', 'compile');
  const moe = ctx.results.experts;
  const placement = part.placement;
  const used = fleet.devices.filter((d) => sched.used.includes(d.id));
  const memory: Record<string, number> = {};
  for (const [id, e] of emitted) {
    const dev = fleet.devices.find((d) => d.id === id)!;
    memory[id] = e.memory.weightBytes + preparedOn(dev, e) + e.memory.arenaBytes;
  }

  // Engine-owned state: owners from the placement, the pool sized by what their memory leaves.
  const statePlan: StatePlan | undefined = genResult
    ? planState(genResult, gen!, placement, fleet.devices, memory, graph.meta.file || modelPath)
    : undefined;
  for (const [id, b] of Object.entries(statePlan?.poolBytes ?? {})) memory[id] = (memory[id] ?? 0) + b;

  // Predictions and budgets, before anything is written. The partitioner placed with the memory
  // planner's arenas, so a device over its capacity here is a fault of this compiler.
  const latency = part.predicted.latency;
  const throughput = part.predicted.throughput;
  for (const dev of used) {
    const cap = Math.min(dev.memory[0]?.capacity ?? Infinity, maxMemory ?? Infinity);
    if (memory[dev.id]! > cap)
      throw new FleetcError(
        maxMemory !== undefined && memory[dev.id]! <= (dev.memory[0]?.capacity ?? Infinity) ? 'E0401' : 'E0302',
        maxMemory !== undefined && memory[dev.id]! <= (dev.memory[0]?.capacity ?? Infinity)
          ? `${dev.id} needs ${formatBytes(memory[dev.id]!)} (weights + planned activations), over --max-memory ${formatBytes(maxMemory)}`
          : `the model does not fit ${dev.id}: it needs ${formatBytes(memory[dev.id]!)} but the device holds ${formatBytes(cap)}`,
        { file: fleet.file || 'fleet' },
      );
  }
  if (maxLatency !== undefined && latency > maxLatency)
    throw new FleetcError(
      'E0401',
      `predicted latency ${formatTime(latency)} exceeds --max-latency ${formatTime(maxLatency)}`,
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
      planDevice(
        dev,
        dev.id === sched.home,
        sched.orders.get(dev.id)?.length ?? 0,
        dir,
        files,
        e,
        statePlan?.poolBytes[dev.id],
      ),
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
    return p ? placement[p.op]! : sched.home;
  };
  const objective = part.objective;
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
        partition: part.method,
      },
    },
    symbols,
    inputs: graph.inputs.map((n) => ioOf(graph, n, sched.home)),
    outputs: graph.outputs.map((n) => ioOf(graph, n, sched.home)),
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
    schedule: sched.order.map((op) => ({ op, device: placement[op]! })),
    predicted: {
      method: `partition (${part.method})`,
      latency,
      throughput,
      memory,
      busy: Object.fromEntries(part.devices.filter((d) => memory[d.id] !== undefined).map((d) => [d.id, d.busy])),
      links: part.links,
      ...(defaulted.length ? { defaultedSymbols: defaulted } : {}),
    },
  };
  const planPath = writePlan(outDir, plan);
  if (opts.report !== false) {
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
 * The steps a compile runs: a named pipeline or pipeline text, with the back end appended when
 * the text names none of its passes (`infer-shapes,fold` places and emits like the default), and
 * `--objective` set on the partition step. A text that names some of the back end must name what
 * those passes need (the driver says which is missing).
 */
function compileSteps(text: string, objective: CompileOptions['objective']): PipelineStep[] {
  const steps = parsePipeline(PIPELINES[text] ?? text);
  const backEnd = parsePipeline(BACKEND_PIPELINE);
  if (!steps.some((s) => backEnd.some((b) => b.name === s.name))) steps.push(...backEnd);
  else if (!steps.some((s) => s.name === 'emit'))
    throw new FleetcError(
      'E0901',
      `pipeline '${printPipeline(steps)}' stops before 'emit': end it with the back end (${BACKEND_PIPELINE}) or leave the back end out`,
    );
  if (objective !== undefined)
    for (const s of steps) if (s.name === 'partition') s.options = { ...s.options, objective };
  resolvePipeline(printPipeline(steps));
  return steps;
}

/** The copies of its weights a device's kernels may keep (none where the device does not keep them). */
function preparedOn(dev: Device, e: EmitResult): number {
  return keepsPreparedWeights(dev) ? e.memory.preparedBytes : 0;
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
      prepared: preparedOn(dev, e),
      arena: m.arenaBytes,
      arenaUnshared: m.arenaUnshared,
      arenaLowerBound: m.arenaLowerBound,
      arenaTensors: m.arenaTensors,
      dynamicTensors: m.dynamicTensors,
      ...(state !== undefined ? { state } : {}),
      total: m.weightBytes + preparedOn(dev, e) + m.arenaBytes + (state ?? 0),
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
