// Issue 10's test material: the KV-cache decoder fixtures against their test data in
// onnxruntime-node, and the reference generation loop (test/helpers/ort-generate.ts) against
// full forward passes without a cache, token by token.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkModel, manifestTolerances } from '../../fixtures/gen/check_fixtures.mjs';
import { argmax, decoderLayout, forwardLogits, openDecoder, ortGenerate } from '../helpers/ort-generate.js';
import { REPO, SHARED } from '../paths.js';

const FIXTURES = join(REPO, 'fixtures/models');
const DECODER_FIXTURES = [
  'gpt_kv_plain',
  'llama_kv_gqa',
  'llama_kv_gqa_fp16',
  'mha_kv_contrib',
  'gqa_kv_contrib',
  'attention23_kv',
  'attention24_static_kv',
];
const DECODERS = [
  ...DECODER_FIXTURES.map((name) => ({ name, file: join(FIXTURES, name, 'model.onnx') })),
  { name: 'tiny_random_gpt2_fp32_past', file: join(SHARED, 'models/onnx/tiny_random_gpt2_fp32_past.onnx') },
];
// Prompt lengths 1, 4 and 11; ids below 256, the smallest vocabulary among the models.
const PROMPTS = [[17], [3, 141, 59, 26], [200, 1, 77, 77, 5, 250, 9, 31, 140, 64, 8]];
const NEW_TOKENS = 6;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('decoder fixtures against their test data (onnxruntime-node)', () => {
  const tolerances = manifestTolerances(FIXTURES);
  it.each(DECODER_FIXTURES)('%s', async (name) => {
    const { sets, problems } = await checkModel(join(FIXTURES, name), tolerances[name]);
    expect(problems).toEqual([]);
    expect(sets).toBeGreaterThanOrEqual(3);
  });
});

describe('reference greedy loop equals full forward passes without a cache', () => {
  for (const { name, file } of DECODERS)
    it(name, async () => {
      const session = await openDecoder(file);
      const fp16 = decoderLayout(session).cache[0]!.type === 'float16';
      for (const prompt of PROMPTS) {
        const r = await ortGenerate(session, prompt, { maxNewTokens: NEW_TOKENS, keepLogits: true });
        expect(r.ids).toHaveLength(NEW_TOKENS);
        expect(r.stepMs).toHaveLength(NEW_TOKENS - 1);
        expect(r.prefillMs).toBeGreaterThan(0);
        expect(r.ids[0]).toBe(argmax(await forwardLogits(session, prompt)));
        // Token k of the loop (cache fed back k times) against one pass over prompt + k tokens.
        for (let k = 1; k < NEW_TOKENS; k++) {
          const full = await forwardLogits(session, [...prompt, ...r.ids.slice(0, k)]);
          expect(r.ids[k], `${name}, prompt of ${prompt.length}, token ${k}`).toBe(argmax(full));
          expect(maxAbsDiff(r.logits![k]!, full)).toBeLessThan(fp16 ? 1e-2 : 1e-4);
        }
      }
    });

  it('stops after a stop id and honours max_new_tokens', async () => {
    const session = await openDecoder(join(FIXTURES, 'llama_kv_gqa/model.onnx'));
    const free = await ortGenerate(session, PROMPTS[1]!, { maxNewTokens: 5 });
    expect(free.ids).toHaveLength(5);
    const stopAt = free.ids.indexOf(free.ids[2]!);
    const stopped = await ortGenerate(session, PROMPTS[1]!, { maxNewTokens: 5, stopIds: [free.ids[2]!] });
    expect(stopped.ids).toEqual(free.ids.slice(0, stopAt + 1));
    expect((await ortGenerate(session, PROMPTS[1]!, { maxNewTokens: 0 })).ids).toEqual([]);
  });

  it('rejects a model without a KV cache and a prompt beyond a static cache', async () => {
    const bert = await openDecoder(join(FIXTURES, 'bert_encoder/model.onnx'));
    expect(() => decoderLayout(bert)).toThrow(/token_type_ids is neither/);
    const fixed = await openDecoder(join(FIXTURES, 'attention24_static_kv/model.onnx'));
    await expect(ortGenerate(fixed, new Array(30).fill(1), { maxNewTokens: 4 })).rejects.toThrow(
      /33 tokens do not fit the static cache of 32/,
    );
  });
});
