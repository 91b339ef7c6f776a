import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FleetcError } from '../../src/diagnostics/index.js';
import { loadFleet, parseFleet, parsePinFlag, route, transferTime } from '../../src/fleet/index.js';
import { refusal } from '../../targets/index.js';
import { parseQuantity } from '../../src/util/units.js';
import { REPO } from '../paths.js';

const FLEETS = join(REPO, 'fixtures/fleets');

function errorOf(text: string): string {
  try {
    parseFleet(text, 'bad.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(FleetcError);
    const line = (e as FleetcError).format();
    expect(line.split('\n')).toHaveLength(1);
    return line;
  }
  throw new Error('expected the fleet to be refused');
}

describe('fleet files', () => {
  it('load every example fleet', () => {
    const files = readdirSync(FLEETS).filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const f of files) {
      const fleet = loadFleet(join(FLEETS, f));
      expect(fleet.devices.length).toBeGreaterThan(0);
      for (const d of fleet.devices) expect(d.memory[0]!.capacity).toBeGreaterThan(0);
    }
  });

  it('resolve presets and overrides', () => {
    const fleet = loadFleet(join(FLEETS, 'cpu-gpu-ipu.yaml'));
    const ipu = fleet.devices.find((d) => d.id === 'ipu0')!;
    expect(ipu.class).toBe('ipu');
    expect(ipu.memory[0]!.capacity).toBe(64 * 2 ** 20);
    expect(ipu.memory[0]!.bandwidth).toBe(47.5e12);
    expect(ipu.memory[1]!.name).toBe('streaming-ddr');
    expect(ipu.backend).toBe('emulated');
    expect(ipu.compute.float16).toBe(250e12);
    const gpu = fleet.devices.find((d) => d.id === 'gpu0')!;
    expect(gpu.memory[0]!.capacity).toBe(16 * 2 ** 30);
    expect(fleet.devices.find((d) => d.id === 'cpu0')!.backend).toBe('cpu');
  });

  it('route through host links and networks', () => {
    const fleet = loadFleet(join(FLEETS, 'two-hosts-ethernet.yaml'));
    const r = route(fleet, 'alpha-gpu', 'beta-gpu')!;
    expect(r.hops.map((h) => h.link)).toEqual(['alpha-gpu~alpha', 'alpha~beta', 'beta-gpu~beta']);
    // 1 MB: two PCIe-4 hops (32 GB/s, 2 µs) and 25 Gbit Ethernet (3.125 GB/s, 20 µs).
    expect(transferTime(r, 1e6)).toBeCloseTo(2 * (2e-6 + 1e6 / 32e9) + 20e-6 + 1e6 / 3.125e9, 12);
    expect(route(fleet, 'alpha-cpu', 'alpha-gpu')!.hops).toHaveLength(1);
    expect(route(fleet, 'alpha-cpu', 'alpha-cpu')!.hops).toHaveLength(0);
    const direct = loadFleet(join(FLEETS, 'cpu-gpu-ipu.yaml'));
    expect(route(direct, 'gpu0', 'ipu0')!.hops.map((h) => h.link)).toEqual(['gpu0~ipu0']);
  });

  it('apply class op support and dtypes', () => {
    const fleet = loadFleet(join(FLEETS, 'cpu-gpu-ipu.yaml'));
    const [cpu, gpu, ipu] = fleet.devices as [never, never, never];
    expect(refusal(cpu, 'NonZero', ['int64'])).toBeNull();
    expect(refusal(ipu, 'NonZero', ['float32'])).toMatch(/does not run NonZero/);
    expect(refusal(ipu, 'Add', ['int64'])).toMatch(/does not compute in int64/);
    expect(refusal(gpu, 'StringNormalizer', ['string'])).toMatch(/does not run/);
    expect(refusal(gpu, 'MatMul', ['float16'])).toBeNull();
  });

  it('read quantities with units', () => {
    expect(parseQuantity('80GiB', 'bytes')).toBe(80 * 2 ** 30);
    expect(parseQuantity('3.35TB/s', 'bandwidth')).toBe(3.35e12);
    expect(parseQuantity('100Gbit/s', 'bandwidth')).toBe(12.5e9);
    expect(parseQuantity('5us', 'time')).toBeCloseTo(5e-6, 15);
    expect(parseQuantity('989TFLOPS', 'flops')).toBe(989e12);
    expect(() => parseQuantity('12 parsecs', 'time')).toThrow(/unknown unit/);
  });

  it('parse --pin flags', () => {
    const fleet = loadFleet(join(FLEETS, 'cpu-gpu-pcie.yaml'));
    expect(parsePinFlag('^Attention_.*=gpu0', fleet)).toMatchObject({
      match: '^Attention_.*',
      device: 'gpu0',
      forbid: false,
    });
    expect(() => parsePinFlag('MatMul=tpu9', fleet)).toThrow(/not in the fleet/);
    expect(() => parsePinFlag('([=gpu0', fleet)).toThrow(/not a valid regular expression/);
  });
});

describe('bad fleet files get one clear line each', () => {
  it('unknown preset, with its line', () => {
    expect(errorOf('devices:\n  - id: a\n    preset: nvidia-h1000\n')).toBe(
      "bad.yaml:3:13: error[E0301]: devices[0].preset: unknown preset 'nvidia-h1000' (known: intel-xeon-8480, nvidia-h100-sxm, nvidia-h200-sxm, nvidia-a100-sxm, nvidia-l4, graphcore-ipu-gc200, intel-gaudi2, sambanova-sn30-like)",
    );
  });
  it('a link to a missing device', () => {
    expect(
      errorOf('devices:\n  - { id: a, preset: nvidia-l4 }\nlinks:\n  - { between: [a, b], kind: nvlink4 }\n'),
    ).toMatch(
      /^bad\.yaml:4:\d+: error\[E0301\]: links\[0\]\.between\[1\]: link endpoint 'b' is neither a device nor a host/,
    );
  });
  it('a device with no memory', () => {
    expect(errorOf('devices:\n  - { id: a, class: gpu, compute: { float32: 1TFLOPS } }\n')).toMatch(
      /device 'a' has no memory/,
    );
    expect(errorOf('devices:\n  - { id: a, preset: nvidia-l4, memory: { capacity: 0 } }\n')).toMatch(
      /has no memory in level 'gddr6'/,
    );
  });
  it('schema violations name the field', () => {
    expect(errorOf('devices:\n  - { id: a, preset: nvidia-l4, colour: red }\n')).toMatch(
      /devices\[0\]: must NOT have additional properties 'colour'/,
    );
    expect(errorOf('devices:\n  - { id: a, class: tpu }\n')).toMatch(
      /devices\[0\]\.class: must be equal to one of the allowed values \(cpu, gpu/,
    );
    expect(errorOf('devices: [\n')).toMatch(/^bad\.yaml:\d+:\d+: error\[E0301\]: not valid YAML or JSON/);
  });
  it('bad units, duplicates, pins and unreachable hosts', () => {
    expect(errorOf('devices:\n  - { id: a, preset: nvidia-l4, memory: { capacity: 12 parsecs } }\n')).toMatch(
      /unknown unit 'parsecs'/,
    );
    expect(errorOf('devices:\n  - { id: a, preset: nvidia-l4 }\n  - { id: a, preset: nvidia-l4 }\n')).toMatch(
      /device id 'a' is used twice/,
    );
    expect(errorOf('devices:\n  - { id: a, preset: nvidia-l4 }\npins:\n  - { match: MatMul, device: z }\n')).toMatch(
      /pin names device 'z'/,
    );
    expect(
      errorOf('devices:\n  - { id: a, preset: nvidia-l4, host: h1 }\n  - { id: b, preset: nvidia-l4, host: h2 }\n'),
    ).toMatch(/no route between 'a' \(host h1\) and 'b' \(host h2\)/);
    expect(errorOf('devices:\n  - { id: a, preset: nvidia-l4, backend: cpu }\n')).toMatch(
      /backend 'cpu' does not run gpu-class devices \(a gpu runs 'emulated' or 'cuda'\)/,
    );
  });
  it('a missing file', () => {
    expect(() => loadFleet('/nonexistent/fleet.yaml')).toThrow(/cannot read fleet file: ENOENT/);
  });
});
