import type { Pass } from './pass.js';
import { SHAPE_PASSES } from './shape/index.js';
import { ANALYSIS_PASSES } from './analysis/index.js';
import { partitionPass } from './partition/index.js';
import { placeExpertsPass } from './partition/moe-place.js';
import { FUSE_PASSES } from './fuse/index.js';
import { kvStatePass } from './state/index.js';
import { blockLayoutPass } from './layout/index.js';
import { schedulePass } from './schedule/index.js';
import { insertTransfersPass } from './transfers/index.js';
import { planMemoryPass } from './memory/index.js';
import { emitPass } from './emit/index.js';
import { floatPass } from './float/index.js';

/**
 * Every pass, by name: the one table that textual pipelines resolve against. Add a pass here
 * with one line.
 */
export const PASSES: Record<string, Pass> = {
  ...SHAPE_PASSES,
  ...ANALYSIS_PASSES,
  'place-experts': placeExpertsPass,
  partition: partitionPass,
  float: floatPass,
  schedule: schedulePass,
  'insert-transfers': insertTransfersPass,
  'plan-memory': planMemoryPass,
  emit: emitPass,
  ...FUSE_PASSES,
  'block-layout': blockLayoutPass,
  'kv-state': kvStatePass,
};

/**
 * From a graph that is ready to place to the bundles: what every compile pipeline ends with.
 * `float` (cheap ops run by whichever cpu of their host is ready) goes after `partition` only
 * when asked for (`fleetc compile --float`, docs/floating.md).
 */
export const BACKEND_PIPELINE = 'place-experts,partition,schedule,insert-transfers,plan-memory,emit';

const SIMPLIFY = 'fold,dce,cse';
const FUSE = 'fold-batchnorm,fuse-layernorm,fuse-attention,fuse-conv,fuse-matmul,fuse-elementwise';

/**
 * Named pipelines, each a pipeline string printed back exactly into every plan. `default`: what
 * `fleetc compile` runs (MobileNet-style conv chains blocked after the fusions). `generate`: a
 * decoder for the engine's generation loop (its KV cache as paged state). `O0`: no
 * simplification or fusion (shape inference only), for comparing.
 */
export const PIPELINES: Record<string, string> = {
  default: `split-moe,infer-shapes,${SIMPLIFY},${FUSE},block-layout,${BACKEND_PIPELINE}`,
  generate: `infer-shapes,${SIMPLIFY},kv-state,${FUSE},${BACKEND_PIPELINE}`,
  O0: `split-moe,infer-shapes,${BACKEND_PIPELINE}`,
};
