import type { IRGraph } from '../../src/ir/graph.js';
import { dtypeBits, type DType } from '../../src/ir/dtype.js';
import { ceilDiv, mul, product, Sym, type Dim } from '../../src/ir/sym.js';

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
  // Shapes are replaced, never mutated, when inference updates a value: cache by shape array.
  let byType = BYTES.get(v.shape);
  if (!byType) BYTES.set(v.shape, (byType = new Map()));
  let b = byType.get(v.dtype);
  if (b === undefined) byType.set(v.dtype, (b = bytesFor(v.dtype, product(v.shape))));
  return b;
}

const BYTES = new WeakMap<readonly Dim[], Map<DType, Dim | null>>();

/**
 * Sums many dims, canonicalising once at the end: `add` re-canonicalises (and re-prints) its
 * result at every step, which dominates totals over tens of thousands of ops.
 */
export class DimSum {
  private constant = 0;
  private readonly terms = new Map<string, number>();

  add(d: Dim): void {
    if (typeof d === 'number') {
      this.constant += d;
      return;
    }
    for (const [mono, coef] of d.poly) {
      if (mono === '') this.constant += coef;
      else this.terms.set(mono, (this.terms.get(mono) ?? 0) + coef);
    }
  }

  value(): Dim {
    const poly = new Map<string, number>();
    for (const [mono, coef] of this.terms) if (coef !== 0) poly.set(mono, coef);
    if (poly.size === 0) return this.constant;
    if (this.constant !== 0) poly.set('', this.constant);
    return new Sym(poly);
  }
}
