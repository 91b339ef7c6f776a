import { describe, expect, it } from 'vitest';
import { IRGraph } from '../../src/ir/graph.js';
import { graphFromJSON, graphToJSON } from '../../src/ir/json.js';
import { printGraph } from '../../src/ir/print.js';
import { sym } from '../../src/ir/sym.js';
import { verifyGraph } from '../../src/ir/verify.js';
import { parsePipeline, printPipeline } from '../../passes/pipeline.js';

function tiny(): IRGraph {
  const g = new IRGraph('tiny', { format: 'onnx', file: 'tiny.onnx', opsets: { '': 17 } });
  g.addValue({ name: 'x', dtype: 'float32', shape: [sym('batch'), 4], role: 'input' });
  g.addValue({
    name: 'w',
    dtype: 'float32',
    shape: [4, 2],
    role: 'weight',
    weight: { kind: 'inline', data: new Uint8Array(32) },
  });
  g.addOp(
    { opType: 'MatMul', opset: 17, name: 'mm', loc: { file: 'tiny.onnx', node: 'mm', index: 0 } },
    ['x', 'w'],
    ['y'],
  );
  g.updateValue('y', { dtype: 'float32', shape: [sym('batch'), 2] });
  g.addOp({ opType: 'Add', opset: 17, name: 'add' }, ['y', 'y'], ['z']);
  g.addOp({ opType: 'Clip', opset: 17, name: 'clip' }, ['z', '', ''], ['out']);
  g.inputs = ['x'];
  g.outputs = ['out'];
  return g;
}

describe('IRGraph', () => {
  it('keeps slots, producers, consumers and absent optional inputs', () => {
    const g = tiny();
    expect(g.opInputs('add')).toEqual(['y', 'y']);
    expect(g.opInputs('clip')).toEqual(['z', undefined, undefined]);
    expect(g.producer('y')).toEqual({ op: 'mm', slot: 0 });
    expect(
      g
        .consumers('y')
        .map((u) => u.slot)
        .sort(),
    ).toEqual([0, 1]);
    expect(g.topoOps()).toEqual(['mm', 'add', 'clip']);
    expect(verifyGraph(g)).toEqual([]);
  });

  it('rewires uses and follows graph outputs', () => {
    const g = tiny();
    g.addOp({ opType: 'Relu', name: 'relu' }, ['z'], ['r']);
    g.replaceAllUses('out', 'r');
    expect(g.outputs).toEqual(['r']);
    g.replaceAllUses('y', 'x');
    expect(g.opInputs('add')).toEqual(['x', 'x']);
  });

  it('finds structural problems', () => {
    const g = tiny();
    g.g.addDirectedEdge('v:out', 'o:mm', { slot: 0 });
    const problems = verifyGraph(g).map((p) => p.message);
    expect(problems.some((m) => m.includes('two inputs in slot 0'))).toBe(true);
    expect(problems.some((m) => m.includes('cycle'))).toBe(true);
  });

  it('catches a weight with a producer and unique names', () => {
    const g = tiny();
    expect(() => g.addValue({ name: 'x', dtype: 'float32', shape: [], role: 'input' })).toThrow(/twice/);
    expect(() => g.addOp({ opType: 'Relu' }, ['nope'], ['q'])).toThrow(/undefined value/);
    expect(g.freshOpName('mm')).toBe('mm_1');
  });

  it('round-trips through JSON and prints readably', () => {
    const g = tiny();
    const back = graphFromJSON(JSON.parse(JSON.stringify(graphToJSON(g))));
    expect(graphToJSON(back)).toEqual(graphToJSON(g));
    expect(printGraph(back)).toBe(printGraph(g));
    expect(printGraph(g)).toContain('%y: float32[batch, 2] = MatMul(%x, %w)');
    expect(printGraph(g)).toContain('Clip(%z, _, _)');
  });
});

describe('textual pipelines', () => {
  it('print back exactly', () => {
    const text = 'infer-shapes,fold,dce,partition{objective=latency,stages=2,exact=true}';
    expect(printPipeline(parsePipeline(text))).toBe(text);
    expect(parsePipeline(text)[3]!.options).toEqual({ objective: 'latency', stages: 2, exact: true });
  });
  it('reject malformed text', () => {
    expect(() => parsePipeline('a,{b}')).toThrow(/cannot parse/);
    expect(() => parsePipeline('a{b}')).toThrow(/key=value/);
  });
});
