import type { Device, Fleet } from '../../src/fleet/types.js';

/**
 * The partitioning problem, independent of the IR: tasks (segments of ops) with a predicted
 * time on every device, the bytes that flow between them, and what each device can hold.
 * Devices are referred to by index into `devices`.
 */
export interface Task {
  id: number;
  /** A readable name: the first op of the segment (and how many more). */
  name: string;
  /** The IR op ids in the segment, in topological order. */
  ops: string[];
  /** Predicted seconds per device; Infinity where the device is refused. */
  time: number[];
  /** Why a device is refused (null where it is allowed). */
  refused: (string | null)[];
  /** Weights the segment reads: name → bytes. A weight lives once on each device that reads it. */
  weights: [string, number][];
  /** Bytes of the copies of its weights the segment's kernels may prepare and keep, on a device that prepares them. */
  prepared?: number;
  /** Bytes of the segment's outputs (activations). */
  outBytes: number;
  /** Largest activation working set of one op of the segment (inputs + outputs, bytes). */
  workBytes: number;
  /** A user pin: the only allowed device. */
  pinned?: number;
  /** Who pinned it when not the user (the expert placement). */
  pinOrigin?: string;
}

export interface Flow {
  from: number;
  to: number;
  bytes: number;
  values: string[];
}

export interface Problem {
  fleet: Fleet;
  devices: Device[];
  tasks: Task[];
  /** Task → task data dependences (deduplicated per pair, bytes summed). */
  flows: Flow[];
  /** Bytes that enter each task from the graph's inputs, which arrive on `home`. */
  inputs: { to: number; bytes: number }[];
  /** Bytes each task sends to the graph's outputs, which are delivered on `home`. */
  outputs: { from: number; bytes: number }[];
  /** The device where requests arrive and results are delivered (the first cpu). */
  home: number;
  /** Bytes a device can hold (its level-0 memory). */
  capacity: number[];
  /** Per device, whether its kernels keep prepared copies of weights (Task.prepared): fleetrt's cpu backend. */
  prepares?: boolean[];
  /** Seconds to move bytes from device a to device b (0 on one device). */
  comm(a: number, b: number, bytes: number): number;
  /**
   * Bytes of activations device `d` holds at peak when it runs these tasks in this order under
   * this placement: the arena the memory planner lays out (passes/memory) and the tensors it
   * sends, returns or receives outside it. Problems without a graph (synthetic ones) leave it out
   * and count live task outputs along the predicted timeline instead.
   */
  activations?(d: number, tasks: readonly number[], placement: readonly number[]): number;
  /** Bytes of activations a device holds at least under this placement (cheaper than `activations`). */
  activationFloor?(d: number, tasks: readonly number[], placement: readonly number[]): number;
  /** Bytes of activations a device can hold at most when it runs these tasks (everything they make and read, at once). */
  activationBound?(tasks: readonly number[]): number;
  /**
   * Seconds of a device's own time per message it sends and per message it receives (staging,
   * synchronisation, waking the other end), per device: a task pays them for the values it
   * exchanges with tasks on other devices. Absent: messages cost only `comm`.
   */
  messageTime?: { send: number[]; recv: number[] };
  /**
   * Seconds per op a device pays beyond its ops' own time when the placement spans devices (the
   * runtime then runs each device readiness-driven instead of straight through), per device.
   */
  readinessTime?: number[];
  /**
   * Seconds a request costs outside any task (binding inputs, laying out arenas, starting the
   * devices): `perOp` for each op of the device with the most (devices set up their requests side
   * by side), `perDevice` for each device the placement uses beyond the first.
   */
  requestTime?: { perDevice: number; perOp: number };
}

/** For every task, its predecessors and successors with the flow between them. */
export interface Adjacency {
  preds: { task: number; bytes: number }[][];
  succs: { task: number; bytes: number }[][];
  /** A topological order of the tasks. */
  order: number[];
}

export function adjacency(p: Problem): Adjacency {
  const n = p.tasks.length;
  const preds: Adjacency['preds'] = Array.from({ length: n }, () => []);
  const succs: Adjacency['succs'] = Array.from({ length: n }, () => []);
  const indeg = new Array<number>(n).fill(0);
  for (const f of p.flows) {
    preds[f.to]!.push({ task: f.from, bytes: f.bytes });
    succs[f.from]!.push({ task: f.to, bytes: f.bytes });
    indeg[f.to]!++;
  }
  const order: number[] = [];
  const ready = p.tasks.filter((t) => indeg[t.id] === 0).map((t) => t.id);
  while (ready.length) {
    const t = ready.shift()!;
    order.push(t);
    for (const s of succs[t]!) if (--indeg[s.task]! === 0) ready.push(s.task);
  }
  if (order.length !== n) throw new Error('partition problem has a cycle');
  return { preds, succs, order };
}

export function allowed(task: Task, device: number): boolean {
  return task.pinned === undefined ? task.refused[device] === null : task.pinned === device;
}

const withPrepared = new WeakMap<Task, [string, number][]>();

/** What a task keeps on device `d`: its weights (each once per device) and, where the device prepares them, its kernels' copies. */
export function residents(p: Problem, t: number, d: number): [string, number][] {
  const task = p.tasks[t]!;
  if (!task.prepared || !p.prepares?.[d]) return task.weights;
  // made once per task: the search asks for every task on every device it tries
  let all = withPrepared.get(task);
  if (!all) withPrepared.set(task, (all = [...task.weights, [`#prepared:${t}`, task.prepared]]));
  return all;
}
