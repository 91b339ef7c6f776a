import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { compile, compileGraph } from '../../src/api/compile.js';
import { manifestTolerances } from '../../fixtures/gen/check_fixtures.mjs';
import { REPO } from '../paths.js';
import { FLEETRT, HAVE_FLEETRT, readNpyF32, smallGraph, smallGraphRef, tmp, writeNpyF32 } from './helpers.js';

const why = `native/build/fleetrt is not built (cmake -S native -B native/build && cmake --build native/build)`;

function run(args: string[]): { code: number; stderr: string } {
  const r = spawnSync(FLEETRT, args, { encoding: 'utf8' });
  return { code: r.status ?? -1, stderr: r.stderr };
}

/** Runs fleetrt --batch on one fixture test set and returns the result line. */
function batchRun(
  plan: string,
  set: string,
  t: TestContext,
  tolerance = { rtol: 1e-3, atol: 1e-4 },
): { status: string; message?: string } {
  const files = readdirSync(set);
  const pick = (p: string): string[] =>
    files
      .filter((f) => f.startsWith(p))
      .sort((a, b) => parseInt(a.slice(p.length)) - parseInt(b.slice(p.length)))
      .map((f) => join(set, f));
  const job = JSON.stringify({
    id: 'x',
    plan,
    inputs: pick('input_'),
    expected: pick('output_'),
    ...tolerance,
  });
  const jobs = join(tmp(), 'jobs.jsonl');
  writeFileSync(jobs, job + '\n');
  const line = JSON.parse(execFileSync(FLEETRT, ['--batch', jobs, '--threads', '1'], { encoding: 'utf8' }).trim()) as {
    status: string;
    message?: string;
  };
  if (line.status === 'error' && /no kernel for op/.test(line.message ?? ''))
    t.skip(`fleetrt lacks a kernel: ${line.message}`);
  return line;
}

describe.skipIf(!HAVE_FLEETRT)(
  HAVE_FLEETRT ? 'compile + fleetrt end to end' : `compile + fleetrt end to end (skipped: ${why})`,
  () => {
    it('runs an in-memory graph with symbolic batch, for the planned size and for others', async () => {
      const out = tmp();
      await compileGraph(smallGraph(), out, { dims: { batch: 3 } });
      for (const batch of [3, 1, 6]) {
        const x = Array.from({ length: batch * 4 }, (_, i) => ((i * 7) % 11) - 5 + 0.25);
        const dir = tmp();
        writeNpyF32(join(dir, 'input_0.npy'), [batch, 4], x);
        const r = run([join(out, 'plan.json'), '--inputs-dir', dir, '--output-dir', join(dir, 'out')]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const ref = smallGraphRef(x);
        const z = readNpyF32(join(dir, 'out/z.npy'));
        const y = readNpyF32(join(dir, 'out/y.npy'));
        expect(z.shape).toEqual([batch, 8]);
        expect(y.shape).toEqual([batch, 4]);
        expect(z.data).toEqual(ref.z);
        expect(y.data).toEqual(ref.y);
      }
    });

    it('reads --inputs-dir files by input name too, and names the files it looked for when one is missing', async () => {
      const out = tmp();
      await compileGraph(smallGraph(), out, { dims: { batch: 2 } });
      const x = [1, -2, 3.5, 0.25, -1, 2, 0, 4];
      const dir = tmp();
      writeNpyF32(join(dir, 'x.npy'), [2, 4], x);
      const r = run([join(out, 'plan.json'), '--inputs-dir', dir, '--output-dir', join(dir, 'out')]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(readNpyF32(join(dir, 'out/y.npy')).data).toEqual(smallGraphRef(x).y);

      const empty = tmp();
      const miss = run([join(out, 'plan.json'), '--inputs-dir', empty, '--output-dir', join(empty, 'out')]);
      expect(miss.code).toBe(4);
      expect(miss.stderr.trim().split('\n')).toHaveLength(1);
      expect(miss.stderr).toContain(
        `no value for input 'x' (#0): ${empty} has none of input_0.npy, input_0.pb, x.npy, x.pb`,
      );
    });

    it('rejects a modified bundle (sha256 in the plan)', async () => {
      const out = tmp();
      await compileGraph(smallGraph(), out);
      const w = join(out, 'bundles/cpu0/weights.bin');
      const bytes = readFileSync(w);
      bytes[0] ^= 1;
      writeFileSync(w, bytes);
      const r = run([join(out, 'plan.json'), '--random-inputs', '--output-dir', join(out, 'o')]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/sha256|modified/);
    });

    // Fixture models (symbolic shapes, KV cache, Loop/If subgraphs) against their test data.
    const fixtures = readdirSync(join(REPO, 'fixtures/models'), { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(REPO, 'fixtures/models', e.name, 'model.onnx')))
      .map((e) => e.name)
      .sort();
    // Fixtures in reduced precision carry their own tolerance (fixtures/models/manifest.json).
    const tolerances = manifestTolerances(join(REPO, 'fixtures/models'));
    for (const name of fixtures) {
      it(`runs fixtures/models/${name} and matches its test data`, async (t) => {
        const dir = join(REPO, 'fixtures/models', name);
        const out = tmp();
        await compile(join(dir, 'model.onnx'), out);
        for (const set of readdirSync(dir)
          .filter((d) => d.startsWith('test_data_set_'))
          .sort()) {
          const r = batchRun(join(out, 'plan.json'), join(dir, set), t, tolerances[name]);
          expect(r, `${name}/${set}`).toMatchObject({ status: 'pass' });
        }
      });
    }
  },
);

describe('multi-device compile', () => {
  it('splits the ops over the fleet and wires every channel with one send and one receive endpoint', async () => {
    const fleet = join(REPO, 'fixtures/fleets/cpu-gpu-pcie.yaml');
    if (!existsSync(fleet)) return;
    const out = tmp();
    const res = await compile(join(REPO, 'fixtures/models/tiny_vit/model.onnx'), out, { fleet, pins: ['MatMul=gpu0'] });
    const plan = res.plan;
    expect(plan.devices.map((d) => d.name).sort()).toEqual(['cpu0', 'gpu0']);
    expect(plan.devices.find((d) => d.name === 'gpu0')!.emulated).toBe(true);
    expect(plan.channels.length).toBeGreaterThan(0);
    const total = plan.devices.reduce((n, d) => n + d.ops, 0);
    expect(total).toBe(plan.schedule.length);
    const manifests = Object.fromEntries(
      plan.devices.map((d) => [
        d.name,
        JSON.parse(readFileSync(join(out, d.bundle.dir, 'manifest.json'), 'utf8')) as {
          channels: { channel: number; direction: string }[];
        },
      ]),
    );
    for (const c of plan.channels) {
      expect(manifests[c.from]!.channels).toContainEqual(expect.objectContaining({ channel: c.id, direction: 'send' }));
      expect(manifests[c.to]!.channels).toContainEqual(expect.objectContaining({ channel: c.id, direction: 'recv' }));
    }
    // Graph outputs are delivered to the home device.
    expect(plan.devices.find((d) => d.home)!.name).toBe('cpu0');
  });

  it.skipIf(!HAVE_FLEETRT)(
    'each device program loads in fleetrt; the whole plan runs once fleetrt runs multi-device plans',
    async (t) => {
      const fleet = join(REPO, 'fixtures/fleets/cpu-gpu-pcie.yaml');
      const model = join(REPO, 'fixtures/models/tiny_vit');
      const out = tmp();
      const res = await compile(join(model, 'model.onnx'), out, { fleet, pins: ['MatMul=gpu0'] });
      // One device at a time: the program loads (every bound checked) and runs up to its first
      // received tensor, which no one sends.
      for (const d of res.plan.devices) {
        const single = {
          ...res.plan,
          devices: [d],
          inputs: d.home ? res.plan.inputs : [],
          outputs: d.home ? res.plan.outputs : [],
        };
        const path = join(out, `plan_${d.name}.json`);
        writeFileSync(path, JSON.stringify(single));
        const r = run([path, '--random-inputs', '--output-dir', join(out, `o_${d.name}`)]);
        expect(r.stderr).toMatch(/is not available|not received|channel/);
      }
      const r = batchRun(join(out, 'plan.json'), join(model, 'test_data_set_0'), t);
      if (r.status === 'error' && /single-device/.test(r.message ?? '')) t.skip(`fleetrt: ${r.message}`);
      expect(r).toMatchObject({ status: 'pass' });
    },
  );
});
