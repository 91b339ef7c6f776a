// What an expert costs on a device (passes/partition/moe-cost.ts): op by op (the matrix products
// compute-bound, the activation between them memory-bound, the expert their sum), by the device's
// fitted lines once `fleetc tune` calibrated it. No timing here: the measured side is
// `npm run bench:moe`.
import { describe, expect, it } from 'vitest';
import { FleetCost } from '../../src/fleet/cost.js';
import { parseFleet } from '../../src/fleet/load.js';
import type { Calibration } from '../../src/fleet/calibration-format.js';
import { expertCosts, type ExpertWork } from '../../passes/partition/moe-cost.js';

const line = (dispatch: number, perFlop: number, perByte: number) => ({
  dispatch,
  perFlop,
  perByte,
  samples: 10,
  source: { dispatch: 'measured', perFlop: 'measured', perByte: 'measured' } as const,
});

// A SwiGLU-less expert of hidden 256, inter 1024, float32: up product, activation, down product.
const H = 256;
const I = 1024;
const gemm = (k: number, n: number) => ({
  opType: 'Gemm',
  domain: '',
  dtype: 'float32' as const,
  flopsPerToken: 2 * k * n,
  activationBytesPerToken: 4 * (k + n),
  weightBytes: 4 * (k * n + n),
});
const WORK: ExpertWork = {
  flopsPerToken: 2 * 2 * H * I + 4 * I,
  activationBytesPerToken: 4 * (2 * (H + I) + 2 * I),
  weightBytes: 4 * (2 * H * I + H + I),
  dtype: 'float32',
  launches: 3,
  dispatchBytes: 4 * H,
  combineBytes: 4 * H,
  ops: [
    gemm(H, I),
    {
      opType: 'FusedElementwise',
      domain: 'fleetc',
      dtype: 'float32',
      flopsPerToken: 4 * I,
      activationBytesPerToken: 8 * I,
      weightBytes: 0,
    },
    gemm(I, H),
  ],
};

const TWO = parseFleet(
  `
name: two
devices:
  - { id: a, class: cpu, threads: 1, memory: { capacity: 4GiB, bandwidth: 20GB/s }, compute: { float32: 80GFLOPS } }
  - { id: b, class: cpu, host: h1, backend: emulated, threads: 1, memory: { capacity: 4GiB, bandwidth: 20GB/s }, compute: { float32: 80GFLOPS } }
links:
  - { between: [a, b], bandwidth: 10GB/s, latency: 20us }
`,
  'two.yaml',
);

describe('expert cost', () => {
  it('sums its ops, each at its own roofline: products by FLOPs, the activation by bytes', () => {
    const [home, remote] = expertCosts(new FleetCost(TWO), 'a', WORK);
    const up = (2 * H * I) / 80e9;
    const act = (8 * I) / 20e9; // memory-bound: its bytes outweigh its FLOPs
    const down = (2 * I * H) / 80e9;
    expect(home!.compute).toBeCloseTo(up + act + down, 15);
    // The old total roofline, max(all FLOPs / peak, all bytes / bandwidth), dropped the activation.
    expect(home!.compute).toBeGreaterThan(Math.max(WORK.flopsPerToken / 80e9, WORK.activationBytesPerToken / 20e9));
    expect(home!.stream).toBeCloseTo(WORK.weightBytes / 20e9, 15);
    expect(home!.fixed).toBeCloseTo(3 * TWO.devices[0]!.launchOverhead, 15);
    expect(home!.latency).toBe(0);
    // Away from home: the rows' messages, their latency named apart from the ops' own fixed cost.
    expect(remote!.latency).toBeCloseTo(40e-6, 12);
    expect(remote!.fixed).toBeCloseTo(3 * TWO.devices[1]!.launchOverhead + 40e-6, 12);
    expect(remote!.transfer).toBeCloseTo((2 * 4 * H) / 10e9, 15);
  });

  it('a calibrated device prices each op by its fitted line (its op line’s, named as tune names it, else its kind’s)', () => {
    const cal = {
      devices: [
        {
          id: 'a',
          all: line(1e-6, 1e-11, 1e-10),
          kinds: { matmul: line(2e-6, 6e-12, 1e-11) },
          // tune names an op of a domain by the domain too (targets/work.ts opLine)
          ops: { 'fleetc:FusedElementwise': { ...line(5e-6, 0, 4e-10), scale: 4 } },
        },
      ],
      pairs: [],
    } as unknown as Calibration;
    const [a] = expertCosts(new FleetCost({ ...TWO, calibration: cal }), 'a', WORK);
    const g = (k: number, n: number) => 2 * k * n * 6e-12 + 4 * (k + n) * 1e-11;
    expect(a!.compute).toBeCloseTo(g(H, I) + 4 * I * 0 + 8 * I * 4e-10 + g(I, H), 15);
    expect(a!.stream).toBe(0);
    // Per step: each op's dispatch and its weights at the line's bytes rate.
    expect(a!.fixed).toBeCloseTo(2e-6 + 4 * (H * I + I) * 1e-11 + 5e-6 + 2e-6 + 4 * (I * H + H) * 1e-11, 15);
  });
});
