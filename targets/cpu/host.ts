// This machine as a cpu device: the host profile (float32 GEMM FLOP/s and memory bandwidth by
// thread count, fleetrt's per-op dispatch and per-message costs), read from FLEETC_HOST_PROFILE or
// the user's cache folder. `fleetrt --measure-host` measures it and `fleetc host --measure` (or the
// first compile on a machine without one, src/api/host.ts) writes it; until a profile is there,
// nominal per-core figures stand in and say so. docs/host-profile.md.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, homedir, hostname, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { FleetcError } from '../../src/diagnostics/index.js';

export const HOST_PROFILE_FORMAT = 'fleetc-host-profile';
export const HOST_PROFILE_VERSION = 1;

export interface HostIdentity {
  name: string;
  cpuModel: string;
  cores: number;
  /** Bytes of memory. */
  memory: number;
}

export interface HostProfile {
  format: typeof HOST_PROFILE_FORMAT;
  version: number;
  host: HostIdentity;
  /** false: nominal figures (nothing measured yet). */
  measured: boolean;
  measuredAt?: string;
  /** Which kernel code fleetrt ran (`avx2`, `portable`, …). */
  simd?: string;
  /** float32 GEMM FLOP/s of fleetrt's MatMul by intra-op threads, ascending. */
  gemm: { threads: number; flops: number }[];
  /** Bytes/s an element-wise op streams through memory, by threads, ascending. */
  bandwidth: { threads: number; bytesPerSecond: number }[];
  /** Seconds fleetrt spends per op beyond its work (dispatch, shape binding, bookkeeping). */
  dispatch: number;
  /** Seconds one value takes from one in-process device to another (queue and wake-up). */
  message: number;
}

/**
 * Nominal per-core figures for an AVX2+FMA core: 2 FMA units × 8 fp32 lanes × 2 FLOPs × 2.5 GHz
 * = 80 GFLOP/s per thread; memory 10 GB/s per thread up to 20 GB/s; 1 µs per op; 5 µs per
 * in-process message.
 */
export function nominalProfile(host = thisHost()): HostProfile {
  return {
    format: HOST_PROFILE_FORMAT,
    version: HOST_PROFILE_VERSION,
    host,
    measured: false,
    gemm: [{ threads: 1, flops: 80e9 }],
    bandwidth: [
      { threads: 1, bytesPerSecond: 10e9 },
      { threads: 2, bytesPerSecond: 20e9 },
    ],
    dispatch: 1e-6,
    message: 5e-6,
  };
}

export function thisHost(): HostIdentity {
  const c = cpus();
  return {
    name: hostname() || 'localhost',
    cpuModel: c[0]?.model ?? 'unknown',
    cores: Math.max(1, c.length),
    memory: totalmem(),
  };
}

/** The cache file: FLEETC_HOST_PROFILE, else `$XDG_CACHE_HOME/fleetc/host-profile.json` (~/.cache). */
export function hostProfilePath(): string {
  if (process.env.FLEETC_HOST_PROFILE) return process.env.FLEETC_HOST_PROFILE;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'fleetc', 'host-profile.json');
}

/** Where the profile in use came from. */
export type HostProfileSource = 'env' | 'cache' | 'nominal';

export interface HostProfileInfo {
  profile: HostProfile;
  source: HostProfileSource;
  /** The file read (env, cache) or that was looked for (nominal). */
  path: string;
  /** Why a file that is there was not used (broken, another host's). */
  refused?: string;
}

let cached: HostProfileInfo | undefined;

/**
 * The host profile: the cached measurement when there is one for this machine (a file named by
 * FLEETC_HOST_PROFILE is taken as it is, wherever it was measured), else the nominal figures.
 */
export function hostProfile(): HostProfile {
  return hostProfileInfo().profile;
}

/** The host profile in use, where it came from, and why a file that is there was refused. */
export function hostProfileInfo(): HostProfileInfo {
  const path = hostProfilePath();
  if (cached?.path === path) return cached;
  const fromEnv = !!process.env.FLEETC_HOST_PROFILE;
  const read = readProfile(path, !fromEnv);
  cached =
    'profile' in read
      ? { profile: read.profile, source: fromEnv ? 'env' : 'cache', path }
      : { profile: nominalProfile(), source: 'nominal', path, ...(read.refused ? { refused: read.refused } : {}) };
  return cached;
}

/** Reads the profile again on next use (after the file or FLEETC_HOST_PROFILE changed). */
export function forgetHostProfile(): void {
  cached = undefined;
}

function readProfile(path: string, mustMatchHost: boolean): { profile: HostProfile } | { refused?: string } {
  if (!existsSync(path)) return {};
  let p: HostProfile;
  try {
    p = JSON.parse(readFileSync(path, 'utf8')) as HostProfile;
  } catch (e) {
    return { refused: `not JSON (${(e as Error).message})` }; // measured again, not an error
  }
  const problem = profileProblem(p);
  if (problem) return { refused: problem };
  const here = thisHost();
  if (mustMatchHost && (p.host.name !== here.name || p.host.cpuModel !== here.cpuModel || p.host.cores !== here.cores))
    // a home folder shared with another machine
    return {
      refused: `measured on another host (${p.host.name}, ${p.host.cpuModel}, ${p.host.cores} cores; this is ${here.name}, ${here.cpuModel}, ${here.cores} cores)`,
    };
  return { profile: p };
}

const positive = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x > 0;

/** What is wrong with a profile read from a file, or undefined. */
function profileProblem(p: HostProfile): string | undefined {
  if (p?.format !== HOST_PROFILE_FORMAT || p.version !== HOST_PROFILE_VERSION)
    return `not a ${HOST_PROFILE_FORMAT} v${HOST_PROFILE_VERSION} file`;
  if (!p.host || typeof p.host.name !== 'string' || !positive(p.host.cores) || !positive(p.host.memory))
    return 'no host (name, cores, memory)';
  const pts = (list: unknown, key: string): boolean =>
    Array.isArray(list) &&
    list.length > 0 &&
    list.every((x: Record<string, unknown>) => Number.isInteger(x?.threads) && positive(x?.[key]));
  if (!pts(p.gemm, 'flops')) return 'gemm needs {threads, flops} points';
  if (!pts(p.bandwidth, 'bytesPerSecond')) return 'bandwidth needs {threads, bytesPerSecond} points';
  if (!positive(p.dispatch) || !positive(p.message)) return 'dispatch and message need positive seconds';
  return undefined;
}

/** What `fleetrt --measure-host` prints (native/src/tool/measure_host.cpp). */
export interface HostMeasurement {
  format: 'fleetrt-host-measurement';
  version: number;
  simd: string;
  cores: number;
  quick: boolean;
  /** `flops`: the least disturbed run; `flopsMedian`: the median run (for a look at the load). */
  gemm: { threads: number; flops: number; flopsMedian: number; n: number }[];
  bandwidth: { threads: number; bytesPerSecond: number; bytesPerSecondMedian: number; bytes: number }[];
  dispatch: number;
  message: number;
  seconds: number;
}

/** The host profile of a fleetrt measurement of this machine; a malformed one is an error. */
export function profileFromMeasurement(m: HostMeasurement, host = thisHost(), at = new Date()): HostProfile {
  const profile: HostProfile = {
    format: HOST_PROFILE_FORMAT,
    version: HOST_PROFILE_VERSION,
    host,
    measured: true,
    measuredAt: at.toISOString(),
    simd: m?.simd,
    gemm: (m?.gemm ?? []).map((g) => ({ threads: g.threads, flops: g.flops })),
    bandwidth: (m?.bandwidth ?? []).map((b) => ({ threads: b.threads, bytesPerSecond: b.bytesPerSecond })),
    dispatch: m?.dispatch,
    message: m?.message,
  };
  const problem = m?.format !== 'fleetrt-host-measurement' ? 'not a fleetrt host measurement' : profileProblem(profile);
  if (problem) throw new FleetcError('E0503', `fleetrt --measure-host gave an unusable measurement: ${problem}`);
  return profile;
}

/**
 * Stores a profile (atomically: a temporary file renamed over the old one, so that a compile
 * reading it never sees half a file) and uses it from now on. Returns the path.
 */
export function saveHostProfile(profile: HostProfile, path = hostProfilePath()): string {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(profile, null, 2) + '\n');
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new FleetcError('E0503', `cannot write the host profile ${path}: ${(e as Error).message}`);
  }
  cached = { profile, source: process.env.FLEETC_HOST_PROFILE ? 'env' : 'cache', path };
  return path;
}

/** Whether the profile in use was measured on this machine. */
export function hostMeasured(): boolean {
  return hostProfile().measured;
}

/** One line on where the cpu figures come from: `measured 2026-12-05 on host (avx2)` or `nominal …`. */
export function hostProvenance(info = hostProfileInfo()): string {
  const p = info.profile;
  if (p.measured)
    return `measured${p.measuredAt ? ` ${p.measuredAt.slice(0, 10)}` : ''} on ${p.host.name}${p.simd ? ` (${p.simd})` : ''}`;
  return `nominal per-core figures (${info.source === 'nominal' ? 'not measured' : `from ${info.path}`}; fleetc host --measure measures them)`;
}

/** A figure measured at some thread counts, at `threads` (linear between points, flat outside them). */
export function atThreads(points: readonly { threads: number; value: number }[], threads: number): number {
  const pts = [...points].sort((a, b) => a.threads - b.threads);
  if (threads <= pts[0]!.threads) return (pts[0]!.value * threads) / pts[0]!.threads;
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1]!;
    const b = pts[i]!;
    if (threads <= b.threads) return a.value + ((b.value - a.value) * (threads - a.threads)) / (b.threads - a.threads);
  }
  const last = pts[pts.length - 1]!;
  // Beyond the last measured point: per-thread scaling while the host has cores, flat after.
  return pts.length === 1 ? (last.value * threads) / last.threads : last.value;
}
