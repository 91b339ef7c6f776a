import { describe, expect, it } from 'vitest';
import { greedyPriority } from '../../passes/partition/greedy.js';
import { heft, refine } from '../../passes/partition/heft.js';
import { exactPlacement } from '../../passes/partition/milp.js';
import { pipelineCuts } from '../../passes/partition/pipeline.js';
import { allowed } from '../../passes/partition/problem.js';
import { simulate } from '../../passes/partition/simulate.js';
import { solveHeuristic } from '../../passes/partition/solve.js';
import { syntheticProblem } from './synthetic.js';

describe('schedule simulation', () => {
  it('adds transfer time when a dependence crosses devices', () => {
    const p = syntheticProblem('cpu-gpu-pcie.yaml', 3, 1);
    const same = simulate(p, [0, 0, 0]);
    expect(same.transfers).toHaveLength(0);
    expect(same.busy[0]).toBeCloseTo(
      p.tasks.reduce((s, t) => s + t.time[0]!, 0),
      12,
    );
    const split = simulate(
      p,
      [0, 1, 1].map((d, i) => (allowed(p.tasks[i]!, d) ? d : 0)),
    );
    for (const tr of split.transfers)
      expect(tr.end - tr.start).toBeCloseTo(p.comm(tr.fromDevice, tr.toDevice, tr.bytes), 12);
    expect([...split.linkBytes.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});

describe('placement search', () => {
  it('never places a task on a refused device', () => {
    for (const fleet of ['cpu-gpu-pcie.yaml', 'cpu-gpu-ipu.yaml', 'two-hosts-ethernet.yaml']) {
      const p = syntheticProblem(fleet, 40, 7);
      for (const placement of [heft(p), greedyPriority(p), pipelineCuts(p)!])
        placement.forEach((d, t) => expect(allowed(p.tasks[t]!, d)).toBe(true));
    }
  });

  it('refinement never makes a plan worse', () => {
    const p = syntheticProblem('two-hosts-ethernet.yaml', 60, 3);
    const seed = heft(p);
    expect(refine(p, seed, 'latency').latency).toBeLessThanOrEqual(simulate(p, seed).latency + 1e-12);
    const g = greedyPriority(p);
    expect(refine(p, g, 'throughput').bottleneck).toBeLessThanOrEqual(simulate(p, g).bottleneck + 1e-12);
  });

  it('is deterministic', () => {
    const a = solveHeuristic(syntheticProblem('cpu-gpu-ipu.yaml', 50, 11), 'latency');
    const b = solveHeuristic(syntheticProblem('cpu-gpu-ipu.yaml', 50, 11), 'latency');
    expect(a.schedule.placement).toEqual(b.schedule.placement);
  });

  it('lands within 2% of the MILP optimum on small graphs (geomean; worst case within 5%)', async () => {
    const gaps: number[] = [];
    for (const [fleet, seed] of [
      ['cpu-gpu-pcie.yaml', 1],
      ['cpu-gpu-ipu.yaml', 2],
      ['two-hosts-ethernet.yaml', 3],
      ['cpu-gpu-pcie.yaml', 4],
    ] as const) {
      const p = syntheticProblem(fleet, 8, seed);
      for (const objective of ['latency', 'throughput'] as const) {
        const h = solveHeuristic(p, objective).schedule;
        const e = await exactPlacement(p, objective);
        expect(e.status).toBe('Optimal');
        const exact = e.objective! / 1e6;
        const heur = objective === 'latency' ? h.latency : h.bottleneck;
        expect(heur).toBeGreaterThanOrEqual(exact * (1 - 1e-6));
        gaps.push(heur / exact - 1);
      }
    }
    const geomean = Math.exp(gaps.reduce((s, g) => s + Math.log(1 + g), 0) / gaps.length) - 1;
    expect(geomean).toBeLessThanOrEqual(0.02);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(0.05);
  });
});
