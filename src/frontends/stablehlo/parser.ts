import type { Attr, MBlock, MBlockArg, MFunc, MModule, MOp, MType, Pos } from './ast.js';
import { key } from './ast.js';
import { parseAttr, parseAttrDict } from './attrs-parse.js';
import { Cursor } from './cursor.js';
import { parsePrettyOp } from './pretty.js';
import { parseFunctionType, parseResultTypes, parseType, type PCtx } from './types-parse.js';

/**
 * Recursive-descent parser for MLIR text as StableHLO exporters print it: a `module` (pretty or
 * generic `"builtin.module"`) or bare top-level functions, holding ops in pretty or generic form.
 */
export function parseMLIR(text: string, file: string): MModule {
  const p = new Parser(text, file);
  return p.parseTop();
}

export class Parser implements PCtx {
  readonly c: Cursor;
  readonly attrAliases = new Map<string, Attr>();
  readonly typeAliases = new Map<string, MType>();

  constructor(text: string, file: string) {
    this.c = new Cursor(text, file);
  }

  parseTop(): MModule {
    const c = this.c;
    const mod: MModule = { attrs: {}, funcs: [], pos: { line: 1, col: 1 }, file: c.file };
    let sawModule = false;
    for (;;) {
      const t = c.peek();
      if (t.kind === 'eof') break;
      if (t.kind === 'hash' || t.kind === 'bang') {
        this.parseAliasDef();
        continue;
      }
      if (t.kind === 'ident' && (t.text === 'module' || t.text === 'builtin.module')) {
        if (sawModule || mod.funcs.length) throw c.errorAt(c.pos(t), 'a file holds one module');
        sawModule = true;
        this.parsePrettyModule(mod);
        continue;
      }
      if (t.kind === 'ident' && t.text === 'func.func') {
        if (sawModule) throw c.errorAt(c.pos(t), 'a function after the module');
        mod.funcs.push(this.parseFunc());
        continue;
      }
      if (t.kind === 'string' && t.text === 'builtin.module') {
        if (sawModule || mod.funcs.length) throw c.errorAt(c.pos(t), 'a file holds one module');
        sawModule = true;
        this.genericModule(this.parseOp(), mod);
        continue;
      }
      if (t.kind === 'punct' && t.text === '{' && c.lex.text.startsWith('-#', t.pos + 1)) {
        this.parseResources(mod, t.pos);
        continue;
      }
      throw c.unexpected("'module', 'func.func' or an alias definition");
    }
    return mod;
  }

  /**
   * The `{-# dialect_resources: { builtin: { name: "0x…", … } } #-}` block: hex blobs that
   * `dense_resource<name>` constants refer to. Each blob starts with a 4-byte alignment word.
   */
  private parseResources(mod: MModule, start: number): void {
    const c = this.c;
    const text = c.lex.text;
    const end = text.indexOf('#-}', start);
    if (end < 0) throw c.errorAt(c.pos(c.peek()), "unterminated '{-#' block");
    const body = text.slice(start, end);
    const res = (mod.resources ??= new Map());
    for (const m of body.matchAll(/("(?:[^"\\]|\\.)*"|[\w.$-]+)\s*:\s*"0x([0-9A-Fa-f]*)"/g)) {
      const name = m[1]!.startsWith('"') ? (JSON.parse(m[1]!) as string) : m[1]!;
      res.set(name, Uint8Array.from(Buffer.from(m[2]!, 'hex')).subarray(4));
    }
    c.jumpTo(end + 3);
  }

  /** `#name = attr` or `!name = type` at the top level. */
  private parseAliasDef(): void {
    const c = this.c;
    const t = c.take();
    c.expect('=', `after alias '${t.kind === 'hash' ? '#' : '!'}${t.text}'`);
    if (t.kind === 'bang') {
      this.typeAliases.set(t.text, parseType(this));
      return;
    }
    if (c.is('loc')) {
      c.take();
      const open = c.expect('(');
      this.attrAliases.set(t.text, { k: 'opaque', text: `loc(${c.balanced(open)})` });
      return;
    }
    this.attrAliases.set(t.text, parseAttr(this));
  }

  private parsePrettyModule(mod: MModule): void {
    const c = this.c;
    const start = c.take();
    mod.pos = c.pos(start);
    if (c.isKind('symbol')) mod.name = c.take().text;
    if (c.eat('attributes')) mod.attrs = parseAttrDict(this);
    c.expect('{', 'to open the module body');
    while (!c.is('}')) {
      const t = c.peek();
      if (t.kind === 'ident' && t.text === 'func.func') mod.funcs.push(this.parseFunc());
      else if (t.kind === 'string' && t.text === 'func.func') mod.funcs.push(this.genericFunc(this.parseOp()));
      else if (t.kind === 'eof') throw c.unexpected("'}' to close the module");
      else throw c.unexpected("'func.func' in the module");
    }
    c.take();
    this.skipLoc();
  }

  /** A generic `"builtin.module"() <{sym_name = …}> ({…}) {attrs} : () -> ()`. */
  private genericModule(op: MOp, mod: MModule): void {
    mod.pos = op.pos;
    const name = op.attrs['sym_name'];
    if (name?.k === 'str') mod.name = name.v;
    for (const [k, v] of Object.entries(op.attrs)) if (k !== 'sym_name') mod.attrs[k] = v;
    const body = op.regions[0]?.[0];
    for (const inner of body?.ops ?? []) {
      if (inner.name !== 'func.func')
        throw this.c.errorAt(inner.pos, `unexpected '${inner.name}' in the module`, 'E0103');
      mod.funcs.push(this.genericFunc(inner));
    }
  }

  /** A generic `"func.func"() <{function_type = …, sym_name = …}> ({…})`. */
  private genericFunc(op: MOp): MFunc {
    const c = this.c;
    const sym = op.attrs['sym_name'];
    const ft = op.attrs['function_type'];
    if (sym?.k !== 'str') throw c.errorAt(op.pos, 'func.func without sym_name');
    if (ft?.k !== 'type' || ft.v.kind !== 'function') throw c.errorAt(op.pos, 'func.func without function_type');
    const vis = op.attrs['sym_visibility'];
    const body = op.regions[0]?.[0] ?? null;
    const dictList = (a: Attr | undefined, n: number): Record<string, Attr>[] =>
      Array.from({ length: n }, (_, i) => {
        const e = a?.k === 'list' ? a.v[i] : undefined;
        return e?.k === 'dict' ? e.v : {};
      });
    const argAttrs = dictList(op.attrs['arg_attrs'], ft.v.inputs.length);
    const args: MBlockArg[] = body
      ? body.args.map((a, i) => ({ ...a, attrs: { ...argAttrs[i], ...a.attrs } }))
      : ft.v.inputs.map((type, i) => ({ key: key(`arg${i}`), type, attrs: argAttrs[i] ?? {}, pos: op.pos }));
    const attrs: Record<string, Attr> = {};
    for (const [k, v] of Object.entries(op.attrs))
      if (!['sym_name', 'function_type', 'sym_visibility', 'arg_attrs', 'res_attrs'].includes(k)) attrs[k] = v;
    return {
      name: sym.v,
      visibility: vis?.k === 'str' && (vis.v === 'private' || vis.v === 'nested') ? vis.v : 'public',
      args,
      resultTypes: ft.v.results,
      resultAttrs: dictList(op.attrs['res_attrs'], ft.v.results.length),
      attrs,
      body,
      pos: op.pos,
    };
  }

  /** `func.func [public|private] @name(%a: T {attrs}, …) -> (T {attrs}, …) [attributes {…}] { … }` */
  parseFunc(): MFunc {
    const c = this.c;
    const start = c.take();
    let visibility: MFunc['visibility'] = 'public';
    if (c.is('public') || c.is('private') || c.is('nested')) visibility = c.take().text as MFunc['visibility'];
    const name = c.expectKind('symbol', 'a function name').text;
    c.expect('(', 'to open the argument list');
    const args: MBlockArg[] = [];
    if (!c.eat(')')) {
      do {
        const v = c.expectKind('value', 'an argument name like %arg0');
        c.expect(':', 'after the argument name');
        const type = parseType(this);
        const attrs = c.is('{') ? parseAttrDict(this) : {};
        this.skipLoc();
        args.push({ key: key(v.text), type, attrs, pos: c.pos(v) });
      } while (c.eat(','));
      c.expect(')', 'to close the argument list');
    }
    const resultTypes: MType[] = [];
    const resultAttrs: Record<string, Attr>[] = [];
    if (c.eat('->')) {
      if (c.is('(')) {
        c.take();
        if (!c.eat(')')) {
          do {
            resultTypes.push(parseType(this));
            resultAttrs.push(c.is('{') ? parseAttrDict(this) : {});
          } while (c.eat(','));
          c.expect(')', 'to close the result list');
        }
      } else {
        resultTypes.push(parseType(this));
        resultAttrs.push({});
      }
    }
    const attrs = c.eat('attributes') ? parseAttrDict(this) : {};
    let body: MBlock | null = null;
    if (c.is('{')) {
      const region = this.parseRegion(args);
      if (region.length !== 1)
        throw c.errorAt(c.pos(start), `function @${name} has ${region.length} blocks; one is supported`, 'E0103');
      body = region[0]!;
    }
    this.skipLoc();
    return { name, visibility, args, resultTypes, resultAttrs, attrs, body, pos: c.pos(start) };
  }

  /**
   * `{ [^bb(args):] ops… }`. When `entryArgs` is given (a function body, a pretty while/reduce
   * body), the entry block takes them and has no label of its own.
   */
  parseRegion(entryArgs?: MBlockArg[]): MBlock[] {
    const c = this.c;
    c.expect('{', 'to open a region');
    const blocks: MBlock[] = [];
    let cur: MBlock | null = null;
    for (;;) {
      const t = c.peek();
      if (t.kind === 'punct' && t.text === '}') {
        c.take();
        break;
      }
      if (t.kind === 'eof') throw c.unexpected("'}' to close the region");
      if (t.kind === 'caret') {
        c.take();
        cur = { label: t.text, args: [], ops: [] };
        if (c.eat('(')) {
          if (!c.eat(')')) {
            do {
              const v = c.expectKind('value', 'a block argument');
              c.expect(':', 'after the block argument');
              const type = parseType(this);
              this.skipLoc();
              cur.args.push({ key: key(v.text), type, attrs: {}, pos: c.pos(v) });
            } while (c.eat(','));
            c.expect(')', 'to close the block arguments');
          }
        }
        c.expect(':', 'after the block label');
        blocks.push(cur);
        continue;
      }
      if (!cur) {
        cur = { args: entryArgs ?? [], ops: [] };
        blocks.push(cur);
      }
      cur.ops.push(this.parseOp());
    }
    if (!blocks.length) blocks.push({ args: entryArgs ?? [], ops: [] });
    return blocks;
  }

  /** A location's text with `#loc` aliases replaced by what they stand for (`"model.py":12:3`). */
  resolveLoc(text: string, depth = 0): string {
    const m = /^#([\w.$-]+)$/.exec(text.trim());
    const alias = m ? this.attrAliases.get(m[1]!) : undefined;
    if (alias?.k !== 'opaque' || !alias.text.startsWith('loc(') || depth > 8) return text;
    return this.resolveLoc(alias.text.slice(4, -1), depth + 1);
  }

  /** `loc(...)` if present; returns its text. */
  skipLoc(): string | undefined {
    const c = this.c;
    if (!c.is('loc')) return undefined;
    c.take();
    const open = c.expect('(', "after 'loc'");
    return c.balanced(open);
  }

  /** One operation statement with its results. */
  parseOp(): MOp {
    const c = this.c;
    const results: { name: string; count: number; pos: Pos }[] = [];
    if (c.isKind('value')) {
      do {
        const v = c.expectKind('value', 'a result name');
        if (v.index >= 0) throw c.errorAt(c.pos(v), `a result is named '%${v.text}', not '%${v.text}#${v.index}'`);
        let count = 1;
        if (c.is(':')) {
          c.take();
          const n = c.expectKind('int', 'a result count');
          count = Number(n.text);
        }
        results.push({ name: v.text, count, pos: c.pos(v) });
      } while (c.eat(','));
      c.expect('=', 'after the results');
    }
    const keys: string[] = [];
    for (const r of results) for (let i = 0; i < r.count; i++) keys.push(key(r.name, i));
    const t = c.peek();
    let op: MOp;
    if (t.kind === 'string') op = this.parseGenericOp(keys);
    else if (t.kind === 'ident') op = parsePrettyOp(this, keys);
    else throw c.unexpected('an operation');
    const loc = this.skipLoc();
    if (loc !== undefined) op.userLoc = this.resolveLoc(loc);
    if (op.results.length !== op.resultTypes.length && op.resultTypes.length)
      throw c.errorAt(
        op.pos,
        `'${op.name}' has ${op.resultTypes.length} result types but ${op.results.length} results are named`,
      );
    return op;
  }

  /** `"name"(%a, %b) <{props}> ({regions}) {attrs} : (types) -> types` */
  parseGenericOp(results: string[], given?: { name: string; pos: Pos }): MOp {
    const c = this.c;
    const nameTok = given ?? { name: c.peek().text, pos: c.pos(c.take()) };
    const op: MOp = {
      name: nameTok.name,
      results,
      operands: [],
      operandPos: [],
      attrs: {},
      regions: [],
      operandTypes: [],
      resultTypes: [],
      pos: nameTok.pos,
    };
    c.expect('(', 'to open the operand list');
    if (!c.eat(')')) {
      do this.operand(op);
      while (c.eat(','));
      c.expect(')', 'to close the operand list');
    }
    if (c.is('[')) throw c.errorAt(c.pos(), 'branch successors are not supported', 'E0103');
    if (c.is('<')) {
      c.take();
      Object.assign(op.attrs, parseAttrDict(this));
      c.expect('>', 'to close the properties');
    }
    if (c.is('(')) {
      c.take();
      do op.regions.push(this.parseRegion());
      while (c.eat(','));
      c.expect(')', 'to close the region list');
    }
    if (c.is('{')) Object.assign(op.attrs, parseAttrDict(this));
    c.expect(':', `before the type of '${op.name}'`);
    const ft = parseFunctionType(this);
    op.operandTypes = ft.inputs;
    op.resultTypes = ft.results;
    if (ft.inputs.length !== op.operands.length)
      throw c.errorAt(op.pos, `'${op.name}' has ${op.operands.length} operands but its type lists ${ft.inputs.length}`);
    return op;
  }

  /** Reads one `%v` / `%v#N` operand into `op`. */
  operand(op: MOp): void {
    const c = this.c;
    const v = c.expectKind('value', 'an operand');
    op.operands.push(key(v.text, Math.max(v.index, 0)));
    op.operandPos.push(c.pos(v));
  }

  /** Result types after ':' in the short forms (`T` or `(T, U)`). */
  resultTypes(): MType[] {
    return parseResultTypes(this);
  }
}
