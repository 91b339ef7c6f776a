import { describe, expect, it } from 'vitest';
import { encodeProgram, ProgramTables, type ProgramEntry } from '../../targets/fleetrt/program.js';
import { compileDim } from '../../targets/fleetrt/expr.js';
import { add, sym } from '../../src/ir/sym.js';

function sections(bin: Uint8Array): Map<string, { off: number; len: number }> {
  const dv = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const n = dv.getUint32(12, true);
  const out = new Map<string, { off: number; len: number }>();
  for (let i = 0; i < n; i++) {
    const at = 24 + i * 24;
    const tag = String.fromCharCode(...bin.subarray(at, at + 4));
    out.set(tag, { off: Number(dv.getBigUint64(at + 8, true)), len: Number(dv.getBigUint64(at + 16, true)) });
  }
  return out;
}

describe('program.bin encoder', () => {
  const tables = new ProgramTables();
  const batch = tables.symbol('batch');
  const e0 = tables.expr(compileDim(sym('batch'), (s) => tables.symbol(s)));
  const e1 = tables.expr(compileDim(add(sym('batch'), 1), (s) => tables.symbol(s)));
  const prog: ProgramEntry = {
    name: 'main',
    localSymbols: [],
    arenaBytes: 0,
    tensors: [
      { name: 'x', dtype: 1, valueKind: 0, storage: 'input', flags: 0, shape: [e0], a: 0, b: 0, first: -1, last: 0 },
      { name: 'y', dtype: 1, valueKind: 0, storage: 'output', flags: 0, shape: [e1], a: 0, b: 0, first: 0, last: 1 },
    ],
    inputs: [0],
    outputs: [1],
    ops: [
      {
        name: 'pad',
        domain: '',
        opType: 'Pad',
        opset: 19,
        inputs: [0, -1],
        outputs: [1],
        attrs: [['mode', { kind: 'string', value: 'constant' }]],
      },
    ],
    channels: [],
  };
  const bin = encodeProgram(tables, [prog]);

  it('writes the header the native reader expects', () => {
    expect(String.fromCharCode(...bin.subarray(0, 7))).toBe('FLTPROG');
    expect(bin[7]).toBe(0);
    const dv = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
    expect(dv.getUint32(8, true)).toBe(1);
    expect(Number(dv.getBigUint64(16, true))).toBe(bin.length);
    const secs = sections(bin);
    expect([...secs.keys()]).toEqual(['STRS', 'SYMS', 'EXPR', 'PROG']);
    for (const { off, len } of secs.values()) {
      expect(off % 8).toBe(0);
      expect(off + len).toBeLessThanOrEqual(bin.length);
    }
  });

  it('interns symbols and expressions once, as stack code', () => {
    expect(batch).toBe(0);
    expect(tables.exprs[e0]).toEqual([{ op: 2, arg: 0 }]);
    expect(tables.exprs[e1]!.map((c) => c.op)).toEqual([2, 1, 3]);
    expect(tables.expr(compileDim(sym('batch'), (s) => tables.symbol(s)))).toBe(e0);
    // SYMS: count, then 16 bytes per symbol.
    const s = sections(bin).get('SYMS')!;
    expect(s.len).toBe(4 + 16 * tables.symbols.length);
  });

  it('holds every string it refers to in STRS', () => {
    const s = sections(bin).get('STRS')!;
    const text = Buffer.from(bin.subarray(s.off, s.off + s.len)).toString('latin1');
    for (const w of ['main', 'x', 'y', 'pad', 'Pad', 'mode', 'constant', 'batch']) expect(text).toContain(w);
  });
});
