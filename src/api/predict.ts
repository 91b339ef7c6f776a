import { costGraph } from '../../passes/analysis/cost.js';
import type { Device } from '../fleet/types.js';
import type { IRGraph } from '../ir/graph.js';
import { evaluate, symbolsOf, type Dim } from '../ir/sym.js';

/**
 * Predicted time of running every op of `graph` in sequence on one device: per op the larger of
 * compute time (FLOPs / peak for its dtype) and memory time (bytes moved / bandwidth), plus the
 * launch overhead. Unbound symbols count as 1. Ops of unknown cost count their overhead only.
 */
export function predictSingleDevice(graph: IRGraph, dev: Device, dims: ReadonlyMap<string, number>): number {
  const cost = costGraph(graph);
  const peak = (dt: string | null): number =>
    (dt && dev.compute[dt as keyof Device['compute']]) || dev.compute.float32 || 1e9;
  const bw = dev.memory[0]?.bandwidth || 1e9;
  const num = (d: Dim | null): number => {
    if (d === null) return 0;
    const bind = new Map(dims);
    for (const s of symbolsOf(d)) if (!bind.has(s)) bind.set(s, 1);
    const v = evaluate(d, bind);
    return v !== undefined && Number.isFinite(v) && v > 0 ? v : 0;
  };
  let total = 0;
  for (const c of cost.ops) {
    const compute = num(c.flops) / peak(c.dtype);
    const memory = (num(c.bytesRead) + num(c.bytesWritten)) / bw;
    total += Math.max(compute, memory) + dev.launchOverhead;
  }
  return total;
}
