import type { DType } from '../../ir/dtype.js';

/**
 * The 8- and 4-bit float formats MLIR calls f8E4M3FN, f8E4M3FNUZ, f8E5M2, f8E5M2FNUZ, f4E2M1FN
 * and f8E8M0FNU: decoding of every code, and encoding of a literal as the nearest code (ties to
 * the even code), as MLIR's APFloat does for in-range values.
 */
interface Format {
  exp: number;
  man: number;
  bias: number;
  /** How NaN and infinity are spelled. */
  kind: 'ieee' | 'fn' | 'fnuz' | 'finite' | 'e8m0';
}

const FORMATS: Partial<Record<DType, Format>> = {
  float8e4m3fn: { exp: 4, man: 3, bias: 7, kind: 'fn' },
  float8e4m3fnuz: { exp: 4, man: 3, bias: 8, kind: 'fnuz' },
  float8e5m2: { exp: 5, man: 2, bias: 15, kind: 'ieee' },
  float8e5m2fnuz: { exp: 5, man: 2, bias: 16, kind: 'fnuz' },
  float4e2m1: { exp: 2, man: 1, bias: 1, kind: 'finite' },
  float8e8m0: { exp: 8, man: 0, bias: 127, kind: 'e8m0' },
};

export function isMinifloat(dt: DType): boolean {
  return dt in FORMATS;
}

function decode(f: Format, code: number): number {
  if (f.kind === 'e8m0') return code === 255 ? NaN : 2 ** (code - f.bias);
  const bits = 1 + f.exp + f.man;
  if (f.kind === 'fnuz' && code === 1 << (bits - 1)) return NaN;
  const sign = code >> (bits - 1) ? -1 : 1;
  const e = (code >> f.man) & ((1 << f.exp) - 1);
  const m = code & ((1 << f.man) - 1);
  const emax = (1 << f.exp) - 1;
  if (f.kind === 'ieee' && e === emax) return m ? NaN : sign * Infinity;
  if (f.kind === 'fn' && e === emax && m === (1 << f.man) - 1) return NaN;
  if (e === 0) return sign * m * 2 ** (1 - f.bias - f.man);
  return sign * (1 + m / 2 ** f.man) * 2 ** (e - f.bias);
}

const tables = new Map<DType, number[]>();

function table(dt: DType): number[] {
  let t = tables.get(dt);
  if (!t) {
    const f = FORMATS[dt]!;
    const n = 1 << (f.kind === 'e8m0' ? 8 : 1 + f.exp + f.man);
    t = Array.from({ length: n }, (_, c) => decode(f, c));
    tables.set(dt, t);
  }
  return t;
}

export function decodeMinifloat(dt: DType, code: number): number {
  return table(dt)[code]!;
}

/** The code of the value nearest to `v` (ties to an even code); NaN and ±inf where the format has them. */
export function encodeMinifloat(dt: DType, v: number): number {
  const t = table(dt);
  const f = FORMATS[dt]!;
  if (Number.isNaN(v) || (!Number.isFinite(v) && f.kind !== 'ieee')) {
    const nan = t.findIndex((x) => Number.isNaN(x));
    if (nan >= 0) return nan;
  }
  let best = -1;
  let bestErr = Infinity;
  for (let c = 0; c < t.length; c++) {
    const x = t[c]!;
    if (Number.isNaN(x)) continue;
    if (x === v) {
      if (Object.is(x, -0) === Object.is(v, -0)) return c;
      if (best < 0) best = c;
      bestErr = 0;
      continue;
    }
    const err = Math.abs(x - v);
    if (err < bestErr || (err === bestErr && (c & 1) === 0 && (best & 1) === 1)) {
      best = c;
      bestErr = err;
    }
  }
  return best;
}
