// Deterministic inputs for models that ship without test data, written as .npy files.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from '../../src/api/inspect.js';
import { evaluate, parseDim } from '../../src/ir/sym.js';
import { writeNpy, type NpyDescr } from '../../src/util/npy.js';
import { REPO, SHARED } from '../paths.js';

/**
 * Every shared ONNX model and every fixture model: `data` is the fixture's test_data_set_0
 * folder, '' for a shared model (inputs from writeInputs).
 */
export function testModels(): { name: string; file: string; data: string }[] {
  return [
    ...readdirSync(join(SHARED, 'models/onnx')).map((f) => ({
      name: f.replace(/\.onnx$/, ''),
      file: join(SHARED, 'models/onnx', f),
      data: '',
    })),
    ...readdirSync(join(REPO, 'fixtures/models'))
      .filter((m) => existsSync(join(REPO, 'fixtures/models', m, 'model.onnx')))
      .map((m) => ({
        name: m,
        file: join(REPO, 'fixtures/models', m, 'model.onnx'),
        data: join(REPO, 'fixtures/models', m, 'test_data_set_0'),
      })),
  ];
}

/** Symbol bindings that make each shared model's inputs consistent (e.g. total = past + seq). */
export const MODEL_DIMS: Record<string, Record<string, number>> = {
  tiny_random_gpt2_fp32_past: { batch_size: 1, seq_len: 2, past_seq_len: 3, total_seq_len: 5 },
};

const DESCR: Record<string, NpyDescr> = { float32: '<f4', int32: '<i4', int64: '<i8', bool: '|b1' };

/** Writes one .npy per graph input into `dir`; returns name → file. */
export async function writeInputs(model: string, name: string, dir: string): Promise<Record<string, string>> {
  const dims = new Map(Object.entries(MODEL_DIMS[name] ?? {}));
  const info = await inspect(model, { dims });
  const files: Record<string, string> = {};
  let seed = 12345;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  for (const t of info.inputs) {
    const shape = (t.shape ?? []).map((d) => (typeof d === 'number' ? d : (evaluate(parseDim(String(d)), dims) ?? 1)));
    const file = join(dir, `${t.name.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`);
    const last = shape[shape.length - 1] ?? 1;
    const fill = /mask/.test(t.name)
      ? () => 1
      : /position/.test(t.name)
        ? (i: number) => i % last
        : t.dtype === 'float32'
          ? rand
          : (i: number) => (i * 7) % 10;
    const descr = DESCR[t.dtype ?? 'float32'];
    if (!descr) throw new Error(`no .npy writer for ${t.dtype}`);
    writeNpy(
      file,
      descr,
      shape,
      Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => fill(i)),
    );
    files[t.name] = file;
  }
  return files;
}
