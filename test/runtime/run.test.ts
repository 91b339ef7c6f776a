import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { haveFleetrt } from '../../runtime/fleetrt.js';
import { cli } from '../cli/helpers.js';
import { planWithInput, readNpyF32, reluAddPlan, writeNpy } from './fixture-bundle.js';

const NATIVE = haveFleetrt();
const why = 'native/build/fleetrt is not built (npm run build:native)';

function setup(): { dir: string; plan: string; x: string } {
  return planWithInput('fleetc-run-', reluAddPlan);
}

/** A user error: exit 1 and exactly one line on stderr, with the code and the expected text. */
function expectOneLine(r: { code: number; stderr: string }, code: string, text: RegExp): void {
  expect(r.code, r.stderr).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(`error[${code}]`);
  expect(lines[0]).toMatch(text);
}

describe.skipIf(!NATIVE)(`fleetc run${NATIVE ? '' : ` (skipped: ${why})`}`, () => {
  it('runs a plan and writes the outputs as .npy', async () => {
    const { dir, plan, x } = setup();
    const out = join(dir, 'out');
    const r = await cli([
      'run',
      plan,
      '--input',
      `x=${x}`,
      '--output-dir',
      out,
      '--json',
      '--repeat',
      '3',
      '--metrics',
      join(dir, 'm.json'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as {
      outputs: { name: string; file: string; shape: number[] }[];
      repeats: number;
    };
    expect(summary.repeats).toBe(3);
    expect(summary.outputs.map((o) => [o.name, o.shape])).toEqual([['y', [2, 4]]]);
    const y = readNpyF32(readFileSync(join(out, 'y.npy')));
    expect(y.shape).toEqual([2, 4]);
    expect(y.values).toEqual([2, 0, 4, 0, 0, 3, 0, 1]);
    const m = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8')) as { latencyMs: number[] };
    expect(m.latencyMs).toHaveLength(3);
  });

  it('binds a symbolic dimension from the input (n = 3)', async () => {
    const { dir, plan } = setup();
    const x = join(dir, 'x3.npy');
    writeNpy(x, [3, 4], [0, 0, 0, 0, 1, 2, 3, 4, -1, 2, -3, 4]);
    const r = await cli(['run', plan, '--input', `x=${x}`, '--output-dir', join(dir, 'o3')]);
    expect(r.code, r.stderr).toBe(0);
    expect(readNpyF32(readFileSync(join(dir, 'o3', 'y.npy'))).values).toEqual([1, 0, 3, 0, 2, 0, 6, 0, 0, 0, 0, 0]);
  });

  it('takes the build folder for its plan.json', async () => {
    const { dir, plan, x } = setup();
    const r = await cli(['run', join(dir, 'build'), '--input', `x=${x}`, '--output-dir', join(dir, 'of')]);
    expect(r.code, r.stderr).toBe(0);
    expect(readNpyF32(readFileSync(join(dir, 'of', 'y.npy'))).shape).toEqual([2, 4]);
    expect(plan).toBe(join(dir, 'build', 'plan.json'));
  });

  it('rejects a wrong input name', async () => {
    const { dir, plan, x } = setup();
    const r = await cli(['run', plan, '--input', `q=${x}`, '--output-dir', join(dir, 'o')]);
    expectOneLine(r, 'E0502', /no input 'q' \(inputs: x\)/);
  });

  it('rejects a wrong input dtype, naming the file', async () => {
    const { dir, plan } = setup();
    const x = join(dir, 'xi.npy');
    writeNpy(x, [2, 4], [1, 2, 3, 4, 5, 6, 7, 8], '<i8');
    const r = await cli(['run', plan, '--input', `x=${x}`, '--output-dir', join(dir, 'o')]);
    expectOneLine(r, 'E0502', /xi\.npy: .*input 'x' must be float32, got int64/);
  });

  it('rejects a wrong input shape', async () => {
    const { dir, plan } = setup();
    const x = join(dir, 'x5.npy');
    writeNpy(x, [2, 5], new Array<number>(10).fill(1));
    const r = await cli(['run', plan, '--input', `x=${x}`, '--output-dir', join(dir, 'o')]);
    expectOneLine(r, 'E0502', /input 'x' has shape \[2, 5\] but the plan says \[2, 4\]/);
  });

  it('rejects a tampered bundle (sha256)', async () => {
    const { dir, plan, x } = setup();
    const prog = join(dir, 'build', 'bundles', 'cpu0', 'program.bin');
    const b = readFileSync(prog);
    b[b.length - 5] ^= 0xff;
    writeFileSync(prog, b);
    const r = await cli(['run', plan, '--input', `x=${x}`, '--output-dir', join(dir, 'o')]);
    expectOneLine(r, 'E0501', /program\.bin: sha256 .* does not match the plan's .*modified bundle/);
  });

  it('rejects a truncated weights file', async () => {
    const { dir, plan, x } = setup();
    truncateSync(join(dir, 'build', 'bundles', 'cpu0', 'weights.bin'), 8);
    const r = await cli(['run', plan, '--input', `x=${x}`, '--output-dir', join(dir, 'o')]);
    expectOneLine(r, 'E0501', /weights\.bin: is 8 bytes, the plan says 16 \(truncated/);
  });

  it('rejects a truncated weights file even when the plan was re-hashed to match', async () => {
    const { dir, plan, x } = setup();
    const w = join(dir, 'build', 'bundles', 'cpu0', 'weights.bin');
    truncateSync(w, 8);
    const json = JSON.parse(readFileSync(plan, 'utf8')) as {
      devices: { bundle: { files: { path: string; sha256: string; bytes: number }[] } }[];
    };
    const f = json.devices[0]!.bundle.files.find((x) => x.path === 'weights.bin')!;
    const { createHash } = await import('node:crypto');
    f.sha256 = createHash('sha256').update(readFileSync(w)).digest('hex');
    f.bytes = 8;
    writeFileSync(plan, JSON.stringify(json));
    const r = await cli(['run', plan, '--input', `x=${x}`, '--output-dir', join(dir, 'o')]);
    expectOneLine(r, 'E0501', /weight 'w' at 0\+16 lies outside weights\.bin \(8 bytes; truncated\?\)/);
  });

  it('rejects a plan from a newer schema version', async () => {
    const { dir, plan, x } = setup();
    const json = JSON.parse(readFileSync(plan, 'utf8')) as { schemaVersion: number };
    json.schemaVersion = 7;
    writeFileSync(plan, JSON.stringify(json));
    const r = await cli(['run', plan, '--input', `x=${x}`, '--output-dir', join(dir, 'o')]);
    expectOneLine(r, 'E0501', /plan schemaVersion 7 is newer than this fleetrt supports \(3\)/);
  });

  it('rejects a missing plan, a missing input file and a bad --repeat before starting fleetrt', async () => {
    const { dir, plan, x } = setup();
    expectOneLine(
      await cli(['run', join(dir, 'nope.json'), '--input', `x=${x}`, '--output-dir', dir]),
      'E0501',
      /nope\.json: .*no plan here \(give a plan\.json or the folder fleetc compile wrote\)/,
    );
    expectOneLine(
      await cli(['run', plan, '--input', `x=${join(dir, 'missing.npy')}`, '--output-dir', dir]),
      'E0502',
      /missing\.npy: .*input 'x': no such file/,
    );
    expectOneLine(
      await cli(['run', plan, '--input', `x=${x}`, '--output-dir', dir, '--repeat', '0']),
      'E0901',
      /--repeat '0'/,
    );
  });

  it('rejects a malformed .npy input', async () => {
    const { dir, plan } = setup();
    const x = join(dir, 'bad.npy');
    writeFileSync(x, 'not numpy');
    const r = await cli(['run', plan, '--input', `x=${x}`, '--output-dir', join(dir, 'o')]);
    expectOneLine(r, 'E0502', /bad\.npy: malformed TensorProto/);
  });
});
