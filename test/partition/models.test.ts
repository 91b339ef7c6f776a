// The partitioner on real models and the example fleets: constraints hold, memory is respected,
// every decision is explained, and the two memory-driven fleets really force a split.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadOnnx } from '../../src/frontends/onnx/index.js';
import { loadFleet, parseFleet, type Fleet } from '../../src/fleet/index.js';
import { parsePinFlag } from '../../src/fleet/pins.js';
import { isFleetcError } from '../../src/diagnostics/index.js';
import type { IRGraph } from '../../src/ir/graph.js';
import { resolvePipeline, runPipeline } from '../../passes/driver.js';
import { partition, type PartitionResult } from '../../passes/partition/index.js';
import { newPassContext } from '../../passes/pass.js';
// @ts-expect-error: a plain ES module generator without typings
import { writeExternalWeightsModel } from '../../fixtures/gen/external_weights.mjs';
import { REPO, SHARED } from '../paths.js';

const FLEETS = ['cpu-gpu-pcie', 'cpu-gpu-ipu', 'two-hosts-ethernet', 'small-devices', 'cpu-two-unequal-gpus'];
const MODELS = [
  join(REPO, 'fixtures/models/cnn_small/model.onnx'),
  join(REPO, 'fixtures/models/gpt_decoder_kv/model.onnx'),
  join(REPO, 'fixtures/models/moe_topk/model.onnx'),
  join(REPO, 'fixtures/models/rnn_seq/model.onnx'),
  join(SHARED, 'models/onnx/tiny_random_gpt2_fp32_past.onnx'),
  join(SHARED, 'models/onnx/keras2onnx_conv1d_lstm.onnx'),
];

function prepared(path: string): IRGraph {
  const g = loadOnnx(path);
  runPipeline(g, resolvePipeline('infer-shapes,fold,dce,cse'), newPassContext());
  return g;
}
const fleet = (name: string): Fleet => loadFleet(join(REPO, 'fixtures/fleets', `${name}.yaml`));

function checkPlan(g: IRGraph, f: Fleet, r: PartitionResult): void {
  const ids = new Set(f.devices.map((d) => d.id));
  for (const op of g.topoOps()) expect(ids.has(r.placement[op]!)).toBe(true);
  for (const d of r.devices) expect(d.memory).toBeLessThanOrEqual(d.capacity);
  for (const c of r.channels) {
    expect(c.from).not.toBe(c.to);
    expect(c.links.length).toBeGreaterThan(0);
  }
  for (const s of r.segments) {
    expect(s.reason.length).toBeGreaterThan(10);
    for (const a of s.alternatives) expect(a.objective !== undefined || (a.refused ?? '').length > 0).toBe(true);
  }
  expect(r.predicted.latency).toBeGreaterThan(0);
}

describe('partition on real models', () => {
  const graphs = new Map<string, IRGraph>();
  beforeAll(() => {
    for (const m of MODELS) graphs.set(m, prepared(m));
  });

  for (const name of FLEETS)
    it(`respects op support and memory on ${name}`, () => {
      const f = fleet(name);
      for (const m of MODELS) checkPlan(graphs.get(m)!, f, partition(graphs.get(m)!, f, new Map(), 'latency'));
    });

  it('is deterministic', () => {
    const g = graphs.get(MODELS[2]!)!;
    const a = partition(g, fleet('two-hosts-ethernet'), new Map(), 'latency');
    const b = partition(g, fleet('two-hosts-ethernet'), new Map(), 'latency');
    expect(b.placement).toEqual(a.placement);
    expect(b.predicted).toEqual(a.predicted);
  });

  it('throughput plans predict at least the latency plan’s throughput', () => {
    const g = graphs.get(MODELS[1]!)!;
    const f = fleet('cpu-gpu-ipu');
    const lat = partition(g, f, new Map(), 'latency');
    const thr = partition(g, f, new Map(), 'throughput');
    // Consolidation may give up to 0.2% of the objective for fewer channels.
    expect(thr.predicted.throughput).toBeGreaterThanOrEqual(lat.predicted.throughput * (1 - 3e-3));
  });

  it('names the constraint of a pin to a device that cannot run the op', () => {
    const f = fleet('cpu-gpu-ipu');
    f.pins.push(parsePinFlag('^TopK$=ipu0', f));
    try {
      partition(graphs.get(MODELS[2]!)!, f, new Map(), 'latency');
      expect.unreachable();
    } catch (e) {
      expect(isFleetcError(e)).toBe(true);
      expect((e as Error).message).toMatch(/--pin \^TopK\$=ipu0 pins TopK '.*' to ipu0, which cannot run it/);
    }
  });

  it('keeps pinned ops where the user put them', () => {
    const f = fleet('cpu-gpu-pcie');
    f.pins.push(parsePinFlag('MatMul=gpu0', f));
    const g = graphs.get(MODELS[1]!)!;
    const r = partition(g, f, new Map(), 'latency');
    for (const op of g.topoOps()) if (g.op(op).opType === 'MatMul') expect(r.placement[op]).toBe('gpu0');
  });
});

describe('memory forces a split', () => {
  let mlp: IRGraph;
  beforeAll(() => {
    const out = join(mkdtempSync(join(tmpdir(), 'fleetc-mlp96-')), 'model.onnx');
    writeExternalWeightsModel({ mb: 96, hidden: 1024, out });
    mlp = prepared(out);
  });

  it('(d) no device holds the 96 MiB model alone: it is spread over at least three', () => {
    const f = fleet('small-devices');
    for (const d of f.devices) expect(d.memory[0]!.capacity).toBeLessThan(96 * 2 ** 20);
    const r = partition(mlp, f, new Map(), 'latency');
    checkPlan(mlp, f, r);
    expect(r.devices.filter((d) => d.ops > 0).length).toBeGreaterThanOrEqual(3);
  });

  it('(b) the IPU takes what its SRAM holds; with unlimited SRAM it would take everything', () => {
    const f = fleet('cpu-gpu-ipu');
    const r = partition(mlp, f, new Map(), 'latency');
    checkPlan(mlp, f, r);
    const ipu = r.devices.find((d) => d.id === 'ipu0')!;
    expect(ipu.ops).toBeGreaterThan(0);
    expect(r.devices.filter((d) => d.ops > 0).length).toBeGreaterThanOrEqual(2);

    const roomy = parseFleet(
      `name: roomy\ndevices:\n  - { id: cpu0, preset: intel-xeon-8480, host: node0 }\n  - { id: ipu0, preset: graphcore-ipu-gc200, host: node0, memory: [{ name: sram, capacity: 1TiB }] }\n`,
      'roomy.yaml',
    );
    const all = partition(mlp, roomy, new Map(), 'latency');
    expect(all.devices.find((d) => d.id === 'ipu0')!.ops).toBe(mlp.topoOps().length);
  });
});
