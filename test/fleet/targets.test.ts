// The table of targets: every class has its folder's facts, the fleet schema names the same
// classes, and the documented skeleton is a working class a fleet can use.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileGraph } from '../../src/api/compile.js';
import type { Fleet } from '../../src/fleet/types.js';
import { DEVICE_CLASSES, DEVICE_PRESETS, rooflineOf, TARGETS } from '../../targets/index.js';
import { skeletonTarget } from '../../targets/skeleton/index.js';
import { FLEETRT, HAVE_FLEETRT, readNpyF32, smallGraph, smallGraphRef, tmp, writeNpyF32 } from '../compile/helpers.js';
import { REPO } from '../paths.js';

describe('the table of targets', () => {
  it('one entry per device class, the same classes as the fleet schema', () => {
    expect(Object.keys(TARGETS).sort()).toEqual([...DEVICE_CLASSES].sort());
    const schema = JSON.parse(readFileSync(join(REPO, 'src/fleet/fleet.schema.json'), 'utf8')) as {
      properties: { devices: { items: { properties: { class: { enum: string[] } } } } };
    };
    expect(schema.properties.devices.items.properties.class.enum.sort()).toEqual([...DEVICE_CLASSES].sort());
    for (const c of DEVICE_CLASSES) {
      const t = TARGETS[c];
      expect(t.class).toBe(c);
      for (const [name, p] of Object.entries(t.presets)) {
        expect(p.class, name).toBe(c);
        expect(DEVICE_PRESETS[name]).toBe(p);
      }
      const ref = t.reference();
      expect(ref.class).toBe(c);
      const r = rooflineOf(ref);
      expect(r.peakFlops.default).toBeGreaterThan(0);
      expect(r.memBandwidth).toBeGreaterThan(0);
      expect(t.defaults.messageOverhead).toBeGreaterThanOrEqual(0);
      expect(t.backends.length).toBeGreaterThan(0);
    }
  });

  it.skipIf(!HAVE_FLEETRT)(
    'the skeleton target is a working class: a fleet with its device compiles and runs',
    async () => {
      const dev = skeletonTarget.reference();
      // One cpu (the graph's home) and the skeleton's example device, with everything pinned to it.
      const fleet: Fleet = {
        name: 'skeleton',
        file: '',
        hosts: ['h'],
        devices: [
          { ...TARGETS.cpu.reference(1), id: 'cpu0', host: 'h' },
          { ...dev, id: 'acc0', host: 'h', hostLink: skeletonTarget.defaults.hostLink },
        ],
        links: [],
        pins: [{ match: '^(mul|add|relu)$', device: 'acc0', forbid: false, origin: 'test' }],
      };
      const out = tmp();
      const r = await compileGraph(smallGraph(), out, { fleet, dims: { batch: 2 } });
      expect(r.plan.devices.map((d) => d.name).sort()).toEqual(['acc0', 'cpu0']);
      expect(r.plan.schedule.filter((s) => s.device === 'acc0').length).toBeGreaterThan(0);
      const x = [1, -2, 3, 4, 0.5, 6, -7, 8];
      writeNpyF32(join(out, 'x.npy'), [2, 4], x);
      const run = spawnSync(
        FLEETRT,
        [r.planPath, '--input', `x=${join(out, 'x.npy')}`, '--output-dir', join(out, 'o')],
        {
          encoding: 'utf8',
        },
      );
      expect(run.stderr).toBe('');
      expect(readNpyF32(join(out, 'o', 'z.npy')).data).toEqual(smallGraphRef(x).z);
    },
  );
});
