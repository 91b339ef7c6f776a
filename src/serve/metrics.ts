/**
 * /metrics in the Prometheus text format (prom-client). Latencies are measured here, per token as
 * the front end receives it; the engine's own figures (pages, prefix cache, preemptions, device
 * busy time, link bytes) are read from its `stats` event when the endpoint is scraped and added
 * to what earlier engines counted, so a restart does not reset a counter.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ExitCause } from './engine-link.js';
import type { FinishReason, ServeFigures, SupervisorHooks } from './supervisor.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class ServeMetrics {
  readonly registry = new Registry();
  private readonly ttft: Histogram;
  private readonly itl: Histogram;
  private readonly tokens: Counter;
  private readonly promptTokens: Counter;
  private readonly requests: Counter<'outcome'>;
  private readonly engineTps: Gauge;
  private readonly running: Gauge;
  private readonly waiting: Gauge;
  private readonly pagesUsed: Gauge;
  private readonly pagesFree: Gauge;
  private readonly prefixHitRate: Gauge;
  private readonly prefixHits: Counter;
  private readonly prefixLookups: Counter;
  private readonly prefillSaved: Counter;
  private readonly preemptions: Counter;
  private readonly deviceBusy: Counter<'device'>;
  private readonly linkBytes: Counter<'link'>;
  private readonly restarts: Counter<'cause'>;
  private readonly replan: Histogram;
  private readonly deviceUp: Gauge<'device'>;
  private readonly replacements: Counter;
  private readonly replacementStall: Histogram;
  private readonly deviceSlowdown: Gauge<'device'>;

  constructor(modelName: string) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ model: modelName });
    this.ttft = new Histogram({
      name: 'fleetc_time_to_first_token_seconds',
      help: 'Time from a request arriving to its first generated token',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.itl = new Histogram({
      name: 'fleetc_inter_token_latency_seconds',
      help: 'Time between consecutive tokens of a request',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.tokens = new Counter({
      name: 'fleetc_generated_tokens_total',
      help: 'Tokens generated and sent to clients (rate() of it is tokens/s)',
      registers,
    });
    this.promptTokens = new Counter({ name: 'fleetc_prompt_tokens_total', help: 'Prompt tokens accepted', registers });
    this.requests = new Counter({
      name: 'fleetc_requests_total',
      help: 'Requests finished, by outcome (length, stop, cancelled, error)',
      labelNames: ['outcome'],
      registers,
    });
    this.engineTps = new Gauge({
      name: 'fleetc_engine_decode_tokens_per_second',
      help: 'Tokens per second of the engine’s decode steps (the running engine, since it started)',
      registers,
    });
    this.running = new Gauge({ name: 'fleetc_requests_running', help: 'Requests in the running batch', registers });
    this.waiting = new Gauge({
      name: 'fleetc_requests_waiting',
      help: 'Requests waiting for KV pages or for the engine',
      registers,
    });
    this.pagesUsed = new Gauge({ name: 'fleetc_kv_pages_used', help: 'KV pages held, all pools', registers });
    this.pagesFree = new Gauge({ name: 'fleetc_kv_pages_free', help: 'KV pages free, all pools', registers });
    this.prefixHitRate = new Gauge({
      name: 'fleetc_prefix_cache_hit_rate',
      help: 'Share of prompt tokens whose K/V came from the prefix cache instead of being computed',
      registers,
    });
    this.prefixHits = new Counter({
      name: 'fleetc_prefix_cache_hits_total',
      help: 'KV pages taken from the prefix cache',
      registers,
    });
    this.prefixLookups = new Counter({
      name: 'fleetc_prefix_cache_lookups_total',
      help: 'Prefix cache lookups (one per sequence started or restarted)',
      registers,
    });
    this.prefillSaved = new Counter({
      name: 'fleetc_prefill_tokens_saved_total',
      help: 'Prompt tokens not computed because their pages were shared',
      registers,
    });
    this.preemptions = new Counter({
      name: 'fleetc_preemptions_total',
      help: 'Requests preempted for KV pages (recomputed later)',
      registers,
    });
    this.deviceBusy = new Counter({
      name: 'fleetc_device_busy_seconds_total',
      help: 'Time each device spent executing',
      labelNames: ['device'],
      registers,
    });
    this.linkBytes = new Counter({
      name: 'fleetc_link_bytes_total',
      help: 'Bytes moved over each link',
      labelNames: ['link'],
      registers,
    });
    this.restarts = new Counter({
      name: 'fleetc_engine_restarts_total',
      help: 'Engine restarts, by cause (device_failed, exited)',
      labelNames: ['cause'],
      registers,
    });
    this.replan = new Histogram({
      name: 'fleetc_replan_seconds',
      help: 'Time to make the plan again on the devices left after one was lost',
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.deviceUp = new Gauge({
      name: 'fleetc_device_up',
      help: '1 for a device the served plan runs on, 0 for one lost',
      labelNames: ['device'],
      registers,
    });
    this.replacements = new Counter({
      name: 'fleetc_replacements_total',
      help: 'Live re-placements: the model moved to a plan for the fleet as it runs (--adapt)',
      registers,
    });
    this.replacementStall = new Histogram({
      name: 'fleetc_replacement_stall_seconds',
      help: 'Time the engine stopped stepping to move state and load weights for a live re-placement',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.deviceSlowdown = new Gauge({
      name: 'fleetc_device_slowdown',
      help: 'How much slower than the fleet file says the live controller believes each device is (1: as said)',
      labelNames: ['device'],
      registers,
    });
    this.zeroes();
  }

  private zeroes(): void {
    for (const cause of ['device_failed', 'exited']) this.restarts.inc({ cause }, 0);
    for (const outcome of ['length', 'stop', 'cancelled', 'error']) this.requests.inc({ outcome }, 0);
  }

  /** The supervisor's hooks that feed these metrics (the log hook is left to the caller). */
  hooks(): SupervisorHooks {
    return {
      firstToken: (s) => {
        this.ttft.observe(s);
        this.tokens.inc();
      },
      interToken: (s) => {
        this.itl.observe(s);
        this.tokens.inc();
      },
      finished: (o: FinishReason | 'cancelled' | 'error') => this.requests.inc({ outcome: o }),
      restarted: (c: ExitCause) => {
        this.restarts.inc({ cause: c.device ? 'device_failed' : 'exited' });
        if (c.device) this.deviceUp.set({ device: c.device }, 0);
      },
      replanned: (s, devices) => {
        this.replan.observe(s);
        for (const d of devices) this.deviceUp.set({ device: d }, 1);
      },
      replaced: (r) => {
        this.replacements.inc();
        if (r.stallMs !== undefined) this.replacementStall.observe(r.stallMs / 1e3);
      },
    };
  }

  devices(names: string[]): void {
    for (const d of names) this.deviceUp.set({ device: d }, 1);
  }

  prompt(tokens: number): void {
    this.promptTokens.inc(tokens);
  }

  /** The text format, with the engine's figures as of now. */
  async render(f: ServeFigures): Promise<string> {
    const setCounter = (c: Counter, v: number): void => {
      c.reset();
      c.inc(v);
    };
    this.engineTps.set(f.decodeTokensPerSecond);
    this.running.set(f.running);
    this.waiting.set(f.waiting);
    this.pagesUsed.set(f.pagesUsed);
    this.pagesFree.set(f.pagesFree);
    this.prefixHitRate.set(f.promptTokens ? f.prefillTokensSaved / f.promptTokens : 0);
    setCounter(this.prefixHits, f.prefixHits);
    setCounter(this.prefixLookups, f.prefixLookups);
    setCounter(this.prefillSaved, f.prefillTokensSaved);
    setCounter(this.preemptions, f.preemptions);
    this.deviceBusy.reset();
    for (const [d, ms] of Object.entries(f.deviceBusyMs)) this.deviceBusy.inc({ device: d }, ms / 1e3);
    this.linkBytes.reset();
    for (const [l, b] of Object.entries(f.linkBytes)) this.linkBytes.inc({ link: l }, b);
    for (const [d, x] of Object.entries(f.deviceSlowdown)) this.deviceSlowdown.set({ device: d }, x);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
