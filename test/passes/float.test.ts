/** The `float` pass (passes/float): which ops float, among which devices, and what it leaves alone. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/api/compile.js';
import type { PlanJSON } from '../../src/api/plan.js';
import { loadFleet } from '../../src/fleet/load.js';
import { floatingGroups } from '../../passes/float/index.js';
import { cli } from '../cli/helpers.js';
import { REPO } from '../paths.js';

const FLEETS = join(REPO, 'fixtures/fleets');
const GPT = join(REPO, 'fixtures/models/gpt_decoder_kv/model.onnx');

describe('float pass', () => {
  it('groups the real cpu devices of one host; accelerators and lone cpus float nothing', () => {
    expect(floatingGroups(loadFleet(join(FLEETS, 'cpu-threads.yaml')))).toEqual([['cpu0', 'cpu1']]);
    expect(floatingGroups(loadFleet(join(FLEETS, 'cpu-gpu-pcie.yaml')))).toEqual([]);
  });

  it('never floats a pinned op, and floats more with interior=true; a fleet without a group keeps schema 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetc-floatpass-'));
    const fleet = join(FLEETS, 'cpu-threads.yaml');
    const pins = ['MatMul=cpu1', '^/Shape$=cpu1'];
    const a = await compile(GPT, join(dir, 'a'), { fleet, pins, report: false, float: true });
    const names = a.plan.floating!.ops.map((o) => o.name);
    expect(names).not.toContain('/Shape');
    expect(names.length).toBeGreaterThan(0);
    const text = a.plan.pipeline.text.replace(',float,', ',float{interior=true},');
    const b = await compile(GPT, join(dir, 'b'), { fleet, pins, report: false, passes: text });
    expect(b.plan.floating!.ops.length).toBeGreaterThan(names.length);
    const c = await compile(GPT, join(dir, 'c'), {
      fleet: join(FLEETS, 'cpu-gpu-pcie.yaml'),
      pins: ['MatMul=gpu0'],
      report: false,
      float: true,
    });
    expect(c.plan.floating).toBeUndefined();
    expect(c.plan.schemaVersion).toBe(2);
  });

  it('fleetc compile --float lets cheap ops float, by default every op stays where it was placed; the report lists floating ops', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetc-floatcli-'));
    const fleet = join(FLEETS, 'cpu-threads.yaml');
    const on = await cli(['compile', GPT, '--fleet', fleet, '--pin', 'MatMul=cpu1', '--float', '-o', join(dir, 'on')]);
    expect(on.code, on.stderr).toBe(0);
    const off = await cli(['compile', GPT, '--fleet', fleet, '--pin', 'MatMul=cpu1', '-o', join(dir, 'off')]);
    expect(off.code, off.stderr).toBe(0);
    const planOn = JSON.parse(readFileSync(join(dir, 'on', 'plan.json'), 'utf8')) as PlanJSON;
    const planOff = JSON.parse(readFileSync(join(dir, 'off', 'plan.json'), 'utf8')) as PlanJSON;
    expect(planOff.floating).toBeUndefined();
    expect(planOff.pipeline.text).toBe(planOn.pipeline.text.replace(',float,', ','));
    const report = readFileSync(join(dir, 'on', 'report.txt'), 'utf8');
    expect(report).toMatch(new RegExp(`floating ops \\(${planOn.floating!.ops.length}\\)`));
    expect(report).toMatch(/\/Shape_1\s+Shape\s+cpu0 \+ cpu1/);
    const json = JSON.parse(readFileSync(join(dir, 'on', 'report.json'), 'utf8')) as {
      floating: { ops: { devices: string[] }[]; channels: number; pinnedChannels: number };
    };
    expect(json.floating.channels).toBe(planOn.channels.length);
    expect(json.floating.pinnedChannels).toBe(planOff.channels.length);
    expect(readFileSync(join(dir, 'on', 'report.html'), 'utf8')).toContain('<h2>Floating ops</h2>');
    const ins = await cli(['inspect', GPT, '--fleet', fleet]);
    expect(ins.stdout).toMatch(/floating\s+\d+ ops may run on whichever of cpu0 \+ cpu1 has them ready \(Shape \d+/);
  });
});
