import type { DType } from '../../../src/ir/dtype.js';
import type { Dim, Shape } from '../../../src/ir/sym.js';
import type { OpCtx, ShapeFn } from '../context.js';
import { ShapeError } from '../types.js';
import { broadcast, t } from './util.js';

/** numpy matmul shapes: 1-D operands are promoted and the promoted dim dropped again. */
export function matmulShape(a: Shape | null, b: Shape | null): Shape | null {
  if (!a || !b) return null;
  if (a.length === 0 || b.length === 0) throw new ShapeError('MatMul operands must not be scalars');
  const a2 = a.length === 1 ? [1, a[0]!] : a;
  const b2 = b.length === 1 ? [b[0]!, 1] : b;
  const batch = broadcast([a2.slice(0, -2), b2.slice(0, -2)]);
  if (!batch) return null;
  const out: Dim[] = [...batch];
  if (a.length !== 1) out.push(a2[a2.length - 2]!);
  if (b.length !== 1) out.push(b2[b2.length - 1]!);
  return out;
}

function matmulLike(dtype: (c: OpCtx) => DType | null, a = 0, b = 1): ShapeFn {
  return (c) => [t(dtype(c), matmulShape(c.shape(a), c.shape(b)))];
}

const gemm: ShapeFn = (c) => {
  const a = c.shape(0);
  const b = c.shape(1);
  if (!a || !b) return [t(c.dtype(0), null)];
  const m = c.attrInt('transA', 0) ? a[1] : a[0];
  const n = c.attrInt('transB', 0) ? b[0] : b[1];
  if (m === undefined || n === undefined) throw new ShapeError('Gemm operands must be 2-D');
  return [t(c.dtype(0), [m, n])];
};

/** Einsum: labels in the output (explicit `->` or the implicit sorted once-only labels). */
const einsum: ShapeFn = (c) => {
  const eq = c.attrStr('equation', '').replace(/\s/g, '');
  const [lhs, rhsGiven] = eq.split('->') as [string, string | undefined];
  const terms = lhs.split(',');
  const dims = new Map<string, Dim>();
  let ellipsis: Shape | null = [];
  const counts = new Map<string, number>();
  for (let i = 0; i < terms.length; i++) {
    const s = c.shape(i);
    const term = terms[i]!;
    const letters = term.replace('...', '');
    for (const ch of letters) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    if (!s) {
      ellipsis = term.includes('...') ? null : ellipsis;
      continue;
    }
    const ell = s.length - letters.length;
    if (ell < 0) throw new ShapeError(`einsum term '${term}' does not match rank ${s.length}`);
    let k = 0;
    for (let p = 0; p < term.length; p++) {
      if (term.startsWith('...', p)) {
        const part = s.slice(k, k + ell);
        if (ellipsis) ellipsis = broadcast([ellipsis, part]);
        k += ell;
        p += 2;
        continue;
      }
      const ch = term[p]!;
      const d = s[k++]!;
      const prev = dims.get(ch);
      if (prev === undefined || prev === 1) dims.set(ch, d);
    }
  }
  const rhs =
    rhsGiven ??
    (lhs.includes('...') ? '...' : '') +
      [...counts]
        .filter(([, n]) => n === 1)
        .map(([ch]) => ch)
        .sort()
        .join('');
  const out: Dim[] = [];
  for (let p = 0; p < rhs.length; p++) {
    if (rhs.startsWith('...', p)) {
      if (!ellipsis) return [t(c.dtype(0), null)];
      out.push(...ellipsis);
      p += 2;
      continue;
    }
    const d = dims.get(rhs[p]!);
    if (d === undefined) return [t(c.dtype(0), null)];
    out.push(d);
  }
  return [t(c.dtype(0), out)];
};

export const LINALG_OPS: Record<string, ShapeFn> = {
  MatMul: matmulLike((c) => c.dtype(0)),
  MatMulInteger: matmulLike(() => 'int32'),
  QLinearMatMul: matmulLike((c) => c.dtype(7), 0, 3),
  Gemm: gemm,
  Einsum: einsum,
  Det: (c) => {
    const s = c.shape(0);
    return [t(c.dtype(0), s ? s.slice(0, -2) : null)];
  },
};
