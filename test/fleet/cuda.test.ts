/** The cuda backend's compiler side: fleet files, op support from the kernel table, local GPUs, refusal without a GPU. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/api/compile.js';
import { FleetcError } from '../../src/diagnostics/index.js';
import { CUDA_KERNELS, cudaOpsTable } from '../../targets/gpu/cuda-ops.js';
import { parseNvidiaSmi } from '../../targets/gpu/detect.js';
import { localFleet, parseFleet } from '../../src/fleet/load.js';
import { refusal } from '../../targets/index.js';
import { findFleetrt, haveFleetrt } from '../../runtime/fleetrt.js';
import { REPO, SHARED } from '../paths.js';

const CUDA_SRC = join(REPO, 'native/src/backends/cuda');

const fleet = (extra: string) => `
devices:
  - { id: cpu0, class: cpu, memory: { capacity: 1GiB, bandwidth: 10GB/s }, compute: { float32: 1TFLOP/s } }
${extra}`;

function fleetError(text: string): string {
  try {
    parseFleet(text, 'f.yaml');
  } catch (e) {
    if (e instanceof FleetcError) return e.message;
    throw e;
  }
  return '';
}

describe('cuda op support', () => {
  it('src/fleet/cuda-ops.json lists exactly the kernels registered in native/src/backends/cuda', () => {
    const sources = readdirSync(CUDA_SRC)
      .filter((f) => /\.(cu|cpp)$/.test(f))
      .sort()
      .map((f) => readFileSync(join(CUDA_SRC, f), 'utf8'));
    const fromSources = cudaOpsTable(sources).kernels;
    expect(fromSources.length).toBeGreaterThan(40);
    // Regenerate with: npx tsx scripts/gen-cuda-ops.ts
    expect(CUDA_KERNELS).toEqual(fromSources);
  });

  it('refuses ops and element types the cuda kernel set lacks, and only on cuda devices', () => {
    const f = parseFleet(
      fleet('  - { id: g, preset: nvidia-h100-sxm, backend: cuda }\n  - { id: e, preset: nvidia-h100-sxm }'),
      'f.yaml',
    );
    const [, g, e] = f.devices;
    expect(refusal(g!, 'MatMul', ['float16'])).toBeNull();
    expect(refusal(g!, 'Range', ['int64'])).toBe('the cuda backend has no Range kernel');
    expect(refusal(g!, 'MatMul', ['int8'])).toBe('the cuda MatMul kernel does not take int8');
    expect(refusal(g!, 'PagedAttention', ['float32'], 'fleetc')).toBeNull();
    expect(refusal(g!, 'Attention', ['float32'], 'com.microsoft')).toBe(
      'the cuda backend has no com.microsoft.Attention kernel',
    );
    expect(refusal(e!, 'Range', ['int64'])).toBeNull(); // emulated gpus keep the class's profile
  });
});

describe('cuda fleets', () => {
  it('keeps sequences off cuda devices (their memory holds tensors only)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetc-cuda-seq-'));
    await compile(join(SHARED, 'conformance/onnx-node/test_identity_sequence/model.onnx'), dir, {
      fleet: join(REPO, 'fixtures/fleets/cpu-cuda.yaml'),
    });
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as {
      ops: { opType: string; device: string; reason: string }[];
    };
    expect(report.ops.map((o) => [o.opType, o.device])).toEqual([['Identity', 'cpu0']]);
    expect(report.ops[0]!.reason).toContain('the cuda backend holds tensors only');
  });

  it('reads backend: cuda and cudaDevice, and checks them', () => {
    const f = parseFleet(fleet('  - { id: g1, preset: nvidia-h200-sxm, backend: cuda, cudaDevice: 1 }'), 'f.yaml');
    expect(f.devices[1]).toMatchObject({ backend: 'cuda', cudaDevice: 1, class: 'gpu' });
    expect(parseFleet(fleet('  - { id: g, preset: nvidia-h100-sxm }'), 'f.yaml').devices[1]!.backend).toBe('emulated');
    expect(
      fleetError(
        fleet(
          '  - { id: g, class: cpu, memory: { capacity: 1GiB, bandwidth: 1GB/s }, compute: { float32: 1 }, backend: cuda }',
        ),
      ),
    ).toMatch(/backend 'cuda' does not run cpu-class devices/);
    expect(fleetError(fleet('  - { id: g, preset: nvidia-h100-sxm, cudaDevice: 0 }'))).toMatch(
      /cudaDevice needs backend: cuda/,
    );
    expect(
      fleetError(
        fleet(
          '  - { id: a, preset: nvidia-h100-sxm, backend: cuda }\n  - { id: b, preset: nvidia-h100-sxm, backend: cuda }',
        ),
      ),
    ).toMatch(/'b' and 'a' are both cudaDevice 0/);
  });

  it('makes the local fleet from nvidia-smi: one cuda device per GPU with its memory', () => {
    const gpus = parseNvidiaSmi('0, NVIDIA H200, 143771\n1, Some Future GPU, 8192\nnot a gpu line\n');
    expect(gpus).toEqual([
      { index: 0, name: 'NVIDIA H200', memory: 143771 * 2 ** 20 },
      { index: 1, name: 'Some Future GPU', memory: 8192 * 2 ** 20 },
    ]);
    const f = localFleet(gpus);
    expect(f.devices.map((d) => [d.id, d.backend, d.cudaDevice, d.preset])).toEqual([
      ['cpu0', 'cpu', undefined, undefined],
      ['cuda0', 'cuda', 0, 'nvidia-h200-sxm'],
      ['cuda1', 'cuda', 1, undefined],
    ]);
    expect(f.devices[1]!.memory[0]!.capacity).toBe(143771 * 2 ** 20);
    expect(localFleet([]).devices.map((d) => d.id)).toEqual(['cpu0']);
  });

  it('compiles for a cpu + cuda fleet anywhere: cuda ops on the GPU, the rest on the cpu with the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetc-cuda-'));
    // The matrix products pinned to the GPU: on its own the cost model keeps a decoder this small
    // on the cpu (a message costs more than the GPU would save).
    const r = await compile(join(REPO, 'fixtures/models/gpt_decoder_kv/model.onnx'), dir, {
      fleet: join(REPO, 'fixtures/fleets/cpu-cuda.yaml'),
      pins: ['MatMul=cuda0'],
    });
    const cuda = r.plan.devices.find((d) => d.name === 'cuda0')!;
    expect(cuda).toMatchObject({ backend: 'cuda', ordinal: 0, emulated: false });
    expect(cuda.ops).toBeGreaterThan(0);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as {
      ops: { opType: string; device: string; reason: string }[];
    };
    const ranges = report.ops.filter((o) => o.opType === 'Range');
    expect(ranges.length).toBeGreaterThan(0);
    for (const o of ranges) {
      expect(o.device).toBe('cpu0');
      expect(o.reason).toContain('the cuda backend has no Range kernel');
    }
    for (const o of report.ops.filter((o) => o.device === 'cuda0'))
      expect(
        CUDA_KERNELS.some((k) => k.op === o.opType),
        o.opType,
      ).toBe(true);

    // Running it here: refused in one line (no CUDA in this fleetrt, or no GPU), plan error (exit 3).
    if (!haveFleetrt()) return;
    const run = spawnSync(findFleetrt(), [r.planPath, '--random-inputs', '--output-dir', join(dir, 'out')], {
      encoding: 'utf8',
      env: { ...process.env, CUDA_VISIBLE_DEVICES: '' },
    });
    expect(run.status).toBe(3);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/device 'cuda0'.*(built without CUDA|no CUDA GPU)/);
  });
});
