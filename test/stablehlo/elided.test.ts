import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/api/compile.js';
import { run } from '../../src/api/run.js';
import { FleetcError } from '../../src/diagnostics/index.js';
import { HAVE_FLEETRT, readNpyF32, tmp, writeNpyF32 } from '../compile/helpers.js';

// x[2, 3] · w[3, 4] + b[4], with w and b elided: both become run-time inputs after x.
const MLIR = `func.func @main(%x: tensor<2x3xf32>) -> tensor<2x4xf32> {
  %w = stablehlo.constant dense_resource<__elided__> : tensor<3x4xf32>
  %b = stablehlo.constant dense_resource<__elided__> : tensor<2x4xf32>
  %0 = stablehlo.dot_general %x, %w, contracting_dims = [1] x [0] : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %1 = stablehlo.add %0, %b : tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}
`;

const X = [1, -2, 3, 0.5, 4, -1];
const W = [0.5, 1, -1, 2, 0, 3, 1, -0.5, 2, -2, 0.25, 1];
const B = [0.125, -1, 2, 0, 1, 1, -3, 0.5];

function reference(): number[] {
  const y: number[] = [];
  for (let i = 0; i < 2; i++)
    for (let j = 0; j < 4; j++) {
      let s = B[i * 4 + j]!;
      for (let k = 0; k < 3; k++) s += X[i * 3 + k]! * W[k * 4 + j]!;
      y.push(s);
    }
  return y;
}

async function compiled(): Promise<{ dir: string; plan: string; notes: string[] }> {
  const dir = tmp('fleetc-elided-');
  const model = join(dir, 'model.mlir');
  writeFileSync(model, MLIR);
  const res = await compile(model, join(dir, 'out'));
  return { dir, plan: res.planPath, notes: res.diagnostics.map((d) => d.message) };
}

describe('StableHLO dense_resource<__elided__> weights', () => {
  it('compile turns each elided weight into a run-time input, in source order', async () => {
    const { plan, notes } = await compiled();
    const json = JSON.parse(readFileSync(plan, 'utf8')) as {
      inputs: { name: string; dtype: string; shape: number[] }[];
    };
    expect(json.inputs.map((i) => [i.name, i.dtype, i.shape])).toEqual([
      ['x', 'float32', [2, 3]],
      ['w', 'float32', [3, 4]],
      ['b', 'float32', [2, 4]],
    ]);
    expect(notes.filter((m) => /elided/.test(m))).toEqual([
      expect.stringContaining("weight 'w' has no values in the model (elided); it is input #1"),
      expect.stringContaining("weight 'b' has no values in the model (elided); it is input #2"),
    ]);
  });

  describe.skipIf(!HAVE_FLEETRT)('with fleetrt', () => {
    it('runs with the values supplied as --input NAME=FILE', async () => {
      const { dir, plan } = await compiled();
      writeNpyF32(join(dir, 'x.npy'), [2, 3], X);
      writeNpyF32(join(dir, 'w.npy'), [3, 4], W);
      writeNpyF32(join(dir, 'b.npy'), [2, 4], B);
      const out = join(dir, 'y');
      const r = await run(plan, {
        inputs: { x: join(dir, 'x.npy'), w: join(dir, 'w.npy'), b: join(dir, 'b.npy') },
        outputDir: out,
      });
      expect(r.outputs).toHaveLength(1);
      const y = readNpyF32(r.outputs[0]!.file);
      expect(y.shape).toEqual([2, 4]);
      y.data.forEach((v, i) => expect(v).toBeCloseTo(reference()[i]!, 5));
    });

    it('names the missing value when an elided weight is not supplied', async () => {
      const { dir, plan } = await compiled();
      writeNpyF32(join(dir, 'x.npy'), [2, 3], X);
      writeNpyF32(join(dir, 'w.npy'), [3, 4], W);
      const err = await run(plan, {
        inputs: { x: join(dir, 'x.npy'), w: join(dir, 'w.npy') },
        outputDir: join(dir, 'y'),
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FleetcError);
      const line = (err as FleetcError).format();
      expect(line).toContain("'b'");
      expect(line.split('\n')).toHaveLength(1);
    });
  });
});
