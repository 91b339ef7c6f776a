// Re-placing experts from measured routing (`fleetc tune`, docs/moe.md): for a window of
// routing counts, search a placement with weight migration priced in (moved bytes over the
// route from the nearest current holder, amortised over the window), and move only when the
// time saved over the window pays for the migration. The layer's problem comes from the build's
// report (what compile priced), serialised without functions or infinities.
import {
  balanceExperts,
  evaluate,
  type BalanceProblem,
  type Evaluation,
  type ExpertCost,
  type Placement,
} from './moe-balance.js';

/** A layer's placement problem as JSON (Infinity, a refused device, is null). */
export interface SerializedProblem {
  devices: { id: string; capacity: number }[];
  experts: { expert: number; weightBytes: number; activationBytesPerToken: number; load: number }[];
  cost: { compute: number | null; stream: number; transfer: number; fixed: number | null; bytesPerToken: number }[][];
  extraSlots: number;
  /** Seconds per byte and fixed seconds to copy weights from device a to device b ([a][b]). */
  migration: { perByte: (number | null)[][]; latency: (number | null)[][] };
}

const fin = (x: number): number | null => (Number.isFinite(x) ? x : null);
const inf = (x: number | null): number => (x === null ? Infinity : x);

export function serializeProblem(
  p: BalanceProblem,
  migration: { perByte: number[][]; latency: number[][] },
): SerializedProblem {
  return {
    devices: p.devices.map((d) => ({ id: d.id, capacity: d.capacity })),
    experts: p.experts.map((e) => ({
      expert: e.expert,
      weightBytes: e.weightBytes,
      activationBytesPerToken: e.activationBytesPerToken ?? 0,
      load: e.load,
    })),
    cost: p.cost.map((row) =>
      row.map((c) => ({
        compute: fin(c.compute),
        stream: c.stream,
        transfer: c.transfer,
        fixed: fin(c.fixed),
        bytesPerToken: c.bytesPerToken,
      })),
    ),
    extraSlots: p.extraSlots,
    migration: { perByte: migration.perByte.map((r) => r.map(fin)), latency: migration.latency.map((r) => r.map(fin)) },
  };
}

export function deserializeProblem(s: SerializedProblem, loads?: number[]): BalanceProblem {
  return {
    devices: s.devices.map((d) => ({ ...d })),
    experts: s.experts.map((e, i) => ({
      expert: e.expert,
      load: loads ? loads[i]! : e.load,
      weightBytes: e.weightBytes,
      activationBytesPerToken: e.activationBytesPerToken,
    })),
    cost: s.cost.map((row) =>
      row.map((c): ExpertCost => ({
        compute: inf(c.compute),
        stream: c.stream,
        transfer: c.transfer,
        fixed: inf(c.fixed),
        bytesPerToken: c.bytesPerToken,
      })),
    ),
    extraSlots: s.extraSlots,
  };
}

export interface TuneLayerResult {
  decision: 'move' | 'keep';
  /** One sentence: why. */
  reason: string;
  before: Evaluation;
  after: Evaluation;
  /** The placement to use from now on (the current one when kept). */
  placement: Placement;
  migrationBytes: number;
  migrationSeconds: number;
  /** Seconds saved per step by the new placement, over the window, and the steps to pay back the move. */
  gainPerStep: number;
  gainOverWindow: number;
  paybackSteps: number;
  window: number;
}

/** Below this relative gain a new placement is noise, not a shift. */
export const MIN_RELATIVE_GAIN = 0.01;

/**
 * `loads`: routed tokens per step per expert (indexing the problem's experts) measured over
 * `window` steps; `current`: the placement the build runs.
 */
export function tuneLayer(s: SerializedProblem, current: Placement, loads: number[], window: number): TuneLayerResult {
  const base = deserializeProblem(s, loads);
  const migrationSeconds = (e: number, d: number): number => {
    const bytes = base.experts[e]!.weightBytes;
    let best = Infinity;
    for (const h of current.devices[e]!) {
      const perByte = inf(s.migration.perByte[h]![d]!);
      const latency = inf(s.migration.latency[h]![d]!);
      best = Math.min(best, h === d ? 0 : latency + bytes * perByte);
    }
    return best;
  };
  const before = evaluate(base, current);
  const searched = balanceExperts({ ...base, current, migrationSeconds, window });
  const withMigration = { ...base, current, migrationSeconds, window };
  const after = evaluate(withMigration, searched.placement);
  const gainPerStep = before.makespan - after.makespan;
  const gainOverWindow = gainPerStep * window;
  const common = {
    before,
    migrationBytes: after.migrationBytes,
    migrationSeconds: after.migrationSeconds,
    gainPerStep,
    gainOverWindow,
    paybackSteps: gainPerStep > 0 ? after.migrationSeconds / gainPerStep : Infinity,
    window,
  };
  const keep = (reason: string): TuneLayerResult => ({
    ...common,
    migrationBytes: 0,
    migrationSeconds: 0,
    decision: 'keep',
    reason,
    after: before,
    placement: current,
  });
  if (!after.fits && before.fits) return keep('no better placement fits in memory');
  if (gainPerStep <= before.makespan * MIN_RELATIVE_GAIN)
    return keep(
      `the current placement is within ${(MIN_RELATIVE_GAIN * 100).toFixed(0)}% of the best found for this window`,
    );
  if (gainOverWindow <= after.migrationSeconds)
    return keep(
      `moving would save ${fmt(gainPerStep)} per step, ${fmt(gainOverWindow)} over the ${window}-step window, less than the ${fmt(after.migrationSeconds)} migration`,
    );
  return {
    ...common,
    decision: 'move',
    reason: `saves ${fmt(gainPerStep)} per step (${fmt(gainOverWindow)} over the window) for a ${fmt(after.migrationSeconds)} migration`,
    after,
    placement: searched.placement,
  };
}

function fmt(s: number): string {
  if (!Number.isFinite(s)) return '∞';
  if (s >= 1) return `${s.toFixed(2)} s`;
  if (s >= 1e-3) return `${(s * 1e3).toFixed(2)} ms`;
  return `${(s * 1e6).toFixed(1)} µs`;
}
