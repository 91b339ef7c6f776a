/**
 * Everything the server knows about the engine process in one place: how it is started for a
 * plan (in one process or under mpirun), and what its death says about the fleet — which device
 * failed, if any (docs/runtime.md, "The engine protocol"; docs/serve.md, "The supervisor").
 */
import { readFileSync } from 'node:fs';
import { EngineProcess, type EngineEvent, type EngineExit, type EngineOptions } from '../../runtime/engine.js';
import type { LauncherKind } from '../../runtime/launch.js';
import type { PlanJSON } from '../api/plan.js';

export interface EngineSettings {
  launcher: LauncherKind;
  kvPages?: number;
  maxBatchTokens?: number;
  threads?: number;
  prefixCache?: boolean;
  env?: Record<string, string | undefined>;
  /** Per-step signals (for the live controller). */
  signals?: boolean;
  /** Test knob: `DEVICE=FACTOR[@STEP]`, given to every engine started. */
  slowdown?: string[];
}

/** The device names of a plan in rank order (under MPI, rank r runs device r). */
export function planDevices(planPath: string): string[] {
  const plan = JSON.parse(readFileSync(planPath, 'utf8')) as PlanJSON;
  return plan.devices.map((d) => d.name);
}

export function startEngine(planPath: string, s: EngineSettings, onEvent: (e: EngineEvent) => void): EngineProcess {
  const opts: EngineOptions = {
    launcher: s.launcher,
    kvPages: s.kvPages,
    maxBatchTokens: s.maxBatchTokens,
    threads: s.threads,
    prefixCache: s.prefixCache,
    env: s.env,
    signals: s.signals,
    slowdown: s.slowdown,
  };
  return new EngineProcess(planPath, onEvent, opts);
}

/** Exit status the engine uses when a device fails or stops answering. */
export const DEVICE_FAILED_STATUS = 5;

export interface ExitCause {
  /** The device that failed, when the engine (or mpirun) named it. */
  device?: string;
  /** One line: what happened. */
  message: string;
}

/**
 * Why an engine process ended. The engine names a failed device itself (`fleetrt: error: device
 * 'NAME' failed: …`, status 5); under MPI a rank that was killed may take rank 0 down before it
 * can say so, and then mpirun's own report (`… rank N … exited on signal 9`) names the rank, whose
 * device is the plan's device N.
 */
export function exitCause(exit: EngineExit, devices: readonly string[]): ExitCause {
  const lines = exit.stderr.split('\n').map((l) => l.trim());
  for (const l of lines) {
    const m = /error: device '([^']+)' failed(?::\s*(.*))?/.exec(l);
    if (m && devices.includes(m[1]!))
      return { device: m[1]!, message: `device '${m[1]}' failed${m[2] ? `: ${m[2]}` : ''}` };
  }
  const text = lines.join(' ');
  const rank = /process rank (\d+) with PID (\d+)[^.]*?exited on signal (\d+)(?: \(([^)]+)\))?/.exec(text);
  if (rank) {
    const device = devices[Number(rank[1])];
    if (device)
      return {
        device,
        message: `MPI rank ${rank[1]} (device '${device}') was killed by signal ${rank[3]}${rank[4] ? ` (${rank[4]})` : ''}`,
      };
  }
  const errLine = lines.find((l) => /(^|\s)error: /.test(l));
  const how = exit.signal
    ? `was killed by ${exit.signal}`
    : exit.code === null
      ? 'could not be started'
      : `exited with status ${exit.code}`;
  return { message: `the engine ${how}${errLine ? `: ${errLine.replace(/^.*?error: /, '')}` : ''}` };
}
