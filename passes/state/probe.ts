/**
 * Checks that the masks an attention applies are the causal mask, by evaluating them on a probe:
 * a copy of the graph with concrete shapes (batch 1, 3 new tokens after 2 cached ones), an
 * all-ones attention mask and positions 2, 3, 4, run through shape inference's constant
 * evaluator. The engine's paged attention applies the causal mask itself (it never pads), so a
 * mask that is anything else (a sliding window, a prefix-LM mask, a learned bias) must keep the
 * layer off the paged path.
 */
import { graphFromJSON, graphToJSON } from '../../src/ir/json.js';
import type { IRGraph } from '../../src/ir/graph.js';
import { evaluate, symbolsOf } from '../../src/ir/sym.js';
import { ShapeInference, type Known } from '../shape/index.js';

export const PROBE = { seq: 3, past: 2 };

/** How an attention's scores are masked before the softmax, in order. */
export type MaskStep =
  | { kind: 'add'; mask: string }
  /** A boolean mask: true keeps the position. */
  | { kind: 'keep'; mask: string }
  /** Where(cond, scores, fill) when `keepIfTrue`, Where(cond, fill, scores) otherwise. */
  | { kind: 'where'; cond: string; fill: string; keepIfTrue: boolean }
  /** [batch] key counts (nonpad_kv_seqlen): keys at or past the count are masked. */
  | { kind: 'lengths'; lengths: string };

export interface ProbeRoles {
  tokens: string;
  positions?: string;
  attentionMask?: string;
  /** The past inputs and the symbol of their growing dim. */
  pastSymbols: Set<string>;
  /** [batch] integers: the tokens already cached per row (a static cache's write indices). */
  pastLengths?: string;
}

/** Concrete knowns of the values, evaluated on the probe, or undefined when the probe cannot bind the inputs. */
export function probeValues(
  graph: IRGraph,
  roles: ProbeRoles,
  wanted: string[],
  probe: { past: number } = PROBE,
): Map<string, Known> | undefined {
  const bind = new Map<string, number>();
  const tokens = graph.value(roles.tokens).shape;
  if (!tokens || tokens.length !== 2) return undefined;
  for (const [d, v] of [
    [tokens[0]!, 1],
    [tokens[1]!, PROBE.seq],
  ] as const)
    if (typeof d !== 'number') for (const s of symbolsOf(d)) bind.set(s, v);
  for (const s of roles.pastSymbols) bind.set(s, probe.past);
  const total = probe.past + PROBE.seq;
  if (roles.attentionMask) {
    const m = graph.value(roles.attentionMask).shape;
    const last = m?.[m.length - 1];
    if (last !== undefined && typeof last !== 'number' && evaluate(last, bind) === undefined) {
      const syms = [...symbolsOf(last)].filter((s) => !bind.has(s));
      if (syms.length === 1) bind.set(syms[0]!, total);
    }
  }
  const copy = graphFromJSON(graphToJSON(graph));
  for (const name of copy.inputs) {
    const v = copy.value(name);
    if (!v.shape) return undefined;
    const shape: number[] = [];
    for (const d of v.shape) {
      const x = typeof d === 'number' ? d : evaluate(d, bind);
      if (x === undefined) return undefined;
      shape.push(x);
    }
    copy.updateValue(name, { shape });
  }
  const known = new Map<string, Known>();
  const ints = (dtype: string, shape: number[], data: number[]): Known => ({
    dtype: dtype as Known['dtype'],
    shape,
    data,
  });
  const inputOf = (name: string | undefined): { dtype: string; shape: number[] } | undefined => {
    if (!name || !copy.hasValue(name)) return undefined;
    const v = copy.value(name);
    return { dtype: v.dtype ?? 'int64', shape: v.shape as number[] };
  };
  const mask = inputOf(roles.attentionMask);
  if (mask)
    known.set(
      roles.attentionMask!,
      ints(mask.dtype, mask.shape, new Array(mask.shape.reduce((a, b) => a * b, 1)).fill(1)),
    );
  const pos = inputOf(roles.positions);
  if (pos)
    known.set(
      roles.positions!,
      ints(
        pos.dtype,
        pos.shape,
        Array.from({ length: pos.shape.reduce((a, b) => a * b, 1) }, (_, i) => probe.past + (i % PROBE.seq)),
      ),
    );
  const lengths = inputOf(roles.pastLengths);
  if (lengths)
    known.set(
      roles.pastLengths!,
      ints(lengths.dtype, lengths.shape, new Array(lengths.shape.reduce((a, b) => a * b, 1)).fill(probe.past)),
    );
  const si = new ShapeInference(copy, [], { knownValues: known, limit: 1 << 14, floatLimit: 1 << 14 });
  si.run();
  const kn = si.results.knowns.get(copy);
  const out = new Map<string, Known>();
  for (const w of wanted) {
    const k = kn?.get(w);
    if (k) out.set(w, k);
  }
  return out;
}

/**
 * Whether the mask steps, evaluated on the probe, mask exactly the future positions (`causal`:
 * the op masks them itself, and the steps may only mask nothing more).
 */
export function isCausal(
  steps: MaskStep[],
  known: Map<string, Known>,
  causal = false,
  cols = PROBE.past + PROBE.seq,
): { ok: boolean; why?: string } {
  if (steps.filter((s) => s.kind !== 'lengths').length === 0 && !causal)
    return { ok: false, why: 'no mask is applied to the scores (attention is not causal)' };
  const rows = PROBE.seq;
  const masked: boolean[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => causal && j > PROBE.past + i),
  );
  const at = (k: Known, i: number, j: number): number | undefined => {
    const s = k.shape as number[];
    if (s.length < 2 && k.data.length !== 1) return undefined;
    const r = s.length >= 2 ? s[s.length - 2]! : 1;
    const c = s.length >= 1 ? s[s.length - 1]! : 1;
    if ((r !== 1 && r !== rows) || (c !== 1 && c !== cols)) return undefined;
    // leading dims must not vary (batch 1; heads broadcast): read the first slice, check the rest equal
    const slice = r * c;
    for (let off = slice; off < k.data.length; off += slice)
      for (let e = 0; e < slice; e++) if (k.data[off + e] !== k.data[e]) return undefined;
    const v = k.data[(r === 1 ? 0 : i) * c + (c === 1 ? 0 : j)];
    return typeof v === 'number' ? v : undefined;
  };
  const veryNegative = (v: number): boolean => v <= -1e4;
  for (const step of steps) {
    if (step.kind === 'add') {
      const m = known.get(step.mask);
      if (!m) return { ok: false, why: `the additive mask '${step.mask}' does not depend on positions alone` };
      for (let i = 0; i < rows; i++)
        for (let j = 0; j < cols; j++) {
          const v = at(m, i, j);
          if (v === undefined) return { ok: false, why: `the additive mask '${step.mask}' has an unexpected shape` };
          if (veryNegative(v)) masked[i]![j] = true;
          else if (v !== 0)
            return { ok: false, why: `the additive mask '${step.mask}' adds ${v} (a bias, not a mask)` };
        }
    } else if (step.kind === 'keep') {
      const m = known.get(step.mask);
      if (!m) return { ok: false, why: `the mask '${step.mask}' does not depend on positions alone` };
      for (let i = 0; i < rows; i++)
        for (let j = 0; j < cols; j++) {
          const v = at(m, i, j);
          if (v === undefined) return { ok: false, why: `the mask '${step.mask}' has an unexpected shape` };
          if (!v) masked[i]![j] = true;
        }
    } else if (step.kind === 'lengths') {
      const m = known.get(step.lengths);
      const n = m?.data.length === 1 ? m.data[0] : undefined;
      if (typeof n !== 'number')
        return { ok: false, why: `the key lengths '${step.lengths}' do not depend on the cached tokens alone` };
      for (let i = 0; i < rows; i++) for (let j = Math.max(0, n); j < cols; j++) masked[i]![j] = true;
    } else {
      const c = known.get(step.cond);
      const f = known.get(step.fill);
      if (!c || !f || f.data.length !== 1 || typeof f.data[0] !== 'number' || !veryNegative(f.data[0]))
        return { ok: false, why: `the mask '${step.cond}' does not depend on positions alone` };
      for (let i = 0; i < rows; i++)
        for (let j = 0; j < cols; j++) {
          const v = at(c, i, j);
          if (v === undefined) return { ok: false, why: `the mask '${step.cond}' has an unexpected shape` };
          if (!!v !== step.keepIfTrue) masked[i]![j] = true;
        }
    }
  }
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++)
      if (masked[i]![j] !== j > PROBE.past + i)
        return { ok: false, why: 'the mask is not the causal mask (a sliding window or prefix mask?)' };
  return { ok: true };
}
