/**
 * Arena planning by liveness: tensors whose live intervals overlap get disjoint byte ranges,
 * the others may share. Greedy best-fit in a few orders, keeping the smallest peak; every order
 * breaks ties by index, so the result is deterministic. Intervals are inclusive op indices: a tensor read by op k and a
 * tensor written by op k are both live at k and never share memory.
 */

export const ARENA_ALIGN = 64;

export interface ArenaRequest {
  /** Bytes the tensor needs (rounded up to ARENA_ALIGN by the planner). */
  bytes: number;
  /** First and last op index at which the tensor is live (first = its producer). */
  first: number;
  last: number;
}

export interface ArenaPlan {
  /** Offset of each request, in request order. */
  offsets: number[];
  /** Aligned size of each request. */
  sizes: number[];
  /** The arena's size: the planned peak. */
  peak: number;
  /** Sum of all aligned sizes: what the tensors would take with no reuse. */
  total: number;
  /** The largest sum of sizes live at one op: no plan can be smaller than this. */
  lowerBound: number;
}

export function alignUp(n: number, a = ARENA_ALIGN): number {
  return Math.ceil(n / a) * a;
}

type Order = (sizes: number[], reqs: readonly ArenaRequest[]) => (x: number, y: number) => number;

/** Placement orders tried; the plan with the smallest peak wins (the first on a tie). */
const ORDERS: Order[] = [
  // Largest first.
  (sz, r) => (x, y) => sz[y]! - sz[x]! || r[x]!.first - r[y]!.first || x - y,
  // Largest size × lifetime first.
  (sz, r) => (x, y) => sz[y]! * (r[y]!.last - r[y]!.first + 1) - sz[x]! * (r[x]!.last - r[x]!.first + 1) || x - y,
  // In order of first use (what a bump allocator with reuse would see), larger first.
  (sz, r) => (x, y) => r[x]!.first - r[y]!.first || sz[y]! - sz[x]! || x - y,
];

export function planArena(reqs: readonly ArenaRequest[]): ArenaPlan {
  const sizes = reqs.map((r) => alignUp(Math.max(0, r.bytes)));
  let best: { offsets: number[]; peak: number } | undefined;
  for (const order of ORDERS) {
    const placed = place(reqs, sizes, order(sizes, reqs));
    if (!best || placed.peak < best.peak) best = placed;
  }
  const total = sizes.reduce((a, b) => a + b, 0);
  return { offsets: best!.offsets, sizes, peak: best!.peak, total, lowerBound: liveLowerBound(reqs, sizes) };
}

/** Greedy best-fit: each tensor goes into the smallest gap between the tensors it is live with. */
function place(
  reqs: readonly ArenaRequest[],
  sizes: number[],
  cmp: (x: number, y: number) => number,
): { offsets: number[]; peak: number } {
  const offsets = new Array<number>(reqs.length).fill(0);
  const order = reqs.map((_, i) => i).filter((i) => sizes[i]! > 0);
  order.sort(cmp);
  // Placed tensors by offset (then index), so that the ones live with each new tensor are met in
  // that order without sorting them each time.
  const byOffset: number[] = [];
  let peak = 0;
  for (const t of order) {
    const r = reqs[t]!;
    let prevEnd = 0;
    let bestAt = -1;
    let bestGap = Infinity;
    for (const q of byOffset) {
      const rq = reqs[q]!;
      if (rq.last < r.first || r.last < rq.first) continue;
      const gap = offsets[q]! - prevEnd;
      if (gap >= sizes[t]! && gap < bestGap) {
        bestAt = prevEnd;
        bestGap = gap;
      }
      prevEnd = Math.max(prevEnd, offsets[q]! + sizes[q]!);
    }
    const at = bestAt >= 0 ? bestAt : prevEnd;
    offsets[t] = at;
    peak = Math.max(peak, at + sizes[t]!);
    let lo = 0;
    let hi = byOffset.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = byOffset[mid]!;
      if (offsets[m]! < at || (offsets[m]! === at && m < t)) lo = mid + 1;
      else hi = mid;
    }
    byOffset.splice(lo, 0, t);
  }
  return { offsets, peak };
}

/** The most bytes live at one op (sizes aligned as the planner aligns them), without laying them out. */
export function livePeak(reqs: readonly ArenaRequest[]): number {
  return liveLowerBound(
    reqs,
    reqs.map((r) => alignUp(Math.max(0, r.bytes))),
  );
}

function liveLowerBound(reqs: readonly ArenaRequest[], sizes: number[]): number {
  const events: [number, number][] = [];
  reqs.forEach((r, i) => {
    if (sizes[i]! === 0) return;
    events.push([r.first, sizes[i]!], [r.last + 1, -sizes[i]!]);
  });
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let best = 0;
  for (const [, d] of events) {
    cur += d;
    best = Math.max(best, cur);
  }
  return best;
}

/** Pairs of requests that are live at the same time and overlap in memory (empty for a valid plan). */
export function arenaConflicts(reqs: readonly ArenaRequest[], plan: ArenaPlan): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < reqs.length; i++)
    for (let j = i + 1; j < reqs.length; j++) {
      const a = reqs[i]!;
      const b = reqs[j]!;
      if (a.last < b.first || b.last < a.first) continue;
      const ai = plan.offsets[i]!;
      const bi = plan.offsets[j]!;
      if (plan.sizes[i]! === 0 || plan.sizes[j]! === 0) continue;
      if (ai < bi + plan.sizes[j]! && bi < ai + plan.sizes[i]!) out.push([i, j]);
    }
  return out;
}
