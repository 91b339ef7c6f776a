// Reading .npy files (format 1.0/2.0, little-endian float32/float64/int32/int64/bool) in tests.
import { readFileSync } from 'node:fs';

export interface NpyArray {
  dtype: string;
  shape: number[];
  data: Float64Array;
}

export function readNpy(file: string): NpyArray {
  const b = readFileSync(file);
  if (b.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = b[6]!;
  const headerLen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = b.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1] ?? '';
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const n = shape.reduce((a, c) => a * c, 1);
  const body = b.subarray(start);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (descr === '<f4') data[i] = body.readFloatLE(4 * i);
    else if (descr === '<f8') data[i] = body.readDoubleLE(8 * i);
    else if (descr === '<i4') data[i] = body.readInt32LE(4 * i);
    else if (descr === '<i8') data[i] = Number(body.readBigInt64LE(8 * i));
    else if (descr === '|b1' || descr === '|u1') data[i] = body[i]!;
    else throw new Error(`${file}: element type ${descr} not handled`);
  }
  return { dtype: descr, shape, data };
}
