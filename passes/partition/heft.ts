import { allowed, residents, type Problem } from './problem.js';
import { adj, fits, memoryOf, simulate, type Schedule } from './simulate.js';

export type Objective = 'latency' | 'throughput';

export function score(s: Schedule, objective: Objective): number {
  return objective === 'latency' ? s.latency : s.bottleneck;
}

/** Tasks with no allowed device: the caller reports them (no silent fallback). */
export function unplaceable(p: Problem): number[] {
  return p.tasks.filter((t) => !p.devices.some((_d, i) => allowed(t, i))).map((t) => t.id);
}

/**
 * HEFT-style list scheduling: tasks in order of upward rank (mean time over allowed devices plus
 * mean transfer), each to the allowed device where it finishes earliest, skipping devices whose
 * weights and working set would overflow.
 */
export function heft(p: Problem): number[] {
  const { preds, succs, order } = adj(p);
  const n = p.tasks.length;
  const D = p.devices.length;
  const meanTime = p.tasks.map((t) => {
    const ok = t.time.filter((_x, d) => allowed(t, d));
    return ok.reduce((a, b) => a + b, 0) / Math.max(1, ok.length);
  });
  const meanComm = (bytes: number): number => {
    let sum = 0;
    let count = 0;
    for (let a = 0; a < D; a++)
      for (let b = 0; b < D; b++)
        if (a !== b) {
          sum += p.comm(a, b, bytes);
          count++;
        }
    return count ? sum / count : 0;
  };
  const rank = new Array<number>(n).fill(0);
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i]!;
    let best = 0;
    for (const s of succs[t]!) best = Math.max(best, meanComm(s.bytes) + rank[s.task]!);
    rank[t] = meanTime[t]! + best;
  }
  const topoIndex = new Array<number>(n);
  order.forEach((t, i) => (topoIndex[t] = i));
  const prio = [...order].sort((a, b) => rank[b]! - rank[a]! || topoIndex[a]! - topoIndex[b]!);

  const placement = new Array<number>(n).fill(-1);
  const finish = new Array<number>(n).fill(0);
  const free = new Array<number>(D).fill(0);
  const weightsOn = Array.from({ length: D }, () => new Map<string, number>());
  const used = new Array<number>(D).fill(0);
  const inputBytes = new Array<number>(n).fill(0);
  for (const f of p.inputs) inputBytes[f.to]! += f.bytes;
  const done = new Array<boolean>(n).fill(false);
  const queue = [...prio];
  while (queue.length) {
    const idx = queue.findIndex((t) => preds[t]!.every((q) => done[q.task]));
    const t = queue.splice(idx, 1)[0]!;
    const task = p.tasks[t]!;
    let bestD = -1;
    let bestEft = Infinity;
    let fallbackD = -1;
    let fallbackEft = Infinity;
    for (let d = 0; d < D; d++) {
      if (!allowed(task, d)) continue;
      let ready = inputBytes[t]! ? p.comm(p.home, d, inputBytes[t]!) : 0;
      for (const q of preds[t]!) ready = Math.max(ready, finish[q.task]! + p.comm(placement[q.task]!, d, q.bytes));
      const eft = Math.max(ready, free[d]!) + task.time[d]!;
      let extra = task.workBytes;
      for (const [w, b] of residents(p, t, d)) if (!weightsOn[d]!.has(w)) extra += b;
      if (eft < fallbackEft) [fallbackD, fallbackEft] = [d, eft];
      if (used[d]! + extra > p.capacity[d]!) continue;
      if (eft < bestEft) [bestD, bestEft] = [d, eft];
    }
    const d = bestD >= 0 ? bestD : fallbackD;
    if (d < 0) throw new Error(`task ${task.name} has no allowed device`);
    placement[t] = d;
    finish[t] = bestD >= 0 ? bestEft : fallbackEft;
    free[d] = finish[t]!;
    for (const [w, b] of residents(p, t, d))
      if (!weightsOn[d]!.has(w)) {
        weightsOn[d]!.set(w, b);
        used[d]! += b;
      }
    done[t] = true;
  }
  return placement;
}

/**
 * Local refinement: move single tasks, then whole runs of consecutive tasks, to other allowed
 * devices while the objective improves and memory fits. Deterministic: candidates are tried in
 * task order and device order, and a move must improve by a relative 1e-9.
 */
/**
 * A cap on schedule simulations shared by the searches of one solve, so that compile time stays
 * bounded on large graphs. Counting evaluations (not wall time) keeps plans deterministic.
 */
export interface SearchBudget {
  evaluations: number;
}

export function refine(
  p: Problem,
  start: number[],
  objective: Objective,
  maxRounds = 8,
  priority?: number[],
  budget: SearchBudget = { evaluations: Infinity },
): Schedule {
  let cur = simulate(p, start, priority);
  let curFits = fits(p, cur);
  const better = (s: Schedule): boolean => {
    const f = fits(p, s);
    if (f !== curFits) return f;
    if (!f) return overflow(p, s) < overflow(p, cur) - 1;
    return score(s, objective) < score(cur, objective) * (1 - 1e-9);
  };
  const { order, succs } = adj(p);
  const D = p.devices.length;
  // Move groups: single tasks, runs of consecutive tasks, and each task with one successor.
  const groups: number[][] = [];
  for (const span of [1, 2, 4, 8, 16])
    for (let i = 0; i + span <= order.length; i += span === 1 ? 1 : Math.max(1, span >> 1))
      groups.push(order.slice(i, i + span));
  if (p.tasks.length <= 400) for (const t of order) for (const s of succs[t]!) groups.push([t, s.task]);
  for (let round = 0; round < maxRounds; round++) {
    let improved = false;
    {
      for (const group of groups) {
        for (let d = 0; d < D; d++) {
          if (group.every((t) => cur.placement[t] === d)) continue;
          if (!group.every((t) => allowed(p.tasks[t]!, d))) continue;
          if (budget.evaluations-- <= 0) return cur;
          const next = [...cur.placement];
          for (const t of group) next[t] = d;
          const s = simulate(p, next, priority ? cur.priority : undefined);
          if (better(s)) {
            cur = s;
            curFits = fits(p, s);
            improved = true;
          }
        }
      }
    }
    if (!improved) break;
  }
  return cur;
}

/** Bytes over capacity, summed over devices. */
export function overflow(p: Problem, s: Schedule): number {
  return memoryOf(p, s).memory.reduce((sum, m, d) => sum + Math.max(0, m - p.capacity[d]!), 0);
}

/**
 * Improves the dispatch order of a placed schedule: each task is tried earlier in the priority
 * list (which list scheduling cannot discover from ranks alone, e.g. a short task whose
 * successors feed another device should run before a long one). Small graphs only.
 */
export function reorder(
  p: Problem,
  s: Schedule,
  objective: Objective,
  maxTasks = 120,
  budget: SearchBudget = { evaluations: Infinity },
): Schedule {
  if (p.tasks.length > maxTasks) return s;
  let cur = s;
  for (let round = 0; round < 4; round++) {
    let improved = false;
    for (let i = 1; i < cur.priority.length; i++) {
      for (let j = 0; j < i; j++) {
        const prio = [...cur.priority];
        const [t] = prio.splice(i, 1);
        prio.splice(j, 0, t!);
        if (budget.evaluations-- <= 0) return cur;
        const next = simulate(p, cur.placement, prio);
        if (score(next, objective) < score(cur, objective) * (1 - 1e-9) && fits(p, next) >= fits(p, cur)) {
          cur = next;
          improved = true;
          break;
        }
      }
    }
    if (!improved) break;
  }
  return cur;
}
