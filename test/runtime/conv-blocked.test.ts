/**
 * MobileNet-style chains in the blocked NCHW8c layout (the block-layout pass, fleetc.Reorder and
 * FusedConv with layout NCHW8c; native/src/kernels/nn_conv_blocked*): 1×1 expansions and
 * projections with partial groups of output channels (40, 24 and 56 channels against groups of
 * 32) and positions past the last whole 3 (14×13, 7×7, 5×9 planes), depthwise 3×3 with stride 1
 * and 2 on even and odd widths down to 1 column, residuals (one written over in place by two
 * blocks in a row), activations in the loops' stores (Clip, HardSwish) and after them (LeakyRelu,
 * Sigmoid), two images, a blocked value also read as a model output (a Reorder back), and stems
 * (3×3 and 7×7 stride-2 dense convs of 3 plain channels written blocked).
 * Checked against a float64 reference with the best code the CPU has, the AVX2 code and the
 * portable code (the plain conv between reorders).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../fixtures/gen/onnx_builder.mjs';
import { compile } from '../../src/api/compile.js';
import { run } from '../../src/api/run.js';
import { writeNpy } from '../../src/util/npy.js';
import { haveFleetrt } from '../../runtime/fleetrt.js';
import { readNpy } from '../npy.js';
import { SIMD_VARIANTS } from '../helpers/simd-variants.js';
import { type ConvShape, convOut, convReference, values } from '../helpers/conv-reference.js';

type Act = 'clip' | 'hardswish' | 'leaky' | 'sigmoid';

interface Block {
  name: string;
  N?: number;
  C: number;
  H: number;
  W: number;
  /** channels after the 1×1 expansion */
  E: number;
  /** the depthwise conv's stride */
  stride: 1 | 2;
  /** channels after the 1×1 projection */
  M: number;
  act: Act;
  /** the block's input added to the projection (stride 1, M = C) */
  residual?: boolean;
  /** blocks in a row (each after the first reads the one before; its residual dies there) */
  repeat?: number;
  /** the depthwise conv's output also a model output */
  tap?: boolean;
  /** a stem first: a dense k×k conv (pads k/2) of `channels` plain input channels into C */
  stem?: { channels: number; k: number; stride: number };
}

const BLOCKS: Block[] = [
  { name: 'mbv2_residual', C: 16, H: 14, W: 13, E: 40, stride: 1, M: 16, act: 'clip', residual: true },
  { name: 'stride2_odd', C: 8, H: 15, W: 11, E: 56, stride: 2, M: 24, act: 'hardswish', N: 2 },
  { name: 'stride2_even_leaky', C: 24, H: 10, W: 14, E: 48, stride: 2, M: 40, act: 'leaky' },
  { name: 'small_planes_sigmoid', C: 32, H: 7, W: 7, E: 96, stride: 1, M: 32, act: 'sigmoid', residual: true },
  { name: 'narrow', C: 8, H: 9, W: 1, E: 16, stride: 1, M: 8, act: 'clip' },
  { name: 'in_place', C: 24, H: 5, W: 9, E: 64, stride: 1, M: 24, act: 'clip', residual: true, repeat: 2 },
  { name: 'tapped', C: 16, H: 8, W: 12, E: 32, stride: 1, M: 16, act: 'clip', tap: true },
  // stems (written blocked from the plain input): MobileNetV2's 3×3 stride 2 on odd sizes, and a
  // 7×7 stride 2 into 24 channels (a partial group) on two images
  {
    name: 'stem3x3',
    stem: { channels: 3, k: 3, stride: 2 },
    C: 16,
    H: 17,
    W: 19,
    E: 32,
    stride: 1,
    M: 16,
    act: 'clip',
    residual: true,
  },
  {
    name: 'stem7x7',
    stem: { channels: 3, k: 7, stride: 2 },
    N: 2,
    C: 24,
    H: 20,
    W: 23,
    E: 48,
    stride: 2,
    M: 8,
    act: 'leaky',
  },
];

function activate(act: Act, v: number): number {
  switch (act) {
    case 'clip':
      return Math.min(6, Math.max(0, v));
    case 'hardswish':
      return v * Math.min(1, Math.max(0, v / 6 + 0.5));
    case 'leaky':
      return v < 0 ? Math.fround(0.1) * v : v;
    case 'sigmoid':
      return 1 / (1 + Math.exp(-v));
  }
}

const f32 = (a: Float64Array): Float64Array => Float64Array.from(new Float32Array(a));

describe.skipIf(!haveFleetrt())('conv chains in the NCHW8c layout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetc-conv-blocked-'));
  const g = new GraphBuilder('conv_blocked');
  const inputs: Record<string, string> = {};
  const want: Record<string, { data: Float64Array; shape: number[] }> = {};
  let seed = 1;

  /** A conv of x (an ONNX value) into a new value, and its float64 reference from xr. */
  function conv(x: string, xr: Float64Array, c: ConvShape, tag: string): { y: string; yr: Float64Array } {
    const w = f32(values((c.M * c.C * c.k * c.k) / c.group, seed++).map((v) => v * 0.5));
    const b = f32(values(c.M, seed++));
    const y = g.op(
      'Conv',
      [
        x,
        g.initializer(`${tag}_w`, [c.M, c.C / c.group, c.k, c.k], 'float32', Float32Array.from(w)),
        g.initializer(`${tag}_b`, [c.M], 'float32', Float32Array.from(b)),
      ],
      { kernel_shape: [c.k, c.k], strides: [c.stride, c.stride], pads: [c.pad, c.pad, c.pad, c.pad], group: c.group },
    );
    return { y, yr: convReference(xr, w, b, c) };
  }

  /** act(x), into a value named `out` where given (a model output). */
  function activation(x: string, act: Act, out?: string): string {
    const outputs = out ? [out] : 1;
    if (act === 'clip') return g.op('Clip', [x, g.scalar('float32', 0), g.scalar('float32', 6)], {}, outputs);
    if (act === 'hardswish') return g.op('HardSwish', [x], {}, outputs);
    if (act === 'leaky') return g.op('LeakyRelu', [x], { alpha: 0.1 }, outputs);
    return g.op('Sigmoid', [x], {}, outputs);
  }

  for (const blk of BLOCKS) {
    const N = blk.N ?? 1;
    const xin = `x_${blk.name}`;
    const cin = blk.stem?.channels ?? blk.C;
    const xr = f32(values(N * cin * blk.H * blk.W, seed++));
    g.input(xin, 'float32', [N, cin, blk.H, blk.W]);
    inputs[xin] = join(dir, `${xin}.npy`);
    writeNpy(inputs[xin]!, '<f4', [N, cin, blk.H, blk.W], xr);
    let x = xin;
    let xv = xr;
    let shape = [N, blk.C, blk.H, blk.W];
    if (blk.stem) {
      const { k, stride } = blk.stem;
      const c = { N, C: cin, H: blk.H, W: blk.W, M: blk.C, k, stride, pad: Math.floor(k / 2), group: 1 };
      const st = conv(x, xv, c, `${blk.name}_stem`);
      x = activation(st.y, blk.act);
      xv = st.yr.map((v) => activate(blk.act, v));
      const { OH, OW } = convOut(c);
      shape = [N, blk.C, OH, OW];
    }
    for (let r = 0; r < (blk.repeat ?? 1); r++) {
      const tag = `${blk.name}_${r}`;
      const [, , H, W] = shape as [number, number, number, number];
      const base = { N, H, W, k: 1, stride: 1, pad: 0, group: 1 };
      const e = conv(x, xv, { ...base, C: blk.C, M: blk.E }, `${tag}_expand`);
      const ea = activation(e.y, blk.act);
      const dwShape = { N, C: blk.E, M: blk.E, H, W, k: 3, stride: blk.stride, pad: 1, group: blk.E };
      const d = conv(
        ea,
        e.yr.map((v) => activate(blk.act, v)),
        dwShape,
        `${tag}_dw`,
      );
      const { OH, OW } = convOut(dwShape);
      const tap = blk.tap ? `${blk.name}_tap` : undefined;
      const da = activation(d.y, blk.act, tap);
      const dr = d.yr.map((v) => activate(blk.act, v));
      if (tap) {
        g.output(tap, 'float32', [N, blk.E, OH, OW]);
        want[tap] = { data: dr, shape: [N, blk.E, OH, OW] };
      }
      const p = conv(da, dr, { ...base, H: OH, W: OW, C: blk.E, M: blk.M }, `${tag}_project`);
      x = blk.residual ? g.op('Add', [p.y, x], {}) : p.y;
      xv = blk.residual ? p.yr.map((v, i) => v + xv[i]!) : p.yr;
      shape = [N, blk.M, OH, OW];
    }
    g.op('Identity', [x], {}, [blk.name]);
    g.output(blk.name, 'float32', shape);
    want[blk.name] = { data: xv, shape };
  }
  const file = join(dir, 'model.onnx');
  writeFileSync(file, g.encode({ opset: 17 }));

  SIMD_VARIANTS.forEach(([name, env], v) =>
    it(name, { timeout: 120_000 }, async () => {
      const c = await compile(file, join(dir, `build${v}`), { report: false, force: true });
      const plan = JSON.parse(readFileSync(c.planPath, 'utf8')) as {
        pipeline: { passes: { pass: string; summary: string }[] };
      };
      const layout = plan.pipeline.passes.find((p) => p.pass === 'block-layout');
      // every conv of every block blocked: 3 per block (the in_place chain's two blocks) and the stems
      expect(layout?.summary).toMatch(/\b32 convs blocked\b/);
      // two runs: the second reads the filters packed in the first
      const r = await run(c.planPath, { inputs, outputDir: join(dir, `out${v}`), threads: 2, repeat: 2, env });
      for (const [out, ref] of Object.entries(want)) {
        const o = r.outputs.find((x) => x.name === out);
        expect(o, out).toBeDefined();
        const got = readNpy(o!.file);
        expect(got.shape, out).toEqual(ref.shape);
        let worst = 0;
        for (let i = 0; i < ref.data.length; i++) worst = Math.max(worst, Math.abs(got.data[i]! - ref.data[i]!));
        expect(worst, out).toBeLessThan(1e-4);
      }
    }),
  );
});
