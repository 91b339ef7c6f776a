import { join } from 'node:path';
import { loadFleet } from '../../src/fleet/index.js';
import { route, transferTime } from '../../src/fleet/route.js';
import type { Problem, Task } from '../../passes/partition/problem.js';
import { REPO } from '../paths.js';

/** A seeded PRNG (mulberry32) so synthetic problems are the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A random layered DAG of `n` tasks on a fleet from fixtures/fleets: each task has FLOPs and
 * bytes, priced per device by a roofline; some tasks are refused on accelerators.
 */
export function syntheticProblem(fleetFile: string, n: number, seed: number): Problem {
  const fleet = loadFleet(join(REPO, 'fixtures/fleets', fleetFile));
  const r = rng(seed);
  const devices = fleet.devices;
  const tasks: Task[] = [];
  const flows: Problem['flows'] = [];
  for (let i = 0; i < n; i++) {
    const flops = 10 ** (6 + r() * 4);
    const bytes = 10 ** (4 + r() * 3);
    const hostOnly = r() < 0.1;
    tasks.push({
      id: i,
      name: `t${i}`,
      ops: [`t${i}`],
      time: devices.map((d) =>
        hostOnly && d.class !== 'cpu'
          ? Infinity
          : Math.max(flops / (d.compute.float32 ?? 1e12), bytes / d.memory[0]!.bandwidth) + d.launchOverhead,
      ),
      refused: devices.map((d) => (hostOnly && d.class !== 'cpu' ? 'host-only op' : null)),
      weights: r() < 0.5 ? [[`w${i}`, Math.floor(bytes)]] : [],
      outBytes: Math.floor(bytes / 4),
      workBytes: Math.floor(bytes / 2),
    });
    const fanIn = i === 0 ? 0 : 1 + Math.floor(r() * Math.min(2, i));
    const seen = new Set<number>();
    for (let k = 0; k < fanIn; k++) {
      const from = Math.max(0, i - 1 - Math.floor(r() * Math.min(i, 4)));
      if (seen.has(from)) continue;
      seen.add(from);
      flows.push({ from, to: i, bytes: tasks[from]!.outBytes, values: [`v${from}`] });
    }
  }
  const home = Math.max(
    0,
    devices.findIndex((d) => d.class === 'cpu'),
  );
  return {
    fleet,
    devices,
    tasks,
    flows,
    inputs: [{ to: 0, bytes: 4096 }],
    outputs: [{ from: n - 1, bytes: 4096 }],
    home,
    capacity: devices.map((d) => d.memory[0]!.capacity),
    comm: (a, b, bytes) => (a === b ? 0 : transferTime(route(fleet, devices[a]!.id, devices[b]!.id)!, bytes)),
  };
}
