// Least squares for the cost model's lines (`fleetc tune`): a handful of non-negative
// coefficients fitted to measured times, robust to a few disturbed measurements (Huber weights),
// and fitted only where the measurements determine them — a coefficient whose estimate is not at
// least twice its standard error keeps the value the caller falls back to.

export interface LinearFit {
  /** One coefficient per column. */
  coef: number[];
  /** Per column: whether the measurements determined it (else it is the fallback value). */
  fitted: boolean[];
  /** Standard errors of the fitted coefficients (NaN for fallback ones). */
  se: number[];
  /** Samples used. */
  n: number;
  /** The final robust weight of each sample (1: a full sample, < 1: down-weighted as an outlier). */
  robustWeights: number[];
}

export interface LinearFitOptions {
  /** Per-sample weights (e.g. 1/variance); default 1. */
  weights?: number[];
  /** A coefficient is fitted when estimate / standard error reaches this (default 2). */
  minT?: number;
  /** Huber's tuning constant in robust standard deviations (default 1.345); Infinity: plain least squares. */
  huber?: number;
  /** Robust reweighting rounds (default 8). */
  rounds?: number;
}

/**
 * Fits y ≈ X·β with β ≥ 0. Columns the data cannot determine (constant zero, collinear, or an
 * estimate within two standard errors of zero or negative) are fixed at `fallback[j]` and the
 * rest refitted, one column at a time, weakest first. Iteratively reweighted least squares with
 * Huber weights on residuals scaled by their median absolute deviation.
 */
export function fitLinear(X: number[][], y: number[], fallback: number[], opts: LinearFitOptions = {}): LinearFit {
  const n = y.length;
  const k = fallback.length;
  const minT = opts.minT ?? 2;
  const c = opts.huber ?? 1.345;
  const base = opts.weights ?? new Array<number>(n).fill(1);
  const free = new Array<boolean>(k).fill(true);
  let robust = new Array<number>(n).fill(1);
  let sol = solve(X, y, base, robust, free, fallback, Number.isFinite(c));
  for (let round = 0; round <= k; round++) {
    // Robust weights for these columns (iteratively reweighted), then drop the weakest column
    // that is not significant and positive (on a tie the last: the constant goes last), and again.
    for (let i = 0; Number.isFinite(c) && i < (opts.rounds ?? 8); i++) {
      const next = huberWeights(X, y, base, sol.coef, c);
      const moved = next.some((w, j) => Math.abs(w - robust[j]!) > 1e-3);
      robust = next;
      sol = solve(X, y, base, robust, free, fallback, Number.isFinite(c));
      if (!moved) break;
    }
    let worst = -1;
    let worstT = Infinity;
    for (let j = 0; j < k; j++) {
      if (!free[j]) continue;
      const t = sol.se[j]! > 0 ? sol.coef[j]! / sol.se[j]! : sol.coef[j]! > 0 && n > freeCount(free) ? Infinity : 0;
      if (!(t >= minT) && (Number.isNaN(t) ? -Infinity : t) <= worstT) {
        worst = j;
        worstT = Number.isNaN(t) ? -Infinity : t;
      }
    }
    if (worst < 0) break;
    free[worst] = false;
    sol = solve(X, y, base, robust, free, fallback, Number.isFinite(c));
  }
  return { coef: sol.coef, fitted: free, se: sol.se.map((s, j) => (free[j] ? s : NaN)), n, robustWeights: robust };
}

function freeCount(free: boolean[]): number {
  return free.reduce((a, f) => a + (f ? 1 : 0), 0);
}

/** Weighted least squares for the free columns, the others fixed; standard errors from the weighted residuals. */
function solve(
  X: number[][],
  y: number[],
  base: number[],
  robust: number[],
  free: boolean[],
  fallback: number[],
  robustScale = false,
): { coef: number[]; se: number[] } {
  const k = fallback.length;
  const coef = fallback.map((v, j) => (free[j] ? 0 : v));
  const se = new Array<number>(k).fill(NaN);
  const n = y.length;
  // The part of y the fixed columns explain is taken off first.
  const r = y.map((yi, i) => yi - X[i]!.reduce((s, x, j) => (free[j] ? s : s + x * fallback[j]!), 0));
  const w = base.map((b, i) => b * robust[i]!);
  // Columns scaled to unit weighted RMS, so that FLOPs (1e9) and a constant (1) condition alike;
  // a column that is zero wherever there is weight says nothing.
  const rms = (j: number): number => {
    let s = 0;
    let sw = 0;
    for (let i = 0; i < n; i++) {
      s += w[i]! * X[i]![j]! ** 2;
      sw += w[i]!;
    }
    return sw > 0 && s > 0 ? Math.sqrt(s / sw) : 0;
  };
  const cols: number[] = [];
  for (let j = 0; j < k; j++) {
    if (!free[j]) continue;
    if (rms(j) > 0) cols.push(j);
    else se[j] = Infinity;
  }
  const m = cols.length;
  if (m === 0) return { coef, se };
  const scale = cols.map(rms);
  const A = Array.from({ length: m }, () => new Array<number>(m).fill(0));
  const b = new Array<number>(m).fill(0);
  for (let i = 0; i < n; i++) {
    const wi = w[i]!;
    if (!(wi > 0)) continue;
    const row = cols.map((j, a) => (scale[a]! > 0 ? X[i]![j]! / scale[a]! : 0));
    for (let a = 0; a < m; a++) {
      b[a]! += wi * row[a]! * r[i]!;
      for (let c = 0; c < m; c++) A[a]![c]! += wi * row[a]! * row[c]!;
    }
  }
  const inv = invert(A);
  if (!inv) {
    // Singular (a zero or collinear column): no column is determined on its own.
    for (const j of cols) se[j] = Infinity;
    return { coef, se };
  }
  const beta = inv.map((rowInv) => rowInv.reduce((s, v, c) => s + v * b[c]!, 0));
  let rss = 0;
  let used = 0;
  for (let i = 0; i < n; i++) {
    const wi = w[i]!;
    if (!(wi > 0)) continue;
    let fit = 0;
    cols.forEach((j, a) => (fit += scale[a]! > 0 ? (X[i]![j]! / scale[a]!) * beta[a]! : 0));
    rss += wi * (r[i]! - fit) ** 2;
    used++;
  }
  const dof = used - m;
  // Under robust weights the weighted residual sum still grows with each outlier's size; the
  // residuals' scale is then their median absolute deviation (the scale the weights were made with).
  let sigma2 = dof > 0 ? rss / dof : Infinity;
  if (robustScale && dof > 0) {
    const z: number[] = [];
    for (let i = 0; i < n; i++) {
      if (!(base[i]! > 0)) continue;
      let fit = 0;
      cols.forEach((j, a) => (fit += scale[a]! > 0 ? (X[i]![j]! / scale[a]!) * beta[a]! : 0));
      z.push(Math.abs(r[i]! - fit) * Math.sqrt(base[i]!));
    }
    sigma2 = Math.min(sigma2, (1.4826 * median(z)) ** 2 * (used / dof));
  }
  cols.forEach((j, a) => {
    coef[j] = scale[a]! > 0 ? beta[a]! / scale[a]! : 0;
    const v = inv[a]![a]! * sigma2;
    se[j] = scale[a]! > 0 ? Math.sqrt(Math.max(0, v)) / scale[a]! : Infinity;
  });
  return { coef, se };
}

/** Huber weights of the residuals, scaled by 1.4826 × their weighted median absolute deviation. */
function huberWeights(X: number[][], y: number[], base: number[], coef: number[], c: number): number[] {
  const z = y.map((yi, i) => (yi - X[i]!.reduce((s, x, j) => s + x * coef[j]!, 0)) * Math.sqrt(base[i]!));
  const scale = 1.4826 * median(z.map(Math.abs));
  if (!(scale > 0)) return z.map(() => 1);
  return z.map((zi) => (Math.abs(zi) <= c * scale ? 1 : (c * scale) / Math.abs(zi)));
}

export function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/** Inverse of a small symmetric positive semi-definite matrix (Gauss–Jordan, partial pivoting); null when singular. */
function invert(A: number[][]): number[][] | null {
  const m = A.length;
  const M = A.map((row, i) => [...row, ...Array.from({ length: m }, (_, j) => (i === j ? 1 : 0))]);
  const norm = Math.max(...A.map((row) => Math.max(...row.map(Math.abs))));
  for (let col = 0; col < m; col++) {
    let piv = col;
    for (let r = col + 1; r < m; r++) if (Math.abs(M[r]![col]!) > Math.abs(M[piv]![col]!)) piv = r;
    if (!(Math.abs(M[piv]![col]!) > 1e-12 * Math.max(1, norm))) return null;
    [M[col], M[piv]] = [M[piv]!, M[col]!];
    const p = M[col]![col]!;
    for (let c = 0; c < 2 * m; c++) M[col]![c]! /= p;
    for (let r = 0; r < m; r++) {
      if (r === col) continue;
      const f = M[r]![col]!;
      if (f === 0) continue;
      for (let c = 0; c < 2 * m; c++) M[r]![c]! -= f * M[col]![c]!;
    }
  }
  return M.map((row) => row.slice(m));
}
