/**
 * Resize of float32 planes (only the last two axes resized) takes a loop of its own; every other
 * Resize takes the general separable passes in double. The same Resize on the input cast to
 * float64 goes the general way, so the float32 outputs must equal its outputs rounded to float32,
 * bit for bit: linear and cubic, one axis or both, up and down, coordinate modes whose taps differ,
 * exclude_outside (renormalised weights) and antialias.
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

const SHAPE = [2, 3, 5, 7];

interface Case {
  name: string;
  scales: number[];
  attrs: Record<string, unknown>;
}

const CASES: Case[] = [
  { name: 'w_linear', scales: [1, 1, 1, 2.5], attrs: { mode: 'linear' } },
  { name: 'h_cubic', scales: [1, 1, 3, 1], attrs: { mode: 'cubic', coordinate_transformation_mode: 'align_corners' } },
  {
    name: 'hw_linear',
    scales: [1, 1, 1.5, 0.5],
    attrs: { mode: 'linear', coordinate_transformation_mode: 'asymmetric' },
  },
  { name: 'hw_cubic_excl', scales: [1, 1, 2, 2], attrs: { mode: 'cubic', exclude_outside: 1 } },
  { name: 'hw_linear_aa', scales: [1, 1, 0.6, 0.4], attrs: { mode: 'linear', antialias: 1 } },
];

describe.skipIf(!haveFleetrt())('Resize of float32 planes', () => {
  it('equals the general path in double, rounded to float32', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetc-resize-paths-'));
    const g = new GraphBuilder('resize_paths');
    g.input('x', 'float32', SHAPE);
    const x64 = g.op('Cast', ['x'], { to: 11 });
    for (const c of CASES) {
      const scales = g.initializer(`scales_${c.name}`, [4], 'float32', Float32Array.from(c.scales));
      g.op('Resize', ['x', '', scales], c.attrs, [`${c.name}_f32`]);
      g.op('Resize', [x64, '', scales], c.attrs, [`${c.name}_f64`]);
      g.output(`${c.name}_f32`, 'float32', [-1, -1, -1, -1]);
      g.output(`${c.name}_f64`, 'float64', [-1, -1, -1, -1]);
    }
    const file = join(dir, 'model.onnx');
    writeFileSync(file, g.encode({ opset: 19 }));
    let s = 3;
    const x = Float32Array.from({ length: SHAPE.reduce((a, b) => a * b, 1) }, () => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return ((s >>> 8) % 20001) / 1000 - 10;
    });
    const input = join(dir, 'x.npy');
    writeNpy(input, '<f4', SHAPE, x);
    const c = await compile(file, join(dir, 'build'), { report: false, force: true });
    const r = await run(c.planPath, { inputs: { x: input }, outputDir: join(dir, 'out'), threads: 2 });
    const out = (name: string) => readNpy(r.outputs.find((o) => o.name === name)!.file);
    for (const k of CASES) {
      const f32 = out(`${k.name}_f32`);
      const f64 = out(`${k.name}_f64`);
      expect(f32.shape, k.name).toEqual(f64.shape);
      expect(f32.shape.slice(0, 2), k.name).toEqual([2, 3]);
      expect(Array.from(f32.data), k.name).toEqual(Array.from(f64.data, (v) => Math.fround(v)));
    }
  });
});
