// The com.microsoft MoE op split into per-expert units of standard ops runs on fleetrt and gives
// onnxruntime's outputs (its CPU kernel is the reference; FC3, which that kernel lacks, is
// checked against a direct computation). StableHLO's sort-based MoE runs too.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/api/compile.js';
import { run } from '../../src/api/run.js';
import { haveFleetrt } from '../../runtime/fleetrt.js';
import { detectMoe } from '../../passes/analysis/moe.js';
import { splitContribMoe } from '../../passes/analysis/moe-split.js';
import { writeNpy, readNpy } from '../../src/util/npy.js';
import { contribModel, inferred, MOE_SORT, sortProgram, type ContribOptions } from './helpers.js';

const NATIVE = haveFleetrt();
const TOKENS = 7;

function input(hidden: number): Float32Array {
  return Float32Array.from({ length: TOKENS * hidden }, (_, i) => Math.sin(i * 0.7) * 1.5);
}

async function fleetrtOutput(model: string, x: Float32Array, shape: number[], name: string): Promise<Float32Array> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetc-moe-split-'));
  const c = await compile(model, join(dir, 'build'), { report: false });
  const file = join(dir, 'x.npy');
  writeNpy(file, '<f4', shape, x);
  const r = await run(c.planPath, { inputs: { [name]: file }, outputDir: join(dir, 'out') });
  return Float32Array.from(readNpy(r.outputs[0]!.file).data as ArrayLike<number>);
}

/** The fc3 case by hand (ORT's CPU kernel does not implement FC3). */
function reference(
  model: string,
  x: Float32Array,
  o: Required<Pick<ContribOptions, 'experts' | 'hidden' | 'inter' | 'k'>>,
) {
  const m = onnxProto.onnx.ModelProto.decode(readFileSync(model));
  const w = (n: string): Float32Array => {
    const t = m.graph!.initializer!.find((i) => i.name === n)!;
    return new Float32Array(new Uint8Array(t.rawData!).slice().buffer);
  };
  const [router, fc1, fc2, fc3, b1, b2] = [
    'router.weight',
    'experts.fc1',
    'experts.fc2',
    'experts.fc3',
    'experts.fc1_bias',
    'experts.fc2_bias',
  ].map(w);
  const { experts: E, hidden: H, inter: I, k } = o;
  const y = new Float64Array(TOKENS * H);
  for (let t = 0; t < TOKENS; t++) {
    const logits = Array.from({ length: E }, (_, e) => {
      let s = 0;
      for (let h = 0; h < H; h++) s += x[t * H + h]! * router![h * E + e]!;
      return s;
    });
    const mx = Math.max(...logits);
    const p = logits.map((l) => Math.exp(l - mx));
    const z = p.reduce((a, b) => a + b, 0);
    const top = p
      .map((v, e) => [v / z, e] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, k);
    const tz = top.reduce((a, [v]) => a + v, 0);
    for (const [v, e] of top) {
      const h = Array.from({ length: I }, (_, i) => {
        let a = b1![e * I + i]!;
        let c = 0;
        for (let j = 0; j < H; j++) {
          a += x[t * H + j]! * fc1![(e * I + i) * H + j]!;
          c += x[t * H + j]! * fc3![(e * I + i) * H + j]!;
        }
        return (a / (1 + Math.exp(-a))) * c;
      });
      for (let j = 0; j < H; j++) {
        let s = b2![e * H + j]!;
        for (let i = 0; i < I; i++) s += h[i]! * fc2![(e * H + j) * I + i]!;
        y[t * H + j]! += (v / tz) * s;
      }
    }
  }
  return y;
}

function close(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-5): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++)
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
  expect(worst).toBeLessThan(tol);
}

describe('com.microsoft MoE split into per-expert units', () => {
  it('rewrites the op into one detected sparse layer with per-expert weights', async () => {
    const g = await inferred(contribModel({ experts: 5, k: 2 }));
    expect(splitContribMoe(g)).toBe(1);
    const { resolvePipeline, runPipeline } = await import('../../passes/driver.js');
    const { newPassContext } = await import('../../passes/pass.js');
    runPipeline(g, resolvePipeline('infer-shapes,dce'), newPassContext());
    const [l] = detectMoe(g);
    expect(l).toMatchObject({ kind: 'sparse', numExperts: 5, k: 2 });
    expect(l!.experts.map((e) => e.expert)).toEqual([0, 1, 2, 3, 4]);
    expect(l!.experts[3]!.weights).toEqual([
      'experts.fc1.3',
      'experts.fc1_bias.3',
      'experts.fc2.3',
      'experts.fc2_bias.3',
    ]);
    expect(g.ops().some((o) => g.op(o).opType === 'MoE')).toBe(false);
  });

  it('refuses what it cannot split with one line naming the op', async () => {
    const g = await inferred(contribModel({ activation: 'swiglu' }));
    expect(() => splitContribMoe(g)).toThrow(/com.microsoft MoE '\/MoE': activation_type 'swiglu' is not supported/);
  });

  describe.skipIf(!NATIVE)('on fleetrt', () => {
    const cases: ContribOptions[] = [
      { activation: 'relu', normalize: true },
      { activation: 'gelu', normalize: false, k: 1 },
      { activation: 'silu', normalize: true, experts: 6, k: 3 },
      { activation: 'identity', normalize: true, bias: false },
    ];
    for (const c of cases)
      it(`equals onnxruntime: ${JSON.stringify(c)}`, async () => {
        const model = contribModel(c);
        const hidden = 8;
        const x = input(hidden);
        const s = await ort.InferenceSession.create(model);
        const want = (await s.run({ hidden_states: new ort.Tensor('float32', x, [TOKENS, hidden]) })).output!
          .data as Float32Array;
        close(await fleetrtOutput(model, x, [TOKENS, hidden], 'hidden_states'), want);
      });

    it('with fc3 (Mixtral-style gated experts) equals a direct computation', async () => {
      const o = { experts: 4, hidden: 8, inter: 16, k: 2 };
      const model = contribModel({ ...o, activation: 'silu', fc3: true, normalize: true });
      const x = input(8);
      close(await fleetrtOutput(model, x, [TOKENS, 8], 'hidden_states'), reference(model, x, o));
    });

    it('the StableHLO sort-based MoE equals its direct computation', async () => {
      const p = sortProgram();
      close(await fleetrtOutput(MOE_SORT, p.x, [6, 8], 'x'), p.expected);
    });
  });
});
