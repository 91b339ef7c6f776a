import { openSync, readSync, closeSync } from 'node:fs';
import type { WeightRef } from './types.js';

/** Reads a weight's bytes. Only passes and emitters that need the values call this. */
export function readWeightBytes(ref: WeightRef): Uint8Array {
  switch (ref.kind) {
    case 'inline':
      return ref.data;
    case 'elided':
      throw new Error('the weight values are elided in the model; supply them at run time');
    case 'file': {
      const buf = new Uint8Array(ref.length);
      const fd = openSync(ref.path, 'r');
      try {
        let done = 0;
        while (done < ref.length) {
          const n = readSync(fd, buf, done, ref.length - done, ref.offset + done);
          if (n === 0) throw new Error(`${ref.path}: ends before byte ${ref.offset + ref.length} of a weight`);
          done += n;
        }
      } finally {
        closeSync(fd);
      }
      return buf;
    }
  }
}
