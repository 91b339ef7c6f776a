// The blocked activation layout and fleetc.Reorder, the op that converts between it and plain
// NCHW (docs/plan-format.md, "Blocked layout ops"). Element (n, c, h, w) of a logical
// [N, C, H, W] tensor lies at (((n·C/8 + c/8)·H + h)·W + w)·8 + c%8; the logical shape in the IR
// stays [N, C, H, W].
import type { IRGraph, OpAttrs } from '../../src/ir/graph.js';
import type { SourceLoc } from '../../src/ir/types.js';
import { FLEETC_DOMAIN } from '../fuse/conv.js';

/** Channels per block. */
export const BLOCK = 8;

/** The `layout` attribute's values: of a Reorder's output, and of a blocked FusedConv's X, Z and Y. */
export type Layout = 'NCHW8c' | 'NCHW';
export const BLOCKED: Layout = 'NCHW8c';
export const PLAIN: Layout = 'NCHW';

export function isReorder(op: OpAttrs): boolean {
  return op.domain === FLEETC_DOMAIN && op.opType === 'Reorder';
}

/** The `layout` attribute of an op, when it has one. */
export function layoutOf(op: OpAttrs): string | undefined {
  const a = op.attrs.layout;
  return a?.type === 'string' ? a.value : undefined;
}

/**
 * Adds fleetc.Reorder(input) → output into `layout`, named after the plain one of the two values
 * (`x/reorder_nchw8c`, `y/reorder_nchw`). Returns the op's id.
 */
export function addReorder(graph: IRGraph, input: string, output: string, layout: Layout, loc: SourceLoc): string {
  const plain = layout === BLOCKED ? input : output;
  return graph.addOp(
    {
      opType: 'Reorder',
      domain: FLEETC_DOMAIN,
      opset: 1,
      attrs: { layout: { type: 'string', value: layout } },
      loc,
      name: `${plain}/reorder_${layout.toLowerCase()}`,
    },
    [input],
    [output],
  );
}

/** A fresh float32 value of `like`'s shape for its blocked form, named `<like>/nchw8c`. */
export function addBlockedValue(graph: IRGraph, like: string): string {
  return graph.addValue({
    name: graph.freshValueName(`${like}/nchw8c`),
    dtype: 'float32',
    shape: graph.value(like).shape?.slice() ?? null,
    role: 'intermediate',
  });
}
