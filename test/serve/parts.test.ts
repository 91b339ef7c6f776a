// The supervisor's reading of an engine's death, and the fleet it re-plans on.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadFleet } from '../../src/fleet/load.js';
import { exitCause } from '../../src/serve/engine-link.js';
import { fleetWithout } from '../../src/serve/planner.js';
import { REPO } from '../paths.js';

const DEVICES = ['cpu0', 'gpu0'];

describe('fleetc serve: why the engine died', () => {
  it('the engine naming a failed device (exit status 5)', () => {
    const c = exitCause(
      { code: 5, signal: null, stderr: "fleetrt: error: device 'gpu0' failed: stopped answering for 2000 ms\n" },
      DEVICES,
    );
    expect(c).toEqual({ device: 'gpu0', message: "device 'gpu0' failed: stopped answering for 2000 ms" });
  });

  it("mpirun's report of a killed rank names the plan's device of that rank", () => {
    const stderr = [
      '--------------------------------------------------------------------------',
      'mpirun noticed that process rank 1 with PID 0 on node vm exited on signal 9 (Killed).',
      '--------------------------------------------------------------------------',
    ].join('\n');
    const c = exitCause({ code: 137, signal: null, stderr }, DEVICES);
    expect(c.device).toBe('gpu0');
    expect(c.message).toBe("MPI rank 1 (device 'gpu0') was killed by signal 9 (Killed)");
  });

  it('anything else names no device', () => {
    expect(exitCause({ code: null, signal: 'SIGKILL', stderr: '' }, DEVICES)).toEqual({
      message: 'the engine was killed by SIGKILL',
    });
    const c = exitCause({ code: 1, signal: null, stderr: "fleetrt: error: device 'cpu0': op 'x' failed\n" }, DEVICES);
    expect(c.device).toBeUndefined();
    expect(c.message).toBe("the engine exited with status 1: device 'cpu0': op 'x' failed");
    // a device the plan does not have is not believed
    expect(
      exitCause({ code: 5, signal: null, stderr: "error: device 'tpu9' failed: x" }, DEVICES).device,
    ).toBeUndefined();
  });
});

describe('fleetc serve: the fleet without a lost device', () => {
  it('drops the device, its links, its pins and hosts left empty', () => {
    const fleet = loadFleet(join(REPO, 'fixtures/fleets/cpu-gpu-ipu.yaml'));
    fleet.pins.push({ match: 'MatMul', device: 'ipu0', forbid: false, origin: 'test' });
    const f = fleetWithout(fleet, new Set(['ipu0']));
    expect(f.devices.map((d) => d.id)).toEqual(['cpu0', 'gpu0']);
    expect(f.links.some((l) => l.between.includes('ipu0'))).toBe(false);
    expect(fleet.links.some((l) => l.between.includes('ipu0'))).toBe(true);
    expect(f.pins).toEqual([]);
    expect(f.hosts).toEqual(['node0']);
    expect(f.name).toBe('cpu-gpu-ipu without ipu0');
  });
});
