import { add, ceilDiv, floorDiv, max, mul, product, sub, dimEq, sym, type Dim } from '../../src/ir/sym.js';
import { OpView, broadcastShapes } from './opview.js';
import { stablehloFlops } from './flops-stablehlo.js';

import { TRANSCENDENTAL } from './flops-units.js';

/**
 * FLOP formulas, one per op type, by the conventions of flops-units.ts. A formula returns null
 * when the shapes it needs are unknown.
 */
const T = TRANSCENDENTAL;

type Formula = (v: OpView) => Dim | null;

/** Elementwise ops: FLOPs per output element. */
export const ELEMENTWISE: Record<string, number> = {};
for (const op of [
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Neg',
  'Abs',
  'Relu',
  'Sign',
  'Floor',
  'Ceil',
  'Round',
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'Where',
  'Mod',
  'BitShift',
  'BitwiseAnd',
  'BitwiseOr',
  'BitwiseXor',
  'BitwiseNot',
  'IsNaN',
  'IsInf',
  'Reciprocal',
  'PRelu',
  'LeakyRelu',
  'ThresholdedRelu',
  'Clip',
])
  ELEMENTWISE[op] = 1;
for (const op of [
  'Exp',
  'Log',
  'Tanh',
  'Erf',
  'Sqrt',
  'Pow',
  'Sin',
  'Cos',
  'Tan',
  'Asin',
  'Acos',
  'Atan',
  'Sinh',
  'Cosh',
  'Asinh',
  'Acosh',
  'Atanh',
])
  ELEMENTWISE[op] = T;
Object.assign(ELEMENTWISE, {
  Shrink: 2,
  HardSigmoid: 3, // a*x + b, clamp
  HardSwish: 4, // x * hardsigmoid(x)
  Softsign: 3, // x / (1 + |x|)
  Sigmoid: T + 2, // 1 / (1 + exp(-x))
  Elu: T + 2,
  Celu: T + 3,
  Selu: T + 3,
  Softplus: 2 * T + 1, // log(exp(x) + 1)
  Mish: 3 * T + 2, // x * tanh(softplus(x))
  Gelu: T + 4, // 0.5 * x * (1 + erf(x / sqrt(2)))
  FastGelu: T + 7, // tanh approximation: 0.5x(1 + tanh(c(x + 0.044715 x^3)))
  BiasGelu: T + 5,
  QuickGelu: T + 4, // x * sigmoid(1.702 x)
  QuantizeLinear: 2, // divide by scale, add zero point (rounding and saturation not counted)
  DequantizeLinear: 2,
  DynamicQuantizeLinear: 4,
  CumSum: 1,
  BiasAdd: 2,
  RotaryEmbedding: 3, // x*cos + rotate(x)*sin
  LpNormalization: 3,
  MeanVarianceNormalization: 7,
  Range: 1,
});

/** Ops that move or reinterpret data and compute nothing: 0 FLOPs, bytes only. */
export const DATA_MOVEMENT = new Set([
  'Reshape',
  'Transpose',
  'Concat',
  'Split',
  'SplitToSequence',
  'Slice',
  'Gather',
  'GatherElements',
  'GatherND',
  'Scatter',
  'ScatterElements',
  'ScatterND',
  'Squeeze',
  'Unsqueeze',
  'Flatten',
  'Expand',
  'Tile',
  'Pad',
  'Identity',
  'Cast',
  'CastLike',
  'Shape',
  'Size',
  'Constant',
  'ConstantOfShape',
  'DepthToSpace',
  'SpaceToDepth',
  'OneHot',
  'Trilu',
  'Dropout',
  'ReverseSequence',
  'Compress',
  'EyeLike',
  'SequenceAt',
  'SequenceConstruct',
  'SequenceEmpty',
  'SequenceInsert',
  'SequenceErase',
  'SequenceLength',
  'ConcatFromSequence',
  'Optional',
  'OptionalGetElement',
  'OptionalHasElement',
  'CenterCropPad',
  'Col2Im',
  'GridSample',
  'RandomNormal',
  'RandomUniform',
  'RandomNormalLike',
  'RandomUniformLike',
  'Bernoulli',
  'Multinomial',
  'MaxRoundDecoder',
  'GatherBlockQuantized',
  'Reorder', // fleetc: NCHW ↔ NCHW8c (passes/layout)
]);

const times = (n: Dim | null, k: number | Dim): Dim | null => (n === null ? null : mul(n, k));

function matmulDims(a: Dim[], b: Dim[]): { batch: Dim[]; m: Dim; k: Dim; n: Dim } | null {
  if (a.length === 0 || b.length === 0) return null;
  const A = a.length === 1 ? [1, a[0]!] : a;
  const B = b.length === 1 ? [b[0]!, 1] : b;
  return {
    batch: broadcastShapes(A.slice(0, -2), B.slice(0, -2), max),
    m: A[A.length - 2]!,
    k: A[A.length - 1]!,
    n: B[B.length - 1]!,
  };
}

function matmulFlops(a: Dim[] | null, b: Dim[] | null): Dim | null {
  if (!a || !b) return null;
  const d = matmulDims(a, b);
  return d && mul(2, product([...d.batch, d.m, d.k, d.n]));
}

function swapLast(s: Dim[] | null, yes: boolean): Dim[] | null {
  if (!s || !yes || s.length < 2) return s;
  return [...s.slice(0, -2), s[s.length - 1]!, s[s.length - 2]!];
}

function gemm(v: OpView): Dim | null {
  const a = swapLast(v.inShape(0), v.int('transA', 0) === 1);
  const b = swapLast(v.inShape(1), v.int('transB', 0) === 1);
  if (!a || !b || a.length !== 2 || b.length !== 2) return null;
  const mn = mul(a[0]!, b[1]!);
  let f = mul(2, mul(mn, a[1]!));
  if (v.float('alpha', 1) !== 1) f = add(f, mn);
  if (v.has(2)) f = add(f, mul(mn, v.float('beta', 1) !== 1 ? 2 : 1));
  return f;
}

/** Output spatial dims of a convolution, from the output shape or the conv arithmetic. */
function convOutSpatial(v: OpView, x: Dim[], w: Dim[]): Dim[] | null {
  const y = v.outShape(0);
  if (y && y.length === x.length) return y.slice(2);
  const r = x.length - 2;
  const strides = v.ints('strides') ?? new Array(r).fill(1);
  const dil = v.ints('dilations') ?? new Array(r).fill(1);
  const pads = v.ints('pads') ?? new Array(2 * r).fill(0);
  const autoPad = v.str('auto_pad', 'NOTSET');
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const d = x[i + 2]!;
    const s = strides[i] ?? 1;
    const k = w[i + 2]!;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      out.push(ceilDiv(d, s));
      continue;
    }
    const eff = add(mul(sub(k, 1), dil[i] ?? 1), 1);
    const padded = autoPad === 'VALID' ? d : add(d, (pads[i] ?? 0) + (pads[i + r] ?? 0));
    out.push(add(floorDiv(sub(padded, eff), s), 1));
  }
  return out;
}

function conv(xSlot: number, wSlot: number, bSlot: number): Formula {
  return (v) => {
    const x = v.inShape(xSlot);
    const w = v.inShape(wSlot);
    if (!x || !w || x.length < 3 || w.length !== x.length) return null;
    const outSp = convOutSpatial(v, x, w);
    if (!outSp) return null;
    // w: [M, C/group, k...]: each output element is a dot product of length (C/group)·prod(k),
    // so groups and dilations are already in w's shape and the output's spatial size.
    const outElems = product([x[0]!, w[0]!, ...outSp]);
    let f = mul(2, mul(outElems, product(w.slice(1))));
    if (v.has(bSlot)) f = add(f, outElems);
    return f;
  };
}

function convTranspose(v: OpView): Dim | null {
  const x = v.inShape(0);
  const w = v.inShape(1);
  if (!x || !w || x.length < 3 || w.length !== x.length) return null;
  // w: [C, M/group, k...]: every input element is scattered through (M/group)·prod(k) weights.
  let f = mul(2, mul(product(x), product(w.slice(1))));
  if (v.has(2)) {
    const y = v.outNumel(0);
    if (y === null) return null;
    f = add(f, y);
  }
  return f;
}

function pool(perWindowElem: number, perOut: number): Formula {
  return (v) => {
    const y = v.outNumel(0);
    const k = v.ints('kernel_shape');
    if (y === null || !k) return null;
    return add(mul(y, perWindowElem * k.reduce((p, q) => p * q, 1)), mul(y, perOut));
  };
}

function globalPool(perInput: number, perOut: number): Formula {
  return (v) => {
    const x = v.inNumel(0);
    const y = v.outNumel(0);
    return x === null || y === null ? null : add(mul(x, perInput), mul(y, perOut));
  };
}

function reduce(perInput: number, perOut: number): Formula {
  return globalPool(perInput, perOut);
}

/** LayerNorm-family cost: per element `perElem`, per normalised row `perRow`. */
function norm(perElem: number, perRow: number, axisDefault = -1): Formula {
  return (v) => {
    const x = v.inShape(0);
    if (!x) return null;
    let axis = v.int('axis', axisDefault);
    if (axis < 0) axis += x.length;
    const rows = product(x.slice(0, axis));
    return add(mul(product(x), perElem), mul(rows, perRow));
  };
}

const LN_ELEM = 5; // mean (1), centre (1), square and accumulate (2), normalise (1)
const LN_ROW = 3 + T; // mean and variance divisions, epsilon add, rsqrt
const RMS_ELEM = 3; // square and accumulate (2), normalise (1)
const RMS_ROW = 2 + T;
const SOFTMAX = T + 4; // max (1), subtract (1), exp, sum (1), divide (1)

function layerNorm(v: OpView): Dim | null {
  return norm(LN_ELEM + 1 + (v.has(2) ? 1 : 0), LN_ROW)(v);
}

function skipLayerNorm(simplified: boolean): Formula {
  return (v) => {
    const x = v.inShape(0);
    if (!x) return null;
    const biasSlot = simplified ? 3 : 4;
    let perElem = 1 + (v.has(biasSlot) ? 1 : 0); // skip add, bias add
    perElem += simplified ? RMS_ELEM + 1 : LN_ELEM + 1 + (v.has(3) ? 1 : 0);
    const rows = product(x.slice(0, -1));
    return add(mul(product(x), perElem), mul(rows, simplified ? RMS_ROW : LN_ROW));
  };
}

function embedLayerNorm(v: OpView): Dim | null {
  const y = v.outShape(0);
  if (!y) return null;
  const adds = 1 + (v.has(1) && v.has(4) ? 1 : 0); // word + position (+ segment)
  return add(mul(product(y), adds + LN_ELEM + 2), mul(product(y.slice(0, -1)), LN_ROW));
}

/** Scaled dot-product attention core: QK^T, scale, mask, softmax, PV. */
function sdpa(b: Dim, heads: Dim, s: Dim, l: Dim, dk: Dim, dv: Dim, masked: boolean): Dim {
  const scores = product([b, heads, s, l]);
  const qk = mul(2, mul(scores, dk));
  const pv = mul(2, mul(scores, dv));
  return add(add(qk, pv), mul(scores, 1 + SOFTMAX + (masked ? 1 : 0)));
}

/** com.microsoft Attention: input [B,S,Hin], weights [Hin, Dq+Dk+Dv], past [2,B,H,P,dh]. */
function msAttention(v: OpView): Dim | null {
  const x = v.inShape(0);
  const w = v.inShape(1);
  if (!x || !w || x.length !== 3 || w.length !== 2) return null;
  const heads = v.int('num_heads', 1);
  const sizes = v.ints('qkv_hidden_sizes');
  const total = w[1]!;
  const [dq, dk, dv] = sizes ? (sizes as [number, number, number]) : [null, null, null];
  const [b, s, hin] = x as [Dim, Dim, Dim];
  let f = mul(2, product([b, s, hin, total]));
  if (v.has(2)) f = add(f, product([b, s, total]));
  const third = floorDiv(total, 3);
  const past = v.inShape(4);
  const l = past && past.length === 5 ? add(past[3]!, s) : s;
  const dkh = floorDiv(dk ?? third, heads);
  const dvh = floorDiv(dv ?? third, heads);
  void dq;
  return add(f, sdpa(b, heads, s, l, dkh, dvh, v.has(3)));
}

/** fleetc.PagedAttention (docs/state-ops.md): T tokens of H heads over a context of `kv_context` tokens. */
function pagedAttention(v: OpView): Dim | null {
  const q = v.inShape(0);
  if (!q) return null;
  const heads = v.int('num_heads', 1);
  const d = v.int('head_size', 1);
  const tokens = v.str('layout', 'bhsd') === 'bhsd' ? q[2] : q[1];
  return tokens === undefined ? null : sdpa(1, heads, tokens, sym('kv_context'), d, d, false);
}

/** com.microsoft MultiHeadAttention: query [B,S,D] (or packed), key/value [B,L,D] or BNSH. */
function multiHeadAttention(v: OpView): Dim | null {
  const q = v.inShape(0);
  const y = v.outShape(0);
  if (!q || !y || y.length !== 3) return null;
  const heads = v.int('num_heads', 1);
  const [b, s, dvTotal] = y as [Dim, Dim, Dim];
  const k = v.inShape(1);
  let l: Dim;
  let dkTotal: Dim;
  if (q.length === 5) {
    l = s; // packed QKV [B,S,H,3,dh]
    dkTotal = mul(q[2]!, q[4]!);
  } else if (!k) return null;
  else {
    dkTotal = q[2]!;
    if (k.length === 3) l = k[1]!;
    else if (k.length === 4)
      l = k[2]!; // BNSH
    else if (k.length === 5)
      l = k[1]!; // packed KV [B,L,H,2,dh]
    else return null;
  }
  const past = v.inShape(6);
  if (past && past.length === 4) l = add(l, past[2]!);
  let f = sdpa(b, heads, s, l, floorDiv(dkTotal, heads), floorDiv(dvTotal, heads), v.has(4) || v.has(5));
  if (v.has(3)) {
    const bias = v.inShape(3);
    if (bias) f = add(f, mul(mul(b, s), bias[0]!)); // bias on q, k, v
  }
  return f;
}

/** com.microsoft GroupQueryAttention: query [B,S,Dq] (packed QKV when key is absent). */
function groupQueryAttention(v: OpView): Dim | null {
  const q = v.inShape(0);
  if (!q || q.length !== 3) return null;
  const heads = v.int('num_heads', 1);
  const kvHeads = v.int('kv_num_heads', heads);
  const [b, s, qw] = q as [Dim, Dim, Dim];
  const dh = v.has(1) ? floorDiv(qw, heads) : floorDiv(qw, heads + 2 * kvHeads);
  const present = v.outShape(1);
  const past = v.inShape(3);
  const l = present && present.length === 4 ? present[2]! : past && past.length === 4 ? add(past[2]!, s) : s;
  let f = sdpa(b, heads, s, l, dh, dh, false);
  if (v.int('do_rotary', 0) === 1) f = add(f, mul(product([b, s, dh, heads + kvHeads]), 3));
  return f;
}

/** ai.onnx Attention (opset 23): Q [B,H,S,dh] or [B,S,H*dh]; K, V likewise. */
function onnxAttention(v: OpView): Dim | null {
  const q = v.inShape(0);
  const k = v.inShape(1);
  const val = v.inShape(2);
  if (!q || !k || !val) return null;
  let b: Dim, h: Dim, s: Dim, dk: Dim, l: Dim, dv: Dim;
  if (q.length === 4 && k.length === 4 && val.length === 4) {
    [b, h, s, dk] = q as [Dim, Dim, Dim, Dim];
    l = k[2]!;
    dv = val[3]!;
  } else if (q.length === 3 && k.length === 3 && val.length === 3) {
    const qh = v.int('q_num_heads', 1);
    const kvh = v.int('kv_num_heads', qh);
    [b, s] = q as [Dim, Dim];
    h = qh;
    dk = floorDiv(q[2]!, qh);
    l = k[1]!;
    dv = floorDiv(val[2]!, kvh);
  } else return null;
  const past = v.inShape(4);
  if (past && past.length === 4) l = add(l, past[2]!);
  return sdpa(b, h, s, l, dk, dv, v.has(3));
}

/** Einsum: 2 FLOPs per point of the full index space when something is summed, else 1. */
function einsum(v: OpView): Dim | null {
  const eq = v.str('equation', '').replace(/\s/g, '');
  const [lhs, rhs] = eq.split('->') as [string, string | undefined];
  const terms = lhs.split(',');
  if (terms.some((t) => t.includes('...'))) return null;
  const size = new Map<string, Dim>();
  for (let i = 0; i < terms.length; i++) {
    const s = v.inShape(i);
    if (!s || s.length !== terms[i]!.length) return null;
    [...terms[i]!].forEach((c, j) => {
      const d = s[j]!;
      const prev = size.get(c);
      if (prev === undefined || dimEq(prev, 1)) size.set(c, d);
    });
  }
  const out =
    rhs ??
    [...size.keys()]
      .filter((c) => terms.join('').split(c).length === 2)
      .sort()
      .join('');
  const summed = [...size.keys()].some((c) => !out.includes(c));
  const points = product([...size.values()]);
  return mul(points, summed || terms.length > 1 ? 2 : 1);
}

/** RNN family: per time step and direction, gate matmuls (2·B·G·(I+H)), biases, activations. */
function rnn(gates: number, perHiddenElem: number): Formula {
  return (v) => {
    const x = v.inShape(0);
    const w = v.inShape(1);
    if (!x || !w || x.length !== 3 || w.length !== 3) return null;
    const layout = v.int('layout', 0);
    const [seq, batch] = layout === 0 ? [x[0]!, x[1]!] : [x[1]!, x[0]!];
    const [dirs, gh, inSize] = w as [Dim, Dim, Dim];
    const hidden = floorDiv(gh, gates);
    const perStep = add(
      mul(2, product([batch, gh, add(inSize, hidden)])),
      add(mul(v.has(3) ? 2 : 0, mul(batch, gh)), mul(perHiddenElem, mul(batch, hidden))),
    );
    return product([dirs, seq, perStep]);
  };
}

function variadic(extraPerOut: number): Formula {
  return (v) => {
    const y = v.outNumel(0);
    const k = v.ins.filter((x) => x !== undefined).length;
    return y === null ? null : mul(y, Math.max(k - 1, 0) + extraPerOut);
  };
}

function resize(v: OpView): Dim | null {
  const x = v.inShape(0);
  const y = v.outShape(0);
  if (!x || !y || x.length !== y.length) return null;
  const mode = v.str('mode', 'nearest');
  if (mode === 'nearest') return 0;
  const axes = x.filter((d, i) => !dimEq(d, y[i]!)).length;
  return mul(product(y), axes * (mode === 'cubic' ? 7 : 3));
}

export const FORMULAS: Record<string, Formula> = {
  MatMul: (v) => matmulFlops(v.inShape(0), v.inShape(1)),
  MatMulInteger: (v) => matmulFlops(v.inShape(0), v.inShape(1)),
  QLinearMatMul: (v) => matmulFlops(v.inShape(0), v.inShape(3)),
  FusedMatMul: (v) =>
    matmulFlops(swapLast(v.inShape(0), v.int('transA', 0) === 1), swapLast(v.inShape(1), v.int('transB', 0) === 1)),
  MatMulNBits: (v) => times(v.inNumel(0), 2 * v.int('N', 0)),
  Gemm: gemm,
  Conv: conv(0, 1, 2),
  ConvInteger: conv(0, 1, -1),
  QLinearConv: conv(0, 3, 8),
  FusedConv: conv(0, 1, 2),
  FusedElementwise: (v) => times(v.outNumel(0), (v.ints('program')?.length ?? 0) / 3),
  ConvTranspose: convTranspose,
  MaxPool: pool(1, 0),
  AveragePool: pool(1, 1),
  LpPool: pool(2, T),
  GlobalMaxPool: globalPool(1, 0),
  GlobalAveragePool: globalPool(1, 1),
  GlobalLpPool: globalPool(2, T),
  ReduceSum: reduce(1, 0),
  ReduceMean: reduce(1, 1),
  ReduceMax: reduce(1, 0),
  ReduceMin: reduce(1, 0),
  ReduceProd: reduce(1, 0),
  ReduceL1: reduce(2, 0),
  ReduceL2: reduce(2, T),
  ReduceSumSquare: reduce(2, 0),
  ReduceLogSum: reduce(1, T),
  ReduceLogSumExp: reduce(T + 1, T),
  ArgMax: reduce(1, 0),
  ArgMin: reduce(1, 0),
  TopK: (v) => v.inNumel(0),
  NonZero: (v) => v.inNumel(0),
  Softmax: (v) => times(v.outNumel(0), SOFTMAX),
  LogSoftmax: (v) => times(v.outNumel(0), SOFTMAX),
  Hardmax: (v) => v.outNumel(0),
  BatchNormalization: (v) => times(v.outNumel(0), 2), // inference: y = x*scale' + shift'
  InstanceNormalization: norm(LN_ELEM + 2, LN_ROW, 2),
  GroupNormalization: (v) => {
    const x = v.inShape(0);
    if (!x) return null;
    const rows = mul(x[0]!, v.int('num_groups', 1));
    return add(mul(product(x), LN_ELEM + 2), mul(rows, LN_ROW));
  },
  LayerNormalization: layerNorm,
  SimplifiedLayerNormalization: norm(RMS_ELEM + 1, RMS_ROW),
  RMSNormalization: norm(RMS_ELEM + 1, RMS_ROW),
  SkipLayerNormalization: skipLayerNorm(false),
  SkipSimplifiedLayerNormalization: skipLayerNorm(true),
  EmbedLayerNormalization: embedLayerNorm,
  Attention: (v) => (v.op.domain === 'com.microsoft' ? msAttention(v) : onnxAttention(v)),
  MultiHeadAttention: multiHeadAttention,
  GroupQueryAttention: groupQueryAttention,
  PagedAttention: pagedAttention,
  Einsum: einsum,
  RNN: rnn(1, T),
  GRU: rnn(3, 3 * T + 9), // 2 sigmoid, 1 tanh, gating arithmetic
  LSTM: rnn(4, 5 * T + 11), // 3 sigmoid, 2 tanh, cell and hidden update arithmetic
  Sum: variadic(0),
  Max: variadic(0),
  Min: variadic(0),
  Mean: variadic(1),
  Resize: resize,
  Upsample: resize,
};

/** FLOPs of one op, or null when unknown (unsupported op type or unknown shapes). */
export function opFlops(v: OpView): Dim | null {
  const t = v.op.opType;
  if (v.op.domain === 'stablehlo' || t.startsWith('stablehlo.')) return stablehloFlops(v);
  const f = FORMULAS[t];
  if (f) return f(v);
  if (DATA_MOVEMENT.has(t)) return 0;
  const w = ELEMENTWISE[t];
  if (w !== undefined) return times(v.outNumel(0), w);
  return null;
}
