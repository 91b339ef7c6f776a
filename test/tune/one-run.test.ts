// `fleetc tune` on the one run a user has (the demo's loop): the calibration prices that run's own
// plan at what the run measured. Its ops' medians add up short of the median pass (the passes' slow
// ops differ from pass to pass), so they are taken as shares of it; and what the run spent outside
// its ops is the per-request figure, though one run cannot show the spread a fit would test it by.
// The report compares the same median pass. The run's metrics are edited to make both gaps large and known, so that the checks do not
// depend on this machine's noise.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/api/compile.js';
import { report } from '../../src/api/report.js';
import { run } from '../../src/api/run.js';
import { tune, type TuneResult } from '../../src/api/tune.js';
import { haveFleetrt } from '../../runtime/fleetrt.js';
import { seconds } from '../../src/util/format.js';
import { REPO } from '../paths.js';

const work = mkdtempSync(join(tmpdir(), 'fleetc-tune-one-run-'));

interface MetricsFile {
  latency: { p50: number };
  devices: { measured: { busyMsMedian: number }; ops: { medianMs: number }[] }[];
}

describe.skipIf(!haveFleetrt())('fleetc tune on one run', () => {
  let tuned: TuneResult;
  let busyMs: number;
  let latencyMs: number;
  let build: string;
  let edited: string;

  beforeAll(async () => {
    build = join(work, 'build');
    const c = await compile(join(REPO, 'fixtures/models/gpt_decoder_kv/model.onnx'), build, {
      fleet: join(REPO, 'fixtures/fleets/cpu-gpu-pcie.yaml'),
      dims: { batch: 2, seq: 3, past_seq: 4 },
    });
    const measured = join(work, 'run.metrics.json');
    await run(c.planPath, { randomInputs: true, outputDir: join(work, 'out'), metrics: measured, repeat: 10 });
    const m = JSON.parse(readFileSync(measured, 'utf8')) as MetricsFile;
    const d = m.devices[0]!;
    const sum = d.ops.reduce((s, o) => s + o.medianMs, 0);
    busyMs = 1.3 * sum;
    latencyMs = busyMs + 0.05;
    d.measured.busyMsMedian = busyMs;
    m.latency.p50 = latencyMs;
    edited = join(work, 'edited.metrics.json');
    writeFileSync(edited, JSON.stringify(m));
    tuned = await tune(build, { metrics: [edited] });
  }, 60_000);

  it("prices the run's plan at the run's median pass: the ops as shares of it", () => {
    const [r] = tuned.calibration!.runs;
    expect(r!.devices[0]!.measured).toBeCloseTo(busyMs / 1e3, 9);
    // Ops the plan runs at other sizes than measured are priced by the fitted lines: within 5%
    // (as the medians alone: 1 / 1.3, 23% short).
    expect(r!.devices[0]!.after / r!.devices[0]!.measured).toBeCloseTo(1, 1);
  });

  it('takes what the run spent outside its ops as the per-request figure', () => {
    const request = tuned.calibration!.calibration.request!;
    expect(request.runs).toBe(1);
    expect(request.source.perOp).toBe('measured');
    expect(request.perOp).toBeGreaterThan(0);
    const [r] = tuned.calibration!.runs;
    expect(r!.latency!.after / r!.latency!.measured).toBeCloseTo(1, 1);
  });

  it('the report sets the median pass beside the prediction, as it sets the latency p50', async () => {
    const text = (await report(build, { metrics: edited })).text();
    expect(text).toContain(`measured p50 ${seconds(latencyMs / 1e3)}`);
    expect(text).toMatch(new RegExp(`cpu0\\s+[\\d.]+ [µm]s\\s+${seconds(busyMs / 1e3)}`));
  });
});
