import type { IRGraph } from '../../src/ir/graph.js';
import type { AttrValue } from '../../src/ir/graph.js';
import { FLEETC_DOMAIN } from './conv.js';
import { BINARY, SQUARE, UNARY } from './elementwise.js';
import { MATMUL_ACTIVATIONS } from './matmul.js';
import { addFloatWeight } from './util.js';

/**
 * The inverse of the fusion passes, for writing a compiled graph back as plain ONNX (`fleetc
 * export`): FusedElementwise, FusedConv and FusedMatMul become the standard ops they stand for, and a
 * LayerNormalization that fuse-layernorm made in a model older than opset 17 becomes the
 * decomposed form again. The results are the same up to float rounding order (none for the
 * element-wise ops, which run one after the other as before).
 */

const BY_CODE = new Map<number, string>([...Object.entries(BINARY), ...Object.entries(UNARY)].map(([k, v]) => [v, k]));

const int = (value: number): AttrValue => ({ type: 'int', value });
const ints = (value: number[]): AttrValue => ({ type: 'ints', value });

/** Adds an op whose output is `out` or a fresh float32 value named from `base`; returns the output. */
function emit(
  graph: IRGraph,
  base: string,
  opType: string,
  opset: number,
  inputs: string[],
  out?: string,
  attrs: Record<string, AttrValue> = {},
  loc?: ReturnType<IRGraph['op']>['loc'],
  placement?: string,
  created?: string[],
): string {
  const name = out ?? graph.freshValueName(`${base}/${opType}_output`);
  if (!graph.hasValue(name)) graph.addValue({ name, dtype: 'float32', shape: null, role: 'intermediate' });
  const id = graph.addOp({ opType, opset, attrs, loc, name: `${base}/${opType}` }, inputs, [name]);
  if (placement !== undefined) graph.updateOp(id, { placement });
  created?.push(id);
  return name;
}

/** FusedElementwise → its chain of element-wise ops, in program order. */
export function unfuseElementwise(graph: IRGraph, id: string, opset: number, created: string[] = []): void {
  const op = graph.op(id);
  const prog = op.attrs.program;
  if (!prog || prog.type !== 'ints' || prog.value.length % 3 !== 0 || prog.value.length === 0)
    throw new Error(`FusedElementwise '${op.name}' has no valid program`);
  const inputs = graph.opInputs(id) as string[];
  const [out] = graph.opOutputs(id);
  graph.removeOp(id);
  const regs = [...inputs];
  const n = prog.value.length / 3;
  for (let k = 0; k < n; k++) {
    const [code, a, b] = prog.value.slice(3 * k, 3 * k + 3) as [number, number, number];
    const x = regs[a];
    const y = code < 20 ? regs[b] : undefined;
    const opType = code === SQUARE ? 'Mul' : BY_CODE.get(code);
    if (x === undefined || (code < 20 && y === undefined) || opType === undefined)
      throw new Error(`FusedElementwise '${op.name}': step ${k} is not valid`);
    const args = code === SQUARE ? [x, x] : y === undefined ? [x] : [x, y];
    regs.push(
      emit(graph, op.name, opType, opset, args, k === n - 1 ? out : undefined, {}, op.loc, op.placement, created),
    );
  }
}

/** FusedConv(X, W, B, Z) → Conv, then Add of the residual Z, then the activation. */
export function unfuseConv(graph: IRGraph, id: string, opset: number, created: string[] = []): void {
  const op = graph.op(id);
  const [x, w, b, z] = graph.opInputs(id);
  const [out] = graph.opOutputs(id);
  // Its X, Z and output would be blocked: only the Reorders around it know the plain values.
  if (op.attrs.layout) throw new Error(`FusedConv '${op.name}' is blocked: unblock the graph first (passes/layout)`);
  const { activation, activation_params: params, ...convAttrs } = op.attrs;
  const act = activation && activation.type === 'string' ? activation.value : undefined;
  const p = params && params.type === 'floats' ? params.value : [];
  graph.removeOp(id);
  const last = (step: 'conv' | 'add'): boolean => (step === 'conv' ? !z && !act : !act);
  const convId = graph.addOp(
    { opType: 'Conv', opset, attrs: convAttrs, loc: op.loc, name: op.name },
    [x ?? '', w ?? '', b ?? ''],
    [last('conv') ? out! : graph.freshValueName(`${op.name}/Conv_output`)],
  );
  if (op.placement !== undefined) graph.updateOp(convId, { placement: op.placement });
  created.push(convId);
  let cur = graph.opOutputs(convId)[0]!;
  if (!graph.value(cur).dtype) graph.updateValue(cur, { dtype: 'float32' });
  if (z)
    cur = emit(
      graph,
      op.name,
      'Add',
      opset,
      [cur, z],
      last('add') ? out : undefined,
      {},
      op.loc,
      op.placement,
      created,
    );
  if (!act) return;
  const f = (v: number): AttrValue => ({ type: 'float', value: v });
  let inputs = [cur];
  let attrs: Record<string, AttrValue> = {};
  if (act === 'LeakyRelu') attrs = { alpha: f(p[0] ?? 0.01) };
  else if (act === 'HardSigmoid') attrs = { alpha: f(p[0] ?? 0.2), beta: f(p[1] ?? 0.5) };
  else if (act === 'Clip') {
    if (opset < 11) attrs = { min: f(p[0]!), max: f(p[1]!) };
    else {
      const lo = addFloatWeight(graph, `${op.name}/clip_min`, Float32Array.of(p[0]!), []);
      const hi = addFloatWeight(graph, `${op.name}/clip_max`, Float32Array.of(p[1]!), []);
      inputs = [cur, lo, hi];
    }
  } else if (!['Relu', 'Sigmoid', 'Tanh', 'HardSwish'].includes(act))
    throw new Error(`FusedConv '${op.name}' has an unknown activation '${act}'`);
  emit(graph, op.name, act, opset, inputs, out, attrs, op.loc, op.placement, created);
}

/**
 * FusedMatMul(A, B, bias, Z) → MatMul, Mul by alpha (when not 1), Add of the bias, Add of the residual Z, then the
 * activation (GELU as the erf form: Div √2, Erf, Add 1, Mul x, Mul ½, the order the kernel
 * computes it in).
 */
export function unfuseMatMul(graph: IRGraph, id: string, opset: number, created: string[] = []): void {
  const op = graph.op(id);
  const [a, b, bias, z] = graph.opInputs(id);
  const [out] = graph.opOutputs(id);
  const activation = op.attrs.activation;
  const act = activation && activation.type === 'string' ? activation.value : undefined;
  if (act !== undefined && !(MATMUL_ACTIVATIONS as readonly string[]).includes(act))
    throw new Error(`FusedMatMul '${op.name}' has an unknown activation '${act}'`);
  const alphaAttr = op.attrs.alpha;
  const alpha = alphaAttr && alphaAttr.type === 'float' ? alphaAttr.value : 1;
  graph.removeOp(id);
  const steps = [alpha !== 1 ? 'alpha' : '', bias ? 'bias' : '', z ? 'z' : '', act ?? ''].filter((s) => s !== '');
  const isLast = (step: string): boolean => steps[steps.length - 1] === step;
  const e = (type: string, ins: string[], last: boolean): string =>
    emit(graph, op.name, type, opset, ins, last ? out : undefined, {}, op.loc, op.placement, created);
  let cur = e('MatMul', [a ?? '', b ?? ''], steps.length === 0);
  if (alpha !== 1)
    cur = e('Mul', [cur, addFloatWeight(graph, `${op.name}/alpha`, Float32Array.of(alpha), [])], isLast('alpha'));
  if (bias) cur = e('Add', [cur, bias], isLast('bias'));
  if (z) cur = e('Add', [cur, z], isLast('z'));
  if (act === 'Gelu') {
    const w = (name: string, v: number): string => addFloatWeight(graph, `${op.name}/${name}`, Float32Array.of(v), []);
    const d = e('Div', [cur, w('sqrt2', Math.SQRT2)], false);
    const plus1 = e('Add', [e('Erf', [d], false), w('one', 1)], false);
    e('Mul', [e('Mul', [cur, plus1], false), w('half', 0.5)], true);
  } else if (act) e(act, [cur], true);
}

/**
 * LayerNormalization over the last axis (what fuse-layernorm makes) → the decomposed form of
 * pre-opset-17 exports: ReduceMean, Sub, Mul, ReduceMean, Add ε, Sqrt, Div, Mul γ, Add β.
 */
export function decomposeLayerNorm(graph: IRGraph, id: string, opset: number, created: string[] = []): void {
  const op = graph.op(id);
  const axis = op.attrs.axis;
  const [x, gamma, beta] = graph.opInputs(id);
  const [out, ...stats] = graph.opOutputs(id);
  const rank = x === undefined ? undefined : graph.value(x).shape?.length;
  const a = axis && axis.type === 'int' ? axis.value : -1;
  if (
    x === undefined ||
    gamma === undefined ||
    stats.some((s) => s !== undefined) ||
    (a !== -1 && a !== (rank ?? 0) - 1)
  )
    throw new Error(`LayerNormalization '${op.name}' is not over the last axis alone`);
  const epsAttr = op.attrs.epsilon;
  const eps = epsAttr && epsAttr.type === 'float' ? epsAttr.value : 1e-5;
  graph.removeOp(id);
  const e = (type: string, ins: string[], o?: string, attrs: Record<string, AttrValue> = {}): string =>
    emit(graph, op.name, type, opset, ins, o, attrs, op.loc, op.placement, created);
  const mean = (v: string): string =>
    opset >= 18
      ? e('ReduceMean', [v, axesWeight(graph, `${op.name}/axes`)], undefined, { keepdims: int(1) })
      : e('ReduceMean', [v], undefined, { axes: ints([-1]), keepdims: int(1) });
  const d = e('Sub', [x, mean(x)]);
  const variance = mean(e('Mul', [d, d]));
  const epsW = addFloatWeight(graph, `${op.name}/epsilon`, Float32Array.of(eps), []);
  const n = e('Div', [d, e('Sqrt', [e('Add', [variance, epsW])])]);
  const scaled = e('Mul', [n, gamma], beta === undefined ? out : undefined);
  if (beta !== undefined) e('Add', [scaled, beta], out);
}

/**
 * Attention over 3-D Q, K, V with as many KV heads as query heads, one output, an optional
 * additive float mask (what fuse-attention makes) → the ops of pre-opset-23 exports: each of Q,
 * K, V reshaped to [B, S, H, D] (0: copy the dim) and transposed heads first (K to [0, 2, 3, 1]),
 * MatMul, the scale (a Div where its reciprocal round-trips), Add of the mask, Softmax over the last axis, MatMul by V, the heads
 * transposed back and merged.
 */
export function decomposeAttention(graph: IRGraph, id: string, opset: number, created: string[] = []): void {
  const op = graph.op(id);
  const [q, k, v, mask, ...rest] = graph.opInputs(id);
  const [out, ...more] = graph.opOutputs(id);
  const attr = (name: string): number | undefined => {
    const a = op.attrs[name];
    return a && (a.type === 'int' || a.type === 'float') ? a.value : undefined;
  };
  const heads = attr('q_num_heads');
  const scale = attr('scale');
  const hidden = (x: string | undefined): number | undefined => {
    const s = x === undefined ? undefined : graph.value(x).shape;
    return s && s.length === 3 && typeof s[2] === 'number' ? s[2] : undefined;
  };
  const [dq, dv] = [hidden(q), hidden(v)];
  if (
    q === undefined ||
    k === undefined ||
    v === undefined ||
    out === undefined ||
    heads === undefined ||
    scale === undefined ||
    attr('kv_num_heads') !== heads ||
    dq === undefined ||
    dv === undefined ||
    dq % heads !== 0 ||
    dv % heads !== 0 ||
    rest.some((x) => x !== undefined) ||
    more.some((x) => x !== undefined) ||
    ['is_causal', 'softcap', 'qk_matmul_output_mode'].some((a) => (attr(a) ?? 0) !== 0)
  )
    throw new Error(`Attention '${op.name}' is not the 3-D, one-output form that fuse-attention makes`);
  graph.removeOp(id);
  const e = (type: string, ins: string[], o?: string, attrs: Record<string, AttrValue> = {}): string =>
    emit(graph, op.name, type, opset, ins, o, attrs, op.loc, op.placement, created);
  const shape = (dims: number[]): string => {
    const name = graph.freshValueName(`${op.name}/shape`);
    const data = new Uint8Array(8 * dims.length);
    dims.forEach((d, i) => new DataView(data.buffer).setBigInt64(8 * i, BigInt(d), true));
    graph.addValue({ name, dtype: 'int64', shape: [dims.length], role: 'weight', weight: { kind: 'inline', data } });
    return name;
  };
  const split = (x: string, width: number, perm: number[]): string =>
    e('Transpose', [e('Reshape', [x, shape([0, 0, heads, width / heads])])], undefined, { perm: ints(perm) });
  const scores = e('MatMul', [split(q, dq, [0, 2, 1, 3]), split(k, dq, [0, 2, 3, 1])]);
  // Div by 1/scale where that round-trips in float32 (exporters divide by √D: the same bits back)
  const divisor = Math.fround(1 / scale);
  const scaled =
    Math.fround(1 / divisor) === Math.fround(scale)
      ? e('Div', [scores, addFloatWeight(graph, `${op.name}/divisor`, Float32Array.of(divisor), [])])
      : e('Mul', [scores, addFloatWeight(graph, `${op.name}/scale`, Float32Array.of(scale), [])]);
  const probs = e('Softmax', [mask === undefined ? scaled : e('Add', [scaled, mask])], undefined, { axis: int(-1) });
  const heads4 = e('MatMul', [probs, split(v, dv, [0, 2, 1, 3])]);
  e('Reshape', [e('Transpose', [heads4], undefined, { perm: ints([0, 2, 1, 3]) }), shape([0, 0, dv])], out);
}

function axesWeight(graph: IRGraph, base: string): string {
  const name = graph.freshValueName(base);
  const data = new Uint8Array(8);
  new DataView(data.buffer).setBigInt64(0, -1n, true);
  graph.addValue({ name, dtype: 'int64', shape: [1], role: 'weight', weight: { kind: 'inline', data } });
  return name;
}

/** Whether an op is one of fleetc's fusions that unfuse() turns back into standard ops. */
export function isUnfusable(domain: string, opType: string): boolean {
  return (
    domain === FLEETC_DOMAIN && (opType === 'FusedElementwise' || opType === 'FusedConv' || opType === 'FusedMatMul')
  );
}

/** Replaces every FusedElementwise, FusedConv and FusedMatMul of `graph` (not inside subgraphs: fusion skips those) with standard ops. */
export function unfuse(graph: IRGraph, opset: number, created?: (fused: string, ops: string[]) => void): number {
  let n = 0;
  for (const id of graph.ops()) {
    const op = graph.op(id);
    if (!isUnfusable(op.domain, op.opType)) continue;
    const ops: string[] = [];
    if (op.opType === 'FusedElementwise') unfuseElementwise(graph, id, opset, ops);
    else if (op.opType === 'FusedMatMul') unfuseMatMul(graph, id, opset, ops);
    else unfuseConv(graph, id, opset, ops);
    created?.(id, ops);
    n++;
  }
  return n;
}
