// `schedule`: the order each device runs its ops in. On one device, the model's topological
// order; on a fleet, the partitioner's dispatch order (by predicted start), unless it breaks a
// data dependence between ops of one device, then topological order everywhere.
import type { IRGraph } from '../../src/ir/graph.js';
import { need, targetOf, type Pass } from '../pass.js';

declare module '../pass.js' {
  interface PassResults {
    /** schedule: per device its ops in order, the devices that get a bundle, and the plan's dispatch order. */
    schedule?: DeviceSchedule;
  }
}

export interface DeviceSchedule {
  /** The device graph inputs arrive on and outputs leave from. */
  home: string;
  /** Devices with a bundle (the home device and every device with ops), in fleet order. */
  used: string[];
  /** Per used device, its ops in the order it runs them. */
  orders: Map<string, string[]>;
  /** Every op in dispatch order (plan.json `schedule`). */
  order: string[];
}

export const schedulePass: Pass = {
  name: 'schedule',
  summary:
    "order each device's ops: the partitioner's dispatch order when it respects every dependence, else topological",
  kind: 'analysis',
  options: {},
  needs: ['partition'],
  provides: 'schedule',
  needsTarget: true,
  run(graph, ctx) {
    const { fleet, home } = targetOf(ctx, 'schedule');
    const part = need(ctx, 'partition', 'schedule');
    const topo = graph.topoOps();
    const dispatch = fleet.devices.length > 1 ? part.schedule : [];
    const floating = ctx.results.floating?.ops;
    const where = (id: string): string[] => floating?.get(id)?.devices ?? [part.placement[id]!];
    const { orders, order } = deviceOrders(graph, topo, where, dispatch);
    const homeId = fleet.devices[home]!.id;
    const used = fleet.devices.filter((d) => d.id === homeId || (orders.get(d.id)?.length ?? 0) > 0).map((d) => d.id);
    if (!orders.has(homeId)) orders.set(homeId, []);
    ctx.results.schedule = { home: homeId, used, orders, order };
    return { summary: `${used.length} devices, ${order === topo ? 'topological' : 'dispatch'} order` };
  },
};

/** Per device, the ops placed there in an order that respects local data dependences. */
function deviceOrders(
  graph: IRGraph,
  topo: string[],
  where: (op: string) => string[],
  schedule: string[],
): { orders: Map<string, string[]>; order: string[] } {
  const useSchedule = schedule.length === topo.length && new Set(schedule).size === topo.length;
  const order = useSchedule ? schedule : topo;
  const orders = new Map<string, string[]>();
  // A floating op (passes/float) is in the program of every device that may run it.
  for (const id of order)
    for (const d of where(id)) {
      if (!orders.has(d)) orders.set(d, []);
      orders.get(d)!.push(id);
    }
  if (!useSchedule) return { orders, order };
  // The partitioner's dispatch order is by start time; fall back to topological order on any doubt.
  for (const ops of orders.values()) {
    const pos = new Map(ops.map((id, k) => [id, k]));
    for (const id of ops)
      for (const v of [...graph.opInputs(id), ...graph.capturedValues(id)]) {
        const p = v === undefined ? undefined : graph.producer(v);
        if (p && pos.has(p.op) && pos.get(p.op)! >= pos.get(id)!) return deviceOrders(graph, topo, where, []);
      }
  }
  return { orders, order };
}
