import { route } from '../../src/fleet/route.js';
import { adjacency, residents, type Adjacency, type Flow, type Problem } from './problem.js';

export interface Transfer {
  from: number;
  to: number;
  fromDevice: number;
  toDevice: number;
  bytes: number;
  start: number;
  end: number;
}

/** The predicted execution of one request under a placement. */
export interface Schedule {
  placement: number[];
  /** The dispatch priority the schedule was made with (a device runs its ready tasks in this order). */
  priority: number[];
  start: number[];
  finish: number[];
  /** Seconds from request arrival to the last output delivered on the home device. */
  latency: number;
  /** Busy seconds per device for one request. */
  busy: number[];
  /** Bytes per link id for one request. */
  linkBytes: Map<string, number>;
  /** Busy seconds per link id for one request. */
  linkBusy: Map<string, number>;
  transfers: Transfer[];
  /** Bytes of the weights each device's tasks read (each weight once per device). */
  weightBytes: number[];
  /** The slowest device or link per request: with requests pipelined, throughput is 1 / bottleneck. */
  bottleneck: number;
}

/** Memory per device of a schedule: weights, activations at peak, and their sum. */
export interface MemoryUse {
  weightBytes: number[];
  activationPeak: number[];
  memory: number[];
}

const adjCache = new WeakMap<Problem, Adjacency>();
export function adj(p: Problem): Adjacency {
  let a = adjCache.get(p);
  if (!a) adjCache.set(p, (a = adjacency(p)));
  return a;
}

/**
 * List-schedules the tasks on their devices: each device runs one task at a time, in order of
 * upward rank (longest remaining path, transfers included); a task starts when its device is
 * free and all its inputs have arrived. Transfers do not contend for links (documented in
 * docs/partitioner.md); their per-link totals feed the throughput bottleneck instead.
 */
export function simulate(p: Problem, placement: readonly number[], priority?: readonly number[]): Schedule {
  const { preds, succs, order } = adj(p);
  const n = p.tasks.length;
  const D = p.devices.length;
  const spans = p.readinessTime !== undefined && new Set([p.home, ...placement]).size > 1;
  const time = (t: number): number =>
    p.tasks[t]!.time[placement[t]!]! +
    (p.messageTime ? messagesTime(p, t, placement) : 0) +
    (spans ? p.tasks[t]!.ops.length * p.readinessTime![placement[t]!]! : 0);

  const rank = new Array<number>(n).fill(0);
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i]!;
    let best = 0;
    for (const s of succs[t]!)
      best = Math.max(best, p.comm(placement[t]!, placement[s.task]!, s.bytes) + rank[s.task]!);
    rank[t] = time(t) + best;
  }
  const topoIndex = new Array<number>(n);
  order.forEach((t, i) => (topoIndex[t] = i));
  const prio = priority
    ? [...priority]
    : [...order].sort((a, b) => rank[b]! - rank[a]! || topoIndex[a]! - topoIndex[b]!);

  const inputArrival = new Array<number>(n).fill(0);
  for (const f of p.inputs)
    inputArrival[f.to] = Math.max(inputArrival[f.to]!, p.comm(p.home, placement[f.to]!, f.bytes));

  const start = new Array<number>(n).fill(0);
  const finish = new Array<number>(n).fill(0);
  const free = new Array<number>(D).fill(0);
  const busy = new Array<number>(D).fill(0);
  const done = new Array<boolean>(n).fill(false);
  const transfers: Transfer[] = [];
  // Rank order is topological except between equal ranks of zero-time chains; the loop below
  // defers a task whose predecessors are not done yet.
  const queue = [...prio];
  while (queue.length) {
    const idx = queue.findIndex((t) => preds[t]!.every((q) => done[q.task]));
    const t = queue.splice(idx, 1)[0]!;
    const d = placement[t]!;
    let ready = inputArrival[t]!;
    for (const q of preds[t]!) {
      const from = placement[q.task]!;
      const arrive = finish[q.task]! + p.comm(from, d, q.bytes);
      if (from !== d)
        transfers.push({
          from: q.task,
          to: t,
          fromDevice: from,
          toDevice: d,
          bytes: q.bytes,
          start: finish[q.task]!,
          end: arrive,
        });
      ready = Math.max(ready, arrive);
    }
    start[t] = Math.max(ready, free[d]!);
    finish[t] = start[t]! + time(t);
    free[d] = finish[t]!;
    busy[d]! += time(t);
    done[t] = true;
  }

  let latency = 0;
  for (const t of order) latency = Math.max(latency, finish[t]!);
  for (const f of p.outputs) latency = Math.max(latency, finish[f.from]! + p.comm(placement[f.from]!, p.home, f.bytes));
  if (p.requestTime) {
    const ops = new Array<number>(D).fill(0);
    p.tasks.forEach((task, t) => (ops[placement[t]!]! += task.ops.length));
    const used = new Set([p.home, ...placement]).size;
    latency += p.requestTime.perDevice * (used - 1) + p.requestTime.perOp * Math.max(...ops);
  }

  const linkBytes = new Map<string, number>();
  const linkBusy = new Map<string, number>();
  const charge = (a: number, b: number, bytes: number): void => {
    if (a === b) return;
    const r = route(p.fleet, p.devices[a]!.id, p.devices[b]!.id);
    for (const h of r?.hops ?? []) {
      linkBytes.set(h.link, (linkBytes.get(h.link) ?? 0) + bytes);
      linkBusy.set(h.link, (linkBusy.get(h.link) ?? 0) + bytes / h.bandwidth);
    }
  };
  for (const tr of transfers) charge(tr.fromDevice, tr.toDevice, tr.bytes);
  for (const f of p.inputs) charge(p.home, placement[f.to]!, f.bytes);
  for (const f of p.outputs) charge(placement[f.from]!, p.home, f.bytes);

  const weightBytes = weightsOn(p, placement);
  const bottleneck = Math.max(...busy, ...linkBusy.values());
  return {
    placement: [...placement],
    priority: prio,
    start,
    finish,
    latency,
    busy,
    linkBytes,
    linkBusy,
    transfers,
    weightBytes,
    bottleneck,
  };
}

const flowsCache = new WeakMap<Problem, { out: Flow[][]; in: Flow[][]; input: boolean[]; output: boolean[] }>();

/**
 * A task's device time for its messages under a placement (Problem.messageTime): one message per
 * value and receiving device it sends, one per value it receives from another device, and one
 * for graph inputs arriving from (outputs leaving for) the home device.
 */
function messagesTime(p: Problem, t: number, placement: readonly number[]): number {
  let f = flowsCache.get(p);
  if (!f) {
    f = {
      out: p.tasks.map(() => []),
      in: p.tasks.map(() => []),
      input: p.tasks.map(() => false),
      output: p.tasks.map(() => false),
    };
    for (const fl of p.flows) {
      f.out[fl.from]!.push(fl);
      f.in[fl.to]!.push(fl);
    }
    for (const x of p.inputs) f.input[x.to] = true;
    for (const x of p.outputs) f.output[x.from] = true;
    flowsCache.set(p, f);
  }
  const d = placement[t]!;
  const sent: string[] = [];
  for (const fl of f.out[t]!) {
    const e = placement[fl.to]!;
    if (e !== d) for (const v of fl.values) if (!sent.includes(`${e}:${v}`)) sent.push(`${e}:${v}`);
  }
  const got: string[] = [];
  for (const fl of f.in[t]!) if (placement[fl.from] !== d) for (const v of fl.values) if (!got.includes(v)) got.push(v);
  const away = d !== p.home ? 1 : 0;
  const m = p.messageTime!;
  return (sent.length + (f.output[t] ? away : 0)) * m.send[d]! + (got.length + (f.input[t] ? away : 0)) * m.recv[d]!;
}

function weightsOn(p: Problem, placement: readonly number[]): number[] {
  const weightBytes = new Array<number>(p.devices.length).fill(0);
  const seen = Array.from({ length: p.devices.length }, () => new Set<string>());
  p.tasks.forEach((_task, t) => {
    const d = placement[t]!;
    for (const [name, bytes] of residents(p, t, d)) {
      if (seen[d]!.has(name)) continue;
      seen[d]!.add(name);
      weightBytes[d]! += bytes;
    }
  });
  return weightBytes;
}

/** The tasks of each device in the order it runs them: by predicted start, then dispatch priority. */
export function deviceTasks(p: Problem, s: Schedule): number[][] {
  const rank = new Map(s.priority.map((t, i) => [t, i]));
  const byStart = [...s.priority].sort((a, b) => s.start[a]! - s.start[b]! || rank.get(a)! - rank.get(b)!);
  const out: number[][] = p.devices.map(() => []);
  for (const t of byStart) out[s.placement[t]!]!.push(t);
  return out;
}

const memoryCache = new WeakMap<Schedule, MemoryUse>();

/**
 * Memory per device: weights plus the activations of the device's tasks in the order it runs
 * them (Problem.activations: the memory planner's arena and the tensors in transit), or live
 * outputs along the timeline for problems without a graph.
 */
export function memoryOf(p: Problem, s: Schedule): MemoryUse {
  let m = memoryCache.get(s);
  if (m) return m;
  const tasks = deviceTasks(p, s);
  const activationPeak = p.activations
    ? tasks.map((ts, d) => (ts.length ? p.activations!(d, ts, s.placement) : 0))
    : timelinePeak(p, s.placement, s.start, s.finish, s.transfers);
  m = { weightBytes: s.weightBytes, activationPeak, memory: s.weightBytes.map((w, d) => w + activationPeak[d]!) };
  memoryCache.set(s, m);
  return m;
}

/**
 * Live activations along the predicted timeline (problems without a graph): an output lives on
 * its producer's device from the task's start until its last local consumer finishes (or its
 * last transfer leaves); a received tensor lives on the receiver from its arrival until its
 * consumer finishes. A task's internal working set counts while it runs.
 */
function timelinePeak(
  p: Problem,
  placement: readonly number[],
  start: readonly number[],
  finish: readonly number[],
  transfers: readonly Transfer[],
): number[] {
  const D = p.devices.length;
  const { succs } = adj(p);
  const events: [number, number, number][][] = Array.from({ length: D }, () => []); // [time, +/- bytes, order]
  p.tasks.forEach((task, t) => {
    const d = placement[t]!;
    let end = finish[t]!;
    for (const s of succs[t]!) end = Math.max(end, placement[s.task] === d ? finish[s.task]! : finish[t]!);
    events[d]!.push([start[t]!, task.outBytes, 1], [end, -task.outBytes, 0]);
    const extra = Math.max(0, task.workBytes - task.outBytes);
    if (extra) events[d]!.push([start[t]!, extra, 1], [finish[t]!, -extra, 0]);
  });
  for (const tr of transfers) events[tr.toDevice]!.push([tr.end, tr.bytes, 1], [finish[tr.to]!, -tr.bytes, 0]);
  return events.map((ev) => {
    ev.sort((a, b) => a[0] - b[0] || a[2] - b[2]);
    let live = 0;
    let peak = 0;
    for (const [, delta] of ev) {
      live += delta;
      peak = Math.max(peak, live);
    }
    return peak;
  });
}

const fitsCache = new WeakMap<Schedule, boolean>();

/**
 * Whether every device holds its weights and activations. A device whose weights plus everything
 * its tasks make and receive fit needs no planning, nor does one whose weights plus the least its
 * activations can take do not; the others are planned.
 */
export function fits(p: Problem, s: Schedule): boolean {
  let ok = fitsCache.get(s);
  if (ok !== undefined) return ok;
  if (!p.activations) ok = memoryOf(p, s).memory.every((m, d) => m <= p.capacity[d]!);
  else {
    const tasks = deviceTasks(p, s);
    ok = p.devices.every((_d, d) => {
      const room = p.capacity[d]! - s.weightBytes[d]!;
      const ts = tasks[d]!;
      if (!ts.length) return room >= 0;
      if (p.activationBound && p.activationBound(ts) <= room) return true;
      if (p.activationFloor && p.activationFloor(d, ts, s.placement) > room) return false;
      return p.activations!(d, ts, s.placement) <= room;
    });
  }
  fitsCache.set(s, ok);
  return ok;
}
