import { IRGraph, type AttrValue } from '../../src/ir/graph.js';
import type { DType } from '../../src/ir/dtype.js';
import { add, sym, type Dim } from '../../src/ir/sym.js';

/** Small hand-made graphs for analysis and CLI tests. */
export function tensor(
  g: IRGraph,
  name: string,
  dtype: DType,
  shape: Dim[],
  role: 'input' | 'weight' | 'intermediate' = 'intermediate',
): string {
  g.addValue({
    name,
    dtype,
    shape,
    role,
    ...(role === 'weight' ? { weight: { kind: 'inline' as const, data: new Uint8Array(0) } } : {}),
  });
  if (role === 'input') g.inputs = [...g.inputs, name];
  return name;
}

export const ints = (value: number[]): AttrValue => ({ type: 'ints', value });
export const int = (value: number): AttrValue => ({ type: 'int', value });

/** One graph, one op: inputs given as [name, dtype, shape, role], outputs as [name, dtype, shape]. */
export function single(
  opType: string,
  ins: ([string, DType, Dim[]] | [string, DType, Dim[], 'input' | 'weight'] | null)[],
  outs: [string, DType, Dim[]][],
  attrs: Record<string, AttrValue> = {},
  domain = '',
): IRGraph {
  const g = new IRGraph('t', { format: 'ir', file: 't.json', opsets: { '': 17 } });
  const names = ins.map((i) => (i ? tensor(g, i[0], i[1], i[2], i[3] ?? 'input') : ''));
  for (const [n, dt, s] of outs) tensor(g, n, dt, s);
  g.addOp(
    { opType, domain, attrs, opset: 17 },
    names,
    outs.map((o) => o[0]),
  );
  g.outputs = outs.map((o) => o[0]);
  return g;
}

/**
 * A one-layer decoder step with a KV cache over symbols batch, seq, past_seq:
 * x[batch,seq,64] → q,k,v projections; k,v appended to past_key/past_value (Concat on axis 2
 * after a reshape to [batch,4,seq,16]); attention; output projection.
 */
export function tinyDecoder(): IRGraph {
  const B = sym('batch');
  const S = sym('seq');
  const P = sym('past_seq');
  const L = add(P, S);
  const g = new IRGraph('tiny_decoder', {
    format: 'ir',
    file: 'tiny_decoder.json',
    producer: 'hand',
    opsets: { '': 17 },
  });
  tensor(g, 'x', 'float32', [B, S, 64], 'input');
  tensor(g, 'past_key_values.0.key', 'float32', [B, 4, P, 16], 'input');
  tensor(g, 'past_key_values.0.value', 'float32', [B, 4, P, 16], 'input');
  for (const w of ['wq', 'wk', 'wv', 'wo']) tensor(g, w, 'float32', [64, 64], 'weight');
  tensor(g, 'shape4', 'int64', [4], 'weight');
  tensor(g, 'shape3', 'int64', [3], 'weight');
  const proj = (w: string, out: string): void => {
    tensor(g, out, 'float32', [B, S, 64]);
    g.addOp({ opType: 'MatMul', name: `${out}_mm` }, ['x', w], [out]);
  };
  proj('wq', 'q');
  proj('wk', 'k');
  proj('wv', 'v');
  const heads = (src: string, dst: string): void => {
    tensor(g, `${dst}_r`, 'float32', [B, S, 4, 16]);
    g.addOp({ opType: 'Reshape', name: `${dst}_reshape` }, [src, 'shape4'], [`${dst}_r`]);
    tensor(g, dst, 'float32', [B, 4, S, 16]);
    g.addOp({ opType: 'Transpose', name: `${dst}_t`, attrs: { perm: ints([0, 2, 1, 3]) } }, [`${dst}_r`], [dst]);
  };
  heads('q', 'qh');
  heads('k', 'kh');
  heads('v', 'vh');
  tensor(g, 'present.0.key', 'float32', [B, 4, L, 16]);
  g.addOp(
    { opType: 'Concat', name: 'cat_k', attrs: { axis: int(2) } },
    ['past_key_values.0.key', 'kh'],
    ['present.0.key'],
  );
  tensor(g, 'present.0.value', 'float32', [B, 4, L, 16]);
  g.addOp(
    { opType: 'Concat', name: 'cat_v', attrs: { axis: int(2) } },
    ['past_key_values.0.value', 'vh'],
    ['present.0.value'],
  );
  tensor(g, 'kt', 'float32', [B, 4, 16, L]);
  g.addOp({ opType: 'Transpose', name: 'k_t', attrs: { perm: ints([0, 1, 3, 2]) } }, ['present.0.key'], ['kt']);
  tensor(g, 'scores', 'float32', [B, 4, S, L]);
  g.addOp({ opType: 'MatMul', name: 'qk' }, ['qh', 'kt'], ['scores']);
  tensor(g, 'probs', 'float32', [B, 4, S, L]);
  g.addOp({ opType: 'Softmax', name: 'softmax', attrs: { axis: int(-1) } }, ['scores'], ['probs']);
  tensor(g, 'ctx', 'float32', [B, 4, S, 16]);
  g.addOp({ opType: 'MatMul', name: 'pv' }, ['probs', 'present.0.value'], ['ctx']);
  tensor(g, 'ctx_t', 'float32', [B, S, 4, 16]);
  g.addOp({ opType: 'Transpose', name: 'ctx_tr', attrs: { perm: ints([0, 2, 1, 3]) } }, ['ctx'], ['ctx_t']);
  tensor(g, 'ctx_m', 'float32', [B, S, 64]);
  g.addOp({ opType: 'Reshape', name: 'ctx_reshape' }, ['ctx_t', 'shape3'], ['ctx_m']);
  tensor(g, 'y', 'float32', [B, S, 64]);
  g.addOp({ opType: 'MatMul', name: 'out_mm' }, ['ctx_m', 'wo'], ['y']);
  g.outputs = ['y', 'present.0.key', 'present.0.value'];
  return g;
}
