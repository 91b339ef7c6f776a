import { dimToString, shapeToString, type Dim, type Shape } from '../../src/ir/sym.js';
import type { VType } from './types.js';

export interface Merged {
  type: VType;
  /** Set when inference and the declaration are incompatible (not merely more or less specific). */
  conflict?: string;
}

function typeStr(t: VType): string {
  const base = `${t.dtype ?? '?'}${shapeToString(t.shape)}`;
  return t.container ? `${t.container}<${base}>` : base;
}

/**
 * Combines an inferred type with the model's declaration, keeping the more specific one per
 * dimension: a number beats a symbol; an inferred expression over the model's symbols beats a
 * declared symbol (it relates the dim to the inputs); a declared symbol beats a fresh
 * data-dependent symbol of ours. Where both are numbers that differ, or ranks or element types
 * differ, inference wins and the conflict is reported.
 */
export function mergeDeclared(inf: VType | undefined, decl: VType | undefined, isFresh: (d: Dim) => boolean): Merged {
  if (!decl || (decl.dtype === null && decl.shape === null && !decl.container))
    return { type: inf ?? { dtype: null, shape: null } };
  if (!inf || (inf.dtype === null && inf.shape === null && !inf.container)) return { type: { ...decl } };
  const problems: string[] = [];
  let dtype = inf.dtype ?? decl.dtype;
  if (inf.dtype && decl.dtype && inf.dtype !== decl.dtype) problems.push('element types differ');
  const container = inf.container ?? decl.container;
  if (inf.container !== decl.container && inf.container && decl.container) problems.push('container kinds differ');
  let shape: Shape | null;
  if (!inf.shape) shape = decl.shape;
  else if (!decl.shape) shape = inf.shape;
  else if (inf.shape.length !== decl.shape.length) {
    problems.push('ranks differ');
    shape = inf.shape;
  } else {
    const ds = decl.shape;
    shape = inf.shape.map((a, i) => {
      const b = ds[i]!;
      if (typeof a === 'number') {
        if (typeof b === 'number' && a !== b) problems.push(`dim ${i} is ${a}, declared ${b}`);
        return a;
      }
      if (typeof b === 'number') return b;
      if (a.key === b.key) return a;
      return isFresh(a) ? b : a;
    });
  }
  if (dtype === undefined) dtype = null;
  const type: VType = container ? { dtype, shape, container } : { dtype, shape };
  return problems.length
    ? { type, conflict: `inferred ${typeStr(inf)} but the model declares ${typeStr(decl)} (${problems.join('; ')})` }
    : { type };
}

export function sameType(a: VType, b: VType): boolean {
  if (a.dtype !== b.dtype || a.container !== b.container) return false;
  if (!a.shape || !b.shape) return a.shape === b.shape;
  return a.shape.length === b.shape.length && a.shape.every((d, i) => dimToString(d) === dimToString(b.shape![i]!));
}

/** The common type of two alternatives (If branches, loop iterations): differing dims become `fresh(i)`. */
export function unify(a: VType, b: VType, fresh: (i: number) => Dim): VType {
  const dtype = a.dtype ?? b.dtype;
  let shape: Shape | null = null;
  if (a.shape && b.shape && a.shape.length === b.shape.length) {
    const bs = b.shape;
    shape = a.shape.map((d, i) => (dimToString(d) === dimToString(bs[i]!) ? d : fresh(i)));
  }
  const container = a.container ?? b.container;
  return container ? { dtype, shape, container } : { dtype, shape };
}
