import { describe, expect, it } from 'vitest';
import { criticalPath } from '../../passes/analysis/critical.js';
import { IRGraph } from '../../src/ir/graph.js';
import { opCost, rooflineOf, TARGETS, type OpWork } from '../../targets/index.js';

const work = (flops: number, bytes: number, dtype: OpWork['dtype'], outElems: number): OpWork => ({
  opType: 'MatMul',
  domain: '',
  flops,
  bytes,
  dtype,
  outElems,
});

describe('roofline', () => {
  it('device classes carry the datasheet figures of their reference device', () => {
    const gpu = rooflineOf(TARGETS.gpu.reference());
    expect(gpu.peakFlops.bfloat16).toBe(989e12);
    expect(gpu.peakFlops.default).toBe(67e12);
    expect(gpu.memBandwidth).toBe(3.35e12);
    expect(gpu.launchOverhead).toBe(5e-6);
    const ipu = rooflineOf(TARGETS.ipu.reference());
    expect(ipu.peakFlops.float16).toBe(250e12);
    expect(ipu.memBandwidth).toBe(47.5e12);
    // The cpu class is this machine (the host profile; tests pin a fixed one, test/host-profile.json).
    const cpu = TARGETS.cpu.reference(4);
    expect(cpu.threads).toBe(4);
    expect(cpu.compute.float32).toBeGreaterThan(0);
    expect(rooflineOf(cpu).parallelism).toBe(TARGETS.cpu.lanes(4));
  });
  it('classifies compute-, memory- and latency-bound ops', () => {
    const gpu = rooflineOf(TARGETS.gpu.reference());
    // 4096³ fp16 matmul on the H100: intensity ≈ 1365 FLOP/B, ridge ≈ 295 → compute-bound
    const n = 4096;
    const mm = opCost(gpu, work(2 * n ** 3, 3 * n * n * 2, 'float16', n * n));
    expect(mm.bound).toBe('compute');
    expect(mm.time).toBeCloseTo((2 * n ** 3) / 989e12 + 5e-6, 12);
    // a large fp32 add: 1 FLOP per 12 bytes → memory-bound
    const m = 1 << 26;
    const add = opCost(gpu, { ...work(m, 12 * m, 'float32', m), opType: 'Add' });
    expect(add.bound).toBe('memory');
    expect(add.time).toBeCloseTo((12 * m) / 3.35e12 + 5e-6, 12);
    // a tiny op cannot fill the device
    expect(opCost(gpu, work(100, 1200, 'float32', 100)).bound).toBe('latency');
  });
  it('a measured device prices by its fitted line for the kind of work, and classifies by its roofline', () => {
    const gpu = rooflineOf(TARGETS.gpu.reference());
    const fit = {
      all: { dispatch: 1e-5, perFlop: 0, perByte: 1e-9 },
      kinds: { matmul: { dispatch: 2e-5, perFlop: 1e-12, perByte: 0 } },
    };
    const mm = opCost(gpu, work(1e6, 1e3, 'float32', 1e6), fit);
    expect(mm.calibrated).toBe(true);
    expect(mm.time).toBeCloseTo(2e-5 + 1e-6, 15);
    const relu = opCost(gpu, { ...work(10, 1e3, 'float32', 10), opType: 'Relu' }, fit);
    expect(relu.time).toBeCloseTo(1e-5 + 1e-6, 15);
    expect(relu.bound).toBe('latency');
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
