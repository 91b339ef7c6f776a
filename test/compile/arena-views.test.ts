import { describe, expect, it } from 'vitest';
import { IRGraph } from '../../src/ir/graph.js';
import { planDeviceArena } from '../../passes/memory/device.js';

/** x → Relu → a → Reshape → b … read last; d and e made in between; `out` returned. */
function graph(returnB: boolean): { g: IRGraph; ops: string[] } {
  const g = new IRGraph('views', { format: 'ir', file: 'views.ir', opsets: { '': 17 } });
  const val = (name: string, shape: number[], role: 'input' | 'intermediate' | 'weight' = 'intermediate'): void => {
    g.addValue({ name, dtype: 'float32', shape, role });
  };
  val('x', [16, 16], 'input');
  g.inputs = ['x'];
  g.addValue({
    name: 's',
    dtype: 'int64',
    shape: [1],
    role: 'weight',
    weight: { kind: 'inline', data: new Uint8Array(8) },
  });
  for (const n of ['a', 'd', 'e']) val(n, [16, 16]);
  val('b', [256]);
  val('out', [256]);
  const ops = [
    g.addOp({ opType: 'Relu', name: 'r0' }, ['x'], ['a']),
    g.addOp({ opType: 'Reshape', name: 'view' }, ['a', 's'], ['b']),
    g.addOp({ opType: 'Relu', name: 'r1' }, ['x'], ['d']),
    g.addOp({ opType: 'Relu', name: 'r2' }, ['d'], ['e']),
    g.addOp({ opType: 'Add', name: 'sum' }, ['b', 'e'], ['out']),
  ];
  g.outputs = returnB ? ['out', 'b'] : ['out'];
  return { g, ops };
}

describe('arena views', () => {
  it("puts a Reshape's output in its input's slot and keeps that slot until the view's last reader", () => {
    const { g, ops } = graph(false);
    const layout = planDeviceArena(g, { ops, sends: new Set(), outputs: new Set(['out']), dims: new Map() });
    const a = layout.tensors.get('a')!;
    const b = layout.tensors.get('b')!;
    expect(b).toEqual(a);
    // d and e are made while b (a's bytes) is still to be read: they must not lie there.
    for (const n of ['d', 'e']) {
      const t = layout.tensors.get(n)!;
      expect(t.offset + t.size <= a.offset || a.offset + a.size <= t.offset).toBe(true);
    }
    expect(layout.unshared).toBe(3 * 1024);
  });

  it('gives a returned view its own memory', () => {
    const { g, ops } = graph(true);
    const layout = planDeviceArena(g, { ops, sends: new Set(), outputs: new Set(['out', 'b']), dims: new Map() });
    expect(layout.tensors.has('b')).toBe(false);
    expect(layout.tensors.has('a')).toBe(true);
  });
});

/**
 * x → Relu → z; z, and (optionally) z again later; a fleetc FusedConv(x2, w, b, z) → y, y → Relu → out.
 * `zReadAfter`: another op reads z after the conv; `zAsInput`: z is also the conv's X.
 */
function convGraph(opts: { zReadAfter?: boolean; zAsInput?: boolean } = {}): { g: IRGraph; ops: string[] } {
  const g = new IRGraph('inplace', { format: 'ir', file: 'inplace.ir', opsets: { '': 17, fleetc: 1 } });
  const val = (name: string, role: 'input' | 'intermediate' = 'intermediate'): void => {
    g.addValue({ name, dtype: 'float32', shape: [1, 4, 8, 8], role });
  };
  val('x', 'input');
  g.inputs = ['x'];
  for (const [name, shape] of [
    ['w', [4, 4, 1, 1]],
    ['b', [4]],
  ] as const)
    g.addValue({
      name,
      dtype: 'float32',
      shape: [...shape],
      role: 'weight',
      weight: { kind: 'inline', data: new Uint8Array(4 * shape.reduce((p, q) => p * q, 1)) },
    });
  for (const n of ['z', 'x2', 'y', 'late', 'out']) val(n);
  const ops = [
    g.addOp({ opType: 'Relu', name: 'r0' }, ['x'], ['z']),
    g.addOp({ opType: 'Relu', name: 'r1' }, ['x'], ['x2']),
    g.addOp(
      { opType: 'FusedConv', domain: 'fleetc', name: 'conv' },
      [opts.zAsInput ? 'z' : 'x2', 'w', 'b', 'z'],
      ['y'],
    ),
  ];
  if (opts.zReadAfter) ops.push(g.addOp({ opType: 'Relu', name: 'r2' }, ['z'], ['late']));
  ops.push(g.addOp({ opType: 'Add', name: 'sum' }, opts.zReadAfter ? ['y', 'late'] : ['y', 'y'], ['out']));
  g.outputs = ['out'];
  return { g, ops };
}

describe('arena: fused conv in place', () => {
  const layout = (opts: Parameters<typeof convGraph>[0]) => {
    const { g, ops } = convGraph(opts);
    return planDeviceArena(g, { ops, sends: new Set(), outputs: new Set(['out']), dims: new Map() });
  };
  it("writes a FusedConv's output over its residual when the conv reads it last", () => {
    const l = layout({});
    expect(l.tensors.get('y')).toEqual(l.tensors.get('z'));
  });
  it('not when the residual is read after the conv', () => {
    const l = layout({ zReadAfter: true });
    const y = l.tensors.get('y')!;
    const z = l.tensors.get('z')!;
    expect(y.offset + y.size <= z.offset || z.offset + z.size <= y.offset).toBe(true);
  });
  it('not when the residual is also the conv input', () => {
    const l = layout({ zAsInput: true });
    expect(l.tensors.get('y')!.offset === l.tensors.get('z')!.offset).toBe(false);
  });
});
