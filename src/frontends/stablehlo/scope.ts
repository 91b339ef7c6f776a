import type { Attr, MBlock, MModule, MOp, MType } from './ast.js';

/**
 * What the StableHLO frontend declares out of scope, by category: the ops and element types that
 * put a test case there. test/conformance/stablehlo-skips.json lists the cases each category
 * covers in the shared suites (a test checks the two agree).
 */
export interface SkipCategory {
  id: string;
  reason: string;
  ops: string[];
  /** Element-type prefixes (`complex`, `!quant`) or whole types (`!stablehlo.token`). */
  types: string[];
}

export const SKIP_CATEGORIES: readonly SkipCategory[] = [
  {
    id: 'collectives',
    reason:
      'collective ops need several replicas/partitions (interpreter.run_parallel); fleetc runs one program per device',
    ops: [
      'stablehlo.all_reduce',
      'stablehlo.all_gather',
      'stablehlo.all_to_all',
      'stablehlo.reduce_scatter',
      'stablehlo.collective_permute',
      'stablehlo.collective_broadcast',
      'stablehlo.replica_id',
      'stablehlo.partition_id',
      'interpreter.run_parallel',
    ],
    types: [],
  },
  {
    id: 'tokens',
    reason: '!stablehlo.token values order side effects; fleetc has no token type',
    ops: ['stablehlo.after_all', 'stablehlo.create_token'],
    types: ['!stablehlo.token'],
  },
  {
    id: 'infeed-outfeed',
    reason: 'infeed/outfeed talk to a host queue that fleetc does not model',
    ops: ['stablehlo.infeed', 'stablehlo.outfeed'],
    types: [],
  },
  {
    id: 'send-recv',
    reason: 'send/recv are host channels outside the program',
    ops: ['stablehlo.send', 'stablehlo.recv'],
    types: [],
  },
  {
    id: 'complex',
    reason: 'complex element types have no kernels in fleetc',
    ops: ['stablehlo.complex', 'stablehlo.real', 'stablehlo.imag'],
    types: ['complex'],
  },
  {
    id: 'quantized',
    reason: 'quantized element types (!quant.uniform) are not supported',
    ops: ['stablehlo.uniform_quantize', 'stablehlo.uniform_dequantize'],
    types: ['!quant'],
  },
  { id: 'fft', reason: 'fft works on complex values', ops: ['stablehlo.fft'], types: [] },
  {
    id: 'no-checks',
    reason: "the case has no check.* expectations (its output is verified by FileCheck on the interpreter's printout)",
    ops: [],
    types: [],
  },
  {
    id: 'interpreter-instrumentation',
    reason:
      "interpreter.probe/print and check.expect_serialized_eq test the reference interpreter's own debug output, not a program result",
    ops: ['interpreter.probe', 'interpreter.print', 'check.expect_serialized_eq'],
    types: [],
  },
];

/** Names of functions that other functions refer to (calls, composites, run_parallel programs). */
export function referencedFunctions(mod: MModule): Set<string> {
  const refs = new Set<string>();
  const visitAttr = (a: Attr): void => {
    if (a.k === 'symbol') refs.add(a.v);
    else if (a.k === 'list') a.v.forEach(visitAttr);
    else if (a.k === 'dict') Object.values(a.v).forEach(visitAttr);
  };
  const visitBlock = (b: MBlock): void => {
    for (const op of b.ops) {
      Object.values(op.attrs).forEach(visitAttr);
      for (const r of op.regions) r.forEach(visitBlock);
    }
  };
  for (const f of mod.funcs) if (f.body) visitBlock(f.body);
  return refs;
}

/** The first out-of-scope category the module's functions fall into. */
export function skipCategoryOf(mod: MModule): { id: string; reason: string; what: string } | undefined {
  const seen = new Set<string>();
  const ops: MOp[] = [];
  const types: MType[] = [];
  const visitBlock = (b: MBlock): void => {
    for (const a of b.args) types.push(a.type);
    for (const op of b.ops) {
      ops.push(op);
      types.push(...op.operandTypes, ...op.resultTypes);
      for (const r of op.regions) r.forEach(visitBlock);
      const callee = op.attrs['callee'];
      if (op.name === 'func.call' && callee?.k === 'symbol') visitFn(callee.v);
    }
  };
  const visitFn = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const fn = mod.funcs.find((f) => f.name === name);
    if (!fn) return;
    types.push(...fn.args.map((a) => a.type), ...fn.resultTypes);
    if (fn.body) visitBlock(fn.body);
  };
  for (const f of mod.funcs) visitFn(f.name);
  const elems = new Set<string>();
  const addType = (t: MType): void => {
    if (t.kind === 'tensor') elems.add(t.elem);
    else if (t.kind === 'scalar') elems.add(t.elem);
    else if (t.kind === 'token') elems.add('!stablehlo.token');
    else if (t.kind === 'tuple') t.types.forEach(addType);
    else if (t.kind === 'function') [...t.inputs, ...t.results].forEach(addType);
    else elems.add(t.text);
  };
  types.forEach(addType);
  const names = new Set(ops.map((o) => o.name));
  for (const cat of SKIP_CATEGORIES) {
    const op = cat.ops.find((o) => names.has(o));
    if (op) return { id: cat.id, reason: cat.reason, what: `uses '${op}'` };
    for (const e of elems)
      if (cat.types.some((p) => e === p || e.startsWith(p)))
        return { id: cat.id, reason: cat.reason, what: `uses type '${e}'` };
  }
  return undefined;
}
