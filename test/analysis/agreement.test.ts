// One roofline: `fleetc inspect --fleet`, the partitioner and the compile report classify every
// op the same way on the device it is placed on (they all price it with targets/roofline.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { partition } from '../../passes/partition/index.js';
import { compileGraph } from '../../src/api/compile.js';
import { inspectGraph } from '../../src/api/inspect.js';
import { loadGraph } from '../../src/api/load.js';
import { loadFleet } from '../../src/fleet/load.js';
import type { Report } from '../../src/report/index.js';
import { tmp } from '../compile/helpers.js';
import { REPO } from '../paths.js';

// Two devices of different classes; and a cpu fleet at sizes that put ops in all three classes.
const cases = [
  { model: 'gpt_decoder_kv', fleet: 'cpu-gpu-pcie.yaml', dims: { batch: 2, seq: 3, past_seq: 4 }, classes: 1 },
  { model: 'cnn_small', fleet: 'cpu-threads.yaml', dims: { batch: 16 }, classes: 3 },
];

describe('inspect, partition and report agree on every op’s class', () => {
  for (const c of cases)
    it(`${c.model} on ${c.fleet}`, async () => {
      const fleetFile = join(REPO, 'fixtures/fleets', c.fleet);
      const graph = await loadGraph(join(REPO, 'fixtures/models', c.model, 'model.onnx'));
      const out = tmp();
      await compileGraph(graph, out, { fleet: fleetFile, dims: c.dims });
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
      // The compiled graph, as the partitioner saw it.
      const seen = inspectGraph(graph, { fleet: fleetFile, dims: c.dims, ops: true });
      const part = partition(graph, loadFleet(fleetFile), new Map(Object.entries(c.dims)), 'latency');
      const byName = new Map(seen.opRows!.map((r) => [r.name, r]));
      expect(report.ops.length).toBeGreaterThan(5);
      const classes = new Set<string>();
      for (const op of report.ops) {
        const row = byName.get(op.id)!;
        expect(row, op.id).toBeDefined();
        if (row.bound === null) continue; // cost unknown: inspect does not guess
        expect([op.id, row.boundOn![op.device]]).toEqual([op.id, op.bound]);
        expect([op.id, part.ops[op.id]!.bound]).toEqual([op.id, op.bound]);
        classes.add(op.bound);
      }
      expect(classes.size).toBe(c.classes);
    });
});
