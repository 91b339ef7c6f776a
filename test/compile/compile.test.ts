import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileGraph, DEFAULT_COMPILE_PIPELINE } from '../../src/api/compile.js';
import { validatePlan } from '../../src/api/plan.js';
import { FleetcError } from '../../src/diagnostics/index.js';
import { BACKEND_PIPELINE, PIPELINES } from '../../passes/registry.js';
import { REPO } from '../paths.js';
import { cli } from '../cli/helpers.js';
import { writeGraph } from '../cli/helpers.js';
import { smallGraph, tmp } from './helpers.js';

function filesOf(dir: string, rel = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [k, v] of filesOf(dir, p)) out.set(k, v);
    else out.set(p, readFileSync(join(dir, p)));
  }
  return out;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof FleetcError) return e.code;
    throw e;
  }
  return 'ok';
}

describe('compileGraph', () => {
  it('writes plan.json and one bundle that match each other and the schema', async () => {
    const out = tmp();
    // Without the fusion passes, so that the memory plan below has intermediates to overlap.
    const passes = 'infer-shapes,fold,dce,cse';
    const res = await compileGraph(smallGraph(), out, { dims: { batch: 3 }, passes });
    const plan = JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8'));
    expect(validatePlan(plan)).toEqual([]);
    expect(plan.schemaVersion).toBe(2);
    // The back end (partition … emit) is appended to a pipeline that stops before it.
    expect(plan.pipeline.text).toBe(`${passes},${BACKEND_PIPELINE}`);
    // split-moe (first: it turns com.microsoft MoE into ops shape inference knows) is a no-op here.
    expect(DEFAULT_COMPILE_PIPELINE.startsWith(`split-moe,${passes}`)).toBe(true);
    expect(plan.pipeline.options.dims).toEqual({ batch: 3 });
    expect(plan.devices).toHaveLength(1);
    const dev = plan.devices[0];
    expect(dev.bundle.files.map((f: { path: string }) => f.path)).toEqual([
      'manifest.json',
      'program.bin',
      'weights.bin',
    ]);
    for (const f of dev.bundle.files) expect(readFileSync(join(out, dev.bundle.dir, f.path)).length).toBe(f.bytes);
    // fold turned c + c into a weight, dce removed the dead Neg.
    expect(res.plan.schedule.map((s) => s.op)).toEqual(['mul', 'add', 'relu', 'cat']);
    expect(plan.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: ['batch', 4], device: 'cpu0', kind: 'tensor' }]);
    expect(plan.symbols).toEqual([{ name: 'batch', planned: 3, boundFrom: 'inputs' }]);
    // Arena: xw and pre (3x4 floats each, 64-byte aligned) overlap in time; y and z are outputs.
    expect(dev.memory.arena).toBe(128);
    expect(dev.memory.arena).toBeLessThanOrEqual(dev.memory.arenaUnshared);
    // weights.bin: w and the folded b, 64-byte aligned.
    expect(dev.memory.weights).toBe(64 + 16);
    expect(plan.predicted.latency).toBeGreaterThan(0);
  });

  it('is deterministic: the same graph and options give byte-identical builds', async () => {
    const a = tmp();
    const b = tmp();
    await compileGraph(smallGraph(), a, { dims: { batch: 2 } });
    await compileGraph(smallGraph(), b, { dims: { batch: 2 } });
    const fa = filesOf(a);
    const fb = filesOf(b);
    expect([...fa.keys()].sort()).toEqual([...fb.keys()].sort());
    for (const [k, v] of fa) expect(v.equals(fb.get(k)!), k).toBe(true);
    // A different binding changes the plan (planned symbol) but builds again the same way.
    const c = tmp();
    await compileGraph(smallGraph(), c, { dims: { batch: 5 } });
    expect(filesOf(c).get('plan.json')!.equals(fa.get('plan.json')!)).toBe(false);
  });

  it('compiles as one pipeline of passes: the text printed into plan.json runs again to the same build', async () => {
    const model = join(REPO, 'fixtures/models/gpt_decoder_kv/model.onnx');
    const fleet = join(REPO, 'fixtures/fleets/cpu-gpu-pcie.yaml');
    const dims = { batch: 2, seq: 3, past_seq: 4 };
    const { compile } = await import('../../src/api/compile.js');
    const a = tmp();
    const first = await compile(model, a, { fleet, dims, objective: 'throughput', report: false });
    const text = first.plan.pipeline.text;
    expect(text).toBe(PIPELINES.default!.replace('partition', 'partition{objective=throughput}'));
    expect(first.plan.pipeline.passes.map((p) => p.pass)).toEqual(text.split(',').map((p) => p.replace(/\{.*/, '')));
    const b = tmp();
    await compile(model, b, { fleet, dims, passes: text, report: false });
    const fa = filesOf(a);
    const fb = filesOf(b);
    expect([...fb.keys()].sort()).toEqual([...fa.keys()].sort());
    for (const [k, v] of fa) expect(v.equals(fb.get(k)!), k).toBe(true);
  });

  it('named pipelines; a pass before the results it reads is refused', async () => {
    const o0 = await compileGraph(smallGraph(), tmp(), { passes: 'O0', dims: { batch: 2 } });
    expect(o0.plan.pipeline.text).toBe(PIPELINES.O0);
    // Nothing folded: the constant add is still an op.
    expect(o0.plan.schedule.map((s) => s.op)).toContain('fold_me');
    const err = await compileGraph(smallGraph(), tmp(), { passes: 'infer-shapes,emit' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(FleetcError);
    expect((err as FleetcError).message).toMatch(/pass 'emit' needs 'schedule' earlier in the pipeline/);
    const short = await compileGraph(smallGraph(), tmp(), { passes: 'infer-shapes,partition' }).catch((e: Error) => e);
    expect(short).toBeInstanceOf(FleetcError);
    expect((short as FleetcError).message).toMatch(/^pipeline 'infer-shapes,partition' stops before 'emit'/);
  });

  it('refuses a non-empty folder that is not a build, unless forced; rebuilds over a previous build', async () => {
    const out = tmp();
    writeFileSync(join(out, 'notes.txt'), 'mine');
    expect(await codeOf(compileGraph(smallGraph(), out))).toBe('E0901');
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
    expect(await codeOf(compileGraph(smallGraph(), out, { force: true }))).toBe('ok');
    const prev = tmp();
    await compileGraph(smallGraph(), prev);
    mkdirSync(join(prev, 'bundles/stale'), { recursive: true });
    expect(await codeOf(compileGraph(smallGraph(), prev))).toBe('ok');
    expect(existsSync(join(prev, 'bundles/stale'))).toBe(false);
  });

  it('fails budgets with E0401 and writes nothing', async () => {
    const out = join(tmp(), 'build');
    expect(await codeOf(compileGraph(smallGraph(), out, { maxMemory: '16B' }))).toBe('E0401');
    expect(await codeOf(compileGraph(smallGraph(), out, { maxLatency: '1ns' }))).toBe('E0401');
    expect(existsSync(join(out, 'plan.json'))).toBe(false);
    expect(await codeOf(compileGraph(smallGraph(), out, { maxMemory: '1GiB', maxLatency: '1s' }))).toBe('ok');
    expect(await codeOf(compileGraph(smallGraph(), tmp(), { maxMemory: 'lots' }))).toBe('E0901');
  });

  it('reports bad input as FleetcError with a stable code', async () => {
    const g = smallGraph();
    // an elided weight is no error: it becomes a run-time input (test/stablehlo/elided.test.ts)
    g.updateValue('w', { weight: { kind: 'elided' } });
    expect(await codeOf(compileGraph(g, tmp(), { passes: 'infer-shapes' }))).toBe('ok');
    expect(g.inputs).toContain('w');
    expect(await codeOf(compileGraph(smallGraph(), tmp(), { passes: 'no-such-pass' }))).toBe('E0901');
    expect(await codeOf(compileGraph(smallGraph(), tmp(), { pins: ['mul=gpu7'] }))).toBe('E0901');
    expect(await codeOf(compileGraph(smallGraph(), tmp(), { objective: 'cheapest' as 'latency' }))).toBe('E0901');
  });

  it('the schema rejects plans that lack what the runtime needs', () => {
    expect(validatePlan({ schemaVersion: 1 }).length).toBeGreaterThan(0);
    expect(validatePlan({ schemaVersion: 3 }).length).toBeGreaterThan(0);
  });
});

describe('fleetc compile (CLI)', () => {
  it('compiles, prints a summary, and fails with one line and exit 1 on bad input', async () => {
    const model = writeGraph(smallGraph());
    const out = join(tmp(), 'b');
    const ok = await cli(['compile', model, '-o', out, '--dim', 'batch=2']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('cpu0 [cpu]');
    const js = await cli(['compile', model, '-o', out, '--json']);
    expect(js.code).toBe(0);
    expect(JSON.parse(js.stdout).devices[0].name).toBe('cpu0');
    const budget = await cli(['compile', model, '-o', join(tmp(), 'c'), '--max-memory', '8B']);
    expect(budget.code).toBe(1);
    expect(budget.stderr).toMatch(/^error\[E0401\]: .*--max-memory/);
    expect(budget.stderr.trim().split('\n')).toHaveLength(1);
    const missing = await cli(['compile', join(tmp(), 'nope.onnx'), '-o', join(tmp(), 'd')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  });
});
