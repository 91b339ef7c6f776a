import { FleetcError } from '../../diagnostics/index.js';

/**
 * Tokens of MLIR's textual form. The lexer is pulled one token at a time so that the type
 * parser can scan a dimension list (`2x?x3xf32`) at the raw character level, as MLIR does.
 */
export type TokKind =
  | 'eof'
  | 'value' // %name or %name#N
  | 'symbol' // @name or @"quoted"
  | 'caret' // ^bb0
  | 'hash' // #name, #dialect.name, #loc3
  | 'bang' // !dialect.type
  | 'ident' // bare identifier: stablehlo.add, tensor, f32, dense, true
  | 'int' // 12, 0x1F (sign is a separate '-' token)
  | 'float' // 1.5, 1.0e-5
  | 'string' // "…" (value is unescaped)
  | 'punct'; // ( ) { } [ ] < > , = : -> ? * + - x

export interface Token {
  kind: TokKind;
  /** Text of the token; for strings the unescaped contents, for values/symbols the name without sigil. */
  text: string;
  /** Result index of `%v#N`, else -1. */
  index: number;
  pos: number;
  line: number;
  col: number;
}

const isIdStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isHex = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
/** Characters of bare identifiers: letters, digits, `_`, `$`, `.`. */
const isIdChar = (c: number): boolean => isIdStart(c) || isDigit(c) || c === 36 || c === 46;
/** Characters of suffix ids (`%x.y-z`, `^bb0`, `#loc1`): also `-`. */
const isSuffixChar = (c: number): boolean => isIdChar(c) || c === 45;

function mkTok(kind: TokKind, text: string, index: number, pos: number, line: number, col: number): Token {
  return { kind, text, index, pos, line, col };
}

export class Lexer {
  pos = 0;
  line = 1;
  private lineStart = 0;

  constructor(
    readonly text: string,
    readonly file: string,
  ) {}

  /** Moves to `pos` (forward), counting the lines passed. */
  jumpTo(pos: number): void {
    for (let p = this.pos; p < pos; p++)
      if (this.text.charCodeAt(p) === 10) {
        this.line++;
        this.lineStart = p + 1;
      }
    this.pos = pos;
  }

  /** 1-based column of a character position on the current line. */
  colOf(pos: number): number {
    return pos - this.lineStart + 1;
  }

  error(message: string, line: number, col: number, code: 'E0102' | 'E0103' = 'E0102'): FleetcError {
    return new FleetcError(code, message, { file: this.file, line, col });
  }

  /** Skips whitespace and `//` comments, counting lines. */
  skipTrivia(): void {
    const t = this.text;
    const n = t.length;
    let p = this.pos;
    for (;;) {
      if (p >= n) break;
      const c = t.charCodeAt(p);
      if (c === 10) {
        p++;
        this.line++;
        this.lineStart = p;
      } else if (c === 32 || c === 9 || c === 13) p++;
      else if (c === 47 && t.charCodeAt(p + 1) === 47) {
        while (p < n && t.charCodeAt(p) !== 10) p++;
      } else break;
    }
    this.pos = p;
  }

  next(): Token {
    this.skipTrivia();
    const t = this.text;
    const start = this.pos;
    const line = this.line;
    const col = start - this.lineStart + 1;
    if (start >= t.length) return mkTok('eof', '', -1, start, line, col);
    const c = t.charCodeAt(start);
    let p = start + 1;

    if (c === 37 /* % */ || c === 94 /* ^ */ || c === 35 /* # */ || c === 33 /* ! */) {
      while (p < t.length && isSuffixChar(t.charCodeAt(p))) p++;
      const name = t.slice(start + 1, p);
      if (!name) throw this.error(`expected a name after '${t[start]}'`, line, col);
      if (c === 37) {
        let index = -1;
        if (t.charCodeAt(p) === 35 && isDigit(t.charCodeAt(p + 1))) {
          let q = p + 1;
          while (q < t.length && isDigit(t.charCodeAt(q))) q++;
          index = Number(t.slice(p + 1, q));
          p = q;
        }
        this.pos = p;
        return mkTok('value', name, index, start, line, col);
      }
      this.pos = p;
      return mkTok(c === 94 ? 'caret' : c === 35 ? 'hash' : 'bang', name, -1, start, line, col);
    }
    if (c === 64 /* @ */) {
      if (t.charCodeAt(p) === 34) {
        this.pos = p;
        const s = this.readString(line, col);
        return mkTok('symbol', s, -1, start, line, col);
      }
      while (p < t.length && isSuffixChar(t.charCodeAt(p))) p++;
      if (p === start + 1) throw this.error("expected a symbol name after '@'", line, col);
      this.pos = p;
      return mkTok('symbol', t.slice(start + 1, p), -1, start, line, col);
    }
    if (c === 34 /* " */) {
      const s = this.readString(line, col);
      return mkTok('string', s, -1, start, line, col);
    }
    if (isIdStart(c)) {
      while (p < t.length && isIdChar(t.charCodeAt(p))) p++;
      this.pos = p;
      return mkTok('ident', t.slice(start, p), -1, start, line, col);
    }
    if (isDigit(c)) {
      if (c === 48 && t.charCodeAt(p) === 120 && isHex(t.charCodeAt(p + 1))) {
        p++;
        while (p < t.length && isHex(t.charCodeAt(p))) p++;
        this.pos = p;
        return mkTok('int', t.slice(start, p), -1, start, line, col);
      }
      while (p < t.length && isDigit(t.charCodeAt(p))) p++;
      let kind: TokKind = 'int';
      if (t.charCodeAt(p) === 46 /* . */) {
        kind = 'float';
        p++;
        while (p < t.length && isDigit(t.charCodeAt(p))) p++;
        const e = t.charCodeAt(p);
        if (e === 101 || e === 69) {
          let q = p + 1;
          const s = t.charCodeAt(q);
          if (s === 43 || s === 45) q++;
          if (isDigit(t.charCodeAt(q))) {
            while (q < t.length && isDigit(t.charCodeAt(q))) q++;
            p = q;
          }
        }
      }
      this.pos = p;
      return mkTok(kind, t.slice(start, p), -1, start, line, col);
    }
    if (c === 45 /* - */ && t.charCodeAt(p) === 62 /* > */) {
      this.pos = p + 1;
      return mkTok('punct', '->', -1, start, line, col);
    }
    if ('(){}[]<>,=:?*+-'.includes(t[start]!)) {
      this.pos = p;
      return mkTok('punct', t[start]!, -1, start, line, col);
    }
    throw this.error(`unexpected character '${t[start]}'`, line, col);
  }

  private readString(line: number, col: number): string {
    const t = this.text;
    let p = this.pos + 1;
    let out = '';
    let chunk = p;
    for (;;) {
      if (p >= t.length || t.charCodeAt(p) === 10) throw this.error('unterminated string', line, col);
      const c = t.charCodeAt(p);
      if (c === 34) break;
      if (c === 92 /* \ */) {
        out += t.slice(chunk, p);
        const n = t[p + 1];
        if (n === 'n') out += '\n';
        else if (n === 't') out += '\t';
        else if (n === '"' || n === '\\') out += n;
        else if (n !== undefined && isHex(t.charCodeAt(p + 1)) && isHex(t.charCodeAt(p + 2))) {
          out += String.fromCharCode(parseInt(t.slice(p + 1, p + 3), 16));
          p += 1;
        } else throw this.error('bad escape in string', this.line, this.colOf(p));
        p += 2;
        chunk = p;
        continue;
      }
      p++;
    }
    out += t.slice(chunk, p);
    this.pos = p + 1;
    return out;
  }

  /**
   * Scans a tensor dimension list at the raw position: `2x?x3x` (each dimension followed by `x`).
   * Returns the dimensions (-1 for `?`); stops before the element type.
   */
  scanDims(): number[] {
    this.skipTrivia();
    const t = this.text;
    const dims: number[] = [];
    let p = this.pos;
    for (;;) {
      let q = p;
      let d: number;
      if (t.charCodeAt(q) === 63 /* ? */) {
        q++;
        d = -1;
      } else if (isDigit(t.charCodeAt(q))) {
        while (isDigit(t.charCodeAt(q))) q++;
        d = Number(t.slice(p, q));
      } else break;
      if (t.charCodeAt(q) !== 120 /* x */) break;
      dims.push(d);
      p = q + 1;
    }
    this.pos = p;
    return dims;
  }

  /** Skips a balanced `<…>` / `(…)` / `[…]` / `{…}` group whose opener was just consumed; returns the raw text inside. */
  skipBalanced(open: string, line: number, col: number): string {
    const close: Record<string, string> = { '<': '>', '(': ')', '[': ']', '{': '}' };
    const stack = [close[open]!];
    const t = this.text;
    const start = this.pos;
    let p = this.pos;
    while (stack.length) {
      if (p >= t.length) throw this.error(`unterminated '${open}'`, line, col);
      const ch = t[p]!;
      if (ch === '"') {
        this.pos = p;
        this.readString(this.line, this.colOf(p));
        p = this.pos;
        continue;
      }
      if (ch === '\n') {
        this.line++;
        this.lineStart = p + 1;
      } else if (ch === '-' && t[p + 1] === '>') {
        p += 2;
        continue;
      } else if (ch in close) stack.push(close[ch]!);
      else if (ch === stack[stack.length - 1]) stack.pop();
      p++;
    }
    this.pos = p;
    return t.slice(start, p - 1);
  }
}
