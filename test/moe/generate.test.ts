// Issue 12, must-show 1 (generation): fleetc generate on the Mixtral-style MoE decoder gives
// onnxruntime's greedy tokens, on one device and with its experts spread over four unequal
// devices with replicas (the KV cache paged on the engine, the experts where the plan puts them).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/api/compile.js';
import { generate } from '../../src/api/generate.js';
import { haveFleetrt } from '../../runtime/fleetrt.js';
import { openDecoder, ortGenerate } from '../helpers/ort-generate.js';
import { fixture, UNEQUAL } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'fleetc-moe-generate-'));
const PROMPTS = [[17], [5, 100, 12, 9, 77], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]];
const NEW = 10;

describe.skipIf(!haveFleetrt())('fleetc generate on the MoE decoder', () => {
  it('the same tokens as onnxruntime on one device and with experts (and replicas) on four devices', async () => {
    const model = fixture('moe_decoder');
    const session = await openDecoder(model, { threads: 1 });
    const want: number[][] = [];
    for (const p of PROMPTS) want.push((await ortGenerate(session, p, { maxNewTokens: NEW })).ids);
    const routing = join(work, 'routing.json');
    const counts = [800, 100, 100, 100, 50, 50, 50, 50];
    writeFileSync(routing, JSON.stringify({ layers: [0, 1].map((layer) => ({ layer, counts })) }));
    for (const fleet of [undefined, UNEQUAL]) {
      const dir = join(work, fleet ? 'fleet' : 'one');
      const c = await compile(model, dir, {
        generate: { maxContext: 1024 },
        fleet,
        // priced for a large batch, so that spreading the experts pays
        dims: { batch: 64, seq: 1024 },
        routing,
        expertSlots: 2,
        report: false,
      });
      if (fleet) {
        const experts = c.plan.experts!;
        expect(new Set(experts.flatMap((e) => e.devices)).size).toBeGreaterThanOrEqual(3);
        expect(experts.some((e) => e.devices.length > 1)).toBe(true);
        expect(c.plan.state.every((s) => s.mode === 'paged')).toBe(true);
      }
      const got = await generate(dir, { promptIds: PROMPTS, maxNewTokens: NEW });
      expect(got.sequences, fleet ? 'fleet' : 'one device').toEqual(want);
    }
  }, 180_000);
});
