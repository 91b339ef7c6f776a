import type { Pass } from '../pass.js';
import { fuseAttentionPass } from './attention.js';
import { foldBatchNormPass } from './batchnorm.js';
import { fuseConvPass } from './conv.js';
import { fuseElementwisePass } from './elementwise.js';
import { fuseLayerNormPass } from './layernorm.js';
import { fuseMatMulPass } from './matmul.js';

/** The fusion passes, by name (cpu target: fewer passes over memory, fewer kernel launches). */
export const FUSE_PASSES: Record<string, Pass> = {
  [foldBatchNormPass.name]: foldBatchNormPass,
  [fuseLayerNormPass.name]: fuseLayerNormPass,
  [fuseAttentionPass.name]: fuseAttentionPass,
  [fuseConvPass.name]: fuseConvPass,
  [fuseMatMulPass.name]: fuseMatMulPass,
  [fuseElementwisePass.name]: fuseElementwisePass,
};
