// fleetc serve under load (issue 11), loopback only, every loop bounded: a Llama-style fixture
// decoder compiled for a 2-device fleet (fixtures/fleets/cpu-gpu-pcie.yaml), 64 concurrent
// streaming clients of our own.
//   1. throughput against serving the same requests one at a time; TTFT and inter-token p50/p99;
//      every request's ids equal a lone `generate()` of its prompt (greedy)
//   2. prefix reuse: the requests share a long system prefix: hit rate, prefill tokens saved, the
//      same ids as a server without reuse
//   3. a KV pool too small for all requests at once: all complete, preemptions counted, same ids
//   4. faults with requests in flight: a device crashing, a device hanging (in-process), an MPI
//      rank killed with SIGKILL (when fleetrt runs the engine under MPI): same ids, the re-plan time
// Exit status 1 when a check fails. BENCH_CLIENTS, BENCH_NEW change the load.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { compile } from '../../src/api/compile.js';
import { serve, type ServeHandle, type ServeOptions } from '../../src/serve/index.js';
import { findFleetrt } from '../../runtime/fleetrt.js';
import { loneGenerate, metric, metricsText, mpiRankPid } from '../../test/serve/helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL = path.join(root, 'fixtures/models/llama_kv_gqa/model.onnx');
const FLEET = path.join(root, 'fixtures/fleets/cpu-gpu-pcie.yaml');
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 64);
const NEW = Number(process.env.BENCH_NEW ?? 48);
const VOCAB = 1000;

let failed = 0;
const check = (ok: boolean, what: string): void => {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failed++;
};
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
function buckets(text: string, name: string): [number, number][] {
  const out: [number, number][] = [];
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"[^}]*\\} (\\S+)$`, 'gm')))
    out.push([m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]);
  return out;
}

/** A quantile (ms) of what a Prometheus histogram gained between two scrapes, linear within a bucket as PromQL's histogram_quantile. */
function histogramQuantile(before: string, after: string, name: string, q: number): number {
  const base = new Map(buckets(before, name));
  const b = buckets(after, name).map(([le, n]): [number, number] => [le, n - (base.get(le) ?? 0)]);
  const rank = q * (b.at(-1)?.[1] ?? 0);
  let [lo, below] = [0, 0];
  for (const [le, count] of b) {
    if (count >= rank)
      return 1e3 * (le === Infinity ? lo : lo + ((le - lo) * (rank - below)) / Math.max(1, count - below));
    [lo, below] = [le, count];
  }
  return NaN;
}
const same = (a: number[][], b: number[][]): boolean => JSON.stringify(a) === JSON.stringify(b);
const ms = (x: number): string => `${x.toFixed(1)} ms`;

/** Distinct prompts of 8..39 tokens, optionally after a shared prefix. */
function makePrompts(n: number, prefix: number[] = []): number[][] {
  return Array.from({ length: n }, (_, i) => [
    ...prefix,
    ...Array.from({ length: 8 + ((i * 7) % 32) }, (_, k) => (i * 131 + k * 17 + 5) % VOCAB),
  ]);
}

interface LoadResult {
  ids: number[][];
  statuses: number[];
  wallMs: number;
  ttft: number[];
  itl: number[];
  /** Longest wait between two tokens of one request. */
  maxGap: number;
}

/**
 * The prompts streamed by the load client (scripts/bench/serve-client.mjs, a worker thread): all
 * at once, or one at a time. `during` runs once every request has its first token.
 */
function load(url: string, prompts: number[][], during?: () => void, mode = 'together'): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./serve-client.mjs', import.meta.url), {
      workerData: { url, prompts, maxTokens: NEW, mode },
    });
    w.on('message', (m: { begun?: boolean; result?: LoadResult }) => {
      if (m.begun) during?.();
      if (m.result) resolve(m.result);
    });
    w.on('error', reject);
  });
}

async function withServer<T>(build: string, o: ServeOptions, body: (s: ServeHandle) => Promise<T>): Promise<T> {
  const s = await serve(build, { port: 0, fleet: FLEET, source: MODEL, ...o });
  try {
    return await body(s);
  } finally {
    await s.close();
  }
}

function engineUnderMpi(plan: string): boolean {
  const fleetrt = findFleetrt();
  const v = spawnSync(fleetrt, ['--version'], { encoding: 'utf8' });
  if (!/mpi/.test(v.stdout + v.stderr)) return false;
  if (spawnSync('mpirun', ['--version']).status !== 0) return false;
  const probe = spawnSync(fleetrt, [plan, '--engine', '--mpi'], { encoding: 'utf8', input: '', timeout: 20_000 });
  return !/runs in one process/.test(probe.stderr);
}

const dir = mkdtempSync(path.join(tmpdir(), 'fleetc-bench-serve-'));
try {
  const build = path.join(dir, 'build');
  const maxContext = Math.ceil((CLIENTS * (300 + NEW)) / 16) * 16;
  // The matrix products pinned to the gpu, as in test/serve: on its own the cost model keeps a
  // decoder this small on the cpu, and the runs below need two devices (one to lose).
  await compile(MODEL, build, { fleet: FLEET, generate: { maxContext }, report: false, pins: ['MatMul=gpu0'] });
  const prompts = makePrompts(CLIENTS);
  console.log(
    `llama_kv_gqa on cpu-gpu-pcie (cpu0 + emulated gpu0), ${CLIENTS} clients, ${NEW} tokens each, greedy; ` +
      `references: a lone generate() per prompt`,
  );
  const want = await loneGenerate(build, prompts, NEW);

  console.log('\n1. throughput, latency, ids');
  const seq = await withServer(build, {}, async (s) => {
    await load(s.url, prompts.slice(0, 4)); // warm-up
    return load(s.url, prompts, undefined, 'one-at-a-time');
  });
  await withServer(build, {}, async (s) => {
    await load(s.url, prompts.slice(0, 4)); // warm-up
    const before = await metricsText(s.url);
    const conc = await load(s.url, prompts);
    const tokens = CLIENTS * NEW;
    const seqTps = tokens / (seq.wallMs / 1e3);
    const concTps = tokens / (conc.wallMs / 1e3);
    console.log(
      `  one at a time: ${(seq.wallMs / 1e3).toFixed(2)} s, ${seqTps.toFixed(0)} tokens/s; ` +
        `${CLIENTS} at once: ${(conc.wallMs / 1e3).toFixed(2)} s, ${concTps.toFixed(0)} tokens/s → ${(concTps / seqTps).toFixed(1)}×`,
    );
    console.log(
      `  clients saw: TTFT p50 ${ms(pct(conc.ttft, 50))}, p99 ${ms(pct(conc.ttft, 99))}; ` +
        `inter-token p50 ${ms(pct(conc.itl, 50))}, p99 ${ms(pct(conc.itl, 99))} (events come in bursts while the cores are busy)`,
    );
    const m = await metricsText(s.url);
    const q = (name: string, p: number): string => ms(histogramQuantile(before, m, name, p));
    const itl = 'fleetc_inter_token_latency_seconds';
    const ttft = 'fleetc_time_to_first_token_seconds';
    console.log(
      `  the server saw (its histograms): TTFT p50 ${q(ttft, 0.5)}, p99 ${q(ttft, 0.99)}; ` +
        `inter-token p50 ${q(itl, 0.5)}, p99 ${q(itl, 0.99)}`,
    );
    check(same(conc.ids, want), `${CLIENTS} concurrent requests: the ids of a lone generate, every one`);
    check(same(seq.ids, want), 'one at a time: the same ids');
    check(concTps >= 4 * seqTps, `throughput ≥ 4× one at a time (${(concTps / seqTps).toFixed(1)}×)`);
  });

  console.log('\n2. prefix reuse (a 256-token system prefix shared by every request)');
  const prefix = Array.from({ length: 256 }, (_, k) => (k * 29 + 3) % VOCAB);
  const shared = makePrompts(CLIENTS, prefix);
  const without = await withServer(build, { prefixCache: false }, (s) => load(s.url, shared));
  await withServer(build, {}, async (s) => {
    const r = await load(s.url, shared);
    const m = await metricsText(s.url);
    const hits = metric(m, 'fleetc_prefix_cache_hits_total') ?? 0;
    const rate = metric(m, 'fleetc_prefix_cache_hit_rate') ?? 0;
    const saved = metric(m, 'fleetc_prefill_tokens_saved_total') ?? 0;
    const promptTokens = shared.reduce((a, p) => a + p.length, 0);
    console.log(
      `  hit rate ${(100 * rate).toFixed(1)}% of prompt tokens (${hits} pages shared), prefill tokens saved ${saved} of ${promptTokens}; ` +
        `wall ${(r.wallMs / 1e3).toFixed(2)} s with reuse, ${(without.wallMs / 1e3).toFixed(2)} s without; ` +
        `TTFT p50 ${ms(pct(r.ttft, 50))} with, ${ms(pct(without.ttft, 50))} without`,
    );
    check(same(r.ids, without.ids), 'the same ids with reuse as without');
    check(saved >= (CLIENTS - 1) * 240, `prefill tokens saved ≥ ${(CLIENTS - 1) * 240}`);
  });

  console.log('\n3. a KV pool too small for every request at once');
  const pages = 64;
  await withServer(build, { kvPages: pages }, async (s) => {
    const r = await load(s.url, prompts);
    const m = await metricsText(s.url);
    const preemptions = metric(m, 'fleetc_preemptions_total') ?? 0;
    const need = prompts.reduce((a, p) => a + Math.ceil((p.length + NEW) / 16), 0);
    console.log(
      `  ${pages} pages per device (${CLIENTS} requests need ${need}); ${preemptions} preemptions; wall ${(r.wallMs / 1e3).toFixed(2)} s`,
    );
    check(
      r.statuses.every((x) => x === 200),
      'every request completes',
    );
    check(same(r.ids, want), 'the ids of a lone generate, every one');
    check(preemptions > 0, 'preemptions counted');
  });

  console.log('\n4. faults with requests in flight');
  const faults: [string, ServeOptions, ((s: ServeHandle) => void) | undefined][] = [
    ['gpu0 crashes (in-process)', { env: { FLEETRT_FAULT: 'device=gpu0,step=30,mode=crash' } }, undefined],
    [
      'cpu0 stops answering (in-process, 2 s watchdog)',
      { env: { FLEETRT_FAULT: 'device=cpu0,step=30,mode=hang' } },
      undefined,
    ],
  ];
  if (engineUnderMpi(path.join(build, 'plan.json')))
    faults.push([
      'MPI rank 1 (gpu0) killed with SIGKILL',
      { launcher: 'mpi' },
      (s) => process.kill(mpiRankPid(s.supervisor.engineProcess!.pid!, 1)!, 'SIGKILL'),
    ]);
  else console.log('  (MPI rank kill skipped: this fleetrt does not run the engine under MPI)');
  for (const [what, o, kill] of faults)
    await withServer(build, o, async (s) => {
      const r = await load(s.url, prompts, kill && (() => kill(s)));
      const m = await metricsText(s.url);
      const replanS = metric(m, 'fleetc_replan_seconds_sum') ?? 0;
      console.log(
        `  ${what}: re-planned on ${s.supervisor.deviceNames.join(', ')} in ${replanS.toFixed(2)} s; ` +
          `longest stall a client saw ${(r.maxGap / 1e3).toFixed(2)} s; wall ${(r.wallMs / 1e3).toFixed(2)} s`,
      );
      check(
        r.statuses.every((x) => x === 200) && same(r.ids, want),
        `${what}: every request completes with the same ids`,
      );
      check(metric(m, 'fleetc_replan_seconds_count') === 1, `${what}: the re-plan is in /metrics`);
    });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(failed ? `\nserve: ${failed} check(s) failed` : '\nserve: every check passed');
process.exit(failed ? 1 : 0);
