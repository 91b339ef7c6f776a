// `insert-transfers`: the channels of a plan. Every value read on another device than the one
// that makes it travels on one channel per reading device: op inputs (the partitioner's
// channels), values that If/Loop/Scan bodies read from the enclosing graph, and graph outputs
// made away from the home device. Sizes are for the compile's bindings, unbound symbols at 1.
import { route } from '../../src/fleet/route.js';
import { byteSize } from '../../src/ir/dtype.js';
import type { IRGraph } from '../../src/ir/graph.js';
import { evaluate, symbolsOf } from '../../src/ir/sym.js';
import { freeNames } from '../../targets/fleetrt/emit.js';
import type { Channel } from '../partition/index.js';
import { floatingDeliveries } from '../float/deliveries.js';
import { need, targetOf, type Pass } from '../pass.js';

declare module '../pass.js' {
  interface PassResults {
    /** insert-transfers: the plan's channels, numbered. */
    transfers?: PlannedChannel[];
  }
}

/** A channel of the plan (plan.json `channels[id]`). */
export interface PlannedChannel extends Channel {
  id: number;
}

export const insertTransfersPass: Pass = {
  name: 'insert-transfers',
  summary: 'a channel for every value read on another device than the one that makes it',
  kind: 'analysis',
  options: {},
  needs: ['partition', 'schedule'],
  provides: 'transfers',
  needsTarget: true,
  run(graph, ctx) {
    const { fleet } = targetOf(ctx, 'insert-transfers');
    const part = need(ctx, 'partition', 'insert-transfers');
    const sched = need(ctx, 'schedule', 'insert-transfers');
    const key = (v: string, to: string): string => `${v}\u0000${to}`;
    // Floating ops (passes/float): their values are shared inside their group, not sent.
    const floating = ctx.results.floating;
    const floatingOps = floating?.ops ?? new Map();
    const shared = floatingOps.size
      ? floatingDeliveries(graph, part.placement, floatingOps, sched.home, part.channels)
      : { channels: part.channels, shared: [] };
    const seen = new Set(shared.channels.map((c) => key(c.value, c.to)));
    const outer: Channel[] = [];
    for (const id of sched.order)
      for (const v of [...freeNames(graph, id)].sort()) {
        if (!graph.hasValue(v) || graph.value(v).role === 'weight') continue;
        const p = graph.producer(v);
        if (p && floatingOps.has(p.op)) continue;
        const from = p ? part.placement[p.op]! : sched.home;
        const to = part.placement[id]!;
        if (from === to || seen.has(key(v, to))) continue;
        seen.add(key(v, to));
        outer.push({ value: v, from, to, bytes: 0, links: route(fleet, from, to)?.hops.map((h) => h.link) ?? [] });
      }
    const channels = [...shared.channels, ...outer].map((c, id) => ({
      ...c,
      id,
      bytes: valueBytes(graph, c.value, ctx.dims) ?? c.bytes,
    }));
    ctx.results.transfers = channels;
    if (floating)
      floating.values = shared.shared.map((d, id) => ({ id, ...d, bytes: valueBytes(graph, d.value, ctx.dims) ?? 0 }));
    const sharedNote = floating?.values.length ? `, ${floating.values.length} values shared by floating ops` : '';
    return { summary: `${channels.length} channels${sharedNote}` };
  },
};

function valueBytes(graph: IRGraph, name: string, dims: ReadonlyMap<string, number>): number | undefined {
  const v = graph.value(name);
  if (!v.dtype || !v.shape || v.container || v.dtype === 'string') return undefined;
  const bind = new Map(dims);
  let n = 1;
  for (const d of v.shape) {
    for (const s of symbolsOf(d)) if (!bind.has(s)) bind.set(s, 1);
    const x = evaluate(d, bind);
    if (x === undefined || x < 0) return undefined;
    n *= x;
  }
  return byteSize(v.dtype, n);
}
