// Issue 12, must-show 4: when the routing shifts (one trace replayed, then another), tune on the
// new window re-places, the imbalance returns under target, and the migration bytes and payback
// are given; on an unchanged trace it proposes no move; a move only happens when the window's
// gain pays for the migration. Then the CLI loop: compile → metrics → tune → compile --placement.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { balanceExperts } from '../../passes/partition/moe-balance.js';
import { linkCost } from '../../passes/partition/moe-cost.js';
import { FleetCost } from '../../src/fleet/cost.js';
import { serializeProblem, tuneLayer } from '../../passes/partition/moe-tune.js';
import { compile } from '../../src/api/compile.js';
import { readReport } from '../../src/report/index.js';
import { fleets, LAYERS, problem, zipfTrace } from '../../scripts/bench/moe-setup.js';
import { cli } from '../cli/helpers.js';
import { fixture, UNEQUAL } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'fleetc-moe-tune-'));

describe('re-placing from a shifted routing window', () => {
  const [, fleet] = fleets()[1]!; // 2 × A100 + Gaudi 2
  const l = LAYERS[2]!; // 32 experts, top-4
  const traceA = zipfTrace(l.experts, l.k, 1.2, 101);
  const traceB = zipfTrace(l.experts, l.k, 1.2, 202); // the same skew, other experts hot
  const pA = problem(fleet, l, traceA);
  const s = serializeProblem(pA, {
    perByte: fleet.devices.map((a) => fleet.devices.map((b) => linkCost(new FleetCost(fleet), a.id, b.id).perByte)),
    latency: fleet.devices.map((a) => fleet.devices.map((b) => linkCost(new FleetCost(fleet), a.id, b.id).latency)),
  });
  const placed = balanceExperts(pA).placement;

  it('keeps the placement on an unchanged trace', () => {
    const r = tuneLayer(s, placed, traceA, 1000);
    expect(r.decision).toBe('keep');
    expect(r.placement).toBe(placed);
    expect(r.migrationBytes).toBe(0);
  });

  it('re-places on the shifted trace: imbalance back under 0.05, bytes to move and payback given', () => {
    const r = tuneLayer(s, placed, traceB, 1000);
    expect(r.before.imbalance).toBeGreaterThan(0.1);
    expect(r.decision).toBe('move');
    expect(r.after.imbalance).toBeLessThanOrEqual(0.05);
    expect(r.migrationBytes).toBeGreaterThan(0);
    expect(r.migrationSeconds).toBeGreaterThan(0);
    expect(r.paybackSteps).toBeGreaterThan(0);
    expect(r.paybackSteps).toBeLessThan(1000);
    expect(r.gainOverWindow).toBeGreaterThan(r.migrationSeconds);
    expect(r.after.slots - l.experts).toBeLessThanOrEqual(l.experts / 8);
  });

  it('moves only what the window pays for: a shorter window moves fewer bytes, one step may move none', () => {
    const long = tuneLayer(s, placed, traceB, 1000);
    for (const window of [Math.max(1, Math.floor(long.paybackSteps / 4)), 1]) {
      const short = tuneLayer(s, placed, traceB, window);
      if (short.decision === 'move') {
        expect(short.gainOverWindow).toBeGreaterThan(short.migrationSeconds);
        expect(short.migrationBytes).toBeLessThan(long.migrationBytes);
      } else expect(short.reason).toMatch(/less than the .* migration|within 1%/);
    }
  });
});

describe('fleetc tune', () => {
  it('reads the run’s routing window, proposes no move on the planned routing and re-places a shifted one', async () => {
    const counts = (hot: number): number[] => Array.from({ length: 6 }, (_, e) => (e === hot ? 600 : 100));
    const routing = join(work, 'routing.json');
    writeFileSync(routing, JSON.stringify({ layers: [{ layer: 0, counts: counts(0) }] }));
    const build = join(work, 'build');
    const tokens = 100000;
    await compile(fixture('moe_topk'), build, { fleet: UNEQUAL, dims: { tokens }, routing, expertSlots: 1 });
    // A window of 50 steps that routed as planned, then one where expert 5 is the hot one.
    const metrics = (hot: number): string => {
      const file = join(work, `metrics-${hot}.json`);
      const c = counts(hot);
      const total = c.reduce((a, b) => a + b, 0);
      const perStep = c.map((x) => (x / total) * tokens * 2);
      writeFileSync(
        file,
        JSON.stringify({ moe: { requests: 50, layers: [{ layer: 0, counts: perStep.map((x) => x * 50) }] } }),
      );
      return file;
    };
    const same = await cli(['tune', build, '--metrics', metrics(0)]);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toMatch(/MoE layer 0 .*: keep/);
    expect(same.stdout).toMatch(/no move: the current placement stays/);

    const out = join(work, 'placement.json');
    const shifted = await cli(['tune', build, '--metrics', metrics(5), '--window', '100000', '--out', out]);
    expect(shifted.code, shifted.stderr).toBe(0);
    expect(shifted.stdout).toMatch(/MoE layer 0 .*: re-place/);
    expect(shifted.stdout).toMatch(/imbalance [\d.]+ → [\d.]+, slowest device .* → /);
    expect(shifted.stdout).toMatch(/move [\d.]+ k?B of expert weights .*; pays back after [\d.]+ steps/);
    const placement = JSON.parse(readFileSync(out, 'utf8')) as {
      layers: { layer: number; experts: { expert: number; devices: string[]; share: number[] }[] }[];
    };
    // Realised as tune said: compile --placement puts every expert where the file says.
    const again = await compile(fixture('moe_topk'), join(work, 'build2'), {
      fleet: UNEQUAL,
      dims: { tokens },
      placement: out,
    });
    for (const p of placement.layers[0]!.experts) {
      const e = again.plan.experts!.find((x) => x.expert === p.expert)!;
      const kept = p.devices.filter((_, k) => p.share[k]! > 1e-9);
      expect(e.devices).toEqual(kept);
    }
    expect(readReport(join(work, 'build2')).moe![0]!.placement[0]!.reason).toMatch(/placed by --placement/);
  }, 120_000);

  it('one-line errors: no routing counts in the metrics, a placement file that does not fit the model', async () => {
    const build = join(work, 'build');
    const bad = join(work, 'no-moe.json');
    writeFileSync(bad, JSON.stringify({ devices: [] }));
    const r = await cli(['tune', build, '--metrics', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no-moe\.json: error\[E0304\]: no "moe" routing counts/);
    const place = join(work, 'bad-placement.json');
    writeFileSync(
      place,
      JSON.stringify({ layers: [{ layer: 0, experts: [{ expert: 0, devices: ['tpu9'], share: [1] }] }] }),
    );
    const c = await cli(['compile', fixture('moe_topk'), '--placement', place, '-o', join(work, 'x'), '--force']);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/bad-placement\.json: error\[E0304\]: layers\[0\]: "experts" must list all 6 experts/);
  }, 60_000);
});
