// `fleetc tune BUILD --metrics metrics.json`: feedback from a run into the build. Today it
// re-places MoE experts from measured routing (tune-moe.ts); cost-model calibration from the
// same metrics is meant to sit beside it as another part of TuneResult.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FleetcError } from '../diagnostics/index.js';
import { readReport } from '../report/index.js';
import { tuneMoe, type MoeTuneLayer } from './tune-moe.js';

export interface TuneOptions {
  /** A metrics.json of a run of this build (fleetc run --metrics). */
  metrics: string;
  /** Steps the routing counts stand for (default: the requests the metrics cover). */
  window?: number;
  /** Where to write the new expert placement (default BUILD/placement.json); only written when something moves. */
  out?: string;
}

export interface TuneResult {
  build: string;
  metrics: string;
  moe: MoeTuneLayer[];
  /** The placement file written (for `fleetc compile --placement`), or null when nothing moves. */
  placementFile: string | null;
}

export async function tune(build: string, opts: TuneOptions): Promise<TuneResult> {
  if (opts.window !== undefined && !(Number.isInteger(opts.window) && opts.window > 0))
    throw new FleetcError('E0901', `--window '${opts.window}': expected a positive integer`);
  const report = readReport(build);
  if (!report.moe?.length)
    throw new FleetcError('E0304', 'the build has no MoE layers to re-place (nothing else is tuned yet)', {
      file: join(build, 'report.json'),
    });
  const moe = tuneMoe(report.moe, opts.metrics, opts.window);
  let placementFile: string | null = null;
  if (moe.some((l) => l.decision === 'move')) {
    placementFile = opts.out ?? join(build, 'placement.json');
    const json = { layers: moe.map((l) => ({ layer: l.layer, experts: l.placement })) };
    writeFileSync(placementFile, JSON.stringify(json, null, 2) + '\n');
  }
  return { build, metrics: opts.metrics, moe, placementFile };
}
