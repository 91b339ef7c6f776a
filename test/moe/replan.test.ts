// Issue 12: between steps the engine moves experts to their new devices when told (a replan to a
// plan compiled for other routing), counting the weight bytes and the stall, and generation goes on
// with exactly the tokens it would have had.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/api/compile.js';
import type { PlanJSON } from '../../src/api/plan.js';
import { EngineProcess, type ReplannedEvent } from '../../runtime/engine.js';
import { haveFleetrt } from '../../runtime/fleetrt.js';
import { openDecoder, ortGenerate } from '../helpers/ort-generate.js';
import { REPO } from '../paths.js';

const MODEL = join(REPO, 'fixtures/models/moe_decoder/model.onnx');
const FLEET = join(REPO, 'fixtures/fleets/cpu-gpu-ipu.yaml');

describe.skipIf(!haveFleetrt())('MoE experts move between steps of a running engine', () => {
  it('a replan to a placement for other routing moves expert weights mid-generation; the tokens stay the reference', async () => {
    const work = mkdtempSync(join(tmpdir(), 'fleetc-moe-replan-'));
    const routing = join(work, 'routing.json');
    writeFileSync(
      routing,
      JSON.stringify({
        layers: [
          { layer: 0, counts: [100, 1, 1, 1, 1, 1, 1, 100] },
          { layer: 1, counts: [1, 1, 100, 100, 1, 1, 1, 1] },
        ],
      }),
    );
    const a = await compile(MODEL, join(work, 'a'), { fleet: FLEET, generate: { maxContext: 512 }, report: false });
    const b = await compile(MODEL, join(work, 'b'), {
      fleet: FLEET,
      generate: { maxContext: 512 },
      routing,
      expertSlots: 2,
      report: false,
    });
    const where = (p: string): string =>
      JSON.stringify((JSON.parse(readFileSync(p, 'utf8')) as PlanJSON & { experts: unknown[] }).experts);
    expect(where(b.planPath)).not.toEqual(where(a.planPath)); // the experts go elsewhere

    const prompt = [3, 14, 15, 92, 65];
    const want = (await ortGenerate(await openDecoder(MODEL, { threads: 1 }), prompt, { maxNewTokens: 60 })).ids;
    const tokens: number[] = [];
    let replanned: ReplannedEvent | undefined;
    let errors = '';
    let atReplan = -1;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const engine: EngineProcess = new EngineProcess(a.planPath, (e) => {
      if (e.event === 'token') {
        tokens.push(e.token);
        if (tokens.length === 20) engine.replan(b.planPath);
      } else if (e.event === 'replanned') {
        replanned = e;
        atReplan = tokens.length;
      } else if (e.event === 'error') errors += e.message;
      else if (e.event === 'done') done();
    });
    await engine.ready;
    engine.slowdown('cpu0', 20); // steps slow enough that the replan lands mid-generation
    engine.submit({ id: 'r', prompt, maxTokens: 60 });
    await finished;
    await engine.close();
    expect(errors).toBe('');
    expect(tokens).toEqual(want);
    expect(replanned).toBeDefined();
    expect(replanned!.weightBytesLoaded).toBeGreaterThan(0);
    expect(replanned!.stallMs).toBeGreaterThan(0);
    // it came between steps of the running request, not after it
    expect(atReplan).toBeGreaterThanOrEqual(20);
    expect(atReplan).toBeLessThan(60);
  }, 120_000);
});
