import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pkg from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import type { InspectReport, OpRow } from '../../src/api/inspect.js';
import { evaluate, parseDim } from '../../src/ir/sym.js';
import { REPO } from '../paths.js';
import { node, tempDir, vi, writeModel } from '../frontends/onnx/helpers.js';
import { cli } from './helpers.js';

const { onnx } = pkg;
const GPT = join(REPO, 'fixtures/models/gpt_decoder_kv/model.onnx');
const CNN = join(REPO, 'fixtures/models/cnn_small/model.onnx');
const FLEET = join(REPO, 'fixtures/fleets/cpu-gpu-pcie.yaml');
const DIMS = ['--dim', 'batch=2', '--dim', 'seq=3', '--dim', 'past_seq=4'];

async function json(args: string[]): Promise<InspectReport> {
  const r = await cli(args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as InspectReport;
}

/** Parameters and weight bytes counted straight from the file's initializers. */
function initializerTotals(file: string): { params: number; bytes: number } {
  const m = onnx.ModelProto.decode(readFileSync(file));
  let params = 0;
  let bytes = 0;
  for (const t of m.graph!.initializer ?? []) {
    const n = (t.dims ?? []).reduce((a: number, d) => a * Number(d), 1);
    params += n;
    bytes += n * ({ 1: 4, 7: 8, 6: 4, 9: 1, 10: 2 } as Record<number, number>)[t.dataType!]!;
  }
  return { params, bytes };
}

describe('fleetc inspect --json on an ONNX decoder with a KV cache', () => {
  it('has the contract fields with the contract types', async () => {
    const j = await json(['inspect', GPT, '--json', ...DIMS]);
    expect(j.format).toBe('onnx');
    expect(j.nodes).toBe(266);
    expect(Object.values(j.ops as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(j.nodes);
    expect(j.ops).toMatchObject({ MatMul: 13, Softmax: 2, Concat: 12 });
    const init = initializerTotals(GPT);
    expect(j.params).toBe(init.params);
    expect(j.weightBytes).toBe(init.bytes);
    expect(j.inputs[0]).toEqual({ name: 'input_ids', dtype: 'int64', shape: ['batch', 'seq'] });
    expect(j.inputs[1]).toEqual({
      name: 'past_key_values.0.key',
      dtype: 'float32',
      shape: ['batch', 4, 'past_seq', 8],
    });
    expect(j.outputs[0]).toEqual({ name: 'logits', dtype: 'float32', shape: ['batch', 'seq', 128] });
    expect(j.outputs[1]).toEqual({ name: 'present.0.key', dtype: 'float32', shape: ['batch', 4, 'past_seq + seq', 8] });
    for (const t of [...j.inputs, ...j.outputs]) {
      expect(Object.keys(t).sort()).toEqual(['dtype', 'name', 'shape']);
      for (const d of t.shape) expect(['number', 'string']).toContain(typeof d);
    }
    // flops is the symbolic total evaluated at the bound dims.
    expect(j.dims).toEqual({ batch: 2, past_seq: 4, seq: 3 });
    expect(typeof j.flops).toBe('number');
    expect(j.flops).toBe(evaluate(parseDim(j.flopsExpr), j.dims));
  });

  it('state: the four past/present pairs, sized as a function of the symbols', async () => {
    const j = await json(['inspect', GPT, '--json', ...DIMS]);
    expect(j.state.map((s) => `${s.input}→${s.output}`)).toEqual([
      'past_key_values.0.key→present.0.key',
      'past_key_values.0.value→present.0.value',
      'past_key_values.1.key→present.1.key',
      'past_key_values.1.value→present.1.value',
    ]);
    for (const s of j.state) {
      expect(s).toMatchObject({ dtype: 'float32', axis: 2, growth: 'seq' });
      // batch × 4 heads × (past_seq + seq) × 8 × 4 bytes
      expect(s.bytesExpr).toBe('128*batch*past_seq + 128*batch*seq');
      expect(s.bytes).toBe(2 * 4 * (4 + 3) * 8 * 4);
      expect(s.inputBytes).toBe(2 * 4 * 4 * 8 * 4);
    }
  });

  it('a static cache (fixed size, written by TensorScatter) shows as paged engine state bounded by its capacity', async () => {
    const j = await json(['inspect', join(REPO, 'fixtures/models/attention24_static_kv/model.onnx'), '--json']);
    expect(j.state.map((s) => s.axis)).toEqual([-1, -1, -1, -1]);
    expect(j.engineState).toMatchObject({ bytesPerToken: 4 * 64, batching: 'flatten', staticCapacity: 32 });
    const es = j.engineState as { states: { mode: string }[] };
    expect(es.states.map((s) => s.mode)).toEqual(['paged', 'paged', 'paged', 'paged']);
    const text = await cli(['inspect', join(REPO, 'fixtures/models/attention24_static_kv/model.onnx')]);
    expect(text.stdout).toMatch(/4 state objects, 4 paged, 0 gathered; .*static cache: at most 32 tokens per sequence/);
  });

  it('--dim binds symbols: FLOPs follow the bindings', async () => {
    const a = await json(['inspect', GPT, '--json', '--dim', 'batch=1', '--dim', 'seq=1', '--dim', 'past_seq=100']);
    const b = await json(['inspect', GPT, '--json', '--dim', 'batch=1', '--dim', 'seq=1', '--dim', 'past_seq=200']);
    expect(a.flopsExpr).toBe(b.flopsExpr);
    expect(b.flops - a.flops).toBe(100 * 336);
    const unbound = await json(['inspect', GPT, '--json']);
    expect(unbound.defaulted).toEqual(['batch', 'past_seq', 'seq']);
    const typo = await cli(['inspect', GPT, '--dim', 'sequence=4']);
    expect(typo.code).toBe(0);
    expect(typo.stderr).toBe(
      `${GPT}: warning: --dim sequence: the model has no symbol 'sequence' (its symbols: batch, past_seq, seq)\n`,
    );
  });

  it('bad --dim and unknown device classes are user errors', async () => {
    for (const args of [
      ['inspect', GPT, '--dim', 'batch'],
      ['inspect', GPT, '--dim', 'batch=-3'],
      ['inspect', GPT, '--device-class', 'tpu'],
      ['inspect', GPT, '--device', 'gpu0'],
      ['inspect', GPT, '--fleet', FLEET, '--device', 'nope'],
      ['inspect', GPT, '--fleet', join(REPO, 'fixtures/fleets/missing.yaml')],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });
});

describe('fleetc inspect --ops', () => {
  it('per-op FLOPs, bytes, intensity, bound and critical flag; totals per op type add up', async () => {
    const j = await json(['inspect', GPT, '--json', '--ops', ...DIMS]);
    expect(j.opRows).toHaveLength(266);
    for (const o of j.opRows) {
      expect(['compute', 'memory', 'latency']).toContain(o.bound);
      expect(typeof o.critical).toBe('boolean');
      if (o.bytesRead + o.bytesWritten > 0)
        expect(o.intensity).toBeCloseTo(o.flops / (o.bytesRead + o.bytesWritten), 9);
    }
    const sum = (k: string) => j.opRows.reduce((a: number, o: OpRow) => a + o[k], 0);
    expect(sum('flops')).toBe(j.flops);
    expect(sum('bytesRead')).toBe(j.bytesRead);
    const types = j.opTypes as { opType: string; count: number; flops: number }[];
    expect(types.reduce((a, t) => a + t.count, 0)).toBe(266);
    expect(types.reduce((a, t) => a + t.flops, 0)).toBe(j.flops);
    expect(types.find((t) => t.opType === 'MatMul')!.count).toBe(13);
    const onPath = j.opRows.filter((o: OpRow) => o.critical).map((o: OpRow) => o.name);
    expect(onPath).toEqual(
      j.criticalPath.ops
        .slice()
        .sort(
          (a: string, b: string) =>
            j.opRows.findIndex((o: OpRow) => o.name === a) - j.opRows.findIndex((o: OpRow) => o.name === b),
        ),
    );
    expect(onPath).toContain('/lm_head/MatMul');
  });

  it('the bound depends on the device: a big batch makes the CNN compute-bound on cpu, not on gpu', async () => {
    const row = (j: InspectReport, n: string) => j.opRows.find((o: OpRow) => o.opType === n);
    const cpu = await json([
      'inspect',
      CNN,
      '--json',
      '--ops',
      '--dim',
      'batch=256',
      '--device-class',
      'cpu',
      '--cores',
      '2',
    ]);
    const gpu = await json(['inspect', CNN, '--json', '--ops', '--dim', 'batch=256', '--device-class', 'gpu']);
    const ipu = await json(['inspect', CNN, '--json', '--ops', '--dim', 'batch=256', '--device-class', 'ipu']);
    expect(cpu.device.name).toBe('cpu');
    expect(gpu.device.name).toBe('gpu');
    expect(ipu.device.name).toBe('ipu');
    expect(row(cpu, 'Conv').bound).toBe('compute');
    expect(row(gpu, 'Conv').bound).not.toBe('compute');
    const tiny = await json(['inspect', CNN, '--json', '--ops', '--dim', 'batch=1', '--device-class', 'gpu']);
    expect(tiny.opRows.every((o: OpRow) => o.bound === 'latency')).toBe(true);
  });

  it('--fleet classifies against every device of the fleet; --device picks the primary', async () => {
    const j = await json(['inspect', CNN, '--json', '--ops', '--dim', 'batch=256', '--fleet', FLEET]);
    expect(j.device.name).toBe('cpu0');
    for (const o of j.opRows) expect(Object.keys(o.boundOn).sort()).toEqual(['cpu0', 'gpu0']);
    for (const o of j.opRows) expect(o.boundOn.cpu0).toBe(o.bound);
    const g = await json([
      'inspect',
      CNN,
      '--json',
      '--ops',
      '--dim',
      'batch=256',
      '--fleet',
      FLEET,
      '--device',
      'gpu0',
    ]);
    expect(g.device.name).toBe('gpu0');
    expect(g.predictedSerialTime).toBeLessThan(j.predictedSerialTime);
    const text = await cli(['inspect', CNN, '--ops', '--fleet', FLEET, '--no-color']);
    expect(text.stdout).toMatch(/per op \(cpu0; \* = on the critical path\)/);
    expect(text.stdout).toMatch(/on gpu0/);
    expect(text.stdout).toMatch(/per op type/);
  });
});

describe('fleetc inspect --ir', () => {
  it('dumps the IR after shape inference', async () => {
    const r = await cli(['inspect', GPT, '--ir']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^graph /);
    expect(r.stdout).toMatch(/input {2}%past_key_values\.0\.key: float32\[batch, 4, past_seq, 8\]/);
    expect(r.stdout).toMatch(/%present\.0\.key: float32\[batch, 4, past_seq \+ seq, 8\] = Concat\(/);
    const j = await json(['inspect', GPT, '--ir', '--json']);
    expect(j.ir).toBe(r.stdout);
  });
});

describe('fleetc inspect warnings', () => {
  it('shape-inference warnings go to stderr (one line each, naming file and node) and into --json "warnings"', async () => {
    const tmp = tempDir();
    try {
      const file = writeModel(tmp.dir, {
        inputs: [vi('x', 1, [2])],
        nodes: [
          node('Relu', ['x'], ['y'], { name: 'r0' }),
          node('Foo', ['y'], ['w'], { name: 'f0', domain: 'example.com' }),
        ],
        valueInfo: [vi('y', 7, [5])],
        outputs: [vi('w')],
        opsets: { '': 17, 'example.com': 1 },
      });
      const r = await cli(['inspect', file]);
      expect(r.code).toBe(0);
      expect(r.stderr.trimEnd().split('\n')).toEqual([
        `${file} (node 'r0' #0): warning[E0201]: Relu 'r0': output 'y': inferred float32[2] but the model declares int64[5] (element types differ; dim 0 is 2, declared 5)`,
        `${file} (node 'f0' #1): warning[E0201]: Foo 'f0': no shape function for example.com:Foo; its outputs keep their declared types`,
      ]);
      const j = JSON.parse((await cli(['inspect', file, '--json'])).stdout) as InspectReport;
      expect(j.warnings).toHaveLength(2);
    } finally {
      tmp.cleanup();
    }
  });
});
