import { FleetcError, type DiagnosticCode } from '../../diagnostics/index.js';
import type { Pos } from './ast.js';
import { Lexer, type Token, type TokKind } from './lexer.js';

/** One-token lookahead over the lazy lexer, with error helpers that point at a token. */
export class Cursor {
  readonly lex: Lexer;
  private la: Token | null = null;
  /** The last token taken (for errors "after …"). */
  last: Token | null = null;

  constructor(text: string, file: string) {
    this.lex = new Lexer(text, file);
  }

  get file(): string {
    return this.lex.file;
  }

  peek(): Token {
    if (!this.la) this.la = this.lex.next();
    return this.la;
  }

  take(): Token {
    const t = this.peek();
    this.la = null;
    this.last = t;
    return t;
  }

  /** True when the next token is punctuation or an identifier with this text. */
  is(text: string): boolean {
    const t = this.peek();
    return (t.kind === 'punct' || t.kind === 'ident') && t.text === text;
  }

  isKind(kind: TokKind): boolean {
    return this.peek().kind === kind;
  }

  eat(text: string): boolean {
    if (this.is(text)) {
      this.take();
      return true;
    }
    return false;
  }

  expect(text: string, context?: string): Token {
    if (!this.is(text)) throw this.unexpected(`'${text}'${context ? ` ${context}` : ''}`);
    return this.take();
  }

  expectKind(kind: TokKind, what: string): Token {
    if (this.peek().kind !== kind) throw this.unexpected(what);
    return this.take();
  }

  pos(t: Token = this.peek()): Pos {
    return { line: t.line, col: t.col };
  }

  errorAt(pos: Pos, message: string, code: DiagnosticCode = 'E0102'): FleetcError {
    return new FleetcError(code, message, { file: this.file, line: pos.line, col: pos.col });
  }

  /** "expected X, found Y" at the next token. */
  unexpected(expected: string): FleetcError {
    const t = this.peek();
    return this.errorAt(this.pos(t), `expected ${expected}, found ${describe(t)}`);
  }

  /** Drops the lookahead and continues lexing at `pos` (after a block read as raw text). */
  jumpTo(pos: number): void {
    this.la = null;
    this.lex.jumpTo(pos);
  }

  /**
   * Raw text from the lexer position after an opener that was just taken, up to its balanced
   * closer (consumed). The lookahead must be empty.
   */
  balanced(open: Token): string {
    if (this.la) throw new Error('internal: balanced() with a pending lookahead');
    return this.lex.skipBalanced(open.text, open.line, open.col);
  }
}

export function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of file';
    case 'value':
      return `'%${t.text}'`;
    case 'symbol':
      return `'@${t.text}'`;
    case 'string':
      return `string "${t.text.length > 20 ? t.text.slice(0, 20) + '…' : t.text}"`;
    case 'caret':
      return `'^${t.text}'`;
    case 'hash':
      return `'#${t.text}'`;
    case 'bang':
      return `'!${t.text}'`;
    default:
      return `'${t.text}'`;
  }
}
