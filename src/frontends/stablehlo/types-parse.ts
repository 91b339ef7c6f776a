import type { Attr, MType } from './ast.js';
import type { Cursor } from './cursor.js';

/** Parsing state shared by the type, attribute and op parsers. */
export interface PCtx {
  c: Cursor;
  attrAliases: Map<string, Attr>;
  typeAliases: Map<string, MType>;
}

const SCALAR = /^(i|si|ui)\d+$|^(f16|bf16|f32|f64|tf32|index|none)$|^f\d+E\d+M\d+[A-Z0-9]*$/;

export function isScalarTypeName(s: string): boolean {
  return SCALAR.test(s);
}

/** Parses one type. */
export function parseType(p: PCtx): MType {
  const c = p.c;
  const t = c.peek();
  if (t.kind === 'ident') {
    if (t.text === 'tensor') return parseTensor(p);
    if (t.text === 'tuple') {
      c.take();
      c.expect('<', "after 'tuple'");
      const types: MType[] = [];
      if (!c.eat('>')) {
        do types.push(parseType(p));
        while (c.eat(','));
        c.expect('>', 'to close the tuple type');
      }
      return { kind: 'tuple', types };
    }
    if (t.text === 'complex') {
      c.take();
      const open = c.expect('<');
      return { kind: 'scalar', elem: `complex<${c.balanced(open)}>` };
    }
    if (t.text === 'memref' || t.text === 'vector') {
      c.take();
      const open = c.expect('<');
      return { kind: 'other', text: `${t.text}<${c.balanced(open)}>` };
    }
    if (isScalarTypeName(t.text)) {
      c.take();
      return { kind: 'scalar', elem: t.text };
    }
    throw c.unexpected('a type');
  }
  if (t.kind === 'bang') {
    c.take();
    if (t.text === 'stablehlo.token') return { kind: 'token' };
    const alias = p.typeAliases.get(t.text);
    if (alias) return alias;
    let text = `!${t.text}`;
    if (c.is('<')) {
      const open = c.take();
      text += `<${c.balanced(open)}>`;
    }
    return { kind: 'other', text };
  }
  if (t.kind === 'punct' && t.text === '(') return parseFunctionType(p);
  throw c.unexpected('a type');
}

function parseTensor(p: PCtx): MType {
  const c = p.c;
  c.take(); // tensor
  c.expect('<', "after 'tensor'");
  if (c.lex.text.charCodeAt(skipWs(c)) === 42 /* * */) {
    // Unranked tensor: keep as an unsupported type; the converter reports it.
    const open = { ...c.last!, text: '<' };
    return { kind: 'other', text: `tensor<${c.balanced(open)}>` };
  }
  const dims = c.lex.scanDims();
  const et = parseType(p);
  let elem: string;
  if (et.kind === 'scalar') elem = et.elem;
  else if (et.kind === 'other') elem = et.text;
  else throw c.errorAt(c.pos(c.last!), 'expected a tensor element type');
  let encoding: string | undefined;
  if (c.is(',')) {
    c.take();
    encoding = attrText(p);
  }
  c.expect('>', 'to close the tensor type');
  return encoding !== undefined ? { kind: 'tensor', dims, elem, encoding } : { kind: 'tensor', dims, elem };
}

function skipWs(c: Cursor): number {
  c.lex.skipTrivia();
  return c.lex.pos;
}

/** Skips one attribute-like item (`#alias`, `#dialect.x<…>`, `[…]`) and returns its text (for tensor encodings). */
function attrText(p: PCtx): string {
  const c = p.c;
  const t = c.take();
  let text = t.kind === 'hash' ? `#${t.text}` : t.text;
  if (t.kind === 'hash' && c.is('<')) {
    const open = c.take();
    text += `<${c.balanced(open)}>`;
  } else if (t.kind === 'punct' && (t.text === '[' || t.text === '{' || t.text === '<')) {
    text += c.balanced(t);
  }
  return text;
}

/** `(A, B) -> C` or `(A) -> (B, C)`. */
export function parseFunctionType(p: PCtx): MType & { kind: 'function' } {
  const c = p.c;
  c.expect('(');
  const inputs = parseTypeListUntil(p, ')');
  c.expect('->', 'in a function type');
  const results = parseResultTypes(p);
  return { kind: 'function', inputs, results };
}

/** Types separated by commas up to (and consuming) `close`. */
export function parseTypeListUntil(p: PCtx, close: string): MType[] {
  const c = p.c;
  const out: MType[] = [];
  if (c.eat(close)) return out;
  do out.push(parseType(p));
  while (c.eat(','));
  c.expect(close, 'to close the type list');
  return out;
}

/** A result type list: `T` or `(T, U)` or `()`. */
export function parseResultTypes(p: PCtx): MType[] {
  const c = p.c;
  if (c.is('(')) {
    c.take();
    return parseTypeListUntil(p, ')');
  }
  return [parseType(p)];
}
