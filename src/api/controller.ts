/**
 * Live re-placement (docs/runtime.md, "Live re-placement"): a controller beside a running engine
 * that watches its per-step signals, sees a device get slower (or faster) than the plan assumed,
 * and moves the model to a plan compiled for the fleet as it now is — between steps, with the
 * engine's `replan` — only when the time the new plan is predicted to save over a window pays for
 * the state and weight bytes it moves (the payback rule of MoE re-placement, moe-tune.ts).
 *
 * - **Signals.** The engine's `step` events (fleetrt `--signals`): per device its busy time in
 *   the step, the step's duration, kind and tokens, the queue.
 * - **Speed of a device.** Each plan gets a reference: per device, its busy time per step by step
 *   kind and size (tokens, in quarter octaves), divided by the speed the controller believes the
 *   device has — the lower quartile of the first `baseline` samples, fixed from then on (a belief
 *   that changes later never feeds back into what it is measured against). A step's busy time over
 *   the reference is the device's slowdown in that step; the lower quartile of the last `window`
 *   steps is its estimate (interference from other processes only adds time), taken relative to the fastest
 *   device seen, so that load on the whole host (other processes) moves nothing: only relative
 *   speeds decide a placement. Cost-model error never enters: a plan is measured against itself.
 *   Steps that run while the controller's own compiler is busy are left out (it takes cores from
 *   the engine's device threads unevenly).
 * - **Trigger.** A device's estimate outside [1/threshold, threshold] × what the controller
 *   believed, for `sustain` steps in a row, changes the belief to the estimate (hysteresis: the
 *   next trigger needs another such change).
 * - **Candidates.** Plans of the same model compiled for the fleet with the devices' compute,
 *   bandwidth and launch overhead divided by their believed speed. Compiling takes seconds, longer
 *   than a controller may wait (50 steps), so the contingencies — each device of the plan slowed
 *   by each `contingency` factor — are compiled ahead in the background, and the plan for the
 *   measured speeds is compiled when they change, in a child process (plan-worker.ts) at low
 *   priority; the engine keeps stepping all along.
 * - **Decision.** Each candidate's step time under the believed speeds is predicted from the
 *   plan's own figures (predicted latency plus each device's predicted busy time scaled by its
 *   speed over the speed the plan was compiled for); the best one is taken when it is at least
 *   `minGain` faster than the current plan and gain × measured step time × `horizon` steps exceeds
 *   the cost of moving: state pages in use whose owner changes and weights of the bundles that
 *   change, over the route between the devices and into the receiving device's memory, plus the
 *   stall the engine reported for the last replan.
 * - **Probation.** A prediction can be wrong where a measurement is not: the cost model may misjudge
 *   a device the plans share out differently, and once a plan leaves one device with work to time,
 *   nothing tells that device's own slowdown from the host's (an estimate is relative to the
 *   fastest device seen). So every move is measured: once the new plan has run `window` steps, if
 *   its median step is slower than the steps just before the move by more than `minGain`, the
 *   controller moves back, restores the speeds it believed before, and leaves that plan out for
 *   `horizon` steps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setPriority } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { migrationTime } from '../../passes/partition/moe-cost.js';
import type { EngineEvent, StepEvent } from '../../runtime/engine.js';
import { FleetcError } from '../diagnostics/index.js';
import { FleetCost } from '../fleet/cost.js';
import { loadFleet } from '../fleet/load.js';
import type { Device, Fleet } from '../fleet/types.js';
import type { PlanJSON } from './plan.js';
import { fleetToJSON, type CompileAnswer, type CompileRequest } from './plan-worker.js';
import type { GenerateOptions } from './state-plan.js';

/** What the controller needs of an engine: a replan between steps (EngineProcess has it). */
export interface ReplanTarget {
  replan(plan: string): void;
}

export interface ControllerOptions {
  /** The model the running plan was compiled from. */
  model: string;
  /** The fleet it runs on, with its nominal figures. */
  fleet: string | Fleet;
  /** Where candidate plans are written (one folder each). */
  workDir: string;
  /** Steps of the sliding window a device's speed is the median of (default 16). */
  window?: number;
  /** A device's speed must change by more than this factor to count (default 2). */
  threshold?: number;
  /**
   * The factor for a device timed alone (default 2.5): with nothing to compare it with, load on
   * the host counts as its own slowdown, and on this 2-core VM a lone device reads up to 2.2×
   * slower for hundreds of steps with nothing changed on it (docs/runtime.md).
   */
  loneThreshold?: number;
  /** …for this many steps in a row (default 4). */
  sustain?: number;
  /** Steps skipped after the engine starts or re-plans (default 16). */
  warmup?: number;
  /** Samples of a step kind and size whose lower quartile is its reference (default 16). */
  baseline?: number;
  /**
   * Least relative step-time gain worth a move (default 0.05: MoE re-placement's 1% floor is for a
   * routing window counted exactly; live step times are noisier).
   */
  minGain?: number;
  /** Steps the gain is counted over to pay for a move (default 1000). */
  horizon?: number;
  /** Slowdown factors pre-compiled for each device of the plan (default [2, 4]; [] for none). */
  contingency?: number[];
  /** Objective of the candidate plans (default: the running plan's). */
  objective?: 'latency' | 'throughput';
  /** One line per decision. */
  log?: (line: string) => void;
  /** Called when the engine has gone on with a new plan. */
  onReplace?: (r: Replacement) => void;
  /**
   * How candidates are compiled: 'process' (default: a child process at low priority), 'inline'
   * (in this process; blocks its event loop while compiling), or a function (tests).
   */
  compiler?: 'process' | 'inline' | ((out: string, fleet: Fleet) => Promise<CompileAnswer>);
}

/** One move the controller made. */
export interface Replacement {
  /** Engine step the decision was taken at, and the step of the first signal on the new plan. */
  step: number;
  appliedStep?: number;
  from: string;
  to: string;
  /** The believed speeds (slowdown factors, 1 = as the fleet file says) the decision used. */
  speeds: Record<string, number>;
  /** Predicted step time of the current and the new plan under those speeds (s), and the relative gain. */
  predictedBefore: number;
  predictedAfter: number;
  gain: number;
  /** Measured step time (s) the gain is taken of, and the gain per step and over the horizon (s). */
  stepSeconds: number;
  gainPerStep: number;
  stateBytes: number;
  weightBytes: number;
  moveSeconds: number;
  paybackSteps: number;
  reason: string;
  /** A move back from a plan that ran slower than the one before it (probation). */
  undo?: boolean;
  /** Set on a move that was undone. */
  undone?: boolean;
  /** From the engine's `replanned` event. */
  stallMs?: number;
  stateBytesMoved?: number;
  weightBytesLoaded?: number;
}

export interface Decision {
  step: number;
  action: 'move' | 'keep' | 'undo';
  reason: string;
}

export interface ControllerStats {
  steps: number;
  plan: string;
  /** Believed speeds and the latest estimates (window medians, relative to the fastest device). */
  speeds: Record<string, number>;
  estimates: Record<string, number>;
  /** Moves the engine confirmed (its `replanned` event). */
  replacements: Replacement[];
  /** A move sent to the engine and not confirmed yet. */
  pending?: Replacement;
  decisions: Decision[];
  compiles: { key: string; ms: number; ok: boolean }[];
  candidates: string[];
}

/** A move being measured: the plan it left, the beliefs before it, the step time before it. */
interface Probation {
  move: Replacement;
  back: Candidate;
  speeds: Record<string, number>;
  beforeMs: number;
  samples: number[];
}

interface Candidate {
  key: string;
  /** The speeds the plan was compiled for (devices absent: 1). */
  factors: Record<string, number>;
  planPath: string;
  plan: PlanJSON;
}

/**
 * Interference on a shared host (other processes, the timer) only ever adds time to a step, so a
 * device's speed is read from the lower quartile of its samples, not their mean or median.
 */
const lowQuartile = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 4)]!;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Slowdown factors a candidate plan is compiled for: a measured factor goes to the nearest (in ratio). */
const FACTOR_GRID = [1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64];

/** A slowdown (or speed-up) factor rounded to what is worth a plan of its own: the nearest of FACTOR_GRID (or its inverse). */
export function quantizeFactor(f: number): number {
  if (!(f > 0) || !Number.isFinite(f)) return 1;
  if (f < 1) return 1 / quantizeFactor(1 / f);
  let best = 1;
  for (const g of FACTOR_GRID) if (Math.abs(Math.log(f / g)) < Math.abs(Math.log(f / best))) best = g;
  return f > 64 ? 2 ** Math.round(Math.log2(f)) : best;
}

function factorsKey(f: Record<string, number>): string {
  const parts = Object.entries(f)
    .filter(([, v]) => v !== 1)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([d, v]) => `${d}x${v}`);
  return parts.length ? parts.join(',') : 'nominal';
}

/** The fleet with each named device `factor` times slower: compute and memory bandwidth divided, launch overhead multiplied. */
export function scaleFleet(fleet: Fleet, factors: Record<string, number>): Fleet {
  const named = Object.entries(factors).filter(([, f]) => f !== 1);
  if (!named.length) return fleet;
  const scale = (d: Device): Device => {
    const f = factors[d.id] ?? 1;
    if (f === 1) return d;
    return {
      ...d,
      compute: Object.fromEntries(Object.entries(d.compute).map(([k, v]) => [k, v / f])),
      memory: d.memory.map((m) => ({ ...m, bandwidth: m.bandwidth / f })),
      launchOverhead: d.launchOverhead * f,
    };
  };
  return {
    ...fleet,
    name: `${fleet.name} (${named.map(([d, f]) => `${d} ×${f}`).join(', ')})`,
    devices: fleet.devices.map(scale),
  };
}

/**
 * A plan's step time when its devices run at `speeds` instead of the speeds it was compiled for:
 * the predicted latency plus each device's predicted busy time scaled by the change.
 */
export function predictStep(
  plan: PlanJSON,
  compiledFor: Record<string, number>,
  speeds: Record<string, number>,
): number {
  let t = plan.predicted.latency;
  for (const [d, busy] of Object.entries(plan.predicted.busy))
    t += busy * ((speeds[d] ?? 1) / (compiledFor[d] ?? 1) - 1);
  return Math.max(t, plan.predicted.latency * 1e-3);
}

function readPlanFile(path: string): PlanJSON {
  return JSON.parse(readFileSync(path, 'utf8')) as PlanJSON;
}

const weightsOf = (plan: PlanJSON, device: string): { sha256: string; bytes: number } | undefined =>
  plan.devices.find((d) => d.name === device)?.bundle.files.find((f) => f.path === 'weights.bin');

/**
 * Per device and step kind / token bucket: busy µs per step at speed 1, the median of its first
 * samples (each divided by the speed believed then), fixed from then on — a belief that changes
 * later never feeds back into what it is measured against.
 */
type Reference = Map<string, Map<string, { samples: number[]; us: number }>>;

function bucketOf(e: StepEvent): string {
  const t = Math.max(1, e.tokens);
  return `${e.kind}:${t <= 4 ? t : Math.round(Math.log2(t) * 4)}`;
}

/** Busy time (µs) below which a device's step is too short to time reliably. */
const MIN_BUSY_US = 10;

export class Controller {
  private readonly o: Required<Omit<ControllerOptions, 'log' | 'objective' | 'compiler' | 'onReplace'>> &
    Pick<ControllerOptions, 'log' | 'compiler' | 'onReplace'>;
  private readonly fleet: Fleet;
  private readonly cost: FleetCost;
  private readonly generate: GenerateOptions;
  private readonly objective: 'latency' | 'throughput';
  private current: Candidate;
  private readonly candidates = new Map<string, Candidate>();
  private readonly compiling = new Set<string>();
  private readonly compileLog: ControllerStats['compiles'] = [];
  private readonly queue: { key: string; factors: Record<string, number>; urgent: boolean }[] = [];
  private worker: ChildProcess | undefined;
  private workerWaiters = new Map<number, (a: CompileAnswer) => void>();
  private nextId = 1;
  private pumping = false;
  private closed = false;

  private steps = 0;
  private lastStep = -1;
  private stepsOnPlan = 0;
  private reference: Reference = new Map();
  private ratios = new Map<string, number[]>();
  private stepMs: number[] = [];
  private pagesUsed = 0;
  private speeds: Record<string, number> = {};
  /** The beliefs before the last change of them: what a move made on the new ones falls back to. */
  private priorSpeeds: Record<string, number> = {};
  private probation: Probation | undefined;
  private nextProbation: Omit<Probation, 'move' | 'samples'> | undefined;
  /** Candidates a move to which was undone: left out until this step. */
  private readonly refuted = new Map<string, number>();
  private estimates: Record<string, number> = {};
  private drift = 0;
  private pending: Replacement | undefined;
  private stallSeconds: number | undefined;
  readonly replacements: Replacement[] = [];
  readonly decisions: Decision[] = [];
  /** Resolves when the contingency plans are compiled (failed ones included). */
  readonly prepared: Promise<void>;
  private resolvePrepared!: () => void;

  constructor(
    private readonly engine: ReplanTarget,
    planPath: string,
    opts: ControllerOptions,
  ) {
    this.o = {
      model: opts.model,
      fleet: opts.fleet,
      workDir: opts.workDir,
      window: opts.window ?? 16,
      threshold: opts.threshold ?? 2,
      loneThreshold: Math.max(opts.loneThreshold ?? 2.5, opts.threshold ?? 2),
      sustain: opts.sustain ?? 4,
      warmup: opts.warmup ?? 16,
      baseline: opts.baseline ?? 16,
      minGain: opts.minGain ?? 0.05,
      horizon: opts.horizon ?? 1000,
      contingency: opts.contingency ?? [2, 4],
      log: opts.log,
      compiler: opts.compiler,
      onReplace: opts.onReplace,
    };
    if (!(this.o.threshold > 1))
      throw new FleetcError('E0901', `the controller's threshold must be > 1, not ${this.o.threshold}`);
    this.fleet = typeof opts.fleet === 'string' ? loadFleet(opts.fleet) : opts.fleet;
    this.cost = new FleetCost(this.fleet);
    const plan = readPlanFile(planPath);
    if (!plan.generation)
      throw new FleetcError('E0601', 'live re-placement needs a plan compiled for generation', { file: planPath });
    const g = plan.generation;
    // Every candidate keeps the running plan's pool, pages and step budget: the engine's state must fit it.
    this.generate = { maxContext: g.capacityTokens, pageSize: g.pageSize, maxStepTokens: g.maxStepTokens };
    this.objective = opts.objective ?? plan.pipeline.options.objective;
    this.current = { key: 'nominal', factors: {}, planPath: resolve(planPath), plan };
    this.candidates.set(this.current.key, this.current);
    for (const d of this.fleet.devices) this.speeds[d.id] = 1;
    this.priorSpeeds = { ...this.speeds };
    mkdirSync(this.o.workDir, { recursive: true });
    this.prepared = new Promise((r) => (this.resolvePrepared = r));
    const used = plan.devices.map((d) => d.name);
    for (const d of used)
      for (const f of this.o.contingency) {
        const factors = { [d]: quantizeFactor(f) };
        this.enqueue(factorsKey(factors), factors, false);
      }
    void this.pump();
  }

  /** Feed every event of the engine here. */
  onEvent(e: EngineEvent): void {
    if (this.closed) return;
    if (e.event === 'step') this.onStep(e);
    else if (e.event === 'replanned') this.onReplanned(e.plan, e.stallMs, e.stateBytesMoved, e.weightBytesLoaded);
    else if (e.event === 'error' && e.id === null && e.message.startsWith('replan') && this.pending) {
      this.note('keep', `the engine refused the new plan (${e.message}); staying`);
      const bad = this.keyOf(this.pending.to);
      if (bad !== this.current.key) this.candidates.delete(bad);
      this.pending = undefined;
      this.nextProbation = undefined;
    }
  }

  /** Nothing to compile and no replan under way. */
  get idle(): boolean {
    return !this.pumping && this.queue.length === 0 && !this.pending;
  }

  /** The plan the engine runs (as far as the controller knows). */
  get planPath(): string {
    return this.current.planPath;
  }

  stats(): ControllerStats {
    return {
      steps: this.steps,
      plan: this.current.planPath,
      speeds: { ...this.speeds },
      estimates: { ...this.estimates },
      replacements: this.replacements.map((r) => ({ ...r })),
      ...(this.pending ? { pending: { ...this.pending } } : {}),
      decisions: [...this.decisions],
      compiles: [...this.compileLog],
      candidates: [...this.candidates.keys()],
    };
  }

  /** Stops the compiler (a compile under way is dropped); the engine keeps the plan it has. */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    this.resolvePrepared();
    const w = this.worker;
    this.worker = undefined;
    if (!w || w.exitCode !== null || w.signalCode !== null) return;
    const exited = new Promise<void>((r) => w.once('close', () => r()));
    w.kill('SIGTERM');
    const timer = setTimeout(() => w.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }

  // ---- signals

  private onStep(e: StepEvent): void {
    if (e.step <= this.lastStep) return;
    this.lastStep = e.step;
    this.steps++;
    this.stepsOnPlan++;
    this.pagesUsed = e.pagesUsed;
    if (this.pending) {
      // still on the old plan until the engine says `replanned`
      return;
    }
    if (this.stepsOnPlan <= this.o.warmup) return;
    // A move on probation is judged on whole steps, the compiler running or not (at nice 10 it
    // slows them little; a plan that runs worse than the one it replaced should not wait seconds).
    if (this.probation) {
      this.probation.samples.push(e.ms);
      if (this.probation.samples.length >= this.o.window) this.judge(e.step);
      if (this.pending) return;
    }
    // The compiler takes cores from the engine, not evenly across devices: its steps say nothing
    // about the devices, and become no part of a reference or an estimate.
    if (this.pumping) {
      this.drift = 0;
      return;
    }
    this.stepMs.push(e.ms);
    if (this.stepMs.length > 4 * this.o.window) this.stepMs.shift();
    const bucket = bucketOf(e);
    for (const [d, s] of Object.entries(e.devices)) {
      let ref = this.reference.get(d);
      if (!ref) this.reference.set(d, (ref = new Map()));
      let r = ref.get(bucket);
      if (!r) ref.set(bucket, (r = { samples: [], us: 0 }));
      if (r.samples.length < this.o.baseline) {
        r.samples.push(s.busyUs / (this.speeds[d] ?? 1));
        if (r.samples.length === this.o.baseline) r.us = lowQuartile(r.samples);
        continue;
      }
      if (r.us < MIN_BUSY_US) continue;
      let q = this.ratios.get(d);
      if (!q) this.ratios.set(d, (q = []));
      q.push(s.busyUs / r.us);
      if (q.length > this.o.window) q.shift();
    }
    this.estimate(e.step);
  }

  private estimate(step: number): void {
    const raw: Record<string, number> = {};
    for (const [d, q] of this.ratios) if (q.length >= this.o.window) raw[d] = lowQuartile(q);
    const seen = Object.keys(raw);
    if (!seen.length) return;
    // Relative to the fastest device seen: load on the whole host slows every device alike.
    const base = seen.length > 1 ? Math.min(...seen.map((d) => raw[d]!)) : 1;
    for (const d of seen) this.estimates[d] = raw[d]! / base;
    const threshold = seen.length > 1 ? this.o.threshold : this.o.loneThreshold;
    const off = seen.some((d) => {
      const r = this.estimates[d]! / (this.speeds[d] ?? 1);
      return r > threshold || r < 1 / threshold;
    });
    this.drift = off ? this.drift + 1 : 0;
    if (this.drift < this.o.sustain) return;
    this.drift = 0;
    const before = factorsKey(this.rounded(this.speeds));
    this.priorSpeeds = { ...this.speeds };
    for (const d of seen) this.speeds[d] = this.estimates[d]!;
    this.o.log?.(
      `live: step ${step}: device speeds changed (${seen.map((d) => `${d} ×${this.estimates[d]!.toFixed(2)}`).join(', ')}; was ${before})`,
    );
    const want = this.rounded(this.speeds);
    const key = factorsKey(want);
    if (!this.candidates.has(key) && !this.compiling.has(key)) this.enqueue(key, want, true);
    this.decide(step);
  }

  private rounded(s: Record<string, number>): Record<string, number> {
    return Object.fromEntries(Object.entries(s).map(([d, f]) => [d, quantizeFactor(f)]));
  }

  // ---- decisions

  private decide(step: number): void {
    if (this.pending || this.closed) return;
    const speeds = this.speeds;
    const now = predictStep(this.current.plan, this.current.factors, speeds);
    let best = this.current;
    let bestT = now;
    for (const c of this.candidates.values()) {
      if ((this.refuted.get(c.key) ?? -1) > step) continue;
      const t = predictStep(c.plan, c.factors, speeds);
      if (t < bestT * (1 - 1e-9)) {
        best = c;
        bestT = t;
      }
    }
    const speedText = Object.entries(speeds)
      .filter(([, f]) => Math.abs(f - 1) > 0.05)
      .map(([d, f]) => `${d} ×${f.toFixed(2)}`)
      .join(', ');
    const label = speedText || 'every device at its nominal speed';
    if (best === this.current) {
      this.note(
        'keep',
        `step ${step}: with ${label} no candidate beats the running plan (${this.candidates.size} known)`,
        step,
      );
      return;
    }
    const gain = 1 - bestT / now;
    // the steps since the speeds changed: a trigger needs most of the last window off the belief
    const recent = this.stepMs.slice(-this.o.window);
    const stepSeconds = recent.length ? median(recent) / 1e3 : now;
    const gainPerStep = gain * stepSeconds;
    const move = this.moveCost(best.plan);
    const paybackSteps = gainPerStep > 0 ? move.seconds / gainPerStep : Infinity;
    const r: Replacement = {
      step,
      from: this.current.planPath,
      to: best.planPath,
      speeds: { ...speeds },
      predictedBefore: now,
      predictedAfter: bestT,
      gain,
      stepSeconds,
      gainPerStep,
      stateBytes: move.stateBytes,
      weightBytes: move.weightBytes,
      moveSeconds: move.seconds,
      paybackSteps,
      reason: '',
    };
    if (gain < this.o.minGain) {
      this.note(
        'keep',
        `step ${step}: with ${label} the plan for ${best.key} would be ${(gain * 100).toFixed(1)}% faster, less than ${(this.o.minGain * 100).toFixed(0)}%`,
        step,
      );
      return;
    }
    if (paybackSteps > this.o.horizon) {
      this.note(
        'keep',
        `step ${step}: the plan for ${best.key} would save ${fmtS(gainPerStep)} per step, ${fmtS(gainPerStep * this.o.horizon)} over ${this.o.horizon} steps, less than moving ${fmtBytes(move.stateBytes + move.weightBytes)} (${fmtS(move.seconds)})`,
        step,
      );
      return;
    }
    r.reason = `with ${label} the plan for ${best.key} is predicted ${(gain * 100).toFixed(0)}% faster: ${fmtS(gainPerStep)} per step pays for moving ${fmtBytes(move.stateBytes)} of state and ${fmtBytes(move.weightBytes)} of weights (${fmtS(move.seconds)}) in ${paybackSteps.toFixed(1)} steps`;
    this.note('move', `step ${step}: ${r.reason}`, step);
    this.pending = r;
    this.nextProbation = { back: this.current, speeds: { ...this.priorSpeeds }, beforeMs: stepSeconds * 1e3 };
    this.engine.replan(best.planPath);
  }

  /** Ends the probation of the last move: kept when its steps are not slower than before it, else undone. */
  private judge(step: number): void {
    const p = this.probation!;
    this.probation = undefined;
    const after = median(p.samples);
    const key = this.current.key;
    if (after <= p.beforeMs * (1 + this.o.minGain)) {
      this.note(
        'keep',
        `step ${step}: the plan for ${key} runs ${after.toFixed(3)} ms per step, ${p.beforeMs.toFixed(3)} ms before the move: kept`,
        step,
      );
      return;
    }
    p.move.undone = true;
    this.refuted.set(key, step + this.o.horizon);
    this.speeds = { ...p.speeds };
    const move = this.moveCost(p.back.plan);
    const gainPerStep = (after - p.beforeMs) / 1e3;
    const r: Replacement = {
      step,
      from: this.current.planPath,
      to: p.back.planPath,
      speeds: { ...this.speeds },
      predictedBefore: after / 1e3,
      predictedAfter: p.beforeMs / 1e3,
      gain: 1 - p.beforeMs / after,
      stepSeconds: after / 1e3,
      gainPerStep,
      stateBytes: move.stateBytes,
      weightBytes: move.weightBytes,
      moveSeconds: move.seconds,
      paybackSteps: move.seconds / gainPerStep,
      reason: `the plan for ${key} runs ${after.toFixed(3)} ms per step, slower than the ${p.beforeMs.toFixed(3)} ms before the move: back to the plan for ${p.back.key}, the speeds believed before, and no plan for ${key} for ${this.o.horizon} steps`,
      undo: true,
    };
    this.note('undo', `step ${step}: ${r.reason}`, step);
    this.pending = r;
    this.engine.replan(p.back.planPath);
  }

  /** Bytes a replan to `next` moves and the seconds that takes (plus the last replan's stall). */
  private moveCost(next: PlanJSON): { stateBytes: number; weightBytes: number; seconds: number } {
    const cur = this.current.plan;
    const tokens = this.pagesUsed * (cur.generation?.pageSize ?? 16);
    let stateBytes = 0;
    let weightBytes = 0;
    let seconds = this.stallSeconds ?? 0;
    const home = cur.devices.find((d) => d.home)?.name ?? cur.devices[0]!.name;
    const bandwidth = (id: string): number => this.fleet.devices.find((d) => d.id === id)?.memory[0]?.bandwidth ?? 1e9;
    cur.state.forEach((s, i) => {
      const to = next.state[i]?.owner;
      if (!to || to === s.owner) return;
      const bytes = tokens * (s.bytesPerToken ?? 0);
      stateBytes += bytes;
      seconds += migrationTime(this.cost, s.owner, to, bytes) + bytes / bandwidth(to);
    });
    for (const d of next.devices) {
      const w = weightsOf(next, d.name);
      const before = weightsOf(cur, d.name);
      if (!w || (before && before.sha256 === w.sha256)) continue;
      weightBytes += w.bytes;
      // The engine reads the bundle on the home device's host and hands it to the device.
      const hop = migrationTime(this.cost, home, d.name, w.bytes);
      seconds += (Number.isFinite(hop) ? hop : 0) + w.bytes / bandwidth(d.name);
    }
    return { stateBytes, weightBytes, seconds };
  }

  private onReplanned(plan: string, stallMs: number, stateBytesMoved: number, weightBytesLoaded: number): void {
    const r = this.pending;
    if (!r) return;
    this.pending = undefined;
    const next = [...this.candidates.values()].find((c) => resolve(c.planPath) === resolve(plan));
    if (!next) return;
    r.stallMs = stallMs;
    r.stateBytesMoved = stateBytesMoved;
    r.weightBytesLoaded = weightBytesLoaded;
    r.appliedStep = this.lastStep + 1;
    this.replacements.push(r);
    this.stallSeconds = stallMs / 1e3;
    this.o.log?.(
      `live: on the plan for ${next.key} (stall ${stallMs.toFixed(1)} ms, ${fmtBytes(stateBytesMoved)} of state moved, ${fmtBytes(weightBytesLoaded)} of weights loaded)`,
    );
    this.current = next;
    const probation = this.nextProbation;
    this.nextProbation = undefined;
    if (!r.undo && probation) this.probation = { ...probation, move: r, samples: [] };
    // A new plan: a new reference, taken at the speeds believed now.
    this.stepsOnPlan = 0;
    this.reference = new Map();
    this.ratios = new Map();
    this.stepMs = [];
    this.drift = 0;
    this.o.onReplace?.(r);
  }

  private note(action: Decision['action'], reason: string, step = this.lastStep): void {
    this.decisions.push({ step, action, reason });
    if (this.decisions.length > 200) this.decisions.splice(0, 100);
    this.o.log?.(`live: ${reason}`);
  }

  private keyOf(planPath: string): string {
    for (const c of this.candidates.values()) if (c.planPath === planPath) return c.key;
    return '';
  }

  // ---- the compiler

  private enqueue(key: string, factors: Record<string, number>, urgent: boolean): void {
    // One device: nowhere to move to.
    if (this.fleet.devices.length < 2) return;
    if (this.candidates.has(key) || this.queue.some((q) => q.key === key)) return;
    if (urgent) this.queue.unshift({ key, factors, urgent });
    else this.queue.push({ key, factors, urgent });
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length && !this.closed) {
        const job = this.queue.shift()!;
        if (this.candidates.has(job.key)) continue;
        this.compiling.add(job.key);
        const out = join(this.o.workDir, `plan-${job.key.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
        const t0 = performance.now();
        const answer = await this.compileOrReuse(out, scaleFleet(this.fleet, job.factors));
        this.compiling.delete(job.key);
        if (this.closed) break;
        const ms = performance.now() - t0;
        this.compileLog.push({ key: job.key, ms, ok: answer.ok });
        if (!answer.ok) {
          this.o.log?.(`live: no plan for ${job.key}: ${answer.message}`);
          continue;
        }
        this.candidates.set(job.key, {
          key: job.key,
          factors: job.factors,
          planPath: resolve(answer.planPath),
          plan: readPlanFile(answer.planPath),
        });
        // A plan for the speeds measured now may beat the one the engine runs.
        if (job.urgent && this.lastStep >= 0) this.decide(this.lastStep);
      }
    } finally {
      this.pumping = false;
      if (!this.queue.some((q) => !q.urgent)) this.resolvePrepared();
    }
    if (this.queue.length && !this.closed) void this.pump();
  }

  /**
   * A plan folder of the work folder that was compiled from the same request (model file, fleet,
   * objective, generation options) is used again: candidates survive a restart of the controller.
   */
  private async compileOrReuse(out: string, fleet: Fleet): Promise<CompileAnswer> {
    let model = '';
    try {
      const st = statSync(this.o.model);
      model = `${resolve(this.o.model)}:${st.size}:${st.mtimeMs}`;
    } catch {
      // the compile reports it
    }
    const request = JSON.stringify({
      model,
      fleet: fleetToJSON(fleet),
      objective: this.objective,
      generate: this.generate,
    });
    const stamp = join(out, 'request.json');
    if (model && existsSync(join(out, 'plan.json')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === request)
      return { id: 0, ok: true, planPath: join(out, 'plan.json'), ms: 0 };
    rmSync(stamp, { force: true });
    const a = await this.compile(out, fleet);
    if (a.ok && model) writeFileSync(stamp, request);
    return a;
  }

  private async compile(out: string, fleet: Fleet): Promise<CompileAnswer> {
    const id = this.nextId++;
    const req: CompileRequest = {
      id,
      model: this.o.model,
      out,
      fleet: fleetToJSON(fleet),
      objective: this.objective,
      generate: this.generate,
    };
    if (typeof this.o.compiler === 'function') return this.o.compiler(out, fleet);
    if (this.o.compiler === 'inline') {
      const { compile } = await import('./compile.js');
      try {
        const r = await compile(req.model, out, {
          fleet,
          objective: req.objective,
          generate: req.generate,
          report: false,
          force: true,
        });
        return { id, ok: true, planPath: r.planPath, ms: r.ms };
      } catch (e) {
        return { id, ok: false, message: (e as Error).message };
      }
    }
    const w = this.startWorker();
    return new Promise<CompileAnswer>((res) => {
      this.workerWaiters.set(id, res);
      w.stdin!.write(JSON.stringify(req) + '\n');
    });
  }

  private startWorker(): ChildProcess {
    if (this.worker) return this.worker;
    const here = fileURLToPath(import.meta.url);
    const fromSource = here.endsWith('.ts');
    const entry = join(dirname(here), fromSource ? 'plan-worker.ts' : 'plan-worker.js');
    // From the sources (tests, tsx) the worker needs the TypeScript loader; the built package runs it as it is.
    const loader = fromSource ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [];
    const w = spawn(process.execPath, [...loader, entry], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    w.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    w.stdin!.on('error', () => {});
    try {
      // Compiles wait for idle cores: the engine's steps come first.
      if (w.pid) setPriority(w.pid, 10);
    } catch {
      // not allowed here: it runs at normal priority
    }
    createInterface({ input: w.stdout! }).on('line', (line) => {
      let a: CompileAnswer;
      try {
        a = JSON.parse(line) as CompileAnswer;
      } catch {
        return;
      }
      const res = this.workerWaiters.get(a.id);
      this.workerWaiters.delete(a.id);
      res?.(a);
    });
    w.on('close', (code) => {
      if (this.worker === w) this.worker = undefined;
      for (const [id, res] of this.workerWaiters)
        res({
          id,
          ok: false,
          message: `the compiler exited (${code ?? 'signal'}): ${stderr.trim().split('\n').pop() ?? ''}`,
        });
      this.workerWaiters.clear();
    });
    this.worker = w;
    return w;
  }
}

function fmtS(s: number): string {
  if (!Number.isFinite(s)) return '∞';
  if (s >= 1) return `${s.toFixed(2)} s`;
  if (s >= 1e-3) return `${(s * 1e3).toFixed(2)} ms`;
  return `${(s * 1e6).toFixed(1)} µs`;
}

function fmtBytes(b: number): string {
  if (b >= 1 << 20) return `${(b / (1 << 20)).toFixed(1)} MiB`;
  if (b >= 1 << 10) return `${(b / (1 << 10)).toFixed(1)} KiB`;
  return `${b} B`;
}
