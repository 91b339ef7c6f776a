// NumPy .npy files (format 1.0 written; 1.0 and 2.0 read), the tensor format `fleetc run` reads
// and writes. Little-endian float16/float32/float64/int32/int64/bool/uint8.
import { readFileSync, writeFileSync } from 'node:fs';
import { halfToNumber } from '../ir/dtype.js';

export type NpyDescr = '<f4' | '<f8' | '<i4' | '<i8' | '|b1' | '|u1';

export interface NpyArray {
  descr: string;
  shape: number[];
  data: Float64Array;
}

const SIZE: Record<NpyDescr, number> = { '<f4': 4, '<f8': 8, '<i4': 4, '<i8': 8, '|b1': 1, '|u1': 1 };

/** Encodes values (numbers, written in the given element type) as a .npy file's bytes. */
export function encodeNpy(descr: NpyDescr, shape: readonly number[], values: ArrayLike<number>): Buffer {
  const n = shape.reduce((a, b) => a * b, 1);
  const body = Buffer.alloc(n * SIZE[descr]);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (descr === '<f4') body.writeFloatLE(v, 4 * i);
    else if (descr === '<f8') body.writeDoubleLE(v, 8 * i);
    else if (descr === '<i4') body.writeInt32LE(Math.trunc(v), 4 * i);
    else if (descr === '<i8') body.writeBigInt64LE(BigInt(Math.trunc(v)), 8 * i);
    else body[i] = descr === '|b1' ? (v ? 1 : 0) : v;
  }
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), body]);
}

export function writeNpy(file: string, descr: NpyDescr, shape: readonly number[], values: ArrayLike<number>): void {
  writeFileSync(file, encodeNpy(descr, shape, values));
}

/** Decodes .npy bytes; `where` names the file in errors. */
export function decodeNpy(b: Buffer, where = 'npy'): NpyArray {
  if (b.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${where}: not a .npy file`);
  const major = b[6]!;
  const headerStart = major === 1 ? 10 : 12;
  const start = headerStart + (major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8));
  const header = b.toString('latin1', headerStart, start);
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
    else if (descr === '<f2') data[i] = halfToNumber(body.readUInt16LE(2 * i));
    else if (descr === '|b1' || descr === '|u1') data[i] = body[i]!;
    else throw new Error(`${where}: element type ${descr} not handled`);
  }
  return { descr, shape, data };
}

export function readNpy(file: string): NpyArray {
  return decodeNpy(readFileSync(file), file);
}
