/** Multi-device execution: channels between executors, requests in flight, MPI ranks, telemetry. */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findFleetrt, haveFleetrt } from '../../runtime/fleetrt.js';
import { cli } from '../cli/helpers.js';
import { REPO } from '../paths.js';
import { encodeProgram, planWithInput, readNpyF32, twoDevicePlan } from './fixture-bundle.js';

const NATIVE = haveFleetrt();
const MPI =
  NATIVE &&
  execFileSync(findFleetrt(), ['--version'], { encoding: 'utf8' }).includes('mpi') &&
  spawnSync('mpirun', ['--version']).status === 0;

function setup(opts: { capacity?: number } = {}): { dir: string; plan: string; x: string } {
  return planWithInput('fleetc-fleet-', (build) => twoDevicePlan(build, opts));
}

const Y = [2, 0, 4, 0, 0, 3, 0, 1];
const Z = [-1, -1, -1, -1, 5, -5, 5, -5];

interface Metrics {
  requests: number;
  throughputPerSec: number;
  devices: {
    name: string;
    emulated: boolean;
    measured: { busyMsPerRequest: number; peakBytes: number; cpuContentionSpells: number };
  }[];
  links: { id: string; measuredBytesPerRequest: number; predictedBytes: number }[];
  channels: { value: string; transfers: number; bytesPerRequest: number }[];
}

interface TraceEvent {
  ph: string;
  tid?: number;
  name?: string;
  args?: { name?: string };
}

describe.skipIf(!NATIVE)(`multi-device runs${NATIVE ? '' : ' (skipped: native/build/fleetrt is not built)'}`, () => {
  it('runs two devices in one process, values crossing on channels; telemetry per device and link', async () => {
    const { dir, plan, x } = setup();
    const out = join(dir, 'out');
    const r = await cli([
      'run',
      plan,
      '--input',
      `x=${x}`,
      '--output-dir',
      out,
      '--metrics',
      join(dir, 'm.json'),
      '--trace',
      join(dir, 't.json'),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(readNpyF32(readFileSync(join(out, 'y.npy'))).values).toEqual(Y);
    expect(readNpyF32(readFileSync(join(out, 'z.npy'))).values).toEqual(Z);
    const s = JSON.parse(r.stdout) as { devices: { name: string; emulated: boolean; busyMsPerRequest?: number }[] };
    expect(s.devices).toEqual([
      expect.objectContaining({ name: 'cpu0', backend: 'cpu', emulated: false, capacityBytes: 0 }),
      expect.objectContaining({ name: 'gpu0', backend: 'emulated', emulated: true }),
    ]);
    expect(s.devices[0]!.busyMsPerRequest).toBeGreaterThan(0);
    const m = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8')) as Metrics;
    expect(m.devices.map((d) => [d.name, d.emulated])).toEqual([
      ['cpu0', false],
      ['gpu0', true],
    ]);
    for (const d of m.devices) expect(Number.isInteger(d.measured.cpuContentionSpells), d.name).toBe(true);
    expect(m.links).toEqual([
      expect.objectContaining({ id: 'pcie0', measuredBytesPerRequest: 64, predictedBytes: 64 }),
    ]);
    expect(m.channels.map((c) => [c.value, c.transfers, c.bytesPerRequest])).toEqual([
      ['s', 1, 32],
      ['y', 1, 32],
    ]);
    const t = JSON.parse(readFileSync(join(dir, 't.json'), 'utf8')) as { traceEvents: TraceEvent[] };
    const tracks = t.traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => e.args?.name);
    expect(tracks).toEqual(['cpu0 (cpu)', 'gpu0 (gpu, emulated)']);
    const ops = t.traceEvents.filter((e) => e.ph === 'X' && !e.name?.startsWith('send') && !e.name?.startsWith('recv'));
    expect(ops.map((e) => `${e.tid}:${e.name}`).sort()).toEqual(['1:add', '1:neg', '2:relu']);
    expect(t.traceEvents.filter((e) => e.ph === 's')).toHaveLength(2);
    expect(t.traceEvents.filter((e) => e.ph === 'f')).toHaveLength(2);
  });

  it('keeps several requests in flight and reports throughput', async () => {
    const { dir, plan, x } = setup();
    const r = await cli([
      'run',
      plan,
      '--input',
      `x=${x}`,
      '--output-dir',
      join(dir, 'o'),
      '--requests',
      '6',
      '--metrics',
      join(dir, 'm.json'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/throughput: [\d.]+ requests\/s with 6 in flight/);
    const m = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8')) as Metrics;
    expect(m.requests).toBe(6);
    expect(m.throughputPerSec).toBeGreaterThan(0);
    expect(m.channels.map((c) => c.transfers)).toEqual([6, 6]);
    expect(readNpyF32(readFileSync(join(dir, 'o', 'y.npy'))).values).toEqual(Y);
  });

  it("enforces a device's memory budget", async () => {
    const { dir, plan, x } = setup({ capacity: 64 });
    const r = await cli(['run', plan, '--input', `x=${x}`, '--output-dir', join(dir, 'o')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/error\[E0503\]: device 'gpu0': exceeded its memory budget of 64 bytes/);
  });

  it('detects a deadlock instead of hanging', async () => {
    const { dir, plan, x } = setup();
    // Replace cpu0's program by one that never sends s: gpu0 waits for s, cpu0 waits for y.
    const prog = encodeProgram({
      tensors: [
        { name: 'x', dtype: 1, storage: 'input', shape: ['n', 4] },
        { name: 'y', dtype: 1, storage: 'channel', shape: ['n', 4] },
        { name: 'z', dtype: 1, storage: 'output', shape: ['n', 4] },
      ],
      inputs: ['x'],
      outputs: ['y', 'z'],
      ops: [{ name: 'neg', type: 'Neg', inputs: ['x'], outputs: ['z'] }],
      channels: [{ tensor: 'y', channel: 1, direction: 1 }],
    }).program;
    writeFileSync(join(dir, 'build', 'bundles', 'cpu0', 'program.bin'), prog);
    const json = JSON.parse(readFileSync(plan, 'utf8')) as {
      devices: { bundle: { files: { path: string; sha256: string; bytes: number }[] } }[];
    };
    const f = json.devices[0]!.bundle.files.find((q) => q.path === 'program.bin')!;
    f.sha256 = createHash('sha256').update(prog).digest('hex');
    f.bytes = prog.length;
    writeFileSync(plan, JSON.stringify(json));
    const r = await cli(['run', plan, '--input', `x=${x}`, '--output-dir', join(dir, 'o')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /error\[E0503\]: device '(cpu0|gpu0)': deadlock: every device waits and no value is in flight/,
    );
  });

  it.skipIf(!MPI)(
    `runs one rank per device under mpirun with the same outputs${MPI ? '' : ' (skipped: no MPI)'}`,
    async () => {
      const { dir, plan, x } = setup();
      const r = await cli([
        'run',
        plan,
        '--input',
        `x=${x}`,
        '--output-dir',
        join(dir, 'mpi'),
        '--launcher',
        'mpi',
        '--requests',
        '3',
        '--metrics',
        join(dir, 'm.json'),
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { launcher: string }).launcher).toBe('mpi');
      expect(readNpyF32(readFileSync(join(dir, 'mpi', 'y.npy'))).values).toEqual(Y);
      expect(readNpyF32(readFileSync(join(dir, 'mpi', 'z.npy'))).values).toEqual(Z);
      const m = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8')) as Metrics & { launcher: string };
      expect(m.launcher).toBe('mpi');
      expect(m.channels.map((c) => c.transfers)).toEqual([3, 3]);
    },
  );

  it.skipIf(!MPI)('under mpirun, a plan error is one line', async () => {
    const { dir, plan, x } = setup();
    const json = JSON.parse(readFileSync(plan, 'utf8')) as { schemaVersion: number };
    json.schemaVersion = 9;
    writeFileSync(plan, JSON.stringify(json));
    const r = await cli(['run', plan, '--input', `x=${x}`, '--output-dir', join(dir, 'o'), '--launcher', 'mpi']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/error\[E0501\]: .*schemaVersion 9 is newer/);
  });

  // Compiled plans across example fleets: outputs equal the single-device run's, bit for bit,
  // in one process and under mpirun.
  // Pins force a split where the partitioner alone might keep a small model on one device.
  const cases: [string, string, string[]][] = [
    ['cnn_small', 'small-devices', ['^/conv1/Conv$=npu0', '^/fc/Gemm$=cpu0']],
    ['rnn_seq', 'small-devices', []],
    ['unet_tiny', 'cpu-two-unequal-gpus', []],
  ];
  for (const [model, fleetName, pins] of cases) {
    const dirModel = join(REPO, 'fixtures', 'models', model);
    const fleet = join(REPO, 'fixtures', 'fleets', `${fleetName}.yaml`);
    it.skipIf(!existsSync(dirModel) || !existsSync(fleet))(
      `${model} on ${fleetName} gives the single-device outputs bit for bit`,
      async () => {
        const { compile, DEFAULT_COMPILE_PIPELINE } = await import('../../src/api/compile.js');
        // Fusion only happens on all-cpu fleets: the reference runs the multi-device plan's kernels.
        const passes = DEFAULT_COMPILE_PIPELINE.split(',')
          .filter((p) => !p.startsWith('fuse-'))
          .join(',');
        const dir = mkdtempSync(join(tmpdir(), `fleetc-fleet-${model}-`));
        const multi = await compile(join(dirModel, 'model.onnx'), join(dir, 'multi'), { fleet, pins });
        const single = await compile(join(dirModel, 'model.onnx'), join(dir, 'single'), { passes });
        if (pins.length) expect(multi.plan.devices.filter((d) => d.ops > 0).length).toBeGreaterThan(1);
        const inputs = join(dirModel, 'test_data_set_0');
        const runs: [string, string, string[]][] = [
          [single.planPath, 'single', []],
          [multi.planPath, 'inproc', ['--requests', '2']],
        ];
        if (MPI) runs.push([multi.planPath, 'mpi', ['--launcher', 'mpi']]);
        for (const [p, o, extra] of runs) {
          const r = await cli(['run', p, '--inputs-dir', inputs, '--output-dir', join(dir, o), ...extra]);
          expect(r.code, r.stderr).toBe(0);
        }
        for (const out of multi.plan.outputs) {
          const file = `${out.name.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`;
          const want = readFileSync(join(dir, 'single', file));
          for (const [, o] of runs.slice(1))
            expect(readFileSync(join(dir, o, file)).equals(want), `${o}/${file}`).toBe(true);
        }
      },
    );
  }
});
