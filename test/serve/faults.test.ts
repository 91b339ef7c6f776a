// Issue 11: requests survive a lost device. A device that crashes or stops answering in-process
// (FLEETRT_FAULT), an engine killed outright, an MPI rank killed with SIGKILL: the supervisor
// re-plans on the devices left (or restarts on the same plan), resumes every request with the
// tokens it had, and each finishes with exactly the ids it would have had; the metrics show the
// restart and the re-plan. When the devices left cannot hold the model: 503 with the reason.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/api/compile.js';
import { serve, type ServeHandle, type ServeOptions } from '../../src/serve/index.js';
import { findFleetrt, haveFleetrt } from '../../runtime/fleetrt.js';
import { REPO } from '../paths.js';
import {
  complete,
  loneGenerate,
  metric,
  metricsText,
  mpiRankPid,
  prompts,
  streamedIds,
  streamEvents,
  type Sampling,
} from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'fleetc-serve-faults-'));
const MODEL = join(REPO, 'fixtures/models/gpt_kv_plain/model.onnx');
const FLEET = join(REPO, 'fixtures/fleets/cpu-gpu-pcie.yaml');
const NEW = 40;
const PROMPTS = prompts(8, 1000);
// two requests sample (seeded): after a restart they must draw exactly what they would have drawn
const SAMPLING: (Sampling | undefined)[] = PROMPTS.map((_, i) =>
  i === 2 || i === 5 ? { temperature: 0.9, topP: 0.95, seed: 100 + i } : undefined,
);
const body = (prompt: number[], i: number): object => {
  const s = SAMPLING[i];
  return { prompt, max_tokens: NEW, ...(s ? { temperature: s.temperature, top_p: s.topP, seed: s.seed } : {}) };
};

/** Whether fleetrt runs the engine under MPI (mpirun present, fleetrt built with MPI and taking --engine --mpi). */
function engineUnderMpi(plan: string): boolean {
  if (!haveFleetrt()) return false;
  const fleetrt = findFleetrt();
  const v = spawnSync(fleetrt, ['--version'], { encoding: 'utf8' });
  if (!/mpi/.test(v.stdout + v.stderr)) return false;
  if (spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).status !== 0) return false;
  const probe = spawnSync(fleetrt, [plan, '--engine', '--mpi'], { encoding: 'utf8', input: '', timeout: 20_000 });
  return !/runs in one process/.test(probe.stderr);
}

/** All prompts at once (odd ones streamed); `during` runs once every request has a token. */
async function runAll(
  server: ServeHandle,
  during?: () => void,
): Promise<{ ids: number[][]; statuses: number[]; errors: string[] }> {
  let begun = 0;
  const ids: number[][] = [];
  const statuses: number[] = [];
  const errors: string[] = [];
  await Promise.all(
    PROMPTS.map(async (prompt, i) => {
      let seen = false;
      const mark = (): void => {
        if (!seen && ++begun === PROMPTS.length) during?.();
        seen = true;
      };
      if (i % 2) {
        const r = await streamEvents(server.url, body(prompt, i), { onEvent: mark });
        statuses[i] = r.status;
        ids[i] = streamedIds(r.events.filter((e) => !e.data.includes('"error"')));
      } else {
        mark();
        const r = await complete(server.url, body(prompt, i));
        statuses[i] = r.status;
        ids[i] = r.body.choices?.[0]?.token_ids ?? [];
        if (r.body.error) errors[i] = r.body.error.message;
      }
    }),
  );
  return { ids, statuses, errors };
}

describe.skipIf(!haveFleetrt())('fleetc serve: requests survive a lost device', () => {
  let build: string;
  let want: number[][];
  const logs: string[] = [];
  const start = (o: ServeOptions): Promise<ServeHandle> =>
    serve(build, { port: 0, fleet: FLEET, source: MODEL, log: (l) => logs.push(l), ...o });

  beforeAll(async () => {
    build = join(work, 'build');
    // The decoder's matrix products pinned to the gpu: on its own the cost model keeps a model this
    // small on the cpu (a message costs more than the gpu would save), and these tests need two devices.
    await compile(MODEL, build, { fleet: FLEET, generate: { maxContext: 1024 }, report: false, pins: ['MatMul=gpu0'] });
    want = await loneGenerate(build, PROMPTS, NEW, SAMPLING);
    // the sampled ones differ from greedy (so the check above means something)
    const greedy = await loneGenerate(build, [PROMPTS[2]!, PROMPTS[5]!], NEW);
    expect([want[2], want[5]]).not.toEqual(greedy);
  });

  it('a device that crashes in-process mid-run: re-planned without it, every request completes with the same ids', async () => {
    logs.length = 0;
    const server = await start({ env: { FLEETRT_FAULT: 'device=gpu0,step=12,mode=crash' } });
    try {
      const got = await runAll(server);
      expect(got.statuses).toEqual(PROMPTS.map(() => 200));
      expect(got.ids).toEqual(want);
      const m = await metricsText(server.url);
      expect(metric(m, 'fleetc_engine_restarts_total', { cause: 'device_failed' })).toBe(1);
      expect(metric(m, 'fleetc_replan_seconds_count')).toBe(1);
      expect(metric(m, 'fleetc_replan_seconds_sum')).toBeGreaterThan(0);
      expect(metric(m, 'fleetc_device_up', { device: 'gpu0' })).toBe(0);
      expect(metric(m, 'fleetc_device_up', { device: 'cpu0' })).toBe(1);
      const health = await (await fetch(`${server.url}/health`)).json();
      expect(health).toMatchObject({ status: 'ready', devices: ['cpu0'], lost: ['gpu0'], restarts: 1 });
      expect(logs.join('\n')).toMatch(/resumed [1-8] request\(s\) with the tokens they had/);
    } finally {
      await server.close();
    }
  });

  it('a device that stops answering is found by the watchdog within 2 s; the requests go on with the same ids', async () => {
    logs.length = 0;
    const server = await start({ env: { FLEETRT_FAULT: 'device=cpu0,step=12,mode=hang' } });
    try {
      const t0 = performance.now();
      const got = await runAll(server);
      expect(got.ids).toEqual(want);
      expect(logs.join('\n')).toMatch(/device 'cpu0' failed: .*2000 ms/);
      expect(performance.now() - t0).toBeLessThan(20_000);
      expect(server.supervisor.deviceNames).toEqual(['gpu0']);
    } finally {
      await server.close();
    }
  });

  it('an engine killed outright restarts on the same plan; requests resume with the same ids, nothing re-planned', async () => {
    const server = await start({});
    try {
      let inFlight = 0;
      const got = await runAll(server, () => {
        inFlight = server.supervisor.inFlight;
        server.supervisor.engineProcess!.kill('SIGKILL');
      });
      expect(inFlight).toBeGreaterThan(0);
      expect(got.ids).toEqual(want);
      const m = await metricsText(server.url);
      expect(metric(m, 'fleetc_engine_restarts_total', { cause: 'exited' })).toBe(1);
      expect(metric(m, 'fleetc_replan_seconds_count')).toBe(0);
      expect(server.supervisor.deviceNames).toEqual(['cpu0', 'gpu0']);
    } finally {
      await server.close();
    }
  });

  it('when the devices left cannot hold the model, requests end with a 503 and the reason', async () => {
    // a CPU too small for the model alone: it leans on the GPU, and cannot go on without it
    const fleet = join(work, 'small-cpu.yaml');
    writeFileSync(
      fleet,
      [
        'name: small-cpu-gpu',
        'devices:',
        '  - { id: cpu0, preset: intel-xeon-8480, host: node0, backend: cpu, threads: 1, memory: { capacity: 256KiB } }',
        '  - { id: gpu0, preset: nvidia-h100-sxm, host: node0, hostLink: { kind: pcie5-x16 } }',
      ].join('\n'),
    );
    const server = await serve(MODEL, {
      port: 0,
      fleet,
      maxContext: 1024,
      workDir: join(work, 'small'),
      env: { FLEETRT_FAULT: 'device=gpu0,step=12,mode=crash' },
    });
    try {
      const got = await runAll(server);
      expect(got.statuses.filter((s, i) => i % 2 === 0)).toEqual([503, 503, 503, 503]);
      for (const e of got.errors.filter(Boolean))
        expect(e).toMatch(/device 'gpu0' was lost and the devices left cannot run the model: .*cpu0/);
      const health = await fetch(`${server.url}/health`);
      expect(health.status).toBe(503);
      expect((await health.json()).status).toBe('failed');
      const late = await complete(server.url, { prompt: [1, 2], max_tokens: 2 });
      expect(late.status).toBe(503);
      expect(late.body.error!.message).toMatch(/cannot run the model/);
    } finally {
      await server.close();
    }
  });

  it('under --launcher mpi, a rank killed with SIGKILL mid-run: re-planned without its device, same ids', async (ctx) => {
    if (!engineUnderMpi(join(work, 'build', 'plan.json'))) ctx.skip();
    logs.length = 0;
    const server = await start({ launcher: 'mpi' });
    try {
      const mpirun = server.supervisor.engineProcess!.pid!;
      const got = await runAll(server, () => {
        const rank1 = mpiRankPid(mpirun, 1);
        expect(rank1).toBeDefined();
        process.kill(rank1!, 'SIGKILL');
      });
      expect(got.ids).toEqual(want);
      const m = await metricsText(server.url);
      expect(metric(m, 'fleetc_engine_restarts_total', { cause: 'device_failed' })).toBe(1);
      expect(metric(m, 'fleetc_replan_seconds_count')).toBe(1);
      expect(server.supervisor.lostDevices).toEqual(['gpu0']);
      expect(logs.join('\n')).toMatch(/gpu0/);
    } finally {
      await server.close();
    }
  });
});
