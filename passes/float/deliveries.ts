// Where values go once some ops float: a value made by a floating op is shared with every device
// of its group that reads it (whichever device ran the op hands it to the others); a value made
// by a placed op and read by a floating op is shared with the group's other devices; channels
// remain only for placed readers on another device than the producer. A floating op reads and
// feeds only devices of its group (select.ts), so nothing shared leaves the host's memory.
import type { IRGraph } from '../../src/ir/graph.js';
import type { Channel } from '../partition/index.js';
import type { FloatingOp } from './select.js';

export interface Deliveries {
  /** The partitioner's channels still needed, in their order. */
  channels: Channel[];
  /** Shared deliveries `(value, from | null, to)`, in graph value order, then by device. */
  shared: { value: string; from: string | null; to: string }[];
}

export function floatingDeliveries(
  graph: IRGraph,
  placement: Record<string, string>,
  floating: ReadonlyMap<string, FloatingOp>,
  home: string,
  channels: readonly Channel[],
): Deliveries {
  const capturedBy = new Map<string, string[]>();
  for (const id of graph.ops())
    for (const v of graph.capturedValues(id)) capturedBy.set(v, [...(capturedBy.get(v) ?? []), id]);
  const outputs = new Set(graph.outputs);
  const keepChannel = new Set<string>();
  const shared: Deliveries['shared'] = [];
  const key = (v: string, to: string): string => `${v}\u0000${to}`;
  for (const v of graph.values()) {
    const val = graph.value(v);
    if (val.role === 'weight' || val.role === 'state') continue;
    const prod = graph.producer(v);
    const from = prod ? placement[prod.op]! : home;
    const made = prod ? floating.get(prod.op) : undefined;
    // Per reading device: whether a placed op (or the graph's output) reads it there.
    const needs = new Map<string, boolean>();
    const readers = [...graph.consumers(v).map((u) => u.op), ...(capturedBy.get(v) ?? [])];
    for (const r of readers) {
      const f = floating.get(r);
      for (const d of f ? f.devices : [placement[r]!]) needs.set(d, (needs.get(d) ?? false) || !f);
    }
    if (outputs.has(v)) needs.set(home, true);
    for (const [to, placed] of [...needs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      if (made) {
        if (!made.devices.includes(to))
          throw new Error(`floating op '${made.op}' has a reader of '${v}' on ${to}, outside its group`);
        shared.push({ value: v, from: null, to });
      } else if (to === from) {
        continue;
      } else if (placed) {
        keepChannel.add(key(v, to));
      } else {
        shared.push({ value: v, from, to });
      }
    }
  }
  return { channels: channels.filter((c) => keepChannel.has(key(c.value, c.to))), shared };
}
