// Compile as one pipeline of passes (issue 13): the named pipelines, the driver's check that a
// pass comes after the results it reads, and the typed results the back end leaves.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolvePipeline, runPipeline } from '../../passes/driver.js';
import { newPassContext } from '../../passes/pass.js';
import { parsePipeline, printPipeline } from '../../passes/pipeline.js';
import { BACKEND_PIPELINE, PASSES, PIPELINES } from '../../passes/registry.js';
import { FleetcError } from '../../src/diagnostics/index.js';
import { FleetCost } from '../../src/fleet/cost.js';
import { loadFleet } from '../../src/fleet/load.js';
import { parsePinFlag } from '../../src/fleet/pins.js';
import { smallGraph } from '../compile/helpers.js';
import { REPO } from '../paths.js';

function error(f: () => unknown): FleetcError {
  try {
    f();
  } catch (e) {
    if (e instanceof FleetcError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('pass pipelines', () => {
  it('every named pipeline resolves, prints back exactly and ends with the back end', () => {
    expect(Object.keys(PIPELINES)).toEqual(expect.arrayContaining(['default', 'generate', 'O0']));
    for (const [name, text] of Object.entries(PIPELINES)) {
      const steps = resolvePipeline(name);
      expect(printPipeline(steps), name).toBe(text);
      expect(text.endsWith(BACKEND_PIPELINE), name).toBe(true);
    }
  });

  it('each result has one pass that fills it, and what a pass reads is filled by another', () => {
    for (const pass of Object.values(PASSES))
      for (const slot of pass.needs ?? [])
        expect(
          Object.values(PASSES).some((p) => p.provides === slot && p !== pass),
          `${pass.name} needs ${slot}`,
        ).toBe(true);
  });

  it('refuses a pass before the results it reads, naming the pass that makes them', () => {
    expect(error(() => resolvePipeline('infer-shapes,schedule')).message).toBe(
      "pass 'schedule' needs 'partition' earlier in the pipeline",
    );
    expect(error(() => resolvePipeline('partition,schedule,plan-memory')).message).toBe(
      "pass 'plan-memory' needs 'insert-transfers' earlier in the pipeline",
    );
  });

  it('refuses to place without a fleet', () => {
    const e = error(() => runPipeline(smallGraph(), resolvePipeline('infer-shapes,partition'), newPassContext()));
    expect(e.code).toBe('E0901');
    expect(e.message).toBe("pass 'partition' places ops on a fleet: run it with fleetc compile");
  });

  it('the back end leaves typed results, each consistent with the one before', () => {
    const fleet = loadFleet(join(REPO, 'fixtures/fleets/cpu-gpu-pcie.yaml'));
    fleet.pins.push(parsePinFlag('relu=gpu0', fleet));
    const ctx = newPassContext({
      dims: new Map([['batch', 2]]),
      verify: true,
      target: { fleet, cost: new FleetCost(fleet), home: 0 },
    });
    const graph = smallGraph();
    const records = runPipeline(graph, parsePipeline(`infer-shapes,fold,dce,${BACKEND_PIPELINE}`), ctx);
    expect(records.map((r) => r.pass)).toEqual(`infer-shapes,fold,dce,${BACKEND_PIPELINE}`.split(','));
    const { partition, schedule, transfers, memory, bundles } = ctx.results;
    expect(ctx.results.experts).toBeUndefined(); // no MoE layers
    const ops = graph.topoOps();
    // Every op once, on the device the partition chose.
    expect([...schedule!.order].sort()).toEqual([...ops].sort());
    for (const [dev, list] of schedule!.orders) for (const op of list) expect(partition!.placement[op]).toBe(dev);
    expect(partition!.placement.relu).toBe('gpu0');
    expect(schedule!.used).toEqual(['cpu0', 'gpu0']);
    // relu's input goes to gpu0; y comes back for cat and as a graph output.
    expect(transfers!.map((c) => `${c.value}:${c.from}>${c.to}`).sort()).toEqual(['pre:cpu0>gpu0', 'y:gpu0>cpu0']);
    expect(transfers!.map((c) => c.id)).toEqual(transfers!.map((_c, i) => i));
    // The partitioner counted the memory plan's arenas, plus what travels: on gpu0, relu's input
    // (received) and output (sent), [2, 4] float32 each, live together, 64-byte aligned.
    const gpu = partition!.devices.find((d) => d.id === 'gpu0')!;
    expect(memory!.get('gpu0')!.bytes).toBe(0);
    expect(gpu.activationPeak).toBe(2 * 64);
    const cpu = partition!.devices.find((d) => d.id === 'cpu0')!;
    expect(cpu.activationPeak).toBeGreaterThanOrEqual(memory!.get('cpu0')!.bytes);
    // The emitted arenas are the memory plan's.
    expect([...bundles!.keys()]).toEqual(schedule!.used);
    for (const [dev, e] of bundles!) {
      expect(e.memory.arenaBytes).toBe(memory!.get(dev)!.bytes);
      expect(e.memory.arenaTensors).toBe(memory!.get(dev)!.tensors.size);
    }
  });
});
