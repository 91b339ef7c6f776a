/**
 * The supervisor: owns the engine process and every request in flight. Requests go to the engine
 * as they come; each token it reports is kept with its request and handed to the request's
 * listener. When the engine dies (a device failed, an MPI rank was killed, any unexpected exit),
 * the plan is made again without the lost device, a new engine starts on it, and every request in
 * flight is submitted again with the tokens it already has (`resume`): the engine re-prefills
 * them and continues exactly where the request was, so a client sees added latency, never a lost
 * or repeated token. When the devices left cannot run the model, every request ends with a 503
 * and the reason.
 */
import { randomUUID } from 'node:crypto';
import type { EngineEvent, EngineProcess, GenerationStats, ReadyEvent } from '../../runtime/engine.js';
import type { EngineExit } from '../../runtime/engine.js';
import { isFleetcError } from '../diagnostics/index.js';
import { exitCause, planDevices, startEngine, type EngineSettings, type ExitCause } from './engine-link.js';
import type { Planner } from './planner.js';

export interface CompletionParams {
  prompt: number[];
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  stop: number[];
}

export type FinishReason = 'length' | 'stop';

/** How a request's progress reaches its client. Exactly one of done/fail ends it. */
export interface RequestListener {
  token(token: number): void;
  done(reason: FinishReason): void;
  fail(status: number, message: string): void;
}

export interface RequestHandle {
  id: string;
  /** Stops the request: the engine frees its pages at its next step. */
  cancel(): void;
}

/** What the supervisor tells the metrics and the log. */
export interface SupervisorHooks {
  firstToken?(seconds: number): void;
  interToken?(seconds: number): void;
  finished?(outcome: FinishReason | 'cancelled' | 'error'): void;
  restarted?(cause: ExitCause): void;
  replanned?(seconds: number, devices: string[]): void;
  log?(line: string): void;
}

/** Figures that add up over the engine's lifetimes (each engine counts from zero). */
export interface Cumulative {
  preemptions: number;
  prefixHits: number;
  prefixLookups: number;
  prefillTokensSaved: number;
  /** Prompt tokens the engines were given (resubmissions included). */
  promptTokens: number;
  deviceBusyMs: Record<string, number>;
  linkBytes: Record<string, number>;
}

export interface ServeFigures extends Cumulative {
  decodeTokensPerSecond: number;
  running: number;
  waiting: number;
  pagesUsed: number;
  pagesFree: number;
}

interface Flight {
  id: string;
  params: CompletionParams;
  tokens: number[];
  listener: RequestListener;
  arrived: number;
  lastToken: number | undefined;
  /** queued: waiting for an engine; submitted: the current engine has it. */
  state: 'queued' | 'submitted';
}

/** Engine failures in a row without a token before the requests in flight are ended (or, failing to start, serving is). */
const MAX_RESTARTS_WITHOUT_PROGRESS = 3;
const STATS_TIMEOUT_MS = 1000;

class LaunchFailure extends Error {
  constructor(
    readonly exit: EngineExit,
    readonly original: unknown,
  ) {
    super('the engine failed to start');
  }
}

function emptyCumulative(): Cumulative {
  return {
    preemptions: 0,
    prefixHits: 0,
    prefixLookups: 0,
    prefillTokensSaved: 0,
    promptTokens: 0,
    deviceBusyMs: {},
    linkBytes: {},
  };
}

function cumulativeOf(s: GenerationStats | undefined): Cumulative {
  const c = emptyCumulative();
  if (!s) return c;
  c.preemptions = s.preemptions;
  c.prefixHits = s.prefixHits ?? 0;
  c.prefixLookups = s.prefixLookups ?? 0;
  c.prefillTokensSaved = s.prefillTokensSaved ?? 0;
  c.promptTokens = s.promptTokens;
  for (const [d, v] of Object.entries(s.devices ?? {})) c.deviceBusyMs[d] = v.busyMs;
  for (const [l, v] of Object.entries(s.links ?? {})) c.linkBytes[l] = v.bytes;
  return c;
}

function addCumulative(a: Cumulative, b: Cumulative): Cumulative {
  const add = (x: Record<string, number>, y: Record<string, number>): Record<string, number> => {
    const out = { ...x };
    for (const [k, v] of Object.entries(y)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    preemptions: a.preemptions + b.preemptions,
    prefixHits: a.prefixHits + b.prefixHits,
    prefixLookups: a.prefixLookups + b.prefixLookups,
    prefillTokensSaved: a.prefillTokensSaved + b.prefillTokensSaved,
    promptTokens: a.promptTokens + b.promptTokens,
    deviceBusyMs: add(a.deviceBusyMs, b.deviceBusyMs),
    linkBytes: add(a.linkBytes, b.linkBytes),
  };
}

export class Supervisor {
  private engine: EngineProcess | undefined;
  private engineNo = 0;
  private readyEvent: ReadyEvent | undefined;
  private devices: string[] = [];
  private planPath = '';
  private readonly flights = new Map<string, Flight>();
  private readonly lost = new Set<string>();
  private recovering: Promise<void> | undefined;
  private failuresWithoutProgress = 0;
  private fatal: string | undefined;
  private closing = false;
  private draining = false;
  private carried = emptyCumulative();
  private lastStats: GenerationStats | undefined;
  private idleWaiters: (() => void)[] = [];
  private restartCount = 0;

  constructor(
    private readonly planner: Planner,
    private settings: EngineSettings,
    private readonly hooks: SupervisorHooks = {},
  ) {}

  /** Makes the first plan and starts the engine on it; throws the compiler's or the engine's error. */
  async start(): Promise<void> {
    const made = await this.planner.initial();
    try {
      await this.launch(made.planPath);
    } catch (e) {
      throw e instanceof LaunchFailure ? e.original : e;
    }
  }

  /** The vocabulary and the tokens one request may hold (prompt + generated), from the running engine. */
  get limits(): { vocab: number; capacityTokens: number } {
    const r = this.readyEvent!;
    return { vocab: r.vocab, capacityTokens: r.maxContext };
  }

  get state(): { status: 'ready' | 'recovering' | 'failed' | 'draining'; reason?: string } {
    if (this.fatal) return { status: 'failed', reason: this.fatal };
    if (this.draining) return { status: 'draining' };
    return { status: this.recovering ? 'recovering' : 'ready' };
  }

  get deviceNames(): string[] {
    return [...this.devices];
  }

  get lostDevices(): string[] {
    return [...this.lost];
  }

  get restarts(): number {
    return this.restartCount;
  }

  get inFlight(): number {
    return this.flights.size;
  }

  /** The engine process now (for tests and fault drills); undefined while it is restarting. */
  get engineProcess(): EngineProcess | undefined {
    return this.engine;
  }

  submit(params: CompletionParams, listener: RequestListener, id: string = randomUUID()): RequestHandle {
    const handle = { id, cancel: () => this.cancel(id) };
    if (this.fatal) {
      listener.fail(503, this.fatal);
      return handle;
    }
    if (this.draining || this.closing) {
      listener.fail(503, 'the server is shutting down');
      return handle;
    }
    const f: Flight = {
      id,
      params,
      tokens: [],
      listener,
      arrived: performance.now(),
      lastToken: undefined,
      state: 'queued',
    };
    this.flights.set(id, f);
    if (this.engine && !this.recovering) this.send(f);
    return handle;
  }

  private send(f: Flight): void {
    const p = f.params;
    f.state = 'submitted';
    this.engine!.submit({
      id: f.id,
      prompt: p.prompt,
      maxTokens: p.maxTokens,
      temperature: p.temperature,
      topK: p.topK,
      topP: p.topP,
      seed: p.seed,
      stop: p.stop,
      ...(f.tokens.length ? { resume: [...f.tokens] } : {}),
    });
  }

  private cancel(id: string): void {
    const f = this.flights.get(id);
    if (!f) return;
    if (f.state === 'submitted' && this.engine) this.engine.cancel(id);
    this.finish(f);
    this.hooks.finished?.('cancelled');
  }

  /** Calls a request's listener; a listener that throws is that request's problem, not the server's. */
  private tell(f: Flight, call: (l: RequestListener) => void): void {
    try {
      call(f.listener);
    } catch (e) {
      this.hooks.log?.(`request ${f.id}: ${(e as Error).message}`);
      if (this.flights.has(f.id)) this.cancel(f.id);
    }
  }

  private finish(f: Flight): void {
    this.flights.delete(f.id);
    if (this.flights.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private onEvent(no: number, e: EngineEvent): void {
    if (no !== this.engineNo) return; // a late line from an engine already replaced
    if (e.event === 'stats') {
      this.lastStats = e.generation;
      return;
    }
    if (e.event === 'ready' || e.event === 'replanned') return;
    if (e.event === 'error' && e.id === null) {
      this.hooks.log?.(`engine: ${e.message}`);
      return;
    }
    const f = this.flights.get(e.id!);
    if (!f || f.state !== 'submitted') return;
    if (e.event === 'token') {
      const now = performance.now();
      if (f.lastToken === undefined) this.hooks.firstToken?.((now - f.arrived) / 1e3);
      else this.hooks.interToken?.((now - f.lastToken) / 1e3);
      f.lastToken = now;
      f.tokens.push(e.token);
      this.failuresWithoutProgress = 0;
      this.tell(f, (l) => l.token(e.token));
    } else if (e.event === 'done') {
      if (e.reason === 'cancelled') return;
      this.finish(f);
      this.hooks.finished?.(e.reason);
      this.tell(f, (l) => l.done(e.reason as FinishReason));
    } else if (e.event === 'error') {
      this.finish(f);
      this.hooks.finished?.('error');
      this.tell(f, (l) => l.fail(400, e.message));
    }
  }

  /** Starts an engine on the plan and waits until it is ready; a failure to start throws LaunchFailure. */
  private async launch(planPath: string): Promise<void> {
    const devices = planDevices(planPath);
    const no = ++this.engineNo;
    const engine = startEngine(planPath, this.settings, (e) => this.onEvent(no, e));
    let ready: ReadyEvent;
    try {
      ready = await engine.ready;
    } catch (e) {
      throw new LaunchFailure(await engine.whenExited(), e);
    }
    if (this.closing) {
      engine.kill();
      return;
    }
    this.engine = engine;
    this.readyEvent = ready;
    this.devices = devices;
    this.planPath = planPath;
    void engine.whenExited().then((exit) => this.onExit(no, exit));
  }

  private onExit(no: number, exit: EngineExit): void {
    if (this.closing || no !== this.engineNo) return;
    this.engine = undefined;
    this.carried = addCumulative(this.carried, cumulativeOf(this.lastStats));
    this.lastStats = undefined;
    this.recovering = this.recover(exitCause(exit, this.devices))
      .catch((e: Error) => this.giveUp(`the engine could not be restarted: ${e.message}`))
      .finally(() => (this.recovering = undefined));
  }

  private async recover(first: ExitCause): Promise<void> {
    let cause = first;
    let launchFailures = 0;
    let planPath = this.planPath;
    // A fault injected for a test (FLEETRT_FAULT) belongs to the engine it was given to.
    if (this.settings.env?.FLEETRT_FAULT ?? process.env.FLEETRT_FAULT)
      this.settings = { ...this.settings, env: { ...this.settings.env, FLEETRT_FAULT: undefined } };
    for (;;) {
      this.restartCount++;
      this.hooks.restarted?.(cause);
      this.hooks.log?.(`${cause.message}; ${this.flights.size} request(s) in flight`);
      if (cause.device) {
        this.lost.add(cause.device);
        try {
          const made = await this.planner.without(this.lost);
          planPath = made.planPath;
          const devices = made.plan.devices.map((d) => d.name);
          this.hooks.replanned?.(made.ms / 1e3, devices);
          this.hooks.log?.(`re-planned on ${devices.join(', ')} in ${(made.ms / 1e3).toFixed(2)} s`);
        } catch (e) {
          const why = isFleetcError(e) ? e.message : (e as Error).message;
          return this.giveUp(`device '${cause.device}' was lost and the devices left cannot run the model: ${why}`);
        }
      } else if (++this.failuresWithoutProgress >= MAX_RESTARTS_WITHOUT_PROGRESS) {
        // The same requests keep taking the engine down: end them, keep serving the others to come.
        this.failuresWithoutProgress = 0;
        this.failAll(
          503,
          `the engine failed ${MAX_RESTARTS_WITHOUT_PROGRESS} times in a row while running this request (last: ${cause.message})`,
        );
      }
      if (this.closing) return;
      try {
        await this.launch(planPath);
        break;
      } catch (e) {
        if (!(e instanceof LaunchFailure)) throw e;
        cause = exitCause(e.exit, planDevices(planPath));
        if (!cause.device && ++launchFailures >= MAX_RESTARTS_WITHOUT_PROGRESS)
          return this.giveUp(`the engine cannot be started again: ${cause.message}`);
      }
    }
    if (this.closing) return;
    let resumed = 0;
    const capacity = this.readyEvent!.maxContext;
    for (const f of [...this.flights.values()]) {
      const last = f.tokens.at(-1);
      if (f.params.prompt.length + f.params.maxTokens > capacity) {
        this.finish(f);
        this.hooks.finished?.('error');
        this.tell(f, (l) =>
          l.fail(
            503,
            `the plan made on the devices left holds ${capacity} tokens, fewer than this request's prompt and max_tokens`,
          ),
        );
        continue;
      }
      if (f.tokens.length >= f.params.maxTokens || (last !== undefined && f.params.stop.includes(last))) {
        // it ended before the engine could say so
        const reason: FinishReason = last !== undefined && f.params.stop.includes(last) ? 'stop' : 'length';
        this.finish(f);
        this.hooks.finished?.(reason);
        this.tell(f, (l) => l.done(reason));
        continue;
      }
      if (f.tokens.length) resumed++;
      this.send(f);
    }
    if (resumed) this.hooks.log?.(`resumed ${resumed} request(s) with the tokens they had`);
  }

  private failAll(status: number, reason: string): void {
    for (const f of [...this.flights.values()]) {
      this.finish(f);
      this.hooks.finished?.('error');
      this.tell(f, (l) => l.fail(status, reason));
    }
  }

  /** The fleet left cannot serve: every request, now and to come, gets a 503 with the reason. */
  private giveUp(reason: string): void {
    this.fatal = reason;
    this.hooks.log?.(reason);
    this.failAll(503, reason);
  }

  /** Figures for /metrics: the engine's now (or its last known, while restarting), plus what earlier engines counted. */
  async figures(): Promise<ServeFigures> {
    let s = this.lastStats;
    if (this.engine) {
      const engine = this.engine;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), STATS_TIMEOUT_MS)));
      s =
        (await Promise.race([engine.stats().catch(() => undefined), timeout]).finally(() => clearTimeout(timer))) ?? s;
    }
    const queued = [...this.flights.values()].filter((f) => f.state === 'queued').length;
    let used = 0;
    let free = 0;
    for (const p of Object.values(s?.pools ?? {})) {
      used += p.pages - p.freePages;
      free += p.freePages;
    }
    return {
      ...addCumulative(this.carried, cumulativeOf(s)),
      decodeTokensPerSecond: s?.tokensPerSecond ?? 0,
      running: s?.running ?? 0,
      waiting: (s?.waiting ?? 0) + queued,
      pagesUsed: s?.pagesUsed ?? used,
      pagesFree: s?.pagesFree ?? free,
    };
  }

  /** Stops taking requests; resolves when those in flight have finished (true) or `ms` has passed (false). */
  drain(ms: number): Promise<boolean> {
    this.draining = true;
    if (this.flights.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.stopDraining(), ms);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(this.flights.size === 0);
      });
    });
  }

  /** Ends a drain now (its promise resolves false when requests are still in flight). */
  stopDraining(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Ends every request still in flight (503) and the engine. */
  async close(): Promise<void> {
    this.draining = true;
    this.closing = true;
    const engine = this.engine;
    this.engine = undefined;
    for (const f of [...this.flights.values()]) {
      if (engine && f.state === 'submitted') engine.cancel(f.id);
      this.finish(f);
      this.hooks.finished?.('error');
      this.tell(f, (l) => l.fail(503, 'the server shut down before the request finished'));
    }
    if (!engine) return;
    const exited = engine.whenExited();
    const timer = setTimeout(() => engine.kill('SIGTERM'), 5000);
    await engine.close().catch(() => undefined);
    await exited;
    clearTimeout(timer);
  }
}
