import { describe, expect, it } from 'vitest';
import { runPipeline, resolvePipeline } from '../../passes/driver.js';
import { newPassContext } from '../../passes/pass.js';
import { commonSubexpressionElimination } from '../../passes/simplify/cse.js';
import { deadCodeElimination } from '../../passes/simplify/dce.js';
import { IRGraph, type AttrValue } from '../../src/ir/graph.js';
import { verifyGraph } from '../../src/ir/verify.js';
import { tensor } from './graphs.js';

function base(): IRGraph {
  const g = new IRGraph('g');
  tensor(g, 'x', 'float32', [4], 'input');
  tensor(g, 'w', 'float32', [4], 'weight');
  tensor(g, 'unused_w', 'float32', [4], 'weight');
  return g;
}

describe('dce', () => {
  it('removes dead chains and unused weights, keeps what reaches an output', () => {
    const g = base();
    g.addOp({ opType: 'Mul', name: 'live' }, ['x', 'w'], ['y']);
    g.addOp({ opType: 'Relu', name: 'dead1' }, ['x'], ['d1']);
    g.addOp({ opType: 'Exp', name: 'dead2' }, ['d1'], ['d2']);
    g.addOp({ opType: 'Add', name: 'dead3' }, ['d2', 'w'], ['d3']);
    g.outputs = ['y'];
    expect(deadCodeElimination(g)).toEqual({ ops: 3, values: 4 });
    expect(g.ops()).toEqual(['live']);
    expect(g.values().sort()).toEqual(['w', 'x', 'y']);
    expect(verifyGraph(g)).toEqual([]);
  });
  it('keeps an op whose output only a subgraph reads from the outer scope', () => {
    const g = base();
    g.addOp({ opType: 'Relu', name: 'feeds_body' }, ['x'], ['r']);
    const body = new IRGraph('then');
    tensor(body, 'r', 'float32', [4]);
    body.updateValue('r', { role: 'outer' });
    body.addOp({ opType: 'Identity' }, ['r'], ['out']);
    body.outputs = ['out'];
    tensor(g, 'cond', 'bool', [], 'input');
    const branch: AttrValue = { type: 'graph', value: body };
    g.addOp({ opType: 'If', name: 'if', attrs: { then_branch: branch, else_branch: branch } }, ['cond'], ['y']);
    g.outputs = ['y'];
    deadCodeElimination(g);
    expect(g.ops().sort()).toEqual(['feeds_body', 'if']);
    // once the If is gone, the op feeding its body dies with it
    g.outputs = [];
    deadCodeElimination(g);
    expect(g.ops()).toEqual([]);
  });
  it('is registered as the `dce` pass and reports a change', () => {
    const g = base();
    g.addOp({ opType: 'Relu' }, ['x'], ['y']);
    g.outputs = ['y'];
    const ctx = newPassContext({ verify: true });
    const [rec] = runPipeline(g, resolvePipeline('dce'), ctx);
    expect(rec!.changed).toBe(true); // the unused weights
    expect(runPipeline(g, resolvePipeline('dce'), ctx)[0]!.changed).toBe(false);
  });
});

describe('cse', () => {
  it('merges identical ops, transitively, and leaves a verified graph', () => {
    const g = base();
    g.addOp({ opType: 'Mul', name: 'm1' }, ['x', 'w'], ['a']);
    g.addOp({ opType: 'Mul', name: 'm2' }, ['x', 'w'], ['b']);
    g.addOp({ opType: 'Relu', name: 'r1' }, ['a'], ['ra']);
    g.addOp({ opType: 'Relu', name: 'r2' }, ['b'], ['rb']);
    g.addOp({ opType: 'Add', name: 'sum' }, ['ra', 'rb'], ['y']);
    g.outputs = ['y'];
    expect(commonSubexpressionElimination(g)).toBe(2);
    expect(g.ops()).toEqual(['m1', 'r1', 'sum']);
    expect(g.opInputs('sum')).toEqual(['ra', 'ra']);
    expect(verifyGraph(g)).toEqual([]);
  });
  it('compares attributes canonically and tells different ones apart', () => {
    const g = base();
    const perm = (p: number[]): Record<string, AttrValue> => ({ perm: { type: 'ints', value: p } });
    g.addOp({ opType: 'Transpose', name: 't1', attrs: perm([0]) }, ['x'], ['a']);
    g.addOp({ opType: 'Transpose', name: 't2', attrs: perm([0]) }, ['x'], ['b']);
    g.addOp({ opType: 'LeakyRelu', name: 'l1', attrs: { alpha: { type: 'float', value: 0.1 } } }, ['x'], ['c']);
    g.addOp({ opType: 'LeakyRelu', name: 'l2', attrs: { alpha: { type: 'float', value: 0.2 } } }, ['x'], ['d']);
    const k = (v: number): Record<string, AttrValue> => ({
      value: {
        type: 'tensor',
        value: {
          dtype: 'float32',
          shape: [1],
          ref: { kind: 'inline', data: new Uint8Array(new Float32Array([v]).buffer) },
        },
      },
    });
    g.addOp({ opType: 'Constant', name: 'k1', attrs: k(1) }, [], ['k1v']);
    g.addOp({ opType: 'Constant', name: 'k2', attrs: k(1) }, [], ['k2v']);
    g.addOp({ opType: 'Constant', name: 'k3', attrs: k(2) }, [], ['k3v']);
    g.addOp(
      { opType: 'Concat', name: 'cat', attrs: { axis: { type: 'int', value: 0 } } },
      ['a', 'b', 'c', 'd', 'k1v', 'k2v', 'k3v'],
      ['y'],
    );
    g.outputs = ['y'];
    expect(commonSubexpressionElimination(g)).toBe(2);
    expect(g.opInputs('cat')).toEqual(['a', 'a', 'c', 'd', 'k1v', 'k1v', 'k3v']);
  });
  it('never merges random ops, training-mode Dropout, or duplicates that are graph outputs', () => {
    const g = base();
    const shape: Record<string, AttrValue> = { shape: { type: 'ints', value: [4] } };
    g.addOp({ opType: 'RandomNormal', name: 'n1', attrs: shape }, [], ['n1v']);
    g.addOp({ opType: 'RandomNormal', name: 'n2', attrs: shape }, [], ['n2v']);
    tensor(g, 'train', 'bool', [], 'input');
    g.addOp({ opType: 'Dropout', name: 'd1', opset: 13 }, ['x', '', 'train'], ['dv1']);
    g.addOp({ opType: 'Dropout', name: 'd2', opset: 13 }, ['x', '', 'train'], ['dv2']);
    g.addOp({ opType: 'Dropout', name: 'i1', opset: 13 }, ['x'], ['iv1']);
    g.addOp({ opType: 'Dropout', name: 'i2', opset: 13 }, ['x'], ['iv2']);
    g.addOp({ opType: 'Relu', name: 'o1' }, ['x'], ['out1']);
    g.addOp({ opType: 'Relu', name: 'o2' }, ['x'], ['out2']);
    g.addOp({ opType: 'Sum', name: 's' }, ['n1v', 'n2v', 'dv1', 'dv2', 'iv1', 'iv2'], ['y']);
    g.outputs = ['y', 'out1', 'out2'];
    expect(commonSubexpressionElimination(g)).toBe(1); // only the inference-mode Dropouts
    expect(g.hasOp('i2')).toBe(false);
    expect(g.hasOp('o2')).toBe(true);
  });
  it('is registered as the `cse` pass', () => {
    expect(resolvePipeline('cse,dce').map((s) => s.name)).toEqual(['cse', 'dce']);
  });
});
