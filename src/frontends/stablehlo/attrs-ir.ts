import type { AttrValue } from '../../ir/index.js';
import type { Attr } from './ast.js';
import { typeToString } from './ast.js';
import { DenseError, encodeDense } from './dense.js';

/**
 * AST attributes → IR attributes for ops kept in the `stablehlo` domain. Structured attributes
 * (`#stablehlo.dot<…>`, `#stablehlo.gather<…>`, `#stablehlo.conv<…>`) are flattened into their
 * named integer fields, so the generic and pretty spellings give the same IR.
 */
export function attrsToIR(
  attrs: Record<string, Attr>,
  skip: ReadonlySet<string> = new Set(),
): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const name of Object.keys(attrs).sort()) {
    if (skip.has(name)) continue;
    const a = attrs[name]!;
    if (a.k === 'struct') {
      for (const [f, v] of Object.entries(a.fields)) {
        const iv = attrToIR(v);
        if (iv) out[f] = iv;
      }
      continue;
    }
    if (a.k === 'conv') {
      Object.assign(out, convToIR(a));
      continue;
    }
    const iv = attrToIR(a);
    if (iv) out[name] = iv;
  }
  return out;
}

export function attrToIR(a: Attr): AttrValue | undefined {
  switch (a.k) {
    case 'int':
      return { type: 'int', value: a.v };
    case 'float':
      return { type: 'float', value: a.v };
    case 'bool':
      return { type: 'int', value: a.v ? 1 : 0 };
    case 'str':
      return { type: 'string', value: a.v };
    case 'symbol':
      return { type: 'string', value: a.v };
    case 'enum':
      return { type: 'string', value: a.v };
    case 'ints':
      return { type: 'ints', value: a.v };
    case 'unit':
      return { type: 'int', value: 1 };
    case 'opaque':
      return { type: 'string', value: a.text };
    case 'type':
      return { type: 'string', value: typeToString(a.v) };
    case 'list': {
      if (a.v.every((e) => e.k === 'int' || e.k === 'bool'))
        return { type: 'ints', value: a.v.map((e) => (e.k === 'int' ? e.v : e.k === 'bool' && e.v ? 1 : 0)) };
      if (a.v.every((e) => e.k === 'float' || e.k === 'int'))
        return { type: 'floats', value: a.v.map((e) => (e as { v: number }).v) };
      if (a.v.every((e) => e.k === 'enum' || e.k === 'str' || e.k === 'symbol'))
        return { type: 'strings', value: a.v.map((e) => (e as { v: string }).v) };
      if (a.v.every((e) => e.k === 'list' && e.v.every((x) => x.k === 'symbol')))
        return {
          type: 'strings',
          value: a.v.map((e) => (e as { v: Attr[] }).v.map((x) => (x as { v: string }).v).join(',')),
        };
      return { type: 'string', value: JSON.stringify(a.v) };
    }
    case 'dense': {
      try {
        const d = encodeDense(a);
        if (/^(int|uint)(8|16|32|64)$|^bool$/.test(d.dtype))
          return {
            type: 'ints',
            value: expandSplat(
              denseInts(d.bytes, d.dtype, d.splat ? 1 : countOf(d.shape)),
              d.splat ? countOf(d.shape) : 0,
            ),
          };
        return { type: 'tensor', value: { dtype: d.dtype, shape: d.shape, ref: { kind: 'inline', data: d.bytes } } };
      } catch (e) {
        if (e instanceof DenseError) return { type: 'string', value: 'dense<…>' };
        throw e;
      }
    }
    case 'dict':
      return { type: 'string', value: JSON.stringify(a.v) };
    case 'elided':
      return undefined;
    case 'struct': {
      return { type: 'string', value: JSON.stringify(a.fields) };
    }
    case 'conv':
      return { type: 'string', value: `[${a.lhs}]x[${a.rhs}]->[${a.out}]` };
  }
}

const countOf = (s: number[]): number => s.reduce((x, y) => x * y, 1);
const expandSplat = (v: number[], n: number): number[] => (n ? new Array<number>(n).fill(v[0]!) : v);

function denseInts(bytes: Uint8Array, dtype: string, n: number): number[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'bool':
      case 'uint8':
        out.push(dv.getUint8(i));
        break;
      case 'int8':
        out.push(dv.getInt8(i));
        break;
      case 'int16':
        out.push(dv.getInt16(i * 2, true));
        break;
      case 'uint16':
        out.push(dv.getUint16(i * 2, true));
        break;
      case 'int32':
        out.push(dv.getInt32(i * 4, true));
        break;
      case 'uint32':
        out.push(dv.getUint32(i * 4, true));
        break;
      default:
        out.push(Number(dtype === 'uint64' ? dv.getBigUint64(i * 8, true) : dv.getBigInt64(i * 8, true)));
    }
  }
  return out;
}

/** `[b, 0, 1, f]x[0, 1, i, o]->[b, 0, 1, f]` → the integer fields of ConvDimensionNumbers. */
export function convToIR(a: Attr & { k: 'conv' }): Record<string, AttrValue> {
  const spatial = (layout: string[]): number[] => {
    const pos: number[] = [];
    layout.forEach((l, i) => {
      if (/^\d+$/.test(l)) pos[Number(l)] = i;
    });
    return pos;
  };
  const int = (value: number): AttrValue => ({ type: 'int', value });
  return {
    input_batch_dimension: int(a.lhs.indexOf('b')),
    input_feature_dimension: int(a.lhs.indexOf('f')),
    input_spatial_dimensions: { type: 'ints', value: spatial(a.lhs) },
    kernel_input_feature_dimension: int(a.rhs.indexOf('i')),
    kernel_output_feature_dimension: int(a.rhs.indexOf('o')),
    kernel_spatial_dimensions: { type: 'ints', value: spatial(a.rhs) },
    output_batch_dimension: int(a.out.indexOf('b')),
    output_feature_dimension: int(a.out.indexOf('f')),
    output_spatial_dimensions: { type: 'ints', value: spatial(a.out) },
  };
}

/** Reads one integer-list attribute whatever its spelling (array<i64: …>, [..], dense<…>). */
export function intsOf(a: Attr | undefined): number[] | undefined {
  if (!a) return undefined;
  const v = attrToIR(a);
  if (v?.type === 'ints') return v.value;
  if (v?.type === 'int') return [v.value];
  return undefined;
}

export function intOf(a: Attr | undefined): number | undefined {
  if (!a) return undefined;
  const v = attrToIR(a);
  if (v?.type === 'int') return v.value;
  if (v?.type === 'ints' && v.value.length === 1) return v.value[0];
  return undefined;
}
