import { heft, refine, reorder, score, type Objective, type SearchBudget } from './heft.js';
import { exactPlacementSync } from './milp.js';
import { pipelineCuts } from './pipeline.js';
import { allowed, type Problem } from './problem.js';
import { fits, simulate, type Schedule } from './simulate.js';
import { greedyPriority } from './greedy.js';
import { consolidate } from './consolidate.js';

export interface Solution {
  schedule: Schedule;
  /** Which search produced the plan: 'heft', 'pipeline', 'greedy', 'exact'. */
  method: string;
  /** Candidate plans considered, with their objective, for the report. */
  candidates: { method: string; objective: number; fits: boolean }[];
}

/**
 * The heuristic search: HEFT list scheduling, the greedy baseline, every op on one device (each
 * device that can run them all) and (for throughput) dynamic-programming pipeline cuts as seeds,
 * each refined by local moves; the best plan that fits in memory wins (ties keep the earlier seed,
 * so results are deterministic). The one-device seeds matter where HEFT starts on a device that
 * prices the first ops lower: moving any one segment off it then costs two transfers, so local
 * moves never reach the plan that keeps everything on the other device.
 */
export function solveHeuristic(p: Problem, objective: Objective): Solution {
  const single = oneDeviceSeeds(p);
  const seeds: [string, number[] | null, number][] = [
    ['heft', heft(p), 1],
    ['greedy', greedyPriority(p), 1],
    // together no more search than one other seed
    ...single.map(([name, placement]): [string, number[], number] => [name, placement, 1 / single.length]),
  ];
  if (objective === 'throughput') seeds.push(['pipeline', pipelineCuts(p), 1]);
  // Enough for exhaustive local search on graphs of ~100 segments; larger graphs stop early.
  const budget: SearchBudget = { evaluations: Math.max(4000, Math.round(4e6 / Math.max(1, p.tasks.length ** 2))) };
  let best: Solution | undefined;
  const candidates: Solution['candidates'] = [];
  for (const [method, seed, part] of seeds) {
    if (!seed) continue;
    // Each seed gets its own share of the budget.
    const share: SearchBudget = { evaluations: Math.ceil(budget.evaluations * part) };
    const s =
      objective === 'latency'
        ? alternate(p, refine(p, seed, objective, 8, undefined, share), share)
        : refine(p, seed, objective, 8, undefined, share);
    const ok = fits(p, s);
    candidates.push({ method, objective: score(s, objective), fits: ok });
    const cur = best?.schedule;
    const curOk = cur ? fits(p, cur) : false;
    if (!cur || (ok && !curOk) || (ok === curOk && score(s, objective) < score(cur, objective) * (1 - 1e-9)))
      best = { schedule: s, method, candidates };
  }
  best!.schedule = consolidate(p, best!.schedule, objective, { evaluations: budget.evaluations });
  return best!;
}

/** Every task on device d, for each device that may run every task. */
function oneDeviceSeeds(p: Problem): [string, number[]][] {
  return p.devices
    .map((dev, d): [string, number[]] => [`one device (${dev.id})`, p.tasks.map(() => d)])
    .filter(([, placement]) => placement.every((d, t) => allowed(p.tasks[t]!, d)));
}

/** Alternates dispatch-order improvement and placement moves under that order. */
function alternate(p: Problem, s: Schedule, budget: SearchBudget): Schedule {
  let cur = s;
  for (let i = 0; i < 3; i++) {
    const next = refine(p, cur.placement, 'latency', 4, reorder(p, cur, 'latency', 120, budget).priority, budget);
    if (!(next.latency < cur.latency * (1 - 1e-9))) break;
    cur = next;
  }
  return cur;
}

/**
 * The heuristic, then the exact MILP when asked (or, with 'auto', when the graph is small and
 * the solver is loaded); the better plan wins.
 */
export function solve(p: Problem, objective: Objective, exact: boolean | 'auto' = 'auto'): Solution {
  // One device: nothing to search.
  if (p.devices.length === 1)
    return {
      schedule: simulate(
        p,
        p.tasks.map(() => 0),
      ),
      method: 'one device',
      candidates: [],
    };
  const h = solveHeuristic(p, objective);
  const useExact = exact === true || (exact === 'auto' && p.tasks.length <= 12 && p.devices.length <= 4);
  if (!useExact) return h;
  const e = exactPlacementSync(p, objective);
  if (!e.placement || e.placement.includes(-1)) return h;
  const s = simulate(p, e.placement);
  h.candidates.push({ method: 'exact', objective: score(s, objective), fits: fits(p, s) });
  if (fits(p, s) && score(s, objective) < score(h.schedule, objective) * (1 - 1e-9))
    return { schedule: s, method: 'exact', candidates: h.candidates };
  return h;
}
