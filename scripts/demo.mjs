#!/usr/bin/env node
/* global fetch -- Node ≥ 20 has it */
// npm run demo — the main job, as a user would type it: compile the bundled GPT-style decoder
// (KV-cache inputs, dynamic sequence axes) for the bundled CPU + GPU fleet, print the partition
// report, run the plan on its test inputs, and check the outputs against the exporter's. Then
// generate text with the shared tiny GPT-2 on the same fleet, its KV cache kept as paged state on
// the devices that run its attention; and serve the Llama-style decoder to several clients at once
// over the OpenAI-style HTTP API.
import { spawn, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
// The package's own .npy reader (dist/ is built by npm install).
import { readNpy } from '../dist/src/util/npy.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const model = process.env.DEMO_MODEL ?? 'fixtures/models/gpt_decoder_kv';
const fleet = process.env.DEMO_FLEET ?? 'fixtures/fleets/cpu-gpu-pcie.yaml';
const build = path.join(root, 'build', 'demo');
const out = path.join(build, 'out');

function fleetc(...args) {
  console.log(`\n$ fleetc ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [path.join(root, 'bin/fleetc.js'), ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`demo: 'fleetc ${args[0]}' failed (exit code ${r.status})`);
    process.exit(r.status ?? 2);
  }
}

rmSync(build, { recursive: true, force: true });
// The test inputs' sizes, so that predicted and measured figures describe the same request.
const dims = (process.env.DEMO_DIMS ?? 'batch=2,seq=3,past_seq=4').split(',').flatMap((d) => ['--dim', d]);
fleetc('compile', `${model}/model.onnx`, '--fleet', fleet, ...dims, '-o', path.relative(root, build));
fleetc('report', path.relative(root, build));
// The fixture's test inputs, 3 warm-up passes and 100 measured into DIR/metrics.json.
const runMeasured = (dir, outDir, ...extra) =>
  fleetc(
    'run',
    path.relative(root, dir),
    '--inputs-dir',
    `${model}/test_data_set_0`,
    '--output-dir',
    path.relative(root, outDir),
    ...extra,
    '--metrics',
    path.relative(root, path.join(dir, 'metrics.json')),
    '--warmup',
    '3',
    '--repeat',
    '100',
  );
runMeasured(build, out, '--trace', path.relative(root, path.join(build, 'trace.json')));
fleetc('report', path.relative(root, build), '--metrics', path.relative(root, path.join(build, 'metrics.json')));

// Outputs against the exporter's expected outputs (float32 within rtol 1e-4, atol 1e-5).
const { onnx } = onnxProto;
const plan = JSON.parse(readFileSync(path.join(build, 'plan.json'), 'utf8'));
const outputs = (plan.outputs ?? plan.graph?.outputs ?? []).map((o) => (typeof o === 'string' ? o : o.name));
const expectedFiles = readdirSync(path.join(root, model, 'test_data_set_0'))
  .filter((f) => /^output_\d+\.pb$/.test(f))
  .sort((a, b) => parseInt(a.slice(7)) - parseInt(b.slice(7)));
let worst = 0;
expectedFiles.forEach((f, i) => {
  const t = onnx.TensorProto.decode(readFileSync(path.join(root, model, 'test_data_set_0', f)));
  const want = new Float32Array(new Uint8Array(t.rawData).slice().buffer);
  const got = readNpy(path.join(out, `${outputs[i].replace(/[^A-Za-z0-9._-]/g, '_')}.npy`)).data;
  if (got.length !== want.length) throw new Error(`${outputs[i]}: ${got.length} values, expected ${want.length}`);
  for (let k = 0; k < want.length; k++) {
    const err = Math.abs(got[k] - want[k]) - 1e-4 * Math.abs(want[k]);
    worst = Math.max(worst, err);
  }
});
const ok = worst <= 1e-5;
console.log(
  `\n${expectedFiles.length} outputs ${ok ? 'match' : 'DO NOT match'} the exporter's (worst excess error ${worst.toExponential(2)})`,
);
console.log(
  `report: ${path.relative(root, path.join(build, 'report.html'))}  trace: ${path.relative(root, path.join(build, 'trace.json'))} (open in ui.perfetto.dev)`,
);
if (!ok) process.exit(1);

// Feedback: the run's op times fitted into a calibration of this fleet (`fleetc tune`), the model
// compiled again with it, and that plan's prediction against a fresh run.
const calibration = path.relative(root, path.join(build, 'calibration.json'));
const tuned = path.join(build, 'tuned');
fleetc(
  'tune',
  path.relative(root, build),
  '--metrics',
  path.relative(root, path.join(build, 'metrics.json')),
  '-o',
  calibration,
);
fleetc(
  'compile',
  `${model}/model.onnx`,
  '--fleet',
  fleet,
  ...dims,
  '--calibration',
  calibration,
  '-o',
  path.relative(root, tuned),
);
runMeasured(tuned, path.join(tuned, 'out'));
const predicted = (dir) => JSON.parse(readFileSync(path.join(dir, 'plan.json'), 'utf8')).predicted.latency;
const measured = (dir) => JSON.parse(readFileSync(path.join(dir, 'metrics.json'), 'utf8')).latency.p50 / 1e3;
const vs = (p, m) =>
  `predicted ${(p * 1e6).toFixed(1)} µs, measured p50 ${(m * 1e6).toFixed(1)} µs (${m >= p ? '+' : ''}${((m / p - 1) * 100).toFixed(0)}%)`;
console.log(`\nlatency before tune: ${vs(predicted(build), measured(build))}`);
console.log(`latency after tune:  ${vs(predicted(tuned), measured(tuned))} (a fresh run)`);

// Generation: text in, text out, through the model's own tokenizer; then a Llama-style decoder
// (grouped-query attention, rotary) split over the fleet, three prompts of different lengths
// decoded together, each layer's cache on the device that runs its attention.
const gpt2 = path.join(root, '../shared/models/onnx/tiny_random_gpt2_fp32_past.onnx');
const tokenizer = path.join(root, '../shared/models/tokenizers/tiny_random_gpt2/tokenizer.json');
const genBuild = path.relative(root, path.join(build, 'generate'));
fleetc('compile', gpt2, '--fleet', fleet, '--generate', '--max-context', '1024', '-o', genBuild);
fleetc('generate', genBuild, '--tokenizer', tokenizer, '--prompt', 'The fleet', '--max-new-tokens', '16');
const llamaBuild = path.relative(root, path.join(build, 'generate-llama'));
fleetc(
  'compile',
  'fixtures/models/llama_kv_gqa/model.onnx',
  '--fleet',
  fleet,
  // Left alone the cost model keeps a decoder this small on the cpu (the first plan above shows
  // it); its matrix products pinned to the gpu split it, with each layer's cache where it runs.
  '--pin',
  'MatMul=gpu0',
  '--generate',
  '--max-context',
  '1024',
  '-o',
  llamaBuild,
);
fleetc(
  'generate',
  llamaBuild,
  '--prompt-ids',
  '464,329',
  '--prompt-ids',
  '40,416,79,206,750,12',
  '--prompt-ids',
  '7',
  '--max-new-tokens',
  '12',
);

// Serving: the same build behind `fleetc serve` on a free loopback port; four clients at once (one
// streaming, as `curl -N` would read it), sharing a prefix, then the server's own metrics.
console.log(`\n$ fleetc serve ${llamaBuild} --port 0`);
const server = spawn(process.execPath, [path.join(root, 'bin/fleetc.js'), 'serve', llamaBuild, '--port', '0'], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'pipe'],
});
const url = await new Promise((resolve, reject) => {
  let seen = '';
  server.stderr.on('data', (chunk) => {
    process.stderr.write(chunk);
    seen += chunk;
    const m = /at (http:\/\/[^\s]+) on/.exec(seen);
    if (m) resolve(m[1]);
  });
  server.on('exit', (code) => reject(new Error(`fleetc serve exited (code ${code}) before it was ready`)));
});
const shared = [464, 329, 40, 416, 79, 206, 750, 12, 7, 99, 310, 58, 71, 23, 204, 5];
const prompts = [[3, 8], [11], [42, 17, 6], [90]].map((tail) => [...shared, ...tail]);
const t0 = performance.now();
const answers = await Promise.all(
  prompts.map(async (prompt, i) => {
    const stream = i === 0;
    const res = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt, max_tokens: 12, stream }),
    });
    if (!stream) return (await res.json()).choices[0].token_ids;
    const ids = [];
    for (const line of (await res.text()).split('\n'))
      if (line.startsWith('data: {')) ids.push(...JSON.parse(line.slice(6)).choices[0].token_ids);
    return ids;
  }),
);
const wall = performance.now() - t0;
answers.forEach((ids, i) => console.log(`client ${i}${i === 0 ? ' (streamed)' : ''}: ${ids.join(',')}`));
console.log(`4 requests, ${answers.flat().length} tokens in ${wall.toFixed(0)} ms`);
const metrics = await (await fetch(`${url}/metrics`)).text();
for (const line of metrics.split('\n'))
  if (/^fleetc_(prefix_cache_hit_rate|kv_pages_(used|free)|preemptions_total|prefill_tokens_saved_total)\b/.test(line))
    console.log(`  ${line}`);
server.kill('SIGINT');
await new Promise((resolve) => server.on('exit', resolve));
process.exit(0);
