// One opset per domain (src/api/export-opsets.ts): ops of other versions than the model's
// (what the passes add) are rewritten into the written version's form. The same graph written at
// ai.onnx 9, 11 and 18 gives the same results in onnxruntime.
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { adaptOpsets, domainOpsets } from '../../src/api/export-opsets.js';
import { encodeModel, modelProto } from '../../src/frontends/onnx/write.js';
import type { DType } from '../../src/ir/dtype.js';
import { IRGraph } from '../../src/ir/graph.js';
import type { AttrValue } from '../../src/ir/types.js';

const ints = (value: number[]): AttrValue => ({ type: 'ints', value });
const int = (value: number): AttrValue => ({ type: 'int', value });

function weight(g: IRGraph, name: string, dtype: DType, values: number[], shape: number[]): string {
  const data =
    dtype === 'int64'
      ? new Uint8Array(BigInt64Array.from(values, (v) => BigInt(v)).buffer)
      : new Uint8Array(Float32Array.from(values).buffer);
  g.addValue({ name, dtype, shape, role: 'weight', weight: { kind: 'inline', data } });
  return name;
}

/** Ops at opsets 11, 13 and 17 in one graph, as a compile can leave them. */
function mixed(): IRGraph {
  const g = new IRGraph('mixed');
  g.addValue({ name: 'x', dtype: 'float32', shape: [2, 3, 4], role: 'input' });
  g.inputs = ['x'];
  const op = (opType: string, opset: number, ins: string[], outs: string[], attrs: Record<string, AttrValue> = {}) =>
    g.addOp({ opType, opset, attrs, name: outs[0] }, ins, outs);
  op('Unsqueeze', 11, ['x'], ['u'], { axes: ints([0]) });
  op('ReduceSum', 13, ['u', weight(g, 'rs_axes', 'int64', [3], [1])], ['rs'], { keepdims: int(1) });
  op('ReduceMean', 11, ['x'], ['rm'], { axes: ints([-1]), keepdims: int(0) });
  op('ReduceMax', 18, ['x', weight(g, 'rx_axes', 'int64', [1], [1])], ['rx'], { keepdims: int(1) });
  op('Softmax', 13, ['x'], ['sm']);
  op('LogSoftmax', 11, ['x'], ['lsm'], { axis: int(2) });
  op('Split', 11, ['x'], ['sa', 'sb'], { axis: int(1), split: ints([1, 2]) });
  op('Squeeze', 13, ['sa', weight(g, 'sq_axes', 'int64', [1], [1])], ['sq']);
  op('TopK', 11, ['x', weight(g, 'k', 'int64', [2], [1])], ['tv', 'ti'], { axis: int(-1) });
  op(
    'Slice',
    13,
    [
      'x',
      weight(g, 'st', 'int64', [1], [1]),
      weight(g, 'en', 'int64', [9e18], [1]),
      weight(g, 'ax', 'int64', [2], [1]),
    ],
    ['sl'],
  );
  op('Clip', 13, ['x', weight(g, 'lo', 'float32', [-0.5], []), weight(g, 'hi', 'float32', [0.25], [])], ['cl']);
  op(
    'LayerNormalization',
    17,
    ['x', weight(g, 'gamma', 'float32', [1, 2, 0.5, -1], [4]), weight(g, 'beta', 'float32', [0, 0.1, 0.2, 0.3], [4])],
    ['ln'],
    { axis: int(-1), epsilon: { type: 'float', value: 1e-5 } },
  );
  g.outputs = ['rs', 'rm', 'rx', 'sm', 'lsm', 'sb', 'sq', 'tv', 'ti', 'sl', 'cl', 'ln'];
  for (const o of g.outputs) g.updateValue(o, { dtype: o === 'ti' ? 'int64' : 'float32' });
  return g;
}

async function run(version: number): Promise<{ out: ort.InferenceSession.OnnxValueMapType; g: IRGraph }> {
  const g = mixed();
  const done = adaptOpsets(g, { '': version }, 'mixed.onnx');
  if (version < 17) expect(done.decomposed).toBe(1);
  const bytes = encodeModel(modelProto(g, { opsets: { '': version } }));
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
  const x = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.7) * 2);
  return { out: await s.run({ x: new ort.Tensor('float32', x, [2, 3, 4]) }), g };
}

describe('writing one opset per domain', () => {
  it('picks the version most ops carry (on a tie the newer)', () => {
    const g = mixed();
    expect(domainOpsets(g)).toEqual({ '': 13 });
    g.addOp({ opType: 'Relu', opset: 11 }, ['x'], ['r']);
    expect(domainOpsets(g)).toEqual({ '': 11 });
  });

  it('the same graph at ai.onnx 9, 11 and 18 computes the same', async () => {
    const [old, a, b] = [await run(9), await run(11), await run(18)];
    for (const id of a.g.ops()) expect(a.g.op(id).opset).toBe(11);
    const form = (g: IRGraph, type: string): [string[], string[]] => {
      const id = g.ops().find((o) => g.op(o).opType === type)!;
      return [Object.keys(g.op(id).attrs).sort(), g.opInputs(id).filter((v) => v !== undefined) as string[]];
    };
    expect(form(a.g, 'ReduceSum')[0]).toContain('axes');
    expect(form(b.g, 'ReduceMean')[1]).toHaveLength(2);
    expect(form(b.g, 'Split')[1]).toHaveLength(2);
    expect(form(a.g, 'Slice')[1]).toHaveLength(4);
    expect(form(old.g, 'Slice')[0]).toEqual(['axes', 'ends', 'starts']);
    expect(form(old.g, 'TopK')[0]).toContain('k');
    expect(form(old.g, 'Clip')[0]).toEqual(['max', 'min']);
    expect(b.g.ops().some((o) => b.g.op(o).opType === 'LayerNormalization')).toBe(true);
    for (const [at, r] of [
      [9, old],
      [11, a],
    ] as const)
      for (const name of Object.keys(r.out)) {
        const x = r.out[name]!.data as Float32Array;
        const y = b.out[name]!.data as Float32Array;
        expect(r.out[name]!.dims, `${name} at ${at}`).toEqual(b.out[name]!.dims);
        for (let i = 0; i < x.length; i++)
          expect(Math.abs(Number(x[i]) - Number(y[i])), `${name}[${i}] at ${at}`).toBeLessThanOrEqual(
            1e-5 * Math.abs(Number(y[i])) + 1e-6,
          );
      }
  });
});
