import type { Attr, DenseData, MType } from './ast.js';
import { isScalarTypeName, parseType, type PCtx } from './types-parse.js';

/** A signed integer or float literal (`-3`, `1.5e-3`, `0x7FC00000`); returns its text. */
export function parseNumberText(p: PCtx): string {
  const c = p.c;
  const neg = c.eat('-');
  const t = c.peek();
  if (t.kind === 'int' || t.kind === 'float') {
    c.take();
    return neg ? `-${t.text}` : t.text;
  }
  if (t.kind === 'ident' && (t.text === 'inf' || t.text === 'nan')) {
    c.take();
    return neg ? `-${t.text}` : t.text;
  }
  throw c.unexpected('a number');
}

/** An integer (decimal or hex, optionally negative). */
export function parseInt64(p: PCtx): number {
  const c = p.c;
  const at = c.pos();
  const neg = c.eat('-');
  const t = c.peek();
  if (t.kind !== 'int') throw c.unexpected('an integer');
  c.take();
  const v = Number(t.text);
  if (!Number.isSafeInteger(v)) throw c.errorAt(at, `integer ${t.text} is too large`);
  return neg ? -v : v;
}

/** `[1, 2, 3]` of integers. */
export function parseIntList(p: PCtx): number[] {
  const c = p.c;
  c.expect('[');
  const out: number[] = [];
  if (c.eat(']')) return out;
  do out.push(parseInt64(p));
  while (c.eat(','));
  c.expect(']', 'to close the integer list');
  return out;
}

/** `{a = 1 : i64, b, c = "x"}` (consumes the braces). */
export function parseAttrDict(p: PCtx): Record<string, Attr> {
  const c = p.c;
  c.expect('{');
  const out: Record<string, Attr> = {};
  if (c.eat('}')) return out;
  do {
    const t = c.peek();
    let name: string;
    if (t.kind === 'ident' || t.kind === 'string') name = c.take().text;
    else throw c.unexpected('an attribute name');
    out[name] = c.eat('=') ? parseAttr(p) : { k: 'unit' };
  } while (c.eat(','));
  c.expect('}', 'to close the attribute dictionary');
  return out;
}

function typeSuffix(p: PCtx): string | undefined {
  const c = p.c;
  if (!c.is(':')) return undefined;
  c.take();
  const t = parseType(p);
  return t.kind === 'scalar' ? t.elem : undefined;
}

/** Parses one attribute value. */
export function parseAttr(p: PCtx): Attr {
  const c = p.c;
  const t = c.peek();
  switch (t.kind) {
    case 'int':
    case 'float':
      return numberAttr(p);
    case 'string': {
      c.take();
      return { k: 'str', v: t.text };
    }
    case 'symbol': {
      c.take();
      let v = t.text;
      while (c.is(':')) {
        // nested reference @a::@b
        c.take();
        c.expect(':');
        v += '::' + c.expectKind('symbol', 'a symbol').text;
      }
      return { k: 'symbol', v };
    }
    case 'hash':
      return hashAttr(p);
    case 'bang':
      return { k: 'type', v: parseType(p) };
    case 'punct':
      if (t.text === '-') return numberAttr(p);
      if (t.text === '[') {
        c.take();
        const v: Attr[] = [];
        if (!c.eat(']')) {
          do v.push(parseAttr(p));
          while (c.eat(','));
          c.expect(']', 'to close the list');
        }
        return { k: 'list', v };
      }
      if (t.text === '{') return { k: 'dict', v: parseAttrDict(p) };
      if (t.text === '(') return { k: 'type', v: parseType(p) };
      break;
    case 'ident':
      return identAttr(p);
    default:
      break;
  }
  throw c.unexpected('an attribute value');
}

function numberAttr(p: PCtx): Attr {
  const c = p.c;
  const at = c.pos();
  const text = parseNumberText(p);
  const type = typeSuffix(p);
  const isFloatType = type !== undefined && /^(f|bf|tf)/.test(type);
  if (/^-?0x/i.test(text)) {
    if (isFloatType) {
      const bits = BigInt(text.replace('-', ''));
      return { k: 'float', v: hexToFloat(bits, type!), type };
    }
    const big = BigInt(text.startsWith('-') ? text.slice(1) : text) * (text.startsWith('-') ? -1n : 1n);
    return { k: 'int', v: Number(big), big, type };
  }
  if (/[.eEn]/.test(text) || isFloatType) {
    const v = text.endsWith('inf')
      ? text.startsWith('-')
        ? -Infinity
        : Infinity
      : text.endsWith('nan')
        ? NaN
        : Number(text);
    return type ? { k: 'float', v, type } : { k: 'float', v };
  }
  const v = Number(text);
  if (!Number.isSafeInteger(v)) {
    const big = BigInt(text);
    return { k: 'int', v, big, type };
  }
  if (!Number.isFinite(v)) throw c.errorAt(at, `bad number '${text}'`);
  return type ? { k: 'int', v, type } : { k: 'int', v };
}

export function hexToFloat(bits: bigint, type: string): number {
  if (type === 'f64') {
    const dv = new DataView(new ArrayBuffer(8));
    dv.setBigUint64(0, bits);
    return dv.getFloat64(0);
  }
  if (type === 'f32') {
    const dv = new DataView(new ArrayBuffer(4));
    dv.setUint32(0, Number(bits));
    return dv.getFloat32(0);
  }
  return Number(bits);
}

function identAttr(p: PCtx): Attr {
  const c = p.c;
  const t = c.peek();
  switch (t.text) {
    case 'true':
    case 'false':
      c.take();
      if (c.is(':')) typeSuffix(p);
      return { k: 'bool', v: t.text === 'true' };
    case 'unit':
      c.take();
      return { k: 'unit' };
    case 'inf':
    case 'nan':
      return numberAttr(p);
    case 'array':
      return arrayAttr(p);
    case 'dense':
      return denseAttr(p);
    case 'dense_resource': {
      c.take();
      c.expect('<');
      const h = c.take();
      c.expect('>', 'to close dense_resource');
      c.expect(':', 'before the type of a dense_resource');
      return { k: 'elided', handle: h.text, type: parseType(p) };
    }
    case 'sparse':
    case 'affine_map':
    case 'affine_set':
    case 'distinct':
    case 'strided': {
      c.take();
      const open = c.expect('<');
      const text = `${t.text}<${c.balanced(open)}>`;
      if (c.is(':')) {
        c.take();
        parseType(p);
      }
      return { k: 'opaque', text };
    }
    default:
      if (t.text === 'tensor' || t.text === 'tuple' || t.text === 'complex' || isScalarTypeName(t.text))
        return { k: 'type', v: parseType(p) };
      // A bare keyword inside a dialect attribute (`tf32`, `PHILOX`).
      c.take();
      return { k: 'opaque', text: t.text };
  }
}

function arrayAttr(p: PCtx): Attr {
  const c = p.c;
  c.take();
  c.expect('<', "after 'array'");
  const elem = c.expectKind('ident', 'an element type').text;
  const v: number[] = [];
  if (c.eat(':')) {
    do {
      if (c.is('true') || c.is('false')) v.push(c.take().text === 'true' ? 1 : 0);
      else v.push(Number(parseNumberText(p)));
    } while (c.eat(','));
  }
  c.expect('>', 'to close the array');
  return { k: 'ints', v, elem };
}

/** `dense<…> : type`: literal elements kept as text until the element type encodes them. */
export function denseAttr(p: PCtx): Attr {
  const c = p.c;
  const at = c.pos();
  c.take();
  c.expect('<', "after 'dense'");
  let data: DenseData;
  const t = c.peek();
  if (t.kind === 'string') {
    c.take();
    if (!/^0x[0-9A-Fa-f]*$/.test(t.text)) throw c.errorAt(c.pos(t), 'expected a hex blob "0x…" in dense<>');
    data = { kind: 'hex', hex: t.text.slice(2) };
  } else if (c.is('>')) {
    data = { kind: 'list', lits: [], shape: [0] };
  } else {
    const lits: string[] = [];
    const shape = denseElements(p, lits, 0, []);
    data = { kind: 'list', lits, shape };
  }
  c.expect('>', 'to close dense<>');
  c.expect(':', 'before the type of a dense attribute');
  const type: MType = parseType(p);
  return { k: 'dense', type, data, pos: at };
}

/** One dense element or nested list; records the nesting shape. Complex `(re, im)` pairs are kept as two literals. */
function denseElements(p: PCtx, lits: string[], depth: number, shape: number[]): number[] {
  const c = p.c;
  if (c.is('[')) {
    c.take();
    let n = 0;
    if (!c.is(']')) {
      do {
        denseElements(p, lits, depth + 1, shape);
        n++;
      } while (c.eat(','));
    }
    c.expect(']', 'to close the dense list');
    if (shape[depth] === undefined) shape[depth] = n;
    else if (shape[depth] !== n)
      throw c.errorAt(c.pos(c.last!), `dense list rows have different lengths (${shape[depth]} and ${n})`);
    return shape;
  }
  if (c.is('(')) {
    c.take();
    lits.push(denseScalar(p));
    c.expect(',');
    lits.push(denseScalar(p));
    c.expect(')');
    lits.push('complex');
    return shape;
  }
  lits.push(denseScalar(p));
  return shape;
}

function denseScalar(p: PCtx): string {
  const c = p.c;
  if (c.is('true') || c.is('false')) return c.take().text;
  return parseNumberText(p);
}

/** `#…` attributes: aliases, `#stablehlo<enum X>`, `#dialect.struct<k = v, …>`, conv dimension numbers. */
function hashAttr(p: PCtx): Attr {
  const c = p.c;
  const t = c.take();
  if (!c.is('<')) {
    const a = p.attrAliases.get(t.text);
    return a ?? { k: 'opaque', text: `#${t.text}` };
  }
  const open = c.take();
  const name = t.text;
  if (name === 'stablehlo' || name === 'chlo' || name === 'mhlo') {
    // #stablehlo<comparison_direction LT>
    const kind = c.expectKind('ident', 'an enum kind').text;
    const v = c.expectKind('ident', 'an enum value').text;
    c.expect('>', 'to close the enum attribute');
    return { k: 'enum', name: kind, v };
  }
  if (name === 'stablehlo.conv' && !c.is('raw')) {
    const a = convDims(p);
    c.expect('>', 'to close #stablehlo.conv');
    return a;
  }
  if (/^(stablehlo|chlo|mhlo)\.[a-z_]+$/.test(name)) {
    const short = name.slice(name.indexOf('.') + 1);
    // #stablehlo.comparison_direction<LT> style enums
    const n = c.peek();
    if (n.kind === 'ident' && /^[A-Z0-9_]+$/.test(n.text)) {
      c.take();
      c.expect('>');
      return { k: 'enum', name: short, v: n.text };
    }
    c.eat('raw');
    const fields: Record<string, Attr> = {};
    if (!c.eat('>')) {
      do {
        if (c.is('>')) break; // a trailing comma
        const key = c.expectKind('ident', 'a field name').text;
        c.expect('=', `after '${key}'`);
        fields[key] = parseAttr(p);
      } while (c.eat(','));
      c.expect('>', `to close #${name}`);
    }
    return { k: 'struct', name: short, fields };
  }
  return { k: 'opaque', text: `#${name}<${c.balanced(open)}>` };
}

/** `[b, 0, 1, f]x[0, 1, i, o]->[b, 0, 1, f]` */
export function convDims(p: PCtx): Attr & { k: 'conv' } {
  const c = p.c;
  const part = (): string[] => {
    c.expect('[', 'to open a convolution layout');
    const out: string[] = [];
    if (!c.eat(']')) {
      do {
        const t = c.take();
        if (t.kind !== 'ident' && t.kind !== 'int')
          throw c.errorAt(c.pos(t), `bad convolution layout entry '${t.text}'`);
        out.push(t.text);
      } while (c.eat(','));
      c.expect(']', 'to close a convolution layout');
    }
    return out;
  };
  const lhs = part();
  // 'x' lexes as an identifier; `]x[` may also lex as ident 'x'.
  const x = c.take();
  if (x.text !== 'x') throw c.errorAt(c.pos(x), `expected 'x' between convolution layouts, found '${x.text}'`);
  const rhs = part();
  c.expect('->', 'before the output layout');
  const out = part();
  return { k: 'conv', lhs, rhs, out };
}
