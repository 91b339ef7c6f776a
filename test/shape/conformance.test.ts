import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShapeInference } from '../../passes/shape/infer.js';
import { unsupportedReason } from '../../passes/shape/unsupported.js';
import { loadOnnx } from '../../src/frontends/onnx/index.js';
import { verifyGraph } from '../../src/ir/verify.js';
import { REPO, SHARED } from '../paths.js';
import { listTests, runCase, runSymbolicCase, type CaseResult } from './suite.js';

const CONF = join(SHARED, 'conformance');
const NODE = join(CONF, 'onnx-node');
const MISSES_FILE = join(REPO, 'test/shape/onnx-node-misses.txt');
const haveShared = existsSync(NODE);

const isOnnxOnly = (r: CaseResult): boolean => r.domains.every((d) => d === '');

/** An unsupported case is fine only outside ai.onnx and only for ops listed with a reason. */
function badUnsupported(results: CaseResult[]): string[] {
  return results
    .filter((r) => r.status === 'unsupported')
    .filter((r) => isOnnxOnly(r) || !/^unsupported: /.test(r.detail) || r.detail.includes('(no shape function)'))
    .map((r) => `${r.name}: ${r.detail}`);
}

function runAll(root: string, knownInputs: boolean): CaseResult[] {
  return listTests(root).map((n) => runCase(join(root, n), n, { knownInputs }));
}

function readMisses(): Map<string, string> {
  const m = new Map<string, string>();
  if (!existsSync(MISSES_FILE)) return m;
  for (const line of readFileSync(MISSES_FILE, 'utf8').split('\n')) {
    const i = line.indexOf(': ');
    if (line.startsWith('test_') && i > 0) m.set(line.slice(0, i), line.slice(i + 2));
  }
  return m;
}

describe.skipIf(!haveShared)('ONNX node suite: inferred output types vs test_data_set_0', () => {
  it('≥ 98% of ai.onnx tests infer exact output shapes and dtypes (inputs as a runtime sees them)', () => {
    const results = runAll(NODE, true);
    const errors = results.filter((r) => r.status === 'error').map((r) => `${r.name}: ${r.detail}`);
    expect(errors).toEqual([]);
    expect(badUnsupported(results)).toEqual([]);

    const onnx = results.filter(isOnnxOnly);
    const matched = onnx.filter((r) => r.status === 'match').length;
    const misses = onnx.filter((r) => r.status !== 'match');
    const rate = matched / onnx.length;
    const other = results.length - onnx.length;
    console.log(
      `onnx-node: ${matched}/${onnx.length} ai.onnx tests match (${(100 * rate).toFixed(2)}%); ` +
        `${other} tests in ai.onnx.ml / ai.onnx.preview(.training) reported unsupported with reasons`,
    );
    const text =
      '# onnx-node tests (ai.onnx) whose inferred output types differ from test_data_set_0.\n' +
      '# Written by FLEETC_UPDATE_MISSES=1 npx vitest run test/shape/conformance.test.ts\n' +
      misses.map((r) => `${r.name}: ${r.detail.replace(/\s+/g, ' ')}`).join('\n') +
      '\n';
    if (process.env.FLEETC_UPDATE_MISSES) writeFileSync(MISSES_FILE, text);
    const listed = readMisses();
    const unlisted = misses.filter((r) => !listed.has(r.name)).map((r) => `${r.name}: ${r.detail}`);
    const fixed = [...listed.keys()].filter((n) => !misses.some((r) => r.name === n));
    if (fixed.length) console.log(`now matching, remove from ${MISSES_FILE}: ${fixed.join(', ')}`);
    expect(unlisted).toEqual([]);
    expect(rate).toBeGreaterThanOrEqual(0.98);
  });

  it('static inference (input types only, no values) stays above its floor', () => {
    // Without input values, ops whose output shape is another input's contents (Reshape's
    // shape, Slice's starts, …) can only give symbols; this guards against regressions.
    const onnx = runAll(NODE, false).filter(isOnnxOnly);
    const matched = onnx.filter((r) => r.status === 'match').length;
    console.log(`onnx-node (static): ${matched}/${onnx.length} (${((100 * matched) / onnx.length).toFixed(2)}%)`);
    expect(onnx.filter((r) => r.status === 'error')).toEqual([]);
    expect(matched / onnx.length).toBeGreaterThanOrEqual(0.8);
  });

  // Match floors: onnx-simple's sequence models need sequence contents, its StringNormalizer
  // models string contents; neither is tracked.
  const floors: Record<string, number> = {
    'onnx-simple': 0.55,
    'onnx-pytorch-converted': 0.98,
    'onnx-pytorch-operator': 1,
  };
  for (const dir of Object.keys(floors)) {
    it(`${dir}: every model loads, verifies and infers without error`, () => {
      const results = runAll(join(CONF, dir), true);
      expect(results.length).toBeGreaterThan(0);
      expect(results.filter((r) => r.status === 'error').map((r) => `${r.name}: ${r.detail}`)).toEqual([]);
      expect(badUnsupported(results)).toEqual([]);
      const matched = results.filter((r) => r.status === 'match').length;
      console.log(
        `${dir}: ${matched}/${results.length} match; others: ${results
          .filter((r) => r.status !== 'match')
          .map((r) => r.name)
          .join(', ')}`,
      );
      expect(matched / results.length).toBeGreaterThanOrEqual(floors[dir]!);
    });
  }
});

describe.skipIf(!haveShared)('shared models (../shared/models/onnx)', () => {
  const dir = join(SHARED, 'models/onnx');
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.onnx'))
        .sort()
    : [];
  it.each(files)('%s loads, verifies and infers every value', (f) => {
    const g = loadOnnx(join(dir, f));
    const diags: { message: string }[] = [];
    const inf = new ShapeInference(g, diags as never[]);
    inf.run();
    expect(verifyGraph(g)).toEqual([]);
    expect([...inf.results.unsupported.keys()].filter((k) => !unsupportedReason(k))).toEqual([]);
    expect(inf.results.failed).toBe(0);
    expect(diags.map((d) => d.message)).toEqual([]);
    for (const o of g.outputs) expect(g.value(o).shape, o).not.toBeNull();
  });
});

describe('fixtures/models: symbolic output shapes evaluate to every test set', () => {
  const root = join(REPO, 'fixtures/models');
  const names = listTests(root);
  it('has every fixture the generator exported (fixtures/models/manifest.json)', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as { models: { name: string }[] };
    expect(names.sort()).toEqual(manifest.models.map((m) => m.name).sort());
  });
  it.each(names)('%s', (n) => {
    const r = runSymbolicCase(join(root, n), n);
    expect(r.detail).toBe('');
    expect(r.sets).toBeGreaterThanOrEqual(2);
  });
});
