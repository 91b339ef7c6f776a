/**
 * The portable kernels: FLEETRT_PORTABLE=1 makes fleetrt skip its AVX2 code (GEMM microkernel,
 * direct convolutions, vectorised exp/tanh/erf, fused epilogues), as on a CPU without AVX2. The
 * node-suite tests of the ops that have AVX2 paths, and the CNN fixtures, must pass the same way
 * on that code. On a CPU with AVX-512 (where fleetrt runs its AVX-512 GEMM and convolutions),
 * FLEETRT_SIMD=avx2 runs the same tests on the AVX2 code.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSkips, runTests } from '../../src/api/test-runner.js';
import { compile } from '../../src/api/compile.js';
import { run } from '../../src/api/run.js';
import { haveFleetrt } from '../../runtime/fleetrt.js';
import { REPO, SHARED } from '../paths.js';

const NODE = join(SHARED, 'conformance', 'onnx-node');
const OPS = /conv|pool|gemm|matmul|softmax|erf|tanh|gelu|hardswish|hardsigmoid|sigmoid|layer_normalization|attention/;
const ready = haveFleetrt() && existsSync(NODE);

const avx512 = existsSync('/proc/cpuinfo') && /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));

async function nodeSuiteAndFixtures(env: Record<string, string>): Promise<void> {
  const listed = new Set(
    readFileSync(join(REPO, 'test', 'conformance', 'passing.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('onnx-node/'))
      .map((l) => l.slice('onnx-node/'.length).trim()),
  );
  const dir = mkdtempSync(join(tmpdir(), 'fleetc-portable-'));
  const names = readdirSync(NODE).filter((t) => OPS.test(t) && listed.has(t));
  for (const t of names) symlinkSync(join(NODE, t), join(dir, t));
  for (const m of ['cnn_small', 'mobilenet_block', 'unet_tiny', 'audio_conv1d'])
    symlinkSync(join(REPO, 'fixtures', 'models', m), join(dir, m));
  const report = await runTests([dir], {
    skips: readSkips(join(REPO, 'test', 'conformance', 'skips.json')),
    threads: 1,
    env,
  });
  const bad = report.results.filter((r) => r.status !== 'pass').map((r) => `${r.name}: ${r.status} ${r.message ?? ''}`);
  expect(names.length).toBeGreaterThan(100);
  expect(bad).toEqual([]);
  expect(report.counts.pass).toBeGreaterThanOrEqual(names.length + 4);
}

describe.skipIf(!ready)('portable kernels (FLEETRT_PORTABLE=1)', () => {
  it('pass the node-suite tests of the ops with AVX2 paths, and the CNN fixtures', { timeout: 300_000 }, () =>
    nodeSuiteAndFixtures({ FLEETRT_PORTABLE: '1' }),
  );

  it.skipIf(!avx512)('the AVX2 code on an AVX-512 CPU (FLEETRT_SIMD=avx2) passes them too', { timeout: 300_000 }, () =>
    nodeSuiteAndFixtures({ FLEETRT_SIMD: 'avx2' }),
  );

  it('reports the portable code in the metrics', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetc-portable-'));
    const m = join(REPO, 'fixtures', 'models', 'cnn_small');
    const c = await compile(join(m, 'model.onnx'), join(dir, 'build'), { report: false });
    const metrics = join(dir, 'metrics.json');
    await run(c.planPath, {
      inputsDir: join(m, 'test_data_set_0'),
      outputDir: join(dir, 'out'),
      metrics,
      env: { FLEETRT_PORTABLE: '1' },
    });
    expect(JSON.parse(readFileSync(metrics, 'utf8')).simd).toBe('portable');
  });
});
