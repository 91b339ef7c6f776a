// fleetrt counts routed tokens per (layer, expert, device) and the experts' dispatch/combine
// bytes per link (metrics.json "moe"), on one device and on a fleet with a replicated expert;
// the counts are exactly the routing the model's own outputs show.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/api/compile.js';
import { run } from '../../src/api/run.js';
import { readNpy } from '../../src/util/npy.js';
import { haveFleetrt } from '../../runtime/fleetrt.js';
import { fixture, fixtureData, UNEQUAL } from './helpers.js';

const NATIVE = haveFleetrt();
const work = mkdtempSync(join(tmpdir(), 'fleetc-moe-metrics-'));

interface MoeMetrics {
  requests: number;
  layers: {
    layer: number;
    counts: number[];
    devices: {
      device: string;
      tokensPerRequest: number;
      msPerRequest: number;
      msMedian: number;
      modelMs: number;
      timeError: number;
    }[];
    experts: { expert: number; device: string; tokens: number; tokensPerRequest: number; modelMs: number }[];
  }[];
  dispatch: { link: string; bytesPerRequest: number }[];
}

/** Tokens per expert from moe_top4_32's own `expert_index` output ([tokens, 4]). */
function routedFromOutput(file: string): number[] {
  const idx = readNpy(file).data as ArrayLike<number | bigint>;
  const counts = new Array<number>(32).fill(0);
  for (let i = 0; i < idx.length; i++) counts[Number(idx[i])]!++;
  return counts;
}

describe.skipIf(!NATIVE)('routing counts in the metrics', () => {
  it('one device: tokens per expert equal the routing of the run', async () => {
    const c = await compile(fixture('moe_top4_32'), join(work, 'single'));
    const r = await run(c.planPath, {
      inputsDir: fixtureData('moe_top4_32'),
      outputDir: join(work, 'single-out'),
      metrics: join(work, 'single-metrics.json'),
      repeat: 2,
    });
    const m = JSON.parse(readFileSync(join(work, 'single-metrics.json'), 'utf8')) as { moe: MoeMetrics };
    const want = routedFromOutput(r.outputs.find((o) => o.name === 'expert_index')!.file).map((n) => 2 * n);
    expect(m.moe.layers[0]!.counts).toEqual(want);
    expect(m.moe.requests).toBe(2);
    expect(m.moe.layers[0]!.devices).toHaveLength(1);
    expect(m.moe.layers[0]!.devices[0]!.tokensPerRequest).toBe(24 * 4);
    expect(m.moe.dispatch).toEqual([]);
  }, 60_000);

  it('a fleet with a replica: per (expert, device) counts, dispatch and combine bytes per link', async () => {
    const routing = join(work, 'routing.json');
    writeFileSync(
      routing,
      JSON.stringify({ layers: [{ layer: 0, counts: Array.from({ length: 32 }, (_, e) => (e === 0 ? 5000 : 50)) }] }),
    );
    const c = await compile(fixture('moe_top4_32'), join(work, 'fleet'), {
      fleet: UNEQUAL,
      dims: { tokens: 1000000 },
      routing,
      expertSlots: 1,
      report: false,
    });
    const replicated = c.plan.experts!.filter((e) => e.devices.length > 1);
    expect(replicated.length).toBeGreaterThan(0);
    const r = await run(c.planPath, {
      inputsDir: fixtureData('moe_top4_32'),
      outputDir: join(work, 'fleet-out'),
      metrics: join(work, 'fleet-metrics.json'),
      repeat: 3,
    });
    const m = (JSON.parse(readFileSync(join(work, 'fleet-metrics.json'), 'utf8')) as { moe: MoeMetrics }).moe;
    const want = routedFromOutput(r.outputs.find((o) => o.name === 'expert_index')!.file).map((n) => 3 * n);
    const [layer] = m.layers;
    expect(layer!.counts).toEqual(want);
    // Per (expert, device): every unit of the plan reports, and a replicated expert's parts add up.
    for (const e of c.plan.experts!) {
      const units = layer!.experts.filter((x) => x.expert === e.expert);
      expect(units.map((u) => u.device).sort()).toEqual([...e.devices].sort());
      expect(units.reduce((s, u) => s + u.tokens, 0)).toBe(want[e.expert]);
    }
    // Rows of 16 float32 go out from the layer's home and come back, over the one link between
    // the host and each accelerator (the cpu is the host).
    let remote = 0;
    for (const e of c.plan.experts!)
      e.devices.forEach((d) => {
        const hops = (d === e.home ? 0 : 1) + (d !== e.home && d !== 'cpu0' && e.home !== 'cpu0' ? 1 : 0);
        remote += hops * layer!.experts.find((x) => x.expert === e.expert && x.device === d)!.tokens;
      });
    const total = m.dispatch.reduce((s, l) => s + l.bytesPerRequest, 0);
    expect(total).toBeCloseTo((remote / 3) * 16 * 4 * 2, 6);

    // The model is priced for what is measured, the expert's ops: no transfer, no message latency.
    let away = 0;
    for (const e of c.plan.experts!)
      e.devices.forEach((d, k) => {
        const c = e.cost[k]!;
        const got = layer!.experts.find((x) => x.expert === e.expert && x.device === d)!;
        const n = got.tokensPerRequest;
        const ops = n > 0 ? Math.max(n * c.compute, c.stream) + c.fixed - c.latency : 0;
        expect(got.modelMs).toBeCloseTo(ops * 1000, 9);
        if (d !== e.home && n > 0) away += c.latency > 0 && c.transfer > 0 ? 1 : 0;
      });
    expect(away).toBeGreaterThan(0);
    for (const d of layer!.devices) {
      expect(d.msMedian).toBeGreaterThan(0);
      expect(d.timeError).toBeCloseTo(d.msPerRequest / d.modelMs - 1, 9);
    }

    // The metrics are a routing file for the next compile: expected tokens follow the counts.
    const next = await compile(fixture('moe_top4_32'), join(work, 'fleet-again'), {
      fleet: UNEQUAL,
      dims: { tokens: 1000 },
      routing: join(work, 'fleet-metrics.json'),
      report: false,
    });
    const sum = want.reduce((a, b) => a + b, 0);
    for (const e of next.plan.experts!)
      expect(e.tokens.reduce((a, b) => a + b, 0)).toBeCloseTo(Math.min(1000, (1000 * 4 * want[e.expert]!) / sum), 6);
  }, 90_000);
});
