// Issue 5, must-show 3: the hand-written JAX-style MLP and transformer block compile for a
// two-device fleet, run, and match an independent numpy reference; the shared StableHLO models
// inspect, compile for the same fleet and run with seeded random arguments.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/api/compile.js';
import { inspect } from '../../src/api/inspect.js';
import { run } from '../../src/api/run.js';
import { haveFleetrt } from '../../runtime/fleetrt.js';
import { readNpy } from '../npy.js';
import { REPO, SHARED } from '../paths.js';

const HERE = join(REPO, 'test/stablehlo/models');
const FLEET = join(REPO, 'fixtures/fleets/cpu-gpu-pcie.yaml');
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const numpy = spawnSync(PYTHON, ['-c', 'import numpy']).status === 0;
const work = mkdtempSync(join(tmpdir(), 'fleetc-shlo-models-'));

describe.skipIf(!haveFleetrt())('StableHLO models end to end', () => {
  // numpy is the independent reference (apt-get install python3-numpy; CI installs it).
  it.runIf(numpy || process.env.FLEETC_REQUIRE_NATIVE === '1')(
    'the MLP and transformer block match numpy on two devices',
    async () => {
      const ref = join(work, 'ref');
      const py = spawnSync(PYTHON, [join(HERE, 'reference.py'), ref], { encoding: 'utf8' });
      expect(py.status, py.stderr).toBe(0);
      for (const [m, pin] of [
        ['mlp', 'MatMul_4=gpu0'],
        ['transformer', 'MatMul_f=gpu0'],
      ] as const) {
        const c = await compile(join(HERE, `${m}.mlir`), join(work, `build_${m}`), { fleet: FLEET, pins: [pin] });
        expect(c.plan.devices.map((d) => d.name).sort()).toEqual(['cpu0', 'gpu0']);
        const out = join(work, `out_${m}`);
        const r = await run(c.planPath, { inputsDir: join(ref, m), outputDir: out });
        const got = readNpy(r.outputs[0]!.file);
        const want = readNpy(join(ref, m, 'expected.npy'));
        expect(got.shape).toEqual(want.shape);
        for (let i = 0; i < want.data.length; i++)
          expect(Math.abs(got.data[i]! - want.data[i]!), `${m}[${i}]`).toBeLessThanOrEqual(
            1e-5 + 1e-4 * Math.abs(want.data[i]!),
          );
      }
    },
    300_000,
  );

  for (const f of readdirSync(join(SHARED, 'models/stablehlo')).filter((x) => x.endsWith('.mlir')))
    it(`${f}: inspect, compile for two devices, run with seeded random arguments`, async () => {
      const model = join(SHARED, 'models/stablehlo', f);
      const info = await inspect(model);
      expect(info.nodes).toBeGreaterThan(0);
      const c = await compile(model, join(work, `build_${f}`), { fleet: FLEET });
      const r = await run(c.planPath, { randomInputs: true, outputDir: join(work, `out_${f}`) });
      expect(r.outputs.length).toBeGreaterThan(0);
      for (const o of r.outputs) for (const v of readNpy(o.file).data) expect(Number.isFinite(v)).toBe(true);
    }, 300_000);
});
