/**
 * The conformance ratchet: the ONNX node suite and the three model folders beside it, and the three
 * StableHLO suites (cases split on `// -----`, judged by their check.* expectations), compiled and
 * run through `fleetc test` (one fleetrt batch process). Fails when a test listed in
 * test/conformance/passing.txt no longer passes; prints the pass rate of the ai.onnx tests.
 * FLEETC_UPDATE_PASSING=1 rewrites passing.txt with what passes now (only ever adding is the rule).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSkips, runTests } from '../../src/api/test-runner.js';
import { haveFleetrt } from '../../runtime/fleetrt.js';
import { REPO, SHARED } from '../paths.js';

const SUITES = [
  'onnx-node',
  'onnx-pytorch-converted',
  'onnx-pytorch-operator',
  'onnx-simple',
  'stablehlo-interpret',
  'stablehlo-jax',
  'stablehlo-generic',
].map((s) => join(SHARED, 'conformance', s));
const PASSING = join(REPO, 'test', 'conformance', 'passing.txt');
const SKIPS = join(REPO, 'test', 'conformance', 'skips.json');
const ready = haveFleetrt() && SUITES.every(existsSync);
const why = !haveFleetrt() ? 'native/build/fleetrt is not built' : 'the shared conformance suites are missing';

describe.skipIf(!ready)(`conformance ratchet${ready ? '' : ` (skipped: ${why})`}`, () => {
  it('keeps every test in passing.txt passing', { timeout: 900_000 }, async () => {
    const report = await runTests(SUITES, { skips: readSkips(SKIPS), threads: 1 });
    const key = (r: { suite: string; name: string }): string => `${r.suite}/${r.name}`;
    const passing = new Set(report.results.filter((r) => r.status === 'pass').map(key));
    const listed = readFileSync(PASSING, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const a = report.domains['ai.onnx'] ?? { passed: 0, total: 0, skipped: 0 };
    const h = report.domains['stablehlo'] ?? { passed: 0, total: 0, skipped: 0 };
    console.log(
      `conformance: ${report.counts.pass} passed, ${report.counts.fail} failed, ${report.counts.error} errors, ${report.counts.skip} skipped ` +
        `in ${(report.ms / 1000).toFixed(1)} s; ai.onnx ${a.passed}/${a.total} = ${((100 * a.passed) / Math.max(1, a.total)).toFixed(1)}%; ` +
        `stablehlo ${h.passed}/${h.total - h.skipped} in scope = ${((100 * h.passed) / Math.max(1, h.total - h.skipped)).toFixed(1)}% (${h.skipped} out of scope)`,
    );
    const fresh = [...passing].filter((k) => !listed.includes(k));
    if (fresh.length)
      console.log(`${fresh.length} tests pass that passing.txt does not list yet (FLEETC_UPDATE_PASSING=1 adds them)`);
    if (process.env.FLEETC_UPDATE_PASSING === '1') {
      const all = [...new Set([...listed.filter((k) => passing.has(k)), ...passing])].sort();
      writeFileSync(
        PASSING,
        `# Conformance tests that pass (suite/test); CI fails if one stops passing.\n${all.join('\n')}\n`,
      );
    }
    const byKey = new Map(report.results.map((r) => [key(r), r]));
    const regressed = listed
      .filter((k) => !passing.has(k))
      .map((k) => {
        const r = byKey.get(k);
        return `${k}: ${r ? `${r.status}${r.message ? ` ${r.message}` : ''}` : 'not found'}`;
      });
    expect(regressed, `tests that passed before and no longer do:\n${regressed.join('\n')}`).toEqual([]);
  });
});
