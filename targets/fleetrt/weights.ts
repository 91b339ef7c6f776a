import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { readWeightBytes } from '../../src/ir/weights.js';
import type { WeightRef } from '../../src/ir/types.js';

export const WEIGHT_ALIGN = 64;

interface Entry {
  ref: WeightRef;
  offset: number;
  length: number;
}

/**
 * Lays out weights.bin: every entry starts at a multiple of WEIGHT_ALIGN so the runtime can map
 * the file and point tensors into it without copying. Identical contents are stored once. Bytes
 * are not kept: each weight is read to hash it when added and again when the file is written,
 * so a model bigger than memory can be compiled.
 */
export class WeightsBuilder {
  private entries: Entry[] = [];
  private size = 0;
  private byRef = new Map<WeightRef, number>();
  private byHash = new Map<string, number>();

  /** Places `ref`'s bytes; returns the offset and length. */
  add(ref: WeightRef): { offset: number; length: number } {
    const known = this.byRef.get(ref);
    if (known !== undefined) return { offset: this.entries[known]!.offset, length: this.entries[known]!.length };
    const data = readWeightBytes(ref);
    const key = `${data.length}:${createHash('sha1').update(data).digest('hex')}`;
    let index = this.byHash.get(key);
    if (index === undefined) {
      const offset = Math.ceil(this.size / WEIGHT_ALIGN) * WEIGHT_ALIGN;
      index = this.entries.length;
      this.entries.push({ ref, offset, length: data.length });
      this.size = offset + data.length;
      this.byHash.set(key, index);
    }
    this.byRef.set(ref, index);
    return { offset: this.entries[index]!.offset, length: data.length };
  }

  get bytes(): number {
    return this.size;
  }

  /** The file's bytes, one entry at a time (zero padding between entries). */
  *chunks(): Generator<Uint8Array> {
    let at = 0;
    for (const e of this.entries) {
      if (e.offset > at) yield new Uint8Array(e.offset - at);
      const data = readWeightBytes(e.ref);
      if (data.length !== e.length)
        throw new Error(`a weight changed size while compiling (${e.length} -> ${data.length} bytes)`);
      yield data;
      at = e.offset + e.length;
    }
  }

  /** Writes weights.bin; returns its sha256. */
  writeFile(path: string): string {
    const hash = createHash('sha256');
    const fd = openSync(path, 'w');
    try {
      for (const c of this.chunks()) {
        hash.update(c);
        let done = 0;
        while (done < c.length) done += writeSync(fd, c, done, c.length - done);
      }
    } finally {
      closeSync(fd);
    }
    return hash.digest('hex');
  }

  /** The whole file in memory (tests, small bundles). */
  result(): Uint8Array {
    const out = new Uint8Array(this.size);
    let p = 0;
    for (const c of this.chunks()) {
      out.set(c, p);
      p += c.length;
    }
    return out;
  }
}
