import type { Problem } from './problem.js';
import { allowed } from './problem.js';
import { score, type Objective } from './heft.js';
import { simulate, type Schedule } from './simulate.js';

export interface Alternative {
  device: string;
  /** The plan's objective with this segment moved there, or why the device was refused. */
  objective?: number;
  refused?: string;
}

export interface Placement {
  segment: number;
  name: string;
  ops: string[];
  device: string;
  /** One sentence: why here. */
  reason: string;
  /** Seconds of compute on the chosen device. */
  time: number;
  alternatives: Alternative[];
}

/**
 * Why each segment went where it did: pinned, the only device that can run it, or the device
 * that gives the best plan — with what the plan would cost if this one segment moved to each
 * other device, and the constraint that refused the others.
 */
export function explain(p: Problem, s: Schedule, objective: Objective): Placement[] {
  const base = score(s, objective);
  const unit = objective === 'latency' ? 'latency' : 'time per request at the bottleneck';
  return p.tasks.map((task, t) => {
    const chosen = s.placement[t]!;
    const alternatives: Alternative[] = [];
    for (let d = 0; d < p.devices.length; d++) {
      if (d === chosen) continue;
      const id = p.devices[d]!.id;
      if (!allowed(task, d)) {
        alternatives.push({
          device: id,
          refused: task.pinned !== undefined ? `pinned to ${p.devices[task.pinned]!.id}` : task.refused[d]!,
        });
        continue;
      }
      const next = [...s.placement];
      next[t] = d;
      alternatives.push({ device: id, objective: score(simulate(p, next, s.priority), objective) });
    }
    const open = alternatives.filter((a) => a.objective !== undefined).sort((a, b) => a.objective! - b.objective!);
    const dev = p.devices[chosen]!.id;
    let reason: string;
    if (task.pinned !== undefined) reason = `pinned to ${dev}${task.pinOrigin ? ` by the ${task.pinOrigin}` : ''}`;
    else if (open.length === 0)
      reason = `only ${dev} can run it (${alternatives.map((a) => `${a.device}: ${a.refused}`).join('; ')})`;
    else {
      const best = open[0]!;
      const delta = best.objective! - base;
      reason =
        delta > 0
          ? `${dev} gives the best plan; on ${best.device} the ${unit} would grow by ${fmtPct(delta / base)}`
          : `${dev} ties with ${best.device}; kept where the search placed it (memory or neighbours)`;
    }
    return { segment: t, name: task.name, ops: task.ops, device: dev, reason, time: task.time[chosen]!, alternatives };
  });
}

function fmtPct(x: number): string {
  return x >= 10 ? `${x.toFixed(0)}×` : `${(x * 100).toFixed(x < 0.01 ? 2 : 1)}%`;
}

/** The chain of tasks (and the waits between them) that decides the latency. */
export function criticalPath(p: Problem, s: Schedule, preds: { task: number; bytes: number }[][]): number[] {
  let t = s.finish.indexOf(Math.max(...s.finish));
  const path: number[] = [];
  const eps = 1e-12;
  while (t >= 0) {
    path.unshift(t);
    const start = s.start[t]!;
    let next = -1;
    for (const q of preds[t]!) {
      const arrive = s.finish[q.task]! + p.comm(s.placement[q.task]!, s.placement[t]!, q.bytes);
      if (Math.abs(arrive - start) <= eps + start * 1e-9) next = q.task;
    }
    if (next < 0) {
      // waited for its device: the task that ran just before it there
      let prev = -1;
      s.finish.forEach((f, k) => {
        if (s.placement[k] === s.placement[t] && Math.abs(f - start) <= eps + start * 1e-9 && k !== t) prev = k;
      });
      next = prev;
    }
    if (path.includes(next)) break;
    t = next;
  }
  return path;
}
