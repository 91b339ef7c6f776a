import type { Pass } from './pass.js';

/**
 * Every pass, by name: the one table that textual pipelines resolve against. Add a pass here
 * with one line.
 */
export const PASSES: Record<string, Pass> = {};

/** Named pipelines. Each is a pipeline string, printed back exactly in every report. */
export const PIPELINES: Record<string, string> = {};
