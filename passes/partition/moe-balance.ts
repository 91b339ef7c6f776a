// Placing the experts of one MoE layer on unequal devices (docs/moe.md). The objective is time,
// not load: the slowest device's time to run the tokens routed to it, each expert priced on
// that device (roofline: compute per token, or the weights streamed once when that is slower)
// plus the dispatch and combine transfers of its tokens over the link from the layer's home,
// plus amortised weight migration when a placement already exists; subject to memory. Hot
// experts get replicas within a slot budget; a replicated expert's tokens are split so that its
// replicas finish together. Independent of the IR: compile, `tune` and bench:moe share it.

export interface BalanceDevice {
  id: string;
  /** Bytes of expert weights the device may hold for this layer. */
  capacity: number;
}

export interface BalanceExpert {
  expert: number;
  /** Expected routed tokens per step. */
  load: number;
  weightBytes: number;
  /** Bytes of activations one routed token occupies while the expert runs (its working set). */
  activationBytesPerToken?: number;
}

/** Cost of expert e on device d for n tokens: max(n·compute, weights) + n·transfer + fixed. */
export interface ExpertCost {
  /** Seconds per token of compute. */
  compute: number;
  /** Seconds to stream the expert's weights once (the memory-bound floor). */
  stream: number;
  /** Seconds per token of dispatch + combine transfer from/to the layer's home. */
  transfer: number;
  /** Seconds per step independent of tokens (kernel launches, message latency). */
  fixed: number;
  /** Of `fixed`, the messages' latency to and from home (the rest is the expert's own ops). */
  latency?: number;
  /** Dispatch + combine bytes per token (0 on the home device). */
  bytesPerToken: number;
}

export interface BalanceProblem {
  devices: BalanceDevice[];
  experts: BalanceExpert[];
  /** cost[e][d], e indexes `experts`. */
  cost: ExpertCost[][];
  /** Extra expert instances allowed beyond one per expert. */
  extraSlots: number;
  /**
   * Seconds per step a device pays once when any expert on it gets tokens (one grouped kernel,
   * one all-to-all message), on top of the per-expert `fixed`.
   */
  deviceFixed?: number[];
  /** An existing placement: moving weights away from it costs `migrationSeconds` amortised over `window` steps. */
  current?: Placement;
  /** Seconds to move expert e's weights onto device d (from the nearest current holder). */
  migrationSeconds?: (e: number, d: number) => number;
  /** Steps over which a migration is paid back. */
  window?: number;
}

/** Per expert (indexing `experts`): its devices and the share of its tokens each takes. */
export interface Placement {
  devices: number[][];
  share: number[][];
}

export interface Evaluation {
  /** Seconds per step on each device and tokens routed to it. */
  time: number[];
  tokens: number[];
  makespan: number;
  /** All routed work ÷ the sum of the devices' speeds (tokens per second at compute + transfer rate). */
  fluid: number;
  /** makespan / fluid − 1. */
  imbalance: number;
  /** Expert weight bytes per device, the largest expert working set there, and whether every device holds both. */
  weightBytes: number[];
  activationBytes: number[];
  fits: boolean;
  slots: number;
  /** Dispatch + combine bytes per routed token, over all routed tokens. */
  bytesPerToken: number;
  /** Weight bytes that move (and seconds of migration) from `current`. */
  migrationBytes: number;
  migrationSeconds: number;
}

export function expertTime(c: ExpertCost, n: number): number {
  if (n <= 0) return 0;
  return Math.max(n * c.compute, c.stream) + n * c.transfer + c.fixed;
}

/** The fluid ideal: every token anywhere, each device at its average per-token rate. */
export function fluidTime(p: BalanceProblem): number {
  const total = p.experts.reduce((s, e) => s + e.load, 0);
  if (total <= 0) return 0;
  let speed = 0;
  p.devices.forEach((_, d) => {
    const perToken = p.experts.reduce((s, e, i) => s + e.load * (p.cost[i]![d]!.compute + p.cost[i]![d]!.transfer), 0);
    if (perToken > 0) speed += total / perToken;
  });
  return speed > 0 ? total / speed : 0;
}

export function evaluate(p: BalanceProblem, pl: Placement): Evaluation {
  const D = p.devices.length;
  const time = new Array<number>(D).fill(0);
  const tokens = new Array<number>(D).fill(0);
  const weightBytes = new Array<number>(D).fill(0);
  const activationBytes = new Array<number>(D).fill(0);
  let moved = 0;
  let bytes = 0;
  let total = 0;
  let migration = 0;
  let slots = 0;
  p.experts.forEach((ex, e) => {
    const devs = pl.devices[e]!;
    slots += devs.length;
    devs.forEach((d, r) => {
      const n = ex.load * pl.share[e]![r]!;
      const c = p.cost[e]![d]!;
      time[d]! += n > 0 ? expertTime(c, n) : 0;
      tokens[d]! += n;
      weightBytes[d]! += ex.weightBytes;
      activationBytes[d] = Math.max(activationBytes[d]!, n * (ex.activationBytesPerToken ?? 0));
      bytes += n * c.bytesPerToken;
      if (p.current && !p.current.devices[e]!.includes(d)) {
        moved += ex.weightBytes;
        migration += p.migrationSeconds?.(e, d) ?? 0;
      }
    });
    total += ex.load;
  });
  if (p.deviceFixed) tokens.forEach((n, d) => n > 0 && (time[d]! += p.deviceFixed![d]!));
  const makespan = Math.max(0, ...time);
  const fluid = fluidTime(p);
  return {
    time,
    tokens,
    makespan,
    fluid,
    imbalance: fluid > 0 ? makespan / fluid - 1 : 0,
    weightBytes,
    activationBytes,
    fits: weightBytes.every((w, d) => w + activationBytes[d]! <= p.devices[d]!.capacity),
    slots,
    bytesPerToken: total > 0 ? bytes / total : 0,
    migrationBytes: moved,
    migrationSeconds: migration,
  };
}

/** The objective the search minimises: the makespan plus migration amortised over the window. */
function objective(p: BalanceProblem, ev: Evaluation): number {
  return ev.makespan + (p.current ? ev.migrationSeconds / Math.max(1, p.window ?? 1) : 0);
}

/** Devices ordered by time, slowest first, compared as a vector (ties broken by the next slowest). */
function better(p: BalanceProblem, a: Evaluation, b: Evaluation): boolean {
  const oa = objective(p, a);
  const ob = objective(p, b);
  if (oa < ob * (1 - 1e-9)) return true;
  if (oa > ob * (1 + 1e-9)) return false;
  const sa = [...a.time].sort((x, y) => y - x);
  const sb = [...b.time].sort((x, y) => y - x);
  for (let i = 1; i < sa.length; i++) {
    if (sa[i]! < sb[i]! * (1 - 1e-9)) return true;
    if (sa[i]! > sb[i]! * (1 + 1e-9)) return false;
  }
  return false;
}

function clone(pl: Placement): Placement {
  return { devices: pl.devices.map((d) => [...d]), share: pl.share.map((s) => [...s]) };
}

/**
 * Splits each replicated expert's tokens so that its replicas finish together as far as the
 * other experts on their devices allow: repeated pairwise levelling between the slowest and the
 * fastest device of each replicated expert (bisection on the tokens moved).
 */
export function levelShares(p: BalanceProblem, pl: Placement, rounds = 60): void {
  const replicated = pl.devices.map((d, e) => (d.length > 1 ? e : -1)).filter((e) => e >= 0);
  if (!replicated.length) return;
  const D = p.devices.length;
  const time = new Array<number>(D).fill(0);
  const recompute = (): void => {
    time.fill(0);
    p.experts.forEach((ex, e) =>
      pl.devices[e]!.forEach((d, r) => (time[d]! += expertTime(p.cost[e]![d]!, ex.load * pl.share[e]![r]!))),
    );
    if (p.deviceFixed) time.forEach((t, d) => t > 0 && (time[d]! += p.deviceFixed![d]!));
  };
  recompute();
  for (let round = 0; round < rounds; round++) {
    let changed = false;
    for (const e of replicated) {
      const devs = pl.devices[e]!;
      const sh = pl.share[e]!;
      const load = p.experts[e]!.load;
      if (load <= 0) continue;
      let hi = 0;
      let lo = 0;
      devs.forEach((d, r) => {
        if (time[d]! > time[devs[hi]!]!) hi = r;
        if (time[d]! < time[devs[lo]!]!) lo = r;
      });
      if (hi === lo || time[devs[hi]!]! - time[devs[lo]!]! <= 1e-12 * time[devs[hi]!]!) continue;
      const a = devs[hi]!;
      const b = devs[lo]!;
      const ca = p.cost[e]![a]!;
      const cb = p.cost[e]![b]!;
      const baseA = time[a]! - expertTime(ca, load * sh[hi]!);
      const baseB = time[b]! - expertTime(cb, load * sh[lo]!);
      // Move a fraction f of e's tokens from a to b so that both finish together.
      let l = 0;
      let h = sh[hi]!;
      for (let it = 0; it < 50; it++) {
        const f = (l + h) / 2;
        const ta = baseA + expertTime(ca, load * (sh[hi]! - f));
        const tb = baseB + expertTime(cb, load * (sh[lo]! + f));
        if (ta > tb) l = f;
        else h = f;
      }
      const f = l;
      if (f <= 1e-12) continue;
      sh[hi]! -= f;
      sh[lo]! += f;
      time[a] = baseA + expertTime(ca, load * sh[hi]!);
      time[b] = baseB + expertTime(cb, load * sh[lo]!);
      changed = true;
    }
    if (!changed) break;
  }
}

export interface BalanceResult {
  placement: Placement;
  evaluation: Evaluation;
  /** Per expert (indexing `experts`): why it went where it did. */
  reasons: string[];
}

/**
 * The placement search: heterogeneous LPT (each expert, heaviest first, to the device where it
 * would finish earliest, within memory), local moves and swaps off the slowest device, then
 * replicas for the experts of the slowest device while slots remain and they help; shares
 * levelled after every change.
 */
export function balanceExperts(p: BalanceProblem): BalanceResult {
  const E = p.experts.length;
  const D = p.devices.length;
  if (E === 0) {
    const empty: Placement = { devices: [], share: [] };
    return { placement: empty, evaluation: evaluate(p, empty), reasons: [] };
  }
  const mean = (e: number): number =>
    p.cost[e]!.reduce((s, c) => s + expertTime(c, p.experts[e]!.load), 0) / Math.max(1, D);
  const order = p.experts.map((_, e) => e).sort((a, b) => mean(b) - mean(a) || a - b);
  const start: Placement = { devices: new Array(E), share: new Array(E) };
  const time = new Array<number>(D).fill(0);
  const used = new Array<number>(D).fill(0);
  const work = new Array<number>(D).fill(0);
  for (const e of order) {
    const ex = p.experts[e]!;
    const act = ex.load * (ex.activationBytesPerToken ?? 0);
    let best = -1;
    let bestFinish = Infinity;
    for (let d = 0; d < D; d++) {
      if (used[d]! + ex.weightBytes + Math.max(work[d]!, act) > p.devices[d]!.capacity) continue;
      let finish = time[d]! + expertTime(p.cost[e]![d]!, ex.load);
      if (p.current && !p.current.devices[e]!.includes(d))
        finish += (p.migrationSeconds?.(e, d) ?? 0) / Math.max(1, p.window ?? 1);
      if (finish < bestFinish * (1 - 1e-12)) {
        bestFinish = finish;
        best = d;
      }
    }
    if (best < 0) {
      // Nowhere fits: the device with the most room takes it; the evaluation says it does not fit.
      best = used
        .map((u, d) => p.devices[d]!.capacity - u)
        .reduce((bi, room, d, rooms) => (room > rooms[bi]! ? d : bi), 0);
    }
    start.devices[e] = [best];
    start.share[e] = [1];
    time[best]! += expertTime(p.cost[e]![best]!, ex.load);
    used[best]! += ex.weightBytes;
    work[best] = Math.max(work[best]!, act);
  }
  let cur = start;
  let curEv = evaluate(p, cur);
  const search = (): void => {
    for (let round = 0; round < 50; round++) {
      const next = improveOnce(p, cur, curEv);
      if (!next) break;
      cur = next.placement;
      curEv = next.evaluation;
    }
  };
  search();
  let slotsLeft = p.extraSlots;
  while (slotsLeft > 0) {
    const next = bestReplica(p, cur, curEv);
    if (!next) break;
    cur = next.placement;
    curEv = next.evaluation;
    slotsLeft--;
    search();
  }
  return { placement: cur, evaluation: curEv, reasons: reasons(p, cur, curEv) };
}

/** Bytes over capacity, summed over devices (0 when everything fits). */
function overflow(p: BalanceProblem, ev: Evaluation): number {
  return ev.weightBytes.reduce((s, w, d) => s + Math.max(0, w + ev.activationBytes[d]! - p.devices[d]!.capacity), 0);
}

function accept(
  p: BalanceProblem,
  cand: Placement,
  curEv: Evaluation,
): { placement: Placement; evaluation: Evaluation } | null {
  levelShares(p, cand);
  const ev = evaluate(p, cand);
  // Memory first: a placement that fits beats one that does not; between two that do not, less overflow wins.
  const over = overflow(p, ev);
  const curOver = overflow(p, curEv);
  if (over < curOver) return { placement: cand, evaluation: ev };
  if (over > curOver) return null;
  return better(p, ev, curEv) ? { placement: cand, evaluation: ev } : null;
}

/** One improving move or swap that takes work off the slowest device, or null. */
function improveOnce(
  p: BalanceProblem,
  cur: Placement,
  curEv: Evaluation,
): { placement: Placement; evaluation: Evaluation } | null {
  const D = p.devices.length;
  const slow = curEv.time.indexOf(Math.max(...curEv.time));
  const onSlow: [number, number][] = [];
  cur.devices.forEach((devs, e) => devs.forEach((d, r) => d === slow && onSlow.push([e, r])));
  let best: { placement: Placement; evaluation: Evaluation } | null = null;
  const consider = (cand: Placement): void => {
    const base = best ? best.evaluation : curEv;
    const got = accept(p, cand, base);
    if (got) best = got;
  };
  for (const [e, r] of onSlow) {
    for (let d = 0; d < D; d++) {
      if (d === slow || cur.devices[e]!.includes(d)) continue;
      const cand = clone(cur);
      cand.devices[e]![r] = d;
      consider(cand);
      // swap with each expert instance on d
      cur.devices.forEach((devs, f) => {
        if (f === e || cur.devices[f]!.includes(slow)) return;
        const q = devs.indexOf(d);
        if (q < 0) return;
        const sw = clone(cur);
        sw.devices[e]![r] = d;
        sw.devices[f]![q] = slow;
        consider(sw);
      });
    }
  }
  return best;
}

/** The replica (a heavy expert onto another device) that helps most, or null. */
function bestReplica(
  p: BalanceProblem,
  cur: Placement,
  curEv: Evaluation,
): { placement: Placement; evaluation: Evaluation } | null {
  const slow = curEv.time.indexOf(Math.max(...curEv.time));
  const byLoad = (a: number, b: number): number => p.experts[b]!.load - p.experts[a]!.load || a - b;
  // The heaviest experts of the slowest device, and the heaviest of all: a replica elsewhere can
  // free the device another expert should move to.
  const onSlow = cur.devices
    .map((devs, e) => (devs.includes(slow) ? e : -1))
    .filter((e) => e >= 0)
    .sort(byLoad)
    .slice(0, 8);
  const heaviest = p.experts
    .map((_, e) => e)
    .sort(byLoad)
    .slice(0, 4);
  const candidates = [...new Set([...onSlow, ...heaviest])];
  let best: { placement: Placement; evaluation: Evaluation } | null = null;
  for (const e of candidates)
    for (let d = 0; d < p.devices.length; d++) {
      if (cur.devices[e]!.includes(d)) continue;
      const cand = clone(cur);
      cand.devices[e]!.push(d);
      cand.share[e]!.push(0);
      const got = accept(p, cand, best ? best.evaluation : curEv);
      if (got) best = got;
    }
  return best;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;
}

/** Why each expert went where it did: its cost there against the alternatives. */
function reasons(p: BalanceProblem, pl: Placement, ev: Evaluation): string[] {
  return p.experts.map((ex, e) => {
    const devs = pl.devices[e]!;
    const names = devs.map((d) => p.devices[d]!.id);
    if (ex.load <= 0) return `no tokens expected; kept on ${names.join(', ')} where it fits`;
    if (devs.length > 1) {
      const parts = devs.map((d, r) => `${pct(pl.share[e]![r]!)} on ${p.devices[d]!.id}`);
      return `hot expert (${fmtN(ex.load)} tokens/request) replicated: ${parts.join(', ')} so its replicas finish together`;
    }
    const d = devs[0]!;
    const here = expertTime(p.cost[e]![d]!, ex.load);
    const alts = p.devices
      .map((dev, k) => ({ k, id: dev.id, t: expertTime(p.cost[e]![k]!, ex.load) }))
      .filter((a) => a.k !== d);
    const faster = alts.filter((a) => a.t < here * (1 - 1e-9));
    if (!faster.length) return `fastest for it on ${names[0]} (${fmtT(here)} per request)`;
    const full = faster.filter(
      (a) =>
        ev.weightBytes[a.k]! +
          ex.weightBytes +
          Math.max(ev.activationBytes[a.k]!, ex.load * (ex.activationBytesPerToken ?? 0)) >
        p.devices[a.k]!.capacity,
    );
    if (full.length === faster.length)
      return `on ${names[0]} (${fmtT(here)}): ${full.map((a) => a.id).join(', ')} would be faster but lack memory`;
    const f = faster.filter((a) => !full.includes(a))[0]!;
    return `on ${names[0]} (${fmtT(here)}) to balance: ${f.id} would take ${fmtT(f.t)} but is busy until ${fmtT(ev.time[f.k]!)}`;
  });
}

function fmtT(s: number): string {
  if (s >= 1) return `${s.toFixed(2)} s`;
  if (s >= 1e-3) return `${(s * 1e3).toFixed(2)} ms`;
  if (s >= 1e-6) return `${(s * 1e6).toFixed(1)} µs`;
  return `${(s * 1e9).toFixed(0)} ns`;
}

/** Round robin: expert e on device e mod D, no replicas. */
export function roundRobin(p: BalanceProblem): Placement {
  return {
    devices: p.experts.map((_, e) => [e % p.devices.length]),
    share: p.experts.map(() => [1]),
  };
}

function fmtN(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(n < 10 ? 2 : 0);
}
