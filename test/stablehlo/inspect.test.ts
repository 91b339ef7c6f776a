import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/frontends/index.js';
import { verifyGraph } from '../../src/ir/verify.js';
import { cli } from '../cli/helpers.js';
import { SHARED } from '../paths.js';

const MODELS = join(SHARED, 'models/stablehlo');

describe('shared StableHLO models load and inspect', () => {
  const expectations: Record<string, { inputs: number; outputs: number; kept: string[] }> = {
    'searchless_chess_9m.mlir': { inputs: 95, outputs: 1, kept: ['stablehlo.gather', 'stablehlo.iota'] },
    'reactant_kan2.mlir': { inputs: 5, outputs: 6, kept: ['stablehlo.dynamic_slice'] },
    'iree_edge_detection.mlir': { inputs: 1, outputs: 1, kept: [] },
  };
  for (const [file, want] of Object.entries(expectations)) {
    it(file, async () => {
      const g = loadModel(join(MODELS, file));
      expect(verifyGraph(g)).toEqual([]);
      expect([g.inputs.length, g.outputs.length]).toEqual([want.inputs, want.outputs]);
      const kept = new Set(
        g
          .ops()
          .map((id) => g.op(id))
          .filter((o) => o.domain)
          .map((o) => `${o.domain}.${o.opType}`),
      );
      expect([...kept].sort()).toEqual(want.kept);
      const r = await cli(['inspect', join(MODELS, file)]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('(stablehlo, opsets ai.onnx 18, stablehlo 1)');
      expect(r.stdout).toMatch(/FLOPs\s+\S+/);
    });
  }
});
