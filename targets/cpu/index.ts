// The cpu class: host processors. A cpu device with `backend: cpu` runs for real here, so what
// its fleet file and preset leave open is this machine's measured figures (host.ts): compute,
// bandwidth, overheads; and its capacity is the host's memory unless the fleet file states one.
import { cpus } from 'node:os';
import type { DescribedByHost, DeviceSpec } from '../device.js';
import { emitProgram } from '../fleetrt/emit.js';
import type { Target, Unstated } from '../target.js';
import { atThreads, hostProfile, hostProvenance } from './host.js';
import { CPU_PRESETS } from './presets.js';

const DTYPES: DeviceSpec['dtypes'] = [
  'float32',
  'float64',
  'float16',
  'bfloat16',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'bool',
  'string',
];

/** Peak compute of `threads` threads of this host from its float32 GEMM figure (float64 at half, the rest alike). */
function hostCompute(threads: number): DeviceSpec['compute'] {
  const p = hostProfile();
  const t = Math.min(threads, p.host.cores);
  const f32 = atThreads(
    p.gemm.map((g) => ({ threads: g.threads, value: g.flops })),
    t,
  );
  return { float32: f32, float64: f32 / 2, float16: f32, int8: f32 * 2 };
}

function hostBandwidth(threads: number): number {
  const p = hostProfile();
  return atThreads(
    p.bandwidth.map((b) => ({ threads: b.threads, value: b.bytesPerSecond })),
    Math.min(threads, p.host.cores),
  );
}

/** Which of a device's figures this host gave, with the profile's provenance and kernels. */
function describedByHost(figures: string[]): DescribedByHost {
  const p = hostProfile();
  return { figures, measured: p.measured, provenance: hostProvenance(), ...(p.simd ? { simd: p.simd } : {}) };
}

export const cpuTarget: Target = {
  class: 'cpu',
  title: 'host CPU',
  defaults: {
    dtypes: DTYPES,
    deny: [],
    get launchOverhead() {
      return hostProfile().dispatch;
    },
    get messageOverhead() {
      return hostProfile().message;
    },
  },
  // Two FMA units × 8 float32 lanes per thread.
  lanes: (threads) => 16 * Math.max(1, threads),
  presets: CPU_PRESETS,
  backends: ['cpu', 'emulated'],
  reference(threads = Math.max(1, cpus().length)) {
    const p = hostProfile();
    return {
      id: 'cpu',
      class: 'cpu',
      memory: [{ name: 'dram', capacity: p.host.memory, bandwidth: hostBandwidth(threads) }],
      compute: hostCompute(threads),
      launchOverhead: p.dispatch,
      messageOverhead: p.message,
      ops: { deny: [] },
      dtypes: [...DTYPES],
      backend: 'cpu',
      threads,
      described: describedByHost(['compute', 'bandwidth', 'capacity', 'launchOverhead', 'messageOverhead']),
    };
  },
  describeLocal(d: DeviceSpec, unstated: Unstated): DeviceSpec {
    const p = hostProfile();
    const mem = d.memory[0] ?? { name: 'dram', capacity: 0, bandwidth: 0 };
    const level0 = {
      ...mem,
      bandwidth: unstated.bandwidth ? hostBandwidth(d.threads) : mem.bandwidth,
      // What the fleet file does not say is the host's memory (not a preset's datasheet figure).
      capacity: unstated.capacity ? p.host.memory : mem.capacity,
    };
    const figures = (Object.keys(unstated) as (keyof Unstated)[]).filter((k) => unstated[k]);
    return {
      ...d,
      memory: [level0, ...d.memory.slice(1)],
      compute: unstated.compute ? hostCompute(d.threads) : d.compute,
      launchOverhead: unstated.launchOverhead ? p.dispatch : d.launchOverhead,
      messageOverhead: unstated.messageOverhead ? p.message : d.messageOverhead,
      ...(figures.length ? { described: describedByHost(figures) } : {}),
    };
  },
  emit: emitProgram,
};
