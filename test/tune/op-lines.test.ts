// Issue 13, `fleetc tune`: an op line per op type, and per convolution rank. Small 1-D
// convolutions run their FLOPs far slower than the 2-D ones their kind's line is mostly fitted to;
// a calibration keys them apart (`Conv.1d`), and the compiler names every op's line in the report.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/api/compile.js';
import type { Report } from '../../src/report/model.js';
import { deviceFit, fitDevice, type OpSample } from '../../targets/fit.js';
import { lineFor, opCost, type DeviceRoofline } from '../../targets/roofline.js';
import { opLine, workKey } from '../../targets/work.js';
import { REPO } from '../paths.js';

const DEV: DeviceRoofline = {
  name: 'cpu0',
  description: 'cpu0',
  peakFlops: { default: 100e9 },
  memBandwidth: 20e9,
  launchOverhead: 1e-6,
  parallelism: 8,
};

/** Seconds on a device whose conv line is 2 µs + 10 ps per FLOP; 1-D convs at `slower` × that. */
function conv(flops: number, rank: number, slower: number): OpSample {
  return {
    opType: 'Conv',
    line: opLine('Conv', rank + 2),
    flops,
    bytes: 4096,
    seconds: (2e-6 + flops * 1e-11) * (rank === 1 ? slower : 1),
  };
}

describe('op lines', () => {
  it('a convolution is keyed by its spatial rank too; an op of a domain by the domain too', () => {
    expect(opLine('Conv', 3)).toBe('Conv.1d');
    expect(opLine('FusedConv', 4, 'fleetc')).toBe('fleetc:FusedConv.2d');
    expect(opLine('FusedMatMul', 3, 'fleetc')).toBe('fleetc:FusedMatMul');
    expect(opLine('FusedMatMul', 3, 'com.microsoft')).toBe('com.microsoft:FusedMatMul');
    expect(opLine('ConvTranspose', 5)).toBe('ConvTranspose.3d');
    expect(opLine('Conv')).toBe('Conv');
    expect(opLine('MatMul', 3)).toBe('MatMul');
  });

  it('tune fits 1-D convolutions a line of their own when they run off the 2-D ones', () => {
    const samples: OpSample[] = [];
    for (const f of [1e5, 4e5, 1e6, 3e6, 8e6, 2e7]) samples.push(conv(f, 2, 1));
    for (const f of [5e3, 2e4, 6e4]) samples.push(conv(f, 1, 2.5));
    const fit = fitDevice(DEV, samples, 5e-6);
    expect(Object.keys(fit.ops)).toEqual(['Conv.1d']);
    expect(fit.ops['Conv.1d']!.scale).toBeGreaterThan(1.8);
    // Priced by the op's line: a 1-D conv by its own, a 2-D one by the conv kind's.
    const oneD = { opType: 'Conv', domain: '', flops: 2e4, bytes: 4096, dtype: null, outElems: 1e4, line: 'Conv.1d' };
    const twoD = { ...oneD, flops: 1e6, line: 'Conv.2d' };
    expect(opCost(DEV, oneD, fit).time / conv(2e4, 1, 2.5).seconds).toBeCloseTo(1, 0);
    expect(opCost(DEV, twoD, fit).time / conv(1e6, 2, 1).seconds).toBeCloseTo(1, 1);
    expect(lineFor(fit, 'Conv', '', 'Conv.2d')).toBe(fit.kinds.conv);
  });

  it('and a line fitted to them alone when no one ratio fits them', () => {
    // 1-D convs at 1.4 µs + 5.5 GFLOP/s: 0.8× the 2-D line at 5k FLOPs, 1.8× at 24k.
    const slow = (flops: number): OpSample => ({
      opType: 'Conv',
      line: 'Conv.1d',
      flops,
      bytes: 4096,
      seconds: 1.4e-6 + flops / 5.5e9,
    });
    const samples = [1e5, 4e5, 1e6, 3e6, 8e6, 2e7].map((f) => conv(f, 2, 1));
    samples.push(slow(5280), slow(5280), slow(23520), slow(23520));
    const fit = fitDevice(DEV, samples, 5e-6);
    const own = fit.ops['Conv.1d']!;
    expect(lineFor(fit, 'Conv', '', 'Conv.1d')).toBe(own);
    for (const s of [slow(5280), slow(23520), slow(12000)])
      expect((own.dispatch + s.flops * own.perFlop + s.bytes * own.perByte) / s.seconds).toBeCloseTo(1, 1);
  });

  it("the report names each convolution's line", async () => {
    const out = mkdtempSync(join(tmpdir(), 'fleetc-op-lines-'));
    await compile(join(REPO, 'fixtures/models/audio_conv1d/model.onnx'), out, {
      fleet: join(REPO, 'fixtures/fleets/cpu-threads.yaml'),
      dims: { batch: 1, time: 32 },
    });
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
    const convs = report.ops.filter((o) => o.opType === 'Conv' || o.opType === 'FusedConv');
    expect(convs.length).toBeGreaterThan(0);
    for (const o of convs) expect(o.line).toMatch(new RegExp(`^(fleetc:)?${o.opType}\\.1d$`));
    const fused = report.ops.filter((o) => o.opType === 'FusedElementwise');
    expect(fused.length).toBeGreaterThan(0);
    for (const o of fused) expect(o.line).toBe('fleetc:FusedElementwise');
    const plain = report.ops.filter((o) => !['Conv', 'FusedConv', 'FusedElementwise'].includes(o.opType));
    expect(plain.length).toBeGreaterThan(0);
    expect(plain.every((o) => !o.line)).toBe(true);
  });
});

describe('measured ops', () => {
  it('an op the calibration ran at these sizes is priced by its own measured time, other sizes by the line', () => {
    const samples = [1e5, 4e5, 1e6, 3e6, 8e6, 2e7].map((f) => conv(f, 2, 1));
    // One convolution whose kernel runs 2.6× off the line, measured in three runs (one disturbed),
    // and one that sends a message to another device.
    const odd = { ...conv(5e5, 2, 1), bytes: 8192 };
    samples.push(...[2.6, 2.5, 4].map((x, run) => ({ ...odd, seconds: odd.seconds * x, run })));
    const sender = { ...conv(2e6, 2, 1), bytes: 1024, sends: 1, seconds: 60e-6 };
    samples.push(sender);
    const fit = fitDevice(DEV, samples, 5e-6);
    expect(fit.measuredOps[workKey(odd)]).toEqual({ seconds: odd.seconds * 2.6, samples: 3 });
    // Ops of one run that share the key are averaged, so that the plan's total stays the run's.
    const twice = fitDevice(
      DEV,
      [...samples.slice(0, 6), { ...odd, run: 0 }, { ...odd, seconds: 3 * odd.seconds, run: 0 }],
      5e-6,
    );
    expect(twice.measuredOps[workKey(odd)]!.seconds).toBeCloseTo(2 * odd.seconds, 15);
    expect(fit.measuredOps[workKey(sender)]!.seconds).toBeCloseTo(60e-6 - fit.messages.send, 12);

    const priced = deviceFit(fit);
    const work = { opType: 'Conv', domain: '', dtype: null, outElems: 1e4, line: 'Conv.2d' };
    expect(opCost(DEV, { ...work, flops: odd.flops, bytes: odd.bytes }, priced).time).toBe(odd.seconds * 2.6);
    // The same op at other sizes is not the measured one: its kind's line prices it.
    const other = { ...work, flops: 6e5, bytes: 8192 };
    const line = lineFor(priced, 'Conv', '', 'Conv.2d');
    expect(opCost(DEV, other, priced).time).toBe(
      line.dispatch + other.flops * line.perFlop + other.bytes * line.perByte,
    );
    expect(opCost(DEV, other, priced).time).not.toBe(odd.seconds * 2.6);
  });
});
