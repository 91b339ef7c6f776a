import { dtypeFromCode, type DType } from '../../ir/dtype.js';
import { parseDim, sanitizeSymbol, sym, type Dim, type Shape } from '../../ir/sym.js';
import { clean, fail, type LoadContext, type Where } from './context.js';
import { int64, type TypeProto } from './proto.js';

export interface ValueType {
  dtype: DType | null;
  shape: Shape | null;
  container?: 'sequence' | 'optional' | 'map';
}

export const UNKNOWN_TYPE: ValueType = { dtype: null, shape: null };

/** An element type code; 0 (undefined) is "unknown", codes fleetc does not know are refused. */
export function elemType(ctx: LoadContext, code: number | null | undefined, what: string, where: Where): DType | null {
  if (!code) return null;
  const dt = dtypeFromCode(code);
  if (!dt) fail(ctx, 'E0103', `${what} has element type ${code}, which fleetc does not know`, where);
  return dt;
}

/**
 * TypeProto → dtype, symbolic shape and container. Sequences, optionals and maps keep the
 * outermost container kind (but an optional sequence is a sequence) and the innermost tensor's dtype and shape (a map keeps its value
 * type; its key type is dropped).
 */
export function convertType(ctx: LoadContext, t: TypeProto | null | undefined, value: string, where: Where): ValueType {
  if (!t) return UNKNOWN_TYPE;
  const inner = tensorOf(ctx, t, value, where, 0);
  if (t.tensorType || t.sparseTensorType) return inner;
  // optional<sequence<T>> is kept as sequence<T>: what flows through the graph is the sequence.
  const container =
    t.sequenceType || t.optionalType?.elemType?.sequenceType
      ? 'sequence'
      : t.optionalType
        ? 'optional'
        : t.mapType
          ? 'map'
          : undefined;
  return container ? { ...inner, container } : inner;
}

function tensorOf(ctx: LoadContext, t: TypeProto, value: string, where: Where, depth: number): ValueType {
  if (depth > 16) fail(ctx, 'E0102', `the type of value '${clean(value)}' is nested too deeply`, where);
  if (t.tensorType) {
    const dtype = elemType(ctx, t.tensorType.elemType, `value '${clean(value)}'`, where);
    const dims = t.tensorType.shape ? (t.tensorType.shape.dim ?? []) : null;
    return { dtype, shape: dims ? dims.map((d, axis) => convertDim(ctx, d, value, axis, where)) : null };
  }
  if (t.sparseTensorType)
    fail(
      ctx,
      'E0103',
      `value '${clean(value)}' is a sparse tensor; fleetc supports sparse tensors only as constants`,
      where,
    );
  const elem = t.sequenceType?.elemType ?? t.optionalType?.elemType ?? t.mapType?.valueType;
  return elem ? tensorOf(ctx, elem, value, where, depth + 1) : UNKNOWN_TYPE;
}

interface DimProto {
  dimValue?: number | { low: number; high: number; unsigned: boolean } | null;
  dimParam?: string | null;
}

/**
 * dim_value → number; dim_param → the expression it spells (`past_seq + 1`) or a symbol of its
 * sanitized name; neither (or a negative value, which exporters write for "unknown") → a fresh
 * symbol `unk_<value>_<axis>` that no other dimension shares.
 */
export function convertDim(ctx: LoadContext, d: DimProto, value: string, axis: number, where: Where): Dim {
  if (d.dimValue !== null && d.dimValue !== undefined && Object.prototype.hasOwnProperty.call(d, 'dimValue')) {
    const n = int64(d.dimValue);
    if (n >= 0) {
      if (!Number.isSafeInteger(n))
        fail(ctx, 'E0102', `value '${clean(value)}' has dimension ${n} on axis ${axis}, which is too large`, where);
      return n;
    }
  } else if (d.dimParam) {
    let parsed: Dim | undefined;
    try {
      parsed = parseDim(d.dimParam);
    } catch {
      return sym(sanitizeSymbol(d.dimParam));
    }
    if (typeof parsed !== 'number' || parsed >= 0) return parsed;
  }
  return freshSymbol(ctx, `unk_${value}_${axis}`);
}

export function freshSymbol(ctx: LoadContext, base: string): Dim {
  const clean = sanitizeSymbol(base);
  let name = clean;
  for (let i = 1; ctx.symbols.has(name); i++) name = `${clean}_${i}`;
  ctx.symbols.add(name);
  return sym(name);
}
