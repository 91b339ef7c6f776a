/**
 * The copies of constant weights fleetrt's cpu kernels keep (packed GEMM panels, reordered conv
 * filters) are counted in the device's memory: plan.json says how many bytes, the total includes
 * them, and a device that cannot hold them beside its weights does not get the ops.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../fixtures/gen/onnx_builder.mjs';
import { compile } from '../../src/api/compile.js';
import type { PlanJSON } from '../../src/api/plan.js';
import { REPO } from '../paths.js';

const FLEETS = join(REPO, 'fixtures/fleets');

function model(dir: string): string {
  const g = new GraphBuilder('prepared');
  g.input('x', 'float32', [5, 64]);
  const w1 = g.initializer('W1', [64, 100], 'float32', new Float32Array(64 * 100).fill(0.01));
  const w2 = g.initializer('W2', [48, 100], 'float32', new Float32Array(48 * 100).fill(0.02));
  const h = g.op('Relu', [g.op('MatMul', ['x', w1])]);
  g.op('Gemm', [h, w2], { transB: 1 }, ['y']);
  g.output('y', 'float32', [5, 48]);
  const file = join(dir, 'model.onnx');
  writeFileSync(file, g.encode({ opset: 17 }));
  return file;
}

// K × N rounded up to 32-column panels, float32: MatMul 64 × 100, Gemm (transB) 100 × 48
const MATMUL = 4 * 64 * 128;
const GEMM = 4 * 100 * 64;

/** A 3×3 conv of C channels into M filters over an S×S plane (padded: S×S outputs). */
function convModel(dir: string, C = 8, M = 45, S = 7): string {
  const g = new GraphBuilder('prepared_conv');
  g.input('x', 'float32', [1, C, S, S]);
  const w = g.initializer('W', [M, C, 3, 3], 'float32', new Float32Array(M * C * 9).fill(0.01));
  g.op('Conv', ['x', w], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, ['y']);
  g.output('y', 'float32', [1, M, S, S]);
  const file = join(dir, `conv_${C}_${M}_${S}.onnx`);
  writeFileSync(file, g.encode({ opset: 17 }));
  return file;
}

describe('prepared weight copies', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetc-prepared-'));
  const file = model(dir);
  const plan = (out: string): PlanJSON => JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8')) as PlanJSON;

  it('are counted on a cpu device and in its total', async () => {
    const out = join(dir, 'cpu');
    await compile(file, out, { fleet: join(FLEETS, 'cpu-threads.yaml'), pins: ['.=cpu0'], report: false });
    const cpu0 = plan(out).devices.find((d) => d.name === 'cpu0')!;
    expect(cpu0.memory.prepared).toBe(MATMUL + GEMM);
    expect(cpu0.memory.total).toBe(cpu0.memory.weights + MATMUL + GEMM + cpu0.memory.arena);
  });

  it("count a conv's filters as the GEMM path packs them: 45 filters in panels of 32", async () => {
    const out = join(dir, 'conv');
    await compile(convModel(dir), out, { fleet: join(FLEETS, 'cpu-threads.yaml'), pins: ['.=cpu0'], report: false });
    const cpu0 = plan(out).devices.find((d) => d.name === 'cpu0')!;
    expect(cpu0.memory.prepared).toBe(4 * 64 * 8 * 9);
  });

  // 70 filters in row panels of 12 (72); per filter and channel 16 transformed values for
  // F(2×2, 3×3) (7×7: 16 tiles of 2×2, 4 of 4×4), 36 for F(4×4, 3×3) (14×14: 16 tiles of 4×4)
  it.each([
    [7, 16],
    [14, 36],
  ])("count a 3×3 conv's Winograd transforms: outputs %i wide, %i values per filter and channel", async (S, xi) => {
    const out = join(dir, `winograd${S}`);
    await compile(convModel(dir, 64, 70, S), out, {
      fleet: join(FLEETS, 'cpu-threads.yaml'),
      pins: ['.=cpu0'],
      report: false,
    });
    const cpu0 = plan(out).devices.find((d) => d.name === 'cpu0')!;
    expect(cpu0.memory.prepared).toBe(4 * xi * 72 * 64);
  });

  it('are not counted on an emulated accelerator, whose libraries read weights in place', async () => {
    const out = join(dir, 'gpu');
    await compile(file, out, {
      fleet: join(FLEETS, 'cpu-gpu-pcie.yaml'),
      pins: ['MatMul=cpu0', 'Relu=cpu0', 'Gemm=gpu0'],
      report: false,
    });
    const devices = plan(out).devices;
    expect(devices.find((d) => d.name === 'cpu0')!.memory.prepared).toBe(MATMUL);
    expect(devices.find((d) => d.name === 'gpu0')!.memory.prepared).toBe(0);
  });

  it('keep ops off a cpu device that holds their weights but not the copies', async () => {
    const out = join(dir, 'tight');
    const fleet = join(dir, 'tight.yaml');
    const weights = 4 * (64 * 100 + 48 * 100);
    // cpu0 holds both weights and the activations, not the copies as well; gpu0 holds anything
    writeFileSync(
      fleet,
      [
        'name: tight',
        'devices:',
        `  - { id: cpu0, class: cpu, backend: cpu, host: node0, threads: 1, memory: { capacity: ${weights + 16384}, bandwidth: 20GB/s }, compute: { float32: 100GFLOPS } }`,
        '  - { id: gpu0, preset: nvidia-h100-sxm, host: node0, hostLink: { kind: pcie5-x16 } }',
      ].join('\n'),
    );
    await compile(file, out, { fleet, report: false });
    const devices = plan(out).devices;
    const cpu0 = devices.find((d) => d.name === 'cpu0');
    expect(cpu0?.memory.total ?? 0).toBeLessThanOrEqual(weights + 16384);
    expect(devices.find((d) => d.name === 'gpu0')!.ops).toBeGreaterThan(0);
  });
});
