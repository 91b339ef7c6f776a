import { describe, expect, it } from 'vitest';
import { opCost } from '../../passes/analysis/cost.js';
import { TRANSCENDENTAL as T } from '../../passes/analysis/flops-units.js';
import type { IRGraph } from '../../src/ir/graph.js';
import { dimToString, evaluate, sym } from '../../src/ir/sym.js';
import { int, ints, single } from './graphs.js';

/** Hand counts, written out term by term, for the ops that dominate real models. */
const only = (g: IRGraph) => opCost(g, g.ops()[0]!);
const SOFTMAX = T + 4; // per score: exp, max, sum, subtract, divide (flops.ts's softmax weight)

describe('hand counts: FLOPs and bytes', () => {
  it('MatMul [3,7]x[7,2]: 2·3·7·2 FLOPs; reads 21+14 floats, writes 6', () => {
    const c = only(
      single(
        'MatMul',
        [
          ['a', 'float32', [3, 7]],
          ['b', 'float32', [7, 2]],
        ],
        [['y', 'float32', [3, 2]]],
      ),
    );
    expect([c.flops, c.bytesRead, c.bytesWritten]).toEqual([84, (21 + 14) * 4, 6 * 4]);
  });

  it('MatMul in float16 halves the bytes, not the FLOPs', () => {
    const c = only(
      single(
        'MatMul',
        [
          ['a', 'float16', [4, 8]],
          ['b', 'float16', [8, 4]],
        ],
        [['y', 'float16', [4, 4]]],
      ),
    );
    expect([c.flops, c.bytesRead, c.bytesWritten]).toEqual([2 * 4 * 8 * 4, (32 + 32) * 2, 16 * 2]);
  });

  it('Gemm [8,16]·[16,4] + C[4]: 2·8·16·4 + 8·4 FLOPs; bytes of A, B, C and Y', () => {
    const c = only(
      single(
        'Gemm',
        [
          ['a', 'float32', [8, 16]],
          ['b', 'float32', [16, 4]],
          ['c', 'float32', [4]],
        ],
        [['y', 'float32', [8, 4]]],
      ),
    );
    expect(c.flops).toBe(1024 + 32);
    expect(c.bytesRead).toBe((128 + 64 + 4) * 4);
    expect(c.bytesWritten).toBe(32 * 4);
  });

  it('Conv 1-D, stride 3, dilation 2, no bias: out = floor((20-5)/3)+1 = 6', () => {
    // x [2,3,20], w [5,3,3]; effective kernel (3-1)·2+1 = 5; 2·5·6 outputs × 2·3·3
    const g = single(
      'Conv',
      [
        ['x', 'float32', [2, 3, 20]],
        ['w', 'float32', [5, 3, 3], 'weight'],
      ],
      [['y', 'float32', [2, 5, 6]]],
      {
        strides: ints([3]),
        dilations: ints([2]),
        kernel_shape: ints([3]),
      },
    );
    const c = only(g);
    expect(c.flops).toBe(60 * 2 * 9);
    expect(c.bytesRead).toBe((120 + 45) * 4);
    expect(c.bytesWritten).toBe(60 * 4);
  });

  it('depthwise Conv (group = channels): each output is a k·k dot product', () => {
    // x [1,8,16,16], w [8,1,3,3], pads 1: out [1,8,16,16]; 2048 outputs × 2·9 + bias 2048
    const g = single(
      'Conv',
      [
        ['x', 'float32', [1, 8, 16, 16]],
        ['w', 'float32', [8, 1, 3, 3], 'weight'],
        ['b', 'float32', [8], 'weight'],
      ],
      [['y', 'float32', [1, 8, 16, 16]]],
      { group: int(8), pads: ints([1, 1, 1, 1]), kernel_shape: ints([3, 3]) },
    );
    expect(only(g).flops).toBe(2048 * 18 + 2048);
  });

  it('Conv 3-D with groups 2 and strides 2 on symbolic batch', () => {
    // x [N,4,8,8,8], w [6,2,3,3,3], strides 2, no pads: out spatial floor((8-3)/2)+1 = 3
    const N = sym('N');
    const g = single(
      'Conv',
      [
        ['x', 'float32', [N, 4, 8, 8, 8]],
        ['w', 'float32', [6, 2, 3, 3, 3], 'weight'],
      ],
      [['y', 'float32', [N, 6, 3, 3, 3]]],
      { group: int(2), strides: ints([2, 2, 2]), kernel_shape: ints([3, 3, 3]) },
    );
    const f = only(g).flops!;
    expect(dimToString(f)).toBe(`${6 * 27 * 2 * 2 * 27}*N`);
    expect(evaluate(f, { N: 3 })).toBe(3 * 6 * 27 * 2 * 54);
  });

  it('ai.onnx Attention (opset 23), 4-D Q/K/V with a mask: QK^T + PV + (scale, mask, softmax) per score', () => {
    // Q [2,4,5,16], K [2,4,7,16], V [2,4,7,8]: scores 2·4·5·7 = 280
    const g = single(
      'Attention',
      [
        ['q', 'float32', [2, 4, 5, 16]],
        ['k', 'float32', [2, 4, 7, 16]],
        ['v', 'float32', [2, 4, 7, 8]],
        ['m', 'bool', [5, 7]],
      ],
      [['y', 'float32', [2, 4, 5, 8]]],
    );
    expect(only(g).flops).toBe(2 * 280 * 16 + 2 * 280 * 8 + 280 * (1 + SOFTMAX + 1));
  });

  it('ai.onnx Attention, 3-D inputs with q_num_heads/kv_num_heads (GQA)', () => {
    // Q [1,6,64] 8 heads → dh 8; K [1,9,32], V [1,9,32] 4 kv heads → dv 8; scores 1·8·6·9 = 432
    const g = single(
      'Attention',
      [
        ['q', 'float32', [1, 6, 64]],
        ['k', 'float32', [1, 9, 32]],
        ['v', 'float32', [1, 9, 32]],
      ],
      [['y', 'float32', [1, 6, 64]]],
      { q_num_heads: int(8), kv_num_heads: int(4) },
    );
    expect(only(g).flops).toBe(2 * 432 * 8 + 2 * 432 * 8 + 432 * (1 + SOFTMAX));
  });

  it('reductions over two axes of a symbolic tensor: one op per input element (+1 per output for the mean)', () => {
    const B = sym('batch');
    const g = single('ReduceMean', [['x', 'float32', [B, 6, 10]]], [['y', 'float32', [B, 1, 1]]], {
      axes: ints([1, 2]),
    });
    const c = only(g);
    expect(dimToString(c.flops!)).toBe('61*batch');
    expect(dimToString(c.bytesRead!)).toBe('240*batch');
    expect(dimToString(c.bytesWritten!)).toBe('4*batch');
    const mx = only(
      single('ReduceMax', [['x', 'float32', [3, 4, 5]]], [['y', 'float32', [3, 1, 5]]], { axes: ints([1]) }),
    );
    expect(mx.flops).toBe(60);
  });
});
