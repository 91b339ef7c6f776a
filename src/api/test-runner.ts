/**
 * `fleetc test`: conformance-style test programs. A PATH is an ONNX test folder (model.onnx +
 * test_data_set_N/{input,output}_K.pb), a folder of such folders, or a StableHLO test file
 * (.mlir, cases split on `// -----`). Every case is loaded, compiled with the library's compile
 * API, and all of them run in ONE `fleetrt --batch` process that compares the outputs.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { BatchProcess, type BatchJob, type BatchResult } from '../../runtime/batch.js';
import { findFleetrt } from '../../runtime/fleetrt.js';
import { FleetcError, isFleetcError } from '../diagnostics/index.js';
import { onnx } from '../frontends/onnx/proto.js';
import { loadModel } from '../frontends/index.js';
import { compileGraph } from './compile.js';
import { mlirCases } from './test-mlir.js';
import { CaseError, type CaseSource, type PreparedCase } from './test-case.js';

export const DEFAULT_RTOL = 1e-3;
export const DEFAULT_ATOL = 1e-5;

export type CaseStatus = 'pass' | 'fail' | 'error' | 'skip';

export interface CaseResult {
  name: string;
  suite: string;
  /** The op domain the test exercises (ai.onnx, ai.onnx.ml, ai.onnx.preview.training, stablehlo …). */
  domain: string;
  status: CaseStatus;
  /** Where an error happened. */
  phase?: 'load' | 'compile' | 'run';
  message?: string;
  worst?: { output: string; abs: number | null; rel: number | null };
  ms?: number;
}

export interface TestReport {
  results: CaseResult[];
  counts: Record<CaseStatus, number>;
  /** Pass rate per domain over the tests that were not skipped: passed / (run + skipped). */
  domains: Record<string, { passed: number; total: number; skipped: number }>;
  ms: number;
  /** The runtime process did not end cleanly after the last case (a sanitizer's exit report). */
  runtimeProblem?: string;
}

export interface TestOptions {
  rtol?: number;
  atol?: number;
  /** test name → reason; those tests are reported as skipped and not compiled. */
  skips?: Record<string, string>;
  /** Called as each case finishes (in completion order). */
  onResult?: (r: CaseResult) => void;
  /** Folder for the compiled plans (default: a temporary folder, removed afterwards). */
  workDir?: string;
  keep?: boolean;
  threads?: number;
  /** Compile every case for this fleet file (multi-device plans) instead of this machine. */
  fleet?: string;
  /** Requests in flight per case (>1 runs every case on the readiness-driven multi-device engine). */
  requests?: number;
  /** Per-case run time limit (default 60 s). */
  timeoutMs?: number;
  /** Extra environment, on top of this process's, for locating fleetrt (FLEETRT) and for running it (e.g. FLEETRT_PORTABLE). */
  env?: Record<string, string | undefined>;
}

// ------------------------------------------------------------------------------------------------
// Discovery

const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();

function numbered(dir: string, prefix: string): string[] {
  const out: [number, string][] = [];
  for (const f of readdirSync(dir)) {
    const m = new RegExp(`^${prefix}_(\\d+)\\.(pb|npy)$`).exec(f);
    if (m) out.push([Number(m[1]), join(dir, f)]);
  }
  return out.sort((a, b) => a[0] - b[0]).map(([, f]) => f);
}

/** The extension domain a model file imports (the default domain when none). */
function onnxDomain(model: string): string {
  try {
    const m = onnx.ModelProto.decode(readFileSync(model));
    const domains = (m.opsetImport ?? []).map((o) => o.domain ?? '');
    for (const d of ['ai.onnx.preview.training', 'ai.onnx.ml', 'ai.onnx.preview']) if (domains.includes(d)) return d;
    return 'ai.onnx';
  } catch {
    return 'ai.onnx';
  }
}

function onnxCase(dir: string, suite: string): CaseSource {
  const model = join(dir, 'model.onnx');
  return {
    name: basename(dir),
    suite,
    domain: onnxDomain(model),
    prepare() {
      const sets = readdirSync(dir)
        .filter((f) => /^test_data_set_\d+$/.test(f) && isDir(join(dir, f)))
        .sort((a, b) => Number(a.slice(14)) - Number(b.slice(14)));
      if (!sets.length) throw new FleetcError('E0101', 'no test_data_set_N folder', { file: dir });
      return {
        graph: loadModel(model),
        dataSets: sets.map((s) => ({
          id: s,
          inputs: numbered(join(dir, s), 'input'),
          expected: numbered(join(dir, s), 'output'),
        })),
      };
    },
  };
}

/** Expands the command-line paths into case sources, in a stable order. */
export function collectCases(paths: string[]): CaseSource[] {
  const out: CaseSource[] = [];
  for (const raw of paths) {
    const p = resolve(raw);
    if (!existsSync(p)) throw new FleetcError('E0101', 'no such file or folder', { file: raw });
    if (!isDir(p)) {
      if (extname(p).toLowerCase() === '.mlir') out.push(...mlirCases(p, raw));
      else if (basename(p) === 'model.onnx') out.push(onnxCase(resolve(p, '..'), basename(resolve(p, '../..'))));
      else
        throw new FleetcError('E0101', 'not a test: expected an ONNX test folder, a folder of them, or a .mlir file', {
          file: raw,
        });
      continue;
    }
    if (existsSync(join(p, 'model.onnx'))) {
      out.push(onnxCase(p, basename(resolve(p, '..'))));
      continue;
    }
    const entries = readdirSync(p).sort();
    const before = out.length;
    for (const e of entries) {
      const q = join(p, e);
      if (isDir(q) && existsSync(join(q, 'model.onnx'))) out.push(onnxCase(q, basename(p)));
      else if (!isDir(q) && extname(e).toLowerCase() === '.mlir') out.push(...mlirCases(q, join(raw, e)));
      // StableHLO suites keep dialect groups in subfolders (e.g. chlo/): one level down.
      else if (isDir(q))
        for (const f of readdirSync(q).sort())
          if (extname(f).toLowerCase() === '.mlir' && !isDir(join(q, f)))
            out.push(...mlirCases(join(q, f), join(raw, e, f)));
    }
    if (out.length === before)
      throw new FleetcError('E0101', 'no tests here (no model.onnx in it or its subfolders, no .mlir files)', {
        file: raw,
      });
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Running

const yieldToEvents = (): Promise<void> => new Promise((r) => setImmediate(r));

function errorMessage(e: unknown): string {
  if (isFleetcError(e)) return e.format();
  if (e instanceof CaseError) return e.message;
  return `internal error: ${(e as Error).message?.split('\n')[0] ?? String(e)}`;
}

/** Loads the test skip list: a JSON object of test name → reason. */
export function readSkips(path: string): Record<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FleetcError('E0901', `cannot read the skip list: ${(e as Error).message}`, { file: path });
  }
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw new FleetcError('E0901', 'the skip list must be a JSON object of test name → reason', { file: path });
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
    if (k.startsWith('//')) continue;
    if (typeof v !== 'string' || !v.trim()) throw new FleetcError('E0901', `skip '${k}' has no reason`, { file: path });
    out[k] = v;
  }
  return out;
}

export async function runTests(paths: string[], o: TestOptions = {}): Promise<TestReport> {
  const t0 = performance.now();
  const sources = collectCases(paths);
  const fleetrt = findFleetrt({ ...process.env, ...o.env });
  const work = o.workDir ? resolve(o.workDir) : mkdtempSync(join(tmpdir(), 'fleetc-test-'));
  mkdirSync(work, { recursive: true });
  const batch = new BatchProcess({ fleetrt, threads: o.threads ?? 1, timeoutMs: o.timeoutMs ?? 60_000, env: o.env });
  const results: CaseResult[] = [];
  const done = (r: CaseResult): void => {
    results.push(r);
    o.onResult?.(r);
  };
  const pending: Promise<void>[] = [];
  const rtol = o.rtol ?? DEFAULT_RTOL;
  const atol = o.atol ?? DEFAULT_ATOL;
  const usedNames = new Set<string>();
  let runtimeProblem: string | undefined;
  try {
    for (let i = 0; i < sources.length; i++) {
      const src = sources[i]!;
      const base = { name: src.name, suite: src.suite, domain: src.domain };
      const skip = o.skips?.[src.name] ?? src.skip;
      if (skip !== undefined) {
        done({ ...base, status: 'skip', message: skip });
        continue;
      }
      let dirName = src.name.replace(/[^A-Za-z0-9_.-]/g, '_');
      while (usedNames.has(dirName)) dirName += '_';
      usedNames.add(dirName);
      const caseDir = join(work, dirName);
      const tc = performance.now();
      let prepared: PreparedCase;
      try {
        mkdirSync(caseDir, { recursive: true });
        prepared = await src.prepare(caseDir);
      } catch (e) {
        done({ ...base, status: 'error', phase: 'load', message: errorMessage(e) });
        continue;
      }
      let plan: string;
      try {
        plan = (
          await compileGraph(prepared.graph, join(caseDir, 'build'), {
            force: true,
            report: false,
            ...(o.fleet ? { fleet: o.fleet } : {}),
          })
        ).planPath;
      } catch (e) {
        done({ ...base, status: 'error', phase: 'compile', message: errorMessage(e) });
        continue;
      }
      const compileMs = performance.now() - tc;
      const many = prepared.dataSets.length > 1;
      for (const ds of prepared.dataSets) {
        const job: BatchJob = {
          id: `${src.name}${many ? `/${ds.id}` : ''}`,
          plan,
          inputs: ds.inputs,
          expected: ds.expected,
          rtol: prepared.rtol ?? rtol,
          atol: prepared.atol ?? atol,
          ...(o.requests && o.requests > 1 ? { requests: o.requests } : {}),
        };
        pending.push(
          batch.submit(job).then((r) => {
            if (r.message?.startsWith(plan + ': ')) r.message = r.message.slice(plan.length + 2);
            done(fromBatch({ ...base, name: job.id }, r, compileMs));
          }),
        );
      }
      if (i % 4 === 3) await yieldToEvents();
    }
    await Promise.all(pending);
  } finally {
    runtimeProblem = await batch.close();
    if (!o.keep && !o.workDir) rmSync(work, { recursive: true, force: true });
  }
  const report = summarise(results, performance.now() - t0);
  return runtimeProblem ? { ...report, runtimeProblem } : report;
}

function fromBatch(base: Omit<CaseResult, 'status'>, r: BatchResult, compileMs: number): CaseResult {
  const ms = compileMs + (r.ms ?? 0);
  if (r.status === 'pass') return { ...base, status: 'pass', worst: r.worst, ms };
  if (r.status === 'fail') return { ...base, status: 'fail', message: r.message, worst: r.worst, ms };
  return { ...base, status: 'error', phase: 'run', message: r.message ?? r.status, ms };
}

export function summarise(results: CaseResult[], ms: number): TestReport {
  const counts: Record<CaseStatus, number> = { pass: 0, fail: 0, error: 0, skip: 0 };
  const domains: TestReport['domains'] = {};
  const sorted = [...results].sort((a, b) => (a.suite + '/' + a.name < b.suite + '/' + b.name ? -1 : 1));
  for (const r of sorted) {
    counts[r.status]++;
    const d = (domains[r.domain] ??= { passed: 0, total: 0, skipped: 0 });
    d.total++;
    if (r.status === 'pass') d.passed++;
    if (r.status === 'skip') d.skipped++;
  }
  return { results: sorted, counts, domains, ms };
}
