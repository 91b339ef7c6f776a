// --max-memory steers placement (the partitioner gets the budget as capacity, and the memory
// planner's arena has the last word); a budget no placement meets is E0401 with the reason.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/api/compile.js';
import { isFleetcError } from '../../src/diagnostics/index.js';
import { REPO } from '../paths.js';

const MODEL = join(REPO, 'fixtures/models/gpt_decoder_kv/model.onnx');
const FLEET = join(REPO, 'fixtures/fleets/cpu-gpu-ipu.yaml');

describe('memory budgets', () => {
  it('spreads the model so every device stays under --max-memory', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fleetc-budget-')), 'b');
    const free = await compile(MODEL, `${out}-free`, { fleet: FLEET, report: false });
    const biggest = Math.max(...free.plan.devices.map((d) => d.memory.total));
    const limit = Math.floor(biggest * 0.75);
    const r = await compile(MODEL, out, { fleet: FLEET, maxMemory: limit, report: false });
    for (const d of r.plan.devices) expect(d.memory.total).toBeLessThanOrEqual(limit);
    expect(r.plan.devices.length).toBeGreaterThanOrEqual(2);
  });

  it('fails with E0401 and the reason when no placement meets it', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fleetc-budget-')), 'b');
    await expect(compile(MODEL, out, { fleet: FLEET, maxMemory: '20KiB', report: false })).rejects.toSatisfy(
      (e: unknown) => isFleetcError(e) && e.code === 'E0401' && /--max-memory 20\.0 KiB/.test(e.message),
    );
  });

  it('fails with E0401 when the predicted latency misses --max-latency', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fleetc-budget-')), 'b');
    await expect(compile(MODEL, out, { fleet: FLEET, maxLatency: '1us', report: false })).rejects.toSatisfy(
      (e: unknown) => isFleetcError(e) && e.code === 'E0401' && /--max-latency/.test(e.message),
    );
  });
});
