import highsModule, { type Highs } from 'highs';
import { route } from '../../src/fleet/route.js';
import { allowed, type Problem } from './problem.js';
import { adj } from './simulate.js';
import type { Objective } from './heft.js';

export interface ExactResult {
  status: string;
  placement: number[] | null;
  /** The solver's objective: makespan (latency) or bottleneck seconds (throughput). */
  objective: number | null;
}

// The package is CommonJS with ESM-style typings; at run time the default import is the loader.
const highsLoader = highsModule as unknown as () => Promise<Highs>;
let solver: Promise<Highs> | undefined;

/**
 * The exact placement as a mixed-integer program, solved by HiGHS. It models what the
 * simulator models: per-device sequential execution (disjunctive constraints with ordering
 * binaries), transfer delays between devices, inputs from and outputs to the home device, and
 * distinct weights per device within capacity (activations are not modelled; compare on fleets
 * where weights bind). Meant for small graphs (tens of tasks).
 */
export async function exactPlacement(p: Problem, objective: Objective, timeLimit = 30): Promise<ExactResult> {
  await loadExactSolver();
  return exactPlacementSync(p, objective, timeLimit);
}

let loaded: Highs | undefined;

/** Loads the HiGHS WebAssembly module once; exactPlacementSync needs it loaded. */
export async function loadExactSolver(): Promise<void> {
  solver ??= highsLoader();
  loaded = await solver;
}

export function exactPlacementSync(p: Problem, objective: Objective, timeLimit = 30): ExactResult {
  if (!loaded) return { status: 'solver not loaded', placement: null, objective: null };
  const lp = objective === 'latency' ? latencyModel(p) : throughputModel(p);
  const h = loaded;
  const res = h.solve(lp, { time_limit: timeLimit, mip_rel_gap: 1e-6 });
  if (res.Status !== 'Optimal' && res.Status !== 'Time limit reached')
    return { status: res.Status, placement: null, objective: null };
  const placement = p.tasks.map((t) => {
    for (let d = 0; d < p.devices.length; d++) {
      const col = res.Columns[`x_${t.id}_${d}`] as { Primal?: number } | undefined;
      if (col && (col.Primal ?? 0) > 0.5) return d;
    }
    return -1;
  });
  return { status: res.Status, placement, objective: res.ObjectiveValue };
}

// Times are scaled to microseconds so the solver's tolerances are meaningful.
const US = 1e6;

function num(v: number): string {
  return Number.isFinite(v) ? (Math.round(v * 1e9) / 1e9).toString() : '0';
}

function term(coef: number, name: string): string {
  return `${coef < 0 ? '-' : '+'} ${num(Math.abs(coef))} ${name}`;
}

function common(p: Problem, rows: string[], bins: string[]): void {
  for (const t of p.tasks) {
    const xs = p.devices.map((_d, d) => d).filter((d) => allowed(t, d));
    if (!xs.length) throw new Error(`task ${t.name} has no allowed device`);
    rows.push(`assign_${t.id}: ${xs.map((d) => `+ x_${t.id}_${d}`).join(' ')} = 1`);
    for (const d of xs) bins.push(`x_${t.id}_${d}`);
  }
  // distinct weights per device within capacity
  const readers = new Map<string, { bytes: number; tasks: number[] }>();
  for (const t of p.tasks)
    for (const [w, bytes] of t.weights) {
      if (!readers.has(w)) readers.set(w, { bytes, tasks: [] });
      readers.get(w)!.tasks.push(t.id);
    }
  const names = [...readers.keys()];
  p.devices.forEach((_dev, d) => {
    const parts: string[] = [];
    names.forEach((w, k) => {
      const r = readers.get(w)!;
      const on = r.tasks.filter((t) => allowed(p.tasks[t]!, d));
      if (!on.length) return;
      for (const t of on) rows.push(`wl_${k}_${d}_${t}: + w_${k}_${d} - x_${t}_${d} >= 0`);
      bins.push(`w_${k}_${d}`);
      parts.push(term(r.bytes / 1e6, `w_${k}_${d}`));
    });
    if (p.prepares?.[d])
      for (const t of p.tasks) if (t.prepared && allowed(t, d)) parts.push(term(t.prepared / 1e6, `x_${t.id}_${d}`));
    if (parts.length) rows.push(`mem_${d}: ${parts.join(' ')} <= ${num(p.capacity[d]! / 1e6)}`);
  });
}

function latencyModel(p: Problem): string {
  const { succs, order } = adj(p);
  const D = p.devices.length;
  const rows: string[] = [];
  const bins: string[] = [];
  common(p, rows, bins);
  const x = (t: number, d: number): boolean => allowed(p.tasks[t]!, d);
  const dur = (t: number): string =>
    p.devices.map((_v, d) => (x(t, d) ? term(p.tasks[t]!.time[d]! * US, `x_${t}_${d}`) : '')).join(' ');
  const negDur = (t: number): string =>
    p.devices.map((_v, d) => (x(t, d) ? term(-p.tasks[t]!.time[d]! * US, `x_${t}_${d}`) : '')).join(' ');

  let M = 0;
  for (const t of p.tasks) M += Math.max(...t.time.filter(Number.isFinite)) * US;
  let maxComm = 0;
  for (const f of p.flows)
    for (let a = 0; a < D; a++) for (let b = 0; b < D; b++) maxComm = Math.max(maxComm, p.comm(a, b, f.bytes) * US);
  M += maxComm * (p.flows.length + 2);
  const inBytes = new Map<number, number>();
  for (const f of p.inputs) inBytes.set(f.to, (inBytes.get(f.to) ?? 0) + f.bytes);
  const outBytes = new Map<number, number>();
  for (const f of p.outputs) outBytes.set(f.from, (outBytes.get(f.from) ?? 0) + f.bytes);
  for (const [, b] of inBytes) M += Math.max(...p.devices.map((_v, d) => p.comm(p.home, d, b))) * US;
  for (const [, b] of outBytes) M += Math.max(...p.devices.map((_v, d) => p.comm(d, p.home, b))) * US;
  M = Math.ceil(M + 1);

  for (const t of p.tasks) {
    rows.push(
      `end_${t.id}: + C - s_${t.id} ${negDur(t.id)} ${outBytes.has(t.id) ? p.devices.map((_v, d) => (x(t.id, d) ? term(-p.comm(d, p.home, outBytes.get(t.id)!) * US, `x_${t.id}_${d}`) : '')).join(' ') : ''} >= 0`,
    );
    if (inBytes.has(t.id))
      rows.push(
        `in_${t.id}: + s_${t.id} ${p.devices.map((_v, d) => (x(t.id, d) ? term(-p.comm(p.home, d, inBytes.get(t.id)!) * US, `x_${t.id}_${d}`) : '')).join(' ')} >= 0`,
      );
  }
  let c = 0;
  for (const f of p.flows) {
    const { from: i, to: j } = f;
    rows.push(`prec_${c++}: + s_${j} - s_${i} ${negDur(i)} >= 0`);
    for (let a = 0; a < D; a++)
      for (let b = 0; b < D; b++) {
        if (a === b || !x(i, a) || !x(j, b)) continue;
        const cm = p.comm(a, b, f.bytes) * US;
        // s_j >= s_i + dur_i + cm - M(2 - x_ia - x_jb)
        rows.push(
          `comm_${c++}: + s_${j} - s_${i} ${negDur(i)} - ${M} x_${i}_${a} - ${M} x_${j}_${b} >= ${num(cm - 2 * M)}`,
        );
      }
  }
  // ordering of independent tasks sharing a device
  const reach = reachability(p.tasks.length, succs, order);
  let y = 0;
  for (let i = 0; i < p.tasks.length; i++)
    for (let j = i + 1; j < p.tasks.length; j++) {
      if (reach[i]!.has(j) || reach[j]!.has(i)) continue;
      const shared = p.devices.map((_v, d) => d).filter((d) => x(i, d) && x(j, d));
      if (!shared.length) continue;
      const yv = `y_${i}_${j}`;
      bins.push(yv);
      for (const d of shared) {
        rows.push(
          `o1_${y}: + s_${j} - s_${i} ${negDur(i)} - ${M} ${yv} - ${M} x_${i}_${d} - ${M} x_${j}_${d} >= ${-3 * M}`,
        );
        rows.push(
          `o2_${y++}: + s_${i} - s_${j} ${negDur(j)} + ${M} ${yv} - ${M} x_${i}_${d} - ${M} x_${j}_${d} >= ${-2 * M}`,
        );
      }
    }
  void dur;
  return `Minimize\n obj: C\nSubject To\n ${rows.join('\n ')}\nBounds\n C >= 0\n${p.tasks.map((t) => ` s_${t.id} >= 0`).join('\n')}\nBinary\n ${bins.join(' ')}\nEnd\n`;
}

function throughputModel(p: Problem): string {
  const D = p.devices.length;
  const rows: string[] = [];
  const bins: string[] = [];
  common(p, rows, bins);
  const x = (t: number, d: number): boolean => allowed(p.tasks[t]!, d);
  for (let d = 0; d < D; d++) {
    const parts = p.tasks.filter((t) => x(t.id, d)).map((t) => term(t.time[d]! * US, `x_${t.id}_${d}`));
    if (parts.length) rows.push(`busy_${d}: ${parts.join(' ')} - T <= 0`);
  }
  const linkTerms = new Map<string, string[]>();
  const linkConst = new Map<string, number>();
  const hops = (a: number, b: number) => route(p.fleet, p.devices[a]!.id, p.devices[b]!.id)?.hops ?? [];
  let z = 0;
  for (const f of p.flows)
    for (let a = 0; a < D; a++)
      for (let b = 0; b < D; b++) {
        if (a === b || !x(f.from, a) || !x(f.to, b)) continue;
        const h = hops(a, b);
        if (!h.length) continue;
        const zv = `z_${z++}`;
        rows.push(`${zv}_def: + ${zv} - x_${f.from}_${a} - x_${f.to}_${b} >= -1`);
        bins.push(zv);
        for (const hop of h) {
          if (!linkTerms.has(hop.link)) linkTerms.set(hop.link, []);
          linkTerms.get(hop.link)!.push(term((f.bytes / hop.bandwidth) * US, zv));
        }
      }
  const ends = [
    ...p.inputs.map((f) => ({ t: f.to, bytes: f.bytes, toHome: false })),
    ...p.outputs.map((f) => ({ t: f.from, bytes: f.bytes, toHome: true })),
  ];
  for (const e of ends)
    for (let d = 0; d < D; d++) {
      if (!x(e.t, d) || d === p.home) continue;
      for (const hop of e.toHome ? hops(d, p.home) : hops(p.home, d)) {
        if (!linkTerms.has(hop.link)) linkTerms.set(hop.link, []);
        linkTerms.get(hop.link)!.push(term((e.bytes / hop.bandwidth) * US, `x_${e.t}_${d}`));
      }
    }
  let l = 0;
  for (const [link, parts] of linkTerms)
    rows.push(`link_${l++}: ${parts.join(' ')} - T <= ${num(linkConst.get(link) ?? 0)}`);
  return `Minimize\n obj: T\nSubject To\n ${rows.join('\n ')}\nBounds\n T >= 0\nBinary\n ${bins.join(' ')}\nEnd\n`;
}

function reachability(n: number, succs: { task: number }[][], order: number[]): Set<number>[] {
  const reach = Array.from({ length: n }, () => new Set<number>());
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i]!;
    for (const s of succs[t]!) {
      reach[t]!.add(s.task);
      for (const r of reach[s.task]!) reach[t]!.add(r);
    }
  }
  return reach;
}
