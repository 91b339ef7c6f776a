// `fleetc tune BUILD --metrics metrics.json [--metrics …]`: feedback from runs into the next
// compile. From the measured per-op and per-transfer times it fits the cost model's parameters
// (tune-calibrate.ts) and writes a calibration for `fleetc compile --calibration`; for a MoE
// build it re-places experts from the measured routing (tune-moe.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FleetcError } from '../diagnostics/index.js';
import { readReport } from '../report/index.js';
import { calibrateFromRuns, hasOpTimes, type CalibrationTuneResult } from './tune-calibrate.js';
import { tuneMoe, type MoeTuneLayer } from './tune-moe.js';

export type { CalibrationTuneResult, Comparison, RunCalibration } from './tune-calibrate.js';

export interface TuneOptions {
  /** metrics.json files of runs of this build, or of builds of the same fleet (fleetc run --metrics). */
  metrics: string | string[];
  /** Steps the routing counts stand for (default: the requests the metrics cover). */
  window?: number;
  /** Where to write the new expert placement (default BUILD/placement.json); only written when something moves. */
  out?: string;
  /** Where to write the calibration (default BUILD/calibration.json). */
  calibrationOut?: string;
}

export interface TuneResult {
  build: string;
  metrics: string[];
  moe: MoeTuneLayer[];
  /** The placement file written (for `fleetc compile --placement`), or null when nothing moves. */
  placementFile: string | null;
  /** The cost model fitted to the runs' per-op and per-transfer times (when they have them). */
  calibration: CalibrationTuneResult | null;
}

export async function tune(build: string, opts: TuneOptions): Promise<TuneResult> {
  if (opts.window !== undefined && !(Number.isInteger(opts.window) && opts.window > 0))
    throw new FleetcError('E0901', `--window '${opts.window}': expected a positive integer`);
  const files = Array.isArray(opts.metrics) ? opts.metrics : [opts.metrics];
  if (!files.length) throw new FleetcError('E0901', 'give at least one --metrics file');
  const report = readReport(build);
  const timed = files.filter(hasOpTimes);

  let moe: MoeTuneLayer[] = [];
  let placementFile: string | null = null;
  if (report.moe?.length) {
    const routed = files.find(hasRouting);
    if (routed || !timed.length) {
      moe = tuneMoe(report.moe, routed ?? files[0]!, opts.window);
      if (moe.some((l) => l.decision === 'move')) {
        placementFile = opts.out ?? join(build, 'placement.json');
        const json = { layers: moe.map((l) => ({ layer: l.layer, experts: l.placement })) };
        writeFileSync(placementFile, JSON.stringify(json, null, 2) + '\n');
      }
    }
  }
  const calibration =
    timed.length || !report.moe?.length
      ? calibrateFromRuns(build, timed.length ? timed : files, opts.calibrationOut ?? join(build, 'calibration.json'))
      : null;
  return { build, metrics: files, moe, placementFile, calibration };
}

function hasRouting(file: string): boolean {
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as { moe?: { layers?: unknown } };
    return Array.isArray(m?.moe?.layers);
  } catch {
    return false;
  }
}
