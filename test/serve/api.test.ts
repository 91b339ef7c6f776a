// Issue 11: fleetc serve's HTTP API over one engine on a 2-device fleet: OpenAI's completion
// shapes, streaming a stock client reads, 4xx for bad requests, disconnect → cancel, concurrent
// requests with the ids of a lone generate, the metrics, text with a tokenizer, drain on Ctrl-C.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/api/compile.js';
import { loadTokenizer } from '../../src/api/tokenizer.js';
import { serve, type ServeHandle } from '../../src/serve/index.js';
import { haveFleetrt } from '../../runtime/fleetrt.js';
import { REPO, SHARED } from '../paths.js';
import { complete, loneGenerate, metric, metricsText, prompts, streamedIds, streamEvents, waitFor } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'fleetc-serve-test-'));
const MODEL = join(REPO, 'fixtures/models/gpt_kv_plain/model.onnx');
const FLEET = join(REPO, 'fixtures/fleets/cpu-gpu-pcie.yaml');
// gpt_kv_plain has 128 positions: prompt + max_tokens stay within them.
const NEW = 12;

const haveCurl = await promisify(execFile)('curl', ['--version']).then(
  () => true,
  () => false,
);

describe.skipIf(!haveFleetrt())('fleetc serve: the HTTP API', () => {
  let build: string;
  let server: ServeHandle;
  let url: string;
  const vocab = 1000;

  beforeAll(async () => {
    build = join(work, 'build');
    // The decoder's matrix products pinned to the gpu: on its own the cost model keeps a model this
    // small on the cpu (a message costs more than the gpu would save), and these tests need two devices.
    await compile(MODEL, build, { fleet: FLEET, generate: { maxContext: 1024 }, report: false, pins: ['MatMul=gpu0'] });
    server = await serve(build, { port: 0, fleet: FLEET, source: MODEL });
    url = server.url;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('binds to loopback; /health, /v1/models; a completion in OpenAI’s shape with the ids of a lone generate', async () => {
    expect(server.host).toBe('127.0.0.1');
    const health = await (await fetch(`${url}/health`)).json();
    expect(health).toMatchObject({ status: 'ready', devices: ['cpu0', 'gpu0'], lost: [], restarts: 0 });
    const models = await (await fetch(`${url}/v1/models`)).json();
    expect(models.data[0].id).toBe('build');
    const prompt = [5, 300, 12, 9, 77];
    const [want] = await loneGenerate(build, [prompt], NEW);
    const r = await complete(url, { model: 'build', prompt, max_tokens: NEW, temperature: 0 });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ object: 'text_completion', model: 'build' });
    expect(r.body.id).toMatch(/^cmpl-/);
    expect(typeof r.body.created).toBe('number');
    expect(r.body.choices).toEqual([{ index: 0, text: '', token_ids: want, logprobs: null, finish_reason: 'length' }]);
    expect(r.body.usage).toEqual({ prompt_tokens: 5, completion_tokens: NEW, total_tokens: 5 + NEW });
    // a stop id ends it, included, with finish_reason stop
    const stop = await complete(url, { prompt, max_tokens: NEW, stop: [want![3]!] });
    expect(stop.body.choices![0]).toMatchObject({ token_ids: want!.slice(0, 4), finish_reason: 'stop' });
  });

  it('concurrent requests (streamed and not) each get the ids of a lone generate of their prompt', async () => {
    const ps = prompts(10, vocab);
    const want = await loneGenerate(build, ps, NEW);
    const got = await Promise.all(
      ps.map(async (prompt, i) =>
        i % 2
          ? streamedIds((await streamEvents(url, { prompt, max_tokens: NEW })).events)
          : (await complete(url, { prompt, max_tokens: NEW })).body.choices![0]!.token_ids,
      ),
    );
    expect(got).toEqual(want);
  });

  it.skipIf(!haveCurl)(
    'streams server-sent events to curl -N: one chunk per token, a finish chunk, [DONE]',
    async () => {
      const prompt = [1, 2, 3, 4];
      const [want] = await loneGenerate(build, [prompt], 6);
      const { stdout } = await promisify(execFile)('curl', [
        '-sN',
        '-H',
        'content-type: application/json',
        '-d',
        JSON.stringify({ prompt, max_tokens: 6, stream: true }),
        `${url}/v1/completions`,
      ]);
      const events = stdout.split('\n\n').filter(Boolean);
      expect(events.every((e) => e.startsWith('data: '))).toBe(true);
      expect(events.at(-1)).toBe('data: [DONE]');
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)));
      expect(chunks).toHaveLength(7);
      for (const c of chunks.slice(0, 6)) {
        expect(c).toMatchObject({ object: 'text_completion', model: 'build' });
        expect(c.choices[0].token_ids).toHaveLength(1);
        expect(c.choices[0].finish_reason).toBeNull();
      }
      expect(chunks.slice(0, 6).map((c) => c.choices[0].token_ids[0])).toEqual(want);
      expect(chunks[6].choices[0].finish_reason).toBe('length');
      expect(chunks[6].usage).toEqual({ prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 });
      expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    },
  );

  it('bad requests get a 4xx with a one-line reason, and the server keeps serving', async () => {
    const cases: [string, unknown, string | undefined, number, RegExp][] = [
      ['malformed JSON', undefined, '{"prompt": [1, 2', 400, /not valid JSON/],
      ['unknown field', { prompt: [1], echo: true }, undefined, 400, /unknown field 'echo'/],
      ['more than one choice', { prompt: [1], n: 2 }, undefined, 400, /'n' must be <= 1/],
      ['ill-typed field', { prompt: [1], max_tokens: '5' }, undefined, 400, /'max_tokens' must be integer/],
      ['ill-typed prompt', { prompt: { a: 1 } }, undefined, 400, /'prompt' must be a string or a list of token ids/],
      ['no prompt', { max_tokens: 3 }, undefined, 400, /missing field 'prompt'/],
      ['max_tokens 0', { prompt: [1], max_tokens: 0 }, undefined, 400, /'max_tokens' must be >= 1/],
      ['max_tokens < 0', { prompt: [1], max_tokens: -4 }, undefined, 400, /'max_tokens' must be >= 1/],
      [
        'id outside the vocabulary',
        { prompt: [1, 1000] },
        undefined,
        400,
        /id 1000 \(position 1\) is outside the vocabulary 0\.\.999/,
      ],
      ['negative id', { prompt: [-1] }, undefined, 400, /id -1 \(position 0\) is outside/],
      ['stop id outside the vocabulary', { prompt: [1], stop: [5000] }, undefined, 400, /stop: id 5000/],
      [
        'longer than the context',
        { prompt: Array(1020).fill(1), max_tokens: 8 },
        undefined,
        400,
        /exceed the context of 128 tokens/, // the model's 128 learned positions, fewer than the pool
      ],
      ['text without a tokenizer', { prompt: 'hello' }, undefined, 400, /needs a tokenizer/],
      ['temperature < 0', { prompt: [1], temperature: -1 }, undefined, 400, /'temperature' must be >= 0/],
      ['top_p 0', { prompt: [1], top_p: 0 }, undefined, 400, /'top_p' must be > 0/],
      ['another model', { model: 'gpt-4', prompt: [1] }, undefined, 404, /model 'gpt-4' is not served here/],
    ];
    for (const [what, body, raw, status, reason] of cases) {
      const r = await complete(url, body, raw);
      expect(r.status, what).toBe(status);
      expect(r.body.error!.message, what).toMatch(reason);
      expect(r.body.error!.message, what).not.toContain('\n');
    }
    const streamed = await streamEvents(url, { prompt: [1, 1000] });
    expect(streamed.status).toBe(400);
    expect((await fetch(`${url}/nowhere`)).status).toBe(404);
    const ok = await complete(url, { prompt: [1, 2], max_tokens: 2 });
    expect(ok.status).toBe(200);
  });

  it('a client that disconnects mid-stream cancels its request; the engine lets it go', async () => {
    const cancelled0 = metric(await metricsText(url), 'fleetc_requests_total', { outcome: 'cancelled' })!;
    const generated0 = (await server.supervisor.engineProcess!.stats()).generatedTokens;
    const abort = new AbortController();
    let seen = 0;
    await streamEvents(
      url,
      { prompt: [7, 8, 9], max_tokens: 120 },
      {
        signal: abort.signal,
        onEvent: () => {
          if (++seen === 3) abort.abort();
        },
      },
    ).catch((e: Error) => expect(e.name).toBe('AbortError'));
    expect(seen).toBeGreaterThanOrEqual(3);
    await waitFor('the cancel', async () => {
      const m = await metricsText(url);
      return (
        metric(m, 'fleetc_requests_total', { outcome: 'cancelled' }) === cancelled0 + 1 &&
        metric(m, 'fleetc_requests_running') === 0 &&
        metric(m, 'fleetc_requests_waiting') === 0
      );
    });
    expect(server.supervisor.inFlight).toBe(0);
    // the engine stopped it short of its 120 tokens
    const generated = (await server.supervisor.engineProcess!.stats()).generatedTokens - generated0;
    expect(generated).toBeGreaterThanOrEqual(3);
    expect(generated).toBeLessThan(120);
  });

  it('/metrics: Prometheus text with latency histograms, tokens, pages, prefix cache, preemptions, devices, links', async () => {
    const m = await metricsText(url);
    for (const name of [
      'fleetc_time_to_first_token_seconds_count',
      'fleetc_inter_token_latency_seconds_count',
      'fleetc_generated_tokens_total',
      'fleetc_requests_running',
      'fleetc_requests_waiting',
      'fleetc_kv_pages_used',
      'fleetc_kv_pages_free',
      'fleetc_prefix_cache_hit_rate',
      'fleetc_prefill_tokens_saved_total',
      'fleetc_preemptions_total',
      'fleetc_engine_restarts_total',
      'fleetc_replan_seconds_count',
    ])
      expect(metric(m, name), name).toBeDefined();
    expect(metric(m, 'fleetc_time_to_first_token_seconds_count')).toBeGreaterThan(10);
    expect(metric(m, 'fleetc_generated_tokens_total')).toBeGreaterThan(100);
    expect(metric(m, 'fleetc_kv_pages_free')).toBeGreaterThan(0);
    expect(metric(m, 'fleetc_device_busy_seconds_total', { device: 'cpu0' })).toBeGreaterThan(0);
    expect(metric(m, 'fleetc_device_busy_seconds_total', { device: 'gpu0' })).toBeGreaterThan(0);
    expect(m).toMatch(/fleetc_link_bytes_total\{link="[^"]+"[^}]*\} [1-9]/);
    expect(metric(m, 'fleetc_engine_restarts_total', { cause: 'device_failed' })).toBe(0);
    expect(metric(m, 'fleetc_device_up', { device: 'gpu0' })).toBe(1);
  });

  it('close() drains: a running request finishes, a new one gets 503, then the server stops', async () => {
    const local = await serve(build, { port: 0 });
    const prompt = [3, 1, 4, 1, 5];
    const [want] = await loneGenerate(build, [prompt], 60);
    let first!: () => void;
    const started = new Promise<void>((r) => (first = r));
    const running = streamEvents(local.url, { prompt, max_tokens: 60 }, { onEvent: () => first() });
    await started;
    const closing = local.close(10_000);
    const late = await complete(local.url, { prompt: [1], max_tokens: 2 }).catch(() => ({ status: 0 }));
    expect([0, 503]).toContain(late.status); // refused, or told the server is going
    const r = await running;
    expect(streamedIds(r.events)).toEqual(want);
    expect((await closing).unfinished).toBe(0);
    await expect(fetch(`${local.url}/health`)).rejects.toThrow();
  });
});

describe.skipIf(!haveFleetrt())('fleetc serve: text with a tokenizer', () => {
  it('text prompts in, text out; streamed text adds up to the whole', async () => {
    const model = join(SHARED, 'models/onnx/tiny_random_gpt2_fp32_past.onnx');
    const tokenizer = join(SHARED, 'models/tokenizers/tiny_random_gpt2/tokenizer.json');
    const server = await serve(model, { port: 0, tokenizer, maxContext: 256, workDir: join(work, 'gpt2') });
    try {
      const tok = loadTokenizer(tokenizer);
      const r = await complete(server.url, { prompt: 'Hello world', max_tokens: 8 });
      expect(r.status).toBe(200);
      const ids = r.body.choices![0]!.token_ids;
      expect(r.body.usage!.prompt_tokens).toBe(tok.encode('Hello world').length);
      expect(r.body.choices![0]!.text).toBe(tok.decode(ids));
      const byIds = await complete(server.url, { prompt: tok.encode('Hello world'), max_tokens: 8 });
      expect(byIds.body.choices![0]!.token_ids).toEqual(ids);
      const s = await streamEvents(server.url, { prompt: 'Hello world', max_tokens: 8 });
      const text = s.events
        .filter((e) => e.data !== '[DONE]')
        .map((e) => (JSON.parse(e.data) as { choices: { text: string }[] }).choices[0]!.text)
        .join('');
      expect(text).toBe(tok.decode(ids));
    } finally {
      await server.close();
    }
  });
});

describe.skipIf(!haveFleetrt())('fleetc serve: the command', () => {
  it('serves until Ctrl-C, then drains the running request and exits 0', async () => {
    const build = join(work, 'cli-build');
    // a decoder without a position table, so that the requests can be long enough to be running at Ctrl-C
    await compile(join(REPO, 'fixtures/models/llama_kv_gqa/model.onnx'), build, {
      generate: { maxContext: 4096 },
      report: false,
    });
    // one token per engine step, so that the requests are still running when Ctrl-C comes
    const args = ['serve', build, '--port', '0', '--max-batch-tokens', '1'];
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    await waitFor('the server to listen', () => /at (http:\/\/127\.0\.0\.1:\d+)/.test(stderr), 60_000);
    const url = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)![1]!;
    let begun = 0;
    let all!: () => void;
    const started = new Promise<void>((r) => (all = r));
    const running = [1, 2, 3, 4].map((k) => {
      let seen = false;
      return streamEvents(
        url,
        { prompt: [9, k, 9], max_tokens: 600 },
        {
          onEvent: () => {
            if (!seen && ++begun === 4) all();
            seen = true;
          },
        },
      );
    });
    await started;
    child.kill('SIGINT');
    for (const r of await Promise.all(running)) {
      expect(streamedIds(r.events)).toHaveLength(600);
      expect(r.events.at(-1)!.data).toBe('[DONE]');
    }
    expect(await exited).toBe(0);
    expect(stderr, stderr).toMatch(/SIGINT: draining [1-4] request/);
    expect(stderr).toMatch(/stopped\n$/);
  }, 120_000);
});
