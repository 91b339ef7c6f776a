import type { Pass } from '../pass.js';
import { costPass } from './cost.js';
import { kvPass } from './kv.js';
import { moePass } from './moe.js';
import { splitMoePass } from './moe-split.js';
import { dcePass } from '../simplify/dce.js';
import { csePass } from '../simplify/cse.js';

/** The analysis and simplification passes of this folder and passes/simplify/, by name. */
export const ANALYSIS_PASSES: Record<string, Pass> = {
  [costPass.name]: costPass,
  [kvPass.name]: kvPass,
  [moePass.name]: moePass,
  [splitMoePass.name]: splitMoePass,
  [dcePass.name]: dcePass,
  [csePass.name]: csePass,
};
