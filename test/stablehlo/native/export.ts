import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadStablehloCases } from '../../../src/frontends/stablehlo/testcases.js';
import { SHARED } from '../../paths.js';
import { writeFLT1, zeroExpected, type Expected } from './flt1.js';

/**
 * Exports every in-scope StableHLO conformance case with constant expectations as an FLT1 file
 * for the kernel harness (see run.sh). Usage: tsx export.ts OUT_DIR [suite…]
 */
const out = process.argv[2] ?? '/tmp/fleetc_stablehlo_cases';
const suites = process.argv.slice(3).length
  ? process.argv.slice(3)
  : ['stablehlo-interpret', 'stablehlo-jax', 'stablehlo-generic'];
rmSync(out, { recursive: true, force: true });
let written = 0;
let computed = 0;
for (const suite of suites) {
  const dir = join(SHARED, 'conformance', suite);
  mkdirSync(join(out, suite), { recursive: true });
  for (const f of (readdirSync(dir, { recursive: true }) as string[]).sort()) {
    if (!f.endsWith('.mlir')) continue;
    for (const c of loadStablehloCases(join(dir, f), f)) {
      if (!c.graph || c.skip || c.unsupported) continue;
      // Expected outputs in graph-output order; a check against a computed value names the
      // output it compares with (`ref=<index>`) and that output gets a placeholder entry.
      const exp: Expected[] = [];
      const outs: string[] = [];
      const slot = (name: string): number => {
        const i = outs.indexOf(name);
        if (i >= 0) return i;
        outs.push(name);
        const v = c.graph!.value(name);
        exp.push(zeroExpected(`${name}|skip|0|0|0`, v.dtype!, v.shape as number[]));
        return outs.length - 1;
      };
      for (const ch of c.checks) {
        const i = slot(ch.output);
        const tol = [ch.kind, ch.rtol ?? 0, ch.atol ?? 0, ch.maxUlp ?? 0].join('|');
        if (ch.expected) exp[i] = { name: `${ch.output}|${tol}`, ...ch.expected };
        else {
          computed++;
          const j = slot(ch.expectedOutput!);
          exp[i] = { ...exp[i]!, name: `${ch.output}|${tol}|ref=${j}` };
        }
      }
      c.graph.outputs = outs;
      const file = c.name.replace(/[^A-Za-z0-9_.#-]/g, '_').replace('#', '__') + '.bin';
      writeFileSync(join(out, suite, file), writeFLT1(c.graph, exp));
      written++;
    }
  }
}
console.log(`exported ${written} cases to ${out} (${computed} checks compare two computed values)`);
