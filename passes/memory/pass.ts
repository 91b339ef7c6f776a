// `plan-memory`: each device's arena, by liveness in the order it runs its ops (the partitioner
// checked capacities with the same plans, passes/memory/device.ts).
import { need, type Pass } from '../pass.js';
import { ArenaModel, type ArenaLayout } from './device.js';

declare module '../pass.js' {
  interface PassResults {
    /** plan-memory: per device, where its arena tensors lie. */
    memory?: MemoryPlan;
  }
}

export type MemoryPlan = Map<string, ArenaLayout>;

export const planMemoryPass: Pass = {
  name: 'plan-memory',
  summary: "lay out each device's intermediate tensors in one arena by liveness",
  kind: 'analysis',
  options: {},
  needs: ['schedule', 'transfers'],
  provides: 'memory',
  run(graph, ctx) {
    const sched = need(ctx, 'schedule', 'plan-memory');
    const channels = need(ctx, 'transfers', 'plan-memory');
    const plan: MemoryPlan = new Map();
    const outputs = new Set(graph.outputs);
    const model = new ArenaModel(graph, ctx.dims);
    for (const id of sched.used) {
      const sends = new Set(channels.filter((c) => c.from === id).map((c) => c.value));
      // Values a placed op makes for floating ops elsewhere (passes/float) leave the arena like
      // channel values. A floating op's outputs keep an arena slot where the device makes them:
      // fleetrt copies one out only when it really hands it to another device.
      for (const f of ctx.results.floating?.values ?? []) if (f.from === id) sends.add(f.value);
      plan.set(
        id,
        model.layout({ ops: sched.orders.get(id) ?? [], sends, outputs: id === sched.home ? outputs : new Set() }),
      );
    }
    ctx.results.memory = plan;
    const total = [...plan.values()].reduce((s, l) => s + l.bytes, 0);
    return { summary: `${plan.size} arenas, ${total} bytes` };
  },
};
