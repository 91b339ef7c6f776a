// Deterministic inputs for models that ship without test data, written as .npy files.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from '../../src/api/inspect.js';
import { evaluate, parseDim } from '../../src/ir/sym.js';

/** Symbol bindings that make each shared model's inputs consistent (e.g. total = past + seq). */
export const MODEL_DIMS: Record<string, Record<string, number>> = {
  tiny_random_gpt2_fp32_past: { batch_size: 1, seq_len: 2, past_seq_len: 3, total_seq_len: 5 },
};

const DESCR: Record<string, [string, number]> = {
  float32: ['<f4', 4],
  int32: ['<i4', 4],
  int64: ['<i8', 8],
  bool: ['|b1', 1],
};

function npy(file: string, dtype: string, shape: number[], fill: (i: number) => number): void {
  const [descr, size] =
    DESCR[dtype] ??
    (() => {
      throw new Error(`no .npy writer for ${dtype}`);
    })();
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Buffer.alloc(n * size);
  for (let i = 0; i < n; i++) {
    const v = fill(i);
    if (dtype === 'float32') data.writeFloatLE(v, i * 4);
    else if (dtype === 'int32') data.writeInt32LE(Math.trunc(v), i * 4);
    else if (dtype === 'int64') data.writeBigInt64LE(BigInt(Math.trunc(v)), i * 8);
    else data[i] = v ? 1 : 0;
  }
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), data]));
}

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
    npy(file, t.dtype ?? 'float32', shape, fill);
    files[t.name] = file;
  }
  return files;
}
