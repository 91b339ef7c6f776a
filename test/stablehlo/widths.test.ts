import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTests } from '../../src/api/test-runner.js';
import { HAVE_FLEETRT } from '../compile/helpers.js';
import { REPO } from '../paths.js';

/**
 * fixtures/stablehlo/int (fixtures/gen/int_cases.py): every element-wise and data-movement op on
 * integers at every width and signedness the spec allows, and the random.categorical-shaped
 * program whose caller and inlined reducer both name a value %arg4.
 */
const DIR = join(REPO, 'fixtures', 'stablehlo', 'int');
const WIDTHS = ['i2', 'ui2', 'i4', 'ui4', 'i8', 'ui8', 'i16', 'ui16', 'i32', 'ui32', 'i64', 'ui64'];

describe('integer widths', () => {
  it('the programs cover every width for every binary op', () => {
    for (const op of ['add', 'divide', 'remainder', 'power', 'shift_right_logical', 'shift_right_arithmetic']) {
      const text = readFileSync(join(DIR, `${op}.mlir`), 'utf8');
      for (const w of WIDTHS) expect(text, `${op} ${w}`).toContain(`@${op}_${w}()`);
    }
  });

  it.skipIf(!HAVE_FLEETRT)('every program passes', { timeout: 240_000 }, async () => {
    const report = await runTests([DIR]);
    const bad = report.results
      .filter((r) => r.status !== 'pass')
      .map((r) => `${r.name}: ${r.status} ${r.message ?? ''}`);
    expect(bad).toEqual([]);
    expect(report.counts.pass).toBeGreaterThanOrEqual(readdirSync(DIR).length * 10);
    expect(report.results.map((r) => r.name)).toContain('scoping.mlir#categorical_names');
  });
});
