// Issue 4, must-show 1: every shared ONNX model and every fixture compiles for every example
// fleet with each device's memory respected, runs in one process (and under mpirun where Open
// MPI and an MPI-enabled fleetrt exist), and gives the same outputs as the single-device run.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { compile, DEFAULT_COMPILE_PIPELINE } from '../../src/api/compile.js';
import { run } from '../../src/api/run.js';
import { loadFleet } from '../../src/fleet/load.js';
import { findFleetrt, haveFleetrt } from '../../runtime/fleetrt.js';
import { REPO } from '../paths.js';
import { testModels, writeInputs } from './inputs.js';

const FLEETS = readdirSync(join(REPO, 'fixtures/fleets'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''));
const MODELS = testModels();
const CUDA = haveFleetrt() && /^cuda\b/m.test(execFileSync(findFleetrt(), ['--list-backends'], { encoding: 'utf8' }));
const MPI_MODELS = new Set(['cnn_small', 'gpt_decoder_kv', 'moe_topk', 'loop_if', 'tiny_random_gpt2_fp32_past']);
const MPI = process.env.FLEETC_TEST_MPI !== '0' && spawnSync('mpirun', ['--version']).status === 0;
const UNFUSED = DEFAULT_COMPILE_PIPELINE.split(',')
  .filter((p) => !p.startsWith('fuse-'))
  .join(',');
const work = mkdtempSync(join(tmpdir(), 'fleetc-fleets-'));

type Outputs = Map<string, Buffer>;
async function runPlan(
  plan: string,
  model: (typeof MODELS)[number],
  tag: string,
  launcher: 'inproc' | 'mpi' = 'inproc',
): Promise<Outputs> {
  const outputDir = join(work, tag);
  const inputs = model.data ? { inputsDir: model.data } : { inputs: await writeInputs(model.file, model.name, work) };
  const r = await run(plan, { ...inputs, outputDir, launcher, threads: 1 });
  return new Map(r.outputs.map((o) => [o.name, readFileSync(o.file)]));
}

describe.skipIf(!haveFleetrt())('models on the example fleets', () => {
  const single = new Map<string, Outputs>();
  beforeAll(async () => {
    for (const m of MODELS) {
      // The fusion passes only fuse on all-cpu fleets, so the reference runs the same kernels
      // as the heterogeneous plans: bitwise equality is then the claim.
      const c = await compile(m.file, join(work, `${m.name}-single`), { report: false, passes: UNFUSED });
      single.set(m.name, await runPlan(c.planPath, m, `${m.name}-single-out`));
    }
  }, 600_000);

  for (const fleet of FLEETS)
    it(`${fleet}: compile, memory respected, run in-process${MPI ? ' and under mpirun' : ''}, outputs equal single-device`, async () => {
      const file = join(REPO, 'fixtures/fleets', `${fleet}.yaml`);
      // On an all-cpu fleet the fusion passes would fuse; keep the reference's kernels.
      const devices = loadFleet(file).devices;
      const allCpu = devices.every((d) => d.class === 'cpu');
      // Plans for real GPUs compile anywhere; they run only where this fleetrt has the cuda backend.
      const runs = !devices.some((d) => d.backend === 'cuda') || CUDA;
      for (const m of MODELS) {
        const c = await compile(m.file, join(work, `${m.name}-${fleet}`), {
          fleet: file,
          report: false, // the report has its own tests; its graph layout is slow on big graphs
          ...(allCpu ? { passes: UNFUSED } : {}),
        });
        for (const d of c.plan.devices)
          expect(d.memory.total, `${m.name} on ${d.name}`).toBeLessThanOrEqual(d.memory.capacity);
        if (!runs) continue;
        const want = single.get(m.name)!;
        // Every model in one process; a few kinds (convolutions, a KV decoder, data-dependent
        // routing, control flow) across MPI ranks too, to keep the suite's time in check.
        const launchers: ('inproc' | 'mpi')[] =
          MPI && c.plan.devices.length > 1 && MPI_MODELS.has(m.name) ? ['inproc', 'mpi'] : ['inproc'];
        for (const launcher of launchers) {
          const got = await runPlan(c.planPath, m, `${m.name}-${fleet}-${launcher}`, launcher);
          expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
          // Bitwise: every device runs the same host kernels as the single-device plan.
          for (const [name, bytes] of want)
            expect(got.get(name)!.equals(bytes), `${m.name} ${fleet} ${launcher} ${name}`).toBe(true);
        }
      }
    }, 600_000);
});
