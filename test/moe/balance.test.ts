// The expert placer on its own: EPLB as described (replicas to the highest load per replica,
// balanced packing with equal counts), the time-based placer on unequal devices, shares that
// make replicas finish together, memory limits, and a short run of bench:moe's set-up.
import { describe, expect, it } from 'vitest';
import {
  balanceExperts,
  evaluate,
  expertTime,
  levelShares,
  roundRobin,
  type BalanceProblem,
  type ExpertCost,
} from '../../passes/partition/moe-balance.js';
import { balancedPacking, eplb, replicate } from '../../passes/partition/moe-eplb.js';
import { fleets, LAYERS, problem, zipfTrace } from '../../scripts/bench/moe-setup.js';

const linear = (perToken: number): ExpertCost => ({
  compute: perToken,
  stream: 0,
  transfer: 0,
  fixed: 0,
  bytesPerToken: 0,
});

/** E equal experts on devices with the given per-token seconds. */
function simple(
  loads: number[],
  perToken: number[],
  extraSlots = 0,
  capacity = Infinity,
  weightBytes = 1,
): BalanceProblem {
  return {
    devices: perToken.map((_, d) => ({ id: `d${d}`, capacity })),
    experts: loads.map((load, e) => ({ expert: e, load, weightBytes })),
    cost: loads.map(() => perToken.map(linear)),
    extraSlots,
  };
}

describe('EPLB (the baseline)', () => {
  it('gives replicas to the highest load per replica and packs equal counts per device', () => {
    expect(replicate([90, 30, 20, 10], 6)).toEqual([3, 1, 1, 1]);
    const packs = balancedPacking([9, 8, 7, 6, 5, 4], 3);
    expect([0, 1, 2].map((b) => packs.filter((p) => p === b).length)).toEqual([2, 2, 2]);
    // heaviest to the lightest open pack: 9|8|7, then 6→7's pack, 5→8's, 4→9's: loads 13, 13, 13
    expect([0, 1, 2].map((b) => [9, 8, 7, 6, 5, 4].reduce((s, w, i) => s + (packs[i] === b ? w : 0), 0))).toEqual([
      13, 13, 13,
    ]);
    const pl = eplb([90, 30, 20, 10], 2, { slots: 6 });
    expect(pl.devices.flat().length).toBeGreaterThanOrEqual(5);
    expect(pl.share[0]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(() => eplb([1, 2, 3], 2, { slots: 5 })).toThrow(/multiple of devices/);
  });

  it('hierarchical: groups packed onto nodes first', () => {
    const pl = eplb([8, 8, 1, 1, 8, 8, 1, 1], 4, { slots: 8, nodes: 2, groups: 4 });
    // two devices per node; each group of two experts stays within one node
    const node = (e: number): number => Math.floor(pl.devices[e]![0]! / 2);
    expect(node(0)).toBe(node(1));
    expect(node(4)).toBe(node(5));
  });
});

describe('time-based placement on unequal devices', () => {
  it('gives a 3× faster device about 3× the work, where EPLB splits the load evenly', () => {
    const loads = Array.from({ length: 16 }, () => 100);
    const p = simple(loads, [1e-6, 3e-6]); // d0 three times faster
    const r = balanceExperts(p);
    expect(r.evaluation.tokens[0]! / r.evaluation.tokens[1]!).toBeCloseTo(3, 0);
    expect(r.evaluation.imbalance).toBeLessThan(0.05);
    const base = evaluate(p, eplb(loads, 2, { slots: 16 }));
    expect(base.makespan / r.evaluation.makespan).toBeGreaterThan(1.4);
  });

  it('replicates a hot expert and splits its tokens so the replicas finish together', () => {
    const p = simple([1000, 10, 10, 10], [1e-6, 1e-6, 2e-6], 2);
    const r = balanceExperts(p);
    expect(r.placement.devices[0]!.length).toBeGreaterThan(1);
    const times = r.placement.devices[0]!.map((d) => r.evaluation.time[d]!);
    expect(Math.max(...times) / Math.min(...times)).toBeLessThan(1.01);
    expect(r.evaluation.slots).toBeLessThanOrEqual(4 + 2);
    expect(r.reasons[0]).toMatch(/replicated/);
    // without slots it cannot split the hot expert
    expect(balanceExperts({ ...p, extraSlots: 0 }).evaluation.makespan).toBeGreaterThan(r.evaluation.makespan * 1.5);
  });

  it('shares proportional to speed for an expert alone on its replicas', () => {
    const p = simple([300], [1e-6, 2e-6]);
    const pl = { devices: [[0, 1]], share: [[0.5, 0.5]] };
    levelShares(p, pl);
    expect(pl.share[0]![0]).toBeCloseTo(2 / 3, 6);
    expect(expertTime(linear(1e-6), 200)).toBeCloseTo(expertTime(linear(2e-6), 100), 12);
  });

  it('respects memory: the fast device holds only what fits; an impossible layer says so', () => {
    const q = simple([100, 100, 100, 100], [1e-6, 1e-7], 0, 4, 1);
    q.devices[1]!.capacity = 1; // ten times faster, room for one expert
    const s = balanceExperts(q);
    expect(s.evaluation.fits).toBe(true);
    expect(s.evaluation.weightBytes).toEqual([3, 1]);
    const p = simple([100, 100, 100, 100], [1e-6, 1e-7], 0, 2.5, 1);
    p.devices[1]!.capacity = 0.5;
    expect(balanceExperts(p).evaluation.fits).toBe(false);
  });

  it('bench:moe set-up: imbalance ≤ 0.05 and ≥ 1.5× EPLB on H100 + L4 + Xeon (one layer)', () => {
    const [, fleet] = fleets()[0]!;
    const l = LAYERS[1]!; // 16 experts
    const loads = zipfTrace(l.experts, l.k, 1.0, 5);
    expect(loads.reduce((a, b) => a + b, 0)).toBeCloseTo(16384 * l.k, 6);
    const p = problem(fleet, l, loads);
    const ours = balanceExperts(p);
    expect(ours.evaluation.imbalance).toBeLessThan(0.05);
    expect(ours.evaluation.slots - l.experts).toBeLessThanOrEqual(l.experts / 8);
    const base = evaluate(p, eplb(loads, 3, { slots: 18 }));
    expect(base.makespan / ours.evaluation.makespan).toBeGreaterThan(1.5);
    expect(evaluate(p, roundRobin(p)).makespan).toBeGreaterThan(ours.evaluation.makespan);
  });
});
