import type { Dim, Shape } from '../../../src/ir/sym.js';
import type { OpCtx, ShapeFn } from '../context.js';
import { ShapeError, type VType } from '../types.js';
import { add, floorDiv, mul, needShape, range, sameAs, sub, t } from './util.js';

/**
 * Shape functions of the ops the StableHLO frontend keeps in the `stablehlo` and `chlo` domains.
 * StableHLO never broadcasts implicitly, so element-wise ops have their operand's type. Ops whose
 * result type depends on nothing but the program's own declaration (iota, bitcast_convert,
 * custom_call …) return undefined: the declared type stays.
 */

const declared: ShapeFn = (c) => range(c.numOutputs).map(() => undefined);

/** Each output has the type of the input in the same position (sort, optimization_barrier). */
const each: ShapeFn = (c) => range(c.numOutputs).map((i) => ({ ...c.input(i) }));

const boolLike: ShapeFn = (c) => [t('bool', c.shape(0))];

function ints(c: OpCtx, name: string): number[] {
  return c.attrInts(name) ?? [];
}

/** reduce: N inputs then N inits; result i has init i's element type and the input's shape without `dimensions`. */
const reduce: ShapeFn = (c) => {
  const n = c.numInputs / 2;
  const dims = new Set(ints(c, 'dimensions'));
  const body = c.attrGraph('body');
  if (body)
    c.inferSubgraph(
      body,
      [...range(n), ...range(n)].map((i) => t(c.dtype(n + i), [])),
    );
  return range(n).map((i) => {
    const s = c.shape(i);
    return t(c.dtype(n + i), s ? s.filter((_, d) => !dims.has(d)) : null);
  });
};

/** One windowed dimension (reduce_window, convolution), StableHLO's formula with dilations. */
function windowDim(n: Dim, w: number, stride: number, lo: number, hi: number, baseDil: number, winDil: number): Dim {
  const dilatedIn = typeof n === 'number' && n === 0 ? 0 : add(mul(sub(n, 1), baseDil), 1);
  const padded = add(add(dilatedIn, lo), hi);
  const dilatedWin = (w - 1) * winDil + 1;
  const span = sub(padded, dilatedWin);
  if (typeof span === 'number' && span < 0) return 0;
  return add(floorDiv(span, stride), 1);
}

function pairs(flat: number[], rank: number): [number, number][] {
  return range(rank).map((i) => [flat[2 * i] ?? 0, flat[2 * i + 1] ?? 0]);
}

const reduceWindow: ShapeFn = (c) => {
  const n = c.numInputs / 2;
  const s = needShape(c, 0);
  const win = ints(c, 'window_dimensions');
  const rank = s.length;
  const strides = c.attrInts('window_strides') ?? win.map(() => 1);
  const base = c.attrInts('base_dilations') ?? win.map(() => 1);
  const wdil = c.attrInts('window_dilations') ?? win.map(() => 1);
  const pad = pairs(c.attrInts('padding') ?? [], rank);
  if (win.length !== rank) throw new ShapeError(`window_dimensions has ${win.length} entries for rank ${rank}`);
  const shape = s.map((d, i) => windowDim(d, win[i]!, strides[i]!, pad[i]![0], pad[i]![1], base[i]!, wdil[i]!));
  const body = c.attrGraph('body');
  if (body)
    c.inferSubgraph(
      body,
      [...range(n), ...range(n)].map((i) => t(c.dtype(n + i), [])),
    );
  return range(n).map((i) => t(c.dtype(n + i), shape));
};

const pad: ShapeFn = (c) => {
  const s = needShape(c, 0);
  const lo = ints(c, 'edge_padding_low');
  const hi = ints(c, 'edge_padding_high');
  const inner = c.attrInts('interior_padding') ?? s.map(() => 0);
  return [
    t(
      c.dtype(0),
      s.map((d, i) => {
        const body = typeof d === 'number' && d === 0 ? 0 : add(d, mul(sub(d, 1), inner[i]!));
        return add(add(body, lo[i] ?? 0), hi[i] ?? 0);
      }),
    ),
  ];
};

const dynamicSlice: ShapeFn = (c) => [t(c.dtype(0), ints(c, 'slice_sizes'))];

/** gather's result: batch dims of the indices around the slice's offset dims. */
const gather: ShapeFn = (c) => {
  const idx = needShape(c, 1);
  const sizes = ints(c, 'slice_sizes');
  const offsetDims = ints(c, 'offset_dims');
  const collapsed = new Set([...ints(c, 'collapsed_slice_dims'), ...ints(c, 'operand_batching_dims')]);
  const ivd = c.attrInt('index_vector_dim', idx.length - 1);
  const batch: Dim[] = idx.filter((_, i) => i !== ivd);
  const offsets = sizes.filter((_, i) => !collapsed.has(i));
  const rank = batch.length + offsets.length;
  const out: Shape = [];
  let b = 0;
  let o = 0;
  const isOffset = new Set(offsetDims);
  for (let i = 0; i < rank; i++) out.push(isOffset.has(i) ? offsets[o++]! : batch[b++]!);
  if (out.some((d) => d === undefined))
    throw new ShapeError('gather dimension numbers do not fit the operand and indices');
  return [t(null, out)];
};

/** scatter: N inputs, indices, N updates → N results shaped like the inputs. */
const scatter: ShapeFn = (c) => {
  const n = (c.numInputs - 1) / 2;
  const body = c.attrGraph('update_computation');
  if (body)
    c.inferSubgraph(
      body,
      [...range(n), ...range(n)].map((i) => t(c.dtype(i), [])),
    );
  return range(n).map((i) => ({ ...c.input(i) }));
};

const selectAndScatter: ShapeFn = (c) => {
  const sel = c.attrGraph('select');
  if (sel) c.inferSubgraph(sel, [t(c.dtype(0), []), t(c.dtype(0), [])]);
  const sc = c.attrGraph('scatter');
  if (sc) c.inferSubgraph(sc, [t(c.dtype(1), []), t(c.dtype(1), [])]);
  return [{ ...c.input(0) }];
};

const sort: ShapeFn = (c) => {
  const cmp = c.attrGraph('comparator');
  if (cmp)
    c.inferSubgraph(
      cmp,
      range(c.numInputs).flatMap((i) => [t(c.dtype(i), []), t(c.dtype(i), [])]),
    );
  return each(c);
};

/** while: the carried values keep their types; both regions see them. */
const whileOp: ShapeFn = (c) => {
  const ins = range(c.numInputs).map((i) => c.input(i));
  const cond = c.attrGraph('cond');
  if (cond) c.inferSubgraph(cond, ins);
  const body = c.attrGraph('body');
  if (body) c.inferSubgraph(body, ins);
  return ins.map((v) => ({ ...v }));
};

/** if/case: the branches' result types, where they agree. */
function branches(c: OpCtx, graphs: { outputs: string[] }[], results: VType[][]): (VType | undefined)[] {
  void graphs;
  return range(c.numOutputs).map((i) => {
    const first = results[0]?.[i];
    if (!first) return undefined;
    const same = results.every((r) => {
      const v = r[i];
      return v && v.dtype === first.dtype && JSON.stringify(v.shape) === JSON.stringify(first.shape);
    });
    return same ? first : undefined;
  });
}

const ifOp: ShapeFn = (c) => {
  const gs = [c.attrGraph('then_branch'), c.attrGraph('else_branch')].filter((g) => g !== undefined);
  return branches(
    c,
    gs,
    gs.map((g) => c.inferSubgraph(g, []).types),
  );
};

const caseOp: ShapeFn = (c) => {
  const a = c.attr('branches');
  const gs = a?.type === 'graphs' ? a.value : [];
  return branches(
    c,
    gs,
    gs.map((g) => c.inferSubgraph(g, []).types),
  );
};

const map: ShapeFn = (c) => {
  const g = c.attrGraph('computation');
  const r = g
    ? c.inferSubgraph(
        g,
        range(c.numInputs).map((i) => t(c.dtype(i), [])),
      )
    : undefined;
  return [t(r?.types[0]?.dtype ?? null, c.shape(0))];
};

/** convolution (kept when it does not map onto ONNX Conv): StableHLO's shape rule. */
const convolution: ShapeFn = (c) => {
  const l = needShape(c, 0);
  const r = needShape(c, 1);
  const ns = l.length - 2;
  const ib = c.attrInt('input_batch_dimension', 0);
  const isp = ints(c, 'input_spatial_dimensions');
  const kof = c.attrInt('kernel_output_feature_dimension', 0);
  const ksp = ints(c, 'kernel_spatial_dimensions');
  const ob = c.attrInt('output_batch_dimension', 0);
  const of = c.attrInt('output_feature_dimension', 0);
  const osp = ints(c, 'output_spatial_dimensions');
  const ones = range(ns).map(() => 1);
  const strides = c.attrInts('window_strides') ?? ones;
  const ldil = c.attrInts('lhs_dilation') ?? ones;
  const rdil = c.attrInts('rhs_dilation') ?? ones;
  const padp = pairs(c.attrInts('padding') ?? [], ns);
  const bgc = c.attrInt('batch_group_count', 1);
  const out: Dim[] = new Array(ns + 2);
  const batch = l[ib]!;
  out[ob] = bgc === 1 ? batch : floorDiv(batch, bgc);
  out[of] = r[kof]!;
  for (let i = 0; i < ns; i++) {
    const k = r[ksp[i]!];
    if (typeof k !== 'number') return [undefined];
    out[osp[i]!] = windowDim(l[isp[i]!]!, k, strides[i]!, padp[i]![0], padp[i]![1], ldil[i]!, rdil[i]!);
  }
  if (out.some((d) => d === undefined)) throw new ShapeError('convolution dimension numbers do not fit the operands');
  return [t(null, out)];
};

/** dot_general kept as is: batch dims, lhs free dims, rhs free dims (element type as declared). */
const dotGeneral: ShapeFn = (c) => {
  const l = needShape(c, 0);
  const r = needShape(c, 1);
  const lb = ints(c, 'lhs_batching_dimensions');
  const lc = ints(c, 'lhs_contracting_dimensions');
  const rb = ints(c, 'rhs_batching_dimensions');
  const rc = ints(c, 'rhs_contracting_dimensions');
  const shape = [
    ...lb.map((d) => l[d]!),
    ...l.filter((_, i) => !lb.includes(i) && !lc.includes(i)),
    ...r.filter((_, i) => !rb.includes(i) && !rc.includes(i)),
  ];
  return [t(null, shape)];
};

const transpose: ShapeFn = (c) => {
  const s = needShape(c, 0);
  return [
    t(
      c.dtype(0),
      ints(c, 'permutation').map((p) => s[p]!),
    ),
  ];
};

const SAME = [
  'abs',
  'negate',
  'sign',
  'not',
  'popcnt',
  'count_leading_zeros',
  'sqrt',
  'rsqrt',
  'cbrt',
  'exponential',
  'exponential_minus_one',
  'log',
  'log_plus_one',
  'logistic',
  'sine',
  'cosine',
  'tan',
  'tanh',
  'atan',
  'floor',
  'ceil',
  'round_nearest_afz',
  'round_nearest_even',
  'reduce_precision',
  'reverse',
  'add',
  'subtract',
  'multiply',
  'divide',
  'remainder',
  'maximum',
  'minimum',
  'power',
  'atan2',
  'and',
  'or',
  'xor',
  'shift_left',
  'shift_right_logical',
  'shift_right_arithmetic',
  'dynamic_update_slice',
  'cholesky',
  'batch_norm_inference',
];

const DECLARED = [
  'iota',
  'dynamic_iota',
  'convert',
  'bitcast_convert',
  'get_dimension_size',
  'rng',
  'rng_bit_generator',
  'custom_call',
  'composite',
  'broadcast_in_dim',
  'dynamic_broadcast_in_dim',
  'reshape',
  'dynamic_reshape',
  'real_dynamic_slice',
  'dynamic_pad',
  'dynamic_gather',
  'dynamic_conv',
  'einsum',
  'unary_einsum',
  'batch_norm_training',
  'batch_norm_grad',
  'slice',
  'concatenate',
  'constant',
];

/** Element-wise CHLO kernels: the result has the first operand's type (operands agree). */
const CHLO_SAME = ['lgamma', 'digamma', 'erfc', 'erf_inv', 'bessel_i1e', 'polygamma', 'zeta', 'next_after'];

export const STABLEHLO_OPS: Record<string, ShapeFn> = {
  ...Object.fromEntries(SAME.map((op) => [`stablehlo:${op}`, sameAs(0)])),
  ...Object.fromEntries(DECLARED.map((op) => [`stablehlo:${op}`, declared])),
  'stablehlo:compare': boolLike,
  'stablehlo:is_finite': boolLike,
  'stablehlo:select': sameAs(1),
  'stablehlo:clamp': sameAs(1),
  'stablehlo:triangular_solve': sameAs(1),
  'stablehlo:optimization_barrier': each,
  'stablehlo:sort': sort,
  'stablehlo:reduce': reduce,
  'stablehlo:reduce_window': reduceWindow,
  'stablehlo:pad': pad,
  'stablehlo:dynamic_slice': dynamicSlice,
  'stablehlo:gather': gather,
  'stablehlo:scatter': scatter,
  'stablehlo:select_and_scatter': selectAndScatter,
  'stablehlo:while': whileOp,
  'stablehlo:if': ifOp,
  'stablehlo:case': caseOp,
  'stablehlo:map': map,
  'stablehlo:convolution': convolution,
  'stablehlo:dot_general': dotGeneral,
  'stablehlo:transpose': transpose,
  'chlo:mulhi': sameAs(0),
  'chlo:top_k': declared,
  'chlo:ragged_dot': declared,
  'chlo:scan': declared,
  // The CHLO ops the frontend keeps (src/frontends/stablehlo/chlo.ts lowers the others).
  ...Object.fromEntries(CHLO_SAME.map((op) => [`chlo:${op}`, sameAs(0)])),
};
