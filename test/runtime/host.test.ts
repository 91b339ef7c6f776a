// The host profile of the cpu class (targets/cpu/host.ts, src/api/host.ts): fleetrt measures this
// machine (`fleetrt --measure-host`), fleetc caches it (atomically, refused for another host),
// prices real cpu devices with it and gives them the host's memory; `fleetc host` shows and
// refreshes it. The rest of the suite prices the cpu with test/host-profile.json (vitest.config.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { findFleetrt, haveFleetrt } from '../../runtime/fleetrt.js';
import { loadFleet } from '../../src/fleet/load.js';
import {
  forgetHostProfile,
  hostProfileInfo,
  profileFromMeasurement,
  saveHostProfile,
  thisHost,
  type HostMeasurement,
  type HostProfile,
} from '../../targets/cpu/host.js';
import { GiB } from '../../targets/device.js';
import { cli } from '../cli/helpers.js';
import { REPO } from '../paths.js';

const NATIVE = haveFleetrt();
const PINNED = JSON.parse(readFileSync(join(REPO, 'test/host-profile.json'), 'utf8')) as HostProfile;

/** A measurement as fleetrt prints it (figures of a 2-core AVX2 machine). */
function measurement(over: Partial<HostMeasurement> = {}): HostMeasurement {
  return {
    format: 'fleetrt-host-measurement',
    version: 1,
    simd: 'avx2',
    cores: 2,
    quick: false,
    gemm: [
      { threads: 1, flops: 90e9, flopsMedian: 85e9, n: 1024 },
      { threads: 2, flops: 170e9, flopsMedian: 150e9, n: 1024 },
    ],
    bandwidth: [
      { threads: 1, bytesPerSecond: 12e9, bytesPerSecondMedian: 11e9, bytes: 1 << 28 },
      { threads: 2, bytesPerSecond: 18e9, bytesPerSecondMedian: 17e9, bytes: 1 << 28 },
    ],
    dispatch: 3e-7,
    message: 8e-6,
    seconds: 2,
    ...over,
  };
}

describe.skipIf(!NATIVE)('fleetrt --measure-host', () => {
  it('prints one JSON object with positive, plausible figures (quick mode, well under a second)', () => {
    const r = spawnSync(findFleetrt(), ['--measure-host', '--quick', '--threads-max', '2'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout) as HostMeasurement;
    expect(m.format).toBe('fleetrt-host-measurement');
    expect(m.quick).toBe(true);
    expect(m.simd).toMatch(/^(avx512|avx2|portable)$/);
    expect(m.gemm.map((g) => g.threads)).toEqual([1, 2]);
    expect(m.bandwidth.map((b) => b.threads)).toEqual([1, 2]);
    // a float32 core does between 1 GFLOP/s (portable code, slow machine) and 1 TFLOP/s
    for (const g of m.gemm) expect(g.flops / g.threads).toBeGreaterThan(1e9);
    for (const g of m.gemm) expect(g.flops / g.threads).toBeLessThan(1e12);
    for (const g of m.gemm) expect(g.flopsMedian).toBeLessThanOrEqual(g.flops); // best run ≥ median run
    for (const b of m.bandwidth) expect(b.bytesPerSecond).toBeGreaterThan(5e8);
    for (const b of m.bandwidth) expect(b.bytesPerSecond).toBeLessThan(5e12);
    expect(m.dispatch).toBeGreaterThan(1e-9);
    expect(m.dispatch).toBeLessThan(1e-4);
    expect(m.message).toBeGreaterThan(1e-8);
    expect(m.message).toBeLessThan(1e-2);
    expect(m.seconds).toBeLessThan(5); // ~0.15 s on a quiet machine; generous for a loaded one
    // and it makes a profile fleetc accepts
    expect(profileFromMeasurement(m).measured).toBe(true);
  });

  it('refuses a bad --threads-max with one line', () => {
    const r = spawnSync(findFleetrt(), ['--measure-host', '--threads-max', '0'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['fleetrt: error: --threads-max needs a positive integer']);
  });
});

describe('the host profile cache', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fleetc-host-'));
    vi.stubEnv('FLEETC_HOST_PROFILE', '');
    vi.stubEnv('XDG_CACHE_HOME', dir);
    forgetHostProfile();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    forgetHostProfile();
  });
  const cacheFile = (): string => join(dir, 'fleetc', 'host-profile.json');

  it('is nominal until something is measured', () => {
    const info = hostProfileInfo();
    expect(info.source).toBe('nominal');
    expect(info.path).toBe(cacheFile());
    expect(info.refused).toBeUndefined();
    expect(info.profile.measured).toBe(false);
    expect(info.profile.gemm[0]!.flops).toBe(80e9);
  });

  it('writes a measurement atomically and reads it back', () => {
    const profile = profileFromMeasurement(measurement());
    expect(saveHostProfile(profile)).toBe(cacheFile());
    expect(readdirSync(join(dir, 'fleetc'))).toEqual(['host-profile.json']); // no temporary left
    forgetHostProfile();
    const info = hostProfileInfo();
    expect(info.source).toBe('cache');
    expect(info.profile).toEqual(profile);
    expect(info.profile.host).toEqual(thisHost());
    expect(info.profile.gemm).toEqual([
      { threads: 1, flops: 90e9 },
      { threads: 2, flops: 170e9 },
    ]);
  });

  it('refuses a cache measured on another host, a broken one, and says why', () => {
    const other = { ...profileFromMeasurement(measurement()), host: { ...thisHost(), name: 'another-machine' } };
    saveHostProfile(other);
    forgetHostProfile();
    let info = hostProfileInfo();
    expect(info.source).toBe('nominal');
    expect(info.refused).toMatch(/measured on another host \(another-machine,/);
    writeFileSync(cacheFile(), '{"format": "fleetc-host-profile", ');
    forgetHostProfile();
    info = hostProfileInfo();
    expect(info.source).toBe('nominal');
    expect(info.refused).toMatch(/^not JSON/);
    writeFileSync(cacheFile(), JSON.stringify({ ...other, host: thisHost(), dispatch: -1 }));
    forgetHostProfile();
    expect(hostProfileInfo().refused).toBe('dispatch and message need positive seconds');
    // a file named by FLEETC_HOST_PROFILE is taken wherever it was measured
    const named = join(dir, 'named.json');
    writeFileSync(named, JSON.stringify(other));
    vi.stubEnv('FLEETC_HOST_PROFILE', named);
    forgetHostProfile();
    info = hostProfileInfo();
    expect(info.source).toBe('env');
    expect(info.profile.host.name).toBe('another-machine');
  });

  it('rejects a malformed measurement', () => {
    expect(() => profileFromMeasurement(measurement({ gemm: [] }))).toThrow(/E0503|unusable measurement/);
    expect(() => profileFromMeasurement(measurement({ message: 0 }))).toThrow(/need positive seconds/);
  });
});

describe('a real cpu device is described by its host', () => {
  function fleet(device: string): ReturnType<typeof loadFleet> {
    const dir = mkdtempSync(join(tmpdir(), 'fleetc-host-fleet-'));
    const file = join(dir, 'fleet.yaml');
    writeFileSync(file, `name: t\ndevices:\n  - ${device.trim().split('\n').join('\n    ')}\n`);
    return loadFleet(file);
  }

  it("gets the host's memory as capacity, not a preset's 512 GiB, unless the fleet file states one", () => {
    const real = fleet('id: cpu0\npreset: intel-xeon-8480\nbackend: cpu\nthreads: 2').devices[0]!;
    expect(real.memory[0]!.capacity).toBe(PINNED.host.memory);
    // the preset's datasheet figures are what the fleet asked for: they stay
    expect(real.compute.float32).toBe(7.2e12);
    expect(real.memory[0]!.bandwidth).toBe(307e9);
    expect(real.described).toMatchObject({ figures: ['capacity', 'messageOverhead'], measured: false });
    const stated = fleet('id: cpu0\npreset: intel-xeon-8480\nbackend: cpu\nmemory: { capacity: 4GiB }').devices[0]!;
    expect(stated.memory[0]!.capacity).toBe(4 * GiB);
    expect(stated.memory[0]!.bandwidth).toBe(307e9);
    // an emulated cpu stands for the preset's machine, not this one
    const emulated = fleet('id: cpu0\npreset: intel-xeon-8480\nbackend: emulated').devices[0]!;
    expect(emulated.memory[0]!.capacity).toBe(512 * GiB);
    expect(emulated.described).toBeUndefined();
  });

  it('may leave compute and memory to the host profile', () => {
    const d = fleet('id: cpu0\nclass: cpu\nbackend: cpu\nthreads: 2').devices[0]!;
    // test/host-profile.json: 80 GFLOP/s per thread, 10 GB/s per thread, 1 µs per op, 5 µs per message
    expect(d.compute.float32).toBe(160e9);
    expect(d.memory[0]!.bandwidth).toBe(20e9);
    expect(d.memory[0]!.capacity).toBe(PINNED.host.memory);
    expect(d.launchOverhead).toBe(PINNED.dispatch);
    expect(d.messageOverhead).toBe(PINNED.message);
    expect(d.described!.figures).toEqual(['compute', 'bandwidth', 'capacity', 'launchOverhead', 'messageOverhead']);
    // a class that is not run here still has to say what it is
    expect(() => fleet('id: g\nclass: gpu\nmemory: { capacity: 1GiB, bandwidth: 1TB/s }')).toThrow(
      /declares no peak compute/,
    );
  });
});

describe.skipIf(!NATIVE)('fleetc host', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    forgetHostProfile();
  });

  it('--measure measures, writes the profile, and fleetc host shows it; compile --measure-host reports it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetc-host-cli-'));
    const file = join(dir, 'profile.json');
    vi.stubEnv('FLEETC_HOST_PROFILE', file);
    forgetHostProfile();
    let r = await cli(['host']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/figures +nominal per-core figures/);
    expect(r.stdout).toContain('fleetc host --measure');

    r = await cli(['host', '--measure', '--quick', '--threads-max', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const measured = JSON.parse(r.stdout) as { source: string; written: string; profile: HostProfile };
    expect(measured.source).toBe('env');
    expect(measured.written).toBe(file);
    expect(measured.profile.measured).toBe(true);
    expect(measured.profile.gemm.map((g) => g.threads)).toEqual([1]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(measured.profile);

    forgetHostProfile(); // as a later process would read it
    r = await cli(['host']);
    expect(r.stdout).toMatch(/figures +measured \d{4}-\d\d-\d\d on /);
    expect(r.stdout).toMatch(
      /GEMM +float32 by threads {2}1: [\d.]+ [GT]FLOP\/s {3}\(nominal 80\.0 GFLOP\/s per thread\)/,
    );

    const out = join(dir, 'build');
    r = await cli([
      'compile',
      join(REPO, 'fixtures/models/cnn_small/model.onnx'),
      '--fleet',
      join(REPO, 'fixtures/fleets/cpu-gpu-pcie.yaml'),
      '--measure-host',
      '-o',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/note: this host's cpu figures were measured .* cached in .*profile\.json/);
    const report = readFileSync(join(out, 'report.txt'), 'utf8');
    expect(report).toMatch(/cpu0: capacity, messageOverhead from this host's profile: measured \d{4}-\d\d-\d\d/);
    expect(existsSync(file)).toBe(true);

    r = await cli(['host', '--threads-max', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error\[E0901\]: --threads-max 'x': expected a positive integer/);
  });
});
