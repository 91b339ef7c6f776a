/**
 * A client of the engine process, `fleetrt PLAN --engine` (docs/runtime.md, "The engine
 * protocol"): JSON commands on its stdin, one JSON event per line on its stdout. fleetc generate
 * and fleetc serve drive the engine through it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { FleetcError } from '../src/diagnostics/index.js';
import { readFileSync } from 'node:fs';
import { findFleetrt, fleetrtFailure } from './fleetrt.js';
import { launchCommand, type LauncherKind } from './launch.js';

function planDevices(plan: string): number {
  try {
    return (JSON.parse(readFileSync(plan, 'utf8')) as { devices: unknown[] }).devices.length;
  } catch {
    return 1; // fleetrt reports the unreadable plan itself
  }
}

export interface EngineRequest {
  id: string;
  prompt: number[];
  maxTokens: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  stop?: number[];
  /** Tokens this request already generated (resubmitted after a restart): they count toward maxTokens and advance its sampler. */
  resume?: number[];
}

export interface ReadyEvent {
  event: 'ready';
  vocab: number;
  /** Tokens the KV pool holds (every sequence together). */
  capacityTokens: number;
  /** The most tokens one request may hold (the pool, or the model's positions when fewer). */
  maxContext: number;
  maxStepTokens: number;
  devices: { name: string; backend: string; stateBytes: number }[];
}
export interface TokenEvent {
  event: 'token';
  id: string;
  token: number;
}
export interface DoneEvent {
  event: 'done';
  id: string;
  reason: 'length' | 'stop' | 'cancelled';
  promptTokens: number;
  completionTokens: number;
}
export interface ErrorEvent {
  event: 'error';
  id: string | null;
  message: string;
}
/** The engine's generation figures (docs/runtime.md). */
export interface GenerationStats {
  steps: number;
  decodeSteps: number;
  prefillMs: number;
  decodeStepMs: { mean: number; min: number; p50: number; max: number };
  tokensPerSecond: number;
  kvBytesPerToken: number;
  kvBytesWrittenPerDecodeStep: number;
  kvBytesWrittenPerDecodeToken: number;
  kvBytesReadPerDecodeStep: number;
  kvBytesMovedPerDecodeStep: number;
  kvBytesGatheredPerDecodeStep: number;
  linkBytesPerDecodeStep: number;
  kvOccupancy: number;
  preemptions: number;
  completed: number;
  running: number;
  waiting: number;
  promptTokens: number;
  generatedTokens: number;
  pools: Record<string, { pages: number; freePages: number; pageSize: number; bytes: number; bytesPerToken: number }>;
  /** Prefix reuse: lookups (one per sequence started), pages taken from the cache, prefill tokens saved. */
  prefixHits?: number;
  prefixLookups?: number;
  prefillTokensSaved?: number;
  pagesUsed?: number;
  pagesFree?: number;
  /** Busy time per device and bytes per link since the engine started. */
  devices?: Record<string, { busyMs: number }>;
  links?: Record<string, { bytes: number }>;
}
export interface StatsEvent {
  event: 'stats';
  generation: GenerationStats;
}
/** The engine went on with a new plan of the same model between steps. */
export interface ReplannedEvent {
  event: 'replanned';
  plan: string;
  stallMs: number;
  stateBytesMoved: number;
  weightBytesLoaded: number;
}
export type EngineEvent = ReadyEvent | TokenEvent | DoneEvent | ErrorEvent | StatsEvent | ReplannedEvent;

export interface EngineOptions {
  /** inproc (default): one process; mpi: one rank per device under mpirun (rank 0 schedules). */
  launcher?: LauncherKind;
  threads?: number;
  kvPages?: number;
  maxBatchTokens?: number;
  metrics?: string;
  trace?: string;
  env?: Record<string, string | undefined>;
  /** Share full prompt pages between requests with the same prefix (default: the engine's, on). */
  prefixCache?: boolean;
}

/** How an engine process ended. */
export interface EngineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** One running engine process. Events go to `onEvent`; `ready` resolves once it has opened the plan. */
export class EngineProcess {
  readonly ready: Promise<ReadyEvent>;
  private readonly child: ChildProcess;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderr = '';
  private lastStats: GenerationStats | undefined;
  private statsWaiters: { resolve: (s: GenerationStats) => void; reject: (e: Error) => void }[] = [];
  private ended = false;

  constructor(
    readonly plan: string,
    private readonly onEvent: (e: EngineEvent) => void,
    opts: EngineOptions = {},
  ) {
    const env = { ...process.env, ...opts.env };
    const args = [plan, '--engine'];
    if (opts.threads) args.push('--threads', String(opts.threads));
    if (opts.kvPages) args.push('--kv-pages', String(opts.kvPages));
    if (opts.maxBatchTokens) args.push('--max-batch-tokens', String(opts.maxBatchTokens));
    if (opts.metrics) args.push('--metrics', opts.metrics);
    if (opts.trace) args.push('--trace', opts.trace);
    if (opts.prefixCache === false) args.push('--no-prefix-cache');
    const launch = launchCommand(opts.launcher ?? 'inproc', {
      fleetrt: findFleetrt(env),
      args,
      devices: planDevices(plan),
      mpirun: env.MPIRUN,
      root: typeof process.getuid === 'function' && process.getuid() === 0,
    });
    this.child = spawn(launch.cmd, launch.args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.child.stdin!.on('error', () => {}); // the engine may exit before reading everything
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', (e) => reject(new FleetcError('E0503', `cannot start fleetrt: ${e.message}`)));
      this.child.on('close', (code, signal) => resolve({ code, signal }));
    });
    // A stats request the engine can no longer answer fails instead of waiting forever.
    this.exited.then(
      (r) => this.rejectStats(this.failure(r.code, r.signal)),
      (e: Error) => this.rejectStats(e),
    );
    let readyResolve!: (e: ReadyEvent) => void;
    this.ready = new Promise((resolve, reject) => {
      readyResolve = resolve;
      this.exited.then(
        (r) => reject(this.failure(r.code, r.signal)),
        (e: unknown) => reject(e),
      );
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      let e: EngineEvent;
      try {
        e = JSON.parse(line) as EngineEvent;
      } catch {
        return;
      }
      if (e.event === 'ready') readyResolve(e);
      if (e.event === 'stats') {
        this.lastStats = e.generation;
        for (const w of this.statsWaiters.splice(0)) w.resolve(e.generation);
      }
      this.onEvent(e);
    });
  }

  /** Between steps, continue on a new plan of the same model (a new placement); answered by `replanned` or `error`. */
  replan(plan: string): void {
    this.send({ op: 'replan', plan });
  }
  /** Test knob: `device` takes `factor` times its op time from now on. */
  slowdown(device: string, factor: number): void {
    this.send({ op: 'slowdown', device, factor });
  }

  private send(command: object): void {
    this.child.stdin!.write(JSON.stringify(command) + '\n');
  }

  submit(r: EngineRequest): void {
    this.send({ op: 'submit', ...r });
  }
  cancel(id: string): void {
    this.send({ op: 'cancel', id });
  }
  /** The engine's figures now. */
  stats(): Promise<GenerationStats> {
    return new Promise((resolve, reject) => {
      if (this.ended) return reject(new Error('the engine has exited'));
      this.statsWaiters.push({ resolve, reject });
      this.send({ op: 'stats' });
    });
  }

  private rejectStats(e: Error): void {
    this.ended = true;
    for (const w of this.statsWaiters.splice(0)) w.reject(e);
  }

  /** Resolves when the process has ended, however it ended (never rejects). */
  whenExited(): Promise<EngineExit> {
    return this.exited.then(
      (r) => ({ ...r, stderr: this.stderr }),
      (e: Error) => ({ code: null, signal: null, stderr: `${this.stderr}${e.message}\n` }),
    );
  }

  /** The engine's figures from its last stats event. */
  get latestStats(): GenerationStats | undefined {
    return this.lastStats;
  }

  /** Lets running requests finish, then ends the engine; resolves with its final figures. */
  async close(): Promise<GenerationStats | undefined> {
    this.send({ op: 'shutdown' });
    this.child.stdin!.end();
    const r = await this.exited;
    if (r.code !== 0) throw this.failure(r.code, r.signal);
    return this.lastStats;
  }

  /** Ends the engine at once (requests in flight are lost). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child.kill(signal);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private failure(code: number | null, signal: NodeJS.Signals | null): Error {
    return fleetrtFailure({ code, signal, stdout: '', stderr: this.stderr });
  }
}
