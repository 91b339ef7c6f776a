/**
 * Floating ops (docs/floating.md): cheap ops that any cpu of a host may run, decided by readiness
 * at run time. A split forced by pins on two real cpu devices of one host (cpu-threads): the plan
 * marks the shape arithmetic floating, fleetrt runs each floating op once per pass on whichever
 * device took it, the outputs are the pinned plan's bit for bit (and onnxruntime's), and the plan
 * needs fewer channels.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/api/compile.js';
import type { PlanJSON } from '../../src/api/plan.js';
import { run } from '../../src/api/run.js';
import { findFleetrt, haveFleetrt } from '../../runtime/fleetrt.js';
import { readNpy } from '../npy.js';
import { pbTensor } from '../ort-tensor.js';
import { REPO } from '../paths.js';

const NATIVE = haveFleetrt();
const MPI =
  NATIVE &&
  execFileSync(findFleetrt(), ['--version'], { encoding: 'utf8' }).includes('mpi') &&
  spawnSync('mpirun', ['--version']).status === 0;
const FLEET = join(REPO, 'fixtures/fleets/cpu-threads.yaml');
const SHAPE_KINDS = new Set(['shape', 'data', 'elementwise']);

interface FloatingMetrics {
  runsPerDevice: Record<string, number>;
  sharedValuesPerRequest: number;
  ops: { op: string; devices: string[]; placed: string; runs: Record<string, number> }[];
}

async function build(model: string, pins: string[], dir: string) {
  const file = join(REPO, 'fixtures/models', model, 'model.onnx');
  const floating = await compile(file, join(dir, 'float'), { fleet: FLEET, pins, report: false, float: true });
  const pinned = await compile(file, join(dir, 'pinned'), { fleet: FLEET, pins, report: false });
  return {
    file,
    floating: floating.plan,
    floatingPlan: floating.planPath,
    pinned: pinned.plan,
    pinnedPlan: pinned.planPath,
  };
}

function outputsEqual(plan: PlanJSON, a: string, b: string): void {
  for (const o of plan.outputs) {
    const f = `${o.name.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`;
    expect(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f).toBe(true);
  }
}

describe.skipIf(!NATIVE)(`floating ops${NATIVE ? '' : ' (skipped: native/build/fleetrt is not built)'}`, () => {
  it('gpt_decoder_kv split by MatMul=cpu1: shape ops float, outputs as pinned and as onnxruntime, fewer channels', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetc-float-'));
    const b = await build('gpt_decoder_kv', ['MatMul=cpu1'], dir);
    const f = b.floating.floating!;
    expect(b.floating.schemaVersion).toBe(3);
    expect(b.pinned.schemaVersion).toBe(2);
    expect(b.pinned.floating).toBeUndefined();
    expect(b.pinned.pipeline.text).not.toMatch(/(^|,)float(,|$)/);
    // Shape arithmetic floats between the two cpus; no matrix product (pinned), no stateful op.
    expect(f.ops.length).toBeGreaterThan(5);
    expect(f.ops.filter((o) => o.type === 'Shape').length).toBeGreaterThan(0);
    for (const o of f.ops) {
      expect(o.devices).toEqual(['cpu0', 'cpu1']);
      expect(SHAPE_KINDS.has(o.kind), `${o.name} is ${o.kind}`).toBe(true);
      expect(o.type).not.toBe('MatMul');
    }
    // Each floating op is in both programs; its values are shared, not channels.
    const floatingIds = new Set(f.ops.map((o) => o.op));
    for (const d of b.floating.devices) {
      const placedHere = b.floating.schedule.filter((s) => s.device === d.name && !floatingIds.has(s.op)).length;
      expect(d.ops, d.name).toBe(placedHere + f.ops.length);
    }
    expect(b.floating.channels.length).toBeLessThan(b.pinned.channels.length);
    expect(f.values.every((v) => v.endpoint === b.floating.channels.length + v.id)).toBe(true);

    // Runs: two requests in flight, warm-up left out; every floating op ran once per pass.
    const inputs = join(REPO, 'fixtures/models/gpt_decoder_kv/test_data_set_0');
    const out = { float: join(dir, 'o-float'), pinned: join(dir, 'o-pinned') };
    await run(b.floatingPlan, {
      inputsDir: inputs,
      outputDir: out.float,
      metrics: join(dir, 'm.json'),
      repeat: 5,
      requests: 2,
      warmup: 1,
    });
    await run(b.pinnedPlan, { inputsDir: inputs, outputDir: out.pinned });
    outputsEqual(b.floating, out.float, out.pinned);
    const m = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8')) as {
      requests: number;
      repeats: number;
      floating: FloatingMetrics;
    };
    const passes = m.requests * m.repeats;
    expect(passes).toBe(10);
    expect(m.floating.ops.map((o) => o.op)).toEqual(f.ops.map((o) => o.name));
    for (const o of m.floating.ops) {
      expect(
        Object.values(o.runs).reduce((s, n) => s + n, 0),
        o.op,
      ).toBe(passes);
      for (const d of Object.keys(o.runs)) expect(o.devices).toContain(d);
    }
    expect(Object.keys(m.floating.runsPerDevice).sort()).toEqual(['cpu0', 'cpu1']);

    // onnxruntime-node on the same inputs.
    const session = await ort.InferenceSession.create(b.file, { intraOpNumThreads: 1 });
    const feeds: Record<string, ort.Tensor> = {};
    readdirSync(inputs)
      .filter((x) => /^input_\d+\.pb$/.test(x))
      .sort((x, y) => parseInt(x.slice(6)) - parseInt(y.slice(6)))
      .forEach((x, i) => (feeds[session.inputNames[i]!] = pbTensor(join(inputs, x))));
    const want = await session.run(feeds);
    for (const o of b.floating.outputs) {
      const got = readNpy(join(out.float, `${o.name.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`));
      const ref = want[o.name]!.data as Float32Array;
      expect(got.data.length).toBe(ref.length);
      got.data.forEach((x, k) =>
        expect(Math.abs(x - ref[k]!), `${o.name}[${k}]`).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(ref[k]!)),
      );
    }
  });

  it('bert_encoder split by MatMul=cpu1: floating plan gives the pinned outputs bit for bit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetc-float-bert-'));
    const b = await build('bert_encoder', ['MatMul=cpu1'], dir);
    expect(b.floating.floating?.ops.length ?? 0).toBeGreaterThan(0);
    const inputs = join(REPO, 'fixtures/models/bert_encoder/test_data_set_0');
    await run(b.floatingPlan, { inputsDir: inputs, outputDir: join(dir, 'a'), requests: 3 });
    await run(b.pinnedPlan, { inputsDir: inputs, outputDir: join(dir, 'b') });
    outputsEqual(b.floating, join(dir, 'a'), join(dir, 'b'));
  });

  it.skipIf(!MPI)('under mpirun each floating op runs where it was placed, with the same outputs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetc-float-mpi-'));
    const b = await build('gpt_decoder_kv', ['MatMul=cpu1'], dir);
    const inputs = join(REPO, 'fixtures/models/gpt_decoder_kv/test_data_set_0');
    await run(b.floatingPlan, {
      inputsDir: inputs,
      outputDir: join(dir, 'a'),
      launcher: 'mpi',
      metrics: join(dir, 'm.json'),
    });
    await run(b.pinnedPlan, { inputsDir: inputs, outputDir: join(dir, 'b') });
    outputsEqual(b.floating, join(dir, 'a'), join(dir, 'b'));
    const m = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8')) as { floating: FloatingMetrics };
    for (const o of m.floating.ops) expect(o.runs, o.op).toEqual({ [o.placed]: 1 });
  });
});
