import type { Pass } from './pass.js';
import { SHAPE_PASSES } from './shape/index.js';
import { ANALYSIS_PASSES } from './analysis/index.js';
import { partitionPass } from './partition/index.js';
import { FUSE_PASSES } from './fuse/index.js';
import { kvStatePass } from './state/index.js';

/**
 * Every pass, by name: the one table that textual pipelines resolve against. Add a pass here
 * with one line.
 */
export const PASSES: Record<string, Pass> = {
  ...SHAPE_PASSES,
  ...ANALYSIS_PASSES,
  partition: partitionPass,
  ...FUSE_PASSES,
  'kv-state': kvStatePass,
};

/**
 * Named pipelines. Each is a pipeline string, printed back exactly in every report. `generate`:
 * a decoder compiled for the engine's generation loop (its KV cache as paged state).
 */
export const PIPELINES: Record<string, string> = {
  generate: 'infer-shapes,fold,dce,cse,kv-state,fold-batchnorm,fuse-layernorm,fuse-conv,fuse-elementwise',
};
