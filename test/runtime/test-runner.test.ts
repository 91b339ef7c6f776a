import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { haveFleetrt } from '../../runtime/fleetrt.js';
import { cli } from '../cli/helpers.js';
import { SHARED } from '../paths.js';

const NODE = join(SHARED, 'conformance', 'onnx-node');
const ready = haveFleetrt() && existsSync(join(NODE, 'test_add'));
const why = haveFleetrt() ? 'the shared ONNX node suite is missing' : 'native/build/fleetrt is not built';

/** A copy of a shared test in a temporary folder (to damage it). */
function copyTest(name: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'fleetc-testrunner-')), name);
  cpSync(join(NODE, name), dir, { recursive: true });
  return dir;
}

describe.skipIf(!ready)(`fleetc test${ready ? '' : ` (skipped: ${why})`}`, () => {
  it('passes real ONNX tests and prints one line per case', async () => {
    const r = await cli(['test', join(NODE, 'test_add'), join(NODE, 'test_relu')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^PASS {2}test_add$/m);
    expect(r.stdout).toMatch(/^PASS {2}test_relu$/m);
    expect(r.stdout).toMatch(/2 passed, 0 failed, 0 errors, 0 skipped of 2/);
    expect(r.stdout).toMatch(/ai\.onnx: 2\/2 passed \(100\.0%\)/);
  });

  it('fails a case whose expected output is wrong, with the worst error, and exits 1', async () => {
    const dir = copyTest('test_add');
    const out = join(dir, 'test_data_set_0', 'output_0.pb');
    const b = readFileSync(out);
    // The last 4 bytes are the last float of raw_data: make it far off.
    b.writeFloatLE(1234.5, b.length - 4);
    writeFileSync(out, b);
    const r = await cli(['test', dir, join(NODE, 'test_relu'), '--json']);
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout) as {
      counts: Record<string, number>;
      results: { name: string; status: string; message?: string; worst?: { abs: number } }[];
    };
    expect(rep.counts).toEqual({ pass: 1, fail: 1, error: 0, skip: 0 });
    const f = rep.results.find((x) => x.name === 'test_add')!;
    expect(f.status).toBe('fail');
    expect(f.message).toMatch(/output 'sum': element 59 is .*, expected 1234\.5/);
    expect(f.worst!.abs).toBeGreaterThan(1000);
  });

  it('reports a case that cannot load as an error and carries on', async () => {
    const dir = copyTest('test_relu');
    writeFileSync(join(dir, 'model.onnx'), 'garbage');
    const r = await cli(['test', dir, join(NODE, 'test_add')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ERROR test_relu \[load\]: .*model\.onnx.*error\[E01\d\d\]/m);
    expect(r.stdout).toMatch(/^PASS {2}test_add$/m);
  });

  it('skips what the skip list names, with its reason', async () => {
    const skips = join(mkdtempSync(join(tmpdir(), 'fleetc-skips-')), 'skips.json');
    writeFileSync(skips, JSON.stringify({ test_relu: 'not today' }));
    const r = await cli(['test', join(NODE, 'test_add'), join(NODE, 'test_relu'), '--skips', skips]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^SKIP {2}test_relu: not today$/m);
    expect(r.stdout).toMatch(/1 passed, 0 failed, 0 errors, 1 skipped of 2/);
  });

  it('runs StableHLO test files through the .mlir hook', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetc-mlir-'));
    const file = join(dir, 'cases.mlir');
    writeFileSync(
      file,
      [
        'func.func @good() {',
        '  %0 = stablehlo.constant dense<[1.0, 2.0]> : tensor<2xf32>',
        '  %1 = stablehlo.add %0, %0 : tensor<2xf32>',
        '  check.expect_almost_eq_const %1, dense<[2.0, 4.0]> : tensor<2xf32>',
        '  func.return',
        '}',
        '// -----',
        'func.func @bad() {',
        '  %0 = stablehlo.constant dense<[1, 2]> : tensor<2xi32>',
        '  %1 = stablehlo.add %0, %0 : tensor<2xi32>',
        '  check.expect_eq_const %1, dense<[2, 5]> : tensor<2xi32>',
        '  func.return',
        '}',
      ].join('\n'),
    );
    const r = await cli(['test', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^PASS {2}cases\.mlir#good$/m);
    expect(r.stdout).toMatch(/^FAIL {2}cases\.mlir#bad: .*element 1 is 4, expected 5/m);
  });

  it('passes control flow, sequences and data-dependent shapes on the readiness-driven engine (3 requests in flight)', async () => {
    const names = [
      'test_if',
      'test_if_seq',
      'test_loop11',
      'test_loop13_seq',
      'test_scan_sum',
      'test_nonzero_example',
      'test_range_float_type_positive_delta_expanded',
      'test_sequence_map_add_2_sequences',
    ];
    const r = await cli(['test', ...names.map((n) => join(NODE, n)), '--requests', '3']);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${names.length} passed, 0 failed`));
  });

  it('rejects a path that is not a test, in one line', async () => {
    const r = await cli(['test', join(tmpdir(), 'no-such-test-folder')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no-such-test-folder: error\[E0101\]: no such file or folder/);
  });
});
