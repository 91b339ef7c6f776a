/**
 * The HTTP front end (fastify): OpenAI-style `POST /v1/completions` (JSON or server-sent events),
 * `GET /v1/models`, `GET /health`, `GET /metrics`. Every body is checked by its JSON schema
 * (strict: no coercion, no unknown field) and against the served model (vocabulary, context)
 * before it reaches the engine; a bad request gets a 4xx with a one-line reason.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { TextTokenizer } from '../api/tokenizer.js';
import type { ServeMetrics } from './metrics.js';
import type { CompletionParams, FinishReason, Supervisor } from './supervisor.js';
import { decodeIds, StreamDecoder } from './text.js';

export interface CompletionBody {
  model?: string;
  prompt: string | number[];
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  seed?: number;
  stop?: number[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  n?: number;
  user?: string;
}

const completionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['prompt'],
  properties: {
    model: { type: 'string' },
    prompt: { type: ['string', 'array'], items: { type: 'integer' }, minItems: 1, minLength: 1 },
    max_tokens: { type: 'integer', minimum: 1 },
    temperature: { type: 'number', minimum: 0 },
    top_p: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    top_k: { type: 'integer', minimum: 0 },
    seed: { type: 'integer', minimum: 0 },
    stop: { type: 'array', items: { type: 'integer' } },
    stream: { type: 'boolean' },
    // accepted for OpenAI clients that send them: usage always comes with the last chunk; one choice
    stream_options: {
      type: 'object',
      additionalProperties: false,
      properties: { include_usage: { type: 'boolean' } },
    },
    n: { type: 'integer', minimum: 1, maximum: 1 },
    user: { type: 'string' },
  },
} as const;

/** OpenAI's default when max_tokens is not given. */
const DEFAULT_MAX_TOKENS = 16;

export interface AppContext {
  supervisor: Supervisor;
  metrics: ServeMetrics;
  /** The served model's name (`model` in requests and responses). */
  modelName: string;
  tokenizer?: TextTokenizer;
}

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function errorBody(status: number, message: string): object {
  return {
    error: {
      message,
      type: status >= 500 ? 'server_error' : status === 404 ? 'not_found_error' : 'invalid_request_error',
      code: status,
    },
  };
}

interface ValidationIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** One line for a schema failure: `unknown field 'n'`, `'max_tokens' must be >= 1`. */
function validationLine(v: ValidationIssue[]): string {
  const e = v[0]!;
  const field = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (e.keyword === 'additionalProperties') return `unknown field '${String(e.params.additionalProperty)}'`;
  if (e.keyword === 'required') return `missing field '${String(e.params.missingProperty)}'`;
  if (!field) return `the body ${e.message ?? 'is invalid'}`;
  if (field === 'prompt' && e.keyword === 'type') return `'prompt' must be a string or a list of token ids`;
  return `'${field}' ${e.message ?? 'is invalid'}`;
}

const oneLine = (s: string): string => s.split('\n')[0]!.trim();

function checkIds(what: string, ids: readonly number[], vocab: number): void {
  ids.forEach((id, k) => {
    if (id < 0 || id >= vocab)
      throw new RequestError(400, `${what}: id ${id} (position ${k}) is outside the vocabulary 0..${vocab - 1}`);
  });
}

/** The request as the engine takes it, checked against the model; throws RequestError. */
function toParams(b: CompletionBody, ctx: AppContext): CompletionParams {
  if (b.model !== undefined && b.model !== ctx.modelName)
    throw new RequestError(404, `model '${b.model}' is not served here (this server serves '${ctx.modelName}')`);
  const state = ctx.supervisor.state;
  if (state.status === 'failed' || state.status === 'draining')
    throw new RequestError(503, state.reason ?? 'the server is shutting down');
  let prompt: number[];
  if (typeof b.prompt === 'string') {
    if (!ctx.tokenizer)
      throw new RequestError(
        400,
        'a text prompt needs a tokenizer (none beside the model; start the server with --tokenizer FILE), or send token ids',
      );
    prompt = ctx.tokenizer.encode(b.prompt);
    if (prompt.length === 0) throw new RequestError(400, "'prompt' encodes to no tokens");
  } else prompt = b.prompt;
  const { vocab, capacityTokens } = ctx.supervisor.limits;
  checkIds('prompt', prompt, vocab);
  checkIds('stop', b.stop ?? [], vocab);
  const maxTokens = b.max_tokens ?? DEFAULT_MAX_TOKENS;
  if (prompt.length + maxTokens > capacityTokens)
    throw new RequestError(
      400,
      `the prompt (${prompt.length} tokens) and max_tokens (${maxTokens}) exceed the context of ${capacityTokens} tokens`,
    );
  return {
    prompt,
    maxTokens,
    temperature: b.temperature ?? 0,
    topK: b.top_k ?? 0,
    topP: b.top_p ?? 1,
    seed: b.seed ?? 0,
    stop: b.stop ?? [],
  };
}

interface Outcome {
  status: number;
  body: object;
}

/** A JSON completion: waits for the request to finish; a client that goes away cancels it. */
function complete(ctx: AppContext, params: CompletionParams, reply: FastifyReply): Promise<Outcome> {
  const id = `cmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const tokens: number[] = [];
  return new Promise((resolve) => {
    const handle = ctx.supervisor.submit(
      params,
      {
        token: (t) => tokens.push(t),
        done: (reason) =>
          resolve({
            status: 200,
            body: {
              id,
              object: 'text_completion',
              created,
              model: ctx.modelName,
              choices: [
                {
                  index: 0,
                  text: ctx.tokenizer ? decodeIds(ctx.tokenizer, tokens) : '',
                  token_ids: tokens,
                  logprobs: null,
                  finish_reason: reason,
                },
              ],
              usage: usage(params, tokens.length),
            },
          }),
        fail: (status, message) => resolve({ status, body: errorBody(status, message) }),
      },
      id,
    );
    reply.raw.on('close', () => {
      if (!reply.raw.writableEnded) handle.cancel();
    });
  });
}

function usage(p: CompletionParams, completion: number): object {
  return { prompt_tokens: p.prompt.length, completion_tokens: completion, total_tokens: p.prompt.length + completion };
}

/**
 * A streamed completion: one server-sent event per token in OpenAI's chunk shape, a last chunk
 * with the finish reason and usage, then `data: [DONE]`. Headers go out with the first event, so
 * a request the engine rejects before its first token still gets its 4xx.
 */
function stream(ctx: AppContext, params: CompletionParams, res: ServerResponse): void {
  const id = `cmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const decoder = ctx.tokenizer ? new StreamDecoder(ctx.tokenizer) : undefined;
  let count = 0;
  let started = false;
  const event = (data: unknown): void => void res.write(`data: ${JSON.stringify(data)}\n\n`);
  const start = (): void => {
    if (started) return;
    started = true;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
  };
  const chunk = (text: string, tokenIds: number[], finish: FinishReason | null, extra: object = {}): object => ({
    id,
    object: 'text_completion',
    created,
    model: ctx.modelName,
    choices: [{ index: 0, text, token_ids: tokenIds, logprobs: null, finish_reason: finish }],
    ...extra,
  });
  const handle = ctx.supervisor.submit(
    params,
    {
      token: (t) => {
        start();
        count++;
        event(chunk(decoder ? decoder.push(t) : '', [t], null));
      },
      done: (reason) => {
        start();
        event(chunk('', [], reason, { usage: usage(params, count) }));
        res.end('data: [DONE]\n\n');
      },
      fail: (status, message) => {
        if (!started) {
          res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
          res.end(JSON.stringify(errorBody(status, message)));
          return;
        }
        event(errorBody(status, message));
        res.end('data: [DONE]\n\n');
      },
    },
    id,
  );
  res.on('close', () => {
    if (!res.writableEnded) handle.cancel();
  });
}

export function buildApp(ctx: AppContext): FastifyInstance {
  const app = Fastify({
    logger: false,
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allowUnionTypes: true },
    },
  });
  app.setErrorHandler((err: FastifyError, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    const message = err.validation
      ? validationLine(err.validation as unknown as ValidationIssue[])
      : status === 500
        ? `internal error: ${oneLine(err.message)}`
        : oneLine(err.message);
    void reply.code(status).send(errorBody(status, message));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(errorBody(404, `no route ${req.method} ${req.url.split('?')[0]}`));
  });

  app.post<{ Body: CompletionBody }>('/v1/completions', { schema: { body: completionSchema } }, async (req, reply) => {
    let params: CompletionParams;
    try {
      params = toParams(req.body, ctx);
    } catch (e) {
      if (!(e instanceof RequestError)) throw e;
      return reply.code(e.status).send(errorBody(e.status, e.message));
    }
    ctx.metrics.prompt(params.prompt.length);
    if (req.body.stream) {
      reply.hijack();
      stream(ctx, params, reply.raw);
      return reply;
    }
    const out = await complete(ctx, params, reply);
    return reply.code(out.status).send(out.body);
  });

  app.get('/v1/models', async () => ({
    object: 'list',
    data: [{ id: ctx.modelName, object: 'model', created: 0, owned_by: 'fleetc' }],
  }));

  app.get('/health', async (_req, reply) => {
    const s = ctx.supervisor;
    const st = s.state;
    return reply.code(st.status === 'failed' || st.status === 'draining' ? 503 : 200).send({
      status: st.status,
      ...(st.reason ? { reason: st.reason } : {}),
      model: ctx.modelName,
      devices: s.deviceNames,
      lost: s.lostDevices,
      restarts: s.restarts,
      inFlight: s.inFlight,
    });
  });

  app.get('/metrics', async (_req, reply) => {
    const text = await ctx.metrics.render(await ctx.supervisor.figures());
    return reply.type(ctx.metrics.contentType).send(text);
  });

  return app;
}
