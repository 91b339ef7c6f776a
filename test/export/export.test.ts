// fleetc export: each device partition of a build as an ONNX model. Every exported model passes
// fleetc's own ONNX structural checks (the frontend's loader and IR verifier) and loads in
// onnxruntime-node; the models run one after another, each fed the channels the ones before it
// produced, give the whole model's outputs as onnxruntime computes them from the source model.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { compile, type CompileOptions } from '../../src/api/compile.js';
import { exportOnnx, type ExportResult } from '../../src/api/export.js';
import type { PlanJSON } from '../../src/api/plan.js';
import { FleetcError } from '../../src/diagnostics/index.js';
import { loadOnnx } from '../../src/frontends/onnx/index.js';
import { decodeModel } from '../../src/frontends/onnx/proto.js';
import { cli } from '../cli/helpers.js';
import { pbTensor } from '../ort-tensor.js';
import { REPO, SHARED } from '../paths.js';

const FIXTURES = join(REPO, 'fixtures/models');
const FLEETS = join(REPO, 'fixtures/fleets');
const GPT2 = join(SHARED, 'models/onnx/tiny_random_gpt2_fp32_past.onnx');

/** Both sides run with onnxruntime's graph rewrites off, so they run the same kernels in the same order. */
const SESSION: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'disabled' };
const RTOL = 1e-5;

type Feeds = Record<string, ort.Tensor>;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'fleetc-export-'));
}

/** The inputs of a conformance-style test data set, by the model's input names. */
function dataSet(dir: string, names: readonly string[]): Feeds {
  const files = readdirSync(dir)
    .filter((f) => /^input_\d+\.pb$/.test(f))
    .sort((a, b) => Number(a.slice(6, -3)) - Number(b.slice(6, -3)));
  return Object.fromEntries(names.map((n, i) => [n, pbTensor(join(dir, files[i]!))]));
}

/** Seeded inputs for the plan's inputs with symbols bound: floats in [-1, 1), ids below 50, masks of ones. */
function randomFeeds(plan: PlanJSON, bind: Record<string, number>): Feeds {
  let s = 7;
  const next = (): number => ((s = (s * 1103515245 + 12345) % 2147483648), s / 2147483648);
  const out: Feeds = {};
  for (const io of plan.inputs) {
    const dims = io.shape!.map((d) =>
      typeof d === 'number' ? d : d.split(' + ').reduce((a, t) => a + (bind[t.trim()] ?? NaN), 0),
    );
    const n = dims.reduce((a, b) => a * b, 1);
    const int = (): number => (io.name.includes('mask') ? 1 : Math.floor(next() * 50));
    if (io.dtype === 'float32')
      out[io.name] = new ort.Tensor(
        'float32',
        Float32Array.from({ length: n }, () => next() * 2 - 1),
        dims,
      );
    else if (io.dtype === 'int32') out[io.name] = new ort.Tensor('int32', Int32Array.from({ length: n }, int), dims);
    else
      out[io.name] = new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: n }, () => BigInt(int())),
        dims,
      );
  }
  return out;
}

const sessions = new Map<string, Promise<ort.InferenceSession>>();
function session(file: string): Promise<ort.InferenceSession> {
  if (!sessions.has(file)) sessions.set(file, ort.InferenceSession.create(file, SESSION));
  return sessions.get(file)!;
}

/** Runs the exported models in their run order; returns every value they produced (and the feeds). */
async function runInOrder(res: ExportResult, feeds: Feeds): Promise<Feeds> {
  const have: Feeds = { ...feeds };
  for (const m of res.run) {
    const s = await session(join(res.outDir, m.file));
    const f: Feeds = {};
    for (const n of s.inputNames) {
      expect(have[n], `${m.file} input '${n}' is produced by no earlier model`).toBeDefined();
      f[n] = have[n]!;
    }
    Object.assign(have, await s.run(f));
  }
  return have;
}

function expectClose(got: ort.Tensor, want: ort.Tensor, what: string): void {
  expect(got.dims, what).toEqual(want.dims);
  expect(got.type, what).toBe(want.type);
  const a = got.data as ArrayLike<number | bigint>;
  const b = want.data as ArrayLike<number | bigint>;
  let bad = -1;
  for (let i = 0; i < b.length && bad < 0; i++) {
    const x = Number(a[i]);
    const y = Number(b[i]);
    if (!(Math.abs(x - y) <= RTOL * Math.max(Math.abs(x), Math.abs(y)) || (Number.isNaN(x) && Number.isNaN(y))))
      bad = i;
  }
  expect(bad < 0 ? '' : `element ${bad}: ${a[bad]} vs ${b[bad]}`, what).toBe('');
}

interface Case {
  name: string;
  model: string;
  fleet: string;
  options?: CompileOptions;
  /** Test data sets of the fixture, or bindings for seeded random inputs. */
  sets?: number[];
  random?: Record<string, number>;
  /** What the case must exercise. */
  expect?: (res: ExportResult) => void;
}

const CASES: Case[] = [
  {
    name: 'GPT-style KV decoder on two cpus: fused element-wise chains and layer norms written back, steps between devices',
    model: join(FIXTURES, 'gpt_decoder_kv/model.onnx'),
    fleet: 'cpu-threads.yaml',
    // Pinned so that the work goes back and forth (the cost model keeps a model this small on one cpu).
    options: { pins: ['MatMul=cpu1', 'Softmax|ReduceMean|Sqrt=cpu0'] },
    sets: [0, 2],
    expect: (res) => {
      expect(res.rewritten.unfused.FusedElementwise).toBeGreaterThan(0);
      expect(res.rewritten.decomposed).toBeGreaterThan(0);
      expect(res.opsets).toEqual({ '': 14 });
      expect(res.steps).toBe(true);
    },
  },
  {
    name: 'BERT-style encoder over cpu + gpu + ipu',
    model: join(FIXTURES, 'bert_encoder/model.onnx'),
    fleet: 'cpu-gpu-ipu.yaml',
    options: { pins: ['MatMul=gpu0', 'Softmax=ipu0'] },
    sets: [0, 1],
    expect: (res) => expect(res.devices.map((d) => d.device)).toEqual(['cpu0', 'gpu0', 'ipu0']),
  },
  {
    name: 'BERT-style encoder on two cpus: fused Attention written back as head Reshape/Transpose, MatMul, Softmax',
    model: join(FIXTURES, 'bert_encoder/model.onnx'),
    fleet: 'cpu-threads.yaml',
    sets: [0, 1],
    expect: (res) => {
      expect(res.opsets['']).toBe(17);
      expect(res.rewritten.decomposed).toBeGreaterThanOrEqual(2);
    },
  },
  {
    name: 'MobileNet blocks: FusedConv written back as Conv + Add + activation',
    model: join(FIXTURES, 'mobilenet_block/model.onnx'),
    fleet: 'cpu-threads.yaml',
    sets: [0],
    expect: (res) => expect(res.rewritten.unfused.FusedConv).toBeGreaterThan(0),
  },
  {
    name: 'Loop and If on two devices: a Loop body reads a value that arrives on a channel',
    model: join(FIXTURES, 'loop_if/model.onnx'),
    fleet: 'cpu-gpu-pcie.yaml',
    options: { pins: ['^/Gather|Loop=gpu0'] },
    sets: [0, 1],
    expect: (res) => expect(res.devices.find((d) => d.device === 'gpu0')?.ops).toBeGreaterThan(0),
  },
  {
    name: 'shared GPT-2 with com.microsoft Attention/SkipLayerNormalization (opset 11), layers split over two cpus',
    model: GPT2,
    fleet: 'cpu-threads.yaml',
    options: { pins: ['SkipLayerNorm|Gelu=cpu0', 'Attention|MatMul=cpu1'] },
    random: { batch_size: 2, seq_len: 3, past_seq_len: 4 },
    expect: (res) => {
      const source = decodeModel(readFileSync(GPT2)).opsetImport.map((o) => [o.domain || '', Number(o.version)]);
      for (const [domain, version] of Object.entries(res.opsets))
        expect(source, `opset of '${domain}'`).toContainEqual([domain, version]);
      expect(res.opsets['com.microsoft']).toBe(1);
    },
  },
];

describe('fleetc export --onnx', () => {
  for (const c of CASES)
    it.skipIf(!existsSync(c.model))(c.name, async () => {
      const build = tmp();
      const out = join(build, 'onnx');
      const { plan } = await compile(c.model, build, { fleet: join(FLEETS, c.fleet), report: false, ...c.options });
      const res = await exportOnnx(build, out);
      c.expect?.(res);
      expect(res.devices.map((d) => d.device)).toEqual(plan.devices.filter((d) => d.ops > 0).map((d) => d.name));
      expect(JSON.parse(readFileSync(res.index, 'utf8'))).toMatchObject({ format: 'fleetc-onnx-export', run: res.run });

      // Valid models: fleetc's loader (structure, types, IR verifier) and onnxruntime take each one.
      const files = [...new Set([...res.devices, ...res.run].map((m) => m.file))];
      for (const f of files) {
        const path = join(out, f);
        expect(() => loadOnnx(path), f).not.toThrow();
        const proto = decodeModel(readFileSync(path));
        const meta = Object.fromEntries(proto.metadataProps.map((p) => [p.key, p.value]));
        const m = [...res.devices, ...res.run].find((x) => x.file === f)!;
        expect(meta['fleetc.device'], f).toBe(m.device);
        expect(meta['fleetc.fleet'], f).toBe(plan.fleet.name);
        expect(proto.opsetImport.map((o) => [o.domain, Number(o.version)]).sort(), f).toEqual(
          Object.entries(res.opsets).sort(),
        );
        await session(path);
      }

      // Channel inputs and outputs carry the plan's channel names (the values they move). Model
      // inputs are sent on from the home device, and model outputs made elsewhere delivered to it:
      // those are the model's own inputs and outputs, not the home partition's.
      const byDevice = new Map(res.devices.map((d) => [d.device, d]));
      const modelInputs = new Set(plan.inputs.map((i) => i.name));
      const modelOutputs = new Set(plan.outputs.map((o) => o.name));
      const home = plan.devices.find((d) => d.home)!.name;
      for (const ch of plan.channels) {
        const to = ch.to === home && modelOutputs.has(ch.value) ? undefined : byDevice.get(ch.to);
        const from = byDevice.get(ch.from);
        if (to)
          expect(to.inputs.find((i) => i.name === ch.value)?.channels, `channel ${ch.id} into ${ch.to}`).toContain(
            ch.id,
          );
        if (from && !modelInputs.has(ch.value))
          expect(
            from.outputs.find((o) => o.name === ch.value)?.channels,
            `channel ${ch.id} out of ${ch.from}`,
          ).toContain(ch.id);
      }

      // Run in order, compare with onnxruntime on the source model; each device model alone agrees too.
      const ref = await ort.InferenceSession.create(c.model, SESSION);
      const feedSets = c.random
        ? [randomFeeds(plan, { ...c.random, total_seq_len: c.random.past_seq_len! + c.random.seq_len! })]
        : c.sets!.map((k) => dataSet(join(c.model, '..', `test_data_set_${k}`), ref.inputNames));
      for (const feeds of feedSets) {
        const want = await ref.run(feeds);
        const have = await runInOrder(res, feeds);
        for (const n of ref.outputNames) expectClose(have[n]!, want[n]!, `output '${n}'`);
        for (const d of res.devices) {
          const s = await session(join(out, d.file));
          const got = await s.run(Object.fromEntries(s.inputNames.map((n) => [n, have[n]!])));
          for (const [n, t] of Object.entries(got)) expectClose(t, have[n]!, `${d.file}: '${n}'`);
        }
      }
    });

  it('refuses a --generate build with one line naming the op and how to export, or writes it for viewing', async () => {
    const build = tmp();
    await compile(join(FIXTURES, 'gpt_kv_plain/model.onnx'), build, { fleet: 'local', generate: true, report: false });
    const err = await exportOnnx(build, join(build, 'onnx')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FleetcError);
    expect((err as FleetcError).code).toBe('E0504');
    expect((err as FleetcError).message).toMatch(/\(fleetc\.PagedAttention\).*without --generate.*--allow-custom-ops/);
    expect((err as FleetcError).format().split('\n')).toHaveLength(1);
    expect(existsSync(join(build, 'onnx'))).toBe(false);

    const res = await exportOnnx(build, join(build, 'onnx'), { allowCustomOps: true });
    expect(res.customOps['fleetc.PagedAttention']).toBeGreaterThan(0);
    expect(res.opsets.fleetc).toBe(1);
    const protos = res.devices.map((d) => decodeModel(readFileSync(join(res.outDir, d.file))));
    expect(protos.some((p) => p.graph!.node!.some((n) => n.domain === 'fleetc' && n.opType === 'PagedAttention'))).toBe(
      true,
    );
    for (const p of protos) expect(p.metadataProps.map((m) => m.key)).toContain('fleetc.custom_ops');
  });

  it('never writes into a folder of other files unasked; replaces an earlier export; the CLI prints JSON', async () => {
    const build = tmp();
    await compile(join(FIXTURES, 'gpt_decoder_kv/model.onnx'), build, {
      fleet: join(FLEETS, 'cpu-threads.yaml'),
      pins: ['MatMul=cpu1', 'Softmax|ReduceMean|Sqrt=cpu0'],
      report: false,
    });
    const out = tmp();
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const err = await exportOnnx(build, out).catch((e: unknown) => e);
    expect((err as FleetcError).code).toBe('E0901');
    expect(readdirSync(out)).toEqual(['notes.txt']);
    const forced = await exportOnnx(build, out, { force: true });
    expect(forced.steps).toBe(true);
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');

    // Again into the same folder: allowed without --force, and the old step files go.
    const single = tmp();
    const one = await compile(join(FIXTURES, 'mobilenet_block/model.onnx'), single, {
      fleet: join(FLEETS, 'cpu-threads.yaml'),
      pins: ['.*=cpu0'],
      report: false,
    });
    expect(one.plan.devices).toHaveLength(1);
    const again = await exportOnnx(single, out);
    expect(again.steps).toBe(false);
    expect(existsSync(join(out, 'steps'))).toBe(false);
    expect(readdirSync(out).sort()).toEqual([`${one.plan.devices[0]!.name}.onnx`, 'export.json', 'notes.txt']);

    const r = await cli(['export', build, '--onnx', join(out, 'cli'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as ExportResult;
    expect(json.run.length).toBe(forced.run.length);
    const none = await cli(['export', join(build, 'nope'), '--onnx', join(out, 'x')]);
    expect([none.code, none.stderr]).toEqual([1, expect.stringMatching(/error\[E0501\]: no plan\.json/)]);
    mkdirSync(join(out, 'keep'));
    writeFileSync(join(out, 'keep', 'a'), '');
    const busy = await cli(['export', build, '--onnx', join(out, 'keep')]);
    expect([busy.code, busy.stderr]).toEqual([1, expect.stringMatching(/^error\[E0901\]: .*--force/)]);
  });
});
