// bench:moe, measured vs predicted (issue 12, must-show 3): a MoE layer (8 experts, 256 → 1024
// → 256, top-2; written to bench/.cache by fixtures/gen/moe_contrib.mjs) placed on the real cpu
// devices of fixtures/fleets/cpu-threads.yaml (threads 1 and 2), run by fleetrt; each device's
// measured expert time (metrics.json "moe") against the cost model's time for the tokens that
// came. Target: within 20%. Nothing is adjusted to the machine: the fleet's figures are nominal.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../../src/api/compile.js';
import { run } from '../../src/api/run.js';
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
export async function prepareMeasured(dir = cache): Promise<{ plan: string; input: string }> {
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
  const c = await compile(model, path.join(dir, 'build'), {
    fleet: path.join(root, 'fixtures/fleets/cpu-threads.yaml'),
    dims: { tokens: TOKENS },
    report: false,
    force: true,
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

export async function measuredVsPredicted(): Promise<boolean> {
  const { plan, input } = await prepareMeasured();
  const metrics = path.join(cache, 'metrics.json');
  await run(plan, { inputs: { hidden_states: input }, outputDir: path.join(cache, 'out'), metrics, repeat: REPEAT });
  const { rows, ok } = compareMeasured(metrics);
  const cores = availableParallelism();
  printMeasured(
    rows,
    ok,
    `${cores} cores here${cores < 3 ? '; fleetrt gives each of the 2 devices 1 thread' : ''}, load average ${loadavg()[0]!.toFixed(1)}, ${gemmReference()}`,
  );
  return ok;
}
