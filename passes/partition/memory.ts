// The memory planner as the partitioner sees it: for the tasks a device runs, in the order it runs
// them under a placement, the arena plan-memory will lay out (the values it sends and the graph
// outputs away from home left out, as the emitter leaves them out) and the tensors it holds
// outside that arena while they travel. Layouts are kept by device, order, sends and receives.
import type { IRGraph } from '../../src/ir/graph.js';
import { ArenaModel } from '../memory/index.js';
import type { Problem, Task } from './problem.js';

export interface MemoryContext {
  /** The device graph inputs arrive on and outputs leave from. */
  home: number;
  /** Values If/Loop/Scan bodies read, by the ops that own those bodies. */
  capturedBy: ReadonlyMap<string, string[]>;
  dims: ReadonlyMap<string, number>;
}

export function deviceMemory(
  graph: IRGraph,
  tasks: readonly Task[],
  c: MemoryContext,
): Pick<Problem, 'activations' | 'activationBound' | 'activationFloor'> {
  const model = new ArenaModel(graph, c.dims);
  const taskOf = new Map<string, number>();
  tasks.forEach((t, i) => t.ops.forEach((o) => taskOf.set(o, i)));
  const outputs = new Set(graph.outputs);
  const inputs = new Set(graph.inputs);
  const none = new Set<string>();
  const readersOf = (v: string): string[] => [...graph.consumers(v).map((u) => u.op), ...(c.capturedBy.get(v) ?? [])];
  // What each task makes (the tasks that read it, whether the graph returns it) and what it reads
  // from elsewhere (the task that makes it; -1 for a graph input).
  const made = tasks.map((t) =>
    t.ops.flatMap((op) =>
      graph
        .opOutputs(op)
        .filter((v) => v !== undefined)
        .map((v) => ({
          value: v,
          readers: [...new Set(readersOf(v).map((r) => taskOf.get(r)!))],
          output: outputs.has(v),
        })),
    ),
  );
  const read = tasks.map((t, i) => {
    const from = new Map<string, number>();
    for (const op of t.ops)
      for (const v of [...graph.opInputs(op), ...graph.capturedValues(op)]) {
        if (v === undefined || from.has(v) || !graph.hasValue(v) || residesOnDevice(graph, v)) continue;
        const p = graph.producer(v);
        const src = p ? taskOf.get(p.op) : inputs.has(v) ? -1 : undefined;
        if (src !== undefined && src !== i) from.set(v, src);
      }
    return [...from].map(([value, src]) => ({ value, src }));
  });
  const bound = tasks.map((t, i) =>
    model.upperBound(
      t.ops,
      read[i]!.map((r) => r.value),
    ),
  );
  const planned = new Map<string, number>();
  const floors = new Map<string, number>();
  // The program a device runs under a placement, and a key for it.
  const programOf = (d: number, ts: readonly number[], placement: readonly number[]) => {
    const sends: string[] = [];
    const receives: string[] = [];
    for (const t of ts) {
      for (const m of made[t]!)
        if ((d !== c.home && m.output) || m.readers.some((r) => placement[r] !== d)) sends.push(m.value);
      for (const r of read[t]!) if (r.src < 0 ? d !== c.home : placement[r.src] !== d) receives.push(r.value);
    }
    const key = `${d}|${ts.join(',')}|${sends.join(',')}|${receives.join(',')}`;
    const make = () => ({
      program: { ops: ts.flatMap((t) => tasks[t]!.ops), sends: new Set(sends), outputs: d === c.home ? outputs : none },
      receives: new Set(receives),
    });
    return { key, make };
  };
  return {
    activationBound: (ts) => ts.reduce((sum, t) => sum + bound[t]!, 0),
    activationFloor(d, ts, placement) {
      const { key, make } = programOf(d, ts, placement);
      let bytes = planned.get(key) ?? floors.get(key);
      if (bytes === undefined) {
        const { program, receives } = make();
        bytes = model.arenaFloor(program) + model.outsideArena(program, receives);
        floors.set(key, bytes);
      }
      return bytes;
    },
    activations(d, ts, placement) {
      const { key, make } = programOf(d, ts, placement);
      let bytes = planned.get(key);
      if (bytes === undefined) {
        const { program, receives } = make();
        bytes = model.layout(program).bytes + model.outsideArena(program, receives);
        planned.set(key, bytes);
      }
      return bytes;
    },
  };
}

/**
 * Values that live on the device of the ops that read them and never travel: weights, and state
 * objects (a KV cache's pages, sized for the capacity the compile reserves).
 */
export function residesOnDevice(graph: IRGraph, v: string): boolean {
  const role = graph.value(v).role;
  return role === 'weight' || role === 'state';
}
