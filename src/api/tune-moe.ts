// The MoE part of `fleetc tune`: routing counts of a run (metrics.json "moe", a window of
// steps) against the build's expert placement (report.json "moe": what compile solved), per
// layer a re-placement only when the window's gain pays for moving weights (moe-tune.ts).
import { readFileSync } from 'node:fs';
import { FleetcError } from '../diagnostics/index.js';
import type { Placement } from '../../passes/partition/moe-balance.js';
import type { MoeReportLayer } from '../../passes/partition/moe-place.js';
import { tuneLayer } from '../../passes/partition/moe-tune.js';

export interface MoeTuneLayer {
  layer: number;
  name: string;
  decision: 'move' | 'keep';
  reason: string;
  /** Steps of the routing window and the tokens per step it measured. */
  window: number;
  tokensPerStep: number;
  imbalanceBefore: number;
  imbalanceAfter: number;
  slowestBefore: number;
  slowestAfter: number;
  migrationBytes: number;
  migrationSeconds: number;
  gainPerStep: number;
  paybackSteps: number;
  /** Experts whose devices or shares change. */
  moves: { expert: number; from: string[]; to: string[]; share: number[] }[];
  /** The placement from now on, per expert. */
  placement: { expert: number; devices: string[]; share: number[] }[];
}

interface MetricsMoe {
  requests: number;
  layers: { layer: number; counts: number[] }[];
}

export function readRoutingWindow(file: string): MetricsMoe {
  let m: { moe?: MetricsMoe };
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as { moe?: MetricsMoe };
  } catch (e) {
    throw new FleetcError('E0304', `not a metrics file: ${(e as Error).message}`, { file });
  }
  if (!m?.moe || !Array.isArray(m.moe.layers) || !(m.moe.requests > 0))
    throw new FleetcError('E0304', 'no "moe" routing counts (run a MoE build with fleetc run --metrics to get them)', {
      file,
    });
  return m.moe;
}

export function tuneMoe(layers: MoeReportLayer[], metricsFile: string, window?: number): MoeTuneLayer[] {
  const m = readRoutingWindow(metricsFile);
  const steps = window ?? m.requests;
  return layers.map((l) => {
    const measured = m.layers.find((x) => x.layer === l.layer);
    if (!measured)
      throw new FleetcError('E0304', `no routing counts for MoE layer ${l.layer} (${l.name})`, { file: metricsFile });
    if (measured.counts.length !== l.problem.experts.length)
      throw new FleetcError(
        'E0304',
        `layer ${l.layer}: ${measured.counts.length} counts for ${l.problem.experts.length} experts (is it this build's run?)`,
        { file: metricsFile },
      );
    const ids = l.problem.devices.map((d) => d.id);
    const byExpert = new Map(l.placement.map((p) => [p.expert, p]));
    const current: Placement = {
      devices: l.problem.experts.map((e) => byExpert.get(e.expert)!.devices.map((d) => ids.indexOf(d))),
      share: l.problem.experts.map((e) => [...byExpert.get(e.expert)!.share]),
    };
    const loads = l.problem.experts.map((e) => measured.counts[e.expert]! / m.requests);
    const r = tuneLayer(l.problem, current, loads, steps);
    const placement = l.problem.experts.map((e, i) => ({
      expert: e.expert,
      devices: r.placement.devices[i]!.map((d) => ids[d]!),
      share: r.placement.share[i]!,
    }));
    const moves = placement
      .map((p, i) => ({
        expert: p.expert,
        from: current.devices[i]!.map((d) => ids[d]!),
        to: p.devices,
        share: p.share,
      }))
      .filter(
        (x, i) =>
          x.from.join() !== x.to.join() || current.share[i]!.some((s, k) => Math.abs(s - (x.share[k] ?? 0)) > 1e-6),
      );
    return {
      layer: l.layer,
      name: l.name,
      decision: r.decision,
      reason: r.reason,
      window: steps,
      tokensPerStep: loads.reduce((a, b) => a + b, 0),
      imbalanceBefore: r.before.imbalance,
      imbalanceAfter: r.after.imbalance,
      slowestBefore: r.before.makespan,
      slowestAfter: r.after.makespan,
      migrationBytes: r.decision === 'move' ? r.migrationBytes : 0,
      migrationSeconds: r.decision === 'move' ? r.migrationSeconds : 0,
      gainPerStep: r.gainPerStep,
      paybackSteps: r.paybackSteps,
      moves: r.decision === 'move' ? moves : [],
      placement,
    };
  });
}
