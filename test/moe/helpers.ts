// Shared set-up of the MoE tests: fixture paths, graphs with shapes inferred, the contrib MoE
// and StableHLO test programs written to a temp folder.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGraph } from '../../src/api/load.js';
import type { IRGraph } from '../../src/ir/graph.js';
import { resolvePipeline, runPipeline } from '../../passes/driver.js';
import { newPassContext } from '../../passes/pass.js';
import { parseFleet } from '../../src/fleet/load.js';
import { REPO } from '../paths.js';
// @ts-expect-error: plain ES module generators without typings
import { buildContribMoe } from '../../fixtures/gen/moe_contrib.mjs';
// @ts-expect-error: plain ES module generators without typings
import { moeSortProgram } from '../../fixtures/gen/moe_stablehlo.mjs';

export const fixture = (name: string): string => join(REPO, 'fixtures/models', name, 'model.onnx');
export const fixtureData = (name: string, set = 0): string =>
  join(REPO, 'fixtures/models', name, `test_data_set_${set}`);
export const MOE_SORT = join(REPO, 'test/moe/moe_sort.mlir');

/** A model with shapes inferred (and folded, as compile does, when `fold`). */
export async function inferred(file: string, fold = false): Promise<IRGraph> {
  const g = await loadGraph(file);
  runPipeline(g, resolvePipeline(fold ? 'infer-shapes,fold,dce,cse' : 'infer-shapes'), newPassContext());
  return g;
}

export interface ContribOptions {
  experts?: number;
  hidden?: number;
  inter?: number;
  k?: number;
  activation?: string;
  fc3?: boolean;
  normalize?: boolean;
  bias?: boolean;
  seed?: number;
}

/** Writes the com.microsoft MoE test graph; returns its path. */
export function contribModel(opts: ContribOptions = {}, dir = mkdtempSync(join(tmpdir(), 'fleetc-moe-'))): string {
  const file = join(dir, 'contrib_moe.onnx');
  writeFileSync(file, (buildContribMoe as (o: ContribOptions) => Uint8Array)(opts));
  return file;
}

export interface SortProgram {
  text: string;
  x: Float32Array;
  expected: Float64Array;
}
export const sortProgram = moeSortProgram as () => SortProgram;

/** Four unequal devices: a slow cpu (home), an L4, an A100 and an accelerator with small memory. */
export const UNEQUAL = parseFleet(
  `
name: moe-unequal
devices:
  - { id: cpu0, class: cpu, memory: { capacity: 8GiB, bandwidth: 50GB/s }, compute: { float32: 1TFLOPS }, threads: 1 }
  - { id: gpu0, preset: nvidia-l4, memory: { capacity: 1GiB } }
  - { id: gpu1, preset: nvidia-a100-sxm, memory: { capacity: 1GiB } }
  - { id: npu0, class: npu, memory: { name: sram, capacity: 512MiB, bandwidth: 1TB/s }, compute: { float32: 5TFLOPS }, hostLink: { kind: pcie4-x16 } }
`,
  'moe-unequal.yaml',
);
