import { ByteWriter, tag } from './binary.js';
import { OP, type Code } from './expr.js';

/** Storage classes of a tensor (native/src/core/program.h `Storage`). */
export const STORAGE = { none: 0, arena: 1, weight: 2, input: 3, output: 4, dynamic: 5, outer: 6, channel: 7 } as const;
export type StorageKind = keyof typeof STORAGE;

export const VALUE_KIND = { tensor: 0, sequence: 1, optional: 2 } as const;

export interface TensorEntry {
  name: string;
  /** ONNX dtype code, 0 when unknown. */
  dtype: number;
  valueKind: number;
  storage: StorageKind;
  flags: number;
  /** Expression ids, or null for an unknown rank. */
  shape: number[] | null;
  a: number;
  b: number;
  first: number;
  last: number;
}

/** A constant in an attribute: bytes already placed in weights.bin. */
export interface ConstEntry {
  dtype: number;
  dims: number[];
  offset: number;
  length: number;
}

export type AttrEntry =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'strings'; value: string[] }
  | { kind: 'tensor'; value: ConstEntry }
  | { kind: 'tensors'; value: ConstEntry[] }
  | { kind: 'graph'; value: number }
  | { kind: 'graphs'; value: number[] };

export interface OpEntry {
  name: string;
  domain: string;
  opType: string;
  opset: number;
  inputs: number[];
  outputs: number[];
  attrs: [string, AttrEntry][];
}

export interface ChannelEntry {
  tensor: number;
  channel: number;
  /** 0: send (this device produces the value), 1: receive. */
  direction: 0 | 1;
}

export interface ProgramEntry {
  name: string;
  localSymbols: number[];
  arenaBytes: number;
  tensors: TensorEntry[];
  inputs: number[];
  outputs: number[];
  ops: OpEntry[];
  channels: ChannelEntry[];
}

export interface SymbolEntry {
  name: string;
  /** 0: bound from graph-input shapes; 1: bound at run time by the kernel that produces it. */
  kind: number;
  /** The value the compiler planned with (`--dim`), -1 when none. */
  planned: number;
}

/** Interning tables shared by every program of one bundle. */
export class ProgramTables {
  readonly strings: string[] = [];
  readonly symbols: SymbolEntry[] = [];
  readonly exprs: Code[][] = [];
  private stringIds = new Map<string, number>();
  private symbolIds = new Map<string, number>();
  private exprIds = new Map<string, number>();

  str(s: string): number {
    return intern(this.stringIds, this.strings, s, () => s);
  }

  symbol(name: string): number {
    return intern(this.symbolIds, this.symbols, name, () => ({ name, kind: 1, planned: -1 }));
  }

  symbolEntry(name: string): SymbolEntry | undefined {
    const id = this.symbolIds.get(name);
    return id === undefined ? undefined : this.symbols[id];
  }

  expr(codes: Code[]): number {
    const key = codes.map((c) => (c.arg === undefined ? `${c.op}` : `${c.op}:${c.arg}`)).join(',');
    return intern(this.exprIds, this.exprs, key, () => codes);
  }
}

/** The id of `key` in `ids`; the first time, make()'s entry is appended to `list` and gets the next id. */
function intern<T>(ids: Map<string, number>, list: T[], key: string, make: () => T): number {
  let id = ids.get(key);
  if (id === undefined) {
    id = list.push(make()) - 1;
    ids.set(key, id);
  }
  return id;
}

const MAGIC = [0x46, 0x4c, 0x54, 0x50, 0x52, 0x4f, 0x47, 0x00]; // "FLTPROG\0"
export const PROGRAM_FORMAT_VERSION = 1;

/** Encodes program.bin exactly as native/src/core/program.cpp reads it (docs/bundle-format.md). */
export function encodeProgram(t: ProgramTables, programs: ProgramEntry[]): Uint8Array {
  // The other sections intern their strings, so the string table is encoded last.
  const syms = symbolsSection(t);
  const exprs = exprSection(t);
  const progs = programsSection(t, programs);
  const sections: [string, Uint8Array][] = [
    ['STRS', stringsSection(t)],
    ['SYMS', syms],
    ['EXPR', exprs],
    ['PROG', progs],
  ];
  const w = new ByteWriter();
  w.bytes(Uint8Array.from(MAGIC)).u32(PROGRAM_FORMAT_VERSION).u32(sections.length);
  const sizeAt = w.length;
  w.u64(0);
  let off = pad8(24 + 24 * sections.length);
  for (const [name, body] of sections) {
    w.u32(tag(name)).u32(0).u64(off).u64(body.length);
    off = pad8(off + body.length);
  }
  for (const [, body] of sections) {
    while (w.length % 8) w.u8(0);
    w.bytes(body);
  }
  w.patchU64(sizeAt, w.length);
  return w.result();
}

function pad8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

function stringsSection(t: ProgramTables): Uint8Array {
  const w = new ByteWriter();
  w.u32(t.strings.length);
  for (const s of t.strings) {
    const b = Buffer.from(s, 'utf8');
    w.u32(b.length).bytes(b);
  }
  return w.result();
}

function symbolsSection(t: ProgramTables): Uint8Array {
  const w = new ByteWriter();
  w.u32(t.symbols.length);
  for (const s of t.symbols) w.u32(t.str(s.name)).u8(s.kind).u8(0).u16(0).i64(s.planned);
  return w.result();
}

function exprSection(t: ProgramTables): Uint8Array {
  const w = new ByteWriter();
  w.u32(t.exprs.length);
  for (const e of t.exprs) {
    w.u16(e.length);
    for (const c of e) {
      w.u8(c.op);
      if (c.op === OP.pushConst) w.i64(c.arg ?? 0);
      else if (c.op === OP.pushSym) w.u32(c.arg ?? 0);
    }
  }
  return w.result();
}

function writeConst(w: ByteWriter, c: ConstEntry): void {
  w.i32(c.dtype).u32(c.dims.length);
  for (const d of c.dims) w.i64(d);
  w.u64(c.offset).u64(c.length);
}

const ATTR_KIND = {
  int: 0,
  float: 1,
  string: 2,
  ints: 3,
  floats: 4,
  strings: 5,
  tensor: 6,
  tensors: 7,
  graph: 8,
  graphs: 9,
} as const;

function writeAttr(w: ByteWriter, t: ProgramTables, a: AttrEntry): void {
  w.u8(ATTR_KIND[a.kind]);
  switch (a.kind) {
    case 'int':
      w.i64(a.value);
      return;
    case 'float':
      w.f64(a.value);
      return;
    case 'string':
      w.u32(t.str(a.value));
      return;
    case 'ints':
      w.u32(a.value.length);
      for (const v of a.value) w.i64(v);
      return;
    case 'floats':
      w.u32(a.value.length);
      for (const v of a.value) w.f64(v);
      return;
    case 'strings':
      w.u32(a.value.length);
      for (const v of a.value) w.u32(t.str(v));
      return;
    case 'tensor':
      writeConst(w, a.value);
      return;
    case 'tensors':
      w.u32(a.value.length);
      for (const c of a.value) writeConst(w, c);
      return;
    case 'graph':
      w.u32(a.value);
      return;
    case 'graphs':
      w.u32(a.value.length);
      for (const g of a.value) w.u32(g);
  }
}

function programsSection(t: ProgramTables, programs: ProgramEntry[]): Uint8Array {
  const w = new ByteWriter();
  w.u32(programs.length);
  for (const p of programs) {
    w.u32(t.str(p.name)).u32(p.localSymbols.length);
    for (const s of p.localSymbols) w.u32(s);
    w.u64(p.arenaBytes).u32(p.tensors.length);
    for (const x of p.tensors) {
      w.u32(t.str(x.name)).i32(x.dtype).u8(x.valueKind).u8(STORAGE[x.storage]).u16(x.flags);
      w.i32(x.shape ? x.shape.length : -1);
      for (const e of x.shape ?? []) w.u32(e);
      w.u64(x.a).u64(x.b).i32(x.first).i32(x.last);
    }
    w.u32(p.inputs.length);
    for (const i of p.inputs) w.u32(i);
    w.u32(p.outputs.length);
    for (const o of p.outputs) w.u32(o);
    w.u32(p.ops.length);
    for (const op of p.ops) {
      w.u32(t.str(op.name)).u32(t.str(op.domain)).u32(t.str(op.opType)).u32(op.opset);
      w.u32(op.inputs.length);
      for (const i of op.inputs) w.i32(i);
      w.u32(op.outputs.length);
      for (const o of op.outputs) w.i32(o);
      w.u32(op.attrs.length);
      for (const [name, a] of op.attrs) {
        w.u32(t.str(name));
        writeAttr(w, t, a);
      }
    }
    w.u32(p.channels.length);
    for (const c of p.channels) w.u32(c.tensor).u32(c.channel).u8(c.direction).u8(0).u16(0);
  }
  return w.result();
}
