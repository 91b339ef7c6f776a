// bench:moe, measured vs predicted (issue 12, must-show 3): a MoE layer (8 experts, 256 → 1024
// → 256, top-2; written to bench/.cache by fixtures/gen/moe_contrib.mjs) placed on the real cpu
// devices of fixtures/fleets/cpu-threads.yaml (threads 1 and 2), run by fleetrt; each device's
// measured expert time (metrics.json "moe") against the cost model's time for the tokens that
// came. Target: within 20%. First as the datasheet prices the fleet (nominal figures, nothing
// adjusted to the machine), then as a user would after one `fleetc tune`: the calibration fitted
// to that run, a recompile with it, and a new run measured against the new plan's prediction.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../../src/api/compile.js';
import { run } from '../../src/api/run.js';
import { tune } from '../../src/api/tune.js';
import { writeNpy } from '../../src/util/npy.js';
// @ts-expect-error: a plain ES module generator without typings
import { buildContribMoe } from '../../fixtures/gen/moe_contrib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cache = path.join(root, 'bench/.cache/moe-measured');
const HIDDEN = 256;
const TOKENS = Number(process.env.MOE_MEASURED_TOKENS ?? 2048);
const REPEAT = Number(process.env.MOE_MEASURED_REPEAT ?? 5);

interface DeviceRow {
  device: string;
  tokensPerRequest: number;
  msPerRequest: number;
  modelMs: number;
  timeError?: number;
}

/** Compiles and writes everything a run needs into `dir`: plan, bundles, input. */
export async function prepareMeasured(dir = cache, calibration?: string): Promise<{ plan: string; input: string }> {
  mkdirSync(dir, { recursive: true });
  const model = path.join(dir, 'model.onnx');
  writeFileSync(
    model,
    (buildContribMoe as (o: object) => Uint8Array)({
      experts: 8,
      hidden: HIDDEN,
      inter: 1024,
      k: 2,
      activation: 'silu',
      seed: 3,
    }),
  );
  const c = await compile(model, path.join(dir, calibration ? 'calibrated' : 'build'), {
    fleet: path.join(root, 'fixtures/fleets/cpu-threads.yaml'),
    dims: { tokens: TOKENS },
    force: true,
    ...(calibration ? { calibration } : {}),
  });
  const input = path.join(dir, 'hidden_states.npy');
  let s = 12345;
  const x = Float32Array.from({ length: TOKENS * HIDDEN }, () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
  writeNpy(input, '<f4', [TOKENS, HIDDEN], x);
  return { plan: c.planPath, input };
}

/** The comparison, from a metrics.json (written here or on another machine). */
export function compareMeasured(metricsFile: string): { rows: DeviceRow[]; ok: boolean } {
  const m = JSON.parse(readFileSync(metricsFile, 'utf8')) as { moe: { layers: { devices: DeviceRow[] }[] } };
  const rows = m.moe.layers[0]!.devices;
  return { rows, ok: rows.every((r) => r.timeError !== undefined && Math.abs(r.timeError) <= 0.2) };
}

export function printMeasured(rows: DeviceRow[], ok: boolean, where: string): void {
  console.log(`\n== measured vs predicted: MoE experts on real cpu devices (${where})`);
  console.log('device  tokens/request  measured ms  model ms  error');
  for (const r of rows)
    console.log(
      `${r.device.padEnd(6)}  ${r.tokensPerRequest.toFixed(0).padStart(14)}  ${r.msPerRequest.toFixed(3).padStart(11)}  ${r.modelMs.toFixed(3).padStart(8)}  ${((r.timeError ?? NaN) * 100).toFixed(1).padStart(5)}%`,
    );
  const [a, b] = rows;
  if (a && b)
    console.log(
      `ratio ${a.device}/${b.device} per token: measured ${(a.msPerRequest / a.tokensPerRequest / (b.msPerRequest / b.tokensPerRequest)).toFixed(2)}, model ${(a.modelMs / a.tokensPerRequest / (b.modelMs / b.tokensPerRequest)).toFixed(2)}`,
    );
  console.log(ok ? 'target met (every device within 20%)' : 'target MISSED (a device is off by more than 20%)');
}

/** This machine right now: one-thread SGEMM GFLOP/s from fleetrt_gemm_bench (a same-run reference). */
function gemmReference(): string {
  const bin = path.join(root, 'native/build/fleetrt_gemm_bench');
  if (!existsSync(bin)) return 'no fleetrt_gemm_bench';
  const r = spawnSync(bin, ['1', '512'], { encoding: 'utf8', timeout: 60_000 });
  const m = /threads=1 n=512: ([\d.]+) GFLOP\/s/.exec(r.stdout ?? '');
  return m ? `one-thread SGEMM ${m[1]} GFLOP/s (the fleet says 80)` : 'SGEMM reference failed';
}

async function measure(
  plan: string,
  input: string,
  tag: string,
): Promise<{ metrics: string; rows: DeviceRow[]; ok: boolean }> {
  const metrics = path.join(cache, `${tag}.metrics.json`);
  await run(plan, {
    inputs: { hidden_states: input },
    outputDir: path.join(cache, `${tag}-out`),
    metrics,
    repeat: REPEAT,
    warmup: 1,
  });
  return { metrics, ...compareMeasured(metrics) };
}

export async function measuredVsPredicted(): Promise<boolean> {
  const { plan, input } = await prepareMeasured();
  const cores = availableParallelism();
  const where = (): string =>
    `${cores} cores here${cores < 3 ? '; fleetrt gives each of the 2 devices 1 thread' : ''}, load average ${loadavg()[0]!.toFixed(1)}, ${gemmReference()}`;
  const datasheet = await measure(plan, input, 'datasheet');
  printMeasured(datasheet.rows, datasheet.ok, `datasheet figures; ${where()}`);

  const calibration = path.join(cache, 'calibration.json');
  await tune(path.dirname(plan), { metrics: datasheet.metrics, calibrationOut: calibration });
  const again = await prepareMeasured(cache, calibration);
  const calibrated = await measure(again.plan, again.input, 'calibrated');
  printMeasured(calibrated.rows, calibrated.ok, `after one fleetc tune of the run above; ${where()}`);
  return calibrated.ok;
}
