/**
 * `kv-state`: a decoder's KV cache becomes engine-owned state (docs/state-ops.md). Each past/present
 * pair is a state object (a value of role `state`); the attention that reads it becomes
 * fleetc.PagedAttention, which appends the new tokens' K/V in place and reads the pages where they
 * lie. A layer whose attention does not match (or whose mask is not causal) keeps its ops and runs
 * from the same pages through KvGather/KvAppend, one sequence per pass; the pass says which and
 * how many bytes that copies per step. The past inputs and present outputs leave the graph; the
 * token, position and mask inputs and the logits stay for the engine to feed and read.
 */
import { FleetcError } from '../../src/diagnostics/index.js';
import { byteSize } from '../../src/ir/dtype.js';
import type { IRGraph } from '../../src/ir/graph.js';
import { dimEq, symbolsOf, sym, type Dim } from '../../src/ir/sym.js';
import { KV_CONTEXT } from '../analysis/cost.js';
import { detectKvCache, type KvCandidate } from '../analysis/kv.js';
import type { Pass, PassContext } from '../pass.js';
import { deadCodeElimination } from '../simplify/dce.js';
import { matchContribAttention, matchPlain, type AttentionMatch, type MatchOutcome } from './match.js';
import {
  matchGroupQueryAttention,
  matchMultiHeadAttention,
  matchOnnxAttention,
  matchStaticAttention,
} from './match-ops.js';
import { isCausal, probeValues } from './probe.js';
import { findRoles, positionLimit, selectLogitRows, type GenerationRoles } from './roles.js';
import { replaceDerivedPositions, staticPairs } from './static.js';

declare module '../pass.js' {
  interface PassResults {
    /** kv-state: the state objects a generation build keeps, and the graph's generation roles. */
    generation?: KvStateResult;
  }
}

export const KV_STATE = 'kv-state';
/** The symbol a state value's token axis is sized by (the pool's capacity in tokens). */
export const STATE_TOKENS = 'kv_tokens';

export interface StateObject {
  id: number;
  kind: 'kv-cache';
  mode: 'paged' | 'gather';
  /** The value of role `state` standing for the cache in the IR. */
  value: string;
  input: string;
  output: string;
  /** Stacked caches ([2, …]): which half. */
  part?: 'key' | 'value';
  layer: number;
  /** The ops that read or write it (placed with it). */
  ops: string[];
  dtype: string;
  outer: number;
  inner: number;
  bytesPerToken: number;
  /** gather: why the attention did not match. */
  reason?: string;
}

export interface KvStateResult {
  states: StateObject[];
  roles: GenerationRoles;
  logitsIndex?: string;
  /** One pass for all sequences of a step, or one per sequence (and why). */
  batching: 'flatten' | 'sequence';
  batchingReason?: string;
  vocab: number;
  /** The most positions the model takes (a position table's rows), when something bounds them. */
  maxPositions?: number;
  /** A static cache's fixed capacity in tokens (it bounds maxPositions too). */
  staticCapacity?: number;
}

const num = (d: Dim | undefined): number | undefined => (typeof d === 'number' ? d : undefined);

/** [outer, inner] of a cache tensor around its growth axis, batch taken as 1. */
function geometry(graph: IRGraph, pair: KvCandidate, batch: Set<string>): { outer: number; inner: number } | undefined {
  const s = graph.value(pair.input).shape;
  if (!s || pair.axis < 0) return undefined;
  const size = (d: Dim): number | undefined =>
    typeof d === 'number' ? d : [...symbolsOf(d)].every((x) => batch.has(x)) && symbolsOf(d).size === 1 ? 1 : undefined;
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < s.length; i++) {
    if (i === pair.axis) continue;
    const v = size(s[i]!);
    if (v === undefined) return undefined;
    if (i < pair.axis) outer *= v;
    else inner *= v;
  }
  return { outer, inner };
}

/** Readers of the cache other than its own Concat (or scatter) and Shape ops (which the rewrite handles for a growing cache). */
function strayReaders(graph: IRGraph, pair: KvCandidate, fixedSize: boolean): string[] {
  const p = graph.producer(pair.output);
  return graph
    .consumers(pair.input)
    .map((u) => u.op)
    .filter((op) => op !== p?.op && (fixedSize || graph.op(op).opType !== 'Shape'));
}

/** `paged: false` keeps every layer's attention as it is, fed from gathered pages (for comparisons). */
export function makeState(graph: IRGraph, ctx: PassContext, paged = true): KvStateResult {
  const file = graph.meta.file;
  const found = detectKvCache(graph).filter((c) => c.dtype);
  const statics = staticPairs(
    graph,
    found.filter((c) => c.axis < 0),
  );
  if (typeof statics === 'string') throw new FleetcError('E0601', `${statics}; it cannot generate`, { file });
  const pairs = [...found.filter((c) => c.axis >= 0), ...statics.keys()];
  const scatter = graph.ops().find((op) => graph.op(op).opType === 'TensorScatter');
  if (pairs.length === 0 && scatter !== undefined)
    throw new FleetcError(
      'E0601',
      `op '${scatter}' (TensorScatter) writes a fixed-size tensor that is not a past input/present output cache pair; it cannot generate`,
      { file },
    );
  if (pairs.length === 0)
    throw new FleetcError(
      'E0601',
      'the model has no KV cache (no past input grown into a present output); it cannot generate',
      { file },
    );
  const roles = findRoles(graph, new Set(pairs.map((p) => p.input)), new Set(pairs.map((p) => p.output)));
  if (typeof roles === 'string')
    throw new FleetcError('E0601', `the model is not a decoder the engine can drive: ${roles}`, { file });
  const batch = new Set<string>();
  const tokShape = graph.value(roles.tokens).shape;
  if (tokShape?.[0] !== undefined && typeof tokShape[0] !== 'number') symbolsOf(tokShape[0], batch);

  // Matches: contrib Attention ops first, then plain-op attention for the other pairs.
  const matches: AttentionMatch[] = [];
  const reasons = new Map<KvCandidate, string>();
  const byInput = new Map(pairs.map((p) => [p.input, p]));
  const byStaticOutput = new Map([...statics.keys()].map((p) => [p.output, p]));
  const staticInfo = [...statics.values()][0];
  const taken = new Set<KvCandidate>();
  // Attention ops that take the cache as past/present.
  const opMatchers: Record<string, (op: string) => MatchOutcome | undefined> = {
    'com.microsoft:Attention': (op) => {
      const pair = byInput.get(graph.opInputs(op)[4] ?? '');
      return pair ? matchContribAttention(graph, op, pair) : undefined;
    },
    'com.microsoft:MultiHeadAttention': (op) => matchMultiHeadAttention(graph, op, byInput),
    'com.microsoft:GroupQueryAttention': (op) => matchGroupQueryAttention(graph, op, byInput),
    ':Attention': (op) =>
      matchStaticAttention(graph, op, byStaticOutput, statics) ?? matchOnnxAttention(graph, op, byInput),
  };
  const candidates: AttentionMatch[] = [];
  for (const op of graph.ops()) {
    const o = graph.op(op);
    const matcher = opMatchers[`${o.domain}:${o.opType}`];
    const m = matcher?.(op);
    if (!m) continue;
    const mine = graph.opInputs(op).flatMap((v) => {
      const p = v ? (byInput.get(v) ?? byStaticOutput.get(v)) : undefined;
      return p ? [p] : [];
    });
    for (const p of mine) taken.add(p);
    if ('match' in m) candidates.push(m.match);
    else for (const p of mine) reasons.set(p, m.reason);
  }
  const plain = matchPlain(
    graph,
    pairs.filter((p) => !taken.has(p) && !statics.has(p)),
  );
  for (const p of statics.keys()) if (!taken.has(p)) reasons.set(p, 'no Attention op reads it with nonpad_kv_seqlen');
  for (const [p, r] of plain.unmatched) if (!taken.has(p)) reasons.set(p, r);
  candidates.push(...plain.matches);
  // Every match's masks, checked on the probe.
  const wanted = candidates.flatMap((m) =>
    m.masks.flatMap((s) => (s.kind === 'where' ? [s.cond, s.fill] : s.kind === 'lengths' ? [s.lengths] : [s.mask])),
  );
  const pastSymbols = new Set<string>();
  for (const p of pairs) {
    const d = graph.value(p.input).shape?.[p.axis];
    if (d !== undefined && typeof d !== 'number') symbolsOf(d, pastSymbols);
  }
  const probeRoles = { ...roles, pastSymbols, ...(staticInfo ? { pastLengths: staticInfo.writeIndices } : {}) };
  const probed = wanted.length ? probeValues(graph, probeRoles, wanted) : new Map();
  for (const m of paged ? candidates : []) {
    const check =
      m.layout === 'packed'
        ? { ok: true }
        : probed
          ? isCausal(m.masks, probed, m.causal, m.capacity)
          : { ok: false, why: 'the masks could not be evaluated' };
    if (!check.ok) for (const p of m.pairs) reasons.set(p, check.why!);
    else matches.push(m);
  }
  // A pair read by anything but its attention keeps the gathered path.
  for (let i = matches.length - 1; i >= 0; i--) {
    const stray = matches[i]!.pairs.flatMap((p) => strayReaders(graph, p, statics.has(p)));
    if (stray.length) {
      for (const p of matches[i]!.pairs) reasons.set(p, `the cache is also read by '${stray[0]}'`);
      matches.splice(i, 1);
    }
  }

  const states: StateObject[] = [];
  const newState = (
    pair: KvCandidate,
    mode: StateObject['mode'],
    layer: number,
    part?: 'key' | 'value',
    reason?: string,
  ): StateObject => {
    const g = geometry(graph, pair, batch);
    if (!g)
      throw new FleetcError(
        'E0601',
        `the KV cache '${pair.input}' has a shape the engine cannot page (${JSON.stringify(graph.value(pair.input).shape)}): every dim but batch and tokens must be static`,
        { file },
      );
    const outer = part ? g.outer / 2 : g.outer;
    const id = states.length;
    const value = graph.freshValueName(`fleetc.state.${id}`);
    graph.addValue({
      name: value,
      dtype: graph.value(pair.input).dtype,
      shape: [sym(STATE_TOKENS), outer, g.inner],
      role: 'state',
    });
    const s: StateObject = {
      id,
      kind: 'kv-cache',
      mode,
      value,
      input: pair.input,
      output: pair.output,
      ...(part ? { part } : {}),
      layer,
      ops: [],
      dtype: pair.dtype!,
      outer,
      inner: g.inner,
      bytesPerToken: byteSize(graph.value(pair.input).dtype!, outer * g.inner),
      ...(reason ? { reason } : {}),
    };
    states.push(s);
    return s;
  };

  let layer = 0;
  let positions = roles.positions;
  for (const m of matches.sort((a, b) => a.layer.localeCompare(b.layer, 'en', { numeric: true }))) {
    const [k, v] =
      m.layout === 'packed'
        ? [newState(m.pairs[0]!, 'paged', layer, 'key'), newState(m.pairs[0]!, 'paged', layer, 'value')]
        : [newState(m.pairs[0]!, 'paged', layer), newState(m.pairs[1]!, 'paged', layer)];
    for (const op of m.remove) if (graph.hasOp(op)) graph.removeOp(op);
    let inputs: string[];
    const loc = { file };
    if (m.layout === 'packed') {
      const proj = m.projection!;
      const inShape = graph.value(m.query).shape;
      const wShape = graph.value(proj.weight).shape;
      const qkvShape = inShape && wShape ? [...inShape.slice(0, -1), wShape[wShape.length - 1]!] : null;
      const mm = graph.freshValueName(`${m.layer}.qkv`);
      graph.addValue({ name: mm, dtype: graph.value(m.query).dtype, shape: qkvShape, role: 'intermediate' });
      graph.addOp({ opType: 'MatMul', name: `${m.layer}.qkv_proj`, opset: 13, loc }, [m.query, proj.weight], [mm]);
      let qkv = mm;
      if (proj.bias) {
        qkv = graph.freshValueName(`${m.layer}.qkv_bias`);
        graph.addValue({ name: qkv, dtype: graph.value(m.query).dtype, shape: qkvShape, role: 'intermediate' });
        graph.addOp({ opType: 'Add', name: `${m.layer}.qkv_bias`, opset: 13, loc }, [mm, proj.bias], [qkv]);
      }
      inputs = [qkv, '', '', k.value, v.value];
    } else {
      let [q, key, value] = [m.query, m.key!, m.value!];
      if (m.qkvBias) [q, key, value] = addQkvBias(graph, m, [q, key, value]) as [string, string, string];
      if (m.rotary) {
        positions ??= positionsInput(graph, roles);
        q = rotate(graph, m, q, m.heads, positions);
        key = rotate(graph, m, key, m.kvHeads, positions);
      }
      inputs = [q, key, value, k.value, v.value];
    }
    const op = graph.addOp(
      {
        opType: 'PagedAttention',
        domain: 'fleetc',
        opset: 1,
        name: `${m.layer}.paged_attention`,
        loc,
        attrs: {
          k_state: { type: 'int', value: k.id },
          v_state: { type: 'int', value: v.id },
          num_heads: { type: 'int', value: m.heads },
          kv_num_heads: { type: 'int', value: m.kvHeads },
          head_size: { type: 'int', value: m.headSize },
          scale: { type: 'float', value: m.scale },
          layout: { type: 'string', value: m.layout },
        },
      },
      inputs,
      [m.output],
    );
    k.ops.push(op);
    v.ops.push(op);
    layer++;
  }

  // A static cache's positions (write index + offset) come from the engine, per token.
  if (staticInfo)
    replaceDerivedPositions(graph, { ...probeRoles, pastLengths: staticInfo.writeIndices }, () => {
      positions ??= positionsInput(graph, roles);
      return positions;
    });

  // Gathered layers: past made by KvGather from the pages, present consumed by KvAppend.
  const inPaged = new Set(states.map((s) => s.input));
  const fleet = ctx.target?.fleet;
  const home = ctx.target ? fleet!.devices[ctx.target.home] : undefined;
  for (const pair of pairs) {
    if (inPaged.has(pair.input)) continue;
    const reason =
      reasons.get(pair) ?? (paged ? 'no attention reads it' : 'paged attention is off (kv-state{paged=false})');
    const s = newState(pair, 'gather', layer++, undefined, reason);
    // a static cache keeps its fixed size: the pages' tokens first, zeros after, the new ones written at the past length
    const capacity = statics.get(pair)?.capacity;
    const shape = graph.value(pair.input).shape!.map((d, i) => (i === pair.axis ? (capacity ?? -1) : (num(d) ?? 1)));
    const attrs = {
      state: { type: 'int' as const, value: s.id },
      shape: { type: 'ints' as const, value: shape },
      axis: { type: 'int' as const, value: pair.axis },
      ...(capacity !== undefined ? { capacity: { type: 'int' as const, value: capacity } } : {}),
    };
    const gather = graph.addOp(
      { opType: 'KvGather', domain: 'fleetc', opset: 1, name: `${pair.input}.gather`, attrs },
      [s.value],
      [pair.input],
    );
    const done = graph.freshValueName(`${pair.output}.appended`);
    graph.addValue({ name: done, dtype: 'int64', shape: [], role: 'intermediate' });
    const append = graph.addOp(
      {
        opType: 'KvAppend',
        domain: 'fleetc',
        opset: 1,
        name: `${pair.output}.append`,
        attrs: { state: attrs.state, axis: attrs.axis, ...(attrs.capacity ? { capacity: attrs.capacity } : {}) },
      },
      [pair.output, s.value],
      [done],
    );
    s.ops.push(gather, append);
    if (home)
      for (const op of [gather, append])
        fleet!.pins.push({
          match: `^${escapeRe(op)}$`,
          device: home.id,
          forbid: false,
          origin: 'kv-state (a gathered cache stays on the home device)',
        });
    ctx.diagnostics.push({
      severity: 'warning',
      message: `KV cache '${pair.input}' runs from gathered pages (${reason}): each step copies ${s.bytesPerToken} bytes per cached token of this layer`,
      loc: { file },
    });
  }

  // The cache leaves the graph's interface; its shape readers ask the engine.
  const byValue = new Map<string, StateObject>();
  for (const s of states) if (!s.part || s.part === 'key') byValue.set(s.input, s).set(s.output, s);
  for (const [name, s] of byValue) {
    if (!graph.hasValue(name)) continue;
    const total = name === s.output ? 1 : 0;
    const pair = pairs.find((p) => p.input === s.input)!;
    for (const use of graph.consumers(name)) {
      if (graph.op(use.op).opType !== 'Shape' || s.mode === 'gather') continue;
      const out = graph.opOutputs(use.op)[0]!;
      graph.removeOp(use.op);
      const shape = graph.value(pair.input).shape!.map((d, i) => (i === pair.axis ? -1 : (num(d) ?? 1)));
      const op = graph.addOp(
        {
          opType: 'KvShape',
          domain: 'fleetc',
          opset: 1,
          name: `${name}.shape`,
          attrs: {
            shape: { type: 'ints', value: shape },
            axis: { type: 'int', value: pair.axis },
            total: { type: 'int', value: total },
          },
        },
        [],
        [out],
      );
      s.ops.push(op);
    }
  }
  const pasts = new Set(pairs.map((p) => p.input));
  const presents = new Set(pairs.map((p) => p.output));
  graph.outputs = graph.outputs.filter((o) => !presents.has(o));
  graph.inputs = graph.inputs.filter((i) => !pasts.has(i));
  for (const p of pasts) if (graph.hasValue(p)) graph.updateValue(p, { role: 'intermediate' });
  deadCodeElimination(graph);
  for (const s of states) s.ops = s.ops.filter((op) => graph.hasOp(op));

  // Inputs nothing reads any more (the mask of a rewritten attention) leave the graph.
  const pastLengths = staticInfo?.writeIndices;
  for (const r of [roles.attentionMask, positions, pastLengths])
    if (r && graph.hasValue(r) && graph.consumers(r).length === 0) {
      graph.inputs = graph.inputs.filter((i) => i !== r);
      graph.removeValue(r);
    }

  // One pass for every sequence, unless something still depends on one sequence's length.
  let batchingReason: string | undefined;
  const perSequence = graph
    .ops()
    .find((op) => ['KvGather', 'KvShape'].includes(graph.op(op).opType) && graph.op(op).domain === 'fleetc');
  if (perSequence) batchingReason = `'${perSequence}' needs one sequence's cache`;
  else if (pastLengths && graph.hasValue(pastLengths))
    batchingReason = `the write indices '${pastLengths}' are still read by '${graph.consumers(pastLengths)[0]!.op}'`;
  else if (roles.attentionMask && graph.hasValue(roles.attentionMask) && graph.consumers(roles.attentionMask).length)
    batchingReason = `the attention mask '${roles.attentionMask}' is still read by '${graph.consumers(roles.attentionMask)[0]!.op}'`;
  else {
    const leftover = graph
      .values()
      .find((v) => (graph.value(v).shape ?? []).some((d) => [...symbolsOf(d)].some((x) => pastSymbols.has(x))));
    if (leftover) batchingReason = `'${leftover}' is sized by the cache length`;
  }
  const kept: GenerationRoles = {
    tokens: roles.tokens,
    logits: roles.logits,
    ...(positions && graph.hasValue(positions) ? { positions } : {}),
    ...(roles.attentionMask && graph.hasValue(roles.attentionMask) ? { attentionMask: roles.attentionMask } : {}),
    ...(pastLengths && graph.hasValue(pastLengths) ? { pastLengths } : {}),
  };
  const logitsIndex = selectLogitRows(graph, roles.logits);
  const tablePositions = positionLimit(graph, kept.positions);
  const maxPositions =
    staticInfo && tablePositions !== undefined
      ? Math.min(staticInfo.capacity, tablePositions)
      : (staticInfo?.capacity ?? tablePositions);
  const fed = new Set([kept.tokens, kept.positions, kept.attentionMask, kept.pastLengths, logitsIndex]);
  const stray = graph.inputs.find((i) => !fed.has(i));
  if (stray)
    throw new FleetcError(
      'E0601',
      `graph input '${stray}' is not one the engine can feed (tokens, positions, attention mask, static-cache write indices)`,
      { file },
    );
  const shape = graph.value(roles.logits).shape!;
  return {
    states,
    roles: kept,
    ...(logitsIndex ? { logitsIndex } : {}),
    batching: batchingReason ? 'sequence' : 'flatten',
    ...(batchingReason ? { batchingReason } : {}),
    vocab: num(shape[shape.length - 1]) ?? 0,
    ...(maxPositions !== undefined ? { maxPositions } : {}),
    ...(staticInfo ? { staticCapacity: staticInfo.capacity } : {}),
  };
}

/** The token positions input the engine feeds: the model's own, or a new one for rotary it did inside an op. */
function positionsInput(graph: IRGraph, roles: GenerationRoles): string {
  if (roles.positions && graph.hasValue(roles.positions)) return roles.positions;
  const name = graph.freshValueName('fleetc.positions');
  graph.addValue({ name, dtype: 'int64', shape: graph.value(roles.tokens).shape, role: 'input' });
  graph.inputs = [...graph.inputs, name];
  return name;
}

/** com.microsoft RotaryEmbedding of a [batch, seq, heads·dim] tensor at the tokens' positions. */
function rotate(graph: IRGraph, m: AttentionMatch, x: string, heads: number, positions: string): string {
  const out = graph.freshValueName(`${x}.rotary`);
  graph.addValue({ name: out, dtype: graph.value(x).dtype, shape: graph.value(x).shape, role: 'intermediate' });
  graph.addOp(
    {
      opType: 'RotaryEmbedding',
      domain: 'com.microsoft',
      opset: 1,
      name: `${m.layer}.rotary`,
      attrs: {
        num_heads: { type: 'int', value: heads },
        interleaved: { type: 'int', value: m.rotary!.interleaved ? 1 : 0 },
      },
    },
    [x, positions, m.rotary!.cos, m.rotary!.sin],
    [out],
  );
  return out;
}

/** query, key and value plus their thirds of a packed [3·H·D] bias (one Slice and Add each). */
function addQkvBias(graph: IRGraph, m: AttentionMatch, xs: string[]): string[] {
  const width = m.heads * m.headSize;
  const int64 = (base: string, values: number[]): string => {
    const name = graph.freshValueName(base);
    graph.addValue({
      name,
      dtype: 'int64',
      shape: [values.length],
      role: 'weight',
      weight: { kind: 'inline', data: new Uint8Array(BigInt64Array.from(values, BigInt).buffer) },
    });
    return name;
  };
  const axes = int64(`${m.layer}.bias_axes`, [0]);
  return xs.map((x, i) => {
    const part = graph.freshValueName(`${m.qkvBias}.${i}`);
    graph.addValue({ name: part, dtype: graph.value(m.qkvBias!).dtype, shape: [width], role: 'intermediate' });
    graph.addOp(
      { opType: 'Slice', opset: 13, name: `${m.layer}.bias_slice` },
      [m.qkvBias!, int64(`${m.layer}.bias_start`, [i * width]), int64(`${m.layer}.bias_end`, [(i + 1) * width]), axes],
      [part],
    );
    const out = graph.freshValueName(`${x}.biased`);
    graph.addValue({ name: out, dtype: graph.value(x).dtype, shape: graph.value(x).shape, role: 'intermediate' });
    graph.addOp({ opType: 'Add', opset: 13, name: `${m.layer}.bias_add` }, [x, part], [out]);
    return out;
  });
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function stateSummary(r: KvStateResult): string {
  const paged = r.states.filter((s) => s.mode === 'paged').length;
  return `${r.states.length} state objects (${paged} paged, ${r.states.length - paged} gathered), ${r.batching} batching`;
}

export const kvStatePass: Pass = {
  name: KV_STATE,
  summary:
    'turn KV caches into engine-owned paged state (fleetc.PagedAttention; KvGather/KvAppend where attention does not match)',
  kind: 'transform',
  provides: 'generation',
  options: { paged: true },
  run(graph: IRGraph, ctx: PassContext, options) {
    const res = makeState(graph, ctx, options.paged !== false && options.paged !== 0);
    ctx.results.generation = res;
    if (ctx.settings.generate) bindGenerationDims(ctx.dims, graph, res.roles.tokens, ctx.settings.generate);
    return { changed: true, summary: stateSummary(res) };
  },
};

/**
 * Symbol bindings for a generation build, where the user gave none: the token input is one
 * sequence axis of `maxStepTokens` tokens (the engine flattens a step's sequences into it), logits
 * for up to 64 of them, and the KV pool reserved at `maxContext` tokens while partitioning.
 */
function bindGenerationDims(
  dims: Map<string, number>,
  graph: IRGraph,
  tokens: string,
  g: { maxStepTokens?: number; maxContext?: number },
): void {
  const step = g.maxStepTokens ?? 256;
  const [batch, seq] = graph.value(tokens).shape ?? [];
  const defaults: [Dim | undefined, number][] = [
    [batch, 1],
    [seq, step],
    [sym('n_logits'), Math.min(step, 64)],
    [sym(STATE_TOKENS), g.maxContext ?? 2048],
    [sym(KV_CONTEXT), Math.min(g.maxContext ?? 2048, 1024)],
  ];
  for (const [d, v] of defaults) {
    const name = d === undefined ? undefined : [...symbolsOf(d)][0];
    if (name !== undefined && dimEq(d!, sym(name)) && !dims.has(name)) dims.set(name, v);
  }
}
