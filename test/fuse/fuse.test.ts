import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileGraph } from '../../src/api/compile.js';
import { IRGraph, type AttrValue } from '../../src/ir/graph.js';
import { foldBatchNorm } from '../../passes/fuse/batchnorm.js';
import { fuseAttention } from '../../passes/fuse/attention.js';
import { fuseConv } from '../../passes/fuse/conv.js';
import { fuseElementwise } from '../../passes/fuse/elementwise.js';
import { fuseLayerNorm } from '../../passes/fuse/layernorm.js';
import { fuseMatMul } from '../../passes/fuse/matmul.js';
import { opFlops } from '../../passes/analysis/flops.js';
import { OpView } from '../../passes/analysis/opview.js';
import { workKind } from '../../targets/work.js';
import { unfuse } from '../../passes/fuse/unfuse.js';
import { floatWeight } from '../../passes/fuse/util.js';
import { runPipeline, resolvePipeline } from '../../passes/driver.js';
import { newPassContext } from '../../passes/pass.js';
import { FleetCost } from '../../src/fleet/cost.js';
import { loadFleet } from '../../src/fleet/load.js';
import { REPO } from '../paths.js';
import { FLEETRT, HAVE_FLEETRT, readNpyF32, tmp, writeNpyF32 } from '../compile/helpers.js';
import { Builder, float, ints, values } from './graphs.js';

/** Conv(3→4, 3×3, pad 1) → BatchNormalization → Add(residual r) → Relu on x [1, 3, 6, 6]. */
function convBlock(): IRGraph {
  const b = new Builder();
  b.input('x', [1, 3, 6, 6]);
  b.input('r', [1, 4, 6, 6]);
  b.weight('W', [4, 3, 3, 3], values(108, 1));
  b.weight('B', [4], values(4, 2));
  b.weight('scale', [4], values(4, 3, 0.5, 1.5));
  b.weight('bias', [4], values(4, 4));
  b.weight('mean', [4], values(4, 5));
  b.weight('var', [4], values(4, 6, 0.2, 2));
  b.op('Conv', ['x', 'W', 'B'], 'c', { pads: ints([1, 1, 1, 1]), kernel_shape: ints([3, 3]) });
  b.op('BatchNormalization', ['c', 'scale', 'bias', 'mean', 'var'], 'bn', { epsilon: float(1e-3) });
  b.op('Add', ['bn', 'r'], 'sum');
  b.op('Relu', ['sum'], 'y');
  return b.output('y');
}

/** Depthwise Conv (stride 2) → Clip(0, 6), then a GELU-like chain with a broadcast bias. */
function dwGelu(): IRGraph {
  const b = new Builder();
  b.input('x', [2, 4, 7, 7]);
  b.weight('W', [4, 1, 3, 3], values(36, 7));
  b.weight('lo', [], [0]);
  b.weight('hi', [], [6]);
  b.weight('bias', [4, 1, 1], values(4, 8));
  b.weight('sqrt2', [], [Math.SQRT2]);
  b.weight('one', [], [1]);
  b.weight('half', [], [0.5]);
  b.op('Conv', ['x', 'W'], 'c', { group: { type: 'int', value: 4 }, strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) });
  b.op('Clip', ['c', 'lo', 'hi'], 'cl');
  b.op('Add', ['cl', 'bias'], 'h');
  b.op('Div', ['h', 'sqrt2'], 'd');
  b.op('Erf', ['d'], 'e');
  b.op('Add', ['e', 'one'], 'e1');
  b.op('Mul', ['h', 'e1'], 'm');
  b.op('Mul', ['m', 'half'], 'y');
  return b.output('y');
}

/**
 * Layer normalization over the last axis as pre-opset-17 exporters write it: ReduceMean, Sub,
 * d² (Pow 2 or Mul d·d), ReduceMean, Add ε, Sqrt, Div, then (optionally) · γ and + β.
 */
function decomposedLayerNorm(square: 'Pow' | 'Mul', affine: boolean): () => IRGraph {
  return () => {
    const b = new Builder();
    b.input('x', [2, 5, 24]);
    b.weight('two', [], [2]);
    b.weight('eps', [], [1e-5]);
    b.weight('gamma', [24], values(24, 41, 0.5, 1.5));
    b.weight('beta', [24], values(24, 42));
    b.op('ReduceMean', ['x'], 'm', { axes: ints([-1]) });
    b.op('Sub', ['x', 'm'], 'd');
    if (square === 'Pow') b.op('Pow', ['d', 'two'], 'p');
    else b.op('Mul', ['d', 'd'], 'p');
    b.op('ReduceMean', ['p'], 'v', { axes: ints([-1]) });
    b.op('Add', ['v', 'eps'], 'e');
    b.op('Sqrt', ['e'], 's');
    b.op('Div', ['d', 's'], affine ? 'n' : 'y');
    if (affine) {
      b.op('Mul', ['n', 'gamma'], 'g');
      b.op('Add', ['g', 'beta'], 'y');
    }
    return b.output('y');
  };
}

type GeluForm = 'x·e·½' | 'x·(e·½)' | '(x·½)·e' | 'op';

/**
 * A transformer feed-forward step on x [2, rows, 64]: MatMul by W [64, cols], + bias (as Add
 * input 0, the way torch exports it), then GELU in one of its forms.
 */
function matmulGelu(rows: number, cols: number, form: GeluForm): () => IRGraph {
  return () => {
    const b = new Builder();
    b.input('x', [2, rows, 64]);
    b.weight('W', [64, cols], values(64 * cols, 51, -0.3, 0.3));
    b.weight('bias', [cols], values(cols, 52));
    b.weight('sqrt2', [], [Math.SQRT2]);
    b.weight('one', [], [1]);
    b.weight('half', [], [0.5]);
    b.op('MatMul', ['x', 'W'], 'mm');
    b.op('Add', ['bias', 'mm'], 'h');
    if (form === 'op') {
      b.g.addOp({ opType: 'Gelu', opset: 20, attrs: {}, name: 'y' }, ['h'], ['y']);
      b.g.meta.opsets[''] = 20;
      return b.output('y');
    }
    b.op('Div', ['h', 'sqrt2'], 'd');
    b.op('Erf', ['d'], 'e');
    b.op('Add', ['e', 'one'], 'e1');
    if (form === 'x·e·½') {
      b.op('Mul', ['h', 'e1'], 'm');
      b.op('Mul', ['m', 'half'], 'y');
    } else if (form === 'x·(e·½)') {
      b.op('Mul', ['half', 'e1'], 'm');
      b.op('Mul', ['m', 'h'], 'y');
    } else {
      b.op('Mul', ['h', 'half'], 'm');
      b.op('Mul', ['e1', 'm'], 'y');
    }
    return b.output('y');
  };
}

/** An attention output step: MatMul, + bias, + the residual r (input 0 of the Add), LayerNormalization. */
function matmulResidual(rows: number): IRGraph {
  const b = new Builder();
  b.input('x', [1, rows, 48]);
  b.input('r', [1, rows, 40]);
  b.weight('W', [48, 40], values(48 * 40, 61, -0.3, 0.3));
  b.weight('bias', [1, 40], values(40, 62));
  b.weight('gamma', [40], values(40, 63, 0.5, 1.5));
  b.weight('beta', [40], values(40, 64));
  b.op('MatMul', ['x', 'W'], 'mm');
  b.op('Add', ['mm', 'bias'], 'h');
  b.op('Add', ['r', 'h'], 's');
  b.op('LayerNormalization', ['s', 'gamma', 'beta'], 'y', { axis: { type: 'int', value: -1 } });
  return b.output('y');
}

/** Batched products of two inputs ([3, 20, 16] · [3, 16, 24]) + a scalar bias, then Tanh; and a plain MatMul + Relu. */
function batchedTanh(): IRGraph {
  const b = new Builder();
  b.input('p', [3, 20, 16]);
  b.input('q', [3, 16, 24]);
  b.weight('c', [], [0.25]);
  b.weight('W', [24, 8], values(24 * 8, 71));
  b.op('MatMul', ['p', 'q'], 'pq');
  b.op('Add', ['pq', 'c'], 'h');
  b.op('Tanh', ['h'], 't');
  b.op('MatMul', ['t', 'W'], 'u');
  b.op('Relu', ['u'], 'y');
  return b.output('y');
}

/** Attention scores: Q · Kᵀ ([batch, 4, 20, 16] · [batch, 4, 16, 20]) ÷ 4, + a mask [batch, 1, 1, 20], Softmax. */
function attentionScores(batch = 1): IRGraph {
  const b = new Builder();
  b.input('q', [batch, 4, 20, 16]);
  b.input('k', [batch, 4, 16, 20]);
  b.input('mask', [batch, 1, 1, 20]);
  b.weight('four', [], [4]);
  b.op('MatMul', ['q', 'k'], 'qk');
  b.op('Div', ['qk', 'four'], 'scaled');
  b.op('Add', ['scaled', 'mask'], 'masked');
  b.op('Softmax', ['masked'], 'y', { axis: { type: 'int', value: -1 } });
  return b.output('y');
}

/**
 * A whole attention block as PyTorch exports a BERT layer's: q, k, v [batch, 20, 64] split into 4
 * heads of 16 by Reshape + Transpose (K to [0, 2, 3, 1], or `kTwice`: [0, 2, 1, 3] then [0, 1, 3, 2]),
 * MatMul ÷ 4 + mask [batch, 1, 1, 20] (or no mask), Softmax, MatMul by V, heads merged back.
 * `probsOut`: the probabilities are a graph output too (then nothing may fuse).
 */
function attentionBlock(batch = 1, opts: { kTwice?: boolean; mask?: boolean; probsOut?: boolean } = {}): () => IRGraph {
  return () => {
    const b = new Builder();
    for (const x of ['q', 'k', 'v']) b.input(x, [batch, 20, 64]);
    const withMask = opts.mask ?? true;
    if (withMask) b.input('mask', [batch, 1, 1, 20]);
    b.int64s('heads', [batch, 20, 4, 16]);
    b.int64s('merged', [batch, 20, 64]);
    b.weight('four', [], [4]);
    const perm = (p: number[]): Record<string, AttrValue> => ({ perm: { type: 'ints', value: p } });
    for (const x of ['q', 'k', 'v']) b.op('Reshape', [x, 'heads'], `${x}4`);
    b.op('Transpose', ['q4'], 'qh', perm([0, 2, 1, 3]));
    if (opts.kTwice) {
      b.op('Transpose', ['k4'], 'kh', perm([0, 2, 1, 3]));
      b.op('Transpose', ['kh'], 'kt', perm([0, 1, 3, 2]));
    } else b.op('Transpose', ['k4'], 'kt', perm([0, 2, 3, 1]));
    b.op('Transpose', ['v4'], 'vh', perm([0, 2, 1, 3]));
    b.op('MatMul', ['qh', 'kt'], 'qk');
    b.op('Div', ['qk', 'four'], 'scaled');
    if (withMask) b.op('Add', ['scaled', 'mask'], 'masked');
    b.op('Softmax', [withMask ? 'masked' : 'scaled'], 'probs', { axis: { type: 'int', value: -1 } });
    b.op('MatMul', ['probs', 'vh'], 'ctx');
    b.op('Transpose', ['ctx'], 'ctx_t', perm([0, 2, 1, 3]));
    b.op('Reshape', ['ctx_t', 'merged'], 'y');
    return opts.probsOut ? b.output('y', 'probs') : b.output('y');
  };
}

/** A linear layer whose output is scaled: x [3, 10, 16] · W [16, 12] · 0.25 (as Div by 4, or Div by 3), + bias. */
function scaledLinear(divisor: number): () => IRGraph {
  return () => {
    const b = new Builder();
    b.input('x', [3, 10, 16]);
    b.weight('W', [16, 12], values(192, 91));
    b.weight('d', [], [divisor]);
    b.weight('bias', [12], values(12, 92));
    b.op('MatMul', ['x', 'W'], 'mm');
    b.op('Div', ['mm', 'd'], 'scaled');
    b.op('Add', ['scaled', 'bias'], 'y');
    return b.output('y');
  };
}

function inferShapes(g: IRGraph): IRGraph {
  runPipeline(g, resolvePipeline('infer-shapes'), newPassContext());
  return g;
}

/** A long chain: Pow 2 (Square), Sub, Abs, Add, Sqrt, Div, Mul, Add, Tanh, Sigmoid, Max, with [C] and [.., 1] operands. */
function longChain(): IRGraph {
  const b = new Builder();
  b.input('x', [2, 3, 40]);
  b.input('v', [2, 3, 1]);
  b.weight('two', [], [2]);
  b.weight('eps', [], [1e-3]);
  b.weight('gamma', [40], values(40, 21, 0.5, 1.5));
  b.weight('beta', [40], values(40, 22));
  b.weight('floor', [], [0.3]);
  b.op('Pow', ['x', 'two'], 'p');
  b.op('Sub', ['p', 'v'], 's');
  b.op('Abs', ['s'], 'a');
  b.op('Add', ['a', 'eps'], 'ae');
  b.op('Sqrt', ['ae'], 'q');
  b.op('Div', ['x', 'q'], 'd');
  b.op('Mul', ['d', 'gamma'], 'm');
  b.op('Add', ['m', 'beta'], 'n');
  b.op('Tanh', ['n'], 't');
  b.op('Sigmoid', ['t'], 'sg');
  b.op('Max', ['sg', 'floor'], 'y');
  return b.output('y');
}

/** A larger Conv (8→16 channels, 40×40) with bias, residual Add and LeakyRelu. */
function bigConv(): IRGraph {
  const b = new Builder();
  b.input('x', [1, 8, 40, 40]);
  b.input('r', [1, 16, 40, 40]);
  b.weight('W', [16, 8, 3, 3], values(16 * 72, 31));
  b.weight('B', [16], values(16, 32));
  b.op('Conv', ['x', 'W', 'B'], 'c', { pads: ints([1, 1, 1, 1]) });
  b.op('Add', ['r', 'c'], 's');
  b.op('LeakyRelu', ['s'], 'y', { alpha: float(0.1) });
  return b.output('y');
}

describe('fusion passes', () => {
  it('folds BatchNormalization into the Conv and fuses the residual Add and Relu', () => {
    const g = inferShapes(convBlock());
    expect(foldBatchNorm(g)).toBe(1);
    expect(Builder.opTypes(g)).toEqual(['Conv', 'Add', 'Relu']);
    expect(g.hasValue('scale')).toBe(false);
    expect(fuseConv(g)).toBe(1);
    const [id] = g.topoOps();
    const op = g.op(id!);
    expect([op.domain, op.opType]).toEqual(['fleetc', 'FusedConv']);
    expect(op.attrs.activation).toEqual({ type: 'string', value: 'Relu' });
    expect(g.opInputs(id!)[3]).toBe('r');
    expect(g.opOutputs(id!)).toEqual(['y']);
  });

  it('fuses a Clip with constant bounds and an elementwise chain with broadcast operands', () => {
    const g = inferShapes(dwGelu());
    expect(fuseConv(g)).toBe(1);
    expect(fuseElementwise(g)).toBe(1);
    // h is read twice, by Div and Mul, both in the chain: its producer (Add) joins it too
    expect(Builder.opTypes(g)).toEqual(['FusedConv', 'FusedElementwise']);
    const fused = g.topoOps()[1]!;
    expect(g.op(fused).attrs.fused_ops).toEqual({ type: 'strings', value: ['Add', 'Div', 'Erf', 'Add', 'Mul', 'Mul'] });
    // inputs cl, bias, sqrt2, one, half are registers 0..4; the ops write registers 5..10
    expect(g.opInputs(fused)).toEqual(['cl', 'bias', 'sqrt2', 'one', 'half']);
    expect(g.op(fused).attrs.program).toEqual({
      type: 'ints',
      value: [0, 0, 1, 3, 5, 2, 23, 6, -1, 0, 7, 3, 2, 5, 8, 2, 9, 4],
    });
    expect(g.opOutputs(fused)).toEqual(['y']);
  });

  it('replaces a decomposed layer normalization (Pow, with γ and β) by LayerNormalization', () => {
    const g = inferShapes(decomposedLayerNorm('Pow', true)());
    expect(fuseLayerNorm(g)).toBe(1);
    expect(Builder.opTypes(g)).toEqual(['LayerNormalization']);
    const [id] = g.topoOps();
    expect(g.opInputs(id!)).toEqual(['x', 'gamma', 'beta']);
    expect(g.opOutputs(id!)).toEqual(['y']);
    expect(g.op(id!).attrs.epsilon).toEqual({ type: 'float', value: Math.fround(1e-5) });
    expect(g.hasValue('two') || g.hasValue('eps') || g.hasValue('d')).toBe(false);
  });

  it('replaces the Mul(d, d) form without γ and β, with a ones scale', () => {
    const g = inferShapes(decomposedLayerNorm('Mul', false)());
    expect(fuseLayerNorm(g)).toBe(1);
    const [id] = g.topoOps();
    const [, scale, bias] = g.opInputs(id!);
    expect(bias).toBeUndefined();
    expect(Array.from(floatWeight(g, scale)!)).toEqual(new Array(24).fill(1));
  });

  it('leaves a layer normalization alone when another op or a graph output reads an intermediate', () => {
    const g = inferShapes(decomposedLayerNorm('Pow', true)());
    g.outputs = ['y', 'v'];
    expect(fuseLayerNorm(g)).toBe(0);
    const h = inferShapes(decomposedLayerNorm('Pow', false)());
    h.addOp({ opType: 'Neg', opset: 17, attrs: {}, name: 'neg' }, ['d'], ['nd']);
    h.outputs = ['y', 'nd'];
    expect(fuseLayerNorm(h)).toBe(0);
  });

  it('does not fuse through a value that another op or a graph output reads', () => {
    const b = new Builder();
    b.input('x', [8]);
    b.op('Neg', ['x'], 'n');
    b.op('Exp', ['n'], 'e');
    b.op('Abs', ['n'], 'a');
    b.op('Sqrt', ['a'], 's');
    b.op('Relu', ['s'], 'y');
    const g = inferShapes(b.output('e', 'y', 's', 'a'));
    expect(fuseElementwise(g)).toBe(0);
    expect(Builder.opTypes(g)).toEqual(['Neg', 'Exp', 'Abs', 'Sqrt', 'Relu']);
  });

  it('does not fuse through a value that a subgraph reads from the outer scope', () => {
    const b = new Builder();
    b.input('x', [4]);
    b.op('Neg', ['x'], 'n');
    b.op('Exp', ['n'], 'e');
    b.ifReading('n', [4], 'z');
    const g = b.output('e', 'z');
    expect(fuseElementwise(g)).toBe(0);
    expect(g.hasValue('n')).toBe(true);
  });
});

describe('fuse-matmul', () => {
  it('fuses the bias Add and every GELU form into one FusedMatMul', () => {
    for (const form of ['x·e·½', 'x·(e·½)', '(x·½)·e', 'op'] as const) {
      const g = inferShapes(matmulGelu(7, 40, form)());
      expect(fuseMatMul(g)).toBe(1);
      expect(Builder.opTypes(g)).toEqual(['FusedMatMul']);
      const op = g.op(g.ops()[0]!);
      expect(op.domain).toBe('fleetc');
      expect(op.attrs.activation).toEqual({ type: 'string', value: 'Gelu' });
      expect(g.opInputs(g.ops()[0]!)).toEqual(['x', 'W', 'bias']);
      expect(g.opOutputs(g.ops()[0]!)).toEqual(['y']);
      expect(g.value('y').shape).toEqual([2, 7, 40]);
      // the cost model prices it as the product it is
      expect(opFlops(new OpView(g, g.ops()[0]!))).toBe(2 * 2 * 7 * 64 * 40);
      expect(workKind(op.opType, op.domain)).toBe('matmul');
    }
  });

  it('fuses bias and residual but not the LayerNormalization; leaves a shared or broadcasting Add alone', () => {
    const g = inferShapes(matmulResidual(5));
    expect(fuseMatMul(g)).toBe(1);
    expect(Builder.opTypes(g)).toEqual(['FusedMatMul', 'LayerNormalization']);
    expect(g.opInputs(g.ops().find((id) => g.op(id).opType === 'FusedMatMul')!)).toEqual(['x', 'W', 'bias', 'r']);
    // the product is also a graph output: nothing fuses
    const shared = inferShapes(matmulGelu(4, 8, 'x·e·½')());
    shared.outputs = ['y', 'mm'];
    expect(fuseMatMul(shared)).toBe(0);
    // a [rows, 1] operand is no per-column bias: Add stays
    const b = new Builder();
    b.input('x', [6, 8]);
    b.input('v', [6, 1]);
    b.weight('W', [8, 4], values(32, 81));
    b.op('MatMul', ['x', 'W'], 'mm');
    b.op('Add', ['mm', 'v'], 'y');
    const g2 = inferShapes(b.output('y'));
    expect(fuseMatMul(g2)).toBe(0);
    // one row per batch (a decode step) fuses as well
    expect(fuseMatMul(inferShapes(matmulGelu(1, 8, 'x·e·½')()))).toBe(1);
    // a mask over the rows ([.., M, 1]) or with the product's rows dim is not taken as a bias row
    for (const maskShape of [
      [2, 4, 20, 1],
      [2, 4, 20, 20],
      [2, 1, 20, 20],
      [4, 1, 20],
    ]) {
      const m = new Builder();
      m.input('q', [2, 4, 20, 16]);
      m.input('k', [2, 4, 16, 20]);
      m.input('mask', maskShape);
      m.op('MatMul', ['q', 'k'], 'qk');
      m.op('Add', ['qk', 'mask'], 'y');
      const mg = inferShapes(m.output('y'));
      fuseMatMul(mg);
      const fusedBias = mg.ops().some((id) => mg.opInputs(id)[2] === 'mask');
      expect(fusedBias, maskShape.join('×')).toBe(false);
    }
  });

  it('takes a Div by a power of two as alpha, not a Div by 3; fuses attention scores with their mask', () => {
    const g = inferShapes(scaledLinear(4)());
    expect(fuseMatMul(g)).toBe(1);
    expect(Builder.opTypes(g)).toEqual(['FusedMatMul']);
    const id = g.ops()[0]!;
    expect(g.op(id).attrs.alpha).toEqual({ type: 'float', value: 0.25 });
    expect(g.opInputs(id)).toEqual(['x', 'W', 'bias']);
    unfuse(g, 17);
    expect(Builder.opTypes(g)).toEqual(['MatMul', 'Mul', 'Add']);
    const g3 = inferShapes(scaledLinear(3)());
    fuseMatMul(g3);
    expect(Builder.opTypes(g3)).toEqual(['MatMul', 'Div', 'Add']);
    for (const batch of [1, 2]) {
      const att = inferShapes(attentionScores(batch));
      expect(fuseMatMul(att)).toBe(1);
      expect(Builder.opTypes(att)).toEqual(['FusedMatMul', 'Softmax']);
      const mm = att.ops().find((id) => att.op(id).opType === 'FusedMatMul')!;
      expect(att.opInputs(mm)).toEqual(['q', 'k', 'mask']);
      expect(att.op(mm).attrs.alpha).toEqual({ type: 'float', value: 0.25 });
    }
  });

  it('fuses a whole attention block (either K transpose, with or without a mask) into Attention; not when the probabilities are read', () => {
    for (const opts of [{}, { kTwice: true }, { mask: false }]) {
      const g = inferShapes(attentionBlock(2, opts)());
      expect(fuseAttention(g), JSON.stringify(opts)).toBe(1);
      expect(Builder.opTypes(g)).toEqual(['Attention']);
      const id = g.ops()[0]!;
      expect(g.opInputs(id)).toEqual(opts.mask === false ? ['q', 'k', 'v'] : ['q', 'k', 'v', 'mask']);
      expect(g.op(id).attrs).toMatchObject({
        q_num_heads: { type: 'int', value: 4 },
        kv_num_heads: { type: 'int', value: 4 },
        scale: { type: 'float', value: 0.25 },
      });
      expect(g.opOutputs(id)).toEqual(['y']);
    }
    const read = inferShapes(attentionBlock(1, { probsOut: true })());
    expect(fuseAttention(read)).toBe(0);
    expect(Builder.opTypes(read)).toContain('Softmax');
  });

  it('is written back as MatMul, the Adds and the GELU chain by unfuse', () => {
    const g = inferShapes(matmulGelu(3, 8, '(x·½)·e')());
    fuseMatMul(g);
    expect(unfuse(g, 17)).toBe(1);
    expect(Builder.opTypes(g)).toEqual(['MatMul', 'Add', 'Div', 'Erf', 'Add', 'Mul', 'Mul']);
    const r = inferShapes(matmulResidual(4));
    fuseMatMul(r);
    unfuse(r, 17);
    expect(Builder.opTypes(r)).toEqual(['MatMul', 'Add', 'Add', 'LayerNormalization']);
  });
});

describe('fleet gate', () => {
  it('leaves Convs and chains unfused when the fleet has a non-cpu device, folds BatchNormalization anyway', () => {
    const g = inferShapes(convBlock());
    const fleet = loadFleet(join(REPO, 'fixtures/fleets/cpu-gpu-pcie.yaml'));
    const ctx = newPassContext({ target: { fleet, cost: new FleetCost(fleet), home: 0 } });
    const recs = runPipeline(g, resolvePipeline('fold-batchnorm,fuse-conv,fuse-elementwise'), ctx);
    expect(recs.map((r) => r.changed)).toEqual([true, false, false]);
    const mm = inferShapes(matmulResidual(3));
    expect(runPipeline(mm, resolvePipeline('fuse-matmul'), ctx)[0]!.changed).toBe(false);
    expect(Builder.opTypes(g)).toEqual(['Conv', 'Add', 'Relu']);
  });
});

/**
 * Compiles `make()` with and without the fusion passes, runs both, and compares the outputs: the
 * worst difference relative to the element (`per: 'element'`) or to the largest |element| ('max':
 * for GELU, whose 1 + erf(x/√2) cancels for negative x and magnifies a last-bit difference).
 */
async function compareFused(
  make: () => IRGraph,
  inputs: Record<string, number[]>,
  out: string,
  per: 'element' | 'max' = 'element',
): Promise<number> {
  const results: number[][] = [];
  const opCounts: number[] = [];
  for (const passes of ['infer-shapes,fold,dce', undefined]) {
    const g = make();
    const dir = tmp('fleetc-fuse-');
    await compileGraph(g, join(dir, 'build'), passes ? { passes } : {});
    const args = [join(dir, 'build/plan.json'), '--output-dir', join(dir, 'out')];
    for (const [name, data] of Object.entries(inputs)) {
      const shape = g.value(name).shape as number[];
      writeNpyF32(join(dir, `${name}.npy`), shape, data);
      args.push('--input', `${name}=${join(dir, `${name}.npy`)}`);
    }
    const r = spawnSync(FLEETRT, args, { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    opCounts.push(g.ops().length);
    results.push(readNpyF32(join(dir, 'out', `${out}.npy`)).data);
  }
  expect(opCounts[1]).toBeLessThan(opCounts[0]!); // the default pipeline did fuse
  const [plain, fused] = results as [number[], number[]];
  expect(fused.length).toBe(plain.length);
  let worst = 0;
  const scale = per === 'max' ? Math.max(...plain.map(Math.abs)) : 0;
  fused.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - plain[i]!) / (1e-6 + (scale || Math.abs(plain[i]!))))));
  expect(plain.some((v) => v !== 0)).toBe(true);
  return worst;
}

describe.skipIf(!HAVE_FLEETRT)('fused kernels against the unfused graph (fleetrt)', () => {
  it('Conv + BatchNormalization + residual Add + Relu', async () => {
    const worst = await compareFused(convBlock, { x: values(108, 11), r: values(144, 12) }, 'y');
    expect(worst).toBeLessThan(1e-4);
  });

  it('an eleven-op chain with broadcast operands, Square, Sqrt, Tanh, Sigmoid and Max', async () => {
    const g = longChain();
    runPipeline(g, resolvePipeline('infer-shapes'), newPassContext());
    expect(fuseElementwise(g)).toBe(1);
    expect(Builder.opTypes(g)).toEqual(['FusedElementwise']);
    const worst = await compareFused(longChain, { x: values(240, 23, -2, 2), v: values(6, 24) }, 'y');
    expect(worst).toBeLessThan(1e-4);
  });

  it('a larger Conv with bias, residual (as Add input 0) and LeakyRelu', async () => {
    const worst = await compareFused(bigConv, { x: values(12800, 33), r: values(25600, 34) }, 'y');
    expect(worst).toBeLessThan(1e-4);
  });

  it('decomposed layer normalization, as LayerNormalization', async () => {
    for (const make of [decomposedLayerNorm('Pow', true), decomposedLayerNorm('Mul', false)]) {
      const worst = await compareFused(make, { x: values(240, 43, -3, 3) }, 'y');
      expect(worst).toBeLessThan(1e-4);
    }
  });

  it('MatMul + bias + GELU (each form), the packed SGEMM split by columns (rows 2·96) and by rows (2·40), and a short row block (2·2)', async () => {
    for (const form of ['x·e·½', 'x·(e·½)', '(x·½)·e'] as const)
      for (const rows of [96, 40, 2]) {
        const x = values(128 * rows, 53, -2, 2);
        expect(await compareFused(matmulGelu(rows, 200, form), { x }, 'y', 'max')).toBeLessThan(1e-6);
      }
  });

  it('MatMul + bias + residual before a LayerNormalization', async () => {
    const worst = await compareFused(() => matmulResidual(30), { x: values(1440, 65), r: values(1200, 66) }, 'y');
    expect(worst).toBeLessThan(1e-4);
  });

  it('a linear layer ÷ 4 (as alpha) + bias', async () => {
    expect(await compareFused(scaledLinear(4), { x: values(480, 93) }, 'y')).toBeLessThan(1e-5);
  });

  it('batched MatMul of two inputs + scalar bias + Tanh, then MatMul + Relu', async () => {
    const worst = await compareFused(batchedTanh, { p: values(960, 72), q: values(1152, 73) }, 'y');
    expect(worst).toBeLessThan(1e-4);
  });

  it('attention scores ÷ 4 (as alpha) + a mask per batch (bias rows), then Softmax', async () => {
    for (const batch of [1, 2]) {
      const inputs = { q: values(batch * 1280, 74, -2, 2), k: values(batch * 1280, 75, -2, 2) };
      const mask = values(batch * 20, 76, -3, 0);
      expect(await compareFused(() => attentionScores(batch), { ...inputs, mask }, 'y', 'max')).toBeLessThan(1e-6);
    }
  });

  it('an attention block as one Attention (heads read and written in place, the mask read with strides 0)', async () => {
    for (const batch of [1, 2]) {
      const qkv = {
        q: values(batch * 1280, 77, -2, 2),
        k: values(batch * 1280, 78, -2, 2),
        v: values(batch * 1280, 79),
      };
      const mask = values(batch * 20, 80, -3, 0);
      expect(await compareFused(attentionBlock(batch), { ...qkv, mask }, 'y')).toBeLessThan(1e-5);
      expect(await compareFused(attentionBlock(batch, { mask: false }), qkv, 'y')).toBeLessThan(1e-5);
    }
  });

  it('depthwise Conv + Clip, then a GELU chain with broadcasting', async () => {
    const worst = await compareFused(dwGelu, { x: values(392, 13, -4, 4) }, 'y');
    expect(worst).toBeLessThan(1e-4);
  });
});
