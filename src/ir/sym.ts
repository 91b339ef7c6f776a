/**
 * Symbolic dimensions. A dimension is an integer or an integer polynomial over atoms, where an
 * atom is a named symbol (`batch`) or an operation the polynomial cannot absorb
 * (`floor(seq / 2)`, `max(a, b)`, `mod(n, 4)`). Expressions are kept in one canonical form, so
 * equal things print equal and compare equal by their printed key.
 */

type Poly = Map<string, number>; // monomial key ('' for the constant) -> integer coefficient

export class Sym {
  readonly key: string;
  constructor(readonly poly: ReadonlyMap<string, number>) {
    this.key = printPoly(poly);
  }
  toString(): string {
    return this.key;
  }
  toJSON(): string {
    return this.key;
  }
}

export type Dim = number | Sym;
export type Shape = Dim[];

interface FnAtom {
  fn: 'floor' | 'max' | 'min' | 'mod';
  args: Dim[];
}

/** Every atom ever made, by its printed key; symbols map to null. */
const atoms = new Map<string, FnAtom | null>();

/** Monomials join their atoms' keys with SEP, which no atom key contains (atoms print '*'). */
const SEP = '\u0001';

function monoKey(parts: string[]): string {
  return parts.slice().sort().join(SEP);
}

function monoParts(mono: string): string[] {
  return mono ? mono.split(SEP) : [];
}

function polyOf(d: Dim): Poly {
  if (typeof d === 'number') return new Map(d === 0 ? [] : [['', d]]);
  return new Map(d.poly);
}

function fromPoly(p: Poly): Dim {
  for (const [k, c] of p) if (c === 0) p.delete(k);
  if (p.size === 0) return 0;
  if (p.size === 1 && p.has('')) return p.get('')!;
  return new Sym(p);
}

function atomDim(key: string, atom: FnAtom | null): Dim {
  if (!atoms.has(key)) atoms.set(key, atom);
  return new Sym(new Map([[key, 1]]));
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_.:]*$/;

/** A named symbol. Names that are not identifiers are made into one (unsupported characters become `_`). */
export function sym(name: string): Dim {
  const clean = IDENT.test(name) ? name : sanitizeSymbol(name);
  return atomDim(clean, null);
}

export function sanitizeSymbol(name: string): string {
  let s = name.replace(/[^A-Za-z0-9_.:]/g, '_');
  if (!/^[A-Za-z_]/.test(s)) s = `_${s}`;
  return s;
}

export function isSym(d: Dim): d is Sym {
  return typeof d !== 'number';
}

export function add(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  const p = polyOf(a);
  for (const [k, c] of polyOf(b)) p.set(k, (p.get(k) ?? 0) + c);
  return fromPoly(p);
}

export function neg(a: Dim): Dim {
  return mul(a, -1);
}

export function sub(a: Dim, b: Dim): Dim {
  return add(a, neg(b));
}

export function mul(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  const out: Poly = new Map();
  for (const [ka, ca] of polyOf(a)) {
    for (const [kb, cb] of polyOf(b)) {
      const parts = [...monoParts(ka), ...monoParts(kb)];
      const k = monoKey(parts);
      out.set(k, (out.get(k) ?? 0) + ca * cb);
    }
  }
  return fromPoly(out);
}

/** The integer c with a == c * b, if there is one. */
function constantRatio(a: Dim, b: Dim): number | undefined {
  const pa = polyOf(a);
  const pb = polyOf(b);
  if (pb.size === 0) return undefined;
  if (pa.size === 0) return 0;
  if (pa.size !== pb.size) return undefined;
  let ratio: number | undefined;
  for (const [k, cb] of pb) {
    const ca = pa.get(k);
    if (ca === undefined) return undefined;
    const r = ca / cb;
    if (!Number.isInteger(r) || (ratio !== undefined && r !== ratio)) return undefined;
    ratio = r;
  }
  return ratio;
}

/** floor(a / b), for b > 0. */
export function floorDiv(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return Math.floor(a / b);
  if (b === 1) return a;
  if (typeof b === 'number') {
    const p = polyOf(a);
    if ([...p.values()].every((c) => c % b === 0)) {
      for (const [k, c] of p) p.set(k, c / b);
      return fromPoly(p);
    }
  } else {
    const r = constantRatio(a, b);
    if (r !== undefined) return r;
  }
  return atomDim(`floor(${paren(a)} / ${paren(b)})`, { fn: 'floor', args: [a, b] });
}

/** ceil(a / b), for b > 0. */
export function ceilDiv(a: Dim, b: Dim): Dim {
  return neg(floorDiv(neg(a), b));
}

export function mod(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return ((a % b) + b) % b;
  return sub(a, mul(floorDiv(a, b), b)) === 0 ? 0 : atomDim(`mod(${fmt(a)}, ${fmt(b)})`, { fn: 'mod', args: [a, b] });
}

function minMax(fn: 'max' | 'min', a: Dim, b: Dim): Dim {
  const pick = fn === 'max' ? Math.max : Math.min;
  if (typeof a === 'number' && typeof b === 'number') return pick(a, b);
  const diff = sub(a, b);
  if (typeof diff === 'number') return (fn === 'max') === diff >= 0 ? a : b;
  const [x, y] = [a, b].sort((p, q) => (fmt(p) < fmt(q) ? -1 : 1)) as [Dim, Dim];
  return atomDim(`${fn}(${fmt(x)}, ${fmt(y)})`, { fn, args: [x, y] });
}

export function max(a: Dim, b: Dim): Dim {
  return minMax('max', a, b);
}

export function min(a: Dim, b: Dim): Dim {
  return minMax('min', a, b);
}

export function dimEq(a: Dim, b: Dim): boolean {
  if (typeof a === 'number' || typeof b === 'number') return a === b;
  return a.key === b.key;
}

export function shapeEq(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => dimEq(d, b[i]!));
}

export function product(dims: readonly Dim[]): Dim {
  return dims.reduce<Dim>((acc, d) => mul(acc, d), 1);
}

/** Names of the symbols a dimension depends on. */
export function symbolsOf(d: Dim, out = new Set<string>()): Set<string> {
  if (typeof d === 'number') return out;
  for (const k of d.poly.keys()) {
    if (!k) continue;
    for (const part of monoParts(k)) {
      const atom = atoms.get(part);
      if (atom === null || atom === undefined) out.add(part);
      else for (const arg of atom.args) symbolsOf(arg, out);
    }
  }
  return out;
}

/** The value of `d` under `bindings`, or undefined when a symbol is unbound. */
export function evaluate(d: Dim, bindings: ReadonlyMap<string, number> | Record<string, number>): number | undefined {
  if (typeof d === 'number') return d;
  const get = (name: string): number | undefined =>
    bindings instanceof Map ? bindings.get(name) : (bindings as Record<string, number>)[name];
  let total = 0;
  for (const [k, c] of d.poly) {
    let term = c;
    if (k) {
      for (const part of monoParts(k)) {
        const v = evalAtom(part, get, bindings);
        if (v === undefined) return undefined;
        term *= v;
      }
    }
    total += term;
  }
  return total;
}

function evalAtom(
  key: string,
  get: (name: string) => number | undefined,
  bindings: ReadonlyMap<string, number> | Record<string, number>,
): number | undefined {
  const atom = atoms.get(key);
  if (!atom) return get(key);
  const args = atom.args.map((a) => evaluate(a, bindings));
  if (args.some((v) => v === undefined)) return undefined;
  const [x, y] = args as [number, number];
  switch (atom.fn) {
    case 'floor':
      return Math.floor(x / y);
    case 'mod':
      return ((x % y) + y) % y;
    case 'max':
      return Math.max(x, y);
    case 'min':
      return Math.min(x, y);
  }
}

/** Replaces bound symbols by their values and re-canonicalises. */
export function substitute(d: Dim, bindings: ReadonlyMap<string, Dim>): Dim {
  if (typeof d === 'number') return d;
  let total: Dim = 0;
  for (const [k, c] of d.poly) {
    let term: Dim = c;
    for (const part of monoParts(k)) term = mul(term, substituteAtom(part, bindings));
    total = add(total, term);
  }
  return total;
}

function substituteAtom(key: string, bindings: ReadonlyMap<string, Dim>): Dim {
  const atom = atoms.get(key);
  if (!atom) return bindings.get(key) ?? atomDim(key, null);
  const [x, y] = atom.args.map((a) => substitute(a, bindings)) as [Dim, Dim];
  switch (atom.fn) {
    case 'floor':
      return floorDiv(x, y);
    case 'mod':
      return mod(x, y);
    case 'max':
      return max(x, y);
    case 'min':
      return min(x, y);
  }
}

// ---------------------------------------------------------------------------------------------
// Printing and parsing. The printed form parses back to the same expression.

function fmt(d: Dim): string {
  return typeof d === 'number' ? String(d) : d.key;
}

/** Operands of '/' need parentheses when they are sums or products. */
function paren(d: Dim): string {
  const s = fmt(d);
  return /[ *]/.test(s) || (typeof d === 'number' && d < 0) ? `(${s})` : s;
}

function degree(mono: string): number {
  return monoParts(mono).length;
}

function printPoly(p: ReadonlyMap<string, number>): string {
  const terms = [...p.entries()]
    .filter(([, c]) => c !== 0)
    .sort(([a], [b]) => (a === '' ? 1 : b === '' ? -1 : degree(b) - degree(a) || (a < b ? -1 : a > b ? 1 : 0)));
  if (terms.length === 0) return '0';
  let out = '';
  terms.forEach(([mono, c], i) => {
    const abs = Math.abs(c);
    const m = monoParts(mono).join('*');
    const body = mono === '' ? String(abs) : abs === 1 ? m : `${abs}*${m}`;
    if (i === 0) out = c < 0 ? `-${body}` : body;
    else out += c < 0 ? ` - ${body}` : ` + ${body}`;
  });
  return out;
}

export function dimToString(d: Dim): string {
  return fmt(d);
}

export function shapeToString(s: readonly Dim[] | null | undefined): string {
  return s ? `[${s.map(fmt).join(', ')}]` : '[?]';
}

/** JSON form of a dimension: a number, or the printed expression. */
export function dimToJSON(d: Dim): number | string {
  return typeof d === 'number' ? d : d.key;
}

export function dimFromJSON(v: number | string): Dim {
  return typeof v === 'number' ? v : parseDim(v);
}

export class DimParseError extends Error {}

/** Parses `past_seq + seq`, `2*batch`, `floor((n - 1) / 2) + 1`, `max(a, b)`, `mod(n, 4)`, `n % 4`. */
export function parseDim(text: string): Dim {
  const toks = text.match(/\s*([A-Za-z_][A-Za-z0-9_.:]*|\d+|[-+*/%(),])\s*/gy);
  const joined = (toks ?? []).join('');
  if (joined.length !== text.length) throw new DimParseError(`cannot parse dimension '${text}'`);
  const t = toks!.map((s) => s.trim());
  let i = 0;
  const peek = (): string | undefined => t[i];
  const take = (expect?: string): string => {
    const tok = t[i++];
    if (tok === undefined || (expect !== undefined && tok !== expect))
      throw new DimParseError(`cannot parse dimension '${text}': expected ${expect ?? 'a term'}`);
    return tok;
  };
  const expr = (): Dim => {
    let v = term();
    for (let op = peek(); op === '+' || op === '-'; op = peek()) {
      take();
      v = op === '+' ? add(v, term()) : sub(v, term());
    }
    return v;
  };
  const term = (): Dim => {
    let v = unary();
    for (let op = peek(); op === '*' || op === '/' || op === '%'; op = peek()) {
      take();
      const r = unary();
      v = op === '*' ? mul(v, r) : op === '/' ? floorDiv(v, r) : mod(v, r);
    }
    return v;
  };
  const unary = (): Dim => (peek() === '-' ? (take(), neg(unary())) : primary());
  const primary = (): Dim => {
    const tok = take();
    if (tok === '(') {
      const v = expr();
      take(')');
      return v;
    }
    if (/^\d+$/.test(tok)) return Number(tok);
    if (peek() === '(' && ['floor', 'max', 'min', 'mod'].includes(tok)) {
      take('(');
      if (tok === 'floor') {
        // '/' is already floor division, so floor(x / y) is its inner expression.
        const inner = expr();
        take(')');
        return inner;
      }
      const a = expr();
      take(',');
      const b = expr();
      take(')');
      return tok === 'max' ? max(a, b) : tok === 'min' ? min(a, b) : mod(a, b);
    }
    if (/^[A-Za-z_]/.test(tok)) return sym(tok);
    throw new DimParseError(`cannot parse dimension '${text}': unexpected '${tok}'`);
  };
  const v = expr();
  if (i !== t.length) throw new DimParseError(`cannot parse dimension '${text}': trailing '${t[i]}'`);
  return v;
}
