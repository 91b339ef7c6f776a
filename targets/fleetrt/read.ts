import { tag } from './binary.js';
import { OP, type Code } from './expr.js';
import {
  PROGRAM_FORMAT_VERSION,
  STORAGE,
  type AttrEntry,
  type ConstEntry,
  type OpEntry,
  type ProgramEntry,
  type StorageKind,
  type SymbolEntry,
  type TensorEntry,
} from './program.js';

/** A program.bin read back: the tables encodeProgram wrote (docs/bundle-format.md). */
export interface DecodedProgram {
  symbols: SymbolEntry[];
  /** Shape expressions, by id, as the codes of the stack machine. */
  exprs: Code[][];
  /** Program 0 is the device's main program; the others are subgraph bodies. */
  programs: ProgramEntry[];
}

/** A program.bin that is not one: truncated, out of range, or of another format. */
export class ProgramFormatError extends Error {}

const STORAGE_BY_CODE = new Map<number, StorageKind>(
  (Object.entries(STORAGE) as [StorageKind, number][]).map(([k, v]) => [v, k]),
);
const ATTR_KINDS = ['int', 'float', 'string', 'ints', 'floats', 'strings', 'tensor', 'tensors', 'graph', 'graphs'];

/** A bounds-checked little-endian reader over one section. */
class Reader {
  private readonly view: DataView;
  pos: number;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly start: number,
    private readonly end: number,
    private readonly section: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  private need(n: number): number {
    if (this.pos + n > this.end)
      throw new ProgramFormatError(`section ${this.section} ends at byte ${this.end - this.start}, inside a record`);
    const at = this.pos;
    this.pos += n;
    return at;
  }
  u8(): number {
    return this.view.getUint8(this.need(1));
  }
  u16(): number {
    return this.view.getUint16(this.need(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }
  i32(): number {
    return this.view.getInt32(this.need(4), true);
  }
  /** An int64 as a number: exact up to 2^53, the nearest double beyond (INT64_MAX sentinels). */
  i64(): number {
    return Number(this.view.getBigInt64(this.need(8), true));
  }
  u64(): number {
    const v = this.view.getBigUint64(this.need(8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProgramFormatError(`a size in ${this.section} is out of range`);
    return Number(v);
  }
  f64(): number {
    return this.view.getFloat64(this.need(8), true);
  }
  raw(n: number): Uint8Array {
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }
  /** A count of records of at least `min` bytes each, checked against what is left. */
  count(min: number): number {
    const n = this.u32();
    if (n * min > this.end - this.pos)
      throw new ProgramFormatError(`section ${this.section} claims ${n} records but holds fewer`);
    return n;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads program.bin back into the tables the emitter wrote: the inverse of encodeProgram, so
 * tools (fleetc export) can rebuild the IR a bundle runs. Every offset, count and index is
 * checked; a damaged file gives a ProgramFormatError naming what is wrong.
 */
export function decodeProgram(bytes: Uint8Array): DecodedProgram {
  if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(0, 8)) !== 'FLTPROG\0')
    throw new ProgramFormatError('not a fleetc program (no FLTPROG header)');
  const head = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = head.getUint32(8, true);
  if (version !== PROGRAM_FORMAT_VERSION)
    throw new ProgramFormatError(`program format ${version}; this fleetc reads format ${PROGRAM_FORMAT_VERSION}`);
  const nSections = head.getUint32(12, true);
  if (Number(head.getBigUint64(16, true)) !== bytes.length)
    throw new ProgramFormatError(
      `the header gives a size of ${head.getBigUint64(16, true)} bytes; the file has ${bytes.length}`,
    );
  if (24 + nSections * 24 > bytes.length) throw new ProgramFormatError('the section directory is truncated');
  const sections = new Map<number, { off: number; len: number }>();
  for (let i = 0; i < nSections; i++) {
    const at = 24 + i * 24;
    const off = Number(head.getBigUint64(at + 8, true));
    const len = Number(head.getBigUint64(at + 16, true));
    if (off + len > bytes.length) throw new ProgramFormatError(`section ${i} lies outside the file`);
    sections.set(head.getUint32(at, true), { off, len });
  }
  const open = (name: string): Reader => {
    const s = sections.get(tag(name));
    if (!s) throw new ProgramFormatError(`section ${name} is missing`);
    return new Reader(bytes, s.off, s.off + s.len, name);
  };

  const strings: string[] = [];
  const rs = open('STRS');
  for (let i = 0, n = rs.count(4); i < n; i++) {
    const len = rs.u32();
    try {
      strings.push(utf8.decode(rs.raw(len)));
    } catch (e) {
      if (e instanceof ProgramFormatError) throw e;
      throw new ProgramFormatError(`string ${i} is not valid UTF-8`);
    }
  }
  const str = (r: Reader): string => {
    const i = r.u32();
    if (i >= strings.length) throw new ProgramFormatError(`string index ${i} is out of range (${strings.length})`);
    return strings[i]!;
  };

  const symbols: SymbolEntry[] = [];
  const ry = open('SYMS');
  for (let i = 0, n = ry.count(16); i < n; i++) {
    const name = str(ry);
    const kind = ry.u8();
    ry.u8();
    ry.u16();
    symbols.push({ name, kind, planned: ry.i64() });
  }

  const exprs: Code[][] = [];
  const re = open('EXPR');
  for (let i = 0, n = re.count(2); i < n; i++) {
    const codes: Code[] = [];
    for (let k = 0, m = re.u16(); k < m; k++) {
      const op = re.u8();
      if (op === OP.pushConst) codes.push({ op, arg: re.i64() });
      else if (op === OP.pushSym) {
        const s = re.u32();
        if (s >= symbols.length) throw new ProgramFormatError(`expression ${i} names symbol ${s}, out of range`);
        codes.push({ op, arg: s });
      } else if (op >= OP.add && op <= OP.min) codes.push({ op });
      else throw new ProgramFormatError(`expression ${i} has unknown opcode ${op}`);
    }
    exprs.push(codes);
  }

  const rp = open('PROG');
  const programs: ProgramEntry[] = [];
  const nPrograms = rp.count(1);
  const progIndex = (i: number): number => {
    if (i >= nPrograms) throw new ProgramFormatError(`a graph attribute names program ${i}, out of range`);
    return i;
  };
  const constEntry = (): ConstEntry => {
    const dtype = rp.i32();
    const dims: number[] = [];
    for (let k = 0, n = rp.count(8); k < n; k++) dims.push(rp.i64());
    return { dtype, dims, offset: rp.u64(), length: rp.u64() };
  };
  const attr = (): AttrEntry => {
    const kind = ATTR_KINDS[rp.u8()];
    switch (kind) {
      case 'int':
        return { kind, value: rp.i64() };
      case 'float':
        return { kind, value: rp.f64() };
      case 'string':
        return { kind, value: str(rp) };
      case 'ints':
        return { kind, value: Array.from({ length: rp.count(8) }, () => rp.i64()) };
      case 'floats':
        return { kind, value: Array.from({ length: rp.count(8) }, () => rp.f64()) };
      case 'strings':
        return { kind, value: Array.from({ length: rp.count(4) }, () => str(rp)) };
      case 'tensor':
        return { kind, value: constEntry() };
      case 'tensors':
        return { kind, value: Array.from({ length: rp.count(28) }, () => constEntry()) };
      case 'graph':
        return { kind, value: progIndex(rp.u32()) };
      case 'graphs':
        return { kind, value: Array.from({ length: rp.count(4) }, () => progIndex(rp.u32())) };
      default:
        throw new ProgramFormatError('an attribute has an unknown kind');
    }
  };
  for (let p = 0; p < nPrograms; p++) {
    const name = str(rp);
    const localSymbols = Array.from({ length: rp.count(4) }, () => rp.u32());
    const arenaBytes = rp.u64();
    const tensors: TensorEntry[] = [];
    for (let i = 0, n = rp.count(40); i < n; i++) {
      const tname = str(rp);
      const dtype = rp.i32();
      const valueKind = rp.u8();
      const storage = STORAGE_BY_CODE.get(rp.u8());
      if (storage === undefined) throw new ProgramFormatError(`tensor '${tname}' has an unknown storage class`);
      const flags = rp.u16();
      const rank = rp.i32();
      let shape: number[] | null = null;
      if (rank >= 0) {
        shape = [];
        for (let k = 0; k < rank; k++) {
          const e = rp.u32();
          if (e >= exprs.length) throw new ProgramFormatError(`tensor '${tname}' names expression ${e}, out of range`);
          shape.push(e);
        }
      }
      tensors.push({
        name: tname,
        dtype,
        valueKind,
        storage,
        flags,
        shape,
        a: rp.u64(),
        b: rp.u64(),
        first: rp.i32(),
        last: rp.i32(),
      });
    }
    const tensorId = (t: number, allowAbsent: boolean): number => {
      if ((allowAbsent && t === -1) || (t >= 0 && t < tensors.length)) return t;
      throw new ProgramFormatError(`program '${name}' names tensor ${t}, out of range`);
    };
    const inputs = Array.from({ length: rp.count(4) }, () => tensorId(rp.u32(), false));
    const outputs = Array.from({ length: rp.count(4) }, () => tensorId(rp.u32(), false));
    const ops: OpEntry[] = [];
    for (let i = 0, n = rp.count(28); i < n; i++) {
      const op: OpEntry = {
        name: str(rp),
        domain: str(rp),
        opType: str(rp),
        opset: rp.u32(),
        inputs: [],
        outputs: [],
        attrs: [],
      };
      for (let k = 0, m = rp.count(4); k < m; k++) op.inputs.push(tensorId(rp.i32(), true));
      for (let k = 0, m = rp.count(4); k < m; k++) op.outputs.push(tensorId(rp.i32(), true));
      for (let k = 0, m = rp.count(5); k < m; k++) op.attrs.push([str(rp), attr()]);
      ops.push(op);
    }
    const channels: ProgramEntry['channels'] = [];
    for (let i = 0, n = rp.count(12); i < n; i++) {
      const tensor = tensorId(rp.u32(), false);
      const channel = rp.u32();
      const direction = rp.u8();
      rp.u8();
      rp.u16();
      if (direction > 1)
        throw new ProgramFormatError(`program '${name}' has a channel endpoint of direction ${direction}`);
      channels.push({ tensor, channel, direction: direction as 0 | 1 });
    }
    programs.push({ name, localSymbols, arenaBytes, tensors, inputs, outputs, ops, channels });
  }
  if (programs.length === 0) throw new ProgramFormatError('the file holds no program');
  return { symbols, exprs, programs };
}
