import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { afterAll, describe, expect, it } from 'vitest';
import { FleetcError } from '../../../src/diagnostics/index.js';
import { loadOnnx, type LoadOnnxOptions } from '../../../src/frontends/onnx/index.js';
import { readWeightBytes } from '../../../src/ir/weights.js';
import { node, onnx, tempDir, vi, writeModel } from './helpers.js';
import type pkg from 'onnx-proto';

const { Long } = protobuf.util as unknown as { Long: { fromString(s: string, unsigned?: boolean): unknown } };
const tmp = tempDir();
afterAll(tmp.cleanup);
let serial = 0;

/** Loads a model whose only content is initializer W (also the graph output) and returns W. */
function loadWeight(t: pkg.onnx.ITensorProto, opts?: LoadOnnxOptions) {
  const path = writeModel(
    tmp.dir,
    { initializers: [{ name: 'W', ...t }], outputs: [{ name: 'W' }] },
    `m${serial++}.onnx`,
  );
  const v = loadOnnx(path, opts).value('W');
  return { v, bytes: readWeightBytes(v.weight!), path };
}

function loadError(t: pkg.onnx.ITensorProto): FleetcError {
  try {
    loadWeight(t);
  } catch (e) {
    expect(e).toBeInstanceOf(FleetcError);
    return e as FleetcError;
  }
  throw new Error('expected the model to be refused');
}

const le = (fill: (b: Buffer) => void, n: number): number[] => {
  const b = Buffer.alloc(n);
  fill(b);
  return [...b];
};

describe('typed tensor fields → little-endian bytes', () => {
  it('float32 and complex64 from float_data', () => {
    const { v, bytes } = loadWeight({ dataType: 1, dims: [2, 2], floatData: [1, -2.5, 3.25, 1e-3] });
    expect(v.dtype).toBe('float32');
    expect(v.shape).toEqual([2, 2]);
    expect(v.weight!.kind).toBe('inline');
    expect([...bytes]).toEqual([...new Uint8Array(new Float32Array([1, -2.5, 3.25, 1e-3]).buffer)]);
    const c = loadWeight({ dataType: 14, dims: [2], floatData: [1, 2, 3, 4] });
    expect(c.v.dtype).toBe('complex64');
    expect([...c.bytes]).toEqual([...new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer)]);
  });

  it('float64 and complex128 from double_data', () => {
    expect([...loadWeight({ dataType: 11, dims: [3], doubleData: [0.1, -7, 1e300] }).bytes]).toEqual([
      ...new Uint8Array(new Float64Array([0.1, -7, 1e300]).buffer),
    ]);
    expect([...loadWeight({ dataType: 15, dims: [1], doubleData: [1.5, -2] }).bytes]).toEqual([
      ...new Uint8Array(new Float64Array([1.5, -2]).buffer),
    ]);
  });

  it('int32, int16/uint16, int8/uint8 and bool from int32_data', () => {
    expect([...loadWeight({ dataType: 6, dims: [3], int32Data: [1, -2, 2147483647] }).bytes]).toEqual([
      ...new Uint8Array(new Int32Array([1, -2, 2147483647]).buffer),
    ]);
    expect([...loadWeight({ dataType: 5, dims: [2], int32Data: [-2, 300] }).bytes]).toEqual(
      le((b) => (b.writeInt16LE(-2, 0), b.writeInt16LE(300, 2)), 4),
    );
    expect([...loadWeight({ dataType: 4, dims: [2], int32Data: [65535, 1] }).bytes]).toEqual([0xff, 0xff, 1, 0]);
    expect([...loadWeight({ dataType: 3, dims: [3], int32Data: [-1, 127, -128] }).bytes]).toEqual([0xff, 0x7f, 0x80]);
    expect([...loadWeight({ dataType: 2, dims: [2], int32Data: [255, 0] }).bytes]).toEqual([255, 0]);
    const b = loadWeight({ dataType: 9, dims: [3], int32Data: [1, 0, 1] });
    expect(b.v.dtype).toBe('bool');
    expect([...b.bytes]).toEqual([1, 0, 1]);
  });

  it('float16 and bfloat16 bit patterns from int32_data', () => {
    expect([...loadWeight({ dataType: 10, dims: [2], int32Data: [0x3c00, 0xc000] }).bytes]).toEqual([
      0x00, 0x3c, 0x00, 0xc0,
    ]);
    const bf = loadWeight({ dataType: 16, dims: [1], int32Data: [0x3f80] });
    expect(bf.v.dtype).toBe('bfloat16');
    expect([...bf.bytes]).toEqual([0x80, 0x3f]);
  });

  it('every float8 flavour (and e8m0) from int32_data, one byte each', () => {
    const names = {
      17: 'float8e4m3fn',
      18: 'float8e4m3fnuz',
      19: 'float8e5m2',
      20: 'float8e5m2fnuz',
      24: 'float8e8m0',
    };
    for (const [code, name] of Object.entries(names)) {
      const { v, bytes } = loadWeight({ dataType: Number(code), dims: [3], int32Data: [0x38, 0xb8, 0x7f] });
      expect(v.dtype).toBe(name);
      expect([...bytes]).toEqual([0x38, 0xb8, 0x7f]);
    }
  });

  it('4-bit types: int32_data holds one packed byte (two elements, low nibble first) per entry', () => {
    // int4 [1, 2, 3]: bytes 0x21, 0x03
    const i4 = loadWeight({ dataType: 22, dims: [3], int32Data: [0x21, 0x03] });
    expect(i4.v.dtype).toBe('int4');
    expect([...i4.bytes]).toEqual([0x21, 0x03]);
    const u4 = loadWeight({ dataType: 21, dims: [2, 2], int32Data: [0xf0, 0x5a] });
    expect(u4.v.dtype).toBe('uint4');
    expect([...u4.bytes]).toEqual([0xf0, 0x5a]);
    const f4 = loadWeight({ dataType: 23, dims: [1], int32Data: [0x07] });
    expect(f4.v.dtype).toBe('float4e2m1');
    expect([...f4.bytes]).toEqual([0x07]);
    // three int4 elements need two entries, not three
    expect(loadError({ dataType: 22, dims: [3], int32Data: [1, 2, 3] }).message).toMatch(
      /3 entries in int32_data but int4\[3\] needs 2/,
    );
  });

  it('int64 from int64_data, exactly, beyond 2^53', () => {
    const vals = ['-1', '1099511627781', '-4611686018427387904', '9223372036854775807'];
    const { bytes } = loadWeight({ dataType: 7, dims: [4], int64Data: vals.map((s) => Long.fromString(s)) as never });
    expect([...bytes]).toEqual([...new Uint8Array(new BigInt64Array(vals.map(BigInt)).buffer)]);
  });

  it('uint32 and uint64 from uint64_data', () => {
    expect([...loadWeight({ dataType: 12, dims: [2], uint64Data: [4294967295, 7] }).bytes]).toEqual([
      ...new Uint8Array(new Uint32Array([4294967295, 7]).buffer),
    ]);
    const big = ['18446744073709551615', '3'];
    expect([
      ...loadWeight({ dataType: 13, dims: [2], uint64Data: big.map((s) => Long.fromString(s, true)) as never }).bytes,
    ]).toEqual([...new Uint8Array(new BigUint64Array(big.map(BigInt)).buffer)]);
  });

  it('strings from string_data as (u32 length, utf-8 bytes) per element', () => {
    const enc = new TextEncoder();
    const { v, bytes } = loadWeight({ dataType: 8, dims: [2], stringData: [enc.encode('héllo'), enc.encode('')] });
    expect(v.dtype).toBe('string');
    expect([...bytes]).toEqual([6, 0, 0, 0, ...enc.encode('héllo'), 0, 0, 0, 0]);
  });

  it('scalars and empty tensors', () => {
    const s = loadWeight({ dataType: 1, dims: [], floatData: [5] });
    expect(s.v.shape).toEqual([]);
    expect([...s.bytes]).toEqual([...new Uint8Array(new Float32Array([5]).buffer)]);
    const e = loadWeight({ dataType: 1, dims: [0, 3] });
    expect(e.v.shape).toEqual([0, 3]);
    expect(e.bytes.length).toBe(0);
  });
});

describe('raw_data', () => {
  it('refers to its byte range inside the .onnx file instead of copying', () => {
    const data = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
    const { v, bytes, path } = loadWeight({ dataType: 1, dims: [2, 3], rawData: data });
    const ref = v.weight!;
    expect(ref.kind).toBe('file');
    if (ref.kind !== 'file') return;
    expect(ref.path).toBe(path);
    expect(ref.length).toBe(24);
    expect([...readFileSync(path).subarray(ref.offset, ref.offset + ref.length)]).toEqual([...data]);
    expect([...bytes]).toEqual([...data]);
  });

  it('packs 4-bit raw_data two per byte and copies small tensors inline when asked', () => {
    const { v, bytes } = loadWeight(
      { dataType: 21, dims: [3], rawData: new Uint8Array([0x21, 0x03]) },
      { inlineRawBelow: 64 },
    );
    expect(v.weight!.kind).toBe('inline');
    expect([...bytes]).toEqual([0x21, 0x03]);
  });

  it('a Constant node keeps its tensor as a reference too', () => {
    const t = { dataType: 7, dims: [2], rawData: new Uint8Array(new BigInt64Array([3n, -1n]).buffer) };
    const path = writeModel(
      tmp.dir,
      {
        nodes: [node('Constant', [], ['c'], { name: 'k', attribute: [{ name: 'value', type: 4, t }] })],
        outputs: [vi('c', 7, [2])],
      },
      'const.onnx',
    );
    const g = loadOnnx(path);
    const a = g.op('k').attrs.value;
    expect(a?.type).toBe('tensor');
    if (a?.type !== 'tensor') return;
    expect(a.value.dtype).toBe('int64');
    expect(a.value.shape).toEqual([2]);
    expect(a.value.ref.kind).toBe('file');
    expect([...readWeightBytes(a.value.ref)]).toEqual([...t.rawData]);
  });
});

describe('sparse initializers become dense constants', () => {
  it('linear and coordinate indices', () => {
    const values = { dataType: 1, dims: [2], floatData: [1, 2], name: 'S' };
    for (const indices of [
      { dataType: 7, dims: [2], int64Data: [1, 5] },
      { dataType: 7, dims: [2, 2], int64Data: [0, 1, 1, 2] },
    ]) {
      const m = onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 17 }],
        graph: { name: 'g', sparseInitializer: [{ values, indices, dims: [2, 3] }], output: [{ name: 'S' }] },
      });
      const v = loadOnnx(writeModel(tmp.dir, m, `sparse${serial++}.onnx`)).value('S');
      expect(v.role).toBe('weight');
      expect(v.shape).toEqual([2, 3]);
      expect([...new Float32Array(readWeightBytes(v.weight!).slice().buffer)]).toEqual([0, 1, 0, 0, 0, 2]);
    }
  });
});

describe('malformed tensors are refused, naming the tensor', () => {
  const cases: [string, pkg.onnx.ITensorProto, RegExp, string][] = [
    [
      'raw_data of the wrong size',
      { dataType: 1, dims: [3], rawData: new Uint8Array(8) },
      /initializer 'W' has 8 bytes of raw_data but float32\[3\] needs 12/,
      'E0102',
    ],
    [
      'too few typed entries',
      { dataType: 1, dims: [3], floatData: [1, 2] },
      /initializer 'W' has 2 entries in float_data but float32\[3\] needs 3/,
      'E0102',
    ],
    [
      'the wrong typed field',
      { dataType: 7, dims: [1], floatData: [1] },
      /is int64 but holds its data in float_data \(expected int64_data\)/,
      'E0102',
    ],
    [
      'raw_data and a typed field',
      { dataType: 1, dims: [1], floatData: [1], rawData: new Uint8Array(4) },
      /both raw_data and float_data/,
      'E0102',
    ],
    ['no data', { dataType: 1, dims: [2] }, /initializer 'W' \(float32\[2\]\) has no data/, 'E0102'],
    [
      'an unknown data type',
      { dataType: 99, dims: [1], rawData: new Uint8Array(1) },
      /initializer 'W' has element type 99/,
      'E0103',
    ],
    ['no data type', { dims: [1], rawData: new Uint8Array(4) }, /initializer 'W' has no data type/, 'E0102'],
    [
      'a negative dimension',
      { dataType: 1, dims: [-2], floatData: [] },
      /initializer 'W' has dimension -2 on axis 0/,
      'E0102',
    ],
    [
      'raw_data for strings',
      { dataType: 8, dims: [1], rawData: new Uint8Array(3) },
      /string tensor with raw_data/,
      'E0102',
    ],
    ['segments', { dataType: 1, dims: [1], floatData: [1], segment: { begin: 0, end: 1 } }, /segments/, 'E0103'],
  ];
  for (const [what, t, message, code] of cases)
    it(what, () => {
      const e = loadError(t);
      expect(e.code).toBe(code);
      expect(e.message).toMatch(message);
      expect(e.format()).toMatch(/^\S*m\d+\.onnx: error\[E01\d\d\]: /);
    });
});
