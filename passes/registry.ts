import type { Pass } from './pass.js';
import { SHAPE_PASSES } from './shape/index.js';
import { ANALYSIS_PASSES } from './analysis/index.js';
import { partitionPass } from './partition/index.js';
import { FUSE_PASSES } from './fuse/index.js';

/**
 * Every pass, by name: the one table that textual pipelines resolve against. Add a pass here
 * with one line.
 */
export const PASSES: Record<string, Pass> = {
  ...SHAPE_PASSES,
  ...ANALYSIS_PASSES,
  partition: partitionPass,
  ...FUSE_PASSES,
};

/** Named pipelines. Each is a pipeline string, printed back exactly in every report. */
export const PIPELINES: Record<string, string> = {};
