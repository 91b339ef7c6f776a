import { byteSize, dtypeCode, type DType } from '../../../src/ir/dtype.js';
import type { IRGraph, AttrValue } from '../../../src/ir/graph.js';
import type { TensorConst } from '../../../src/ir/types.js';
import { readWeightBytes } from '../../../src/ir/weights.js';

/**
 * Writes an IR graph plus expected outputs in the `FLT1` format read by the kernel test harness
 * (native/tests/kernels_b/harness.cpp): a tiny graph interpreter over the registered kernels, so
 * StableHLO cases can run before the compile pipeline exists. Little-endian throughout.
 */
class W {
  private parts: Uint8Array[] = [];
  u8(v: number): void {
    this.parts.push(Uint8Array.of(v));
  }
  u32(v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    this.parts.push(b);
  }
  i32(v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    this.parts.push(b);
  }
  i64(v: number | bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, BigInt(v), true);
    this.parts.push(b);
  }
  f64(v: number): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.parts.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u32(b.length);
    this.parts.push(b);
  }
  bytes(b: Uint8Array): void {
    this.parts.push(b);
  }
  done(): Uint8Array {
    return Buffer.concat(this.parts);
  }
}

export interface Expected {
  name: string;
  dtype: DType;
  shape: number[];
  data: Uint8Array;
}

/** An entry whose data is zeros of the right size: for a check that reads no expected values. */
export function zeroExpected(name: string, dtype: DType, shape: number[]): Expected {
  const n = shape.reduce((a, b) => a * b, 1);
  return { name, dtype, shape, data: new Uint8Array(byteSize(dtype, n)) };
}

function tensor(w: W, dtype: DType, shape: number[], data: Uint8Array): void {
  w.i32(dtypeCode(dtype));
  w.u32(shape.length);
  for (const d of shape) w.i64(d);
  w.i64(data.length);
  w.bytes(data);
}

function tensorConst(w: W, t: TensorConst): void {
  tensor(w, t.dtype, t.shape, readWeightBytes(t.ref));
}

function attr(w: W, a: AttrValue): boolean {
  switch (a.type) {
    case 'int':
      w.u8(0);
      w.i64(Math.trunc(a.value));
      return true;
    case 'float':
      w.u8(1);
      w.f64(a.value);
      return true;
    case 'string':
      w.u8(2);
      w.str(a.value);
      return true;
    case 'ints':
      w.u8(3);
      w.u32(a.value.length);
      a.value.forEach((v) => w.i64(Math.trunc(v)));
      return true;
    case 'floats':
      w.u8(4);
      w.u32(a.value.length);
      a.value.forEach((v) => w.f64(v));
      return true;
    case 'strings':
      w.u8(5);
      w.u32(a.value.length);
      a.value.forEach((v) => w.str(v));
      return true;
    case 'tensor':
      w.u8(6);
      tensorConst(w, a.value);
      return true;
    case 'tensors':
      w.u8(7);
      w.u32(a.value.length);
      a.value.forEach((t) => tensorConst(w, t));
      return true;
    case 'graph':
      w.u8(8);
      graph(w, a.value);
      return true;
    case 'graphs':
      w.u8(9);
      w.u32(a.value.length);
      a.value.forEach((g) => graph(w, g));
      return true;
    default:
      return false;
  }
}

function graph(w: W, g: IRGraph): void {
  w.u32(g.inputs.length);
  g.inputs.forEach((n) => w.str(n));
  w.u32(g.outputs.length);
  g.outputs.forEach((n) => w.str(n));
  const values = g.values();
  const typed = values.filter((n) => g.value(n).dtype);
  w.u32(typed.length);
  for (const n of typed) {
    w.str(n);
    w.u8(0);
    w.i32(dtypeCode(g.value(n).dtype!));
  }
  const inits = values.filter((n) => {
    const v = g.value(n);
    return v.role === 'weight' && v.weight && v.weight.kind !== 'elided';
  });
  w.u32(inits.length);
  for (const n of inits) {
    const v = g.value(n);
    w.str(n);
    if (!v.shape!.every((d) => typeof d === 'number')) throw new Error(`weight ${n} has a symbolic shape`);
    tensor(w, v.dtype!, v.shape as number[], readWeightBytes(v.weight!));
  }
  const ops = g.topoOps();
  w.u32(ops.length);
  for (const id of ops) {
    const op = g.op(id);
    w.str(op.opType);
    w.str(op.domain);
    w.str(op.name);
    const ins = g.opInputs(id);
    w.u32(ins.length);
    ins.forEach((n) => w.str(n ?? ''));
    const outs = g.opOutputs(id);
    w.u32(outs.length);
    outs.forEach((n) => w.str(n ?? ''));
    const entries = Object.entries(op.attrs).filter(([, a]) => a.type !== 'type');
    w.u32(entries.length);
    for (const [k, a] of entries) {
      w.str(k);
      attr(w, a);
    }
  }
}

/** A test file: the graph (its outputs are compared in order with `expected`) and its inputs. */
export function writeFLT1(g: IRGraph, expected: Expected[], inputs: Expected[] = [], opset = 18): Uint8Array {
  const w = new W();
  w.bytes(Buffer.from('FLT1'));
  w.i32(opset);
  graph(w, g);
  w.u32(inputs.length);
  for (const e of inputs) {
    w.str(e.name);
    w.u8(0);
    w.i32(dtypeCode(e.dtype));
    tensor(w, e.dtype, e.shape, e.data);
  }
  w.u32(expected.length);
  for (const e of expected) {
    w.str(e.name);
    w.u8(0);
    w.i32(dtypeCode(e.dtype));
    tensor(w, e.dtype, e.shape, e.data);
  }
  return w.done();
}
