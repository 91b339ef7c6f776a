import { describe, expect, it } from 'vitest';
import { arenaConflicts, planArena, type ArenaRequest } from '../../passes/memory/arena.js';

/** Deterministic pseudo-random requests: a chain-like program with some long-lived tensors. */
function randomRequests(seed: number, n: number): ArenaRequest[] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return Array.from({ length: n }, (_, i) => {
    const first = i;
    const span = next() < 0.2 ? Math.floor(next() * n) : Math.floor(next() * 3);
    return { bytes: Math.floor(next() * 5000), first, last: Math.min(n, first + span) };
  });
}

describe('arena planner', () => {
  it('never overlaps tensors that are live at the same time, and reuses memory', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const reqs = randomRequests(seed, 60);
      const plan = planArena(reqs);
      expect(arenaConflicts(reqs, plan)).toEqual([]);
      expect(plan.peak).toBeLessThanOrEqual(plan.total);
      expect(plan.peak).toBeGreaterThanOrEqual(plan.lowerBound);
      for (let i = 0; i < reqs.length; i++) {
        expect(plan.offsets[i]! % 64).toBe(0);
        expect(plan.sizes[i]!).toBeGreaterThanOrEqual(reqs[i]!.bytes);
        expect(plan.offsets[i]! + plan.sizes[i]!).toBeLessThanOrEqual(plan.peak);
      }
    }
  });

  it('shares one buffer along a chain of short-lived tensors', () => {
    // t0 -> op0 -> t1 -> op1 -> t2 ...: each tensor lives for two ops, so two buffers suffice.
    const reqs = Array.from({ length: 10 }, (_, i) => ({ bytes: 1000, first: i, last: i + 1 }));
    const plan = planArena(reqs);
    expect(plan.total).toBe(10 * 1024);
    expect(plan.peak).toBe(2 * 1024);
    expect(plan.lowerBound).toBe(2 * 1024);
  });

  it('keeps an op input and its output apart (inclusive intervals)', () => {
    const plan = planArena([
      { bytes: 64, first: 0, last: 1 },
      { bytes: 64, first: 1, last: 2 },
    ]);
    expect(plan.offsets[0]).not.toBe(plan.offsets[1]);
  });

  it('is deterministic and ignores empty tensors', () => {
    const reqs = randomRequests(7, 40).concat([{ bytes: 0, first: 3, last: 9 }]);
    expect(planArena(reqs)).toEqual(planArena(reqs));
    expect(planArena(reqs).sizes.at(-1)).toBe(0);
  });
});
