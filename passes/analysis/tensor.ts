import type { IRGraph } from '../../src/ir/graph.js';
import { dtypeBits, type DType } from '../../src/ir/dtype.js';
import { ceilDiv, mul, product, type Dim } from '../../src/ir/sym.js';

/** The shape of a value, or null when it is unknown (or the name is absent). */
export function shapeOf(graph: IRGraph, name: string | undefined): Dim[] | null {
  if (!name || !graph.hasValue(name)) return null;
  return graph.value(name).shape;
}

export function numelOf(graph: IRGraph, name: string | undefined): Dim | null {
  const s = shapeOf(graph, name);
  return s ? product(s) : null;
}

/** Bytes of `count` elements of `dtype`, symbolically; sub-byte types round up. */
export function bytesFor(dtype: DType, count: Dim): Dim | null {
  const bits = dtypeBits(dtype);
  if (bits === 0) return null;
  return bits % 8 === 0 ? mul(count, bits / 8) : ceilDiv(mul(count, bits), 8);
}

/** The size of a value in bytes, or null when its shape or type is unknown. */
export function bytesOf(graph: IRGraph, name: string | undefined): Dim | null {
  if (!name || !graph.hasValue(name)) return null;
  const v = graph.value(name);
  if (!v.dtype || !v.shape || v.container) return null;
  return bytesFor(v.dtype, product(v.shape));
}
