// Issue 12: MoE layers found in real exports — router, experts, dispatch and combine styles,
// the com.microsoft MoE op with stacked weights and a StableHLO sort-based top-k — and what
// `fleetc inspect` says of them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectMoe, type MoeLayer } from '../../passes/analysis/moe.js';
import { inspect } from '../../src/api/inspect.js';
import { dimToString } from '../../src/ir/sym.js';
import { cli } from '../cli/helpers.js';
import { contribModel, fixture, inferred, MOE_SORT, sortProgram } from './helpers.js';

/** The expert index each branch's parameters name (experts.<i>. in torch exports). */
function namedIndex(graph: Awaited<ReturnType<typeof inferred>>, l: MoeLayer, e: number): number | undefined {
  const ex = l.experts[e]!;
  for (const op of ex.ops) {
    const m = /experts\.(\d+)\//.exec(graph.op(op).name);
    if (m) return Number(m[1]);
  }
  return undefined;
}

describe('MoE detection on torch exports', () => {
  it('moe_topk: softmax router, top-2, renormalised, NonZero/index_select dispatch, index_add combine', async () => {
    for (const fold of [false, true]) {
      const g = await inferred(fixture('moe_topk'), fold);
      const [l, ...rest] = detectMoe(g);
      expect(rest).toEqual([]);
      expect(l).toMatchObject({ layer: 0, kind: 'sparse', numExperts: 6, k: 2, input: 'hidden_states' });
      expect(l!.router).toMatchObject({
        scoring: 'softmax',
        selectKind: 'TopK',
        renormalised: true,
        scoringAfterSelect: false,
      });
      expect(l!.dispatch).toEqual(['nonzero', 'index_select']);
      expect(l!.combine).toEqual(['index_add']);
      expect(l!.experts.map((e) => e.expert)).toEqual([0, 1, 2, 3, 4, 5]);
      l!.experts.forEach((e, i) => expect(namedIndex(g, l!, i)).toBe(e.expert));
      // Linear(16→32) + SiLU + Linear(32→16): 2·16·32 multiply-adds twice, plus bias and activation.
      for (const e of l!.experts) {
        expect(e.ops.map((o) => g.op(o).opType).sort()).toEqual(['Gemm', 'Gemm', 'Mul', 'Sigmoid']);
        expect(e.flopsPerToken).toBeGreaterThanOrEqual(2 * 2 * 16 * 32);
        expect(e.flopsPerToken).toBeLessThan(1.2 * 2 * 2 * 16 * 32);
        expect(e.weightBytes).toBe(4 * (32 * 16 + 32 + 16 * 32 + 16));
        expect(dimToString(e.tokens!)).toMatch(/NonZero/);
      }
      // Router, dispatch and combine are the layer's own ops; no expert op is among them.
      const body = new Set(l!.experts.flatMap((e) => e.ops));
      expect(l!.regionOps.some((o) => body.has(o))).toBe(false);
      expect(l!.regionOps).toContain(l!.router.gate);
    }
  });

  it('moe_decoder: two Mixtral layers (SwiGLU experts with two entry matrices), one-hot mask indices', async () => {
    const g = await inferred(fixture('moe_decoder'), true);
    const layers = detectMoe(g);
    expect(layers.map((l) => [l.layer, l.name, l.numExperts, l.experts.length, l.k])).toEqual([
      [0, '/layers.0/moe', 8, 8, 2],
      [1, '/layers.1/moe', 8, 8, 2],
    ]);
    for (const l of layers) {
      expect(l.router).toMatchObject({ scoring: 'softmax', renormalised: true });
      expect(dimToString(l.tokens!)).toBe('batch*seq');
      expect(l.notes).toEqual([]);
      l.experts.forEach((e, i) => {
        expect(namedIndex(g, l, i)).toBe(e.expert);
        expect(e.weights).toHaveLength(3); // w1, w3, w2
        expect(e.weightBytes).toBe(3 * 32 * 48 * 4);
      });
    }
  });

  it('moe_dense_gated: every expert on every token, top-k masked softmax gate, stacked and weighted', async () => {
    const g = await inferred(fixture('moe_dense_gated'), true);
    const [l] = detectMoe(g);
    expect(l).toMatchObject({ kind: 'dense', numExperts: 8, k: 2 });
    expect(l!.router).toMatchObject({ scoring: 'softmax', scoringAfterSelect: true, renormalised: false });
    expect(l!.dispatch).toEqual(['dense']);
    expect(l!.combine).toEqual(['stack', 'weighted-sum']);
    expect(l!.output).toBe('output');
    l!.experts.forEach((e, i) => {
      expect(e.input).toBe('hidden_states');
      expect(namedIndex(g, l!, i)).toBe(e.expert);
    });
  });

  it('moe_top4_32: sigmoid router, top-4 over 32 experts, ScatterND combine', async () => {
    const g = await inferred(fixture('moe_top4_32'));
    const [l] = detectMoe(g);
    expect(l).toMatchObject({ kind: 'sparse', numExperts: 32, k: 4 });
    expect(l!.router).toMatchObject({ scoring: 'sigmoid', renormalised: true });
    expect(l!.combine).toEqual(['scatternd']);
    expect(l!.experts).toHaveLength(32);
    l!.experts.forEach((e, i) => expect(namedIndex(g, l!, i)).toBe(e.expert));
  });

  it('finds nothing in models without experts (a TopK that is no router, a dense decoder)', async () => {
    for (const m of ['masked_ops', 'gpt_decoder_kv', 'mlp_mixer'])
      expect(detectMoe(await inferred(fixture(m)))).toEqual([]);
  });
});

describe('MoE detection beyond torch', () => {
  it('com.microsoft MoE: one layer whose experts are slices of the stacked weights', async () => {
    const g = await inferred(contribModel({ experts: 4, hidden: 8, inter: 16, k: 2, normalize: true, fc3: true }));
    const [l] = detectMoe(g);
    expect(l).toMatchObject({ kind: 'contrib', numExperts: 4, k: 2, input: 'hidden_states', output: 'output' });
    expect(l!.router).toMatchObject({ selectKind: 'MoE', renormalised: true, gateWeight: 'router.weight' });
    expect(l!.experts[2]!.weights).toEqual([
      'experts.fc1[2]',
      'experts.fc1_bias[2]',
      'experts.fc2[2]',
      'experts.fc2_bias[2]',
      'experts.fc3[2]',
    ]);
    // fc1, fc3 [16×8], fc2 [8×16], biases [16] and [8], float32
    expect(l!.experts[0]!.weightBytes).toBe(4 * (3 * 16 * 8 + 16 + 8));
    expect(l!.flopsPerToken).toBe(2 * 3 * 16 * 8);
  });

  it('StableHLO: top-k as sort + slice, experts sliced from stacked weights, dense gate', async () => {
    // The committed program is what the generator writes.
    expect(readFileSync(MOE_SORT, 'utf8')).toBe(sortProgram().text);
    for (const fold of [false, true]) {
      const g = await inferred(MOE_SORT, fold);
      const [l, ...rest] = detectMoe(g);
      expect(rest).toEqual([]);
      expect(l).toMatchObject({ kind: 'dense', numExperts: 4, k: 2 });
      expect(l!.router).toMatchObject({ selectKind: 'sort', scoring: 'softmax', renormalised: true });
      expect(l!.experts.map((e) => e.expert)).toEqual([0, 1, 2, 3]);
      // two 8×12 float32 matrices each; the zero splat of the ReLU is no parameter
      for (const e of l!.experts) expect(e.weightBytes).toBe(2 * 8 * 12 * 4);
      if (!fold) expect(l!.experts[3]!.weights).toEqual(['w1[3]', 'w2[3]']);
    }
  });
});

describe('fleetc inspect lists MoE layers', () => {
  it('experts, top-k, expert weight bytes and FLOPs per routed token, as JSON and text', async () => {
    const r = await inspect(fixture('moe_decoder'));
    expect(r.moe.map((m) => [m.layer, m.experts, m.k, m.kind, m.expertWeightBytes])).toEqual([
      [0, 8, 2, 'sparse', 8 * 3 * 32 * 48 * 4],
      [1, 8, 2, 'sparse', 8 * 3 * 32 * 48 * 4],
    ]);
    expect(r.moe[0]!.flopsPerToken).toBeGreaterThanOrEqual(2 * 3 * 32 * 48);
    expect(r.moe[0]!.router).toBe('softmax → TopK 2 → renormalise');
    const text = await cli(['inspect', fixture('moe_top4_32')]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/MoE layer 0 .*32 experts, top-4, sparse \(router sigmoid → TopK 4 → renormalise/);
    expect(text.stdout).toMatch(
      /expert weights 69\.6 kB \(2\.18 kB each\), [\d.]+ k FLOPs per routed token per expert/,
    );
    expect((await inspect(fixture('cnn_small'))).moe).toEqual([]);
  });
});
