import { IRGraph, type AttrValue } from '../../src/ir/graph.js';

/** Deterministic values in [lo, hi). */
export function values(n: number, seed: number, lo = -1, hi = 1): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return lo + (s / 2 ** 31) * (hi - lo);
  });
}

/** A small graph builder: float32 inputs/weights, ONNX ops at opset 17. */
export class Builder {
  readonly g = new IRGraph('fuse', { format: 'ir', file: 'fuse.ir', opsets: { '': 17 } });

  input(name: string, shape: number[]): string {
    this.g.addValue({ name, dtype: 'float32', shape, role: 'input' });
    this.g.inputs = [...this.g.inputs, name];
    return name;
  }

  weight(name: string, shape: number[], data: number[]): string {
    const bytes = new Uint8Array(Float32Array.from(data).buffer);
    this.g.addValue({ name, dtype: 'float32', shape, role: 'weight', weight: { kind: 'inline', data: bytes } });
    return name;
  }

  int64s(name: string, data: number[]): string {
    const bytes = new Uint8Array(BigInt64Array.from(data.map(BigInt)).buffer);
    this.g.addValue({
      name,
      dtype: 'int64',
      shape: [data.length],
      role: 'weight',
      weight: { kind: 'inline', data: bytes },
    });
    return name;
  }

  op(opType: string, inputs: string[], out: string, attrs: Record<string, AttrValue> = {}): string {
    this.g.addOp({ opType, opset: 17, attrs, name: out }, inputs, [out]);
    return out;
  }

  /**
   * `If` 'if' on a bool input 'cond' (added here) into `out`, both branches an Identity of the
   * outer-scope value `value` (float32 of `shape`): a subgraph that reads a value of this graph.
   */
  ifReading(value: string, shape: number[], out: string): string {
    this.g.addValue({ name: 'cond', dtype: 'bool', shape: [], role: 'input' });
    this.g.inputs = [...this.g.inputs, 'cond'];
    const body = new IRGraph('then');
    body.addValue({ name: value, dtype: 'float32', shape, role: 'outer' });
    body.addOp({ opType: 'Identity', opset: 17 }, [value], ['out']);
    body.outputs = ['out'];
    const branch = { type: 'graph' as const, value: body };
    this.g.addOp(
      { opType: 'If', opset: 17, name: 'if', attrs: { then_branch: branch, else_branch: branch } },
      ['cond'],
      [out],
    );
    return out;
  }

  output(...names: string[]): IRGraph {
    this.g.outputs = names;
    return this.g;
  }

  /** Op types in topological order. */
  static opTypes(g: IRGraph): string[] {
    return g.topoOps().map((id) => g.op(id).opType);
  }
}

export const ints = (value: number[]): AttrValue => ({ type: 'ints', value });
export const float = (value: number): AttrValue => ({ type: 'float', value });
