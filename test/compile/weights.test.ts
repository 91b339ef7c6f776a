import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WeightsBuilder } from '../../targets/fleetrt/weights.js';
import { tmp } from './helpers.js';

describe('weights.bin builder', () => {
  it('aligns every entry to 64 bytes, stores equal contents once and reads file weights in place', () => {
    const dir = tmp();
    const src = join(dir, 'external.bin');
    writeFileSync(
      src,
      Uint8Array.from({ length: 300 }, (_, i) => i & 0xff),
    );
    const w = new WeightsBuilder();
    const a = w.add({ kind: 'inline', data: Uint8Array.from([1, 2, 3]) });
    const b = w.add({ kind: 'file', path: src, offset: 10, length: 100 });
    const c = w.add({ kind: 'inline', data: Uint8Array.from([1, 2, 3]) }); // same bytes as a
    const d = w.add({ kind: 'inline', data: new Uint8Array(0) });
    expect(a).toEqual({ offset: 0, length: 3 });
    expect(b).toEqual({ offset: 64, length: 100 });
    expect(c).toEqual(a);
    expect(d.offset % 64).toBe(0);
    const bytes = w.result();
    expect(bytes.length).toBe(w.bytes);
    expect([...bytes.subarray(0, 3)]).toEqual([1, 2, 3]);
    expect([...bytes.subarray(3, 64)].every((x) => x === 0)).toBe(true);
    expect([...bytes.subarray(64, 164)]).toEqual(Array.from({ length: 100 }, (_, i) => (i + 10) & 0xff));
    const out = join(dir, 'weights.bin');
    const sha = w.writeFile(out);
    expect(readFileSync(out).equals(Buffer.from(bytes))).toBe(true);
    expect(sha).toBe(createHash('sha256').update(bytes).digest('hex'));
  });
});
