/**
 * Finding and running the native `fleetrt` binary, and turning its failures into fleetc
 * diagnostics. fleetrt prints `fleetrt: error: MESSAGE` on stderr and exits with a code that says
 * whose fault it was (native/src/tool/main.cpp): 1 the run failed, 2 usage, 3 plan or bundle
 * invalid, 4 inputs invalid.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { FleetcError, type DiagnosticCode } from '../src/diagnostics/index.js';
import { packageRoot } from '../src/version.js';

/** The fleetrt binary: $FLEETRT, else native/build/fleetrt in the package. */
export function findFleetrt(env: Record<string, string | undefined> = process.env): string {
  const candidates = env.FLEETRT ? [env.FLEETRT] : [join(packageRoot(), 'native', 'build', 'fleetrt')];
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  throw new FleetcError(
    'E0503',
    `the native runtime is not built: ${candidates[0]} is missing (run 'npm run build:native', or set FLEETRT to a fleetrt binary)`,
  );
}

/**
 * Whether a fleetrt binary is available (for tests that skip without one). With
 * FLEETC_REQUIRE_NATIVE=1 (CI) this is always true, so a missing build fails those tests
 * instead of skipping them.
 */
export function haveFleetrt(env: Record<string, string | undefined> = process.env): boolean {
  if (env.FLEETC_REQUIRE_NATIVE === '1') return true;
  try {
    findFleetrt(env);
    return true;
  } catch {
    return false;
  }
}

export interface Spawned {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  /** Written to the child's stdin, which is then closed. */
  stdin?: string;
  /** Called with each complete stdout line as it arrives. */
  onLine?: (line: string) => void;
  env?: Record<string, string | undefined>;
}

/** Runs a command to completion, collecting its output. Rejects only when it cannot be started. */
export function spawnCollect(cmd: string, args: string[], opts: SpawnOptions = {}): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (!opts.onLine) return;
      pending += d;
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        opts.onLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => void (stderr += d));
    child.on('error', (e) => reject(e));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.on('error', () => {}); // the child may exit before reading everything
    child.stdin.end(opts.stdin ?? '');
  });
}

const EXIT_CODES: Record<number, DiagnosticCode> = { 1: 'E0503', 2: 'E0901', 3: 'E0501', 4: 'E0502' };

/**
 * The error for a failed fleetrt run: its own one-line message under the diagnostic code its exit
 * status names; a crash (signal, unknown status) is an internal error.
 */
export function fleetrtFailure(r: Spawned, what = 'fleetrt'): Error {
  const lines = r.stderr.split('\n').filter((l) => l.trim());
  const errLine = lines.find((l) => /(^|\s)error: /.test(l));
  const message = errLine ? errLine.replace(/^.*?error: /, '') : (lines.at(-1) ?? '');
  const code = r.code !== null ? EXIT_CODES[r.code] : undefined;
  if (code && errLine) return new FleetcError(code, message);
  const how = r.signal ? `was killed by ${r.signal}` : `exited with status ${r.code}`;
  return new Error(`${what} ${how}${message ? `: ${message}` : ''}`);
}
