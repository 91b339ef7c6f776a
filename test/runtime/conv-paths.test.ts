/**
 * The Conv paths of real-size CNNs that the fixtures touch lightly: 1×1 convs through the direct
 * kernel with and without stride (the inputs of each block of positions gathered next to each
 * other), 3×3 convs over phase planes and by Winograd's F(2×2, 3×3), convs with few output positions through the packed GEMM, depthwise convs (same-size stride 1 over the flat plane,
 * by rows of four output rows, 3×3 stride 2 from even/odd columns, 5×5 stride 2 over phase
 * planes, planes narrower than a vector, a depth multiplier of 2), with
 * channel counts and spatial sizes that leave partial register blocks everywhere. Checked against
 * a float64 reference computed here, with the best code the CPU has (AVX-512 / AVX2), with
 * FLEETRT_SIMD=avx2 and with FLEETRT_PORTABLE=1.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
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

interface Conv extends ConvShape {
  name: string;
  /** a residual input added before the ReLU (fused into the conv's epilogue) */
  residual?: boolean;
  /** the residual made in the model and read last by the conv, which then writes its output over it */
  inPlace?: boolean;
  /** a 3×3 stride-2 MaxPool (pads 1) after the ReLU, as after ResNet's stem */
  pool?: boolean;
  /** LeakyRelu (alpha 0.1) instead of the ReLU: an epilogue the direct kernels' stores cannot apply */
  leaky?: boolean;
  /** the largest |error| allowed (default 1e-4) */
  tolerance?: number;
}

/** 3×3 stride-2 max pooling with pads 1 of [M, H, W] planes. */
function maxPool3x3s2(
  y: Float64Array,
  M: number,
  H: number,
  W: number,
): { data: Float64Array; OH: number; OW: number } {
  const OH = Math.floor((H + 2 - 3) / 2) + 1;
  const OW = Math.floor((W + 2 - 3) / 2) + 1;
  const out = new Float64Array(M * OH * OW).fill(-Infinity);
  for (let m = 0; m < M; m++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++)
        for (let kh = 0; kh < 3; kh++)
          for (let kw = 0; kw < 3; kw++) {
            const ih = oh * 2 - 1 + kh;
            const iw = ow * 2 - 1 + kw;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const i = (m * OH + oh) * OW + ow;
            out[i] = Math.max(out[i]!, y[(m * H + ih) * W + iw]!);
          }
  return { data: out, OH, OW };
}

const CONVS: Conv[] = [
  { name: 'pointwise', C: 70, H: 13, W: 11, M: 37, k: 1, stride: 1, pad: 0, group: 1 },
  { name: 'pointwise_s2', C: 45, H: 15, W: 13, M: 29, k: 1, stride: 2, pad: 0, group: 1 },
  { name: 'pointwise_grouped', C: 24, H: 9, W: 10, M: 18, k: 1, stride: 1, pad: 0, group: 3 },
  { name: 'conv3x3', C: 19, H: 17, W: 15, M: 21, k: 3, stride: 1, pad: 1, group: 1 },
  { name: 'conv3x3_s2', C: 11, H: 16, W: 19, M: 13, k: 3, stride: 2, pad: 1, group: 1 },
  // 28×28 outputs and more: the AVX-512 direct kernel's 48-position blocks
  { name: 'conv3x3_wide', C: 10, H: 29, W: 31, M: 13, k: 3, stride: 1, pad: 1, group: 1 },
  // the epilogue (bias, residual, ReLU) in the 2-D direct kernel's stores, rows closed up on the
  // way out (AVX-512): a narrow plane (several rows per vector) and a wide one
  { name: 'conv3x3_residual', C: 12, H: 9, W: 6, M: 11, k: 3, stride: 1, pad: 1, group: 1, residual: true },
  { name: 'conv3x3_s2_wide_residual', C: 7, H: 61, W: 59, M: 10, k: 3, stride: 2, pad: 1, group: 1, residual: true },
  { name: 'pointwise_wide', C: 20, H: 30, W: 28, M: 11, k: 1, stride: 1, pad: 0, group: 1 },
  // wide planes whose last 48-position block would be mostly unused: the positions past the last
  // whole one by a 32-position block (AVX-512), with the epilogue in the row stores and after
  { name: 'conv3x3_s2_tail', C: 9, H: 56, W: 60, M: 13, k: 3, stride: 2, pad: 1, group: 1, residual: true },
  { name: 'conv3x3_tail_leaky', C: 10, H: 28, W: 30, M: 11, k: 3, stride: 1, pad: 1, group: 1, leaky: true },
  // split over 2 threads: a stem-like 7×7 stride 2 in bands of uneven height (7 and 8 rows), and
  // weights past half of L2 split by output channels (a partial kernel block in the last chunk)
  { name: 'conv7x7_s2_bands', C: 3, H: 60, W: 58, M: 20, k: 7, stride: 2, pad: 3, group: 1 },
  // a stem: 7×7 stride 2, then 3×3 stride-2 max pooling (rows of even and odd width)
  { name: 'stem_maxpool', C: 3, H: 40, W: 37, M: 9, k: 7, stride: 2, pad: 3, group: 1, pool: true },
  { name: 'conv3x3_channel_split', C: 128, H: 10, W: 11, M: 117, k: 3, stride: 1, pad: 1, group: 1 },
  { name: 'pointwise_channel_split', C: 150, H: 13, W: 12, M: 144, k: 1, stride: 1, pad: 0, group: 1 },
  // a large plane read in place, the filters split between the threads, the residual in the stores
  {
    name: 'pointwise_wide_channel_split',
    C: 40,
    H: 30,
    W: 28,
    M: 144,
    k: 1,
    stride: 1,
    pad: 0,
    group: 1,
    residual: true,
  },
  // 7×7 and 10×10 planes: whole blocks (AVX-512 48 positions, AVX2 24), then the 1 or 4 positions
  // left over by the few-position kernel
  { name: 'pointwise_7x7', C: 150, H: 7, W: 7, M: 45, k: 1, stride: 1, pad: 0, group: 1 },
  // 7×7 with filters past L2 (the direct kernel with AVX-512: the filters split over the threads,
  // the one position left by the few-position kernel), with the residual
  { name: 'pointwise_7x7_large', C: 600, H: 7, W: 7, M: 520, k: 1, stride: 1, pad: 0, group: 1, residual: true },
  { name: 'pointwise_10x10', C: 33, H: 10, W: 10, M: 21, k: 1, stride: 1, pad: 0, group: 1 },
  // 14×14 = 4 blocks of 48 + 4 (AVX-512): the 4 by pairs of whole filter blocks, then one of 8
  { name: 'pointwise_14x14', C: 70, H: 14, W: 14, M: 40, k: 1, stride: 1, pad: 0, group: 1 },
  // the epilogue (bias, residual, ReLU) in the 1×1 kernel's stores: a wide plane read in place,
  // a small one gathered, with a partial last block
  { name: 'pointwise_wide_residual', C: 24, H: 30, W: 29, M: 19, k: 1, stride: 1, pad: 0, group: 1, residual: true },
  { name: 'pointwise_residual', C: 40, H: 9, W: 11, M: 26, k: 1, stride: 1, pad: 0, group: 1, residual: true },
  // more than 96 input channels: AVX2 takes them in chunks, the sums kept between them apart from
  // the output (here over its residual) until the last chunk's epilogue; strided, gathered
  {
    name: 'pointwise_chunked_in_place',
    C: 200,
    H: 9,
    W: 11,
    M: 26,
    k: 1,
    stride: 1,
    pad: 0,
    group: 1,
    residual: true,
    inPlace: true,
  },
  { name: 'pointwise_s2_chunked', C: 130, H: 15, W: 13, M: 29, k: 1, stride: 2, pad: 0, group: 1 },
  // strided with a quarter of L2 of filters and 28×28 outputs or more (AVX-512): the input decimated,
  // then the stride-1 kernel; odd input sizes (the last row and column read), the residual
  {
    name: 'pointwise_s2_decimated',
    C: 130,
    H: 57,
    W: 59,
    M: 510,
    k: 1,
    stride: 2,
    pad: 0,
    group: 1,
    residual: true,
  },
  // few output positions, many filters: the packed GEMM (positions as rows, partial row and
  // filter panels, depth blocks of 256 with a partial last one)
  { name: 'gemm3x3', C: 37, H: 7, W: 9, M: 45, k: 3, stride: 1, pad: 1, group: 1 },
  { name: 'gemm3x3_s2', C: 31, H: 13, W: 11, M: 50, k: 3, stride: 2, pad: 1, group: 1 },
  // (on 2 threads the direct kernel, the filters fitting L2 per thread; with more filters the GEMM)
  { name: 'gemm3x3_s2_14x13', C: 40, H: 27, W: 26, M: 70, k: 3, stride: 2, pad: 1, group: 1 },
  { name: 'gemm3x3_s2_9x8', C: 128, H: 17, W: 15, M: 460, k: 3, stride: 2, pad: 1, group: 1 },
  // position panels past half of L2 (3×3: 60 × 2250 floats; 1×1 over 9×9: 84 × 1600): each
  // thread's chunk of filters packs its own (under 64 filters, so not Winograd)
  { name: 'gemm3x3_own_panels', C: 250, H: 8, W: 7, M: 60, k: 3, stride: 1, pad: 1, group: 1 },
  { name: 'gemm_pointwise_own_panels', C: 1600, H: 9, W: 9, M: 400, k: 1, stride: 1, pad: 0, group: 1 },
  { name: 'gemm3x3_grouped', C: 64, H: 8, W: 7, M: 40, k: 3, stride: 1, pad: 1, group: 2 },
  // unstrided 1×1 over more than 7×7: filters past L2 per thread (up to 4 threads), else the direct kernel
  { name: 'gemm_pointwise', C: 1100, H: 9, W: 9, M: 960, k: 1, stride: 1, pad: 0, group: 1 },
  { name: 'gemm_pointwise_s2', C: 520, H: 9, W: 9, M: 510, k: 1, stride: 2, pad: 0, group: 1 },
  // Winograd F(2×2, 3×3) (AVX-512, 64 channels or more in and out, 48 tiles or more; with AVX2
  // F(4×4, 3×3) from 16 tiles, hence the tolerance below): odd output sizes (a last tile row and
  // column half outside), filters past the last whole panel, the residual, two images; no padding
  // with an epilogue applied after the output transform (LeakyRelu)
  {
    name: 'winograd3x3_residual',
    C: 70,
    H: 17,
    W: 15,
    M: 76,
    k: 3,
    stride: 1,
    pad: 1,
    group: 1,
    residual: true,
    N: 2,
    tolerance: 1e-3,
  },
  {
    name: 'winograd3x3_pad0_leaky',
    C: 64,
    H: 18,
    W: 20,
    M: 64,
    k: 3,
    stride: 1,
    pad: 0,
    group: 1,
    leaky: true,
    tolerance: 1e-3,
  },
  // F(2×2, 3×3) from 16 tiles of 2×2 (AVX2: one column panel of 16; AVX-512: 20 tiles in a panel
  // of 32): 7×9 outputs, the last tile row and column half outside, two images
  { name: 'winograd2x2_one_panel', C: 64, H: 7, W: 9, M: 70, k: 3, stride: 1, pad: 1, group: 1, residual: true, N: 2 },
  // 7×7 outputs, 16 tiles (AVX-512: the microkernel's 16-column form), one image: on 2 threads
  // each transforms the whole input and takes half the filters (a partial last filter panel);
  // two depth blocks
  { name: 'winograd2x2_7x7', C: 300, H: 7, W: 7, M: 100, k: 3, stride: 1, pad: 1, group: 1, residual: true },
  // F(4×4, 3×3) (48 tiles of 4×4 or more), its sums with larger constants: errors up to ~3e-4 on
  // outputs up to ~30, 1e-5 of their range (a wrong transform is off by whole units); tiles in
  // several blocks; the last tile row and column partly outside, with the residual, two images
  { name: 'winograd4x4_blocks', C: 64, H: 40, W: 37, M: 65, k: 3, stride: 1, pad: 1, group: 1, tolerance: 1e-3 },
  {
    name: 'winograd4x4_residual',
    C: 64,
    H: 30,
    W: 29,
    M: 70,
    k: 3,
    stride: 1,
    pad: 1,
    group: 1,
    residual: true,
    tolerance: 1e-3,
    N: 2,
  },
  // the output written over a residual made in the model: the 1×1 kernel's stores and partial
  // blocks, LeakyRelu (the residual copied first), 3×3 over phase planes, Winograd (F(2×2) and
  // F(4×4): with AVX-512 the output transforms store the output, reading the residual first), the packed
  // GEMM (3×3 and 1×1), depthwise
  ...[
    { name: 'pointwise_wide', C: 24, H: 30, W: 29, M: 19, k: 1 },
    { name: 'pointwise', C: 40, H: 9, W: 11, M: 26, k: 1 },
    { name: 'pointwise_leaky', C: 20, H: 30, W: 28, M: 11, k: 1, leaky: true },
    { name: 'conv3x3', C: 12, H: 9, W: 6, M: 11, k: 3, pad: 1 },
    { name: 'winograd3x3', C: 70, H: 17, W: 15, M: 76, k: 3, pad: 1, tolerance: 1e-3 },
    { name: 'winograd4x4', C: 64, H: 30, W: 29, M: 70, k: 3, pad: 1, tolerance: 1e-3 },
    { name: 'gemm3x3', C: 37, H: 7, W: 9, M: 45, k: 3, pad: 1 },
    { name: 'gemm_pointwise', C: 520, H: 7, W: 7, M: 1030, k: 1 },
    { name: 'depthwise3x3', C: 5, H: 9, W: 70, M: 5, k: 3, pad: 1, group: 5 },
  ].map((c) => ({ stride: 1, pad: 0, group: 1, ...c, name: `${c.name}_in_place`, residual: true, inPlace: true })),
  { name: 'depthwise3x3', C: 17, H: 23, W: 21, M: 17, k: 3, stride: 1, pad: 1, group: 17 },
  { name: 'depthwise3x3_s2', C: 9, H: 22, W: 37, M: 9, k: 3, stride: 2, pad: 1, group: 9 },
  { name: 'depthwise5x5', C: 6, H: 12, W: 19, M: 6, k: 5, stride: 1, pad: 2, group: 6 },
  // planes narrower than a vector (several rows per vector), two output channels per input channel
  { name: 'depthwise3x3_7x7', C: 21, H: 7, W: 7, M: 21, k: 3, stride: 1, pad: 1, group: 21 },
  { name: 'depthwise3x3_mult2', C: 5, H: 9, W: 12, M: 10, k: 3, stride: 1, pad: 1, group: 5 },
  { name: 'depthwise3x3_s2_small', C: 7, H: 7, W: 7, M: 7, k: 3, stride: 2, pad: 1, group: 7 },
  { name: 'depthwise5x5_s2', C: 4, H: 13, W: 18, M: 4, k: 5, stride: 2, pad: 2, group: 4 },
  // rows of 28 and more (stride 1, AVX-512 and AVX2: four output rows at a time, then the 1, 2 or
  // 3 left, each row's vectors masked at both ends; stride 2: 75 outputs wide, in groups of 4
  // blocks and 1), with a residual
  { name: 'depthwise3x3_rows', C: 5, H: 9, W: 70, M: 5, k: 3, stride: 1, pad: 1, group: 5, residual: true },
  { name: 'depthwise3x3_rows_2_left', C: 6, H: 14, W: 30, M: 6, k: 3, stride: 1, pad: 1, group: 6, residual: true },
  { name: 'depthwise3x3_rows_3_left', C: 4, H: 11, W: 29, M: 4, k: 3, stride: 1, pad: 1, group: 4 },
  { name: 'depthwise3x3_rows_2_high', C: 3, H: 2, W: 33, M: 3, k: 3, stride: 1, pad: 1, group: 3 },
  { name: 'depthwise3x3_s2_rows', C: 3, H: 11, W: 150, M: 3, k: 3, stride: 2, pad: 1, group: 3 },
  // rows of 9 to 27 (AVX2: by rows from a zero-bordered copy of each plane), 4 rows at a time
  // and 2 or 3 left, two images; a plane shorter than one block of rows
  { name: 'depthwise3x3_padded', C: 6, H: 14, W: 14, M: 6, k: 3, stride: 1, pad: 1, group: 6, residual: true, N: 2 },
  { name: 'depthwise3x3_padded_low', C: 4, H: 3, W: 16, M: 4, k: 3, stride: 1, pad: 1, group: 4 },
  // stride 2 on even widths (no output reads the right pad): whole-vector loads and, where a row's
  // blocks span all of it (AVX2: 7 and 22 outputs wide), its partial last vector stored whole over
  // the next row's start; two images, so that the last row of a plane meets the next plane
  { name: 'depthwise3x3_s2_even', C: 5, H: 14, W: 14, M: 5, k: 3, stride: 2, pad: 1, group: 5, residual: true, N: 2 },
  { name: 'depthwise3x3_s2_even_wide', C: 3, H: 10, W: 44, M: 3, k: 3, stride: 2, pad: 1, group: 3, N: 2 },
];

describe.skipIf(!haveFleetrt())('Conv paths of real-size CNNs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetc-conv-paths-'));
  const g = new GraphBuilder('conv_paths');
  const inputs: Record<string, string> = {};
  const want: Record<string, { data: Float64Array; shape: number[] }> = {};
  CONVS.forEach((c, i) => {
    const N = c.N ?? 1;
    const x = values(N * c.C * c.H * c.W, 10 + i);
    const w = values((c.M * c.C * c.k * c.k) / c.group, 30 + i);
    const b = values(c.M, 50 + i);
    const xin = `x_${c.name}`;
    g.input(xin, 'float32', [N, c.C, c.H, c.W]);
    inputs[xin] = join(dir, `${xin}.npy`);
    writeNpy(inputs[xin]!, '<f4', [N, c.C, c.H, c.W], x);
    const wn = g.initializer(`w_${c.name}`, [c.M, c.C / c.group, c.k, c.k], 'float32', Float32Array.from(w));
    const bn = g.initializer(`b_${c.name}`, [c.M], 'float32', Float32Array.from(b));
    const y = g.op('Conv', [xin, wn, bn], {
      kernel_shape: [c.k, c.k],
      strides: [c.stride, c.stride],
      pads: [c.pad, c.pad, c.pad, c.pad],
      group: c.group,
    });
    const { OH, OW } = convOut(c);
    let r: Float64Array | undefined;
    let sum = y;
    if (c.residual) {
      r = Float64Array.from(new Float32Array(values(N * c.M * OH * OW, 70 + i)));
      const rin = `r_${c.name}`;
      g.input(rin, 'float32', [N, c.M, OH, OW]);
      inputs[rin] = join(dir, `${rin}.npy`);
      writeNpy(inputs[rin]!, '<f4', [N, c.M, OH, OW], r);
      // in place: the residual passed through a 1×1 conv with identity filters (the same values,
      // made in the model; an elementwise op there would be fused with the Add instead)
      const eye = new Float32Array(c.M * c.M);
      for (let m = 0; m < c.M; m++) eye[m * c.M + m] = 1;
      const z = c.inPlace
        ? g.op('Conv', [rin, g.initializer(`eye_${c.name}`, [c.M, c.M, 1, 1], 'float32', eye)], {})
        : rin;
      sum = g.op('Add', [y, z], {});
    }
    // ReLU after the conv (and the residual Add): the cpu fusion folds them into the conv's epilogue
    if (c.pool) {
      const relu = g.op('Relu', [sum], {});
      g.op('MaxPool', [relu], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, [c.name]);
    } else if (c.inPlace) {
      // the conv's output read by one more op, so that it lies in the arena (a model output does not)
      g.op('Neg', [g.op(c.leaky ? 'LeakyRelu' : 'Relu', [sum], c.leaky ? { alpha: 0.1 } : {})], {}, [c.name]);
    } else if (c.leaky) g.op('LeakyRelu', [sum], { alpha: 0.1 }, [c.name]);
    else g.op('Relu', [sum], {}, [c.name]);
    const ref = convReference(
      Float64Array.from(new Float32Array(x)),
      Float64Array.from(new Float32Array(w)),
      Float64Array.from(new Float32Array(b)),
      c,
    );
    const relu = ref.map((v, j) => {
      const t = v + (r ? r[j]! : 0);
      const act = c.leaky ? (t < 0 ? Math.fround(0.1) * t : t) : Math.max(0, t);
      return c.inPlace ? -act : act;
    });
    if (c.pool) {
      const p = maxPool3x3s2(relu, c.M, OH, OW);
      g.output(c.name, 'float32', [1, c.M, p.OH, p.OW]);
      want[c.name] = { data: p.data, shape: [1, c.M, p.OH, p.OW] };
    } else {
      g.output(c.name, 'float32', [N, c.M, OH, OW]);
      want[c.name] = { data: relu, shape: [N, c.M, OH, OW] };
    }
  });
  const file = join(dir, 'model.onnx');
  writeFileSync(file, g.encode({ opset: 17 }));

  // 2 threads with each kernel set, and the best code on 1 thread (the paths' other splits: the
  // GEMM in one chunk of positions and filters, the 1×1s without their filters split)
  const variants: [string, Record<string, string>, number][] = [
    ...SIMD_VARIANTS.map(([name, env]): [string, Record<string, string>, number] => [name, env, 2]),
    [`${SIMD_VARIANTS[0]![0]}, 1 thread`, {}, 1],
  ];
  // one plan for all of them: the variants differ only in how fleetrt runs it
  let planPath: Promise<string> | undefined;
  const plan = () =>
    (planPath ??= compile(file, join(dir, 'build'), { report: false, force: true }).then((c) => c.planPath));
  variants.forEach(([name, env, threads], v) =>
    it(name, { timeout: 120_000 }, async () => {
      // two runs: the second reads the filters the direct convs reordered in the first
      const r = await run(await plan(), { inputs, outputDir: join(dir, `out${v}`), threads, repeat: 2, env });
      for (const conv of CONVS) {
        const o = r.outputs.find((x) => x.name === conv.name);
        expect(o, conv.name).toBeDefined();
        const got = readNpy(o!.file);
        const ref = want[conv.name]!;
        expect(got.shape, conv.name).toEqual(ref.shape);
        let worst = 0;
        for (let i = 0; i < ref.data.length; i++) worst = Math.max(worst, Math.abs(got.data[i]! - ref.data[i]!));
        expect(worst, conv.name).toBeLessThan(conv.tolerance ?? 1e-4);
      }
    }),
  );
});
