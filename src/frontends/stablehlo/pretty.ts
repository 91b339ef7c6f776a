import type { Attr, MBlock, MBlockArg, MOp, MType, Pos } from './ast.js';
import { key } from './ast.js';
import { convDims, parseAttr, parseAttrDict, parseInt64, parseIntList, parseNumberText } from './attrs-parse.js';
import { parseFunctionType, parseResultTypes, parseType, type PCtx } from './types-parse.js';

/** What the pretty forms use of the generic parser (parser.ts's Parser). */
export interface OpParser extends PCtx {
  parseRegion(entryArgs?: MBlockArg[]): MBlock[];
  parseGenericOp(results: string[], given?: { name: string; pos: Pos }): MOp;
  operand(op: MOp): void;
}

/**
 * The custom ("pretty") assembly forms of func, stablehlo, chlo and check ops. Each form parses
 * into the same MOp as the generic form: canonical attribute names (`broadcast_dimensions`,
 * `dot_dimension_numbers`, …) and explicit operand and result types.
 */
export function parsePrettyOp(p: OpParser, results: string[]): MOp {
  const c = p.c;
  const nameTok = c.take();
  let name = nameTok.text;
  if (name === 'return') name = 'func.return';
  else if (name === 'call') name = 'func.call';
  const op: MOp = {
    name,
    results,
    operands: [],
    operandPos: [],
    attrs: {},
    regions: [],
    operandTypes: [],
    resultTypes: [],
    pos: c.pos(nameTok),
  };
  // `stablehlo.constant() <{…}> : () -> T`: the generic body after an unquoted name.
  if (c.is('(') && !PAREN_FORMS.has(name)) return p.parseGenericOp(results, { name, pos: op.pos });
  const dot = name.indexOf('.');
  const dialect = dot > 0 ? name.slice(0, dot) : '';
  const short = name.slice(dot + 1);
  const form = dialect === 'stablehlo' || dialect === 'chlo' ? FORMS[short] : undefined;
  if (name === 'func.return' || name === 'stablehlo.return') returnForm(p, op);
  else if (name === 'func.call') callForm(p, op);
  else if (dialect === 'check' || dialect === 'interpreter') checkForm(p, op);
  else if (form) form(p, op);
  else if (dialect === 'stablehlo') throw c.errorAt(op.pos, `unknown op '${name}'`);
  else if (dialect === 'chlo') defaultForm(p, op);
  else if (name === 'arith.constant') constantForm(p, op);
  else if (name === 'tensor.cast') tensorCastForm(p, op);
  else throw c.errorAt(op.pos, `unknown op '${name}'`, 'E0103');
  return op;
}

/** Ops whose pretty form itself starts with '('. */
const PAREN_FORMS = new Set([
  'stablehlo.convolution',
  'stablehlo.reduce',
  'stablehlo.while',
  'chlo.top_k',
  'chlo.scan',
  'func.call',
]);

type Form = (p: OpParser, op: MOp) => void;

// -- shared pieces ------------------------------------------------------------------------------

interface Sig {
  ins?: MType[];
  outs?: MType[];
  flat?: MType[];
}

/** After ':' — `(A, B) -> R`, `A -> R`, `A, B -> R`, or a flat list `A[, B…]`. */
function typeSig(p: OpParser): Sig {
  const c = p.c;
  c.expect(':', 'before the types');
  if (c.is('(')) {
    const ft = parseFunctionType(p);
    return { ins: ft.inputs, outs: ft.results };
  }
  const first = parseType(p);
  if (c.eat('->')) return { ins: [first], outs: parseResultTypes(p) };
  const flat = [first];
  while (c.is(',')) {
    c.take();
    flat.push(parseType(p));
  }
  // `A, B -> R`: operand types without parentheses (chlo.next_after, chlo.zeta, chlo.mulhi …).
  if (c.eat('->')) return { ins: flat, outs: parseResultTypes(p) };
  return { flat };
}

/** Operand and result types from a signature; a flat single type means "all the same". */
function applySig(p: OpParser, op: MOp, sig: Sig): void {
  if (sig.ins) {
    op.operandTypes = sig.ins;
    op.resultTypes = sig.outs!;
  } else {
    const flat = sig.flat!;
    if (flat.length === 1) {
      op.operandTypes = op.operands.map(() => flat[0]!);
      op.resultTypes = op.results.map(() => flat[0]!);
    } else {
      op.operandTypes = flat;
      op.resultTypes = op.results.length ? flat : [];
    }
  }
  if (op.operandTypes.length !== op.operands.length)
    throw p.c.errorAt(
      op.pos,
      `'${op.name}' has ${op.operands.length} operands but ${op.operandTypes.length} operand types`,
    );
}

type KwVal = { kind: 'ints'; v: number[] } | { kind: 'attr'; v: Attr } | { kind: 'pair'; l: number[]; r: number[] };

/**
 * Comma-separated operands and `keyword = value` items; also bare upper-case words (compare
 * types). Stops before anything else (attr-dict, ':').
 */
function items(p: OpParser, op: MOp, allowLeadingComma = false): { kw: Map<string, KwVal>; bare: string[] } {
  const c = p.c;
  const kw = new Map<string, KwVal>();
  const bare: string[] = [];
  let first = !allowLeadingComma;
  for (;;) {
    if (!first) {
      if (!c.is(',')) break;
      c.take();
    }
    first = false;
    const t = c.peek();
    if (t.kind === 'value') {
      p.operand(op);
      continue;
    }
    if (t.kind === 'ident') {
      c.take();
      if (c.eat('=')) {
        kw.set(t.text, kwValue(p, t.text));
        continue;
      }
      bare.push(t.text);
      continue;
    }
    if (op.operands.length === 0 && kw.size === 0 && bare.length === 0) break;
    throw c.unexpected('an operand or a keyword');
  }
  return { kw, bare };
}

function kwValue(p: OpParser, name: string): KwVal {
  const c = p.c;
  if (name === 'contracting_dims' || name === 'batching_dims') {
    const l = parseIntList(p);
    const x = c.take();
    if (x.text !== 'x') throw c.errorAt(c.pos(x), `expected 'x' in ${name}, found '${x.text}'`);
    return { kind: 'pair', l, r: parseIntList(p) };
  }
  if (c.is('[')) {
    // ints, or words like precision = [DEFAULT, HIGH]
    c.take();
    if (c.eat(']')) return { kind: 'ints', v: [] };
    if (c.isKind('ident')) {
      const words: Attr[] = [];
      do words.push({ k: 'enum', name: 'precision', v: c.expectKind('ident', 'a word').text });
      while (c.eat(','));
      c.expect(']', 'to close the list');
      return { kind: 'attr', v: { k: 'list', v: words } };
    }
    const v: number[] = [];
    do v.push(parseInt64(p));
    while (c.eat(','));
    c.expect(']', 'to close the list');
    return { kind: 'ints', v };
  }
  if (c.is('<')) {
    // algorithm = <lhs_precision_type = tf32, …>
    c.take();
    const fields: Record<string, Attr> = {};
    do {
      const k = c.expectKind('ident', 'a field name').text;
      c.expect('=');
      fields[k] = parseAttr(p);
    } while (c.eat(','));
    c.expect('>');
    return { kind: 'attr', v: { k: 'struct', name: name, fields } };
  }
  const t = c.peek();
  if (t.kind === 'ident' && t.text !== 'true' && t.text !== 'false') {
    c.take();
    return { kind: 'attr', v: { k: 'enum', name, v: t.text } };
  }
  if (t.kind === 'int' || t.kind === 'float' || (t.kind === 'punct' && t.text === '-')) {
    const text = parseNumberText(p);
    const v = Number(text);
    return /[.eE]/.test(text) && !/^-?0x/i.test(text)
      ? { kind: 'attr', v: { k: 'float', v } }
      : { kind: 'attr', v: { k: 'int', v } };
  }
  return { kind: 'attr', v: parseAttr(p) };
}

const i64s = (v: number[]): Attr => ({ k: 'ints', v, elem: 'i64' });
const i64 = (v: number): Attr => ({ k: 'int', v, type: 'i64' });

/** Stores keyword items on the op under canonical names; an unknown keyword is an error. */
function setKw(p: OpParser, op: MOp, kw: Map<string, KwVal>, names: Record<string, string>): void {
  for (const [k, v] of kw) {
    const canon = names[k];
    if (!canon) throw p.c.errorAt(op.pos, `'${op.name}' does not take '${k} = …'`);
    if (v.kind === 'ints') op.attrs[canon] = INT_SCALAR.has(canon) ? i64(v.v[0] ?? 0) : i64s(v.v);
    else if (v.kind === 'attr') op.attrs[canon] = v.v.k === 'int' ? i64(v.v.v) : v.v;
  }
}

const INT_SCALAR = new Set(['iota_dimension', 'dimension']);

function attrDict(p: OpParser, op: MOp): void {
  if (p.c.is('{')) Object.assign(op.attrs, parseAttrDict(p));
}

// -- forms --------------------------------------------------------------------------------------

/** `op %a, %b, kw = v {attrs} : types` with keyword renames. */
function kwForm(names: Record<string, string>, sigKind: 'same' | 'select' = 'same'): Form {
  return (p, op) => {
    const { kw, bare } = items(p, op);
    if (bare.length) throw p.c.errorAt(op.pos, `unexpected '${bare[0]}' in '${op.name}'`);
    setKw(p, op, kw, names);
    attrDict(p, op);
    const sig = typeSig(p);
    if (sigKind === 'select' && sig.flat && sig.flat.length === 2) {
      op.operandTypes = [sig.flat[0]!, sig.flat[1]!, sig.flat[1]!];
      op.resultTypes = [sig.flat[1]!];
      if (op.operands.length !== 3) throw p.c.errorAt(op.pos, `'${op.name}' takes 3 operands`);
      return;
    }
    applySig(p, op, sig);
  };
}

const defaultForm: Form = kwForm({});

function returnForm(p: OpParser, op: MOp): void {
  const c = p.c;
  if (!c.isKind('value')) {
    if (c.is('{')) attrDict(p, op);
    return;
  }
  do p.operand(op);
  while (c.eat(','));
  if (c.is(':')) {
    c.take();
    const types: MType[] = [];
    do types.push(parseType(p));
    while (c.eat(','));
    if (types.length !== op.operands.length)
      throw c.errorAt(op.pos, `'${op.name}' returns ${op.operands.length} values but lists ${types.length} types`);
    op.operandTypes = types;
  }
}

function callForm(p: OpParser, op: MOp): void {
  const c = p.c;
  op.attrs['callee'] = { k: 'symbol', v: c.expectKind('symbol', 'the callee').text };
  c.expect('(', 'to open the call arguments');
  if (!c.eat(')')) {
    do p.operand(op);
    while (c.eat(','));
    c.expect(')', 'to close the call arguments');
  }
  attrDict(p, op);
  applySig(p, op, typeSig(p));
}

function checkForm(p: OpParser, op: MOp): void {
  const c = p.c;
  p.operand(op);
  if (op.name.endsWith('_const')) {
    c.expect(',', 'before the expected constant');
    op.attrs['value'] = parseAttr(p);
    attrDict(p, op);
    const v = op.attrs['value'];
    if (v?.k !== 'dense') throw c.errorAt(op.pos, `'${op.name}' expects a dense<…> constant`);
    op.operandTypes = [v.type];
    op.resultTypes = [];
    return;
  }
  const { kw } = items(p, op, true);
  for (const [k, v] of kw)
    op.attrs[k] = v.kind === 'attr' ? v.v : v.kind === 'ints' ? i64s(v.v) : { k: 'opaque', text: k };
  attrDict(p, op);
  applySig(p, op, typeSig(p));
}

const constantForm: Form = (p, op) => {
  attrDict(p, op);
  const v = parseAttr(p);
  if (v.k !== 'dense' && v.k !== 'elided') throw p.c.errorAt(op.pos, "'stablehlo.constant' expects a dense<…> value");
  op.attrs['value'] = v;
  op.resultTypes = [v.type];
};

/** `tensor.cast %x : tensor<4xi32> to tensor<?xi32>` (printed between StableHLO ops by MLIR passes). */
const tensorCastForm: Form = (p, op) => {
  const c = p.c;
  p.operand(op);
  attrDict(p, op);
  c.expect(':', "before the type of 'tensor.cast'");
  op.operandTypes = [parseType(p)];
  c.expect('to', "in 'tensor.cast'");
  op.resultTypes = [parseType(p)];
};

const compareForm: Form = (p, op) => {
  const c = p.c;
  const dir = c.expectKind('ident', 'a comparison direction (EQ, NE, LT, LE, GT, GE)');
  if (!['EQ', 'NE', 'LT', 'LE', 'GT', 'GE'].includes(dir.text))
    throw c.errorAt(c.pos(dir), `'${dir.text}' is not a comparison direction`);
  op.attrs['comparison_direction'] = { k: 'enum', name: 'comparison_direction', v: dir.text };
  const { bare } = items(p, op, true);
  if (bare.length) op.attrs['compare_type'] = { k: 'enum', name: 'comparison_type', v: bare[0]! };
  attrDict(p, op);
  applySig(p, op, typeSig(p));
};

const iotaForm: Form = (p, op) => {
  const c = p.c;
  c.expect('dim', "in 'stablehlo.iota'");
  c.expect('=');
  op.attrs['iota_dimension'] = i64(parseInt64(p));
  attrDict(p, op);
  c.expect(':');
  op.resultTypes = [parseType(p)];
};

/** Zero-operand ops printed `op : T`. */
const nullaryForm: Form = (p, op) => {
  attrDict(p, op);
  p.c.expect(':');
  op.resultTypes = [parseType(p)];
};

const sliceForm: Form = (p, op) => {
  const c = p.c;
  p.operand(op);
  c.expect('[', 'to open the slice ranges');
  const start: number[] = [];
  const limit: number[] = [];
  const strides: number[] = [];
  if (!c.eat(']')) {
    do {
      start.push(parseInt64(p));
      c.expect(':', 'in a slice range');
      limit.push(parseInt64(p));
      strides.push(c.eat(':') ? parseInt64(p) : 1);
    } while (c.eat(','));
    c.expect(']', 'to close the slice ranges');
  }
  op.attrs['start_indices'] = i64s(start);
  op.attrs['limit_indices'] = i64s(limit);
  op.attrs['strides'] = i64s(strides);
  attrDict(p, op);
  applySig(p, op, typeSig(p));
};

const dotGeneralForm: Form = (p, op) => {
  const { kw } = items(p, op);
  const fields: Record<string, Attr> = {};
  const b = kw.get('batching_dims');
  const k = kw.get('contracting_dims');
  const pair = (v: KwVal | undefined, side: 'l' | 'r'): Attr => ({
    k: 'list',
    v: v?.kind === 'pair' ? v[side].map((x) => ({ k: 'int', v: x }) as Attr) : [],
  });
  fields['lhs_batching_dimensions'] = pair(b, 'l');
  fields['rhs_batching_dimensions'] = pair(b, 'r');
  fields['lhs_contracting_dimensions'] = pair(k, 'l');
  fields['rhs_contracting_dimensions'] = pair(k, 'r');
  op.attrs['dot_dimension_numbers'] = { k: 'struct', name: 'dot', fields };
  for (const [name, v] of kw) {
    if (name === 'batching_dims' || name === 'contracting_dims') continue;
    if (name === 'precision' && v.kind === 'attr') op.attrs['precision_config'] = v.v;
    else if (name === 'algorithm' && v.kind === 'attr')
      op.attrs['algorithm'] = { ...v.v, name: 'dot_algorithm' } as Attr;
    else throw p.c.errorAt(op.pos, `'stablehlo.dot_general' does not take '${name} = …'`);
  }
  attrDict(p, op);
  applySig(p, op, typeSig(p));
};

const convolutionForm: Form = (p, op) => {
  const c = p.c;
  c.expect('(', 'to open the convolution operands');
  p.operand(op);
  c.expect(',');
  p.operand(op);
  c.expect(')');
  c.expect('dim_numbers', 'after the convolution operands');
  c.expect('=');
  op.attrs['dimension_numbers'] = convDims(p);
  if (c.eat(',')) {
    c.expect('window');
    c.expect('=');
    c.expect('{', 'to open the window');
    if (!c.eat('}')) {
      do {
        const k = c.expectKind('ident', 'a window field').text;
        c.expect('=');
        if (k === 'pad') {
          c.expect('[');
          const flat: number[] = [];
          if (!c.eat(']')) {
            do {
              const pr = parseIntList(p);
              if (pr.length !== 2) throw c.errorAt(c.pos(c.last!), 'each pad entry is [low, high]');
              flat.push(...pr);
            } while (c.eat(','));
            c.expect(']');
          }
          op.attrs['padding'] = { k: 'ints', v: flat, elem: 'pad' };
        } else if (k === 'reverse') {
          c.expect('[');
          const v: number[] = [];
          if (!c.eat(']')) {
            do {
              const t = c.take();
              v.push(t.text === 'true' || t.text === '1' ? 1 : 0);
            } while (c.eat(','));
            c.expect(']');
          }
          op.attrs['window_reversal'] = { k: 'ints', v, elem: 'i1' };
        } else {
          const canon = { stride: 'window_strides', lhs_dilate: 'lhs_dilation', rhs_dilate: 'rhs_dilation' }[k];
          if (!canon) throw c.errorAt(c.pos(c.last!), `unknown window field '${k}'`);
          op.attrs[canon] = i64s(parseIntList(p));
        }
      } while (c.eat(','));
      c.expect('}', 'to close the window');
    }
  }
  attrDict(p, op);
  applySig(p, op, typeSig(p));
};

let synth = 0;

const reduceForm: Form = (p, op) => {
  const c = p.c;
  const inits: string[] = [];
  const initPos: Pos[] = [];
  do {
    c.expect('(', 'to open a reduce operand');
    p.operand(op);
    c.expect('init', 'in a reduce operand');
    c.expect(':');
    const v = c.expectKind('value', 'an init value');
    inits.push(key(v.text, Math.max(v.index, 0)));
    initPos.push(c.pos(v));
    c.expect(')');
  } while (c.eat(','));
  op.operands.push(...inits);
  op.operandPos.push(...initPos);
  let body: string | undefined;
  let bodyPos: Pos | undefined;
  if (c.eat('applies')) {
    const b = c.expectKind('ident', 'the reducer op');
    body = b.text;
    bodyPos = c.pos(b);
  }
  c.expect('across');
  c.expect('dimensions');
  c.expect('=');
  op.attrs['dimensions'] = i64s(parseIntList(p));
  attrDict(p, op);
  applySig(p, op, typeSig(p));
  const n = inits.length;
  if (body) {
    const elem = (t: MType | undefined): MType => ({
      kind: 'tensor',
      dims: [],
      elem: t?.kind === 'tensor' ? t.elem : 'f32',
    });
    const args: MBlockArg[] = [];
    const tag = `__r${synth++}`;
    for (let side = 0; side < 2; side++)
      for (let i = 0; i < n; i++)
        args.push({ key: key(`${tag}_${side}_${i}`), type: elem(op.operandTypes[i]), attrs: {}, pos: bodyPos! });
    const inner: MOp[] = [];
    const rets: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = key(`${tag}_out_${i}`);
      rets.push(r);
      inner.push({
        name: body,
        results: [r],
        operands: [args[i]!.key, args[n + i]!.key],
        operandPos: [bodyPos!, bodyPos!],
        attrs: {},
        regions: [],
        operandTypes: [args[i]!.type, args[n + i]!.type],
        resultTypes: [args[i]!.type],
        pos: bodyPos!,
      });
    }
    inner.push({
      name: 'stablehlo.return',
      results: [],
      operands: rets,
      operandPos: rets.map(() => bodyPos!),
      attrs: {},
      regions: [],
      operandTypes: args.slice(0, n).map((a) => a.type),
      resultTypes: [],
      pos: bodyPos!,
    });
    op.regions.push([{ args, ops: inner }]);
    return;
  }
  // reducer(%a: T, %b: T) (%c: U, %d: U) { … }
  c.expect('reducer', 'or applies');
  const lhs: MBlockArg[] = [];
  const rhs: MBlockArg[] = [];
  for (let i = 0; i < n; i++) {
    c.expect('(');
    for (const side of [lhs, rhs]) {
      const v = c.expectKind('value', 'a reducer argument');
      c.expect(':');
      side.push({ key: key(v.text), type: parseType(p), attrs: {}, pos: c.pos(v) });
      if (side === lhs) c.expect(',');
    }
    c.expect(')');
  }
  op.regions.push(p.parseRegion([...lhs, ...rhs]));
};

const whileForm: Form = (p, op) => {
  const c = p.c;
  c.expect('(', "after 'stablehlo.while'");
  const iter: { key: string; pos: Pos }[] = [];
  if (!c.eat(')')) {
    do {
      const v = c.expectKind('value', 'a loop variable');
      iter.push({ key: key(v.text), pos: c.pos(v) });
      c.expect('=');
      p.operand(op);
    } while (c.eat(','));
    c.expect(')');
  }
  attrDict(p, op);
  const types: MType[] = [];
  if (c.eat(':')) {
    do types.push(parseType(p));
    while (c.eat(','));
  }
  if (types.length !== iter.length)
    throw c.errorAt(op.pos, `'stablehlo.while' has ${iter.length} loop variables but ${types.length} types`);
  op.operandTypes = types;
  op.resultTypes = op.results.length ? types : [];
  const args = (): MBlockArg[] => iter.map((it, i) => ({ key: it.key, type: types[i]!, attrs: {}, pos: it.pos }));
  c.expect('cond', 'before the loop condition');
  op.regions.push(p.parseRegion(args()));
  c.expect('do', 'before the loop body');
  op.regions.push(p.parseRegion(args()));
};

const customCallForm: Form = (p, op) => {
  const c = p.c;
  const t = c.peek();
  if (t.kind === 'symbol' || t.kind === 'string') c.take();
  else throw c.unexpected('the call target @name');
  op.attrs['call_target_name'] = { k: 'str', v: t.text };
  c.expect('(', 'to open the custom_call operands');
  if (!c.eat(')')) {
    do p.operand(op);
    while (c.eat(','));
    c.expect(')');
  }
  attrDict(p, op);
  applySig(p, op, typeSig(p));
};

const getTupleElementForm: Form = (p, op) => {
  const c = p.c;
  p.operand(op);
  c.expect('[');
  op.attrs['index'] = { k: 'int', v: parseInt64(p), type: 'i32' };
  c.expect(']');
  attrDict(p, op);
  applySig(p, op, typeSig(p));
};

const tupleForm: Form = (p, op) => {
  items(p, op);
  attrDict(p, op);
  p.c.expect(':');
  const t = parseType(p);
  op.resultTypes = [t];
  op.operandTypes = t.kind === 'tuple' ? t.types : [];
};

const compositeForm: Form = (p, op) => {
  const c = p.c;
  op.attrs['name'] = { k: 'str', v: c.expectKind('string', 'the composite name').text };
  items(p, op);
  attrDict(p, op);
  applySig(p, op, typeSig(p));
};

const reducePrecisionForm: Form = (p, op) => {
  const c = p.c;
  p.operand(op);
  c.expect(',');
  c.expect('format');
  c.expect('=');
  const f = c.expectKind('ident', 'a format like e8m10');
  const m = /^e(\d+)m(\d+)$/.exec(f.text);
  if (!m) throw c.errorAt(c.pos(f), `bad reduce_precision format '${f.text}'`);
  op.attrs['exponent_bits'] = { k: 'int', v: Number(m[1]), type: 'i32' };
  op.attrs['mantissa_bits'] = { k: 'int', v: Number(m[2]), type: 'i32' };
  attrDict(p, op);
  applySig(p, op, typeSig(p));
};

/** chlo.top_k(%x, k = 5[, is_stable = true]) : T -> (T, U) */
const topKForm: Form = (p, op) => {
  const c = p.c;
  c.expect('(');
  p.operand(op);
  c.expect(',');
  c.expect('k');
  c.expect('=');
  op.attrs['k'] = i64(parseInt64(p));
  if (c.eat(',')) {
    c.expect('is_stable');
    c.expect('=');
    const b = c.take();
    if (b.text !== 'true' && b.text !== 'false')
      throw c.errorAt(c.pos(b), `is_stable is true or false, not '${b.text}'`);
    op.attrs['is_stable'] = { k: 'bool', v: b.text === 'true' };
  }
  c.expect(')');
  attrDict(p, op);
  applySig(p, op, typeSig(p));
};

/** chlo.scan(%in…) inits(%init…) dimension=0 [attributes {…}] { region } : (…) -> (…) */
const scanForm: Form = (p, op) => {
  const c = p.c;
  c.expect('(');
  let nIn = 0;
  if (!c.eat(')')) {
    do {
      p.operand(op);
      nIn++;
    } while (c.eat(','));
    c.expect(')');
  }
  c.expect('inits');
  c.expect('(');
  if (!c.eat(')')) {
    do p.operand(op);
    while (c.eat(','));
    c.expect(')');
  }
  c.expect('dimension');
  c.expect('=');
  op.attrs['dimension'] = i64(parseInt64(p));
  op.attrs['num_inputs'] = i64(nIn);
  if (c.eat('attributes')) Object.assign(op.attrs, parseAttrDict(p));
  op.regions.push(p.parseRegion());
  applySig(p, op, typeSig(p));
};

const same = defaultForm;

const FORMS: Record<string, Form> = {
  constant: constantForm,
  compare: compareForm,
  iota: iotaForm,
  slice: sliceForm,
  dot_general: dotGeneralForm,
  convolution: convolutionForm,
  reduce: reduceForm,
  while: whileForm,
  custom_call: customCallForm,
  get_tuple_element: getTupleElementForm,
  tuple: tupleForm,
  composite: compositeForm,
  reduce_precision: reducePrecisionForm,
  top_k: topKForm,
  scan: scanForm,
  replica_id: nullaryForm,
  partition_id: nullaryForm,
  create_token: nullaryForm,
  select: kwForm({}, 'select'),
  broadcast_in_dim: kwForm({ dims: 'broadcast_dimensions' }),
  dynamic_broadcast_in_dim: kwForm({ dims: 'broadcast_dimensions' }),
  transpose: kwForm({ dims: 'permutation' }),
  reverse: kwForm({ dims: 'dimensions' }),
  broadcast: kwForm({ sizes: 'broadcast_sizes' }),
  dynamic_slice: kwForm({ sizes: 'slice_sizes' }),
  pad: kwForm({ low: 'edge_padding_low', high: 'edge_padding_high', interior: 'interior_padding' }),
  concatenate: kwForm({ dim: 'dimension' }),
  dynamic_iota: kwForm({ dim: 'iota_dimension' }),
  get_dimension_size: kwForm({ dim: 'dimension' }),
  set_dimension_size: kwForm({ dim: 'dimension' }),
  dot: kwForm({ precision: 'precision_config' }),
  rng: kwForm({ distribution: 'rng_distribution' }),
  rng_bit_generator: kwForm({ algorithm: 'rng_algorithm' }),
  fft: kwForm({ type: 'fft_type', length: 'fft_length' }),
  einsum: kwForm({ config: 'einsum_config' }),
  unary_einsum: kwForm({ config: 'einsum_config' }),
};

for (const n of [
  'abs',
  'add',
  'and',
  'atan2',
  'cbrt',
  'ceil',
  'cosine',
  'count_leading_zeros',
  'divide',
  'exponential',
  'exponential_minus_one',
  'floor',
  'imag',
  'is_finite',
  'log',
  'log_plus_one',
  'logistic',
  'maximum',
  'minimum',
  'multiply',
  'negate',
  'not',
  'or',
  'popcnt',
  'power',
  'real',
  'remainder',
  'round_nearest_afz',
  'round_nearest_even',
  'rsqrt',
  'shift_left',
  'shift_right_arithmetic',
  'shift_right_logical',
  'sign',
  'sine',
  'sqrt',
  'subtract',
  'tan',
  'tanh',
  'xor',
  'convert',
  'reshape',
  'bitcast_convert',
  'clamp',
  'complex',
  'cholesky',
  'optimization_barrier',
  'after_all',
  'uniform_quantize',
  'uniform_dequantize',
  'dynamic_update_slice',
  'dynamic_reshape',
  'real_dynamic_slice',
  'dynamic_pad',
  'dynamic_gather',
  'dynamic_conv',
  'erf',
  'mulhi',
  'triangular_solve',
  'batch_norm_inference',
  'batch_norm_training',
  'batch_norm_grad',
  'outfeed',
  'infeed',
  'send',
  'recv',
  'all_reduce',
  'all_gather',
  'all_to_all',
  'reduce_scatter',
  'collective_permute',
  'collective_broadcast',
]) {
  FORMS[n] ??= same;
}
