/**
 * The parsed MLIR program, before it becomes IR. Pretty and generic forms of an op parse to the
 * same MOp: canonical op name, operands, one merged attribute dictionary (properties and
 * discardable attributes), regions, and operand/result types.
 */

export interface Pos {
  line: number;
  col: number;
}

/** An MLIR type. Element types are kept as MLIR spells them (`f32`, `ui8`, `complex<f32>`, `!quant.uniform<…>`). */
export type MType =
  | { kind: 'tensor'; dims: number[]; elem: string; encoding?: string }
  | { kind: 'scalar'; elem: string }
  | { kind: 'token' }
  | { kind: 'tuple'; types: MType[] }
  | { kind: 'function'; inputs: MType[]; results: MType[] }
  | { kind: 'other'; text: string };

/** Literal elements of a `dense<…>` attribute, encoded when the type is known. */
export type DenseData =
  | { kind: 'hex'; hex: string }
  | { kind: 'list'; lits: string[]; /** nesting shape of the literal, [] for a splat scalar */ shape: number[] };

export type Attr =
  | { k: 'int'; v: number; big?: bigint; type?: string }
  | { k: 'float'; v: number; type?: string }
  | { k: 'bool'; v: boolean }
  | { k: 'str'; v: string }
  | { k: 'list'; v: Attr[] }
  | { k: 'ints'; v: number[]; elem: string }
  | { k: 'dense'; type: MType; data: DenseData; pos: Pos }
  | { k: 'elided'; type: MType; handle: string }
  | { k: 'enum'; name: string; v: string }
  | { k: 'struct'; name: string; fields: Record<string, Attr> }
  | { k: 'conv'; lhs: string[]; rhs: string[]; out: string[] }
  | { k: 'symbol'; v: string }
  | { k: 'type'; v: MType }
  | { k: 'dict'; v: Record<string, Attr> }
  | { k: 'unit' }
  | { k: 'opaque'; text: string };

export interface MValueDef {
  /** Canonical key: `name#index`. */
  key: string;
  type: MType;
  pos: Pos;
}

export interface MOp {
  name: string;
  /** Canonical keys of the results (`0#0`, `0#1`, `x#0`). */
  results: string[];
  /** Canonical keys of the operands. */
  operands: string[];
  /** Source position of each operand reference (for "undefined value" errors). */
  operandPos: Pos[];
  attrs: Record<string, Attr>;
  regions: MBlock[][];
  operandTypes: MType[];
  resultTypes: MType[];
  pos: Pos;
  /** `loc("…")` text when the op carries one. */
  userLoc?: string;
}

export interface MBlockArg {
  key: string;
  type: MType;
  attrs: Record<string, Attr>;
  pos: Pos;
}

export interface MBlock {
  label?: string;
  args: MBlockArg[];
  ops: MOp[];
}

export interface MFunc {
  name: string;
  visibility: 'public' | 'private' | 'nested';
  args: MBlockArg[];
  resultTypes: MType[];
  resultAttrs: Record<string, Attr>[];
  attrs: Record<string, Attr>;
  /** Null for a declaration without body. */
  body: MBlock | null;
  pos: Pos;
}

export interface MModule {
  name?: string;
  attrs: Record<string, Attr>;
  funcs: MFunc[];
  pos: Pos;
  file: string;
  /** Blobs of the file's `{-# dialect_resources: { builtin: { name: "0x…" } } #-}` block, without their alignment word. */
  resources?: Map<string, Uint8Array>;
}

export const key = (name: string, index = 0): string => `${name}#${index}`;

/** The printable name of a canonical key: `x#0` → `%x`, `0#1` → `%0#1`. */
export function refName(k: string): string {
  const i = k.lastIndexOf('#');
  const base = k.slice(0, i);
  const idx = k.slice(i + 1);
  return idx === '0' ? `%${base}` : `%${base}#${idx}`;
}

export function typeToString(t: MType): string {
  switch (t.kind) {
    case 'tensor':
      return `tensor<${t.dims.map((d) => (d < 0 ? '?' : String(d)) + 'x').join('')}${t.elem}>`;
    case 'scalar':
      return t.elem;
    case 'token':
      return '!stablehlo.token';
    case 'tuple':
      return `tuple<${t.types.map(typeToString).join(', ')}>`;
    case 'function':
      return `(${t.inputs.map(typeToString).join(', ')}) -> (${t.results.map(typeToString).join(', ')})`;
    case 'other':
      return t.text;
  }
}
