import type { DType } from '../../src/ir/dtype.js';
import type { Dim, Shape } from '../../src/ir/sym.js';

/** The type inference assigns to a value: element type, shape, and container kind for non-tensors. */
export interface VType {
  dtype: DType | null;
  /** null: rank unknown. */
  shape: Shape | null;
  container?: 'sequence' | 'optional' | 'map';
}

/**
 * The known contents of a (small) tensor, row-major. Integer tensors may hold symbolic entries
 * (a value made by Shape(x) is a list of x's Dims); float and bool tensors hold plain numbers
 * (bool as 0/1). Strings are not tracked.
 */
export interface Known {
  dtype: DType;
  shape: number[];
  data: Dim[];
}

export const UNKNOWN: VType = Object.freeze({ dtype: null, shape: null }) as VType;

export function tensor(dtype: DType | null, shape: Shape | null): VType {
  return { dtype, shape };
}

/** Thrown by a shape function when the op is malformed (bad attribute, input rank …). */
export class ShapeError extends Error {}

export function isConcrete(k: Known): boolean {
  return k.data.every((d) => typeof d === 'number');
}
