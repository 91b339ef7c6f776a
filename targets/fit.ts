// The roofline's parameters fitted to measured op times (`fleetc tune`): per device a line
// seconds = dispatch + FLOPs·perFlop + bytes·perByte (roofline.ts, WorkFit) over all its ops,
// one per kind of work it ran enough of, and for op types whose kernels run measurably off their
// kind's line, that line scaled. A coefficient the measurements do not determine falls back one
// level: a kind's line to the device's line, the device's line to the datasheet (the roofline's
// dispatch overhead, 1 / peak FLOP/s, 1 / memory bandwidth).
import { fitLinear, median } from '../src/util/lsq.js';
import type { DeviceFit, DeviceRoofline, WorkFit } from './roofline.js';
import { WORK_KINDS, workKey, workKind, type WorkKind } from './work.js';

/** One op's measured time on a device, with the work the compiler priced it at. */
export interface OpSample {
  opType: string;
  /** Its op line (work.ts `opLine`) when that is not its op type. */
  line?: string;
  flops: number;
  bytes: number;
  /** Measured seconds per pass. */
  seconds: number;
  /** How many passes the figure covers (more passes, a steadier figure). */
  passes?: number;
  /** Messages to other devices the op sends, and received messages its time includes. */
  sends?: number;
  recvs?: number;
  /** The op ran in a plan spanning devices (the runtime's readiness-driven loop, not the single-device fast path). */
  spanning?: boolean;
  /** Which run measured it: ops of one run that share a `workKey` are averaged before the median over runs. */
  run?: number;
}

/** Where a coefficient comes from: the measurements, the device's line over all kinds, or the datasheet. */
export type CoefSource = 'measured' | 'device' | 'datasheet';

/** A fitted line with what stands behind each coefficient. */
export interface FittedLine extends WorkFit {
  samples: number;
  source: { dispatch: CoefSource; perFlop: CoefSource; perByte: CoefSource };
}

/**
 * An op line's own line: its kind's line scaled by `scale`, how much slower (> 1) or faster its
 * kernel measured (the median ratio), or where one ratio does not fit it, a line fitted to it alone.
 */
export interface FittedOpLine extends FittedLine {
  scale: number;
}

/**
 * An op's own measured time on a device (`workKey`): per run the mean of the ops that share the key
 * (a plan prices each of them at this time, so their sum stays the run's), then the median over
 * the runs.
 */
export interface MeasuredOp {
  seconds: number;
  samples: number;
}

export interface FittedDevice {
  /** Seconds of the device's own time per message it sends and receives (inside its ops' measured times). */
  messages: { send: number; recv: number; source: { send: 'measured' | 'datasheet'; recv: 'measured' | 'datasheet' } };
  /** Seconds per op beyond its time when the device runs in a plan spanning devices. */
  readiness: { perOp: number; source: 'measured' | 'datasheet' };
  all: FittedLine;
  kinds: Partial<Record<WorkKind, FittedLine>>;
  ops: Record<string, FittedOpLine>;
  measuredOps: Record<string, MeasuredOp>;
}

/** Fewest samples of one kind for a line of its own (below it, the kind uses the device's line). */
export const MIN_KIND_SAMPLES = 4;

/** The datasheet line of a device: its dispatch overhead, 1 / peak FLOP/s (default type), 1 / memory bandwidth. */
export function datasheetLine(dev: DeviceRoofline): WorkFit {
  return { dispatch: dev.launchOverhead, perFlop: 1 / dev.peakFlops.default, perByte: 1 / dev.memBandwidth };
}

/**
 * Fits a device's lines to its measured ops: first one line over all of them with the cost of
 * the messages they send and receive (`messageOverhead`: the datasheet's per-message cost at the
 * device's end), then, with the messages' share taken off, one line per kind of work it ran
 * enough of. Samples are weighted by the inverse of their measured time (timing noise grows with
 * the time measured), and Huber weights keep a few disturbed ops from pulling a line.
 */
export function fitDevice(dev: DeviceRoofline, samples: OpSample[], messageOverhead: number): FittedDevice {
  const prior = datasheetLine(dev);
  const usable = samples.filter((s) => s.seconds > 0 && Number.isFinite(s.seconds));
  const X = usable.map((s) => [1, s.flops, s.bytes, s.sends ?? 0, s.recvs ?? 0, s.spanning ? 1 : 0]);
  const r = fitLinear(
    X,
    usable.map((s) => s.seconds),
    [prior.dispatch, prior.perFlop, prior.perByte, messageOverhead, messageOverhead, 0],
    { weights: weightsOf(usable, prior) },
  );
  const src = (j: number): 'measured' | 'datasheet' => (r.fitted[j] ? 'measured' : 'datasheet');
  const messages = { send: r.coef[3]!, recv: r.coef[4]!, source: { send: src(3), recv: src(4) } };
  const readiness = { perOp: r.coef[5]!, source: src(5) };
  const all: FittedLine = {
    dispatch: r.coef[0]!,
    perFlop: r.coef[1]!,
    perByte: r.coef[2]!,
    samples: usable.length,
    source: { dispatch: src(0), perFlop: src(1), perByte: src(2) },
  };
  // The kinds' lines see only their work: each op's messages are taken off its time.
  const work = usable.map((s) => ({
    ...s,
    seconds:
      s.seconds - (s.sends ?? 0) * messages.send - (s.recvs ?? 0) * messages.recv - (s.spanning ? readiness.perOp : 0),
  }));
  // An op line far off its kind's line pulls that line toward itself (the small 1-D convolutions of
  // an audio model weigh most, being the shortest): the kinds are fitted again without the lines
  // found off them, and the lines measured against that.
  let kinds = fitKinds(work, all, new Set());
  let ops = offLines(work, kinds, all);
  if (Object.keys(ops).length) {
    kinds = fitKinds(work, all, new Set(Object.keys(ops)), kinds);
    ops = offLines(work, kinds, all);
  }
  return { messages, readiness, all, kinds, ops, measuredOps: measuredOps(work) };
}

/** Each op's own time (its messages and readiness taken off), by `workKey`, in key order. */
function measuredOps(work: OpSample[]): Record<string, MeasuredOp> {
  // key → run → that run's times of the ops with the key
  const byKey = new Map<string, Map<number, number[]>>();
  for (const s of work) {
    const key = workKey(s);
    let runs = byKey.get(key);
    if (!runs) byKey.set(key, (runs = new Map()));
    const times = runs.get(s.run ?? 0);
    if (times) times.push(s.seconds);
    else runs.set(s.run ?? 0, [s.seconds]);
  }
  const mean = (xs: number[]): number => xs.reduce((a, x) => a + x, 0) / xs.length;
  return Object.fromEntries(
    [...byKey]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, runs]): [string, MeasuredOp] => [
        key,
        {
          seconds: median([...runs.values()].map(mean)),
          samples: [...runs.values()].reduce((n, xs) => n + xs.length, 0),
        },
      ])
      .filter(([, m]) => m.seconds > 0),
  );
}

const lineOf = (s: OpSample): string => s.line ?? s.opType;

/** A line per kind of work the device ran at least MIN_KIND_SAMPLES ops of, leaving out the op lines `without` (unless too few are left, then `before`'s). */
function fitKinds(
  work: OpSample[],
  all: FittedLine,
  without: Set<string>,
  before?: FittedDevice['kinds'],
): FittedDevice['kinds'] {
  const kinds: FittedDevice['kinds'] = {};
  for (const kind of WORK_KINDS) {
    const mine = work.filter((s) => workKind(s.opType) === kind && !without.has(lineOf(s)));
    if (mine.length >= MIN_KIND_SAMPLES) kinds[kind] = fitLine(mine, all);
    else if (before?.[kind]) kinds[kind] = before[kind];
  }
  return kinds;
}

/**
 * Op lines whose kernels run off their kind's line (a Resize is no Reshape, a 1-D convolution no
 * 2-D one): the median ratio of measured to predicted, kept when it differs from 1 by more than
 * 10% and two standard errors. An op line with samples enough for a line of its own gets one when
 * that halves the kind line's median error on them (the FLOPs of a small 1-D convolution are not
 * a fixed multiple of a 2-D one's, so no one ratio fits them).
 */
function offLines(work: OpSample[], kinds: FittedDevice['kinds'], all: FittedLine): FittedDevice['ops'] {
  const ops: FittedDevice['ops'] = {};
  for (const key of [...new Set(work.map(lineOf))].sort()) {
    const mine = work.filter((s) => lineOf(s) === key);
    if (mine.length < 2) continue;
    const line = kinds[workKind(mine[0]!.opType)] ?? all;
    const ratios = mine.map((s) => s.seconds / predict(line, s));
    const scale = median(ratios);
    if (mine.length >= MIN_KIND_SAMPLES) {
      const own = fitLine(mine, line);
      const off = medianError(line, mine);
      if (off > 0.1 && medianError(own, mine) < off / 2) {
        ops[key] = { ...own, scale };
        continue;
      }
    }
    const se = (1.253 * 1.4826 * median(ratios.map((r) => Math.abs(r - scale)))) / Math.sqrt(ratios.length);
    if (!(scale > 0) || Math.abs(scale - 1) < Math.max(0.1, 2 * se)) continue;
    ops[key] = {
      dispatch: line.dispatch * scale,
      perFlop: line.perFlop * scale,
      perByte: line.perByte * scale,
      samples: mine.length,
      source: line.source,
      scale,
    };
  }
  return ops;
}

const predict = (l: WorkFit, s: OpSample): number => l.dispatch + s.flops * l.perFlop + s.bytes * l.perByte;

/** The median of |predicted / measured − 1| over the samples. */
function medianError(l: WorkFit, samples: OpSample[]): number {
  return median(samples.map((s) => Math.abs(predict(l, s) / s.seconds - 1)));
}

function weightsOf(samples: OpSample[], prior: WorkFit): number[] {
  const floor = Math.max(1e-9, prior.dispatch / 10);
  return samples.map((s) => (s.passes ?? 1) / Math.max(s.seconds, floor));
}

function fitLine(samples: OpSample[], fallback: FittedLine): FittedLine {
  const X = samples.map((s) => [1, s.flops, s.bytes]);
  const y = samples.map((s) => s.seconds);
  const prior = [fallback.dispatch, fallback.perFlop, fallback.perByte];
  const r = samples.length ? fitLinear(X, y, prior, { weights: weightsOf(samples, fallback) }) : undefined;
  const coef = r?.coef ?? prior;
  const src = (j: number): CoefSource => (r?.fitted[j] ? 'measured' : sourceOf(fallback, j));
  return {
    dispatch: coef[0]!,
    perFlop: coef[1]!,
    perByte: coef[2]!,
    samples: samples.length,
    source: { dispatch: src(0), perFlop: src(1), perByte: src(2) },
  };
}

/** A kind's fallback is the device's line: a coefficient measured there counts as the device's. */
function sourceOf(line: FittedLine, j: number): CoefSource {
  const own = [line.source.dispatch, line.source.perFlop, line.source.perByte][j]!;
  return own === 'measured' ? 'device' : own;
}

/** A device's lines as the roofline takes them. */
export function deviceFit(
  f: Pick<FittedDevice, 'all' | 'kinds'> & { ops?: Record<string, WorkFit>; measuredOps?: Record<string, MeasuredOp> },
): DeviceFit {
  const line = (l: WorkFit): WorkFit => ({ dispatch: l.dispatch, perFlop: l.perFlop, perByte: l.perByte });
  return {
    all: line(f.all),
    kinds: Object.fromEntries(Object.entries(f.kinds).map(([k, l]) => [k, line(l)])) as DeviceFit['kinds'],
    ...(f.ops ? { ops: Object.fromEntries(Object.entries(f.ops).map(([k, l]) => [k, line(l)])) } : {}),
    ...(f.measuredOps
      ? { measured: Object.fromEntries(Object.entries(f.measuredOps).map(([k, m]) => [k, m.seconds])) }
      : {}),
  };
}
