import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FleetcError } from '../../src/diagnostics/index.js';
import { functionToIR } from '../../src/frontends/stablehlo/convert.js';
import { parseMLIR } from '../../src/frontends/stablehlo/parser.js';
import { splitCases } from '../../src/frontends/stablehlo/testcases.js';
import { SHARED } from '../paths.js';

/**
 * The StableHLO printer's own tests (../shared/reference/stablehlo): every canonical pretty form
 * parses; every function either converts or is refused as unsupported (E0103: tokens, tuples,
 * complex, quantized, async), never as malformed.
 */
describe('the printer canonical forms parse', () => {
  const files: Record<string, number> = {
    'print_stablehlo.mlir': 19,
    'print_reduce.mlir': 11,
    'print_while.mlir': 2,
    'ops_stablehlo_roundtrip.mlir': 64,
  };
  for (const [file, converted] of Object.entries(files)) {
    it(file, () => {
      const text = readFileSync(join(SHARED, 'reference/stablehlo', file), 'utf8');
      let ok = 0;
      const refused: string[] = [];
      for (const chunk of splitCases(text)) {
        const mod = parseMLIR('\n'.repeat(chunk.line - 1) + chunk.text, file);
        for (const fn of mod.funcs) {
          if (!fn.body) continue;
          try {
            functionToIR(mod, fn);
            ok++;
          } catch (e) {
            if (!(e instanceof FleetcError)) throw e;
            refused.push(e.format());
          }
        }
      }
      for (const r of refused) expect(r).toMatch(/error\[E0103\]: .*(token|tuple|complex|quantized|future|f6E2M3FN)/);
      expect(ok).toBe(converted);
    });
  }
});
