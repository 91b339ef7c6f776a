import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { functionToIR } from '../../src/frontends/stablehlo/convert.js';
import { parseMLIR } from '../../src/frontends/stablehlo/parser.js';
import { splitCases } from '../../src/frontends/stablehlo/testcases.js';
import { canonical } from './canon.js';
import { genericTwins } from './twins.js';

/** Canonical IR of each public function of a file (only those named in `only`). */
function irs(path: string, only?: Map<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const chunk of splitCases(readFileSync(path, 'utf8'))) {
    const mod = parseMLIR(chunk.text, path);
    for (const f of mod.funcs)
      if (f.visibility === 'public' && f.body && (!only || only.has(f.name)))
        out.set(f.name, canonical(functionToIR(mod, f)));
  }
  return out;
}

describe('generic MLIR parses to the same IR as its pretty-printed twin', () => {
  const twins = genericTwins();

  it('every generic program has a twin in stablehlo-interpret or stablehlo-jax', () => {
    expect(twins.length).toBe(31);
    expect(twins.filter((t) => !t.pretty).map((t) => t.generic)).toEqual([]);
  });

  for (const t of twins) {
    it(t.generic.slice(t.generic.lastIndexOf('/') + 1), () => {
      const generic = irs(t.generic);
      const pretty = irs(t.pretty!, generic);
      expect(generic.size).toBeGreaterThan(0);
      for (const [fn, ir] of generic) expect(pretty.get(fn), fn).toBe(ir);
    });
  }

  it('the comparison sees differences (a changed constant changes the canonical IR)', () => {
    const a = parseMLIR(
      'func.func @f() -> tensor<2xf32> {\n %0 = stablehlo.constant dense<[1.0, 2.0]> : tensor<2xf32>\n return %0 : tensor<2xf32>\n}',
      'a.mlir',
    );
    const b = parseMLIR(
      'func.func @f() -> tensor<2xf32> {\n %0 = stablehlo.constant dense<[1.0, 3.0]> : tensor<2xf32>\n return %0 : tensor<2xf32>\n}',
      'b.mlir',
    );
    expect(canonical(functionToIR(a, a.funcs[0]!))).not.toBe(canonical(functionToIR(b, b.funcs[0]!)));
  });
});
