// Issue 3, must-show 2: every shared ONNX model and every fixture compiles and runs, and its
// outputs match onnxruntime-node on the same inputs (float32 within rtol 1e-4, atol 1e-5).
// fleetrt runs with 2 intra-op threads, so that the ops large enough to be split (the
// super-resolution convs and GEMMs) take their parallel paths; the conformance ratchet covers
// the single-thread ones.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/api/compile.js';
import { run } from '../../src/api/run.js';
import { haveFleetrt } from '../../runtime/fleetrt.js';
import { readNpy, type NpyArray } from '../npy.js';
import { testModels, writeInputs } from './inputs.js';
import { pbTensor } from '../ort-tensor.js';
import { halfToNumber, manifestTolerances } from '../../fixtures/gen/check_fixtures.mjs';

const work = mkdtempSync(join(tmpdir(), 'fleetc-ort-'));
const MODELS = testModels();
// Fixtures in reduced precision carry their own tolerance (fixtures/models/manifest.json).
const TOLERANCES = manifestTolerances(join(import.meta.dirname, '../../fixtures/models'));

const NPY_TYPES: Record<string, (d: Float64Array) => [ort.Tensor.Type, ort.Tensor.DataType]> = {
  '<f4': (d) => ['float32', Float32Array.from(d)],
  '<i4': (d) => ['int32', Int32Array.from(d)],
  '<i8': (d) => ['int64', BigInt64Array.from(d, (x) => BigInt(x))],
  '|b1': (d) => ['bool', Uint8Array.from(d)],
};
function npyTensor(a: NpyArray): ort.Tensor {
  const [type, data] = NPY_TYPES[a.descr]!(a.data);
  return new ort.Tensor(type, data, a.shape);
}

describe.skipIf(!haveFleetrt())('fleetrt against onnxruntime-node', () => {
  for (const m of MODELS)
    it(
      m.name,
      async () => {
        const session = await ort.InferenceSession.create(m.file, { intraOpNumThreads: 1 });
        const feeds: Record<string, ort.Tensor> = {};
        let runInputs: { inputsDir: string } | { inputs: Record<string, string> };
        if (m.data) {
          const files = readdirSync(m.data)
            .filter((f) => /^input_\d+\.pb$/.test(f))
            .sort((a, b) => parseInt(a.slice(6)) - parseInt(b.slice(6)));
          files.forEach((f, i) => (feeds[session.inputNames[i]!] = pbTensor(join(m.data, f))));
          runInputs = { inputsDir: m.data };
        } else {
          const inputs = await writeInputs(m.file, m.name, mkdtempSync(join(work, `${m.name}-in-`)));
          for (const [name, file] of Object.entries(inputs)) feeds[name] = npyTensor(readNpy(file));
          runInputs = { inputs };
        }
        const want = await session.run(feeds);
        const c = await compile(m.file, join(work, `${m.name}-build`), { report: false });
        const r = await run(c.planPath, { ...runInputs, outputDir: join(work, `${m.name}-out`), threads: 2 });
        for (const o of r.outputs) {
          const ref = want[o.name];
          expect(ref, `onnxruntime has no output ${o.name}`).toBeDefined();
          const got = readNpy(o.file);
          expect(got.shape).toEqual([...ref!.dims]);
          const data = ref!.data as ArrayLike<number | bigint>;
          const value =
            ref!.type === 'float16' ? (i: number) => halfToNumber(Number(data[i])) : (i: number) => Number(data[i]);
          const { rtol, atol } = TOLERANCES[m.name] ?? { rtol: 1e-4, atol: 1e-5 };
          for (let i = 0; i < got.data.length; i++) {
            const y = value(i);
            expect(Math.abs(got.data[i]! - y), `${m.name} ${o.name}[${i}]`).toBeLessThanOrEqual(
              atol + rtol * Math.abs(y),
            );
          }
        }
      },
      120_000,
    );
});
