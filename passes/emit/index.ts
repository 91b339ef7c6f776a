// `emit`: each device's bundle, written by its class's emitter (targets/<class>/): the program
// with its ops in schedule order, tensors at the memory plan's offsets and channel endpoints,
// and the weights its ops read.
import { TARGETS } from '../../targets/index.js';
import type { EmitResult } from '../../targets/fleetrt/emit.js';
import { need, targetOf, type Pass } from '../pass.js';
import { sharedEndpoints } from '../float/endpoints.js';

declare module '../pass.js' {
  interface PassResults {
    /** emit: per device, its program, weights and manifest (written to the bundle by the compile). */
    bundles?: Map<string, EmitResult>;
  }
}

export const emitPass: Pass = {
  name: 'emit',
  summary: "lower each device's ops to its bundle (program, weights, manifest) with its class's emitter",
  kind: 'analysis',
  options: {},
  needs: ['schedule', 'transfers', 'memory'],
  provides: 'bundles',
  needsTarget: true,
  run(graph, ctx) {
    const { fleet } = targetOf(ctx, 'emit');
    const sched = need(ctx, 'schedule', 'emit');
    const channels = need(ctx, 'transfers', 'emit');
    const memory = need(ctx, 'memory', 'emit');
    const bundles = new Map<string, EmitResult>();
    const floating = ctx.results.floating;
    for (const id of sched.used) {
      const dev = fleet.devices.find((d) => d.id === id)!;
      const home = id === sched.home;
      bundles.set(
        id,
        TARGETS[dev.class].emit({
          name: id,
          graph,
          ops: sched.orders.get(id) ?? [],
          inputs: home ? graph.inputs : [],
          outputs: home ? graph.outputs : [],
          channels: [
            ...channels.flatMap((c) => [
              ...(c.from === id ? [{ value: c.value, channel: c.id, direction: 'send' as const }] : []),
              ...(c.to === id ? [{ value: c.value, channel: c.id, direction: 'recv' as const }] : []),
            ]),
            ...(floating ? sharedEndpoints(graph, floating, id, channels.length) : []),
          ],
          dims: ctx.dims,
          arena: memory.get(id)!,
        }),
      );
    }
    ctx.results.bundles = bundles;
    return { summary: `${bundles.size} bundles` };
  },
};
