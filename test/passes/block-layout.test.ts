// block-layout: chains of depthwise 3×3 and pointwise 1×1 convs run in the blocked NCHW8c layout,
// with fleetc.Reorder where values enter or leave a chain; fleetc export writes them back plain.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { resolvePipeline, runPipeline } from '../../passes/driver.js';
import { blockedConvKind } from '../../passes/layout/eligible.js';
import { planDeviceArena } from '../../passes/memory/device.js';
import { preparedBytes } from '../../targets/fleetrt/prepared.js';
import { unblock } from '../../passes/layout/unblock.js';
import { newPassContext, type PassContext } from '../../passes/pass.js';
import { PIPELINES } from '../../passes/registry.js';
import { compile } from '../../src/api/compile.js';
import { exportOnnx } from '../../src/api/export.js';
import { FleetCost } from '../../src/fleet/cost.js';
import { loadFleet } from '../../src/fleet/load.js';
import { loadOnnx } from '../../src/frontends/onnx/index.js';
import { decodeModel } from '../../src/frontends/onnx/proto.js';
import { IRGraph, type AttrValue } from '../../src/ir/graph.js';
import { printGraph } from '../../src/ir/print.js';
import { sym } from '../../src/ir/sym.js';
import { verifyGraph } from '../../src/ir/verify.js';
import { Builder, ints, values } from '../fuse/graphs.js';
import { FLEETRT, HAVE_FLEETRT, readNpyF32, writeNpyF32 } from '../compile/helpers.js';
import { REPO } from '../paths.js';

const FRONT =
  'infer-shapes,fold,dce,cse,fold-batchnorm,fuse-layernorm,fuse-attention,fuse-conv,fuse-matmul,fuse-elementwise';
const group = (value: number): AttrValue => ({ type: 'int', value });
const PADS1 = { pads: ints([1, 1, 1, 1]), kernel_shape: ints([3, 3]) };

/** A conv's filter (and bias) as seeded weights named after its output. */
function conv(b: Builder, x: string, out: string, cin: number, cout: number, attrs: Record<string, AttrValue> = {}) {
  const g = attrs.group?.type === 'int' ? attrs.group.value : 1;
  const k = attrs.kernel_shape?.type === 'ints' ? attrs.kernel_shape.value : [1, 1];
  const per = (cin / g) * k[0]! * k[1]!;
  b.weight(`${out}.W`, [cout, cin / g, k[0]!, k[1]!], values(cout * per, cout + per, -0.5, 0.5));
  b.weight(`${out}.B`, [cout], values(cout, cout + 1, -0.1, 0.1));
  return b.op('Conv', [x, `${out}.W`, `${out}.B`], out, attrs);
}

function relu6(b: Builder, x: string, out: string): string {
  if (!b.g.hasValue('zero')) {
    b.weight('zero', [], [0]);
    b.weight('six', [], [6]);
  }
  return b.op('Clip', [x, 'zero', 'six'], out);
}

/**
 * Two MobileNetV2 inverted residuals on x [1, c, 8, 8]: 1×1 expand + ReLU6, depthwise 3×3 +
 * ReLU6, 1×1 project, + x; then the same with stride 2 and no residual.
 */
function mobileNetV2(c = 16): IRGraph {
  const b = new Builder();
  b.input('x', [1, c, 8, 8]);
  const e = relu6(b, conv(b, 'x', 'e1', c, 3 * c), 'e1.r');
  const d = relu6(b, conv(b, e, 'd1', 3 * c, 3 * c, { group: group(3 * c), ...PADS1 }), 'd1.r');
  const sum = b.op('Add', [conv(b, d, 'p1', 3 * c, c), 'x'], 'sum1');
  const e2 = relu6(b, conv(b, sum, 'e2', c, 3 * c), 'e2.r');
  const stride2 = { group: group(3 * c), ...PADS1, strides: ints([2, 2]) };
  const d2 = relu6(b, conv(b, e2, 'd2', 3 * c, 3 * c, stride2), 'd2.r');
  conv(b, d2, 'y', 3 * c, 2 * c);
  return b.output('y');
}

/** A ResNet bottleneck on x [1, 32, 8, 8]: 1×1 + Relu, dense 3×3 + Relu, 1×1, + x, Relu. */
function resNetBottleneck(): IRGraph {
  const b = new Builder();
  b.input('x', [1, 32, 8, 8]);
  const a = b.op('Relu', [conv(b, 'x', 'a', 32, 16)], 'a.r');
  const m = b.op('Relu', [conv(b, a, 'm', 16, 16, PADS1)], 'm.r');
  const s = b.op('Add', [conv(b, m, 'c', 16, 32), 'x'], 'sum');
  b.op('Relu', [s], 'y');
  return b.output('y');
}

/** 1×1 → depthwise 3×3 → 1×1 on x [1, 8, 6, 6]; the depthwise output d is also read by a Relu (and a graph output). */
function sharedDepthwise(dIsOutput = true): IRGraph {
  const b = new Builder();
  b.input('x', [1, 8, 6, 6]);
  const e = b.op('Relu', [conv(b, 'x', 'e', 8, 16)], 'e.r');
  const d = conv(b, e, 'd', 16, 16, { group: group(16), ...PADS1 });
  conv(b, d, 'y', 16, 8);
  b.op('Relu', [d], 'side');
  return dIsOutput ? b.output('y', 'side', 'd') : b.output('y', 'side');
}

function run(g: IRGraph, pipeline: string, ctx: PassContext = newPassContext({ verify: true })) {
  return runPipeline(g, resolvePipeline(pipeline), ctx);
}

function withFleet(file: string): PassContext {
  const fleet = loadFleet(join(REPO, 'fixtures/fleets', file));
  return newPassContext({ verify: true, target: { fleet, cost: new FleetCost(fleet), home: 0 } });
}

const ofType = (g: IRGraph, opType: string): string[] => g.topoOps().filter((id) => g.op(id).opType === opType);
const layout = (g: IRGraph, id: string): string | undefined => {
  const a = g.op(id).attrs.layout;
  return a?.type === 'string' ? a.value : undefined;
};

describe('block-layout', () => {
  it('blocks a MobileNetV2 chain: one Reorder in, one out, the graph output plain under its name', () => {
    const g = mobileNetV2();
    run(g, FRONT);
    const fused = printGraph(g);
    const [rec] = run(g, 'block-layout');
    expect(rec!.summary).toBe('1 chains, 6 convs blocked, 2 reorders');
    expect(verifyGraph(g)).toEqual([]);
    expect(ofType(g, 'Conv')).toEqual([]);
    const convs = ofType(g, 'FusedConv');
    expect(convs).toHaveLength(6);
    for (const id of convs) expect(layout(g, id)).toBe('NCHW8c');

    // x is blocked once for both its readers (the expand conv's X and the project conv's Z).
    const [toBlocked, toPlain, ...more] = ofType(g, 'Reorder');
    expect(more).toEqual([]);
    expect([g.op(toBlocked!).name, layout(g, toBlocked!)]).toEqual(['x/reorder_nchw8c', 'NCHW8c']);
    expect(g.opInputs(toBlocked!)).toEqual(['x']);
    const xb = g.opOutputs(toBlocked!)[0]!;
    expect(g.consumers(xb).map((u) => `${u.op}:${u.slot}`)).toEqual(['e1:0', 'p1:3']);
    expect(g.consumers('x')).toHaveLength(1);
    expect(g.value(xb)).toMatchObject({ dtype: 'float32', shape: [1, 16, 8, 8] });

    // The last conv writes a fresh blocked value; the Reorder writes the graph output y.
    expect([g.op(toPlain!).name, layout(g, toPlain!)]).toEqual(['y/reorder_nchw', 'NCHW']);
    expect(g.opOutputs(toPlain!)).toEqual(['y']);
    expect(g.outputs).toEqual(['y']);
    expect(g.producer(g.opInputs(toPlain!)[0]!)!.op).toBe('y');
    expect(g.value('y')).toMatchObject({ dtype: 'float32', shape: [1, 32, 4, 4] });

    // Once blocked, a chain is not blocked again.
    const blocked = printGraph(g);
    expect(run(g, 'block-layout')[0]!.changed).toBe(false);
    expect(printGraph(g)).toBe(blocked);

    // The inverse gives back the fused graph, names and all (the last conv stays a FusedConv).
    expect(unblock(g)).toBe(2);
    expect(printGraph(g)).toBe(fused.replace('= Conv(', '= fleetc.FusedConv('));
  });

  it('changes nothing in a ResNet bottleneck (no depthwise conv), nor below min-depthwise', () => {
    const g = resNetBottleneck();
    run(g, FRONT);
    const before = printGraph(g);
    expect(run(g, 'block-layout')[0]).toMatchObject({
      changed: false,
      summary: '0 chains, 0 convs blocked, 0 reorders',
    });
    expect(printGraph(g)).toBe(before);

    const m = mobileNetV2();
    run(m, FRONT);
    expect(run(m, 'block-layout{min-depthwise=3}')[0]!.changed).toBe(false);
    expect(run(m, 'block-layout{min-depthwise=2}')[0]!.changed).toBe(true);
  });

  it('leaves convs whose channels are not a multiple of 8 alone', () => {
    const g = mobileNetV2(12);
    run(g, FRONT);
    expect(g.topoOps().map((id) => blockedConvKind(g, id))).toEqual(Array(6).fill(undefined));
    expect(run(g, 'block-layout')[0]!.changed).toBe(false);
    expect(ofType(g, 'Reorder')).toEqual([]);
  });

  it('takes only pointwise and depthwise convs with constant filters, static shapes, no dilation', () => {
    const kind = (attrs: Record<string, AttrValue>, cout = 16, filterIsInput = false) => {
      const b = new Builder();
      b.input('x', [1, 16, 8, 8]);
      const dw = attrs.group?.type === 'int';
      const k = attrs.kernel_shape?.type === 'ints' ? attrs.kernel_shape.value : [1, 1];
      const shape = [cout, dw ? 1 : 16, k[0]!, k[1]!];
      const n = shape.reduce((p, q) => p * q, 1);
      if (filterIsInput) b.input('W', shape);
      else b.weight('W', shape, values(n, 3));
      b.op('Conv', ['x', 'W'], 'y', attrs);
      const g = b.output('y');
      run(g, 'infer-shapes');
      return blockedConvKind(g, g.ops()[0]!);
    };
    const dw = { group: group(16), ...PADS1 };
    expect(kind({})).toBe('pointwise');
    expect(kind({}, 24)).toBe('pointwise');
    expect(kind({}, 12)).toBeUndefined();
    expect(kind({ strides: ints([2, 2]) })).toBeUndefined();
    expect(kind({}, 16, true)).toBeUndefined();
    expect(kind(dw)).toBe('depthwise');
    expect(kind({ ...dw, strides: ints([2, 2]) })).toBe('depthwise');
    expect(kind({ ...dw, strides: ints([1, 2]) })).toBeUndefined();
    expect(kind({ ...dw, dilations: ints([2, 2]), pads: ints([2, 2, 2, 2]) })).toBeUndefined();
    expect(kind({ ...dw, pads: ints([0, 0, 0, 0]) })).toBeUndefined();
    expect(kind({ ...dw, auto_pad: { type: 'string', value: 'SAME_UPPER' } })).toBeUndefined();
    expect(kind({ pads: ints([1, 1, 1, 1]), kernel_shape: ints([3, 3]) })).toBeUndefined(); // dense 3×3
  });

  it('writes a stem (a dense conv of up to 8 plain channels) blocked, reading its input as it lies', () => {
    // x [N, 3, 16, 16] (N a symbol) → 3×3 stride-2 stem + ReLU6 → depthwise 3×3 + ReLU6 → 1×1
    const stemmed = (stemChannels: number, withDepthwise: boolean) => {
      const b = new Builder();
      b.g.addValue({ name: 'x', dtype: 'float32', shape: [sym('N'), stemChannels, 16, 16], role: 'input' });
      b.g.inputs = ['x'];
      const stride2 = { ...PADS1, strides: ints([2, 2]) };
      const s = relu6(b, conv(b, 'x', 's', stemChannels, 16, stride2), 's.r');
      const d = withDepthwise ? relu6(b, conv(b, s, 'd', 16, 16, { group: group(16), ...PADS1 }), 'd.r') : s;
      conv(b, d, 'y', 16, 24);
      const g = b.output('y');
      run(g, FRONT);
      return g;
    };
    const g = stemmed(3, true);
    expect(blockedConvKind(g, 's')).toBe('stem');
    expect(run(g, 'block-layout')[0]!.summary).toBe('1 chains, 3 convs blocked, 1 reorders');
    expect(verifyGraph(g)).toEqual([]);
    expect(g.opInputs('s')[0]).toBe('x');
    expect(g.op('s').attrs).toMatchObject({
      layout: { type: 'string', value: 'NCHW8c' },
      input_layout: { type: 'string', value: 'NCHW' },
    });
    expect(ofType(g, 'Reorder').map((id) => g.op(id).name)).toEqual(['y/reorder_nchw']);
    expect(unblock(g)).toBe(1);
    expect(g.op('s').attrs.input_layout).toBeUndefined();

    // a stem alone with 1×1s (no depthwise conv): nothing; more than 8 channels: no stem
    expect(run(stemmed(3, false), 'block-layout')[0]!.changed).toBe(false);
    const wide = stemmed(12, true);
    expect(blockedConvKind(wide, 's')).toBeUndefined();
    expect(run(wide, 'block-layout')[0]!.summary).toBe('1 chains, 2 convs blocked, 2 reorders');
  });

  it('makes a blocked value read outside the chain plain again with one shared Reorder', () => {
    const g = sharedDepthwise();
    run(g, FRONT);
    // fuse-conv leaves d and y as ONNX Convs (nothing to fuse): block-layout makes them FusedConvs.
    expect(ofType(g, 'Conv')).toEqual(['d', 'y']);
    expect(run(g, 'block-layout')[0]!.summary).toBe('1 chains, 3 convs blocked, 3 reorders');
    expect(ofType(g, 'Conv')).toEqual([]);
    for (const id of ['e', 'd', 'y'])
      expect([g.op(id).opType, g.op(id).domain, layout(g, id)]).toEqual(['FusedConv', 'fleetc', 'NCHW8c']);
    expect(g.opInputs('d')).toEqual([g.opOutputs('e')[0], 'd.W', 'd.B']);

    const plainD = g.producer('d')!.op;
    expect([g.op(plainD).opType, layout(g, plainD)]).toEqual(['Reorder', 'NCHW']);
    const blockedD = g.opInputs(plainD)[0]!;
    expect(g.producer(blockedD)!.op).toBe('d');
    expect(
      g
        .consumers(blockedD)
        .map((u) => u.op)
        .sort(),
    ).toEqual([plainD, 'y'].sort());
    expect(g.consumers('d').map((u) => g.op(u.op).opType)).toEqual(['Relu']);
    expect(g.outputs).toEqual(['y', 'side', 'd']);
    expect(
      ofType(g, 'Reorder')
        .map((id) => g.op(id).name)
        .sort(),
    ).toEqual(['d/reorder_nchw', 'x/reorder_nchw8c', 'y/reorder_nchw'].sort());
  });

  it('makes a blocked value that a subgraph reads plain again under its own name', () => {
    const b = new Builder();
    b.input('x', [1, 8, 6, 6]);
    const d = conv(b, conv(b, 'x', 'e', 8, 16), 'd', 16, 16, { group: group(16), ...PADS1 });
    conv(b, d, 'y', 16, 8);
    b.ifReading('d', [1, 16, 6, 6], 'z');
    const g = b.output('y', 'z');
    run(g, `${FRONT},block-layout`);
    const plainD = g.producer('d')!.op;
    expect([g.op(plainD).opType, layout(g, plainD)]).toEqual(['Reorder', 'NCHW']);
    expect(g.opInputs('y')[0]).toBe(g.opInputs(plainD)[0]);
    expect(g.topoOps().indexOf('if')).toBeGreaterThan(g.topoOps().indexOf(plainD));
  });

  it('memory: a blocked FusedConv writes over its residual, a Reorder never over its input; blocked depthwise filters count', () => {
    const arena = (g: IRGraph) =>
      planDeviceArena(g, { ops: g.topoOps(), sends: new Set(), outputs: new Set(g.outputs), dims: new Map() });
    const m = mobileNetV2();
    run(m, FRONT);
    expect(preparedBytes(m, 'd1')).toBe(0);
    run(m, 'block-layout');
    expect(preparedBytes(m, 'd1')).toBe(4 * 48 * 9);
    const residual = m.opInputs('p1')[3]!;
    expect(residual).toBe('x/nchw8c');
    const ml = arena(m);
    expect(ml.tensors.get('sum1')).toBeDefined();
    expect(ml.tensors.get('sum1')).toEqual(ml.tensors.get(residual));

    const g = sharedDepthwise(false);
    run(g, `${FRONT},block-layout`);
    const reorder = g.producer('d')!.op;
    const l = arena(g);
    const [a, b] = [l.tensors.get(g.opInputs(reorder)[0]!)!, l.tensors.get('d')!];
    expect(a.offset + a.size <= b.offset || b.offset + b.size <= a.offset).toBe(true);
  });

  it('runs only for fleets of cpus', () => {
    const g = mobileNetV2();
    run(g, FRONT);
    expect(run(g, 'block-layout', withFleet('cpu-gpu-pcie.yaml'))[0]).toMatchObject({
      changed: false,
      summary: 'skipped: gpu0 is no cpu',
    });
    expect(run(g, 'block-layout', withFleet('cpu-threads.yaml'))[0]!.changed).toBe(true);
  });

  it('is skipped for a cpu whose measured host runs the AVX-512 kernels, not for one on AVX2', () => {
    const g = mobileNetV2();
    run(g, FRONT);
    const on = (simd: string): PassContext => {
      const ctx = withFleet('cpu-threads.yaml');
      const d = ctx.target!.fleet.devices[0]!;
      d.described = { figures: ['compute'], measured: true, provenance: `measured on test (${simd})`, simd };
      return ctx;
    };
    expect(run(g, 'block-layout', on('avx512'))[0]).toMatchObject({
      changed: false,
      summary: "skipped: cpu0 runs fleetrt's AVX-512 kernels, faster on the plain layout",
    });
    expect(run(g, 'block-layout', on('avx2'))[0]!.changed).toBe(true);
  });

  it('is in the default pipeline after the fusions, not in generate or O0', () => {
    expect(PIPELINES.default).toContain(`${FRONT.split(',').at(-1)},block-layout,place-experts`);
    expect(PIPELINES.generate).not.toContain('block-layout');
    expect(PIPELINES.O0).not.toContain('block-layout');
  });
});

describe('fleetc export of a blocked build', () => {
  it('writes no Reorder and no layout attribute, and computes what the unblocked build does', async () => {
    const fleet = join(REPO, 'fixtures/fleets/cpu-threads.yaml');
    const outputs: Float32Array[] = [];
    const x = new ort.Tensor('float32', Float32Array.from(values(16 * 64, 5)), [1, 16, 8, 8]);
    for (const passes of [PIPELINES.default!, PIPELINES.default!.replace('block-layout,', '')]) {
      const build = mkdtempSync(join(tmpdir(), 'fleetc-block-'));
      const { plan } = await compile(mobileNetV2(), build, { fleet, pins: ['.*=cpu0'], passes, report: false });
      const blocked = passes.includes('block-layout');
      expect(plan.pipeline.passes.find((p) => p.pass === 'block-layout')?.changed ?? false).toBe(blocked);
      const res = await exportOnnx(build, join(build, 'onnx'));
      expect(res.run).toHaveLength(1);
      const file = join(res.outDir, res.run[0]!.file);
      expect(() => loadOnnx(file)).not.toThrow();
      const nodes = decodeModel(readFileSync(file)).graph!.node!;
      expect(nodes.filter((n) => n.opType === 'Reorder' || n.domain === 'fleetc')).toEqual([]);
      expect(nodes.flatMap((n) => n.attribute ?? []).filter((a) => a.name === 'layout')).toEqual([]);
      expect(nodes.filter((n) => n.opType === 'Conv')).toHaveLength(6);
      const session = await ort.InferenceSession.create(file);
      expect(session.outputNames).toEqual(['y']);
      outputs.push((await session.run({ x })).y!.data as Float32Array);
    }
    expect(outputs[0]).toEqual(outputs[1]);
  });
});

// The runtime side of the contract (native/src/kernels): fleetrt runs a blocked plan to the plain plan's outputs.
describe.skipIf(!HAVE_FLEETRT)('a blocked build run by fleetrt', () => {
  const fleet = join(REPO, 'fixtures/fleets/cpu-threads.yaml');
  const run = async (make: () => IRGraph, passes: string): Promise<{ reorders: number; outputs: number[][] }> => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetc-block-run-'));
    const g = make();
    const x = g.value('x').shape as number[];
    await compile(g, join(dir, 'build'), { fleet, pins: ['.*=cpu0'], passes, report: false });
    writeNpyF32(
      join(dir, 'x.npy'),
      x,
      values(
        x.reduce((p, q) => p * q, 1),
        9,
        -2,
        2,
      ),
    );
    const args = [join(dir, 'build/plan.json'), '--input', `x=${join(dir, 'x.npy')}`, '--output-dir', join(dir, 'out')];
    const r = spawnSync(FLEETRT, args, { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const outputs = g.outputs.map((o) => readNpyF32(join(dir, 'out', `${o}.npy`)).data);
    return { reorders: ofType(g, 'Reorder').length, outputs };
  };

  for (const [name, make, reorders] of [
    ['MobileNetV2 blocks (residual Z, stride 2)', mobileNetV2, 2],
    ['a depthwise output read outside the chain', sharedDepthwise, 3],
  ] as const)
    it(`gives the outputs of the unblocked build: ${name}`, async () => {
      const blocked = await run(make, PIPELINES.default!);
      const plain = await run(make, PIPELINES.default!.replace('block-layout,', ''));
      expect([blocked.reorders, plain.reorders]).toEqual([reorders, 0]);
      plain.outputs.forEach((want, k) => {
        const got = blocked.outputs[k]!;
        expect(got.length).toBe(want.length);
        let worst = 0;
        want.forEach((v, i) => (worst = Math.max(worst, Math.abs(got[i]! - v) / (1 + Math.abs(v)))));
        expect(worst).toBeLessThan(1e-5);
      });
    });
});
