// The endpoints of shared values in one device's program. A shared value is numbered after the
// plan's channels (channels.length + id): the device it is delivered to receives it there, and
// every device that may make it sends there — its placed producer, or for a floating producer
// each device of the group other than the receiver (the one that ran the op does).
import type { IRGraph } from '../../src/ir/graph.js';
import type { ChannelUse } from '../../targets/fleetrt/emit.js';
import type { FloatingResult } from './index.js';

export function sharedEndpoints(graph: IRGraph, floating: FloatingResult, device: string, base: number): ChannelUse[] {
  const out: ChannelUse[] = [];
  for (const f of floating.values) {
    const channel = base + f.id;
    if (f.to === device) out.push({ value: f.value, channel, direction: 'recv', shared: true });
    const p = graph.producer(f.value);
    const maker = p ? floating.ops.get(p.op) : undefined;
    const sends = maker ? maker.devices.includes(device) && f.to !== device : f.from === device;
    if (sends) out.push({ value: f.value, channel, direction: 'send', shared: true });
  }
  return out;
}
