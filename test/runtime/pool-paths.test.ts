/**
 * Max pooling by the vectorised interior rows (2×2 and 3×3 windows, stride 1 and 2) and the
 * clipped edges around them: planes wide enough for several 16-output steps and a partial one,
 * odd sizes, pads on both sides, ceil_mode, NaNs in the input (passed over). Outputs are compared
 * exactly (max is exact) with a reference computed here, with the best code the CPU has, the AVX2
 * code and the portable code.
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

const C = 3;
const H = 23;
const W = 75;

interface Pool {
  name: string;
  k: number;
  s: number;
  pad: number;
  ceil?: boolean;
}

const POOLS: Pool[] = [
  { name: 'k3s2p1', k: 3, s: 2, pad: 1 },
  { name: 'k3s2', k: 3, s: 2, pad: 0 },
  { name: 'k3s1p1', k: 3, s: 1, pad: 1 },
  { name: 'k2s2', k: 2, s: 2, pad: 0 },
  { name: 'k2s2_ceil', k: 2, s: 2, pad: 0, ceil: true },
  { name: 'k2s1', k: 2, s: 1, pad: 0 },
];

function outSize(n: number, p: Pool): number {
  const span = n + 2 * p.pad - p.k;
  return (p.ceil ? Math.ceil(span / p.s) : Math.floor(span / p.s)) + 1;
}

function maxPool(x: Float32Array, p: Pool): Float32Array {
  const OH = outSize(H, p);
  const OW = outSize(W, p);
  const y = new Float32Array(C * OH * OW);
  for (let c = 0; c < C; c++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        let best = -Infinity;
        for (let kh = 0; kh < p.k; kh++)
          for (let kw = 0; kw < p.k; kw++) {
            const h = oh * p.s - p.pad + kh;
            const w = ow * p.s - p.pad + kw;
            // NaNs are passed over (a NaN is never greater), as fleetrt's loops do
            if (h >= 0 && h < H && w >= 0 && w < W && x[(c * H + h) * W + w]! > best) best = x[(c * H + h) * W + w]!;
          }
        y[(c * OH + oh) * OW + ow] = best;
      }
  return y;
}

describe.skipIf(!haveFleetrt())('MaxPool interior rows and edges', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetc-pool-paths-'));
  let s = 7;
  // distinct values, negative ones included (the padding must never win)
  const x = Float32Array.from({ length: C * H * W }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return ((s >>> 8) % 20001) / 1000 - 15;
  });
  for (const i of [5 * W + 17, 11 * W + 40, H * W + 3 * W + 64]) x[i] = NaN;
  const g = new GraphBuilder('pool_paths');
  g.input('x', 'float32', [1, C, H, W]);
  for (const p of POOLS) {
    const attrs: Record<string, unknown> = {
      kernel_shape: [p.k, p.k],
      strides: [p.s, p.s],
      pads: [p.pad, p.pad, p.pad, p.pad],
    };
    if (p.ceil) attrs.ceil_mode = 1;
    g.op('MaxPool', ['x'], attrs, [p.name]);
    g.output(p.name, 'float32', [1, C, outSize(H, p), outSize(W, p)]);
  }
  const file = join(dir, 'model.onnx');
  writeFileSync(file, g.encode({ opset: 17 }));
  const input = join(dir, 'x.npy');
  writeNpy(input, '<f4', [1, C, H, W], x);

  SIMD_VARIANTS.forEach(([name, env], v) =>
    it(name, { timeout: 60_000 }, async () => {
      const c = await compile(file, join(dir, `build${v}`), { report: false, force: true });
      const r = await run(c.planPath, { inputs: { x: input }, outputDir: join(dir, `out${v}`), threads: 2, env });
      for (const p of POOLS) {
        const o = r.outputs.find((q) => q.name === p.name);
        expect(o, p.name).toBeDefined();
        const got = readNpy(o!.file);
        expect(got.shape, p.name).toEqual([1, C, outSize(H, p), outSize(W, p)]);
        expect(Array.from(got.data), p.name).toEqual(Array.from(maxPool(x, p)));
      }
    }),
  );
});
