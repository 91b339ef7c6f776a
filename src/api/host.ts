// This machine as the cpu class sees it: the host profile in use (where it came from) and its
// measurement by fleetrt (`fleetrt --measure-host`), cached for later compiles. docs/host-profile.md.
import { FleetcError } from '../diagnostics/index.js';
import { findFleetrt, fleetrtFailure, haveFleetrt, spawnCollect } from '../../runtime/fleetrt.js';
import {
  hostProfileInfo,
  hostProvenance,
  nominalProfile,
  profileFromMeasurement,
  saveHostProfile,
  type HostMeasurement,
  type HostProfile,
  type HostProfileInfo,
} from '../../targets/cpu/host.js';

export type { HostMeasurement, HostProfile } from '../../targets/cpu/host.js';

export interface HostInfo extends HostProfileInfo {
  /** One line: measured when and where, or nominal. */
  provenance: string;
  /** The figures that stand in when nothing was measured (for comparison). */
  nominal: HostProfile;
  /** Set when this call measured: fleetrt's own output, and the file it was written to. */
  measurement?: HostMeasurement;
  written?: string;
}

export interface MeasureHostOptions {
  /** Small sizes, few repeats (well under a second): for tests; the figures are rougher. */
  quick?: boolean;
  /** Measure 1..N threads (default: every core). */
  threadsMax?: number;
  /** Write the cache (default true). */
  write?: boolean;
}

/** The host profile in use and where it came from. */
export function hostInfo(): HostInfo {
  const info = hostProfileInfo();
  return { ...info, provenance: hostProvenance(info), nominal: nominalProfile(info.profile.host) };
}

/** Measures this machine with fleetrt and (unless `write: false`) caches it as the host profile. */
export async function measureHost(opts: MeasureHostOptions = {}): Promise<HostInfo> {
  const args = ['--measure-host'];
  if (opts.quick) args.push('--quick');
  if (opts.threadsMax !== undefined) args.push('--threads-max', String(opts.threadsMax));
  const r = await spawnCollect(findFleetrt(), args);
  if (r.code !== 0) throw fleetrtFailure(r, 'fleetrt --measure-host');
  let m: HostMeasurement;
  try {
    m = JSON.parse(r.stdout) as HostMeasurement;
  } catch {
    throw new FleetcError('E0503', `fleetrt --measure-host printed no JSON: ${r.stdout.slice(0, 200)}`);
  }
  const profile = profileFromMeasurement(m);
  if (opts.write === false) {
    const info: HostProfileInfo = { profile, source: hostProfileInfo().source, path: hostProfileInfo().path };
    return { ...info, provenance: hostProvenance(info), nominal: nominalProfile(profile.host), measurement: m };
  }
  const written = saveHostProfile(profile);
  return { ...hostInfo(), measurement: m, written };
}

/**
 * Before a compile: measures the host when asked (`always`), or when nothing describes it yet
 * (`if-missing`: no FLEETC_HOST_PROFILE, no cache for this machine, and fleetrt is built).
 * Returns what it measured, or undefined when it did not.
 */
export async function prepareHostProfile(when: 'always' | 'if-missing' | 'never'): Promise<HostInfo | undefined> {
  if (when === 'never') return undefined;
  if (
    when === 'if-missing' &&
    (process.env.FLEETC_HOST_PROFILE || hostProfileInfo().source !== 'nominal' || !haveFleetrt())
  )
    return undefined;
  return measureHost();
}
