import { FleetcError } from '../../diagnostics/index.js';
import {
  byteSize,
  dtypeBits,
  IRGraph,
  sym,
  type AttrValue,
  type DType,
  type Dim,
  type Shape,
  type SourceLoc,
  type WeightRef,
} from '../../ir/index.js';
import type { MBlock, MFunc, MModule, MOp, MType, Pos } from './ast.js';
import { refName, typeToString } from './ast.js';
import { attrsToIR } from './attrs-ir.js';
import { DenseError, denseBytes, elemDType, elemUnsupported, encodeDense, type DenseValue } from './dense.js';
import { lowerOp } from './lower.js';
import { opName, Scope, type Lowering } from './lowering.js';

/** Opset of the ONNX ops the frontend emits (Reduce*, Slice, Pad take axes/pads as inputs). */
export const ONNX_OPSET = 18;
export const STABLEHLO_OPSET = 1;

/** Splat constants larger than this become ConstantOfShape instead of inline bytes. */
const SPLAT_INLINE_LIMIT = 4096;

/** What an op hook can do with an op instead of lowering it (used for `check.*` in tests). */
export type OpHook = (op: MOp, cx: Emitter, scope: Scope) => boolean;

export interface ConvertOptions {
  /** Entry function; default `main`, else the only public function. */
  entry?: string;
  hook?: OpHook;
}

/** Regions of the kept ops, by attribute name in the IR. */
const REGION_NAMES: Record<string, string[]> = {
  'stablehlo.reduce': ['body'],
  'stablehlo.reduce_window': ['body'],
  'stablehlo.while': ['cond', 'body'],
  'stablehlo.if': ['then_branch', 'else_branch'],
  'stablehlo.sort': ['comparator'],
  'stablehlo.scatter': ['update_computation'],
  'stablehlo.select_and_scatter': ['select', 'scatter'],
  'stablehlo.map': ['computation'],
  'stablehlo.all_reduce': ['computation'],
  'stablehlo.reduce_scatter': ['computation'],
  'chlo.scan': ['body'],
};

/** Converts a parsed module's entry function (calls inlined) into an IR graph. */
export function moduleToIR(mod: MModule, opts: ConvertOptions = {}): IRGraph {
  const fn = pickEntry(mod, opts.entry);
  return functionToIR(mod, fn, opts);
}

export function pickEntry(mod: MModule, entry?: string): MFunc {
  const byName = (n: string): MFunc | undefined => mod.funcs.find((f) => f.name === n);
  if (entry) {
    const f = byName(entry);
    if (!f) throw new FleetcError('E0102', `no function @${entry} in the module`, { file: mod.file, ...mod.pos });
    return f;
  }
  const main = byName('main');
  if (main) return main;
  const pub = mod.funcs.filter((f) => f.visibility === 'public' && f.body);
  if (pub.length === 1) return pub[0]!;
  if (!pub.length) throw new FleetcError('E0102', 'the module has no public function', { file: mod.file, ...mod.pos });
  return pub[0]!;
}

export function functionToIR(mod: MModule, fn: MFunc, opts: ConvertOptions = {}): IRGraph {
  const graph = new IRGraph(mod.name ?? fn.name, {
    format: 'stablehlo',
    file: mod.file,
    producer: typeof mod.attrs['mhlo.frontend_attributes'] === 'undefined' ? undefined : 'jax',
    opsets: { '': ONNX_OPSET, stablehlo: STABLEHLO_OPSET },
  });
  if (graph.meta.producer === undefined) delete graph.meta.producer;
  const cx = new Emitter(mod, graph, null, opts);
  if (!fn.body) throw cx.err(fn.pos, `function @${fn.name} has no body`);
  const scope = new Scope(null);
  fn.args.forEach((a, i) => {
    const info = a.attrs['jax.arg_info'];
    const base = info?.k === 'str' && info.v ? info.v : a.key.slice(0, a.key.lastIndexOf('#'));
    const name = graph.freshValueName(base);
    graph.addValue({ name, ...cx.typeOf(a.type, a.pos, `argument ${i}`), role: 'input' });
    scope.set(a.key, name);
    graph.inputs = [...graph.inputs, name];
  });
  // Values the entry function returns take their `jax.result_info` names when they are made.
  const ret = fn.body.ops[fn.body.ops.length - 1];
  if (ret?.name === 'func.return')
    ret.operands.forEach((k, i) => {
      const info = fn.resultAttrs[i]?.['jax.result_info'];
      if (info?.k === 'str' && /^[A-Za-z_][\w.]*$/.test(info.v) && !cx.preferred.has(k)) cx.preferred.set(k, info.v);
    });
  const outs = cx.emitBlock(fn.body, scope, fn.name, []);
  const outNames: string[] = [];
  outs.forEach((v, i) => {
    const info = fn.resultAttrs[i]?.['jax.result_info'];
    let name = v;
    const want = info?.k === 'str' && info.v ? info.v : '';
    const val = graph.value(v);
    if ((want && want !== v && !graph.hasValue(want)) || val.role !== 'intermediate' || outNames.includes(v)) {
      // An input, a weight or a repeated value returned as an output gets its own Identity.
      name = graph.freshValueName(want || `${v}_out`);
      graph.addValue({ name, dtype: val.dtype, shape: val.shape, role: 'output' });
      graph.addOp(
        { opType: 'Identity', loc: cx.loc(fn.pos), opset: ONNX_OPSET, name: opName('Identity', [name]) },
        [v],
        [name],
      );
    } else graph.updateValue(v, { role: 'output' });
    outNames.push(name);
  });
  graph.outputs = outNames;
  return graph;
}

/**
 * Emits ops of one graph (the top graph or a region's subgraph). Lowering functions use its
 * helpers to create values, constants and ops.
 */
export class Emitter implements Lowering {
  /** IR names wanted for some value keys of the entry function (its results' jax.result_info). */
  readonly preferred = new Map<string, string>();
  /** Calls being inlined, to detect recursion. */
  private readonly callStack: string[] = [];

  constructor(
    readonly mod: MModule,
    readonly graph: IRGraph,
    readonly parent: Emitter | null,
    readonly opts: ConvertOptions,
  ) {}

  err(pos: Pos, message: string, code: 'E0102' | 'E0103' | 'E0105' = 'E0102'): FleetcError {
    return new FleetcError(code, message, { file: this.mod.file, line: pos.line, col: pos.col });
  }

  loc(pos: Pos, userLoc?: string): SourceLoc {
    const l: SourceLoc = { file: this.mod.file, line: pos.line, col: pos.col };
    if (userLoc) l.node = userLoc;
    return l;
  }

  /** IR dtype and shape of an MLIR type; unsupported types are E0103 at `pos`. */
  typeOf(t: MType, pos: Pos, what: string): { dtype: DType; shape: Shape } {
    if (t.kind === 'tensor') {
      const why = elemUnsupported(t.elem);
      if (why) throw this.err(pos, `${what} has unsupported ${why}`, 'E0103');
      const shape: Dim[] = t.dims.map((d, i) => (d < 0 ? sym(`d${pos.line}_${pos.col}_${i}`) : d));
      return { dtype: elemDType(t.elem)!, shape };
    }
    if (t.kind === 'token') throw this.err(pos, `${what} is a !stablehlo.token; tokens are not supported`, 'E0103');
    if (t.kind === 'tuple') throw this.err(pos, `${what} is a tuple; tuples are not supported`, 'E0103');
    throw this.err(pos, `${what} has unsupported type ${typeToString(t)}`, 'E0103');
  }

  /** Emits a block's ops; returns the IR names of the values its terminator returns. */
  emitBlock(block: MBlock, scope: Scope, fnName: string, _extra: string[]): string[] {
    let ret: string[] | null = null;
    for (const op of block.ops) {
      if (ret) throw this.err(op.pos, `'${op.name}' after the terminator of @${fnName}`);
      if (op.name === 'func.return' || op.name === 'stablehlo.return') {
        ret = op.operands.map((k, i) => this.use(scope, k, op.operandPos[i]!));
        const tup = ret.findIndex(isTupleRef);
        if (tup >= 0) throw this.err(op.operandPos[tup] ?? op.pos, 'returning a tuple is not supported', 'E0103');
        this.checkOperandTypes(op, ret);
        continue;
      }
      this.emitOp(op, scope);
    }
    if (!ret)
      throw this.err(
        block.ops[block.ops.length - 1]?.pos ?? { line: 0, col: 0 },
        `a block of @${fnName} has no return`,
      );
    return ret;
  }

  /** The IR value for an operand key; an undefined value is E0105 at the reference. */
  use(scope: Scope, k: string, pos: Pos): string {
    const found = scope.lookup(k);
    if (!found) throw this.err(pos, `use of undefined value ${refName(k)}`, 'E0105');
    if (isTupleRef(found.name)) return found.name;
    this.importThrough(found.name, found.depth);
    return found.name;
  }

  /** Declares an outer value in this subgraph and the `depth - 1` enclosing ones below its home. */
  private importThrough(name: string, depth: number): void {
    if (depth <= 0 || !this.parent) return;
    this.importOuter(name);
    this.parent.importThrough(name, depth - 1);
  }

  /** Tuples exist only in the frontend: `stablehlo.tuple` records its elements, get_tuple_element picks one. */
  private readonly tuples = new Map<string, string[]>();

  private tupleElems(ref: string): string[] | undefined {
    return this.tuples.get(ref) ?? this.parent?.tupleElems(ref);
  }

  private emitTupleOp(op: MOp, scope: Scope): boolean {
    if (op.name === 'stablehlo.tuple') {
      const elems = op.operands.map((k, i) => this.use(scope, k, op.operandPos[i]!));
      const ref = `${TUPLE_REF}${op.pos.line}:${op.pos.col}`;
      this.tuples.set(ref, elems);
      scope.set(op.results[0]!, ref);
      return true;
    }
    if (op.name === 'stablehlo.get_tuple_element') {
      const t = this.use(scope, op.operands[0]!, op.operandPos[0]!);
      const elems = this.tupleElems(t);
      const index = op.attrs['index'];
      if (!elems || index?.k !== 'int')
        throw this.err(op.pos, "'stablehlo.get_tuple_element' needs a tuple operand and an index");
      const v = elems[index.v];
      if (v === undefined) throw this.err(op.pos, `tuple index ${index.v} is out of range (${elems.length} elements)`);
      scope.set(op.results[0]!, v);
      return true;
    }
    return false;
  }

  /** Declares an outer-scope value inside this subgraph (role 'outer'). */
  importOuter(name: string): void {
    if (this.graph.hasValue(name)) return;
    const outer = this.rootValue(name);
    this.graph.addValue({ name, dtype: outer?.dtype ?? null, shape: outer?.shape ?? null, role: 'outer' });
  }

  private rootValue(name: string): { dtype: DType | null; shape: Shape | null } | undefined {
    let e: Emitter | null = this.parent;
    while (e) {
      if (e.graph.hasValue(name)) return e.graph.value(name);
      e = e.parent;
    }
    return undefined;
  }

  /** Checks each operand's declared type against the value's IR type. */
  checkOperandTypes(op: MOp, names: string[]): void {
    names.forEach((n, i) => {
      const t = op.operandTypes[i];
      if (!t || t.kind !== 'tensor') return;
      const v = this.graph.hasValue(n) ? this.graph.value(n) : undefined;
      if (!v || !v.shape || !v.dtype) return;
      const dt = elemDType(t.elem);
      const same =
        dt === v.dtype &&
        t.dims.length === v.shape.length &&
        t.dims.every((d, j) => d < 0 || typeof v.shape![j] !== 'number' || v.shape![j] === d);
      if (!same)
        throw this.err(
          op.operandPos[i] ?? op.pos,
          `type mismatch: operand ${i} of '${op.name}' is declared ${typeToString(t)} but ${refName(op.operands[i]!)} is ${irTypeString(v.dtype, v.shape)}`,
        );
    });
  }

  emitOp(op: MOp, scope: Scope): void {
    if (this.opts.hook?.(op, this, scope) === true) return;
    if (op.name === 'func.call') return this.inlineCall(op, scope);
    if (op.name === 'stablehlo.composite') {
      // A composite is its decomposition (a private function); inline it like a call.
      const d = op.attrs['decomposition'];
      if (d?.k === 'symbol') return this.inlineCall({ ...op, attrs: { callee: d } }, scope);
    }
    if (isCheckOp(op)) return; // test expectations outside test mode (see testcases.ts)
    if (this.emitTupleOp(op, scope)) return;
    const inputs = op.operands.map((k, i) => this.use(scope, k, op.operandPos[i]!));
    const tup = inputs.findIndex(isTupleRef);
    if (tup >= 0)
      throw this.err(
        op.operandPos[tup] ?? op.pos,
        `'${op.name}' takes a tuple operand; tuples are only supported through get_tuple_element`,
        'E0103',
      );
    this.checkOperandTypes(op, inputs);
    if (op.name === 'stablehlo.constant' || op.name === 'chlo.constant' || op.name === 'arith.constant')
      return this.emitConstant(op, scope);
    if (isNoop(op)) {
      // Identity transposes, same-type converts, … (Reactant prints many): the result is the operand.
      op.results.forEach((k, i) => scope.set(k, inputs[i]!));
      return;
    }
    if (op.resultTypes.length !== op.results.length) throw this.err(op.pos, `'${op.name}' needs its result types`);
    const outputs = op.results.map((k, i) => {
      const base =
        (this.callStack.length ? undefined : this.preferred.get(k)) ?? (k.endsWith('#0') ? k.slice(0, -2) : k);
      const name = this.graph.freshValueName(base);
      this.graph.addValue({
        name,
        ...this.typeOf(op.resultTypes[i]!, op.pos, `result ${i} of '${op.name}'`),
        role: 'intermediate',
      });
      return name;
    });
    this.lower(op, inputs, outputs, scope);
    op.results.forEach((k, i) => scope.set(k, outputs[i]!));
  }

  lower(op: MOp, ins: string[], outs: string[], scope: Scope): void {
    lowerOp(this, op, ins, outs, scope);
  }

  /** A kept op in the stablehlo (or chlo) domain, regions converted to subgraphs. */
  emitKept(op: MOp, inputs: string[], outputs: string[], scope: Scope, extra: Record<string, AttrValue> = {}): void {
    const dot = op.name.indexOf('.');
    const domain = op.name.slice(0, dot);
    if (domain !== 'stablehlo' && domain !== 'chlo') throw this.err(op.pos, `unsupported op '${op.name}'`, 'E0103');
    const attrs: Record<string, AttrValue> = { ...attrsToIR(op.attrs), ...resultAttrs(op), ...extra };
    const names = REGION_NAMES[op.name];
    if (op.regions.length) {
      if (op.name === 'stablehlo.case')
        attrs['branches'] = { type: 'graphs', value: op.regions.map((r, i) => this.regionGraph(op, r, i, scope)) };
      else
        op.regions.forEach((r, i) => {
          const n = names?.[i] ?? `region${i}`;
          attrs[n] = { type: 'graph', value: this.regionGraph(op, r, i, scope) };
        });
    }
    this.graph.addOp(
      {
        opType: op.name.slice(dot + 1),
        domain,
        opset: STABLEHLO_OPSET,
        attrs,
        loc: this.loc(op.pos, op.userLoc),
        name: opName(op.name.slice(dot + 1), outputs),
      },
      inputs,
      outputs,
    );
  }

  /** One region → a subgraph: block arguments are its inputs, the returned values its outputs. */
  regionGraph(op: MOp, region: MBlock[], index: number, scope: Scope): IRGraph {
    if (region.length !== 1)
      throw this.err(op.pos, `region ${index} of '${op.name}' has ${region.length} blocks; one is supported`, 'E0103');
    const block = region[0]!;
    const sub = new IRGraph(`${op.name.slice(op.name.indexOf('.') + 1)}_r${index}`, {
      format: 'stablehlo',
      file: this.mod.file,
      opsets: this.graph.meta.opsets,
    });
    const cx = new Emitter(this.mod, sub, this, this.opts);
    const inner = new Scope(scope);
    const inputs = block.args.map((a, i) => {
      const name = this.uniqueAcross(sub, a.key.slice(0, a.key.lastIndexOf('#')));
      sub.addValue({ name, ...this.typeOf(a.type, a.pos, `block argument ${i}`), role: 'input' });
      inner.set(a.key, name);
      return name;
    });
    sub.inputs = inputs;
    const outs = cx.emitBlock(block, inner, op.name, []);
    sub.outputs = outs.map((v) => {
      const val = sub.value(v);
      if (val.role === 'intermediate') sub.updateValue(v, { role: 'output' });
      return v;
    });
    return sub;
  }

  /** A name free in `sub` and in every enclosing graph (subgraph names must not shadow outer values). */
  uniqueAcross(sub: IRGraph, base: string): string {
    let name = base;
    for (let i = 1; sub.hasValue(name) || this.rootHas(name); i++) name = `${base}_${i}`;
    return name;
  }

  private rootHas(name: string): boolean {
    return this.graph.hasValue(name) || (this.parent?.rootHas(name) ?? false);
  }

  /** A fresh intermediate value. */
  tmp(base: string, dtype: DType | null, shape: Shape | null): string {
    const name = this.uniqueAcross(this.graph, base);
    this.graph.addValue({ name, dtype, shape, role: 'intermediate' });
    return name;
  }

  /** Adds an ONNX op (domain ''). */
  onnx(opType: string, inputs: string[], outputs: string[], op: MOp, attrs: Record<string, AttrValue> = {}): void {
    this.graph.addOp(
      {
        opType,
        domain: '',
        opset: ONNX_OPSET,
        attrs,
        loc: this.loc(op.pos, op.userLoc),
        name: opName(opType, outputs),
      },
      inputs,
      outputs,
    );
  }

  /** A constant weight value with inline bytes. */
  weight(base: string, dtype: DType, shape: number[], data: Uint8Array | WeightRef): string {
    const name = this.uniqueAcross(this.graph, base);
    const ref: WeightRef = data instanceof Uint8Array ? { kind: 'inline', data } : data;
    this.graph.addValue({ name, dtype, shape, role: 'weight', weight: ref });
    return name;
  }

  /** int64 constants made so far, by contents: equal shapes and axes share one weight. */
  private readonly i64s = new Map<string, string>();

  /** An int64 1-D constant (shapes, axes, pads). */
  i64(base: string, values: number[]): string {
    const k = values.join(',');
    const have = this.i64s.get(k);
    if (have !== undefined) return have;
    const b = new Uint8Array(values.length * 8);
    const dv = new DataView(b.buffer);
    values.forEach((v, i) => dv.setBigInt64(i * 8, BigInt(v), true));
    const name = this.weight(base, 'int64', [values.length], b);
    this.i64s.set(k, name);
    return name;
  }

  /** Weight bytes of a value that is an inline weight, else undefined. */
  constBytes(name: string): { dtype: DType; shape: Shape; bytes: Uint8Array } | undefined {
    const v = this.graph.value(name);
    if (v.role !== 'weight' || v.weight?.kind !== 'inline' || !v.dtype || !v.shape) return undefined;
    return { dtype: v.dtype, shape: v.shape, bytes: v.weight.data };
  }

  private emitConstant(op: MOp, scope: Scope): void {
    const k = op.results[0];
    if (!k || op.results.length !== 1) throw this.err(op.pos, "'stablehlo.constant' has one result");
    const value = op.attrs['value'];
    const base = (this.callStack.length ? undefined : this.preferred.get(k)) ?? (k.endsWith('#0') ? k.slice(0, -2) : k);
    if (value?.k === 'elided') {
      const t = this.typeOf(value.type, op.pos, 'the constant');
      const blob = this.mod.resources?.get(value.handle);
      if (blob) {
        const n = t.shape.reduce((a: number, b) => a * (b as number), 1);
        const need = byteSize(t.dtype, n);
        if (blob.length !== need)
          throw this.err(
            op.pos,
            `resource '${value.handle}' has ${blob.length} bytes; ${typeToString(value.type)} needs ${need}`,
          );
        scope.set(k, this.weight(base, t.dtype, t.shape as number[], blob));
        return;
      }
      const name = this.uniqueAcross(this.graph, base);
      this.graph.addValue({ name, ...t, role: 'weight', weight: { kind: 'elided' } });
      scope.set(k, name);
      return;
    }
    if (value?.k !== 'dense') throw this.err(op.pos, `'${op.name}' needs a dense<…> value`, 'E0103');
    // The result type first: a quantized or complex result is unsupported, not a mismatch.
    if (op.resultTypes[0]) this.typeOf(op.resultTypes[0], op.pos, 'the constant');
    let d: DenseValue;
    try {
      d = encodeDense(value);
    } catch (e) {
      if (e instanceof DenseError) throw this.err(value.pos, e.message, e.unsupported ? 'E0103' : 'E0102');
      throw e;
    }
    const rt = op.resultTypes[0];
    if (rt && typeToString(rt) !== typeToString(value.type))
      throw this.err(
        op.pos,
        `type mismatch: constant value is ${typeToString(value.type)} but the result is ${typeToString(rt)}`,
      );
    const n = d.shape.reduce((a, b) => a * b, 1);
    if (d.splat && n > SPLAT_INLINE_LIMIT) {
      const name = this.tmp(base, d.dtype, d.shape);
      const shape = this.i64(`${name}_shape`, d.shape);
      this.graph.addOp(
        {
          opType: 'ConstantOfShape',
          name: opName('ConstantOfShape', [name]),
          opset: ONNX_OPSET,
          loc: this.loc(op.pos, op.userLoc),
          attrs: {
            value: { type: 'tensor', value: { dtype: d.dtype, shape: [1], ref: { kind: 'inline', data: d.bytes } } },
          },
        },
        [shape],
        [name],
      );
      scope.set(k, name);
      return;
    }
    scope.set(k, this.weight(base, d.dtype, d.shape, denseBytes(d)));
  }

  /** `func.call @f(args)`: the callee's body is emitted here with its arguments bound (inlining). */
  private inlineCall(op: MOp, scope: Scope): void {
    const callee = op.attrs['callee'];
    if (callee?.k !== 'symbol') throw this.err(op.pos, 'func.call without a callee');
    const fn = this.mod.funcs.find((f) => f.name === callee.v);
    if (!fn) throw this.err(op.pos, `call to undefined function @${callee.v}`);
    if (!fn.body) throw this.err(op.pos, `call to @${callee.v}, which has no body`, 'E0103');
    if (this.callStack.includes(fn.name)) throw this.err(op.pos, `recursive call to @${fn.name}`, 'E0103');
    if (fn.args.length !== op.operands.length)
      throw this.err(op.pos, `@${fn.name} takes ${fn.args.length} arguments but the call passes ${op.operands.length}`);
    // The body's own scope, with no parent: a callee cannot see the caller's values.
    const inner = new Scope(null);
    const args = op.operands.map((k, i) => this.use(scope, k, op.operandPos[i]!));
    this.checkOperandTypes(op, args);
    fn.args.forEach((a, i) => inner.set(a.key, args[i]!));
    this.callStack.push(fn.name);
    const outs = this.emitBlock(fn.body, inner, fn.name, []);
    this.callStack.pop();
    if (outs.length !== op.results.length)
      throw this.err(op.pos, `@${fn.name} returns ${outs.length} values but the call names ${op.results.length}`);
    op.results.forEach((k, i) => scope.set(k, outs[i]!));
  }
}

function irTypeString(dtype: DType, shape: Shape): string {
  return `${dtype}[${shape.map(String).join(', ')}]`;
}

/** A test expectation: `check.expect_*` or `stablehlo.custom_call @check.*` with no results. */
export function isCheckOp(op: MOp): boolean {
  if (op.name.startsWith('check.')) return true;
  if (op.name !== 'stablehlo.custom_call' || op.results.length) return false;
  const target = op.attrs['call_target_name'];
  return target?.k === 'str' && target.v.startsWith('check.');
}

/**
 * Facts a kernel needs that only the result type holds: the static result shape of iota and
 * broadcast_in_dim, the result element size of bitcast_convert.
 */
function resultAttrs(op: MOp): Record<string, AttrValue> {
  const rt = op.resultTypes[0];
  if (rt?.kind !== 'tensor') return {};
  if ((op.name === 'stablehlo.iota' || op.name === 'stablehlo.broadcast_in_dim') && rt.dims.every((d) => d >= 0))
    return { shape: { type: 'ints', value: rt.dims } };
  if (op.name === 'stablehlo.bitcast_convert') {
    // i1 counts as one bit here: f64 → 64 x i1.
    const dt = elemDType(rt.elem);
    return dt ? { result_elem_bits: { type: 'int', value: dt === 'bool' ? 1 : dtypeBits(dt) } } : {};
  }
  return {};
}

const TUPLE_REF = '\u0001tuple@';
const isTupleRef = (name: string): boolean => name.startsWith(TUPLE_REF);

/** Ops whose results are their operands: identity transpose/reshape/convert/broadcast, optimization_barrier. */
function isNoop(op: MOp): boolean {
  if (op.name === 'stablehlo.optimization_barrier') return op.regions.length === 0;
  const NOOP_CANDIDATES = [
    'stablehlo.transpose',
    'stablehlo.reshape',
    'stablehlo.convert',
    'stablehlo.broadcast_in_dim',
  ];
  if (!NOOP_CANDIDATES.includes(op.name) || op.operands.length !== 1 || op.results.length !== 1) return false;
  const a = op.operandTypes[0];
  const r = op.resultTypes[0];
  if (!a || !r || a.kind !== 'tensor' || typeToString(a) !== typeToString(r) || a.dims.some((d) => d < 0)) return false;
  const perm = op.attrs['permutation'] ?? op.attrs['broadcast_dimensions'];
  if (!perm) return true;
  const v = perm.k === 'ints' ? perm.v : undefined;
  return v !== undefined && v.every((p, i) => p === i);
}
