import { describe, expect, it } from 'vitest';
import { costGraph, opCost } from '../../passes/analysis/cost.js';
import { TRANSCENDENTAL as T } from '../../passes/analysis/flops-units.js';
import { runPipeline, resolvePipeline } from '../../passes/driver.js';
import { newPassContext } from '../../passes/pass.js';
import { dimToString, evaluate, sym, type Dim } from '../../src/ir/sym.js';
import type { IRGraph } from '../../src/ir/graph.js';
import { int, ints, single } from './graphs.js';

const only = (g: IRGraph) => opCost(g, g.ops()[0]!);
const flops = (g: IRGraph): Dim | null => only(g).flops;
const f = { type: 'float' as const };

describe('cost: matmul family', () => {
  it('batched MatMul: 2·batch·M·K·N, bytes are input and output sizes', () => {
    const g = single(
      'MatMul',
      [
        ['a', 'float32', [2, 3, 4, 5]],
        ['b', 'float32', [5, 6]],
      ],
      [['y', 'float32', [2, 3, 4, 6]]],
    );
    const c = only(g);
    expect(c.flops).toBe(2 * 6 * 4 * 5 * 6);
    expect(c.bytesRead).toBe((120 + 30) * 4);
    expect(c.bytesWritten).toBe(144 * 4);
  });
  it('broadcasts batch dims and promotes 1-D operands', () => {
    expect(
      flops(
        single(
          'MatMul',
          [
            ['a', 'float32', [1, 3, 4, 5]],
            ['b', 'float32', [2, 1, 5, 6]],
          ],
          [['y', 'float32', [2, 3, 4, 6]]],
        ),
      ),
    ).toBe(1440);
    expect(
      flops(
        single(
          'MatMul',
          [
            ['a', 'float32', [5]],
            ['b', 'float32', [5, 6]],
          ],
          [['y', 'float32', [6]]],
        ),
      ),
    ).toBe(60);
    expect(
      flops(
        single(
          'MatMul',
          [
            ['a', 'float32', [4, 5]],
            ['b', 'float32', [5]],
          ],
          [['y', 'float32', [4]]],
        ),
      ),
    ).toBe(40);
  });
  it('symbolic MatMul gives an expression', () => {
    const B = sym('batch');
    const S = sym('seq');
    const g = single(
      'MatMul',
      [
        ['a', 'float32', [B, S, 64]],
        ['b', 'float32', [64, 128]],
      ],
      [['y', 'float32', [B, S, 128]]],
    );
    const c = only(g);
    expect(dimToString(c.flops!)).toBe('16384*batch*seq');
    expect(dimToString(c.bytesRead!)).toBe('256*batch*seq + 32768');
    expect(evaluate(c.flops!, { batch: 2, seq: 3 })).toBe(16384 * 6);
  });
  it('Gemm with transA/transB, bias, alpha and beta', () => {
    const ins = [
      ['a', 'float32', [5, 4]],
      ['b', 'float32', [6, 5]],
      ['c', 'float32', [6]],
    ] as [string, 'float32', number[]][];
    const out: [string, 'float32', number[]][] = [['y', 'float32', [4, 6]]];
    const t = { transA: int(1), transB: int(1) };
    expect(flops(single('Gemm', ins, out, t))).toBe(2 * 4 * 5 * 6 + 24);
    expect(flops(single('Gemm', ins, out, { ...t, beta: { ...f, value: 0.5 } }))).toBe(240 + 48);
    expect(flops(single('Gemm', ins, out, { ...t, alpha: { ...f, value: 2 } }))).toBe(240 + 24 + 24);
    expect(flops(single('Gemm', ins.slice(0, 2), out, t))).toBe(240);
  });
});

describe('cost: convolutions and pooling', () => {
  const x: [string, 'float32', number[]] = ['x', 'float32', [1, 4, 10, 10]];
  const w: [string, 'float32', number[], 'weight'] = ['w', 'float32', [8, 2, 3, 3], 'weight'];
  const b: [string, 'float32', number[], 'weight'] = ['b', 'float32', [8], 'weight'];
  const attrs = {
    group: int(2),
    strides: ints([2, 2]),
    dilations: ints([2, 2]),
    pads: ints([1, 1, 1, 1]),
    kernel_shape: ints([3, 3]),
  };
  // effective kernel (3-1)·2+1 = 5; out = floor((10+2-5)/2)+1 = 4; 128 outputs × 2·(4/2)·9 + bias
  it('Conv with groups, dilation, strides and pads (output shape given)', () => {
    expect(flops(single('Conv', [x, w, b], [['y', 'float32', [1, 8, 4, 4]]], attrs))).toBe(128 * 36 + 128);
  });
  it('Conv computes the output size itself when the output shape is unknown', () => {
    const g = single('Conv', [x, w, b], [['y', 'float32', [1, 8, 4, 4]]], attrs);
    g.updateValue('y', { shape: null });
    expect(flops(g)).toBe(128 * 36 + 128);
    g.updateOp(g.ops()[0]!, {
      attrs: { ...attrs, auto_pad: { type: 'string', value: 'SAME_UPPER' }, dilations: ints([1, 1]) },
    });
    expect(flops(g)).toBe(1 * 8 * 5 * 5 * 36 + 200); // ceil(10/2) = 5
  });
  it('symbolic Conv', () => {
    const N = sym('n');
    const H = sym('h');
    const g = single(
      'Conv',
      [
        ['x', 'float32', [N, 3, H, H]],
        ['w', 'float32', [16, 3, 3, 3], 'weight'],
      ],
      [['y', 'float32', [N, 16, H, H]]],
      { pads: ints([1, 1, 1, 1]) },
    );
    expect(dimToString(flops(g)!)).toBe('864*h*h*n');
  });
  it('ConvTranspose scatters every input through M/group·k weights', () => {
    const g = single(
      'ConvTranspose',
      [
        ['x', 'float32', [1, 4, 5, 5]],
        ['w', 'float32', [4, 3, 3, 3], 'weight'],
        ['b', 'float32', [3], 'weight'],
      ],
      [['y', 'float32', [1, 3, 7, 7]]],
    );
    expect(flops(g)).toBe(2 * 100 * 27 + 147);
  });
  it('MaxPool / AveragePool / GlobalAveragePool', () => {
    const ins: [string, 'float32', number[]][] = [['x', 'float32', [1, 1, 4, 4]]];
    const out: [string, 'float32', number[]][] = [['y', 'float32', [1, 1, 2, 2]]];
    const a = { kernel_shape: ints([2, 2]), strides: ints([2, 2]) };
    expect(flops(single('MaxPool', ins, out, a))).toBe(16);
    expect(flops(single('AveragePool', ins, out, a))).toBe(20);
    expect(flops(single('GlobalAveragePool', ins, [['y', 'float32', [1, 1, 1, 1]]]))).toBe(17);
  });
});

describe('cost: attention ops', () => {
  it('com.microsoft MultiHeadAttention: QK^T, softmax, PV', () => {
    const g = single(
      'MultiHeadAttention',
      [
        ['q', 'float32', [2, 8, 64]],
        ['k', 'float32', [2, 10, 64]],
        ['v', 'float32', [2, 10, 64]],
      ],
      [['y', 'float32', [2, 8, 64]]],
      { num_heads: int(4) },
      'com.microsoft',
    );
    const scores = 2 * 4 * 8 * 10;
    expect(flops(g)).toBe(2 * scores * 16 + 2 * scores * 16 + scores * (1 + T + 4));
  });
  it('com.microsoft Attention: QKV projection, bias, past, mask', () => {
    const ins: ([string, 'float32' | 'int32', number[]] | null)[] = [
      ['x', 'float32', [2, 8, 32]],
      ['w', 'float32', [32, 96]],
      ['bias', 'float32', [96]],
    ];
    const out: [string, 'float32', number[]][] = [['y', 'float32', [2, 8, 32]]];
    const proj = 2 * 2 * 8 * 32 * 96 + 2 * 8 * 96;
    const core = (l: number) => 2 * (2 * 4 * 8 * l) * 8 * 2 + 2 * 4 * 8 * l * (1 + T + 4);
    expect(flops(single('Attention', ins, out, { num_heads: int(4) }, 'com.microsoft'))).toBe(proj + core(8));
    const withPast = single(
      'Attention',
      [...ins, ['mask', 'int32', [2, 13]], ['past', 'float32', [2, 2, 4, 5, 8]]],
      out,
      { num_heads: int(4) },
      'com.microsoft',
    );
    expect(flops(withPast)).toBe(proj + core(13) + 2 * 4 * 8 * 13);
  });
  it('com.microsoft GroupQueryAttention: total length from present_key', () => {
    const g = single(
      'GroupQueryAttention',
      [
        ['q', 'float32', [1, 3, 64]],
        ['k', 'float32', [1, 3, 32]],
        ['v', 'float32', [1, 3, 32]],
        ['pk', 'float32', [1, 4, 5, 8]],
        ['pv', 'float32', [1, 4, 5, 8]],
      ],
      [
        ['y', 'float32', [1, 3, 64]],
        ['present_key', 'float32', [1, 4, 8, 8]],
        ['present_value', 'float32', [1, 4, 8, 8]],
      ],
      { num_heads: int(8), kv_num_heads: int(4) },
      'com.microsoft',
    );
    const scores = 1 * 8 * 3 * 8;
    expect(flops(g)).toBe(2 * scores * 8 * 2 + scores * (1 + T + 4));
  });
  it('Softmax and LayerNormalization', () => {
    expect(flops(single('Softmax', [['x', 'float32', [2, 10]]], [['y', 'float32', [2, 10]]]))).toBe(20 * (T + 4));
    const ln = single(
      'LayerNormalization',
      [
        ['x', 'float32', [2, 3, 8]],
        ['s', 'float32', [8], 'weight'],
        ['b', 'float32', [8], 'weight'],
      ],
      [['y', 'float32', [2, 3, 8]]],
    );
    expect(flops(ln)).toBe(48 * 7 + 6 * (3 + T));
  });
});

describe('cost: reductions, elementwise, data movement', () => {
  const x: [string, 'float32', number[]] = ['x', 'float32', [4, 5]];
  const y: [string, 'float32', number[]][] = [['y', 'float32', [4]]];
  it('reductions count one op per input element plus the per-output finish', () => {
    expect(flops(single('ReduceSum', [x], y))).toBe(20);
    expect(flops(single('ReduceMean', [x], y))).toBe(24);
    expect(flops(single('ReduceL2', [x], y))).toBe(40 + 4 * T);
    expect(flops(single('ReduceSumSquare', [x], y))).toBe(40);
    expect(flops(single('ReduceLogSumExp', [x], y))).toBe(20 * (T + 1) + 4 * T);
    expect(flops(single('ArgMax', [x], [['y', 'float32', [4]]]))).toBe(20);
  });
  it('elementwise: per output element, transcendental weighted, variadic k-1', () => {
    expect(
      flops(
        single(
          'Add',
          [
            ['a', 'float32', [2, 3]],
            ['b', 'float32', [3]],
          ],
          [['y', 'float32', [2, 3]]],
        ),
      ),
    ).toBe(6);
    expect(flops(single('Exp', [['a', 'float32', [10]]], [['y', 'float32', [10]]]))).toBe(10 * T);
    expect(flops(single('Sigmoid', [['a', 'float32', [10]]], [['y', 'float32', [10]]]))).toBe(10 * (T + 2));
    expect(
      flops(
        single(
          'Sum',
          [
            ['a', 'float32', [4]],
            ['b', 'float32', [4]],
            ['c', 'float32', [4]],
          ],
          [['y', 'float32', [4]]],
        ),
      ),
    ).toBe(8);
  });
  it('data movement is 0 FLOPs; Shape reads no tensor bytes; sub-byte types round up', () => {
    const t = only(single('Transpose', [['a', 'float32', [2, 3]]], [['y', 'float32', [3, 2]]]));
    expect([t.flops, t.bytesRead, t.bytesWritten]).toEqual([0, 24, 24]);
    const s = only(single('Shape', [['a', 'float32', [2, 3]]], [['y', 'int64', [2]]]));
    expect([s.flops, s.bytesRead, s.bytesWritten]).toEqual([0, 0, 16]);
    const q = only(single('Identity', [['a', 'int4', [3]]], [['y', 'int4', [3]]]));
    expect(q.bytesRead).toBe(2);
  });
  it('Einsum contracts over the full index space', () => {
    const g = single(
      'Einsum',
      [
        ['a', 'float32', [2, 3, 4]],
        ['b', 'float32', [2, 4, 5]],
      ],
      [['y', 'float32', [2, 3, 5]]],
      { equation: { type: 'string', value: 'bij,bjk->bik' } },
    );
    expect(flops(g)).toBe(2 * 2 * 3 * 4 * 5);
  });
  it('unknown op types and unknown shapes are reported, not guessed', () => {
    const g = single('MysteryOp', [['a', 'float32', [2]]], [['y', 'float32', [2]]], {}, 'example.com');
    expect(only(g).flops).toBeNull();
    expect(costGraph(g).unknown).toEqual(g.ops());
    const h = single(
      'MatMul',
      [
        ['a', 'float32', [2, 2]],
        ['b', 'float32', [2, 2]],
      ],
      [['y', 'float32', [2, 2]]],
    );
    h.updateValue('b', { shape: null });
    expect(only(h).flops).toBeNull();
  });
  it('runs as the registered `cost` analysis pass', () => {
    const g = single(
      'MatMul',
      [
        ['a', 'float32', [4, 5]],
        ['b', 'float32', [5, 6]],
      ],
      [['y', 'float32', [4, 6]]],
    );
    const ctx = newPassContext({ verify: true });
    runPipeline(g, resolvePipeline('cost'), ctx);
    const res = ctx.results.cost!;
    expect(res.flops).toBe(240);
    expect(res.bytesRead).toBe((20 + 30) * 4);
  });
});
