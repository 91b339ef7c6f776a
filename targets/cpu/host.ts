// This machine as a cpu device: the host profile (float32 GEMM FLOP/s and memory bandwidth by
// thread count, fleetrt's per-op dispatch and per-message costs), read from FLEETC_HOST_PROFILE or
// the user's cache folder. Nothing writes that cache yet: until a profile is there, nominal
// per-core figures stand in and say so, and `fleetc tune` calibrates a fleet's devices from runs.
import { existsSync, readFileSync } from 'node:fs';
import { cpus, homedir, hostname, totalmem } from 'node:os';
import { join } from 'node:path';

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

let cached: { path: string; profile: HostProfile } | undefined;

/**
 * The host profile: the cached measurement when there is one for this machine (a file named by
 * FLEETC_HOST_PROFILE is taken as it is, wherever it was measured), else the nominal figures.
 */
export function hostProfile(): HostProfile {
  const path = hostProfilePath();
  if (cached?.path === path) return cached.profile;
  const profile = readProfile(path, !process.env.FLEETC_HOST_PROFILE) ?? nominalProfile();
  cached = { path, profile };
  return profile;
}

function readProfile(path: string, mustMatchHost: boolean): HostProfile | undefined {
  if (!existsSync(path)) return undefined;
  let p: HostProfile;
  try {
    p = JSON.parse(readFileSync(path, 'utf8')) as HostProfile;
  } catch {
    return undefined; // a broken cache is measured again, not an error
  }
  if (
    p?.format !== HOST_PROFILE_FORMAT ||
    p.version !== HOST_PROFILE_VERSION ||
    !p.gemm?.length ||
    !p.bandwidth?.length
  )
    return undefined;
  const here = thisHost();
  if (mustMatchHost && (p.host.name !== here.name || p.host.cpuModel !== here.cpuModel || p.host.cores !== here.cores))
    return undefined; // a home folder shared with another machine
  return p;
}

/** Whether the profile in use was measured on this machine. */
export function hostMeasured(): boolean {
  return hostProfile().measured;
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
