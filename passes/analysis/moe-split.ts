// Splits ONNX Runtime's com.microsoft MoE op into per-expert units of standard ops, so that each
// expert can be placed on its own device (and runs on kernels fleetrt has): softmax over the
// router logits, TopK, optional renormalisation, then per expert the rows routed to it
// (Equal → NonZero → Gather), its MLP with its slice of the stacked weights, the gate, and a
// ScatterND-add back into the output. Semantics follow onnxruntime 1.30's CPU kernel: fc1 and
// fc3 are [E, inter, hidden], fc2 is [E, hidden, inter] (x · Wᵀ), fc3 gates fc1 Mixtral-style.
import type { IRGraph, AttrValue } from '../../src/ir/graph.js';
import { readWeightBytes } from '../../src/ir/weights.js';
import { FleetcError } from '../../src/diagnostics/index.js';
import type { Pass } from '../pass.js';

const ACTIVATIONS = new Set(['relu', 'gelu', 'silu', 'identity']);

function int(value: number): AttrValue {
  return { type: 'int', value };
}

function addWeight(
  graph: IRGraph,
  base: string,
  dtype: 'float32' | 'int64',
  shape: number[],
  data: Uint8Array,
): string {
  const name = graph.freshValueName(base);
  graph.addValue({ name, dtype, shape, role: 'weight', weight: { kind: 'inline', data } });
  return name;
}

function i64(graph: IRGraph, base: string, values: number[], shape = [values.length]): string {
  return addWeight(graph, base, 'int64', shape, new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer));
}

function f32(graph: IRGraph, base: string, values: number[], shape = [values.length]): string {
  return addWeight(graph, base, 'float32', shape, new Uint8Array(Float32Array.from(values).buffer));
}

/** Expert `e`'s slice of a stacked float32 [E, …] weight, as its own weight. */
function slice(graph: IRGraph, stacked: string, e: number): string {
  const v = graph.value(stacked);
  const shape = v.shape as number[];
  if (v.dtype !== 'float32' || !v.weight || v.weight.kind === 'elided')
    throw new FleetcError(
      'E0103',
      `com.microsoft MoE: stacked expert weight '${stacked}' must be a float32 initializer`,
    );
  const per = shape.slice(1).reduce((a, b) => a * b, 1) * 4;
  const bytes = readWeightBytes(v.weight).slice(e * per, (e + 1) * per);
  return addWeight(graph, `${stacked}.${e}`, 'float32', shape.slice(1), bytes);
}

/** Rewrites every com.microsoft MoE op; returns how many. */
export function splitContribMoe(graph: IRGraph): number {
  let count = 0;
  for (const id of graph.topoOps()) {
    const op = graph.op(id);
    if (op.opType !== 'MoE' || op.domain !== 'com.microsoft') continue;
    splitOne(graph, id);
    count++;
  }
  return count;
}

function splitOne(graph: IRGraph, id: string): void {
  const op = graph.op(id);
  const fail = (msg: string): never => {
    throw new FleetcError('E0103', `com.microsoft MoE '${op.name}': ${msg}`, op.loc);
  };
  const ins = graph.opInputs(id);
  const [x, logits, fc1, b1, fc2, b2, fc3, b3] = ins;
  const out = graph.opOutputs(id)[0];
  if (!x || !logits || !fc1 || !fc2 || !out) fail('needs input, router_probs, fc1 and fc2 weights');
  if (ins.length > 8) fail('quantized or extra inputs are not supported');
  const attr = (n: string): AttrValue | undefined => op.attrs[n];
  const k = attr('k')?.type === 'int' ? (attr('k') as { value: number }).value : 1;
  const act =
    attr('activation_type')?.type === 'string' ? (attr('activation_type') as { value: string }).value : 'relu';
  if (!ACTIVATIONS.has(act)) fail(`activation_type '${act}' is not supported (relu, gelu, silu, identity)`);
  if (attr('use_sparse_mixer')?.type === 'int' && (attr('use_sparse_mixer') as { value: number }).value !== 0)
    fail('use_sparse_mixer is not supported');
  const normalize =
    attr('normalize_routing_weights')?.type === 'int' &&
    (attr('normalize_routing_weights') as { value: number }).value === 1;
  const s1 = graph.value(fc1!).shape;
  const s2 = graph.value(fc2!).shape;
  if (!s1 || !s2 || s1.length !== 3 || s2.length !== 3 || !s1.every((d) => typeof d === 'number'))
    fail('stacked weights must have static 3-D shapes [experts, …]');
  const experts = s1![0] as number;
  if (k < 1 || k > experts) fail(`k=${k} is not within 1..${experts}`);

  graph.removeOp(id);
  const name = (s: string): string => graph.freshValueName(`${op.name}/${s}`);
  const add = (
    type: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    opset = 17,
    output?: string,
  ): string => {
    const o = output ?? name(`${type}_out`);
    graph.addOp({ opType: type, attrs, loc: op.loc, opset, name: `${op.name}/${type}` }, inputs, [o]);
    return o;
  };
  const probs = add('Softmax', [logits!], { axis: int(-1) });
  const vals = name('TopK_values');
  const idx = name('TopK_indices');
  graph.addOp(
    {
      opType: 'TopK',
      attrs: { axis: int(-1), largest: int(1), sorted: int(1) },
      loc: op.loc,
      opset: 17,
      name: `${op.name}/TopK`,
    },
    [probs, i64(graph, `${op.name}.k`, [k])],
    [vals, idx],
  );
  const lastAxis = i64(graph, `${op.name}.axes`, [-1]);
  const w = normalize ? add('Div', [vals, add('ReduceSum', [vals, lastAxis], { keepdims: int(1) })]) : vals;
  const zero = f32(graph, `${op.name}.zero`, [0], []);
  const half = f32(graph, `${op.name}.half`, [0.5], []);
  const one = f32(graph, `${op.name}.one`, [1], []);
  const c044715 = f32(graph, `${op.name}.gelu_c`, [0.044715], []);
  const sqrt2OverPi = f32(graph, `${op.name}.sqrt_2_over_pi`, [Math.sqrt(2 / Math.PI)], []);
  let acc = add('Mul', [x!, zero]);
  const activate = (h: string): string => {
    if (act === 'relu') return add('Relu', [h]);
    if (act === 'silu') return add('Mul', [h, add('Sigmoid', [h])]);
    if (act === 'gelu') {
      // onnxruntime's MoE uses the tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
      const cube = add('Mul', [add('Mul', [h, h]), h]);
      const inner = add('Mul', [add('Add', [h, add('Mul', [cube, c044715])]), sqrt2OverPi]);
      return add('Mul', [add('Mul', [h, half]), add('Add', [one, add('Tanh', [inner])])]);
    }
    return h;
  };
  const gemm = (a: string, weight: string, bias: string | undefined): string =>
    add('Gemm', bias ? [a, weight, bias] : [a, weight], { transB: int(1) }, 13);
  for (let e = 0; e < experts; e++) {
    const hit = add('Equal', [idx, i64(graph, `${op.name}.expert${e}`, [e], [])]);
    const gate = add('ReduceSum', [add('Where', [hit, w, zero]), lastAxis], { keepdims: int(0) });
    const routed = add('ReduceMax', [add('Cast', [hit], { to: int(7) }), lastAxis], { keepdims: int(0) }, 18);
    const rows = add('Reshape', [add('NonZero', [routed]), i64(graph, `${op.name}.flat`, [-1])]);
    const xe = add('Gather', [x!, rows], { axis: int(0) });
    let h = activate(gemm(xe, slice(graph, fc1!, e), b1 ? slice(graph, b1, e) : undefined));
    if (fc3) h = add('Mul', [h, gemm(xe, slice(graph, fc3, e), b3 ? slice(graph, b3, e) : undefined)]);
    const y = gemm(h, slice(graph, fc2!, e), b2 ? slice(graph, b2, e) : undefined);
    const ge = add('Unsqueeze', [add('Gather', [gate, rows], { axis: int(0) }), lastAxis]);
    // The last expert's ScatterND writes the op's output value, so its readers stay as they are.
    const reduction: Record<string, AttrValue> = { reduction: { type: 'string', value: 'add' } };
    const rowsIdx = add('Unsqueeze', [rows, lastAxis]);
    const scaled = add('Mul', [y, ge]);
    acc = add('ScatterND', [acc, rowsIdx, scaled], reduction, 17, e === experts - 1 ? out : undefined);
  }
}

export const splitMoePass: Pass = {
  name: 'split-moe',
  summary: 'rewrite com.microsoft MoE ops into per-expert units of standard ops (placeable, runnable)',
  kind: 'transform',
  options: {},
  run(graph: IRGraph) {
    const n = splitContribMoe(graph);
    return { changed: n > 0, summary: `${n} MoE ops split into per-expert units` };
  },
};
