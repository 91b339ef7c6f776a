import type { Diagnostic } from '../../src/diagnostics/index.js';
import { dtypeBits, isFloat } from '../../src/ir/dtype.js';
import type { IRGraph, OpAttrs } from '../../src/ir/graph.js';
import { product, sanitizeSymbol, Sym, sym, symbolsOf, type Dim } from '../../src/ir/sym.js';
import type { TensorConst, ValueAttrs } from '../../src/ir/types.js';
import { readWeightBytes } from '../../src/ir/weights.js';
import { OpCtx, type OpServices, type SubgraphResult } from './context.js';
import { decodeElements } from './eval/bytes.js';
import { lookupEvalFn } from './eval/index.js';
import { mergeDeclared, sameType } from './merge.js';
import { lookupShapeFn, opKey } from './table.js';
import { unsupportedReason } from './unsupported.js';
import type { Known, VType } from './types.js';

/** What `infer-shapes` leaves in ctx.results for later passes. */
export interface ShapeResults {
  /** Known contents of small tensors (shape arithmetic), per graph (subgraphs included), by value name. */
  knowns: Map<IRGraph, Map<string, Known>>;
  /** Op types (`domain:Op`, '' for ai.onnx) with no shape function, with their node counts. */
  unsupported: Map<string, number>;
  /** Symbols made for data-dependent dims. */
  freshSymbols: Set<string>;
  /** Ops whose shape function failed (malformed attributes, incompatible inputs …). */
  failed: number;
}

export interface InferOptions {
  /** Largest tensor, in elements, whose contents are computed. */
  limit?: number;
  /**
   * Largest float weight (elements) whose contents are read (default 64). Shapes come from
   * integer tensors; floats matter only as scalars and short lists (Range bounds, Resize scales),
   * and decoding every weight matrix would cost time and memory. `fold` raises it to `limit`.
   */
  floatLimit?: number;
  /** Contents of top-level values the caller knows (e.g. a run's input tensors), by value name. */
  knownValues?: ReadonlyMap<string, Known>;
}

type Scope = (name: string) => { type: VType; known?: Known } | undefined;

function typeOf(v: ValueAttrs): VType {
  return v.container ? { dtype: v.dtype, shape: v.shape, container: v.container } : { dtype: v.dtype, shape: v.shape };
}

const ROOT_ROLES = new Set(['input', 'weight', 'outer']);

/** A dimension a shape function may produce: a non-negative integer or a symbolic expression. */
function validDim(d: Dim): boolean {
  return typeof d === 'number' ? d >= 0 && Number.isSafeInteger(d) : d instanceof Sym;
}

export class ShapeInference {
  readonly results: ShapeResults = { knowns: new Map(), unsupported: new Map(), freshSymbols: new Set(), failed: 0 };
  private declared = new Map<IRGraph, Map<string, VType>>();
  private freshByKey = new Map<string, Dim>();
  private usedNames = new Set<string>();
  private warnedUnsupported = new Set<string>();
  private readonly limit: number;
  private readonly floatLimit: number;
  private readonly file: string;

  constructor(
    readonly root: IRGraph,
    readonly diagnostics: Diagnostic[],
    opts: InferOptions = {},
  ) {
    this.limit = opts.limit ?? 1 << 16;
    this.floatLimit = Math.min(opts.floatLimit ?? 64, this.limit);
    this.file = root.meta.file;
    if (opts.knownValues) {
      const kn = this.knownsOf(root);
      for (const [name, k] of opts.knownValues) if (root.hasValue(name)) kn.set(name, k);
    }
    root.g.forEachNode((_k, a) => {
      if (a.kind === 'value' && a.shape)
        for (const d of a.shape) if (typeof d !== 'number') symbolsOf(d, this.usedNames);
    });
  }

  run(): void {
    this.inferGraph(this.root, undefined, this.root.name);
  }

  private isFresh = (d: Dim): boolean => {
    if (typeof d === 'number') return false;
    for (const s of symbolsOf(d)) if (this.results.freshSymbols.has(s)) return true;
    return false;
  };

  private knownsOf(g: IRGraph): Map<string, Known> {
    let m = this.results.knowns.get(g);
    if (!m) this.results.knowns.set(g, (m = new Map()));
    return m;
  }

  /** The model's own declarations of a graph's computed values, taken before the first inference. */
  private declaredOf(g: IRGraph): Map<string, VType> {
    let m = this.declared.get(g);
    if (!m) {
      m = new Map();
      const mm = m;
      g.g.forEachNode((key, a) => {
        if (a.kind === 'value' && !ROOT_ROLES.has(a.role)) mm.set(key.slice(2), typeOf(a));
      });
      this.declared.set(g, m);
    }
    return m;
  }

  private knownOf(g: IRGraph, name: string): Known | undefined {
    const kn = this.knownsOf(g);
    const k = kn.get(name);
    if (k) return k;
    const v = g.value(name);
    if (v.role !== 'weight' || !v.weight || !v.dtype || !v.shape || v.weight.kind === 'elided') return undefined;
    if (!v.shape.every((d) => typeof d === 'number')) return undefined;
    const shape = v.shape as number[];
    const n = product(shape) as number;
    if (n > (isFloat(v.dtype) ? this.floatLimit : this.limit) || dtypeBits(v.dtype) < 8) return undefined;
    try {
      const data = decodeElements(v.dtype, readWeightBytes(v.weight), n);
      if (!data) return undefined;
      const known: Known = { dtype: v.dtype, shape, data };
      kn.set(name, known);
      return known;
    } catch {
      return undefined;
    }
  }

  private tensorAttrKnown(t: TensorConst): Known | undefined {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n > (isFloat(t.dtype) ? this.floatLimit : this.limit) || t.ref.kind === 'elided' || dtypeBits(t.dtype) < 8)
      return undefined;
    try {
      const data = decodeElements(t.dtype, readWeightBytes(t.ref), n);
      return data ? { dtype: t.dtype, shape: t.shape.slice(), data } : undefined;
    } catch {
      return undefined;
    }
  }

  private fresh(path: string, op: string, tag: string): Dim {
    const key = `${path}\u0000${op}\u0000${tag}`;
    const have = this.freshByKey.get(key);
    if (have !== undefined) return have;
    const base = sanitizeSymbol(`${op}_${tag}`);
    let name = base;
    for (let i = 2; this.usedNames.has(name); i++) name = `${base}_${i}`;
    this.usedNames.add(name);
    this.results.freshSymbols.add(name);
    const d = sym(name);
    this.freshByKey.set(key, d);
    return d;
  }

  private warn(op: OpAttrs, message: string): void {
    this.diagnostics.push({
      severity: 'warning',
      code: 'E0201',
      message: `${op.opType} '${op.name}': ${message}`,
      loc: { ...op.loc, file: op.loc.file || this.file, node: op.loc.node ?? op.name },
    });
  }

  private scopeFor(g: IRGraph, parent: Scope | undefined): Scope {
    return (name) => {
      if (g.hasValue(name)) {
        const v = g.value(name);
        return { type: typeOf(v), known: this.knownOf(g, name) };
      }
      return parent?.(name);
    };
  }

  private inferGraph(g: IRGraph, parent: Scope | undefined, path: string): void {
    this.declaredOf(g);
    const kn = this.knownsOf(g);
    if (parent) {
      for (const name of g.values()) {
        const v = g.value(name);
        if (v.role !== 'outer') continue;
        const outer = parent(name);
        if (!outer) continue;
        const merged = mergeDeclared(outer.type, typeOf(v), () => false).type;
        if (!sameType(merged, typeOf(v))) g.updateValue(name, merged);
        if (outer.known) kn.set(name, outer.known);
        else kn.delete(name);
      }
    }
    const scope = this.scopeFor(g, parent);
    const svc: OpServices = {
      limit: this.limit,
      fresh: (op, tag) => this.fresh(path, op, tag),
      warn: (op, msg) => this.warn(op, msg),
      tensorAttrKnown: (t) => this.tensorAttrKnown(t),
      inferSubgraph: (sub, inputs, knowns, exact) => this.inferSubgraph(sub, inputs, knowns, scope, path, exact ?? []),
    };
    for (const id of g.topoOps()) this.inferOp(g, id, svc);
  }

  private inferSubgraph(
    sub: IRGraph,
    inputs: (VType | undefined)[],
    knowns: (Known | undefined)[],
    scope: Scope,
    path: string,
    exact: boolean[],
  ): SubgraphResult {
    const decl = this.declaredOf(sub);
    const kn = this.knownsOf(sub);
    sub.inputs.forEach((name, i) => {
      const v = sub.value(name);
      const bound = inputs[i];
      if (!decl.has(name)) decl.set(name, typeOf(v));
      const merged = exact[i] && bound ? bound : mergeDeclared(bound, decl.get(name), () => false).type;
      if (!sameType(merged, typeOf(v))) sub.updateValue(name, merged);
      const k = knowns[i];
      if (k) kn.set(name, k);
      else kn.delete(name);
    });
    this.inferGraph(sub, scope, `${path}/${sub.name}`);
    return {
      types: sub.outputs.map((o) => typeOf(sub.value(o))),
      knowns: sub.outputs.map((o) => this.knownOf(sub, o)),
    };
  }

  private inferOp(g: IRGraph, id: string, svc: OpServices): void {
    const op = g.op(id);
    const ins = g.opInputs(id);
    const outs = g.opOutputs(id);
    const types = ins.map((v) => (v === undefined ? undefined : typeOf(g.value(v))));
    const knowns = ins.map((v) => (v === undefined ? undefined : this.knownOf(g, v)));
    const ctx = new OpCtx(id, op, types, knowns, op.numOutputs, svc);
    const key = opKey(op.domain, op.opType);
    const fn = lookupShapeFn(op.domain, op.opType);
    let outTypes: (VType | undefined)[] = [];
    if (!fn) {
      this.results.unsupported.set(key, (this.results.unsupported.get(key) ?? 0) + 1);
      if (!this.warnedUnsupported.has(key)) {
        this.warnedUnsupported.add(key);
        const reason = unsupportedReason(key);
        this.warn(
          op,
          reason
            ? `unsupported: ${key} (${reason}); its outputs keep their declared types`
            : `no shape function for ${key}; its outputs keep their declared types`,
        );
      }
    } else {
      try {
        outTypes = fn(ctx);
        const neg = outTypes.findIndex((ty) => ty?.shape?.some((d) => !validDim(d)));
        if (neg >= 0)
          throw new Error(`output ${neg} would get an invalid dimension (${outTypes[neg]!.shape!.join(', ')})`);
      } catch (e) {
        outTypes = [];
        this.results.failed++;
        this.warn(op, `cannot infer output types: ${(e as Error).message}`);
      }
    }
    let outKnowns: (Known | undefined)[] | undefined = ctx.knownOutputs;
    const ev = lookupEvalFn(op.domain, op.opType);
    if (ev) {
      try {
        outKnowns = ev(ctx, outTypes)?.map((k) =>
          k && k.shape.every(validDim) && k.data.every((d) => typeof d === 'number' || d instanceof Sym)
            ? k
            : undefined,
        );
      } catch {
        outKnowns = undefined; // the evaluator only folds what it fully understands
      }
    }
    const kn = this.knownsOf(g);
    const decl = this.declaredOf(g);
    outs.forEach((name, i) => {
      if (name === undefined) return;
      let inf = outTypes[i];
      const k = outKnowns?.[i];
      if (k) {
        kn.set(name, k);
        if (!inf?.shape || !inf.dtype) inf = { dtype: inf?.dtype ?? k.dtype, shape: inf?.shape ?? k.shape };
      } else kn.delete(name);
      const merged = mergeDeclared(inf, decl.get(name), this.isFresh);
      if (merged.conflict) this.warn(op, `output '${name}': ${merged.conflict}`);
      const cur = g.value(name);
      if (!sameType(merged.type, typeOf(cur))) {
        g.updateValue(name, {
          dtype: merged.type.dtype,
          shape: merged.type.shape,
          container: merged.type.container,
        });
      }
    });
  }
}
