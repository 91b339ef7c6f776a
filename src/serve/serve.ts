/**
 * `fleetc serve`: a model (compiled here for the fleet) or a build compiled for generation,
 * served over HTTP by one supervised engine (docs/serve.md).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import type { LauncherKind } from '../../runtime/launch.js';
import { LAUNCHERS } from '../../runtime/launch.js';
import type { ControllerOptions } from '../api/controller.js';
import type { GenerateOptions } from '../api/state-plan.js';
import { loadTokenizer } from '../api/tokenizer.js';
import { FleetcError } from '../diagnostics/index.js';
import type { Fleet } from '../fleet/types.js';
import { buildApp } from './http.js';
import { ServeMetrics } from './metrics.js';
import { isBuildDir } from '../api/plan.js';
import { Planner } from './planner.js';
import { Supervisor, type SupervisorHooks } from './supervisor.js';

export interface ServeOptions {
  /** Fleet file or Fleet: compiling a model; for a build, the fleet it was compiled for (to re-plan). */
  fleet?: string | Fleet;
  launcher?: LauncherKind;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 8000; 0 picks a free port. */
  port?: number;
  maxBatchTokens?: number;
  /** KV pages per device (default: the plan's pool). */
  kvPages?: number;
  /** Tokens the KV pool holds (compiling a model). */
  maxContext?: number;
  /** tokenizer.json; default: one beside the model or in the build folder. */
  tokenizer?: string;
  /** The model a build was compiled from, so that the server can re-plan it after a device loss. */
  source?: string;
  /** The name clients use in `model` (default: the model's file or folder name). */
  modelName?: string;
  threads?: number;
  /** Share full prompt pages between requests with the same prefix (default true). */
  prefixCache?: boolean;
  /** Where plans are compiled (default: a temporary folder, removed on close). */
  workDir?: string;
  env?: Record<string, string | undefined>;
  /** One line per supervisor event (engine failure, re-plan, resume). */
  log?: (line: string) => void;
  /**
   * Live re-placement (docs/runtime.md, docs/serve.md): a controller beside the engine moves the
   * model to a plan for the fleet as it runs when a device slows down. Off by default; `true` or
   * the controller's options. Needs the inproc launcher and a model the server can compile.
   */
  adapt?: boolean | Partial<Omit<ControllerOptions, 'model' | 'fleet' | 'log' | 'onReplace'>>;
  /** Test knob: `DEVICE=FACTOR[@STEP]` makes a device FACTOR times slower (every engine started). */
  slowdown?: string[];
}

export interface CloseResult {
  /** Requests still running when the drain time ran out (ended with a 503). */
  unfinished: number;
}

export interface ServeHandle {
  url: string;
  host: string;
  port: number;
  modelName: string;
  supervisor: Supervisor;
  /** Stops taking requests, lets running ones finish for up to `drainMs` (default 10 s), then stops. */
  close(drainMs?: number): Promise<CloseResult>;
}

function findTokenizer(o: ServeOptions, model: string): string | undefined {
  if (o.tokenizer) {
    if (!existsSync(o.tokenizer))
      throw new FleetcError('E0101', 'cannot read the tokenizer: no such file', { file: o.tokenizer });
    return o.tokenizer;
  }
  const candidate = join(isBuildDir(model) ? model : dirname(model), 'tokenizer.json');
  return existsSync(candidate) ? candidate : undefined;
}

function defaultName(model: string): string {
  if (isBuildDir(model)) return basename(model.replace(/\/+$/, ''));
  const file = basename(model, extname(model));
  return file === 'model' ? basename(dirname(model)) : file;
}

function checkOptions(o: ServeOptions): void {
  const bad = (m: string): never => {
    throw new FleetcError('E0901', m);
  };
  if (o.launcher !== undefined && !LAUNCHERS.includes(o.launcher))
    bad(`--launcher '${o.launcher}': expected one of ${LAUNCHERS.join(', ')}`);
  if (o.port !== undefined && !(Number.isInteger(o.port) && o.port >= 0 && o.port <= 65535))
    bad(`--port ${o.port}: expected 0..65535`);
  for (const [flag, v] of [
    ['max-batch-tokens', o.maxBatchTokens],
    ['kv-pages', o.kvPages],
    ['max-context', o.maxContext],
    ['threads', o.threads],
  ] as const)
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) bad(`--${flag} ${v}: expected a positive integer`);
  if (o.adapt && (o.launcher ?? 'inproc') !== 'inproc')
    bad('--adapt needs the inproc launcher: a replan moves state within one process');
}

/** Starts serving; resolves once the engine is ready and the server listens. */
export async function serve(model: string, o: ServeOptions = {}): Promise<ServeHandle> {
  checkOptions(o);
  if (!existsSync(model))
    throw new FleetcError('E0101', 'cannot read the model: no such file or build folder', { file: model });
  const tokFile = findTokenizer(o, model);
  const tokenizer = tokFile ? loadTokenizer(tokFile) : undefined;
  const temp = o.workDir ? undefined : mkdtempSync(join(tmpdir(), 'fleetc-serve-'));
  const workDir = o.workDir ?? temp!;
  const cleanup = (): void => {
    if (temp) rmSync(temp, { recursive: true, force: true });
  };
  const generate: GenerateOptions | undefined = o.maxContext !== undefined ? { maxContext: o.maxContext } : undefined;
  const modelName = o.modelName ?? defaultName(model);
  const metrics = new ServeMetrics(modelName);
  const hooks: SupervisorHooks = { ...metrics.hooks(), log: o.log };
  let supervisor: Supervisor;
  try {
    const planner = new Planner(model, { fleet: o.fleet, generate, source: o.source, workDir });
    supervisor = new Supervisor(
      planner,
      {
        launcher: o.launcher ?? 'inproc',
        kvPages: o.kvPages,
        maxBatchTokens: o.maxBatchTokens,
        threads: o.threads,
        prefixCache: o.prefixCache,
        env: o.env,
        slowdown: o.slowdown,
      },
      hooks,
      o.adapt ? (typeof o.adapt === 'object' ? o.adapt : {}) : undefined,
    );
    await supervisor.start();
  } catch (e) {
    cleanup();
    throw e;
  }
  metrics.devices(supervisor.deviceNames);
  const app = buildApp({ supervisor, metrics, modelName, tokenizer });
  const host = o.host ?? '127.0.0.1';
  try {
    await app.listen({ host, port: o.port ?? 8000 });
  } catch (e) {
    await supervisor.close();
    cleanup();
    throw new FleetcError('E0603', `cannot listen on ${host}:${o.port ?? 8000}: ${(e as Error).message}`);
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (o.port ?? 8000);
  let closing: Promise<CloseResult> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    host,
    port,
    modelName,
    supervisor,
    close(drainMs = 10_000) {
      if (closing && drainMs === 0) supervisor.stopDraining();
      closing ??= (async () => {
        const drained = await supervisor.drain(drainMs);
        const unfinished = drained ? 0 : supervisor.inFlight;
        await supervisor.close();
        await app.close();
        cleanup();
        return { unfinished };
      })();
      return closing;
    },
  };
}
