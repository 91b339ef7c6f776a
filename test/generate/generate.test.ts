// Issue 10: generation on the engine with the KV cache as engine-owned paged state. Greedy tokens
// equal onnxruntime's reference loop (present fed back as past), on one device and across
// fleets; the cache never moves; bad input gets one clear error.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pkg from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/api/compile.js';
import { generate } from '../../src/api/generate.js';
import type { PlanJSON } from '../../src/api/plan.js';
import { run } from '../../src/api/run.js';
import { EngineProcess } from '../../runtime/engine.js';
import { findFleetrt, haveFleetrt } from '../../runtime/fleetrt.js';
import { openDecoder, ortGenerate } from '../helpers/ort-generate.js';
import { REPO, SHARED } from '../paths.js';

const MPI =
  haveFleetrt() &&
  execFileSync(findFleetrt(), ['--version'], { encoding: 'utf8' }).includes('mpi') &&
  spawnSync('mpirun', ['--version']).status === 0;
const work = mkdtempSync(join(tmpdir(), 'fleetc-generate-test-'));
const fixture = (name: string): string => join(REPO, 'fixtures/models', name, 'model.onnx');
// Prompts of different lengths, run together as one batch.
const PROMPTS = [[17], [5, 300, 12, 9, 77], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]];
const NEW = 12;

async function reference(model: string, prompts: number[][], maxNewTokens = NEW): Promise<number[][]> {
  const session = await openDecoder(model, { threads: 1 });
  const out: number[][] = [];
  for (const p of prompts) out.push((await ortGenerate(session, p, { maxNewTokens })).ids);
  return out;
}

let built = 0;
async function build(model: string, fleet?: string, maxContext = 1024): Promise<string> {
  const dir = join(work, `build-${built++}`);
  await compile(model, dir, { generate: { maxContext }, fleet, report: false });
  return dir;
}

function plan(dir: string): PlanJSON {
  return JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')) as PlanJSON;
}

describe.skipIf(!haveFleetrt())('fleetc generate: same tokens as onnxruntime, cache kept in place', () => {
  const models: [string, string, string][] = [
    [
      'com.microsoft Attention (shared tiny GPT-2)',
      join(SHARED, 'models/onnx/tiny_random_gpt2_fp32_past.onnx'),
      'flatten',
    ],
    ['GPT with plain ops', fixture('gpt_kv_plain'), 'flatten'],
    ['Llama: RMSNorm, rotary, GQA, SwiGLU', fixture('llama_kv_gqa'), 'flatten'],
    ['Llama in float16', fixture('llama_kv_gqa_fp16'), 'flatten'],
    ['GPT whose positions come from the cache length', fixture('gpt_decoder_kv'), 'sequence'],
  ];
  for (const [what, model, batching] of models)
    it(`${what}: greedy tokens equal the reference for prompts of 1, 5 and 13 tokens`, async () => {
      const dir = await build(model);
      const p = plan(dir);
      expect(p.generation!.batching).toBe(batching);
      expect(p.state.every((s) => s.mode === 'paged')).toBe(true);
      // the cache left the graph's interface
      expect(p.inputs.some((i) => /past/.test(i.name))).toBe(false);
      const vocab = p.generation!.vocab;
      const prompts = PROMPTS.map((q) => q.map((id) => id % vocab));
      const want = await reference(model, prompts);
      const got = await generate(dir, { promptIds: prompts, maxNewTokens: NEW });
      expect(got.sequences).toEqual(want);
      expect(got.reasons).toEqual(['length', 'length', 'length']);
    }, 60_000);

  it('com.microsoft MultiHeadAttention and GroupQueryAttention (rotary inside) and opset-23 Attention become paged attention; the gathered fallback gives the same tokens', async () => {
    for (const name of ['mha_kv_contrib', 'gqa_kv_contrib', 'attention23_kv']) {
      const model = fixture(name);
      const prompts = PROMPTS.slice(0, 2).map((q) => q.map((id) => id % 256));
      const want = await reference(model, prompts, 8);
      for (const paged of [true, false]) {
        const dir = join(work, `build-${built++}`);
        const passes = `infer-shapes,fold,dce,cse,kv-state{paged=${paged}}`;
        await compile(model, dir, { generate: { maxContext: 256 }, passes, report: false });
        const p = plan(dir);
        expect(
          p.state.every((s) => s.mode === (paged ? 'paged' : 'gather')),
          name,
        ).toBe(true);
        expect(p.generation!.batching).toBe(paged ? 'flatten' : 'sequence');
        const got = await generate(dir, { promptIds: prompts, maxNewTokens: 8 });
        expect(got.sequences, `${name} paged=${paged}`).toEqual(want);
        expect(got.telemetry.kvBytesWrittenPerDecodeToken).toBe(got.telemetry.kvBytesPerToken);
        expect(got.telemetry.kvBytesGatheredPerDecodeStep > 0).toBe(!paged);
      }
    }
  }, 60_000);

  it('opset-24 Attention over a static cache written by TensorScatter: paged in place, a batch of different lengths gives the reference tokens; the gathered fallback too', async () => {
    const model = fixture('attention24_static_kv');
    // 13 + 12 tokens fit the model's capacity of 32
    const prompts = PROMPTS.map((q) => q.map((id) => id % 256));
    const want = await reference(model, prompts);
    const dirs: string[] = [];
    for (const paged of [true, false]) {
      const dir = join(work, `build-${built++}`);
      dirs.push(dir);
      const passes = `infer-shapes,fold,dce,cse,kv-state{paged=${paged}}`;
      await compile(model, dir, { generate: { maxContext: 256 }, passes, report: false });
      const p = plan(dir);
      expect(p.state.map((s) => [s.input, s.mode, s.bytesPerToken])).toEqual(
        [0, 1].flatMap((i) =>
          ['key', 'value'].map((kind) => [`past_key_values.${i}.${kind}`, paged ? 'paged' : 'gather', 2 * 8 * 4]),
        ),
      );
      expect(p.generation!.staticCapacity).toBe(32);
      expect(p.generation!.maxPositions).toBe(32);
      const inputs = p.inputs.map((i) => i.name);
      expect(inputs.some((n) => /past/.test(n))).toBe(false);
      if (paged) {
        // positions (write index + offset) come from the engine per token, so sequences share one pass
        expect(p.generation!.batching).toBe('flatten');
        expect(inputs).not.toContain('write_indices');
        expect(p.schedule.some((s) => /TensorScatter/.test(s.op))).toBe(false);
      } else {
        // the scatter runs on a gathered copy; the engine feeds write_indices with the cached count
        expect(p.generation!.batching).toBe('sequence');
        expect(p.generation!.pastLengths).toBe('write_indices');
      }
      const got = await generate(dir, { promptIds: prompts, maxNewTokens: NEW });
      expect(got.sequences, `paged=${paged}`).toEqual(want);
      expect(got.telemetry.kvBytesWrittenPerDecodeToken).toBe(got.telemetry.kvBytesPerToken);
      expect(got.telemetry.kvBytesGatheredPerDecodeStep > 0).toBe(!paged);
      // the capacity bounds the context: 30 + 3 tokens are refused before anything runs
      const long = [Array.from({ length: 30 }, (_, i) => (i * 7) % 256)];
      await expect(generate(dir, { promptIds: long, maxNewTokens: 3 })).rejects.toThrow(
        /prompt 0: 30 tokens \+ 3 new = 33 tokens do not fit the static cache of 32/,
      );
      // filling it exactly is fine, and still the reference
      const full = await generate(dir, { promptIds: long, maxNewTokens: 2 });
      expect(full.sequences).toEqual(await reference(model, long, 2));
    }
    // the engine itself refuses such a request (fleetc serve's clients reach it directly) and goes on
    const events: string[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const engine = new EngineProcess(join(dirs[0]!, 'plan.json'), (e) => {
      if (e.event === 'error') events.push(e.message);
      if (e.event === 'done') done();
    });
    await engine.ready;
    const prompt = Array.from({ length: 30 }, (_, i) => i + 1);
    engine.submit({ id: 'over', prompt, maxTokens: 3 });
    engine.submit({ id: 'fits', prompt, maxTokens: 2 });
    await finished;
    await engine.close();
    expect(events).toEqual([
      "request 'over': prompt (30 tokens) + max new tokens (3) = 33 tokens do not fit the static cache of 32",
    ]);
  }, 60_000);

  it('a static-cache attention the engine cannot page (is_causal aligned to the cache start) runs from gathered pages, still as onnxruntime does', async () => {
    const { onnx } = pkg;
    const m = onnx.ModelProto.decode(readFileSync(fixture('attention24_static_kv')));
    for (const n of m.graph!.node!)
      if (n.opType === 'Attention') n.attribute = [...(n.attribute ?? []), { name: 'is_causal', type: 2, i: 1 }];
    const model = join(work, 'static_is_causal.onnx');
    writeFileSync(model, onnx.ModelProto.encode(m).finish());
    const dir = await build(model, undefined, 256);
    const p = plan(dir);
    expect(p.state.every((s) => s.mode === 'gather' && /is_causal over a static cache/.test(s.reason!))).toBe(true);
    const prompts = PROMPTS.slice(0, 2).map((q) => q.map((id) => id % 256));
    const got = await generate(dir, { promptIds: prompts, maxNewTokens: 6 });
    expect(got.sequences).toEqual(await reference(model, prompts, 6));
  }, 60_000);

  it('on 2- and 3-device fleets: the same tokens, each layer K and V on the device of its attention, no KV byte moved', async () => {
    const model = fixture('llama_kv_gqa');
    const want = await reference(model, PROMPTS);
    for (const fleet of ['cpu-gpu-pcie', 'cpu-gpu-ipu']) {
      const dir = await build(model, join(REPO, 'fixtures/fleets', `${fleet}.yaml`));
      const p = plan(dir);
      const owners = new Map<number, Set<string>>();
      const opDevice = new Map(p.schedule.map((s) => [s.op, s.device]));
      for (const s of p.state) {
        for (const op of s.ops!) expect(opDevice.get(op), `${s.input}: ${op}`).toBe(s.owner);
        owners.set(s.layer!, (owners.get(s.layer!) ?? new Set()).add(s.owner));
      }
      for (const devs of owners.values()) expect(devs.size).toBe(1);
      const got = await generate(dir, { promptIds: PROMPTS, maxNewTokens: NEW });
      expect(got.sequences, fleet).toEqual(want);
      expect(got.telemetry.kvBytesMovedPerDecodeStep).toBe(0);
      expect(got.telemetry.kvBytesGatheredPerDecodeStep).toBe(0);
    }
  }, 90_000);

  it.skipIf(!MPI)(
    'under mpirun (one rank per device, rank 0 schedules): the same tokens',
    async () => {
      const model = fixture('llama_kv_gqa');
      const dir = await build(model, join(REPO, 'fixtures/fleets/cpu-gpu-pcie.yaml'));
      const got = await generate(dir, { promptIds: PROMPTS, maxNewTokens: NEW, launcher: 'mpi' });
      expect(got.sequences).toEqual(await reference(model, PROMPTS));
    },
    60_000,
  );

  it('telemetry: one token K/V written per decode token exactly, and ≥ 95% page occupancy for mixed long prompts', async () => {
    const dir = await build(fixture('llama_kv_gqa'), undefined, 4096);
    const one = await generate(dir, { promptIds: [[3, 1, 4]], maxNewTokens: 6 });
    const t = one.telemetry;
    expect(t.kvBytesPerToken).toBe(plan(dir).state.reduce((a, s) => a + s.bytesPerToken!, 0));
    expect(t.kvBytesWrittenPerDecodeStep).toBe(t.kvBytesPerToken);
    const lengths = [301, 377, 459];
    const long = lengths.map((n) => Array.from({ length: n }, (_, i) => (i * 37 + n) % 1000));
    const mixed = await generate(dir, { promptIds: long, maxNewTokens: 8 });
    expect(mixed.telemetry.kvBytesWrittenPerDecodeToken).toBe(mixed.telemetry.kvBytesPerToken);
    expect(mixed.telemetry.kvOccupancy).toBeGreaterThanOrEqual(0.95);
    expect(mixed.telemetry.kvBytesMovedPerDecodeStep).toBe(0);
  }, 60_000);

  it('a long prompt beside a short one: decode steps split the long context over the threads, still the reference tokens', async () => {
    // Two sequences decoding on two threads are fewer tasks than two per thread, so PagedAttention
    // cuts each context into ranges of whole pages (the short one's second range is empty) and
    // merges their parts; the 1100-token prompt's prefill runs in unsplit chunks. (The kernel's
    // numbers are checked against float64 in test/runtime/paged-attention.test.ts.)
    const model = fixture('llama_kv_gqa');
    const prompts = [Array.from({ length: 1100 }, (_, i) => (i * 37 + 11) % 1000), [5, 300, 12]];
    const dir = await build(model, undefined, 1152);
    const got = await generate(dir, { promptIds: prompts, maxNewTokens: 4, threads: 2 });
    expect(got.sequences).toEqual(await reference(model, prompts, 4));
  }, 60_000);

  it('sampling is seeded and reproducible; text in and out with the model tokenizer', async () => {
    const model = join(SHARED, 'models/onnx/tiny_random_gpt2_fp32_past.onnx');
    const dir = await build(model);
    const opts = { promptIds: [[5, 6, 7]], maxNewTokens: 10, temperature: 0.9, topK: 50, topP: 0.9 };
    const a = await generate(dir, { ...opts, seed: 11 });
    const b = await generate(dir, { ...opts, seed: 11 });
    const c = await generate(dir, { ...opts, seed: 12 });
    expect(a.sequences).toEqual(b.sequences);
    expect(a.sequences).not.toEqual(c.sequences);
    const tokenizer = join(SHARED, 'models/tokenizers/tiny_random_gpt2/tokenizer.json');
    const t = await generate(dir, { prompts: ['Hello world'], tokenizer, maxNewTokens: 5 });
    expect(t.texts![0]!.length).toBeGreaterThan(0);
    const ids = await generate(dir, { promptIds: [[40, 416, 79, 206, 750]], maxNewTokens: 5 });
    expect(t.sequences).toEqual(ids.sequences); // 'Hello world' encodes to these ids
    const stop = await generate(dir, {
      promptIds: [[40, 416, 79, 206, 750]],
      maxNewTokens: 5,
      stopIds: [ids.sequences[0]![1]!],
    });
    expect(stop.sequences[0]).toEqual(ids.sequences[0]!.slice(0, 2));
    expect(stop.reasons).toEqual(['stop']);
  }, 60_000);

  it('bad input: one clear error, nothing runs', async () => {
    const dir = await build(fixture('gpt_kv_plain'), undefined, 64);
    const code = (p: Promise<unknown>): Promise<string> =>
      p.then(
        () => 'ok',
        (e: { code?: string }) => e.code ?? String(e),
      );
    // its learned position table has 128 rows: no request may go past them, whatever the pool
    expect(plan(dir).generation!.maxPositions).toBe(128);
    const wide = await build(fixture('gpt_kv_plain'), undefined, 1024);
    expect(await code(generate(wide, { promptIds: [[1, 2, 3]], maxNewTokens: 126 }))).toBe('E0602');
    expect(await code(generate(fixture('cnn_small'), { promptIds: [[1]] }))).toBe('E0601');
    expect(await code(generate(dir, { promptIds: [[1, 1000]] }))).toBe('E0602');
    expect(await code(generate(dir, { promptIds: [Array.from({ length: 60 }, () => 1)], maxNewTokens: 8 }))).toBe(
      'E0602',
    );
    expect(await code(generate(dir, { promptIds: [[1]], temperature: -1 }))).toBe('E0602');
    // options that only a compile uses are refused for a build rather than ignored
    expect(await code(generate(dir, { promptIds: [[1]], maxContext: 4096 }))).toBe('E0601');
    expect(await code(generate(dir, { promptIds: [[1]], topP: 0 }))).toBe('E0602');
    expect(await code(generate(dir, { prompts: ['no tokenizer here'] }))).toBe('E0602');
    // a generation build needs the engine: a one-shot run says so in one line
    const err = await run(join(dir, 'plan.json'), { randomInputs: true, outputDir: join(work, 'oneshot') }).catch(
      (e: Error) => e,
    );
    expect(String(err)).toMatch(/needs the engine's generation state/);
  }, 60_000);
});
