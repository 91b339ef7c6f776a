// The reference generation loop: greedy decoding with onnxruntime-node, for tests and benchmarks.
//
//   const session = await openDecoder('fixtures/models/llama_kv_gqa/model.onnx', { threads: 2 });
//   const r = await ortGenerate(session, [12, 7, 99], { maxNewTokens: 16, stopIds: [0] });
//   r.ids         generated ids, prompt excluded (a stop id that ends the run is included)
//   r.prefillMs   wall time of the prefill run; r.stepMs[i] of decode step i (one token each)
//   r.logits      with keepLogits: the float32 logits row that chose each generated id
//
// One prompt (batch 1): a prefill over the whole prompt with an empty cache, then one token per
// step, every present output fed back as the matching past input. The layout is read from the
// model's input and output names (decoderLayout):
//   past_key_values.N.key / .value ↔ present.N.key / .value   [batch, kv_heads, past, head_dim] (HF)
//   past_N ↔ present_N   [2, batch, heads, past, head_dim] (onnxruntime's GPT-2 exports)
//   write_indices [batch]: a static cache; past_key_values.N.* have a fixed capacity, start zeroed,
//                          and write_indices holds the tokens already cached
// attention_mask (ones, past+seq wide) and position_ids (the token positions) are fed when the
// model has them, in its integer type. Caches and logits may be float32 or float16. Argmax ties go
// to the lowest id. `forwardLogits` runs one full forward pass with an empty cache (no loop).
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import { halfToNumber } from '../../src/ir/dtype.js';

export interface GenerateOptions {
  /** Stop after this many generated tokens. */
  maxNewTokens: number;
  /** Stop after generating any of these ids. */
  stopIds?: readonly number[];
  /** Keep the logits row behind each generated id (float32). */
  keepLogits?: boolean;
}

export interface GenerateResult {
  ids: number[];
  prefillMs: number;
  stepMs: number[];
  logits?: Float32Array[];
}

interface CacheSlot {
  past: string;
  present: string;
  type: 'float32' | 'float16';
  /** Shape of the first past tensor: batch 1, the growing axis 0 (or the static capacity). */
  initialShape: number[];
}

export interface DecoderLayout {
  idsType: 'int32' | 'int64';
  maskType?: 'int32' | 'int64';
  positionType?: 'int32' | 'int64';
  /** Static cache: tokens fit in `capacity`; write_indices says where new ones go. */
  staticCapacity?: number;
  logits: string;
  cache: CacheSlot[];
}

type Meta = ort.InferenceSession.ValueMetadata;

function tensorMeta(m: Meta): ort.InferenceSession.TensorValueMetadata {
  if (!m.isTensor) throw new Error(`${m.name}: not a tensor`);
  return m;
}

function intType(m: Meta): 'int32' | 'int64' {
  const t = tensorMeta(m).type;
  if (t !== 'int32' && t !== 'int64') throw new Error(`${m.name}: expected int32 or int64, the model says ${t}`);
  return t;
}

function presentName(past: string): string | undefined {
  const hf = /^past_key_values\.(\d+)\.(key|value)$/.exec(past);
  if (hf) return `present.${hf[1]}.${hf[2]}`;
  const stacked = /^past_(\d+)$/.exec(past);
  if (stacked) return `present_${stacked[1]}`;
  return undefined;
}

/** How to feed a decoder: its id/mask/position types and every past → present pair. */
export function decoderLayout(session: ort.InferenceSession): DecoderLayout {
  const inputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const outputs = new Map(session.outputMetadata.map((m) => [m.name, m]));
  const ids = inputs.get('input_ids');
  if (!ids) throw new Error('the model has no input_ids input');
  const batchDim = tensorMeta(ids).shape[0];
  const staticCache = inputs.has('write_indices');
  const layout: DecoderLayout = {
    idsType: intType(ids),
    logits: outputs.has('logits') ? 'logits' : session.outputNames[0]!,
    cache: [],
  };
  for (const m of session.inputMetadata) {
    if (m.name === 'input_ids' || m.name === 'write_indices') continue;
    if (m.name === 'attention_mask') layout.maskType = intType(m);
    else if (m.name === 'position_ids') layout.positionType = intType(m);
    else {
      const present = presentName(m.name);
      if (!present || !outputs.has(present))
        throw new Error(`input ${m.name} is neither a known decoder input nor a past with a present output`);
      const meta = tensorMeta(m);
      if (meta.type !== 'float32' && meta.type !== 'float16')
        throw new Error(`${m.name}: cache type ${meta.type} is not float32 or float16`);
      const initialShape = meta.shape.map((d) => {
        if (typeof d === 'number') return d;
        if (d === batchDim) return 1;
        if (staticCache) throw new Error(`${m.name}: a static cache needs a fixed capacity, got dimension ${d}`);
        return 0;
      });
      layout.cache.push({ past: m.name, present, type: meta.type, initialShape });
    }
  }
  if (!layout.cache.length) throw new Error('the model has no past inputs (no KV cache)');
  if (staticCache) {
    const shape = layout.cache[0]!.initialShape;
    layout.staticCapacity = shape[shape.length - 2];
  }
  return layout;
}

function intTensor(type: 'int32' | 'int64', values: readonly number[], dims: number[]): ort.Tensor {
  return type === 'int64'
    ? new ort.Tensor(
        'int64',
        BigInt64Array.from(values, (v) => BigInt(v)),
        dims,
      )
    : new ort.Tensor('int32', Int32Array.from(values), dims);
}

function emptyCache(slot: CacheSlot): ort.Tensor {
  const count = slot.initialShape.reduce((a, b) => a * b, 1);
  const data = slot.type === 'float16' ? new Uint16Array(count) : new Float32Array(count);
  return new ort.Tensor(slot.type, data, slot.initialShape);
}

/** Feeds for `tokens` new ids after `past` cached ones. */
function feeds(
  layout: DecoderLayout,
  tokens: readonly number[],
  past: number,
  cache: Record<string, ort.Tensor>,
): Record<string, ort.Tensor> {
  const n = tokens.length;
  if (layout.staticCapacity !== undefined && past + n > layout.staticCapacity)
    throw new Error(`${past + n} tokens do not fit the static cache of ${layout.staticCapacity}`);
  const f: Record<string, ort.Tensor> = { input_ids: intTensor(layout.idsType, tokens, [1, n]) };
  if (layout.maskType) f.attention_mask = intTensor(layout.maskType, new Array(past + n).fill(1), [1, past + n]);
  if (layout.positionType)
    f.position_ids = intTensor(
      layout.positionType,
      tokens.map((_, i) => past + i),
      [1, n],
    );
  if (layout.staticCapacity !== undefined) f.write_indices = intTensor('int64', [past], [1]);
  return { ...f, ...cache };
}

/** The last row of logits [1, seq, vocab] as float32 (float16 decoded). */
export function lastRow(logits: ort.Tensor): Float32Array {
  const vocab = logits.dims[logits.dims.length - 1]!;
  const start = logits.data.length - vocab;
  if (logits.type === 'float32') return (logits.data as Float32Array).slice(start);
  if (logits.type === 'float16') {
    const half = logits.data as Uint16Array;
    return Float32Array.from({ length: vocab }, (_, i) => halfToNumber(half[start + i]!));
  }
  throw new Error(`logits of type ${logits.type}`);
}

/** Index of the largest value; the lowest index wins a tie. */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

export async function openDecoder(model: string, opts: { threads?: number } = {}): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, {
    intraOpNumThreads: opts.threads ?? 1,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
  });
}

/** One forward pass over all of `ids` with an empty cache: the logits row after the last id. */
export async function forwardLogits(session: ort.InferenceSession, ids: readonly number[]): Promise<Float32Array> {
  const layout = decoderLayout(session);
  const cache = Object.fromEntries(layout.cache.map((s) => [s.past, emptyCache(s)]));
  const out = await session.run(feeds(layout, ids, 0, cache));
  return lastRow(out[layout.logits]!);
}

/** A present output, checked to hold `total` tokens (or the static capacity) before it is fed back. */
function checkedPresent(
  layout: DecoderLayout,
  slot: CacheSlot,
  out: ort.InferenceSession.ReturnType,
  total: number,
): ort.Tensor {
  const t = out[slot.present]!;
  const want = slot.initialShape.map((d, i) =>
    layout.staticCapacity === undefined && d === 0 && i === slot.initialShape.indexOf(0) ? total : d,
  );
  if (t.dims.join() !== want.join())
    throw new Error(`${slot.present} has shape [${t.dims}] after ${total} tokens, expected [${want}]`);
  return t;
}

/** Greedy decoding of one prompt; see the top of this file. */
export async function ortGenerate(
  session: ort.InferenceSession,
  prompt: readonly number[],
  opts: GenerateOptions,
): Promise<GenerateResult> {
  if (!prompt.length) throw new Error('empty prompt');
  const layout = decoderLayout(session);
  const stop = new Set(opts.stopIds ?? []);
  const result: GenerateResult = { ids: [], prefillMs: 0, stepMs: [], ...(opts.keepLogits ? { logits: [] } : {}) };
  let cache: Record<string, ort.Tensor> = Object.fromEntries(layout.cache.map((s) => [s.past, emptyCache(s)]));
  let past = 0;
  let tokens: readonly number[] = prompt;
  while (result.ids.length < opts.maxNewTokens) {
    const f = feeds(layout, tokens, past, cache);
    const t0 = performance.now();
    const out = await session.run(f);
    const ms = performance.now() - t0;
    if (past === 0) result.prefillMs = ms;
    else result.stepMs.push(ms);
    const row = lastRow(out[layout.logits]!);
    const next = argmax(row);
    result.ids.push(next);
    result.logits?.push(row);
    cache = Object.fromEntries(layout.cache.map((s) => [s.past, checkedPresent(layout, s, out, past + tokens.length)]));
    past += tokens.length;
    tokens = [next];
    if (stop.has(next)) break;
  }
  return result;
}
