import { score, type Objective, type SearchBudget } from './heft.js';
import { allowed, type Problem } from './problem.js';
import { adj, fits, simulate, type Schedule } from './simulate.js';

/**
 * Pulls segments onto a neighbour's device when that removes cross-device flows and the
 * objective stays within `slack` (relative) of where it started. The search accepts any strict
 * improvement, so a plan can scatter tiny shape ops across idle devices for a gain of
 * nanoseconds that per-message costs the model does not see would eat; fewer channels also make
 * plans easier to read.
 */
export function consolidate(
  p: Problem,
  s: Schedule,
  objective: Objective,
  budget: SearchBudget,
  slack = 2e-3,
): Schedule {
  const { order, preds, succs } = adj(p);
  const limit = score(s, objective) * (1 + slack);
  const cuts = (placement: readonly number[]): number =>
    p.flows.reduce((n, f) => n + (placement[f.from] !== placement[f.to] ? 1 : 0), 0);
  let cur = s;
  let curCuts = cuts(cur.placement);
  for (let round = 0; round < 4; round++) {
    let moved = false;
    for (const t of order) {
      const here = cur.placement[t]!;
      const near = new Set([...preds[t]!, ...succs[t]!].map((n) => cur.placement[n.task]!));
      for (const d of [...near].sort((a, b) => a - b)) {
        if (d === here || !allowed(p.tasks[t]!, d)) continue;
        const next = [...cur.placement];
        next[t] = d;
        const nextCuts = cuts(next);
        if (nextCuts >= curCuts) continue;
        if (budget.evaluations-- <= 0) return cur;
        const sim = simulate(p, next, cur.priority);
        if (score(sim, objective) <= limit && fits(p, sim)) {
          cur = sim;
          curCuts = nextCuts;
          moved = true;
          break;
        }
      }
    }
    if (!moved) break;
  }
  return cur;
}
