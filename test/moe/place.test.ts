// Issue 12, must-show 1 and the placement contract: MoE fixtures compiled for an unequal fleet
// with skewed routing and extra slots put their experts on ≥ 3 devices with replicas, the plan
// names the placement (plan.json `experts`), every expert unit's ops run where the plan says,
// and fleetrt's outputs equal the single-device run's: bit for bit where each expert's products
// see the rows they see on one device, to float rounding where replicas split them (a product
// over fewer rows may take the few-row kernel, which sums in another order).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile, DEFAULT_COMPILE_PIPELINE } from '../../src/api/compile.js';
import { validatePlan } from '../../src/api/plan.js';
import { run } from '../../src/api/run.js';
import { haveFleetrt } from '../../runtime/fleetrt.js';
import { readReport } from '../../src/report/index.js';
import { readNpy } from '../../src/util/npy.js';
import { cli } from '../cli/helpers.js';
import { contribModel, fixture, fixtureData, UNEQUAL } from './helpers.js';

const NATIVE = haveFleetrt();
const work = mkdtempSync(join(tmpdir(), 'fleetc-moe-place-'));
// Fusion only runs on all-cpu fleets; the reference runs the same kernels as the fleet's plan.
const UNFUSED = DEFAULT_COMPILE_PIPELINE.split(',')
  .filter((p) => !p.startsWith('fuse-'))
  .join(',');

function skewed(name: string, layers: number[], experts: number, zipf = 1.2): string {
  const file = join(work, `${name}-routing.json`);
  const counts = Array.from({ length: experts }, (_, e) => Math.round(1000 / (e + 1) ** zipf));
  writeFileSync(file, JSON.stringify({ layers: layers.map((layer) => ({ layer, counts })) }));
  return file;
}

async function outputs(plan: string, data: string, tag: string): Promise<Map<string, string>> {
  const r = await run(plan, { inputsDir: data, outputDir: join(work, tag), threads: 1 });
  return new Map(r.outputs.map((o) => [o.name, o.file]));
}

/** Largest |a − b| / (1 + |a|) over two .npy files of one shape and dtype. */
function maxDiff(want: string, got: string): number {
  const a = readNpy(want),
    b = readNpy(got);
  expect(b.descr).toBe(a.descr);
  expect(b.shape).toEqual(a.shape);
  let worst = 0;
  for (let i = 0; i < a.data.length; i++)
    worst = Math.max(worst, Math.abs(a.data[i]! - b.data[i]!) / (1 + Math.abs(a.data[i]!)));
  return worst;
}

interface Case {
  name: string;
  model: string;
  data: string[];
  dims: Record<string, number>;
  layers: number[];
  experts: number;
  zipf?: number;
  /** The placement replicates a hot expert (the balancer decides; these cases are sized so it does). */
  replicated: boolean;
}

const CASES: Case[] = [
  {
    name: 'moe_decoder',
    model: fixture('moe_decoder'),
    data: [0, 1, 2].map((k) => fixtureData('moe_decoder', k)),
    dims: { batch: 64, seq: 1024, past_seq: 0 },
    layers: [0, 1],
    experts: 8,
    replicated: true,
  },
  {
    name: 'moe_dense_gated',
    model: fixture('moe_dense_gated'),
    data: [0, 1].map((k) => fixtureData('moe_dense_gated', k)),
    dims: { tokens: 65536 },
    layers: [0],
    experts: 8,
    replicated: true, // and its replicas split an expert's rows between devices
  },
  {
    name: 'moe_top4_32',
    model: fixture('moe_top4_32'),
    data: [0, 1].map((k) => fixtureData('moe_top4_32', k)),
    dims: { tokens: 1000000 },
    layers: [0],
    experts: 32,
    replicated: false,
  },
];

describe.skipIf(!NATIVE)('experts placed on unequal devices run like one device', () => {
  for (const c of CASES)
    it(`${c.name}: ≥ 3 devices, replicas, outputs equal to the single-device run`, async () => {
      const routing = skewed(c.name, c.layers, c.experts, c.zipf);
      const res = await compile(c.model, join(work, `${c.name}-fleet`), {
        fleet: UNEQUAL,
        dims: c.dims,
        routing,
        expertSlots: 2,
        report: false,
      });
      const plan = res.plan;
      expect(validatePlan(plan)).toEqual([]);
      const experts = plan.experts!;
      expect(experts).toHaveLength(c.layers.length * c.experts);
      expect(new Set(experts.flatMap((e) => e.devices)).size).toBeGreaterThanOrEqual(3);
      if (c.replicated) expect(experts.some((e) => e.devices.length > 1)).toBe(true);
      for (const e of experts) {
        expect(e.share.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
        expect(e.ops).toHaveLength(e.devices.length);
      }
      // Each unit's ops are scheduled on its device.
      const where = new Map(plan.schedule.map((s) => [s.op, s.device]));
      for (const e of experts)
        e.ops.forEach((ops, k) => ops.forEach((op) => expect(where.get(op), op).toBe(e.devices[k])));

      const single = await compile(c.model, join(work, `${c.name}-single`), { report: false, passes: UNFUSED });
      for (const [k, data] of c.data.entries()) {
        const want = await outputs(single.planPath, data, `${c.name}-single-${k}`);
        const got = await outputs(res.planPath, data, `${c.name}-fleet-${k}`);
        for (const [name, file] of want) {
          // bit for bit, also where replicas split an expert's rows: a row of a product with a
          // constant weight gets the same bits whatever the rows beside it (docs/runtime.md)
          const same = readFileSync(got.get(name)!).equals(readFileSync(file));
          expect(same, `${c.name} set ${k}: ${name} (max diff ${same ? 0 : maxDiff(file, got.get(name)!)})`).toBe(true);
        }
      }
    }, 120_000);

  it('the com.microsoft MoE op, split into per-expert units, placed and replicated', async () => {
    const model = contribModel({ experts: 6, hidden: 16, inter: 64, k: 2, normalize: true });
    const res = await compile(model, join(work, 'contrib-fleet'), {
      fleet: UNEQUAL,
      dims: { tokens: 262144 },
      routing: skewed('contrib', [0], 6),
      expertSlots: 1,
      report: false,
    });
    const experts = res.plan.experts!;
    expect(new Set(experts.flatMap((e) => e.devices)).size).toBeGreaterThanOrEqual(3);
    const x = join(work, 'contrib-x.npy');
    const { writeNpy } = await import('../../src/util/npy.js');
    writeNpy(
      x,
      '<f4',
      [9, 16],
      Float32Array.from({ length: 144 }, (_, i) => Math.cos(i * 0.3)),
    );
    const single = await compile(model, join(work, 'contrib-single'), { report: false, passes: UNFUSED });
    const run1 = await run(single.planPath, { inputs: { hidden_states: x }, outputDir: join(work, 'contrib-out1') });
    const run2 = await run(res.planPath, { inputs: { hidden_states: x }, outputDir: join(work, 'contrib-out2') });
    expect(readFileSync(run2.outputs[0]!.file).equals(readFileSync(run1.outputs[0]!.file))).toBe(true);
  }, 60_000);
});

describe('expert placement in the plan and the report', () => {
  it('per device its experts, predicted tokens and time, and why each expert went there', async () => {
    const out = join(work, 'topk-report');
    const res = await compile(fixture('moe_topk'), out, {
      fleet: UNEQUAL,
      dims: { tokens: 100000 },
      routing: skewed('topk', [0], 6),
      expertSlots: 1,
    });
    const r = readReport(out);
    const [l] = r.moe!;
    expect(l).toMatchObject({ layer: 0, experts: 6, k: 2, routing: 'file', extraSlots: 1 });
    expect(l!.devices.map((d) => d.device)).toEqual(['cpu0', 'gpu0', 'gpu1', 'npu0']);
    // The devices' predicted tokens add up to the layer's routed tokens (k per token).
    const tokens = l!.devices.reduce((s, d) => s + d.tokens, 0);
    expect(tokens).toBeCloseTo(2 * 100000, 3);
    expect(Math.max(...l!.devices.map((d) => d.seconds))).toBeCloseTo(l!.makespan, 12);
    expect(l!.placement.every((p) => p.reason.length > 10)).toBe(true);
    const text = readFileSync(join(out, 'report.txt'), 'utf8');
    expect(text).toMatch(/MoE layer 0 .*6 experts, top-2, sparse; home \w+; routing from --routing/);
    expect(text).toMatch(/expert 0 → \S+/);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/<h2>MoE layer 0 /);
    expect(html).toMatch(/<table class="moe">(.|\n)*<td>gpu1<\/td>/);
    // plan.json entries agree with the report
    for (const e of res.plan.experts!) {
      const p = l!.placement.find((x) => x.expert === e.expert)!;
      expect(e.devices).toEqual(p.devices.filter((_, k) => p.share[k]! > 1e-9));
    }
  }, 60_000);

  it('uniform routing without a routing file; a bad routing file is one line naming the file', async () => {
    const res = await compile(fixture('moe_topk'), join(work, 'topk-uniform'), {
      fleet: UNEQUAL,
      report: false,
      dims: { tokens: 6000 },
    });
    const tokens = res.plan.experts!.map((e) => e.tokens.reduce((a, b) => a + b, 0));
    for (const t of tokens) expect(t).toBeCloseTo(2000, 6);
    const bad = async (json: string, re: RegExp): Promise<void> => {
      const file = join(work, `bad-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(file, json);
      const r = await cli(['compile', fixture('moe_topk'), '--routing', file, '-o', join(work, 'bad-out'), '--force']);
      expect(r.code, r.stderr).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(file);
      expect(lines[0]).toContain('error[E0304]');
      expect(lines[0]).toMatch(re);
    };
    await bad('{"layers": [{"layer": 0, "counts": [1, 2, 3]}]}', /3 counts for a layer with 6 experts/);
    await bad('{"layers": [{"layer": 3, "counts": [1, 2, 3, 4, 5, 6]}]}', /layer 3 is not a MoE layer of the model/);
    await bad('{"layers": [{"layer": 0, "counts": [1, 2, -3, 4, 5, 6]}]}', /count of expert 2 is -3/);
    await bad('{"layers": [', /not valid JSON/);
    await bad('{"experts": []}', /expected \{ "layers"/);
  }, 60_000);
});
