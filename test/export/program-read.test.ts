// program.bin read back (targets/fleetrt/read.ts): the inverse of the encoder, bounds-checked.
import { describe, expect, it } from 'vitest';
import { compileDim } from '../../targets/fleetrt/expr.js';
import { encodeProgram, ProgramTables, type ProgramEntry } from '../../targets/fleetrt/program.js';
import { decodeProgram, ProgramFormatError } from '../../targets/fleetrt/read.js';
import { add, floorDiv, sym } from '../../src/ir/sym.js';

function sample(): { bin: Uint8Array; tables: ProgramTables; programs: ProgramEntry[] } {
  const tables = new ProgramTables();
  const id = (s: string): number => tables.symbol(s);
  const e0 = tables.expr(compileDim(sym('batch'), id));
  const e1 = tables.expr(compileDim(add(floorDiv(sym('n'), 2), 1), id));
  const e2 = tables.expr(compileDim(4, id));
  const main: ProgramEntry = {
    name: 'cpu0',
    localSymbols: [],
    arenaBytes: 128,
    tensors: [
      {
        name: 'x',
        dtype: 1,
        valueKind: 0,
        storage: 'input',
        flags: 0,
        shape: [e0, e2],
        a: 0,
        b: 0,
        first: -1,
        last: 1,
      },
      { name: 'w', dtype: 1, valueKind: 0, storage: 'weight', flags: 0, shape: [e2], a: 64, b: 16, first: -1, last: 0 },
      {
        name: 'y',
        dtype: 1,
        valueKind: 0,
        storage: 'arena',
        flags: 0,
        shape: [e0, e1],
        a: 0,
        b: 64,
        first: 0,
        last: 1,
      },
      { name: 'z', dtype: 7, valueKind: 1, storage: 'channel', flags: 0, shape: null, a: 0, b: 0, first: -1, last: 1 },
      {
        name: 'o',
        dtype: 1,
        valueKind: 0,
        storage: 'output',
        flags: 0,
        shape: [e0, e1],
        a: 0,
        b: 0,
        first: 1,
        last: 2,
      },
    ],
    inputs: [0],
    outputs: [4],
    ops: [
      {
        name: 'mul',
        domain: '',
        opType: 'Mul',
        opset: 17,
        inputs: [0, 1],
        outputs: [2],
        attrs: [
          ['i', { kind: 'int', value: -(2 ** 40) }],
          ['f', { kind: 'float', value: 0.25 }],
          ['s', { kind: 'string', value: 'ünïcode' }],
          ['is', { kind: 'ints', value: [1, -2, 3] }],
          ['fs', { kind: 'floats', value: [1.5, -2] }],
          ['ss', { kind: 'strings', value: ['a', ''] }],
          ['t', { kind: 'tensor', value: { dtype: 7, dims: [2], offset: 0, length: 16 } }],
          ['ts', { kind: 'tensors', value: [{ dtype: 1, dims: [], offset: 64, length: 4 }] }],
        ],
      },
      {
        name: 'if',
        domain: 'com.x',
        opType: 'If',
        opset: 1,
        inputs: [2, -1, 3],
        outputs: [4, -1],
        attrs: [
          ['b', { kind: 'graph', value: 1 }],
          ['bs', { kind: 'graphs', value: [1, 1] }],
        ],
      },
    ],
    channels: [
      { tensor: 3, channel: 5, direction: 1 },
      { tensor: 2, channel: 6, direction: 0 },
    ],
  };
  const body: ProgramEntry = {
    name: 'cpu0/if/b',
    localSymbols: [id('n')],
    arenaBytes: 0,
    tensors: [
      {
        name: 'y',
        dtype: 1,
        valueKind: 0,
        storage: 'outer',
        flags: 0,
        shape: [e0, e1],
        a: 2,
        b: 0,
        first: -1,
        last: -1,
      },
    ],
    inputs: [],
    outputs: [0],
    ops: [],
    channels: [],
  };
  const programs = [main, body];
  return { bin: encodeProgram(tables, programs), tables, programs };
}

describe('program.bin reader', () => {
  it('reads back exactly what the encoder wrote', () => {
    const { bin, tables, programs } = sample();
    const d = decodeProgram(bin);
    expect(d.programs).toEqual(programs);
    expect(d.symbols).toEqual(tables.symbols);
    expect(d.exprs).toEqual(tables.exprs.map((codes) => codes.map((c) => (c.arg === undefined ? { op: c.op } : c))));
  });

  it('refuses damaged files with a reason', () => {
    const { bin } = sample();
    expect(() => decodeProgram(bin.subarray(0, 16))).toThrow(ProgramFormatError);
    expect(() => decodeProgram(Uint8Array.from(bin).fill(0, 0, 8))).toThrow(/FLTPROG/);
    for (const cut of [40, 200, bin.length - 8]) {
      const short = Uint8Array.from(bin.subarray(0, cut));
      // keep the header's size consistent so the reader has to find the damage inside
      new DataView(short.buffer).setBigUint64(16, BigInt(short.length), true);
      expect(() => decodeProgram(short), `cut at ${cut}`).toThrow(ProgramFormatError);
    }
  });
});
