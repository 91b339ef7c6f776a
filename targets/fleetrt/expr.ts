import { dimToString, type Dim } from '../../src/ir/sym.js';

/** Opcodes of the shape-expression bytecode (docs/bundle-format.md). */
export const OP = { pushConst: 1, pushSym: 2, add: 3, sub: 4, mul: 5, floorDiv: 6, mod: 7, max: 8, min: 9 } as const;

export type Code = { op: number; arg?: number };

type Node =
  | { k: 'num'; v: number }
  | { k: 'sym'; name: string }
  | { k: 'bin'; op: number; a: Node; b: Node }
  | { k: 'neg'; a: Node };

/**
 * Parses a printed dimension (`2*batch + 1`, `floor((n - 1) / 2)`, `max(a, b)`, `mod(n, 4)`) into
 * a tree. The printed form is the IR's canonical one, so this is the whole grammar.
 */
function parse(text: string): Node {
  const toks = text.match(/[A-Za-z_][A-Za-z0-9_.:]*|\d+|[-+*/%(),]/g) ?? [];
  let i = 0;
  const peek = (): string | undefined => toks[i];
  const take = (want?: string): string => {
    const t = toks[i++];
    if (t === undefined || (want !== undefined && t !== want)) throw new Error(`cannot compile dimension '${text}'`);
    return t;
  };
  const expr = (): Node => {
    let v = term();
    for (let t = peek(); t === '+' || t === '-'; t = peek()) {
      take();
      v = { k: 'bin', op: t === '+' ? OP.add : OP.sub, a: v, b: term() };
    }
    return v;
  };
  const term = (): Node => {
    let v = unary();
    for (let t = peek(); t === '*' || t === '/' || t === '%'; t = peek()) {
      take();
      v = { k: 'bin', op: t === '*' ? OP.mul : t === '/' ? OP.floorDiv : OP.mod, a: v, b: unary() };
    }
    return v;
  };
  const unary = (): Node => (peek() === '-' ? (take(), { k: 'neg', a: unary() }) : primary());
  const primary = (): Node => {
    const t = take();
    if (t === '(') {
      const v = expr();
      take(')');
      return v;
    }
    if (/^\d+$/.test(t)) return { k: 'num', v: Number(t) };
    if (peek() === '(' && ['floor', 'max', 'min', 'mod'].includes(t)) {
      take('(');
      const a = expr();
      if (t === 'floor') {
        take(')');
        return a; // '/' is already floor division
      }
      take(',');
      const b = expr();
      take(')');
      return { k: 'bin', op: t === 'max' ? OP.max : t === 'min' ? OP.min : OP.mod, a, b };
    }
    return { k: 'sym', name: t };
  };
  const v = expr();
  if (i !== toks.length) throw new Error(`cannot compile dimension '${text}'`);
  return v;
}

/** Compiles a dimension to RPN; `symbolId` numbers symbols. */
export function compileDim(d: Dim, symbolId: (name: string) => number): Code[] {
  if (typeof d === 'number') return [{ op: OP.pushConst, arg: d }];
  const out: Code[] = [];
  const emit = (n: Node): void => {
    switch (n.k) {
      case 'num':
        out.push({ op: OP.pushConst, arg: n.v });
        return;
      case 'sym':
        out.push({ op: OP.pushSym, arg: symbolId(n.name) });
        return;
      case 'neg':
        out.push({ op: OP.pushConst, arg: 0 });
        emit(n.a);
        out.push({ op: OP.sub });
        return;
      case 'bin':
        emit(n.a);
        emit(n.b);
        out.push({ op: n.op });
    }
  };
  emit(parse(dimToString(d)));
  return out;
}

/** Names of the symbols in a dimension's printed form. */
export function dimSymbols(d: Dim): string[] {
  if (typeof d === 'number') return [];
  const out = new Set<string>();
  const walk = (n: Node): void => {
    if (n.k === 'sym') out.add(n.name);
    else if (n.k === 'neg') walk(n.a);
    else if (n.k === 'bin') {
      walk(n.a);
      walk(n.b);
    }
  };
  walk(parse(dimToString(d)));
  return [...out];
}
