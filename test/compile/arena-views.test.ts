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
