// The calibration part of `fleetc tune`: measured per-op and per-transfer times of runs (fleetrt
// --metrics) against the work the compiler priced each op at (report.json), fitted into the cost
// model's parameters — per device a line per kind of work (targets/fit.ts), per pair of devices
// the latency and bandwidth of a message — and each run's plan priced again with them, so that
// the prediction errors before and after are printed side by side.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Problem, Task } from '../../passes/partition/problem.js';
import { simulate } from '../../passes/partition/simulate.js';
import { deviceFit, fitDevice, type FittedDevice, type OpSample } from '../../targets/fit.js';
import { opCost, type DeviceRoofline } from '../../targets/index.js';
import { FleetcError } from '../diagnostics/index.js';
import {
  CALIBRATION_FORMAT,
  CALIBRATION_VERSION,
  identityMismatch,
  type Calibration,
  type CalibratedPair,
  type FleetIdentity,
} from '../fleet/calibration.js';
import type { Device, Fleet } from '../fleet/types.js';
import { readReport } from '../report/index.js';
import { busyMs } from '../report/measured.js';
import type { Report, ReportCostModel } from '../report/model.js';
import { fitLinear } from '../util/lsq.js';
import { packageVersion } from '../version.js';
import type { PlanJSON } from './plan.js';

/** The parts of fleetrt's metrics file calibration reads (docs/runtime.md, Telemetry). */
interface Metrics {
  plan?: string;
  requests: number;
  repeats: number;
  latency: { p50: number; mean: number };
  devices: {
    name: string;
    threads?: number;
    /** busyMsMedian: the median pass's op time (fleetrt ≥ 0.2.1); older files have only the mean. */
    measured?: { busyMsPerRequest: number; busyMsMedian?: number };
    ops?: { name: string; opType: string; meanMs: number; medianMs?: number }[];
  }[];
  channels?: {
    value: string;
    from: string;
    to: string;
    transfers: number;
    bytesPerRequest: number;
    meanTransferMs: number;
    medianTransferMs?: number;
  }[];
}

export interface Build {
  dir: string;
  plan: PlanJSON;
  report: Report & { costModel: ReportCostModel; io: NonNullable<Report['io']> };
}

interface Run {
  file: string;
  build: Build;
  metrics: Metrics;
  passes: number;
}

/** Measured, predicted before (as compiled) and after (priced again with the calibration), seconds. */
export interface Comparison {
  measured: number;
  before: number;
  after: number;
}

/** One build's figures (a build run several times is compared by its least disturbed run). */
export interface RunCalibration {
  /** The metrics file of the run compared and fitted. */
  metrics: string;
  /** Every run of the build given (the least disturbed one is `metrics`). */
  runs: string[];
  build: string;
  model: string;
  passes: number;
  /** End-to-end latency per request (measured: the median pass); null when requests overlapped. */
  latency: Comparison | null;
  /** Busy time per request on each device (measured: the median pass). */
  devices: (Comparison & { device: string })[];
  /** Seconds per message between two devices (measured: the mean over its messages of each channel's median). */
  pairs: (Comparison & { between: [string, string]; links: string[]; messages: number })[];
}

export interface CalibrationTuneResult {
  /** The calibration written (for `fleetc compile --calibration`), or null when not written. */
  file: string | null;
  calibration: Calibration;
  runs: RunCalibration[];
}

/** Fits a calibration to runs of builds of one fleet and prices each run's plan again with it. */
export function calibrateFromRuns(build: string, metricsFiles: string[], out?: string): CalibrationTuneResult {
  const builds = new Map<string, Build>();
  const all = metricsFiles.map((file) => readRun(file, build, builds));
  const identity = identityOf(all[0]!.build);
  for (const r of all) {
    const why = identityMismatch(identityOf(r.build), identity);
    if (why)
      throw new FleetcError(
        'E0306',
        `measured on another fleet than ${all[0]!.file} (one calibration describes one fleet): ${why}`,
        { file: r.file },
      );
  }
  // A build run several times counts once, by its least disturbed run: on a shared machine another
  // process on the core (or its sibling hyperthread) slows every op of a run alike, and the
  // fastest run is the one closest to the device's own speed (as timeit takes the best of N).
  const byBuild = [...new Set(all.map((r) => r.build))].map((b) => all.filter((r) => r.build === b));
  const runs = byBuild.map(leastDisturbed);
  const cm = runs[0]!.build.report.costModel;

  // Devices: every op each run timed, with the work its build priced it at and the messages it
  // sent and took in.
  const samples = new Map<string, OpSample[]>();
  const threads = new Map<string, number>();
  for (const [run, r] of runs.entries()) {
    const messages = messagesPerOp(r.build);
    for (const d of r.metrics.devices) {
      if (!d.ops?.length) continue;
      const priced = new Map(r.build.report.ops.filter((o) => o.device === d.name).map((o) => [o.name, o]));
      // Floating ops (docs/floating.md) are in every device program of their group; each device
      // times the runs it took (none: nothing to fit here).
      const floating = new Set(
        (r.build.report.floating?.ops ?? []).filter((f) => f.devices.includes(d.name)).map((f) => f.name),
      );
      const anywhere = new Map(r.build.report.ops.map((o) => [o.name, o]));
      const list = samples.get(d.name) ?? [];
      const share = passShare(d);
      for (const m of d.ops) {
        if (floating.has(m.name) && !(opMs(m) > 0)) continue;
        const o = priced.get(m.name) ?? (floating.has(m.name) ? anywhere.get(m.name) : undefined);
        if (!o || o.opType !== m.opType)
          throw new FleetcError(
            'E0305',
            `${m.opType} '${m.name}' ran on ${d.name} but ${r.build.dir} places no such op there (are these metrics of another build?)`,
            { file: r.file },
          );
        const msg = messages.get(o.id);
        list.push({
          opType: o.opType,
          ...(o.line ? { line: o.line } : {}),
          flops: o.flops,
          bytes: o.bytes,
          seconds: (opMs(m) * share) / 1e3,
          passes: r.passes,
          sends: msg?.sends ?? 0,
          recvs: msg?.recvs ?? 0,
          spanning: r.build.plan.devices.length > 1 || r.build.plan.channels.length > 0 || r.metrics.requests > 1,
          run,
        });
      }
      samples.set(d.name, list);
      if (d.threads !== undefined) threads.set(d.name, d.threads);
    }
  }
  const fitted = new Map<string, FittedDevice>();
  for (const [id, list] of samples)
    fitted.set(id, fitDevice(rooflineOf(cm, id), list, cm.devices.find((x) => x.id === id)!.messageOverhead));

  // Pairs of devices: every channel's median transfer, by bytes per message.
  const messages = new Map<string, { bytes: number; seconds: number; count: number }[]>();
  for (const r of runs)
    for (const c of r.metrics.channels ?? []) {
      if (!(c.transfers > 0) || !c.from || !c.to || c.from === c.to) continue;
      const key = pairKey(c.from, c.to);
      const list = messages.get(key) ?? [];
      list.push({
        bytes: (c.bytesPerRequest * r.passes) / c.transfers,
        seconds: transferMs(c) / 1e3,
        count: c.transfers,
      });
      messages.set(key, list);
    }
  const pairs: CalibratedPair[] = [...messages].map(([key, list]) => fitPair(key, list, cm, runs));

  const calibration: Calibration = {
    format: CALIBRATION_FORMAT,
    version: CALIBRATION_VERSION,
    createdAt: new Date().toISOString(),
    generator: { name: 'fleetc', version: packageVersion() },
    fleet: identity,
    sources: runs.map((r) => ({ metrics: r.file, build: r.build.dir, model: r.build.report.model, passes: r.passes })),
    devices: identity.devices
      .filter((d) => fitted.has(d.id))
      .map((d) => ({
        id: d.id,
        ...(threads.has(d.id) ? { measuredThreads: threads.get(d.id)! } : {}),
        ...fitted.get(d.id)!,
      })),
    pairs,
  };
  calibration.request = fitRequest(runs, calibration);
  const result: CalibrationTuneResult = {
    file: null,
    calibration,
    runs: runs.map((r, i) => compareRun(r, byBuild[i]!, calibration)),
  };
  if (out) {
    writeFileSync(out, JSON.stringify(calibration, null, 2) + '\n');
    result.file = out;
  }
  return result;
}

/** Whether a metrics file carries what calibration needs (per-op times of some device). */
export function hasOpTimes(file: string): boolean {
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as Partial<Metrics>;
    return Array.isArray(m.devices) && m.devices.some((d) => Array.isArray(d?.ops) && d.ops.length > 0);
  } catch {
    return false;
  }
}

// Medians where the metrics have them: on a shared machine a few pre-empted passes move means far.
const opMs = (o: NonNullable<Metrics['devices'][number]['ops']>[number]): number =>
  o.medianMs !== undefined && o.medianMs > 0 ? o.medianMs : o.meanMs;
const transferMs = (c: NonNullable<Metrics['channels']>[number]): number =>
  c.medianTransferMs !== undefined && c.medianTransferMs > 0 ? c.medianTransferMs : c.meanTransferMs;

/**
 * What each op's median is scaled by so that a device's ops add up to its median pass, the figure
 * its prediction is compared with. The passes' slow ops are not the same ops from pass to pass, so
 * the medians add up short of it where most passes have some op slowed (the bench's fixtures on the
 * emulated gpu: by 1.08–1.14; on the cpu devices 1.00–1.03).
 */
function passShare(d: Metrics['devices'][number]): number {
  const pass = d.measured?.busyMsMedian;
  const sum = (d.ops ?? []).reduce((s, o) => s + opMs(o), 0);
  const share = pass !== undefined && sum > 0 ? pass / sum : 1;
  return Number.isFinite(share) && share > 0 ? share : 1;
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}

/**
 * Per op, the messages its measured time includes: the channels carrying its outputs away, and
 * the channels its device receives that it is the first to read (in the device's dispatch order:
 * the engine takes a value in just before the op that waits for it).
 */
function messagesPerOp(b: Build): Map<string, { sends: number; recvs: number }> {
  const out = new Map<string, { sends: number; recvs: number }>();
  const at = (op: string): { sends: number; recvs: number } => {
    let x = out.get(op);
    if (!x) out.set(op, (x = { sends: 0, recvs: 0 }));
    return x;
  };
  const producer = new Map<string, string>();
  const readers = new Map<string, string[]>();
  for (const e of b.report.edges) {
    producer.set(e.value, e.from);
    readers.set(e.value, [...(readers.get(e.value) ?? []), e.to]);
  }
  for (const x of b.report.io.outputs) producer.set(x.value, x.op);
  for (const x of b.report.io.inputs) readers.set(x.value, [...(readers.get(x.value) ?? []), x.op]);
  const device = new Map(b.report.ops.map((o) => [o.id, o.device]));
  const order = new Map(b.plan.schedule.map((s, k) => [s.op, k]));
  for (const c of b.plan.channels) {
    const from = producer.get(c.value);
    if (from !== undefined && device.get(from) === c.from) at(from).sends++;
    const first = (readers.get(c.value) ?? [])
      .filter((op) => device.get(op) === c.to)
      .sort((x, y) => (order.get(x) ?? Infinity) - (order.get(y) ?? Infinity))[0];
    if (first !== undefined) at(first).recvs++;
  }
  return out;
}

function readRun(file: string, build: string, builds: Map<string, Build>): Run {
  let m: Metrics;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as Metrics;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new FleetcError('E0305', `not a metrics file: ${why}`, { file });
  }
  if (!m || !Array.isArray(m.devices) || !(m.requests > 0) || !(m.repeats > 0))
    throw new FleetcError('E0305', 'not a fleetrt metrics file (no "devices", "requests" or "repeats")', { file });
  if (!m.devices.some((d) => Array.isArray(d.ops) && d.ops.length))
    throw new FleetcError(
      'E0305',
      'no per-op times (write them with fleetc run --metrics; a generation or MoE-only file has none)',
      { file },
    );
  // The build is the one whose plan the run names, when it is there; else the build tuned.
  const named = m.plan ? dirname(resolve(m.plan)) : undefined;
  const dir = named && existsSync(join(named, 'report.json')) ? named : resolve(build);
  let b = builds.get(dir);
  if (!b) {
    b = readBuild(dir);
    builds.set(dir, b);
  }
  for (const d of m.devices)
    if (!b.plan.fleet.devices.some((x) => x.id === d.name))
      throw new FleetcError('E0305', `device '${d.name}' is not in the plan of ${dir} (metrics of another build?)`, {
        file,
      });
  return { file, build: b, metrics: m, passes: m.requests * m.repeats };
}

export function readBuild(dir: string): Build {
  const planFile = join(dir, 'plan.json');
  let plan: PlanJSON;
  try {
    plan = JSON.parse(readFileSync(planFile, 'utf8')) as PlanJSON;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new FleetcError('E0305', `cannot read the build's plan: ${why}`, { file: planFile });
  }
  const report = readReport(dir);
  if (!report.costModel || !report.io)
    throw new FleetcError(
      'E0305',
      'the report has no cost model to calibrate (compiled by an older fleetc, or without a report): compile again',
      { file: join(dir, 'report.json') },
    );
  return { dir, plan, report: report as Build['report'] };
}

function identityOf(b: Build): FleetIdentity {
  return {
    name: b.plan.fleet.name,
    devices: b.plan.fleet.devices.map((d) => ({
      id: d.id,
      class: d.class,
      host: d.host,
      backend: d.backend,
      ...(d.ordinal !== undefined ? { ordinal: d.ordinal } : {}),
      threads: d.threads,
    })),
    links: b.plan.fleet.links.map((l) => ({ id: l.id, between: [l.between[0], l.between[1]] })),
  };
}

/** A device's datasheet roofline as the build's report recorded it. */
function rooflineOf(cm: ReportCostModel, id: string): DeviceRoofline {
  const d = cm.devices.find((x) => x.id === id);
  if (!d) throw new Error(`the report's cost model has no device '${id}'`);
  return {
    name: id,
    description: id,
    peakFlops: { default: d.peakFlops },
    memBandwidth: d.bandwidth,
    launchOverhead: d.launchOverhead,
    parallelism: d.parallelism,
  };
}

/** The datasheet's message cost between two devices (either direction: the slower). */
function datasheetPair(cm: ReportCostModel, a: string, b: string): { latency: number; perByte: number } {
  const both = cm.pairs.filter((p) => (p.from === a && p.to === b) || (p.from === b && p.to === a));
  const ds = both.map((p) => p.datasheet ?? { latency: p.latency, perByte: p.perByte });
  const num = (x: number | null | undefined): number => (typeof x === 'number' ? x : Infinity);
  return {
    latency: Math.max(0, ...ds.map((p) => num(p.latency))),
    perByte: Math.max(0, ...ds.map((p) => num(p.perByte))),
  };
}

/**
 * A pair's message line, seconds = latency + bytes·perByte, fitted to its channels' median
 * transfer times (each weighted by its transfers); what the sizes seen cannot determine stays the
 * datasheet's.
 */
function fitPair(
  key: string,
  list: { bytes: number; seconds: number; count: number }[],
  cm: ReportCostModel,
  runs: Run[],
): CalibratedPair {
  const [a, b] = key.split('\u0000') as [string, string];
  const ds = datasheetPair(cm, a, b);
  const usable = list.filter((s) => s.seconds > 0);
  const r = fitLinear(
    usable.map((s) => [1, s.bytes]),
    usable.map((s) => s.seconds),
    [Number.isFinite(ds.latency) ? ds.latency : 0, Number.isFinite(ds.perByte) ? ds.perByte : 0],
    { weights: usable.map((s) => s.count) },
  );
  const links = new Set<string>();
  for (const run of runs)
    for (const c of run.build.report.channels) if (pairKey(c.from, c.to) === key) for (const l of c.links) links.add(l);
  return {
    between: [a, b],
    links: [...links].sort(),
    latency: r.coef[0]!,
    perByte: r.coef[1]!,
    samples: usable.reduce((s, x) => s + x.count, 0),
    source: { latency: r.fitted[0] ? 'measured' : 'datasheet', perByte: r.fitted[1] ? 'measured' : 'datasheet' },
  };
}

/**
 * What a request costs outside the ops and messages (binding inputs and laying out arenas, which
 * grow with the ops a device runs; starting each further device): each build's least disturbed
 * median latency (as the devices' lines take it) less its plan priced by the calibration. perOp ×
 * (ops of the device with the most) is fitted to the runs on one device, then perDevice × (devices
 * used − 1) to what the others leave: fitted together, plans spanning devices that the lines price
 * above what runs would pull perOp to nothing.
 */
function fitRequest(runs: Run[], cal: Calibration): Calibration['request'] {
  const rows = runs
    .filter((r) => r.metrics.requests === 1 && r.metrics.latency?.p50 > 0)
    .map((r) => ({
      used: r.build.plan.devices.length,
      ops: Math.max(...r.build.plan.devices.map((d) => d.ops)),
      y: r.metrics.latency.p50 / 1e3 - reprice(r.build, cal).latency,
      // timing noise grows with the time measured
      weight: 1e-3 / r.metrics.latency.p50,
    }));
  const one = rows.filter((x) => x.used === 1);
  const many = rows.filter((x) => x.used > 1);
  const perOp = fitLinear(
    one.map((x) => [x.ops]),
    one.map((x) => x.y),
    [0],
    { weights: one.map((x) => x.weight) },
  );
  // One run shows no spread to test its figure against, so the fit keeps the datasheet's 0; what
  // that run spent outside its ops is still a better figure than none.
  const single = one.length === 1 && !perOp.fitted[0] && one[0]!.y > 0 ? one[0]!.y / one[0]!.ops : undefined;
  const op = single ?? perOp.coef[0]!;
  const perDevice = fitLinear(
    many.map((x) => [x.used - 1]),
    many.map((x) => x.y - op * x.ops),
    [0],
    { weights: many.map((x) => x.weight) },
  );
  const src = (f: { fitted: boolean[] }): 'measured' | 'datasheet' => (f.fitted[0] ? 'measured' : 'datasheet');
  return {
    perDevice: perDevice.coef[0]!,
    perOp: op,
    runs: rows.length,
    source: { perDevice: src(perDevice), perOp: single !== undefined ? 'measured' : src(perOp) },
  };
}

/** The run of a build least disturbed by the rest of the machine: the lowest median latency (or op time, when requests overlapped). */
function leastDisturbed(runs: Run[]): Run {
  const cost = (r: Run): number =>
    r.metrics.requests === 1 && r.metrics.latency?.p50 > 0
      ? r.metrics.latency.p50
      : r.metrics.devices.reduce((s, d) => s + (d.measured ? busyMs(d.measured) : 0), 0);
  return runs.reduce((best, r) => (cost(r) < cost(best) ? r : best));
}

/** A build's measured figures (its least disturbed run) beside its plan's prediction and the plan priced again with the calibration. */
function compareRun(r: Run, of: Run[], cal: Calibration): RunCalibration {
  const { plan, report } = r.build;
  const after = reprice(r.build, cal);
  const latency =
    r.metrics.requests === 1 && r.metrics.latency
      ? { measured: r.metrics.latency.p50 / 1e3, before: plan.predicted.latency, after: after.latency }
      : null;
  const devices = r.metrics.devices
    .filter((d) => d.measured)
    .map((d) => ({
      device: d.name,
      measured: busyMs(d.measured!) / 1e3,
      before: plan.predicted.busy[d.name] ?? 0,
      after: after.busy.get(d.name) ?? 0,
    }));
  // Per pair: the mean over its messages of each channel's median transfer.
  const byPair = new Map<string, { messages: number; measured: number; before: number; after: number }>();
  for (const c of r.metrics.channels ?? []) {
    if (!(c.transfers > 0) || !c.from || !c.to || c.from === c.to) continue;
    const key = pairKey(c.from, c.to);
    const bytes = (c.bytesPerRequest * r.passes) / c.transfers;
    const priced = report.costModel.pairs.find((p) => p.from === c.from && p.to === c.to);
    const before = priced ? (priced.latency ?? Infinity) + bytes * (priced.perByte ?? Infinity) : NaN;
    const p = cal.pairs.find((x) => pairKey(x.between[0], x.between[1]) === key);
    const e = byPair.get(key) ?? { messages: 0, measured: 0, before: 0, after: 0 };
    e.messages += c.transfers;
    e.measured += c.transfers * (transferMs(c) / 1e3);
    e.before += c.transfers * before;
    e.after += c.transfers * (p ? p.latency + bytes * p.perByte : before);
    byPair.set(key, e);
  }
  const pairs = [...byPair].map(([key, e]) => ({
    between: key.split('\u0000') as [string, string],
    links: cal.pairs.find((p) => pairKey(p.between[0], p.between[1]) === key)?.links ?? [],
    messages: e.messages,
    measured: e.measured / e.messages,
    before: e.before / e.messages,
    after: e.after / e.messages,
  }));
  return {
    metrics: r.file,
    runs: of.map((x) => x.file),
    build: r.build.dir,
    model: report.model,
    passes: r.passes,
    latency,
    devices,
    pairs,
  };
}

/**
 * The build's placement priced again: each op by its device's fitted line (ops of devices the
 * runs did not measure keep their priced time), each message by its pair's measured cost, and
 * the request list-scheduled by the partitioner's own simulator in the plan's dispatch order.
 */
export function reprice(b: Build, cal: Calibration): { latency: number; busy: Map<string, number> } {
  const { plan, report } = b;
  const cm = report.costModel;
  const ids = report.devices.map((d) => d.id);
  const index = new Map(ids.map((id, i) => [id, i]));
  const fits = new Map(cal.devices.map((d) => [d.id, d]));
  const lines = new Map(cal.devices.map((d) => [d.id, deviceFit(d)]));
  const opTime = (o: Report['ops'][number]): number => {
    const f = lines.get(o.device);
    if (!f) return o.time;
    const w = {
      opType: o.opType,
      domain: '',
      flops: o.flops,
      bytes: o.bytes,
      dtype: null,
      outElems: Infinity,
      ...(o.line ? { line: o.line } : {}),
    };
    return opCost(rooflineOf(cm, o.device), w, f).time;
  };
  const opsById = new Map(report.ops.map((o) => [o.id, o]));
  const segOf = new Map<string, number>();
  report.segments.forEach((s, i) => s.ops.forEach((op) => segOf.set(op, i)));
  const tasks: Task[] = report.segments.map((s, i) => {
    const d = index.get(s.device)!;
    const t = s.ops.reduce((sum, op) => sum + (opsById.has(op) ? opTime(opsById.get(op)!) : 0), 0);
    return {
      id: i,
      name: s.name,
      ops: s.ops,
      time: ids.map((_, k) => (k === d ? t : Infinity)),
      refused: ids.map(() => null),
      weights: [],
      outBytes: 0,
      workBytes: 0,
    };
  });
  // Task → task flows as the partitioner builds them: each value once per consuming task.
  const flows = new Map<string, { from: number; to: number; bytes: number; values: string[] }>();
  const seen = new Set<string>();
  for (const e of report.edges) {
    const from = segOf.get(e.from);
    const to = segOf.get(e.to);
    if (from === undefined || to === undefined || from === to || seen.has(`${e.value}\u0000${to}`)) continue;
    seen.add(`${e.value}\u0000${to}`);
    const key = `${from}->${to}`;
    const f = flows.get(key) ?? { from, to, bytes: 0, values: [] };
    f.bytes += e.bytes;
    f.values.push(e.value);
    flows.set(key, f);
  }
  const sumBy = (list: { op: string; bytes: number }[]): Map<number, number> => {
    const m = new Map<number, number>();
    for (const x of list) {
      const t = segOf.get(x.op);
      if (t !== undefined) m.set(t, (m.get(t) ?? 0) + x.bytes);
    }
    return m;
  };
  const pairCost = new Map<string, { latency: number; perByte: number }>();
  for (const p of cm.pairs)
    pairCost.set(`${p.from}\u0000${p.to}`, { latency: p.latency ?? Infinity, perByte: p.perByte ?? Infinity });
  for (const p of cal.pairs) {
    pairCost.set(`${p.between[0]}\u0000${p.between[1]}`, p);
    pairCost.set(`${p.between[1]}\u0000${p.between[0]}`, p);
  }
  const home = Math.max(
    0,
    report.devices.findIndex((d) => d.class === 'cpu'),
  );
  const fleet: Fleet = {
    name: plan.fleet.name,
    file: '',
    hosts: [...new Set(plan.fleet.devices.map((d) => d.host))],
    devices: plan.fleet.devices.map((d) => ({ id: d.id, class: d.class, host: d.host }) as unknown as Device),
    links: plan.fleet.links,
    pins: [],
  };
  const p: Problem = {
    fleet,
    devices: fleet.devices,
    tasks,
    flows: [...flows.values()],
    inputs: [...sumBy(report.io.inputs)].map(([to, bytes]) => ({ to, bytes })),
    outputs: [...sumBy(report.io.outputs)].map(([from, bytes]) => ({ from, bytes })),
    home,
    capacity: ids.map(() => Infinity),
    comm(a, c, bytes) {
      if (a === c || bytes === 0) return 0;
      const m = pairCost.get(`${ids[a]}\u0000${ids[c]}`);
      return m ? m.latency + bytes * m.perByte : 0;
    },
    readinessTime: ids.map((id) => fits.get(id)?.readiness?.perOp ?? 0),
    messageTime: {
      send: ids.map((id) => fits.get(id)?.messages?.send ?? cm.devices.find((x) => x.id === id)!.messageOverhead),
      recv: ids.map((id) => fits.get(id)?.messages?.recv ?? cm.devices.find((x) => x.id === id)!.messageOverhead),
    },
    ...(cal.request ? { requestTime: { perDevice: cal.request.perDevice, perOp: cal.request.perOp } } : {}),
  };
  const placement = tasks.map((t) => t.time.findIndex((x) => x !== Infinity));
  // The plan's dispatch order: tasks by the first appearance of their ops in the schedule.
  const first = new Map<number, number>();
  plan.schedule.forEach((s, k) => {
    const t = segOf.get(s.op);
    if (t !== undefined && !first.has(t)) first.set(t, k);
  });
  const priority = tasks
    .map((t) => t.id)
    .sort((x, y) => (first.get(x) ?? Infinity) - (first.get(y) ?? Infinity) || x - y);
  const s = simulate(p, placement, priority);
  return { latency: s.latency, busy: new Map(ids.map((id, i) => [id, s.busy[i]!])) };
}
