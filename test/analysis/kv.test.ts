import { describe, expect, it } from 'vitest';
import { detectKvCache, stateSlotKey } from '../../passes/analysis/kv.js';
import { IRGraph } from '../../src/ir/graph.js';
import { dimToString, evaluate, sym } from '../../src/ir/sym.js';
import { int } from './graphs.js';
import { tensor, tinyDecoder } from './graphs.js';

describe('KV-cache detection', () => {
  it('pairs exporter naming schemes', () => {
    expect(stateSlotKey('past_key_values.3.key')).toBe(stateSlotKey('present.3.key'));
    expect(stateSlotKey('past_0')).toBe(stateSlotKey('present_0'));
    expect(stateSlotKey('past_key_3')).toBe(stateSlotKey('present_key_3'));
    expect(stateSlotKey('key_cache.1')).toBe(stateSlotKey('key_cache_out.1'));
    expect(stateSlotKey('past_key_values.3.key')).not.toBe(stateSlotKey('present.3.value'));
    expect(stateSlotKey('past_key_values.3.key')).not.toBe(stateSlotKey('present.13.key'));
  });
  it('finds past/present pairs with the growing axis and the size as an expression', () => {
    const kv = detectKvCache(tinyDecoder());
    expect(kv.map((k) => [k.input, k.output, k.evidence, k.axis])).toEqual([
      ['past_key_values.0.key', 'present.0.key', 'name+concat', 2],
      ['past_key_values.0.value', 'present.0.value', 'name+concat', 2],
    ]);
    expect(dimToString(kv[0]!.growth!)).toBe('seq');
    expect(dimToString(kv[0]!.bytes!)).toBe('256*batch*past_seq + 256*batch*seq');
    expect(evaluate(kv[0]!.bytes!, { batch: 2, past_seq: 127, seq: 1 })).toBe(2 * 4 * 128 * 16 * 4);
  });
  it('finds a concat-appended cache without telling names, and ignores same-shape non-state pairs', () => {
    const g = new IRGraph('g');
    tensor(g, 'a', 'float16', [2, sym('s'), 8], 'input');
    tensor(g, 'b', 'float16', [2, 1, 8], 'input');
    tensor(g, 'x', 'float16', [4], 'input');
    g.addOp({ opType: 'Concat', attrs: { axis: int(1) } }, ['a', 'b'], ['c']);
    g.updateValue('c', { dtype: 'float16', shape: [2, sym('t'), 8] });
    g.addOp({ opType: 'Relu' }, ['x'], ['y']);
    g.updateValue('y', { dtype: 'float16', shape: [4] });
    g.outputs = ['c', 'y'];
    const kv = detectKvCache(g);
    expect(kv.map((k) => [k.input, k.output, k.evidence, k.axis, dimToString(k.growth!)])).toEqual([
      ['a', 'c', 'concat', 1, '-s + t'],
    ]);
    // the same shape on both sides, found only through the concat: not a growing cache
    g.updateValue('c', { shape: [2, sym('s'), 8] });
    expect(detectKvCache(g)).toEqual([]);
  });
});
