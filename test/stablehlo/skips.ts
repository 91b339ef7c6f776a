import { SKIP_CATEGORIES } from '../../src/frontends/stablehlo/scope.js';
import { SUITES, suiteCases } from './suites.js';

export const SKIPS_FILE = new URL('../conformance/stablehlo-skips.json', import.meta.url);

export interface SkipsFile {
  about: string;
  categories: { id: string; reason: string; ops: string[]; types: string[]; cases: string[] }[];
}

/** The out-of-scope cases of the shared suites by category, as stablehlo-skips.json lists them. */
export function computeSkips(): SkipsFile {
  const byCat = new Map<string, string[]>(SKIP_CATEGORIES.map((c) => [c.id, []]));
  for (const suite of SUITES)
    for (const c of suiteCases(suite)) if (c.skip) byCat.get(c.skip)!.push(`${suite}/${c.name}`);
  return {
    about:
      'StableHLO test cases fleetc declares out of scope, by category (src/frontends/stablehlo/scope.ts decides; ' +
      'test/stablehlo/testcases.test.ts checks this file against it; regenerate with `npx tsx test/stablehlo/write-skips.mts`).',
    categories: SKIP_CATEGORIES.map((c) => ({
      id: c.id,
      reason: c.reason,
      ops: c.ops,
      types: c.types,
      cases: byCat.get(c.id)!,
    })),
  };
}
