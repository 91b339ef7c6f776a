// The live controller's decisions on synthetic signals (no engine, no compiler): a fleet of two
// devices `a` and `b`, plans whose predicted busy time says where the work is, step events whose
// busy time is that work at each device's real speed with noise from a shared host. Deterministic
// (seeded) and fast; the engine run is test/live/controller.test.ts.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Controller,
  predictStep,
  quantizeFactor,
  scaleFleet,
  type ControllerOptions,
} from '../../src/api/controller.js';
import type { PlanJSON } from '../../src/api/plan.js';
import { parseFleet } from '../../src/fleet/load.js';
import type { Fleet } from '../../src/fleet/types.js';
import type { StepEvent } from '../../runtime/engine.js';

const FLEET = parseFleet(
  `name: pair
devices:
  - { id: a, class: cpu, backend: cpu, threads: 1, memory: { capacity: 4GiB, bandwidth: 20GB/s }, compute: { float32: 80GFLOPS } }
  - { id: b, class: cpu, backend: cpu, threads: 1, memory: { capacity: 4GiB, bandwidth: 20GB/s }, compute: { float32: 80GFLOPS } }
`,
  'pair.yaml',
);

/**
 * This world's model, in ms of busy time per step at speed 1: split, a runs 1 and b runs 2; all on
 * one device it is 4 (b has the faster kernels for its part). Steps run their parts one after
 * the other.
 */
const SPLIT = { a: 1, b: 2 };
const ALONE = 4;
/** Bytes of each device's weights in every plan. */
let weightBytes = 1 << 20;

function writePlan(dir: string, busy: Record<string, number>, stateOwner: string, tag: string): string {
  mkdirSync(dir, { recursive: true });
  const plan = {
    generation: { pageSize: 16, capacityTokens: 1024, maxStepTokens: 256 },
    pipeline: { options: { objective: 'latency' } },
    predicted: {
      latency: Object.values(busy).reduce((x, y) => x + y, 0) / 1e3,
      busy: Object.fromEntries(Object.entries(busy).map(([d, ms]) => [d, ms / 1e3])),
    },
    devices: Object.keys(busy).map((name, i) => ({
      name,
      home: i === 0,
      bundle: { files: [{ path: 'weights.bin', sha256: `${tag}-${name}`, bytes: weightBytes }] },
    })),
    state: [{ owner: stateOwner, bytesPerToken: 1024 }],
  };
  writeFileSync(join(dir, 'plan.json'), JSON.stringify(plan));
  return join(dir, 'plan.json');
}

/**
 * The compiler of this world: the split, unless one device is 1.5× slower than the other; then all
 * on the other, which keeps `aside` ms of work (below 0.01 ms too little to time).
 */
function fakeCompiler(calls: string[], aside = 0.05) {
  return (out: string, fleet: Fleet) => {
    const speed = (id: string): number => 80e9 / fleet.devices.find((d) => d.id === id)!.compute.float32!;
    const sa = speed('a');
    const sb = speed('b');
    calls.push(fleet.name);
    const busy =
      sb > sa * 1.5
        ? { a: ALONE * sa, b: aside * sb }
        : sa > sb * 1.5
          ? { a: aside * sa, b: ALONE * sb }
          : { a: SPLIT.a * sa, b: SPLIT.b * sb };
    const owner = busy.a > busy.b ? 'a' : 'b';
    return Promise.resolve({ id: 0, ok: true as const, planPath: writePlan(out, busy, owner, fleet.name), ms: 1 });
  };
}

/** A seeded generator of the host's noise: mostly ±10%, now and then a long stall. */
function noise(seed: number): () => number {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return () => (next() < 0.05 ? 1 + 4 * next() : 0.9 + 0.2 * next());
}

interface World {
  controller: Controller;
  calls: string[];
  replans: string[];
  logs: string[];
  /** Runs steps with these real speeds (per device) and load on the whole host. */
  run(steps: number, speeds: Record<string, number>, host?: number): Promise<void>;
  step: number;
}

/**
 * What this world hides from the plans: `aside` (fakeCompiler), `trueSpeeds` (a device's speed the
 * fleet file misstates, in every plan) and `lonely` (a factor on the one device a plan times: an
 * artefact of the host, like a noisy neighbour on its core, that leaves when work is shared).
 */
interface Hidden {
  aside?: number;
  trueSpeeds?: Record<string, number>;
  lonely?: number;
}

async function world(opts: Partial<ControllerOptions> = {}, seed = 1, hidden: Hidden = {}): Promise<World> {
  const work = mkdtempSync(join(tmpdir(), 'fleetc-live-decide-'));
  const start = writePlan(join(work, 'start'), SPLIT, 'b', 'start');
  let current = JSON.parse(readFileSync(start, 'utf8')) as PlanJSON;
  const rand = noise(seed);
  const w: World = {
    calls: [],
    replans: [],
    logs: [],
    step: 0,
    controller: undefined as unknown as Controller,
    async run(steps, speeds, host = 1) {
      for (let k = 0; k < steps; k++) {
        const devices: StepEvent['devices'] = {};
        let ms = 0;
        const busy = Object.entries(current.predicted.busy);
        const timed = busy.filter(([, s]) => s >= 1e-5);
        for (const [d, s] of busy) {
          const lonely = timed.length === 1 && timed[0]![0] === d ? (hidden.lonely ?? 1) : 1;
          const us = s * 1e6 * (speeds[d] ?? 1) * (hidden.trueSpeeds?.[d] ?? 1) * lonely * host * rand();
          devices[d] = { busyUs: us, util: 0 };
          ms += us / 1e3;
        }
        w.controller.onEvent({
          event: 'step',
          step: w.step++,
          kind: 'decode',
          tokens: 8,
          sequences: 8,
          ms,
          running: 8,
          waiting: 0,
          pagesUsed: 16,
          pagesFree: 48,
          linkBytes: 0,
          devices,
        });
        await new Promise((r) => setImmediate(r));
      }
    },
  };
  const engine = {
    replan(p: string): void {
      w.replans.push(p);
      current = JSON.parse(readFileSync(p, 'utf8')) as PlanJSON;
      setImmediate(() =>
        w.controller.onEvent({ event: 'replanned', plan: p, stallMs: 5, stateBytesMoved: 1, weightBytesLoaded: 1 }),
      );
    },
  };
  w.controller = new Controller(engine, start, {
    model: 'model.onnx',
    fleet: FLEET,
    workDir: join(work, 'candidates'),
    compiler: fakeCompiler(w.calls, hidden.aside),
    log: (l) => w.logs.push(l),
    ...opts,
  });
  await w.controller.prepared;
  return w;
}

describe('live controller decisions on synthetic signals', () => {
  it('rounds factors to the grid plans are compiled for, and scales a fleet by them', () => {
    expect([1.05, 1.3, 2.2, 2.9, 3.3, 3.6, 0.34, 100].map(quantizeFactor)).toEqual([1, 1.25, 2, 3, 3, 4, 1 / 3, 128]);
    const f = scaleFleet(FLEET, { b: 4 });
    expect(f.devices[1]!.compute.float32).toBe(20e9);
    expect(f.devices[1]!.memory[0]!.bandwidth).toBe(5e9);
    expect(f.devices[0]).toBe(FLEET.devices[0]);
    expect(scaleFleet(FLEET, { a: 1 })).toBe(FLEET);
  });

  it('predicts a plan under other speeds from its own figures', () => {
    const plan = { predicted: { latency: 0.004, busy: { a: 0.001, b: 0.003 } } } as unknown as PlanJSON;
    expect(predictStep(plan, {}, {})).toBeCloseTo(0.004);
    expect(predictStep(plan, {}, { b: 3 })).toBeCloseTo(0.01);
    expect(predictStep(plan, { b: 3 }, { b: 3 })).toBeCloseTo(0.004);
  });

  it('compiles the contingencies ahead: each device of the plan at 2× and 4×', async () => {
    const w = await world();
    expect(w.calls.sort()).toEqual(['pair (a ×2)', 'pair (a ×4)', 'pair (b ×2)', 'pair (b ×4)']);
    expect(w.controller.stats().candidates).toHaveLength(5);
  });

  it('moves nothing under noise and long stalls, nor when the whole host gets slower', async () => {
    for (const seed of [1, 2, 3]) {
      const w = await world({}, seed);
      await w.run(600, {});
      await w.run(600, {}, 2.5); // every device 2.5× slower: other processes, not a device
      await w.run(300, {});
      expect(w.replans, w.logs.join('\n')).toEqual([]);
      expect(w.controller.stats().replacements).toEqual([]);
    }
  });

  it('a device 3× slower: re-placed within 50 steps to the plan for it, then nothing more', async () => {
    const w = await world();
    await w.run(200, {});
    await w.run(400, { b: 3 });
    const r = w.controller.stats().replacements;
    expect(r.length, w.logs.join('\n')).toBeGreaterThanOrEqual(1);
    expect(r[0]!.step).toBeGreaterThan(200);
    expect(r[0]!.appliedStep! - 200).toBeLessThanOrEqual(50);
    expect(r[0]!.speeds.b).toBeGreaterThan(2.5);
    expect(r[0]!.speeds.b).toBeLessThan(3.5);
    expect(r[0]!.to).toMatch(/plan-bx/);
    expect(r[0]!.stateBytes).toBe(16 * 16 * 1024); // pages in use × page size × bytes per token
    expect(r[0]!.weightBytes).toBe(2 * weightBytes);
    // the plan for exactly b×3 is compiled after the move; it is no better here, so it stays put
    expect(w.calls).toContain('pair (b ×3)');
    expect(w.replans.length).toBe(r.length);
    const last = w.replans.length;
    await w.run(600, { b: 3 });
    expect(w.replans.length).toBe(last);
  });

  it('a device that recovers gets its work back', async () => {
    const w = await world();
    await w.run(200, {});
    await w.run(300, { b: 4 });
    const moved = w.replans.length;
    expect(moved).toBeGreaterThanOrEqual(1);
    // b now holds almost nothing; what little it runs still shows it fast again
    await w.run(400, {});
    expect(w.replans.length, w.logs.join('\n')).toBeGreaterThan(moved);
    expect(w.controller.planPath).toMatch(/start/);
  });

  it('a device timed alone must change by more (2.5×) before anything moves', async () => {
    for (const seed of [1, 2, 3]) {
      const hidden: Hidden = { aside: 0.001 };
      const w = await world({}, seed, hidden);
      await w.run(200, {});
      await w.run(300, { b: 3 });
      hidden.lonely = 2.2; // a, alone, reads 2.2× slower for a long while
      await w.run(900, { b: 3 });
      expect(w.replans.length, w.logs.join('\n')).toBe(1);
    }
  });

  it('a move whose steps run slower than before is undone, and not made again within the horizon', async () => {
    // b really runs 2.5× slower than the fleet file says; once b is slowed 3× the work goes to a,
    // which later reads 3× slower while it alone is timed, so the plans predict the split better
    for (const seed of [1, 2, 3]) {
      const hidden: Hidden = { aside: 0.001, trueSpeeds: { b: 2.5 } };
      const w = await world({}, seed, hidden);
      await w.run(200, {});
      await w.run(300, { b: 3 });
      hidden.lonely = 3;
      await w.run(900, { b: 3 });
      const r = w.controller.stats().replacements;
      expect(
        r.map((m) => !!m.undo),
        w.logs.join('\n'),
      ).toEqual([false, false, true]);
      expect(r[1]!.undone).toBe(true);
      expect(r[2]!.to).toBe(r[1]!.from);
      expect(r[2]!.stepSeconds).toBeGreaterThan(r[1]!.stepSeconds);
      expect(w.controller.stats().decisions.filter((d) => d.action === 'undo')).toHaveLength(1);
    }
    // the first move, made on measured speeds, passes its probation
    const w = await world({}, 1, { aside: 0.001 });
    await w.run(200, {});
    await w.run(600, { b: 3 });
    expect(w.controller.stats().replacements.map((m) => !!m.undo)).toEqual([false]);
    expect(w.controller.stats().decisions.some((d) => /kept$/.test(d.reason))).toBe(true);
  });

  it('keeps the plan when the move would not pay back within the horizon', async () => {
    weightBytes = 1 << 30; // 2 GiB to load at 20 GB/s: ~107 ms, ~25 steps of the gain
    try {
      const w = await world({ horizon: 20 });
      await w.run(200, {});
      await w.run(200, { b: 3 });
      expect(w.replans).toEqual([]);
      expect(w.controller.stats().decisions.some((d) => /less than moving/.test(d.reason))).toBe(true);
      const paid = await world({ horizon: 100 });
      await paid.run(200, {});
      await paid.run(200, { b: 3 });
      expect(paid.replans.length).toBe(1);
      expect(paid.controller.stats().replacements[0]!.paybackSteps).toBeGreaterThan(20);
    } finally {
      weightBytes = 1 << 20;
    }
  });
});
