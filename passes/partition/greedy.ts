import { allowed, type Problem } from './problem.js';

/**
 * The baseline other runtimes use (ONNX Runtime's execution-provider order, OpenVINO HETERO's
 * priority list): each task goes to the first device in priority order that supports it,
 * ignoring costs and memory. The priority is the fleet's accelerators, fastest first, then CPUs.
 */
export function greedyPriority(p: Problem): number[] {
  const peak = (d: number): number => Math.max(...Object.values(p.devices[d]!.compute).map((v) => v ?? 0));
  const prio = p.devices
    .map((_d, i) => i)
    .sort(
      (a, b) =>
        Number(p.devices[a]!.class === 'cpu') - Number(p.devices[b]!.class === 'cpu') || peak(b) - peak(a) || a - b,
    );
  return p.tasks.map((t) => {
    const d = prio.find((i) => allowed(t, i));
    if (d === undefined) throw new Error(`task ${t.name} has no allowed device`);
    return d;
  });
}
