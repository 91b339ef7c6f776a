// npm run bench -- calibration: `fleetc tune` calibration over two fleets of devices that run
// for real here (two cpu devices with different thread counts; a cpu and an emulated gpu, whose
// time is this host's), on fixtures and the shared models. Per fleet: every model compiled with
// the datasheet cost model and run; one tune over all those runs; every model compiled again
// with the calibration and run. Printed per model and device: the measured busy time and
// end-to-end latency, the prediction before tune, the same plan priced by the calibration (what
// tune prints), and the recompiled plan's prediction against its own run. Then the demo decoder
// on the cpu + gpu fleet: channels and measured latency before and after, against all-cpu.
//
// Measured figures are medians (of passes, of op times, of transfers) after warm-up runs: on a
// shared machine a few pre-empted passes move means far. BENCH_REPEAT (default 60) passes per run.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, type CompileResult } from '../../src/api/compile.js';
import { run } from '../../src/api/run.js';
import { tune, type RunCalibration } from '../../src/api/tune.js';
import { loadFleet } from '../../src/fleet/load.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shared = path.resolve(root, '../shared/models/onnx');
const REPEAT = Number(process.env.BENCH_REPEAT ?? 60);
const WARMUP = 5;
const FLEETS = ['fixtures/fleets/cpu-threads.yaml', 'fixtures/fleets/cpu-gpu-pcie.yaml'];

interface Model {
  name: string;
  file: string;
  dims: Record<string, number>;
}

/** Fixtures at the sizes of their test data (manifest.json), and the shared models with their symbols at 1. */
function models(): Model[] {
  const manifest = JSON.parse(readFileSync(path.join(root, 'fixtures/models/manifest.json'), 'utf8')) as {
    models: {
      name: string;
      path: string;
      inputs: { name: string; shape: (string | number)[] }[];
      test_data?: { inputs: Record<string, number[]> }[];
    }[];
  };
  const wanted = (process.env.BENCH_MODELS ?? 'gpt_decoder_kv,mlp_mixer,cnn_small,bert_encoder,audio_conv1d').split(
    ',',
  );
  const out: Model[] = [];
  for (const name of wanted) {
    const m = manifest.models.find((x) => x.name === name);
    if (!m) continue;
    const dims: Record<string, number> = {};
    const data = m.test_data?.[0]?.inputs ?? {};
    for (const i of m.inputs)
      i.shape.forEach((d, k) => {
        if (typeof d === 'string' && /^[A-Za-z_]\w*$/.test(d) && data[i.name]?.[k] !== undefined)
          dims[d] = data[i.name]![k]!;
      });
    out.push({ name, file: path.join(root, 'fixtures/models', m.path), dims });
  }
  for (const name of (process.env.BENCH_SHARED ?? 'opt-mnist_cntk,image_classifier32').split(',').filter(Boolean)) {
    const file = path.join(shared, `${name}.onnx`);
    if (existsSync(file)) out.push({ name, file, dims: {} });
  }
  return out;
}

interface Measured {
  latency: number;
  busy: Record<string, number>;
}

async function measure(c: CompileResult, dir: string, tag: string): Promise<{ metrics: string } & Measured> {
  const metrics = path.join(dir, `${tag}.metrics.json`);
  await run(c.planPath, {
    randomInputs: true,
    outputDir: path.join(dir, 'out'),
    metrics,
    repeat: REPEAT,
    warmup: WARMUP,
  });
  const m = JSON.parse(readFileSync(metrics, 'utf8')) as {
    latency: { p50: number };
    devices: { name: string; measured?: { busyMsMedian?: number; busyMsPerRequest: number } }[];
  };
  return {
    metrics,
    latency: m.latency.p50 / 1e3,
    busy: Object.fromEntries(
      m.devices
        .filter((d) => d.measured)
        .map((d) => [d.name, (d.measured!.busyMsMedian || d.measured!.busyMsPerRequest) / 1e3]),
    ),
  };
}

const pct = (p: number, m: number): string => {
  if (!(m > 0) || !Number.isFinite(p)) return '   n/a';
  const e = (p / m - 1) * 100;
  return `${e >= 0 ? '+' : ''}${e.toFixed(0)}%`.padStart(6);
};
const us = (s: number): string => `${(s * 1e6).toFixed(1)} µs`.padStart(11);

const work = mkdtempSync(path.join(tmpdir(), 'fleetc-bench-calibration-'));
const list = models();
const worst = { before: 0, tuned: 0, recompiled: 0, e2eBefore: 0, e2eTuned: 0, e2eRecompiled: 0 };
const bump = (key: keyof typeof worst, p: number, m: number): void => {
  if (m > 0 && Number.isFinite(p)) worst[key] = Math.max(worst[key], Math.abs(p / m - 1));
};

for (const fleetFile of FLEETS) {
  const fleet = path.join(root, fleetFile);
  console.log(
    `\n## fleet ${path.basename(fleetFile)}: ${list.length} models, ${REPEAT} passes each after ${WARMUP} warm-up`,
  );
  const before = new Map<string, { c: CompileResult; m: Measured & { metrics: string } }>();
  // The calibration runs: each model as compiled, and all of it on each device in turn, so that
  // every device is measured on every kind of work the models have.
  const calibrationRuns: string[] = [];
  const devices = loadFleet(fleet).devices.map((d) => d.id);
  for (const model of list) {
    const dir = path.join(work, path.basename(fleetFile, '.yaml'), model.name);
    try {
      const c = await compile(model.file, path.join(dir, 'before'), { fleet, dims: model.dims, force: true });
      before.set(model.name, { c, m: await measure(c, dir, 'before') });
      calibrationRuns.push(before.get(model.name)!.m.metrics);
    } catch (e) {
      console.log(`  ${model.name}: skipped (${(e as Error).message.split('\n')[0]})`);
      continue;
    }
    for (const dev of devices) {
      try {
        const c = await compile(model.file, path.join(dir, `on-${dev}`), {
          fleet,
          dims: model.dims,
          force: true,
          pins: [`.*=${dev}`],
        });
        calibrationRuns.push((await measure(c, dir, `on-${dev}`)).metrics);
      } catch {
        // a device that cannot run every op of the model is measured on the others
      }
    }
  }
  const first = [...before.values()][0];
  if (!first) continue;
  const calFile = path.join(work, `${path.basename(fleetFile, '.yaml')}.calibration.json`);
  const t0 = performance.now();
  const t = await tune(path.dirname(first.c.planPath), { metrics: calibrationRuns, calibrationOut: calFile });
  console.log(
    `one tune over ${calibrationRuns.length} runs (each model as compiled and on each device): ${(performance.now() - t0).toFixed(0)} ms → ${calFile}`,
  );
  const tuned = new Map<string, RunCalibration>();
  for (const r of t.calibration!.runs) {
    const hit = [...before].find(([, b]) => b.m.metrics === r.metrics);
    if (hit) tuned.set(hit[0], r);
  }
  console.log(
    `  ${'model'.padEnd(18)} ${'device'.padEnd(8)} ${'measured'.padStart(11)} | ${'before tune'.padStart(18)} | ${'after tune'.padStart(18)} || recompiled: ${'predicted'.padStart(18)} ${'measured'.padStart(11)}  channels`,
  );
  for (const [name, b] of before) {
    const dir = path.join(work, path.basename(fleetFile, '.yaml'), name);
    const model = list.find((x) => x.name === name)!;
    const c2 = await compile(model.file, path.join(dir, 'after'), {
      fleet,
      dims: model.dims,
      force: true,
      calibration: calFile,
    });
    const m2 = await measure(c2, dir, 'after');
    const r = tuned.get(name)!;
    const rows: [string, number, number, number, number, number][] = [];
    for (const d of r.devices) {
      const p2 = c2.plan.predicted.busy[d.device];
      rows.push([d.device, d.measured, d.before, d.after, p2 ?? NaN, m2.busy[d.device] ?? NaN]);
      bump('before', d.before, d.measured);
      bump('tuned', d.after, d.measured);
      if (p2 !== undefined && m2.busy[d.device]) bump('recompiled', p2, m2.busy[d.device]!);
    }
    rows.push([
      'e2e',
      b.m.latency,
      b.c.plan.predicted.latency,
      r.latency?.after ?? NaN,
      c2.plan.predicted.latency,
      m2.latency,
    ]);
    bump('e2eBefore', b.c.plan.predicted.latency, b.m.latency);
    if (r.latency) bump('e2eTuned', r.latency.after, b.m.latency);
    bump('e2eRecompiled', c2.plan.predicted.latency, m2.latency);
    rows.forEach(([dev, meas, bef, aft, p2, meas2], k) =>
      console.log(
        `  ${(k === 0 ? name : '').padEnd(18)} ${dev.padEnd(8)} ${us(meas)} | ${us(bef)} ${pct(bef, meas)} | ${us(aft)} ${pct(aft, meas)} ||             ${Number.isFinite(p2) ? `${us(p2)} ${pct(p2, meas2)}` : ''.padStart(18)} ${Number.isFinite(meas2) ? us(meas2) : ''.padStart(11)}` +
          (dev === 'e2e' ? `  ${b.c.plan.channels.length} → ${c2.plan.channels.length}` : ''),
      ),
    );
    for (const p of r.pairs)
      console.log(
        `  ${''.padEnd(18)} ${p.between.join('↔').padEnd(8)} ${us(p.measured)} | ${us(p.before)} ${pct(p.before, p.measured)} | ${us(p.after)} ${pct(p.after, p.measured)} ||  (median message, ${p.messages} sent)`,
      );
  }
}
console.log(
  `\nworst |error| over all models and devices — busy: before tune ${(worst.before * 100).toFixed(0)}%, ` +
    `after tune ${(worst.tuned * 100).toFixed(0)}%, recompiled ${(worst.recompiled * 100).toFixed(0)}%; ` +
    `end-to-end: before ${(worst.e2eBefore * 100).toFixed(0)}%, after tune ${(worst.e2eTuned * 100).toFixed(0)}%, recompiled ${(worst.e2eRecompiled * 100).toFixed(0)}%`,
);

// The demo: the tiny GPT-style decoder on the cpu + gpu fleet at its test inputs' sizes.
const demo = list.find((m) => m.name === 'gpt_decoder_kv');
if (demo) {
  const fleet = path.join(root, 'fixtures/fleets/cpu-gpu-pcie.yaml');
  const dir = path.join(work, 'demo');
  const cal = path.join(work, 'cpu-gpu-pcie.calibration.json');
  const plans = {
    before: await compile(demo.file, path.join(dir, 'before'), { fleet, dims: demo.dims, force: true }),
    after: await compile(demo.file, path.join(dir, 'after'), { fleet, dims: demo.dims, force: true, calibration: cal }),
    'all-cpu': await compile(demo.file, path.join(dir, 'all-cpu'), {
      fleet,
      dims: demo.dims,
      force: true,
      pins: ['.*=cpu0'],
    }),
  };
  // Interleaved rounds, so that the machine's load falls on all three alike.
  const lat: Record<string, number[]> = { before: [], after: [], 'all-cpu': [] };
  for (let round = 0; round < 3; round++)
    for (const [k, c] of Object.entries(plans)) lat[k]!.push((await measure(c, dir, `${k}-${round}`)).latency);
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  console.log(`\n## demo: gpt_decoder_kv on cpu-gpu-pcie (median of 3 interleaved runs' median latency)`);
  for (const [k, c] of Object.entries(plans)) {
    const onGpu = c.plan.devices.find((d) => d.name === 'gpu0')?.ops ?? 0;
    console.log(
      `  ${k.padEnd(8)} ${String(c.plan.channels.length).padStart(3)} channels, ${String(onGpu).padStart(3)} ops on gpu0, predicted ${us(c.plan.predicted.latency)}, measured ${us(med(lat[k]!))}`,
    );
  }
}
