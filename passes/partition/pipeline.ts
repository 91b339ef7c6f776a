import { allowed, residents, type Problem } from './problem.js';
import { adj } from './simulate.js';

/**
 * Pipeline cuts for throughput: the tasks, in topological order, are cut into contiguous
 * stages, each stage on its own device; dynamic programming over (prefix, set of devices used)
 * minimises the slowest stage, counting each stage's compute and the transfer into it. Stage
 * weights must fit the device. Exact for that family of plans when devices ≤ 8.
 */
export function pipelineCuts(p: Problem): number[] | null {
  const { order, preds } = adj(p);
  const n = order.length;
  const D = p.devices.length;
  if (D > 8 || n === 0) return null;
  const pos = new Array<number>(n);
  order.forEach((t, i) => (pos[t] = i));
  // prefix sums of time per device, and weight bytes per device over [i, j)
  const pre = Array.from({ length: D }, (_x, d) => {
    const s = new Array<number>(n + 1).fill(0);
    order.forEach((t, i) => (s[i + 1] = s[i]! + (allowed(p.tasks[t]!, d) ? p.tasks[t]!.time[d]! : Infinity)));
    return s;
  });
  const FULL = 1 << D;
  // best[j][mask] over prefixes of length j ending with a stage on device last[j][mask]
  const best = Array.from({ length: n + 1 }, () => new Float64Array(FULL).fill(Infinity));
  const from = Array.from({ length: n + 1 }, () => new Int32Array(FULL).fill(-1));
  const dev = Array.from({ length: n + 1 }, () => new Int8Array(FULL).fill(-1));
  best[0]![0] = 0;
  for (let i = 0; i < n; i++) {
    for (let mask = 0; mask < FULL; mask++) {
      const base = best[i]![mask]!;
      if (base === Infinity) continue;
      const prevDev = i === 0 ? p.home : dev[i]![mask]!;
      for (let d = 0; d < D; d++) {
        if (mask & (1 << d)) continue;
        // Extend the stage [i, j) one task at a time, keeping its incoming bytes and weights.
        let crossing = 0;
        let weightBytes = 0;
        const seen = new Set<string>();
        for (let j = i + 1; j <= n; j++) {
          const t = order[j - 1]!;
          for (const q of preds[t]!) if (pos[q.task]! < i) crossing += q.bytes;
          for (const [w, bytes] of residents(p, t, d))
            if (!seen.has(w)) {
              seen.add(w);
              weightBytes += bytes;
            }
          const compute = pre[d]![j]! - pre[d]![i]!;
          if (compute === Infinity || weightBytes > p.capacity[d]!) break;
          const stage = compute + p.comm(prevDev, d, crossing);
          const val = Math.max(base, stage);
          const m2 = mask | (1 << d);
          if (val < best[j]![m2]!) {
            best[j]![m2] = val;
            from[j]![m2] = i;
            dev[j]![m2] = d;
          }
        }
      }
    }
  }
  let bestMask = -1;
  for (let mask = 1; mask < FULL; mask++)
    if (best[n]![mask]! < (bestMask < 0 ? Infinity : best[n]![bestMask]!)) bestMask = mask;
  if (bestMask < 0) return null;
  const placement = new Array<number>(n).fill(-1);
  for (let j = n, mask = bestMask; j > 0;) {
    const i = from[j]![mask]!;
    const d = dev[j]![mask]!;
    for (let k = i; k < j; k++) placement[order[k]!] = d;
    mask &= ~(1 << d);
    j = i;
  }
  return placement;
}
