#!/usr/bin/env node
// fleetc inspect against onnxruntime-node's InferenceSession.create on the same files, each
// measured in a fresh child process (clean peak RSS):
//   - a deep decoder of >= 15,000 nodes (fixtures/gen/deep_decoder.mjs --layers 132) and 4x that
//     (--layers 528) for linearity (4x nodes must cost <= 4.4x time);
//   - a model with 512 MiB of external weights, and the same model with 64 MiB, to show that
//     fleetc's RSS does not grow with weight bytes (weights are never read while inspecting).
// Models are generated under os.tmpdir() and removed afterwards (--keep keeps them).
//
//   node scripts/bench/inspect.mjs [--runs N] [--ort-runs N] [--quick] [--ort-4x] [--keep] [--check] [--json]
//   import { benchInspect } from './scripts/bench/inspect.mjs'; await benchInspect({ runs: 3 });
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const MiB = 2 ** 20;

/**
 * This process's peak RSS. Linux's VmHWM belongs to the address space exec made, so it is the
 * child's own; getrusage's maxrss can carry the parent's high-water mark across fork+exec.
 */
function peakRssBytes() {
  try {
    const m = /VmHWM:\s*(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

/** Child: time `runs` inspections (fleetc) or session creations (ort) of one file; print one JSON line. */
async function child(kind, file, runs) {
  let work;
  if (kind === 'fleetc') {
    const { inspect } = await import(pathToFileURL(path.join(root, 'src/api/inspect.ts')).href);
    work = async () => (await inspect(file)).nodes;
  } else {
    const ort = (await import('onnxruntime-node')).default;
    work = async () => {
      const s = await ort.InferenceSession.create(file);
      await s.release?.();
      return null;
    };
  }
  const baseRss = process.memoryUsage().rss;
  const wall = [];
  const cpu = [];
  let nodes = null;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const c0 = cpuMs();
    nodes = await work();
    cpu.push(cpuMs() - c0);
    wall.push(performance.now() - t0);
  }
  const peakRss = peakRssBytes();
  process.stdout.write(JSON.stringify({ kind, wall, cpu, baseRss, peakRss, nodes }) + '\n');
}

function measure(kind, file, runs) {
  // fleetc runs from source through tsx (imports are compiled before the clock starts).
  const args = kind === 'fleetc' ? ['--import', 'tsx'] : [];
  const r = spawnSync(
    process.execPath,
    [...args, fileURLToPath(import.meta.url), '--child', kind, file, '--runs', String(runs)],
    {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    },
  );
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{'))
    throw new Error(`${kind} on ${file} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const m = JSON.parse(line);
  return { ...m, best: Math.min(...m.wall), cold: m.wall[0], coldCpu: m.cpu[0], bestCpu: Math.min(...m.cpu) };
}

const fmtMs = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const fmtMiB = (b) => `${(b / MiB).toFixed(0)} MiB`;

function table(head, rows) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

/**
 * Generates the models, measures fleetc and ORT in child processes, prints the table and the
 * three checks, and returns everything measured.
 */
export async function benchInspect(opts = {}) {
  const runs = opts.runs ?? 3;
  const quick = !!opts.quick;
  const log = opts.log ?? ((s) => console.log(s));
  const dir = mkdtempSync(path.join(tmpdir(), 'fleetc-bench-inspect-'));
  const { buildDeepDecoder } = await import(pathToFileURL(path.join(root, 'fixtures/gen/deep_decoder.mjs')).href);
  const { writeExternalWeightsModel } = await import(
    pathToFileURL(path.join(root, 'fixtures/gen/external_weights.mjs')).href
  );
  try {
    const models = [];
    const layers = quick ? [33, 132] : [132, 528];
    for (const l of layers) {
      const out = path.join(dir, `deep_${l}.onnx`);
      const { bytes, nodes } = buildDeepDecoder({ layers: l, zero: true });
      writeFileSync(out, bytes);
      models.push({
        name: `deep decoder ${l} layers`,
        file: out,
        nodes,
        weights: 0,
        ort: l === layers[0] || !!opts.ort4x,
      });
    }
    for (const mb of quick ? [16, 128] : [64, 512]) {
      const out = path.join(dir, `ext${mb}`, 'model.onnx');
      const r = writeExternalWeightsModel({ mb, out, zero: true });
      models.push({ name: `external weights ${mb} MiB`, file: out, nodes: r.nodes, weights: r.dataBytes, ort: true });
    }
    const rows = [];
    for (const m of models) {
      log(
        `measuring ${m.name} (${m.nodes} nodes, ${(statSync(m.file).size / MiB).toFixed(1)} MiB .onnx${m.weights ? ` + ${fmtMiB(m.weights)} external` : ''}) ...`,
      );
      const f = measure('fleetc', m.file, runs);
      const o = m.ort ? measure('ort', m.file, opts.ortRuns ?? 1) : null;
      rows.push({ ...m, fleetc: f, ort: o });
    }
    const text = table(
      [
        'model',
        'nodes',
        'weights',
        'fleetc',
        'cpu',
        'best',
        'peak RSS',
        'ORT create',
        'cpu',
        'ORT RSS',
        'wall ratio',
        'cpu ratio',
      ],
      rows.map((r) => [
        r.name,
        r.fleetc.nodes ?? r.nodes,
        r.weights ? fmtMiB(r.weights) : 'inline',
        fmtMs(r.fleetc.cold),
        fmtMs(r.fleetc.coldCpu),
        fmtMs(r.fleetc.best),
        fmtMiB(r.fleetc.peakRss),
        r.ort ? fmtMs(r.ort.cold) : '-',
        r.ort ? fmtMs(r.ort.coldCpu) : '-',
        r.ort ? fmtMiB(r.ort.peakRss) : '-',
        r.ort ? `${(r.fleetc.cold / r.ort.cold).toFixed(3)}x` : '-',
        r.ort ? `${(r.fleetc.coldCpu / r.ort.coldCpu).toFixed(3)}x` : '-',
      ]),
    );
    const load = loadavg()
      .map((x) => x.toFixed(1))
      .join(', ');
    log(`\n${cpus().length} CPUs, load average ${load} at the end of the run`);
    log(
      `\nfleetc inspect vs onnxruntime-node ${ortVersion()} InferenceSession.create, each in a fresh process: wall and CPU ` +
        `time of the first run (fleetc: also the best wall time of ${runs}); ratios = fleetc / ORT\n${text}`,
    );

    const [d1, d4, e1, e2] = rows;
    const checks = [];
    // Judged on CPU time: on a shared machine wall time mostly measures the neighbours (see the
    // load average printed above); both are in the table.
    const measured = rows.filter((r) => r.ort);
    const cpuRatio = Math.max(...measured.map((r) => r.fleetc.coldCpu / r.ort.coldCpu));
    const wallRatio = Math.max(...measured.map((r) => r.fleetc.cold / r.ort.cold));
    checks.push([
      `time <= 0.5x ORT on every model measured against it: worst CPU ratio ${cpuRatio.toFixed(3)}x (wall ${wallRatio.toFixed(3)}x)`,
      cpuRatio <= 0.5,
    ]);
    // Judged on the first run's CPU time in a fresh process: wall time on a shared machine
    // measures the neighbours, and later runs in one process carry the earlier runs' heap.
    const lin = d4.fleetc.cold / d1.fleetc.cold;
    const linCpu = d4.fleetc.coldCpu / d1.fleetc.coldCpu;
    const nodeRatio = d4.nodes / d1.nodes;
    checks.push([
      `linear: ${nodeRatio.toFixed(2)}x nodes -> ${linCpu.toFixed(2)}x CPU time (wall ${lin.toFixed(2)}x); limit ${(1.1 * nodeRatio).toFixed(2)}x`,
      linCpu <= 1.1 * nodeRatio,
    ]);
    const growth = e2.fleetc.peakRss - e1.fleetc.peakRss;
    const weightsGrowth = e2.weights - e1.weights;
    checks.push([
      `RSS flat in weight bytes: +${fmtMiB(weightsGrowth)} weights -> ${growth >= 0 ? '+' : ''}${fmtMiB(growth)} peak RSS ` +
        `(ORT: ${e2.ort && e1.ort ? `+${fmtMiB(e2.ort.peakRss - e1.ort.peakRss)}` : '-'})`,
      growth < 0.05 * weightsGrowth,
    ]);
    for (const [what, ok] of checks) log(`${ok ? 'PASS' : 'FAIL'}  ${what}`);
    return { rows, checks };
  } finally {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    else log(`models kept in ${dir}`);
  }
}

function ortVersion() {
  try {
    const r = spawnSync(process.execPath, ['-p', "require('onnxruntime-node/package.json').version"], {
      cwd: root,
      encoding: 'utf8',
    });
    return r.stdout.trim();
  } catch {
    return '';
  }
}

const argv = process.argv.slice(2);
const flag = (n) => argv.includes(n);
const value = (n, d) => {
  const i = argv.indexOf(n);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : d;
};
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  if (flag('--child')) {
    await child(value('--child'), argv[argv.indexOf('--child') + 2], Number(value('--runs', '1')));
  } else {
    const res = await benchInspect({
      runs: Number(value('--runs', '3')),
      ortRuns: Number(value('--ort-runs', '1')),
      quick: flag('--quick'),
      keep: flag('--keep'),
      ort4x: flag('--ort-4x'),
    });
    if (flag('--json')) console.log(JSON.stringify(res.checks));
    if (flag('--check') && res.checks.some(([, ok]) => !ok)) process.exitCode = 1;
  }
}
