// Shared by the real-size model benchmarks (large.ts, stablehlo-model.ts): the generated models in
// bench/.cache/models (fixtures/gen/export_large_models.py), fleetrt and onnxruntime-node timed in
// interleaved rounds, and the reference figures (memcpy, GEMM) measured in the same run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { compile } from '../../src/api/compile.js';
import { run } from '../../src/api/run.js';
import { readNpy, type NpyArray } from '../../src/util/npy.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const cacheDir = path.join(root, 'bench/.cache/models');
export const THREADS = Number(process.env.BENCH_THREADS ?? Math.min(2, availableParallelism()));
/** Rounds of (fleetrt × REPEAT, ORT × REPEAT); the first fleetrt run of each round is a warm-up. */
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
export const REPEAT = Number(process.env.BENCH_REPEAT ?? 6);
/**
 * Past ROUNDS, rounds go on (up to MAX_ROUNDS) until each runtime's timed runs add up to MIN_MS:
 * a 36 ms model gets 28 rounds, a 120 ms one 9. This host's speed changes for seconds to minutes
 * at a time (docs/runtime.md, Benchmarks), so a median needs many short rounds, each pairing both
 * runtimes in the same spell.
 */
export const MIN_MS = Number(process.env.BENCH_MIN_MS ?? 6000);
export const MAX_ROUNDS = Number(process.env.BENCH_MAX_ROUNDS ?? 40);
export const ROUNDS_NOTE = `${ROUNDS}–${MAX_ROUNDS} interleaved rounds × ${REPEAT} runs (rounds until ${MIN_MS} ms of runs each)`;

export interface ModelInfo {
  name: string;
  params: number;
  weight_bytes: number;
  inputs: string[];
  outputs: string[];
  sets: Record<string, { flops: number; shapes: Record<string, number[]> }>;
  mlir_inputs?: string[];
}

/**
 * The generated model folder, made by the exporter when missing. Returns null (with the reason)
 * when it cannot be made here (no Debian python3 with torch).
 */
export function ensureModel(name: string): { dir: string; info: ModelInfo } | { skip: string } {
  const dir = path.join(cacheDir, name);
  const infoFile = path.join(dir, 'info.json');
  if (!existsSync(infoFile)) {
    mkdirSync(cacheDir, { recursive: true });
    const r = spawnSync('/usr/bin/python3', ['fixtures/gen/export_large_models.py', '--only', name], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'pipe'],
      encoding: 'utf8',
    });
    if (r.status !== 0 || !existsSync(infoFile)) {
      const why = (r.stderr ?? r.error?.message ?? '').trim().split('\n').pop() ?? '';
      return { skip: `export_large_models.py --only ${name} failed: ${why.slice(0, 120)}` };
    }
  }
  return { dir, info: JSON.parse(readFileSync(infoFile, 'utf8')) as ModelInfo };
}

/** Compiles into bench/.cache/builds/<tag> (reused when BENCH_REUSE_BUILDS=1 and present). */
export async function build(model: string, tag: string, dims: Record<string, number> = {}): Promise<string> {
  const out = path.join(root, 'bench/.cache/builds', tag);
  const plan = path.join(out, 'plan.json');
  if (process.env.BENCH_REUSE_BUILDS === '1' && existsSync(plan)) return plan;
  const c = await compile(model, out, { dims, force: true, report: false });
  return c.planPath;
}

const ORT_TYPES: Record<string, 'float32' | 'int64' | 'int32' | 'float64'> = {
  '<f4': 'float32',
  '<i8': 'int64',
  '<i4': 'int32',
  '<f8': 'float64',
};

export function ortTensor(a: NpyArray): ort.Tensor {
  const type = ORT_TYPES[a.descr];
  if (!type) throw new Error(`npy element type ${a.descr} not handled`);
  const data =
    type === 'float32'
      ? Float32Array.from(a.data)
      : type === 'float64'
        ? Float64Array.from(a.data)
        : type === 'int32'
          ? Int32Array.from(a.data)
          : BigInt64Array.from(Array.from(a.data, (v) => BigInt(v)));
  return new ort.Tensor(type, data, a.shape);
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export interface Timing {
  fleetMs: number;
  ortMs: number;
  /**
   * fleetrt/ORT paired by round: the median over rounds of the ratio of the round's medians, which
   * the machine's slow and fast spells (seconds to minutes long on a shared host) move less than the
   * ratio of the overall medians
   */
  ratio: number;
  /** the baseline's median (another fleetrt and plan, timed in the same rounds), when given */
  baselineMs?: number;
  /** paired by round as `ratio`: the baseline against ORT, and fleetrt against the baseline */
  baselineRatio?: number;
  vsBaseline?: number;
  /** rounds timed (ROUNDS, or more for a fast model: MIN_MS) */
  rounds: number;
  /** median per run of the time in the ops of `traceOps` (when asked for), from the same runs */
  opsMs?: number;
  /** largest |fleetrt − expected| over the outputs compared, relative to the largest |expected| */
  maxRelErr: number;
  simd: string;
}

/**
 * fleetrt (one process per round, REPEAT runs, the first dropped) and ORT (REPEAT runs per round
 * after one warm-up) alternate for ROUNDS rounds, or more until both have run MIN_MS (up to
 * MAX_ROUNDS); medians of all runs. fleetrt's outputs are compared with the expected .npy files
 * (output index → file) from torch.
 */
export async function timeInterleaved(opts: {
  plan: string;
  inputs: Record<string, string>;
  onnx: string;
  feeds: Record<string, ort.Tensor>;
  expected: Record<string, string>;
  workDir: string;
  /** op types whose time per run to add up from a trace of the timed runs */
  traceOps?: ReadonlySet<string>;
  /** another build to time in the same rounds (before/after): its plan and fleetrt binary */
  baseline?: { plan: string; fleetrt: string };
}): Promise<Timing> {
  const session = await ort.InferenceSession.create(opts.onnx, {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  await session.run(opts.feeds);
  const fleet: number[] = [];
  const ortTimes: number[] = [];
  const opsTimes: number[] = [];
  const baseTimes: number[] = [];
  const perRound: { fleet: number; ort: number; base?: number }[] = [];
  let simd = '?';
  let outputs: { name: string; file: string }[] = [];
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  let r = 0;
  for (; r < ROUNDS || (r < MAX_ROUNDS && Math.min(sum(fleet), sum(ortTimes)) < MIN_MS); r++) {
    const metrics = path.join(opts.workDir, 'metrics.json');
    const trace = opts.traceOps ? path.join(opts.workDir, 'trace.json') : undefined;
    // The baseline before fleetrt in odd rounds, after it in even ones: neither always follows
    // ORT (whose threads spin on for a while after a run).
    let roundBase: number | undefined;
    const baseline = async (): Promise<void> => {
      if (!opts.baseline) return;
      const bm = path.join(opts.workDir, 'baseline-metrics.json');
      await run(opts.baseline.plan, {
        inputs: opts.inputs,
        outputDir: path.join(opts.workDir, 'baseline-out'),
        repeat: REPEAT + 1,
        threads: THREADS,
        metrics: bm,
        env: { FLEETRT: opts.baseline.fleetrt },
      });
      const times = (JSON.parse(readFileSync(bm, 'utf8')) as { latencyMs: number[] }).latencyMs.slice(1);
      baseTimes.push(...times);
      roundBase = median(times);
    };
    if (r % 2 === 1) await baseline();
    const res = await run(opts.plan, {
      inputs: opts.inputs,
      outputDir: path.join(opts.workDir, 'out'),
      repeat: REPEAT + 1,
      threads: THREADS,
      metrics,
      ...(trace ? { trace } : {}),
    });
    if (trace) opsTimes.push(...opsPerRepeat(trace, opts.traceOps!).slice(1));
    outputs = res.outputs;
    const m = JSON.parse(readFileSync(metrics, 'utf8')) as { latencyMs: number[]; simd: string };
    simd = m.simd;
    const roundFleet = m.latencyMs.slice(1);
    fleet.push(...roundFleet);
    if (r % 2 === 0) await baseline();
    const roundOrt: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      const t0 = performance.now();
      await session.run(opts.feeds);
      roundOrt.push(performance.now() - t0);
    }
    ortTimes.push(...roundOrt);
    perRound.push({
      fleet: median(roundFleet),
      ort: median(roundOrt),
      ...(roundBase !== undefined ? { base: roundBase } : {}),
    });
  }
  await session.release();
  let maxRelErr = 0;
  for (const [index, file] of Object.entries(opts.expected)) {
    const out = outputs[Number(index)];
    if (!out) continue;
    const got = readNpy(out.file).data;
    const want = readNpy(file).data;
    let scale = 0;
    let worst = 0;
    for (let i = 0; i < want.length; i++) {
      scale = Math.max(scale, Math.abs(want[i]!));
      worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    }
    maxRelErr = Math.max(maxRelErr, worst / (scale || 1));
  }
  return {
    fleetMs: median(fleet),
    ortMs: median(ortTimes),
    rounds: r,
    ...(opsTimes.length ? { opsMs: median(opsTimes) } : {}),
    ratio: median(perRound.map((x) => x.fleet / x.ort)),
    ...(baseTimes.length
      ? {
          baselineMs: median(baseTimes),
          baselineRatio: median(perRound.map((x) => x.base! / x.ort)),
          vsBaseline: median(perRound.map((x) => x.fleet / x.base!)),
        }
      : {}),
    maxRelErr,
    simd,
  };
}

/** Per repeat of a fleetrt trace, the milliseconds spent in ops of the given types. */
function opsPerRepeat(trace: string, ops: ReadonlySet<string>): number[] {
  const events = (
    JSON.parse(readFileSync(trace, 'utf8')) as {
      traceEvents: { ph: string; dur: number; args?: { op?: string; pass?: number; repeat?: number } }[];
    }
  ).traceEvents;
  const per: number[] = [];
  for (const e of events)
    if (e.ph === 'X' && e.args?.op && ops.has(e.args.op)) {
      const r = e.args.pass ?? e.args.repeat ?? 0; // 'pass': the run's index (older fleetrt: 'repeat')
      per[r] = (per[r] ?? 0) + e.dur / 1e3;
    }
  return Array.from(per, (v) => v ?? 0);
}

export interface References {
  memcpyGBs: number;
  gemmGflops: number;
  stream: { kind: string; name?: string; gbps: number; ratio?: number; gflops?: number; ok?: boolean }[];
}

/**
 * memcpy bandwidth and kernel figures (fleetrt_stream_bench) and SGEMM GFLOP/s (fleetrt_gemm_bench),
 * same threads. `kernels: false`: the memcpy and SGEMM references alone (`stream` holds memcpy only).
 */
export function references(kernels = true): References | null {
  const bin = (n: string): string => path.join(root, 'native/build', n);
  if (!existsSync(bin('fleetrt_stream_bench')) || !existsSync(bin('fleetrt_gemm_bench'))) return null;
  const args = [String(THREADS), '--json', ...(kernels ? [] : ['memcpy'])];
  const s = spawnSync(bin('fleetrt_stream_bench'), args, { encoding: 'utf8' });
  const stream = s.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as References['stream'][number]);
  const g = spawnSync(bin('fleetrt_gemm_bench'), [String(THREADS), '1024'], { encoding: 'utf8' });
  const rates = [...g.stdout.matchAll(/threads=(\d+) n=1024: ([\d.]+) GFLOP\/s/g)]
    .filter((m) => Number(m[1]) === THREADS)
    .map((m) => Number(m[2]));
  return {
    memcpyGBs: stream.find((x) => x.kind === 'memcpy')?.gbps ?? NaN,
    gemmGflops: rates[rates.length - 1] ?? NaN,
    stream,
  };
}

/** Input files of a set: inputs/<name>.npy for each name. */
export function setInputs(dir: string, set: string, names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => [n, path.join(dir, set, 'inputs', `${n}.npy`)]));
}

export function setExpected(dir: string, set: string): Record<string, string> {
  const d = path.join(dir, set, 'expected');
  return Object.fromEntries(
    readdirSync(d)
      .filter((f) => /^\d+\.npy$/.test(f))
      .map((f) => [f.slice(0, -4), path.join(d, f)]),
  );
}

export function printTable(header: string[], rows: string[][]): void {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  console.log(header.map((h, i) => h.padEnd(w[i]!)).join('  '));
  for (const r of rows) console.log(r.map((c, i) => (c ?? '').padEnd(w[i]!)).join('  '));
}
