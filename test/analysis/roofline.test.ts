import { describe, expect, it } from 'vitest';
import { criticalPath } from '../../passes/analysis/critical.js';
import { cpuRoofline, deviceClass, GPU_H100_SXM, IPU_GC200, roofline } from '../../passes/analysis/roofline.js';
import { IRGraph } from '../../src/ir/graph.js';

describe('roofline', () => {
  it('device classes carry the datasheet figures', () => {
    expect(GPU_H100_SXM.peakFlops.bfloat16).toBe(989.4e12);
    expect(GPU_H100_SXM.peakFlops.default).toBe(66.9e12);
    expect(GPU_H100_SXM.memBandwidth).toBe(3.35e12);
    expect(IPU_GC200.peakFlops.float16).toBe(250e12);
    expect(IPU_GC200.memBandwidth).toBe(47.5e12);
    const cpu = cpuRoofline(4);
    expect(cpu.peakFlops.default).toBe(320e9);
    expect(cpu.memBandwidth).toBe(40e9);
    expect(deviceClass('cpu', { cores: 4 })).toEqual(cpu);
    expect(deviceClass('tpu')).toBeUndefined();
  });
  it('classifies compute-, memory- and latency-bound ops', () => {
    // 4096³ fp16 matmul on the H100: intensity ≈ 1365 FLOP/B, ridge ≈ 295 → compute-bound
    const n = 4096;
    const mm = roofline(GPU_H100_SXM, 2 * n ** 3, 3 * n * n * 2, 'float16', n * n);
    expect(mm.bound).toBe('compute');
    expect(mm.time).toBeCloseTo((2 * n ** 3) / 989.4e12 + 4e-6, 12);
    // a large fp32 add: 1 FLOP per 12 bytes → memory-bound
    const m = 1 << 26;
    const add = roofline(GPU_H100_SXM, m, 12 * m, 'float32', m);
    expect(add.bound).toBe('memory');
    expect(add.time).toBeCloseTo((12 * m) / 3.35e12 + 4e-6, 12);
    // a tiny op cannot fill the device
    expect(roofline(GPU_H100_SXM, 100, 1200, 'float32', 100).bound).toBe('latency');
  });
});

describe('critical path', () => {
  it('takes the longest path by predicted time through a diamond', () => {
    const g = new IRGraph('d');
    g.addValue({ name: 'x', dtype: 'float32', shape: [1], role: 'input' });
    g.inputs = ['x'];
    g.addOp({ opType: 'Relu', name: 'a' }, ['x'], ['va']);
    g.addOp({ opType: 'Relu', name: 'slow' }, ['va'], ['vb']);
    g.addOp({ opType: 'Relu', name: 'fast' }, ['va'], ['vc']);
    g.addOp({ opType: 'Add', name: 'join' }, ['vc', 'vb'], ['y']);
    g.outputs = ['y'];
    const t: Record<string, number> = { a: 1, slow: 5, fast: 2, join: 1 };
    const cp = criticalPath(g, g.topoOps(), (id) => t[id]!);
    expect(cp.ops).toEqual(['a', 'slow', 'join']);
    expect(cp.time).toBe(7);
  });
});
