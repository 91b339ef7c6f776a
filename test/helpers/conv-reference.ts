/** A conv's geometry: square kernel, the same stride and padding on both axes. */
export interface ConvShape {
  C: number;
  H: number;
  W: number;
  M: number;
  k: number;
  stride: number;
  pad: number;
  group: number;
  /** images in the batch (default 1) */
  N?: number;
}

/** n test values in [-1, 1] from a seed (a small LCG: the same values on every run). */
export function values(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return ((s >>> 8) % 2001) / 1000 - 1;
  });
}

/** The conv's output size along H and W. */
export function convOut(c: ConvShape): { OH: number; OW: number } {
  return {
    OH: Math.floor((c.H + 2 * c.pad - c.k) / c.stride) + 1,
    OW: Math.floor((c.W + 2 * c.pad - c.k) / c.stride) + 1,
  };
}

/** NCHW conv of the batch, float64: y = conv(x, w) + b. */
export function convReference(x: Float64Array, w: Float64Array, b: Float64Array, c: ConvShape): Float64Array {
  const { OH, OW } = convOut(c);
  const Cg = c.C / c.group;
  const Mg = c.M / c.group;
  const y = new Float64Array((c.N ?? 1) * c.M * OH * OW);
  for (let nm = 0; nm < (c.N ?? 1) * c.M; nm++) {
    const n = Math.floor(nm / c.M);
    const m = nm % c.M;
    const gi = Math.floor(m / Mg);
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        let s = b[m]!;
        for (let ci = 0; ci < Cg; ci++)
          for (let kh = 0; kh < c.k; kh++)
            for (let kw = 0; kw < c.k; kw++) {
              const ih = oh * c.stride - c.pad + kh;
              const iw = ow * c.stride - c.pad + kw;
              if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
              s += x[((n * c.C + gi * Cg + ci) * c.H + ih) * c.W + iw]! * w[((m * Cg + ci) * c.k + kh) * c.k + kw]!;
            }
        y[(nm * OH + oh) * OW + ow] = s;
      }
  }
  return y;
}
