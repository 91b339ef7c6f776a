/**
 * The executor's device-memory path (backends whose memory the host cannot read, such as cuda),
 * tested without a GPU: FLEETRT_DEVICE_MEMORY=1 makes the host backends take it on host memory
 * (weights uploaded, inputs and received values copied in, outputs and sent values copied back,
 * host copies of integer inputs, op times from marks). Outputs and tokens must be the same bits.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/api/compile.js';
import { generate } from '../../src/api/generate.js';
import { findFleetrt, haveFleetrt } from '../../runtime/fleetrt.js';
import { REPO } from '../paths.js';

const work = mkdtempSync(join(tmpdir(), 'fleetc-devmem-'));
const DEVICE = { FLEETRT_DEVICE_MEMORY: '1' };

function runPlan(plan: string, inputs: string, out: string, env: Record<string, string> = {}) {
  const r = spawnSync(
    findFleetrt(),
    [plan, '--inputs-dir', inputs, '--output-dir', out, '--metrics', join(out, 'metrics.json'), '--requests', '2'],
    { encoding: 'utf8', env: { ...process.env, ...env } },
  );
  expect(r.status, r.stderr).toBe(0);
  const files = readdirSync(out).filter((f) => f.endsWith('.npy'));
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as {
    devices: { name: string; measured: { busyMsPerRequest: number } }[];
  };
  return { outputs: Object.fromEntries(files.map((f) => [f, readFileSync(join(out, f)).toString('base64')])), metrics };
}

describe.skipIf(!haveFleetrt())('device-memory path of the executor (FLEETRT_DEVICE_MEMORY=1)', () => {
  const cases: [string, string | undefined][] = [
    ['gpt_decoder_kv', undefined],
    ['gpt_decoder_kv', 'cpu-gpu-pcie.yaml'],
    ['bert_encoder', 'cpu-gpu-pcie.yaml'],
    ['cnn_small', undefined],
    ['moe_topk', 'cpu-two-unequal-gpus.yaml'],
  ];
  for (const [model, fleet] of cases)
    it(`${model} on ${fleet ?? 'the local cpu'}: the same output bits, device-timed ops`, async () => {
      const dir = join(work, `${model}-${fleet ?? 'cpu'}`);
      const c = await compile(join(REPO, 'fixtures/models', model, 'model.onnx'), dir, {
        fleet: fleet ? join(REPO, 'fixtures/fleets', fleet) : undefined,
        report: false,
      });
      const inputs = join(REPO, 'fixtures/models', model, 'test_data_set_0');
      const host = runPlan(c.planPath, inputs, join(dir, 'host'));
      const device = runPlan(c.planPath, inputs, join(dir, 'device'), DEVICE);
      expect(Object.keys(device.outputs).length).toBeGreaterThan(0);
      expect(device.outputs).toEqual(host.outputs);
      for (const d of device.metrics.devices) expect(d.measured.busyMsPerRequest, d.name).toBeGreaterThan(0);
    }, 60_000);

  it('generation with the KV pages in "device" memory gives the same tokens', async () => {
    const dir = join(work, 'llama');
    await compile(join(REPO, 'fixtures/models/llama_kv_gqa/model.onnx'), dir, {
      generate: { maxContext: 256 },
      report: false,
    });
    const prompts = [
      [17, 4],
      [5, 300, 12, 9, 77],
    ];
    const host = await generate(dir, { promptIds: prompts, maxNewTokens: 8 });
    const device = await generate(dir, { promptIds: prompts, maxNewTokens: 8, env: DEVICE });
    expect(device.sequences).toEqual(host.sequences);
  }, 60_000);
});
