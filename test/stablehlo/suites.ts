import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadStablehloCases, type StablehloCase } from '../../src/frontends/stablehlo/testcases.js';
import { SHARED } from '../paths.js';

export const SUITES = ['stablehlo-interpret', 'stablehlo-jax', 'stablehlo-generic'] as const;

/** Every .mlir file of a shared suite (sub-folders included), sorted, relative to the suite. */
export function suiteFiles(suite: string): string[] {
  return (readdirSync(join(SHARED, 'conformance', suite), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.mlir'))
    .sort();
}

/** The cases of a suite, named `path-in-suite#function`. */
export function suiteCases(suite: string): StablehloCase[] {
  return suiteFiles(suite).flatMap((f) => loadStablehloCases(join(SHARED, 'conformance', suite, f), f));
}
