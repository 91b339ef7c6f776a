import type { IRGraph } from '../../src/ir/graph.js';
import { dimEq, product, sub, type Dim } from '../../src/ir/sym.js';
import type { Pass, PassContext } from '../pass.js';
import { bytesFor } from './tensor.js';

declare module '../pass.js' {
  interface PassResults {
    /** detect-kv: graph input/output pairs that look like a KV cache. */
    kv?: KvCandidate[];
  }
}

/** A graph input/output pair that looks like a KV cache (or other carried state). */
export interface KvCandidate {
  input: string;
  output: string;
  /** How the pair was found: matching names, or an input concatenated into an output. */
  evidence: 'name' | 'concat' | 'name+concat';
  dtype: string | null;
  /** The axis that grows from input to output (-1: same shape, a fixed-size cache). */
  axis: number;
  /** Output dim minus input dim on that axis, e.g. `seq`. */
  growth: Dim | null;
  /** Size of the output (the cache after this step) and of the input, in bytes. */
  bytes: Dim | null;
  inputBytes: Dim | null;
}

const STATE_WORD = /(^|[._/:-])(past|present|cache|kv|key_values|pkv)([._/:-]|\d|$)|_cache|cache_|^past|^present/i;
/** Name tokens that mark direction or role only; the rest of the name identifies the slot. */
const NOISE = new Set([
  'past',
  'present',
  'cache',
  'in',
  'input',
  'out',
  'output',
  'new',
  'updated',
  'cur',
  'current',
  'prev',
  'next',
  'key_values',
  'pkv',
  'kv',
]);

/** `past_key_values.3.key` → `3.key`; `present.3.key` → `3.key`; `key_cache.1` → `key.1`. */
export function stateSlotKey(name: string): string {
  const tokens = name
    .replace(/key_values/gi, '.pkv.')
    .split(/[._/:\s-]+|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])/)
    .map((t) => t.toLowerCase())
    .filter((t) => t && !NOISE.has(t));
  return tokens.join('.');
}

/** The one axis where two same-rank shapes differ, -1 when equal, undefined when not a family. */
function growingAxis(a: Dim[], b: Dim[]): number | undefined {
  if (a.length !== b.length) return undefined;
  const diff = a.map((d, i) => !dimEq(d, b[i]!));
  const n = diff.filter(Boolean).length;
  if (n === 0) return -1;
  if (n > 1) return undefined;
  return diff.indexOf(true);
}

/** Graph outputs made by a Concat (cat([past, new])), by the Concat's first operand. */
function concatSources(graph: IRGraph, outputs: string[]): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const o of outputs) {
    const p = graph.producer(o);
    if (!p || graph.op(p.op).opType !== 'Concat') continue;
    const first = graph.opInputs(p.op)[0];
    if (first !== undefined) by.set(first, [...(by.get(first) ?? []), o]);
  }
  return by;
}

export function detectKvCache(graph: IRGraph): KvCandidate[] {
  const out: KvCandidate[] = [];
  const outputs = graph.outputs.filter((o) => graph.hasValue(o));
  const byKey = new Map<string, string[]>();
  for (const o of outputs) {
    if (!STATE_WORD.test(o)) continue;
    const k = stateSlotKey(o);
    byKey.set(k, [...(byKey.get(k) ?? []), o]);
  }
  const taken = new Set<string>();
  const concatBy = concatSources(graph, outputs);
  for (const input of graph.inputs) {
    if (!graph.hasValue(input)) continue;
    const iv = graph.value(input);
    const named = STATE_WORD.test(input) ? (byKey.get(stateSlotKey(input)) ?? []).filter((o) => o !== input) : [];
    const concat = concatBy.get(input) ?? [];
    const candidates = [...new Set([...named, ...concat])].filter((o) => !taken.has(o));
    for (const o of candidates) {
      const ov = graph.value(o);
      if (iv.dtype && ov.dtype && iv.dtype !== ov.dtype) continue;
      let axis = -1;
      let growth: Dim | null = null;
      if (iv.shape && ov.shape) {
        const ax = growingAxis(iv.shape, ov.shape);
        if (ax === undefined) continue;
        axis = ax;
        if (ax >= 0) {
          growth = sub(ov.shape[ax]!, iv.shape[ax]!);
          if (typeof growth === 'number' && growth < 0) continue;
        }
      }
      const byName = named.includes(o);
      const byConcat = concat.includes(o);
      // A fixed-size pair counts only when its names say it is a cache.
      if (axis === -1 && !byName) continue;
      taken.add(o);
      const size = (shape: Dim[] | null): Dim | null => (shape && ov.dtype ? bytesFor(ov.dtype, product(shape)) : null);
      out.push({
        input,
        output: o,
        evidence: byName && byConcat ? 'name+concat' : byName ? 'name' : 'concat',
        dtype: ov.dtype,
        axis,
        growth,
        bytes: size(ov.shape),
        inputBytes: size(iv.shape),
      });
      break;
    }
  }
  return out;
}

export const kvPass: Pass = {
  name: 'detect-kv',
  summary: 'find graph input/output pairs that look like a KV cache',
  kind: 'analysis',
  provides: 'kv',
  options: {},
  run(graph: IRGraph, ctx: PassContext) {
    const res = detectKvCache(graph);
    ctx.results.kv = res;
    return { summary: `${res.length} KV-cache candidates` };
  },
};
