import type { ShapeFn } from '../context.js';
import { CONV_OPS } from './conv.js';
import { broadcast, t } from './util.js';

const conv = CONV_OPS.Conv!;

/** Shapes of the ops the fusion passes (passes/fuse) create, in the fleetc domain. */
export const FUSED_OPS: Record<string, ShapeFn> = {
  // Conv's shape; the residual Z has the output's shape.
  'fleetc:FusedConv': (c) => conv(c),
  // Every input broadcast together; the element type of input 0.
  'fleetc:FusedElementwise': (c) => {
    const shapes = [];
    for (let i = 0; i < c.numInputs; i++) shapes.push(c.shape(i));
    return [t(c.dtype(0), broadcast(shapes))];
  },
};
