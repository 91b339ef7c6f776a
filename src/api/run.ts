/**
 * `fleetc run`: runs a compiled plan with the native runtime. A thin wrapper: it checks what it
 * can cheaply (files exist, flags make sense), launches fleetrt (in-process or under mpirun), and
 * turns fleetrt's failures into one-line diagnostics.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { FleetcError } from '../diagnostics/index.js';
import { launchCommand, LAUNCHERS, type LauncherKind } from '../../runtime/launch.js';
import { findFleetrt, fleetrtFailure, spawnCollect } from '../../runtime/fleetrt.js';
import { planFileOf } from './plan.js';

/** `--input NAME=FILE` items (each name once) as RunOptions.inputs. */
export function parseInputs(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) throw new FleetcError('E0901', `--input '${item}': expected NAME=FILE`);
    const name = item.slice(0, eq);
    if (name in out) throw new FleetcError('E0901', `--input '${name}' is given twice`);
    out[name] = item.slice(eq + 1);
  }
  return out;
}

export interface RunOptions {
  /** input name → .npy or .pb file */
  inputs?: Record<string, string>;
  /** folder with input_0.npy, input_1.npy … (or .pb) in graph-input order, or <input name>.npy (.pb) as --output-dir writes them */
  inputsDir?: string;
  randomInputs?: boolean;
  outputDir: string;
  trace?: string;
  metrics?: string;
  repeat?: number;
  /** runs before the measured ones, left out of the trace and metrics (cold caches, first-touch pages) */
  warmup?: number;
  /** requests kept in flight (multi-device pipelines) */
  requests?: number;
  threads?: number;
  launcher?: LauncherKind;
  /** Extra environment, on top of this process's, for locating fleetrt (FLEETRT, MPIRUN) and for running it. */
  env?: Record<string, string | undefined>;
}

export interface RunOutput {
  name: string;
  file: string;
  dtype: string;
  shape: number[];
}

/** What fleetrt reports (its --summary-json line). */
export interface RunSummary {
  plan: string;
  launcher: LauncherKind;
  devices: {
    name: string;
    backend: string;
    emulated: boolean;
    /** multi-device runs: measured busy time per request, the plan's prediction, memory */
    busyMsPerRequest?: number;
    predictedBusyMs?: number | null;
    peakBytes?: number;
    capacityBytes?: number;
  }[];
  outputs: RunOutput[];
  repeats: number;
  requests: number;
  latencyMs: { mean: number; min: number; p50: number; max: number };
  throughputPerSec?: number;
  trace?: string;
  metrics?: string;
}

function positive(name: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= 1))
    throw new FleetcError('E0901', `--${name} '${v}': expected a positive integer`);
}

interface PlanHead {
  devices: number;
}

function readPlanHead(path: string): PlanHead {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FleetcError(
      'E0501',
      code === 'ENOENT'
        ? 'no plan here (give a plan.json or the folder fleetc compile wrote)'
        : `cannot read the plan: ${code ?? (e as Error).message}`,
      { file: path },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FleetcError('E0501', `not valid JSON: ${(e as Error).message}`, { file: path });
  }
  const devices = (json as { devices?: unknown }).devices;
  if (!Array.isArray(devices) || devices.length === 0)
    throw new FleetcError('E0501', 'the plan has no devices', { file: path });
  return { devices: devices.length };
}

/**
 * Runs the plan (a plan.json, or the build folder `fleetc compile` wrote it into); resolves with
 * fleetrt's summary, rejects with a FleetcError on a user error.
 */
export async function run(planPath: string, o: RunOptions): Promise<RunSummary> {
  const plan = planFileOf(resolve(planPath));
  const head = readPlanHead(plan);
  positive('repeat', o.repeat);
  if (o.warmup !== undefined && !(Number.isInteger(o.warmup) && o.warmup >= 0))
    throw new FleetcError('E0901', `--warmup '${o.warmup}': expected a non-negative integer`);
  positive('requests', o.requests);
  positive('threads', o.threads);
  const launcher = o.launcher ?? 'inproc';
  if (!LAUNCHERS.includes(launcher))
    throw new FleetcError('E0901', `--launcher '${launcher}': expected one of ${LAUNCHERS.join(', ')}`);
  const inputs = Object.entries(o.inputs ?? {});
  if (!o.randomInputs && inputs.length === 0 && !o.inputsDir)
    throw new FleetcError('E0901', 'give the inputs: --input NAME=FILE …, --inputs-dir DIR, or --random-inputs');
  for (const [name, file] of inputs)
    if (!existsSync(file)) throw new FleetcError('E0502', `input '${name}': no such file`, { file });
  if (o.inputsDir && !(existsSync(o.inputsDir) && statSync(o.inputsDir).isDirectory()))
    throw new FleetcError('E0502', 'the inputs folder does not exist', { file: o.inputsDir });

  const args = [plan, '--output-dir', resolve(o.outputDir), '--summary-json'];
  for (const [name, file] of inputs) args.push('--input', `${name}=${resolve(file)}`);
  if (o.inputsDir) args.push('--inputs-dir', resolve(o.inputsDir));
  if (o.randomInputs) args.push('--random-inputs');
  if (o.trace) args.push('--trace', resolve(o.trace));
  if (o.metrics) args.push('--metrics', resolve(o.metrics));
  if (o.repeat) args.push('--repeat', String(o.repeat));
  if (o.warmup) args.push('--warmup', String(o.warmup));
  if (o.requests) args.push('--requests', String(o.requests));
  if (o.threads) args.push('--threads', String(o.threads));

  const env = { ...process.env, ...o.env };
  const fleetrt = findFleetrt(env);
  const launch = launchCommand(launcher, {
    fleetrt,
    args,
    devices: head.devices,
    mpirun: env.MPIRUN,
    root: typeof process.getuid === 'function' && process.getuid() === 0,
  });
  let r;
  try {
    r = await spawnCollect(launch.cmd, launch.args, { env: o.env });
  } catch (e) {
    const why =
      (e as NodeJS.ErrnoException).code === 'ENOENT' ? `${launch.cmd} is not installed` : (e as Error).message;
    throw new FleetcError('E0503', `cannot start the ${launcher} launcher: ${why}`);
  }
  if (r.code !== 0) {
    const err = fleetrtFailure(r, launcher === 'mpi' ? 'mpirun' : 'fleetrt');
    if (err instanceof FleetcError) throw withInputFile(err, o.inputs ?? {});
    throw err;
  }
  const line = r.stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{"summary"'));
  if (!line) throw new Error('fleetrt printed no summary');
  const s = (JSON.parse(line) as { summary: Omit<RunSummary, 'launcher'> }).summary;
  return { ...s, launcher, trace: o.trace, metrics: o.metrics };
}

/** Names the file behind an input the runtime rejected (`input 'x' must be float32 …`). */
function withInputFile(err: FleetcError, inputs: Record<string, string>): FleetcError {
  if (err.code !== 'E0502' || err.loc?.file) return err;
  const m = /input '([^']+)'/.exec(err.message);
  const file = m ? inputs[m[1]!] : undefined;
  return file ? new FleetcError(err.code, err.message, { file }) : err;
}
