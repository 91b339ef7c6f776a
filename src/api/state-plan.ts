/**
 * The plan's state objects and generation section (docs/plan-format.md) from the kv-state pass:
 * each cache's owner is the device that runs the ops reading it, and the pool capacity is what the
 * owners' memory holds after weights and arenas (or `--max-context`, checked against it).
 */
import type { KvStateResult } from '../../passes/state/index.js';
import { FleetcError } from '../diagnostics/index.js';
import type { Device } from '../fleet/types.js';
import { formatBytes } from '../util/units.js';
import type { PlanGeneration, PlanState } from './plan.js';

/** Pool capacity when neither memory nor `--max-context` bounds it lower (tokens). */
export const DEFAULT_CAPACITY_TOKENS = 32768;
/** Share of the memory left after weights and arenas that the pool may take. */
const POOL_SHARE = 0.9;

export interface GenerateOptions {
  /** Tokens the KV pool holds in all (every sequence together); default: what memory allows, at most 32768. */
  maxContext?: number;
  /** Tokens per page (default 16). */
  pageSize?: number;
  /** Tokens one step computes at most (prompt chunks and decodes; default 256). */
  maxStepTokens?: number;
}

export interface StatePlan {
  state: PlanState[];
  generation: PlanGeneration;
  /** Pool bytes per device, to add to its memory figures. */
  poolBytes: Record<string, number>;
}

export function planState(
  res: KvStateResult,
  opts: GenerateOptions,
  placement: Record<string, string>,
  devices: Device[],
  used: Record<string, number>,
  file: string | undefined,
): StatePlan {
  const pageSize = opts.pageSize ?? 16;
  const bytesPerToken: Record<string, number> = {};
  const owner = new Map<number, string>();
  for (const s of res.states) {
    const where = new Set(s.ops.map((op) => placement[op]!));
    if (where.size !== 1)
      throw new Error(
        `state ${s.id} ('${s.input}') is read on ${[...where].join(' and ')}; its ops must share one device`,
      );
    const dev = [...where][0]!;
    owner.set(s.id, dev);
    bytesPerToken[dev] = (bytesPerToken[dev] ?? 0) + s.bytesPerToken;
  }
  // Every sequence's tokens are in every layer: the pool holds as many tokens as its tightest owner allows.
  let byMemory = Infinity;
  let tightest = '';
  for (const [id, bpt] of Object.entries(bytesPerToken)) {
    const dev = devices.find((d) => d.id === id)!;
    const free = Math.max(0, (dev.memory[0]?.capacity ?? Infinity) - (used[id] ?? 0));
    const tokens = Math.floor((free * POOL_SHARE) / bpt);
    if (tokens < byMemory) {
      byMemory = tokens;
      tightest = id;
    }
  }
  const round = (t: number): number => Math.floor(t / pageSize) * pageSize;
  if (opts.maxContext !== undefined && opts.maxContext > byMemory)
    throw new FleetcError(
      'E0302',
      `--max-context ${opts.maxContext} tokens does not fit ${tightest}: its KV cache takes ${formatBytes(bytesPerToken[tightest]!)} per token and ${formatBytes(byMemory * bytesPerToken[tightest]!)} is free after weights and activations`,
      { file },
    );
  const capacityTokens = round(Math.min(opts.maxContext ?? DEFAULT_CAPACITY_TOKENS, byMemory));
  if (capacityTokens < pageSize)
    throw new FleetcError(
      'E0302',
      `no memory is left on ${tightest} for a KV cache of even one page (${pageSize} tokens)`,
      { file },
    );
  const state: PlanState[] = res.states.map((s) => ({
    kind: 'kv-cache',
    input: s.input,
    output: s.output,
    owner: owner.get(s.id)!,
    dtype: s.dtype,
    axis: -1,
    growth: 1,
    bytes: s.bytesPerToken,
    evidence: 'kv-state',
    id: s.id,
    mode: s.mode,
    layer: s.layer,
    ...(s.part ? { part: s.part } : {}),
    outer: s.outer,
    inner: s.inner,
    bytesPerToken: s.bytesPerToken,
    pageSize,
    capacityTokens,
    tier: 'device',
    ops: s.ops,
    ...(s.reason ? { reason: s.reason } : {}),
  }));
  const generation: PlanGeneration = {
    tokens: res.roles.tokens,
    ...(res.roles.positions ? { positions: res.roles.positions } : {}),
    ...(res.roles.attentionMask ? { attentionMask: res.roles.attentionMask } : {}),
    ...(res.roles.pastLengths ? { pastLengths: res.roles.pastLengths } : {}),
    ...(res.logitsIndex ? { logitsIndex: res.logitsIndex } : {}),
    logits: res.roles.logits,
    vocab: res.vocab,
    batching: res.batching,
    ...(res.batchingReason ? { batchingReason: res.batchingReason } : {}),
    pageSize,
    maxStepTokens: opts.maxStepTokens ?? 256,
    capacityTokens,
    ...(res.maxPositions !== undefined ? { maxPositions: res.maxPositions } : {}),
    ...(res.staticCapacity !== undefined ? { staticCapacity: res.staticCapacity } : {}),
    bytesPerToken,
  };
  const poolBytes = Object.fromEntries(Object.entries(bytesPerToken).map(([d, b]) => [d, b * capacityTokens]));
  return { state, generation, poolBytes };
}
