import { readFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { basename } from 'node:path';
import AjvModule from 'ajv';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { FleetcError } from '../diagnostics/index.js';
import { isDType, type DType } from '../ir/dtype.js';
import schema from './fleet.schema.json' with { type: 'json' };
import { DEVICE_PRESETS, OP_FAMILIES, TARGETS } from '../../targets/index.js';
import { LINK_PRESETS } from './links.js';
import {
  DEVICE_CLASSES,
  type Device,
  type DeviceClass,
  type Fleet,
  type Link,
  type MemoryLevel,
  type Pin,
} from './types.js';
import { parseQuantity, UnitError, type Quantity } from '../util/units.js';
import { unreachablePairs } from './route.js';
import { detectCudaGpus, type LocalGpu } from '../../targets/gpu/detect.js';
import { localGpus } from '../../targets/gpu/local.js';

const Ajv = AjvModule.default ?? AjvModule;
const validate = new Ajv({ allErrors: false, strict: false }).compile(schema);

type Path = (string | number)[];

/** Reads a fleet file (YAML or JSON), validates it and resolves presets into a Fleet. */
export function loadFleet(file: string): Fleet {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FleetcError(
      'E0301',
      `cannot read fleet file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { file },
    );
  }
  return parseFleet(text, file);
}

export function parseFleet(text: string, file: string): Fleet {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const fail = (path: Path, message: string): never => {
    throw new FleetcError('E0301', `${pathText(path)}${message}`, locate(doc, lines, path, file));
  };
  if (doc.errors.length) {
    const err = doc.errors[0]!;
    const pos = lines.linePos(err.pos[0]);
    throw new FleetcError('E0301', `not valid YAML or JSON: ${err.message.split('\n')[0]}`, {
      file,
      line: pos.line,
      col: pos.col,
    });
  }
  const raw = doc.toJS() as Record<string, unknown> | null;
  if (!validate(raw)) {
    const err = validate.errors![0]!;
    const path = err.instancePath
      .split('/')
      .slice(1)
      .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    const extra = err.params && 'additionalProperty' in err.params ? ` '${String(err.params.additionalProperty)}'` : '';
    const allowed =
      err.params && 'allowedValues' in err.params ? ` (${(err.params.allowedValues as string[]).join(', ')})` : '';
    fail(path, `${err.message ?? 'is invalid'}${extra}${allowed}`);
  }
  return resolveFleet(raw as unknown as RawFleet, file, fail);
}

interface RawDevice {
  id: string;
  preset?: string;
  class?: DeviceClass;
  host?: string;
  memory?: RawMemory | RawMemory[];
  compute?: Record<string, unknown>;
  launchOverhead?: unknown;
  messageOverhead?: unknown;
  ops?: { allow?: string[]; deny?: string[] };
  dtypes?: string[];
  backend?: 'cpu' | 'emulated' | 'cuda';
  cudaDevice?: number;
  threads?: number;
  hostLink?: { kind?: string; bandwidth?: unknown; latency?: unknown };
}
interface RawMemory {
  name?: string;
  capacity: unknown;
  bandwidth?: unknown;
}
interface RawFleet {
  name?: string;
  hosts?: string[];
  devices: RawDevice[];
  links?: { id?: string; between: [string, string]; kind?: string; bandwidth?: unknown; latency?: unknown }[];
  pins?: { match: string; device: string }[];
  forbid?: { match: string; device: string }[];
}

function resolveFleet(raw: RawFleet, file: string, fail: (path: Path, message: string) => never): Fleet {
  const qty = (v: unknown, kind: Quantity, path: Path): number => {
    try {
      return parseQuantity(v, kind);
    } catch (e) {
      if (e instanceof UnitError) fail(path, e.message);
      throw e;
    }
  };
  const devices: Device[] = [];
  const ids = new Set<string>();
  raw.devices.forEach((d, i) => {
    const at = ['devices', i];
    if (ids.has(d.id)) fail([...at, 'id'], `device id '${d.id}' is used twice`);
    ids.add(d.id);
    const preset = d.preset === undefined ? undefined : DEVICE_PRESETS[d.preset];
    if (d.preset !== undefined && !preset)
      fail([...at, 'preset'], `unknown preset '${d.preset}' (known: ${Object.keys(DEVICE_PRESETS).join(', ')})`);
    const cls = d.class ?? preset?.class;
    if (!cls) fail(at, `device '${d.id}' needs a class or a preset`);
    if (preset && d.class && d.class !== preset.class)
      fail([...at, 'class'], `class '${d.class}' contradicts preset '${d.preset}' (a ${preset.class})`);
    const target = TARGETS[cls!];
    const defaults = target.defaults;
    const backend = d.backend ?? target.backends[0]!;
    if (!target.backends.includes(backend))
      fail(
        [...at, 'backend'],
        `backend '${backend}' does not run ${cls}-class devices (a ${cls} runs ${target.backends.map((b) => `'${b}'`).join(' or ')})`,
      );
    // A device that runs for real here (a cpu with backend cpu) is described by this machine where
    // its fleet file says nothing: it may leave out compute and memory.
    const local = !!target.describeLocal && backend !== 'emulated';
    const memory = resolveMemory(d, preset?.memory, at, qty, fail, local);
    const compute: Partial<Record<DType, number>> = { ...(preset?.compute ?? {}) };
    for (const [dt, v] of Object.entries(d.compute ?? {})) {
      if (!isDType(dt)) fail([...at, 'compute', dt], `unknown element type '${dt}'`);
      compute[dt as DType] = qty(v, 'flops', [...at, 'compute', dt]);
    }
    if (Object.keys(compute).length === 0 && !local)
      fail(at, `device '${d.id}' declares no peak compute (compute: { float32: … })`);
    const dtypes = (d.dtypes ?? defaults.dtypes) as DType[];
    dtypes.forEach((dt, j) => {
      if (!isDType(dt)) fail([...at, 'dtypes', j], `unknown element type '${dt}'`);
    });
    for (const key of ['allow', 'deny'] as const)
      (d.ops?.[key] ?? []).forEach((op, j) => {
        if (op.startsWith('@') && !OP_FAMILIES[op.slice(1)])
          fail(
            [...at, 'ops', key, j],
            `unknown op family '${op}' (known: ${Object.keys(OP_FAMILIES)
              .map((f) => '@' + f)
              .join(', ')})`,
          );
      });
    if (d.cudaDevice !== undefined && backend !== 'cuda')
      fail([...at, 'cudaDevice'], `cudaDevice needs backend: cuda (this device's backend is '${backend}')`);
    const hostLinkPreset = d.hostLink?.kind ? LINK_PRESETS[d.hostLink.kind] : undefined;
    if (d.hostLink?.kind && !hostLinkPreset && (d.hostLink.bandwidth === undefined || d.hostLink.latency === undefined))
      fail(
        [...at, 'hostLink', 'kind'],
        `unknown link kind '${d.hostLink.kind}' (known: ${Object.keys(LINK_PRESETS).join(', ')}); or give bandwidth and latency`,
      );
    const baseLink = preset?.hostLink ?? defaults.hostLink;
    const hostLink = !baseLink
      ? undefined
      : {
          kind: d.hostLink?.kind ?? baseLink.kind,
          bandwidth:
            d.hostLink?.bandwidth !== undefined
              ? qty(d.hostLink.bandwidth, 'bandwidth', [...at, 'hostLink', 'bandwidth'])
              : (hostLinkPreset?.bandwidth ?? baseLink.bandwidth),
          latency:
            d.hostLink?.latency !== undefined
              ? qty(d.hostLink.latency, 'time', [...at, 'hostLink', 'latency'])
              : (hostLinkPreset?.latency ?? baseLink.latency),
        };
    const device: Device = {
      id: d.id,
      class: cls!,
      host: d.host ?? 'host0',
      ...(d.preset ? { preset: d.preset } : {}),
      memory,
      compute,
      launchOverhead:
        d.launchOverhead !== undefined
          ? qty(d.launchOverhead, 'time', [...at, 'launchOverhead'])
          : (preset?.launchOverhead ?? defaults.launchOverhead),
      messageOverhead:
        d.messageOverhead !== undefined
          ? qty(d.messageOverhead, 'time', [...at, 'messageOverhead'])
          : defaults.messageOverhead,
      ops: {
        ...((d.ops?.allow ?? defaults.allow) ? { allow: d.ops?.allow ?? defaults.allow } : {}),
        deny: [...defaults.deny, ...(d.ops?.deny ?? [])],
      },
      dtypes,
      backend,
      ...(backend === 'cuda' ? { cudaDevice: d.cudaDevice ?? 0 } : {}),
      threads: d.threads ?? Math.max(1, cpus().length),
      ...(hostLink ? { hostLink } : {}),
    };
    if (!local) {
      devices.push(device);
      return;
    }
    // A preset names the device the fleet means to model: its datasheet figures are priced. But
    // a device that runs here holds no more than this machine's memory, whatever a preset says.
    const level0 = d.memory === undefined ? undefined : Array.isArray(d.memory) ? d.memory[0] : d.memory;
    const described = target.describeLocal!(device, {
      compute: Object.keys(d.compute ?? {}).length === 0 && !preset,
      bandwidth: level0?.bandwidth === undefined && !preset?.memory[0]?.bandwidth,
      capacity: level0 === undefined,
      launchOverhead: d.launchOverhead === undefined && preset?.launchOverhead === undefined,
      messageOverhead: d.messageOverhead === undefined,
    });
    devices.push({ ...device, ...described });
  });

  const gpus = new Map<string, string>();
  devices.forEach((d, i) => {
    if (d.backend !== 'cuda') return;
    const key = `${d.host}#${d.cudaDevice}`;
    const other = gpus.get(key);
    if (other)
      fail(
        ['devices', i, 'cudaDevice'],
        `'${d.id}' and '${other}' are both cudaDevice ${d.cudaDevice} of host ${d.host}`,
      );
    gpus.set(key, d.id);
  });
  const hosts = [...new Set([...(raw.hosts ?? []), ...devices.map((d) => d.host)])];
  const endpoints = new Set<string>([...ids, ...hosts]);
  const links: Link[] = (raw.links ?? []).map((l, i) => {
    const at = ['links', i];
    l.between.forEach((end, j) => {
      if (!endpoints.has(end))
        fail([...at, 'between', j], `link endpoint '${end}' is neither a device nor a host of this fleet`);
    });
    if (l.between[0] === l.between[1]) fail([...at, 'between'], `a link joins '${l.between[0]}' to itself`);
    const kind = l.kind ? LINK_PRESETS[l.kind] : undefined;
    if (!kind && (l.bandwidth === undefined || l.latency === undefined))
      fail(
        at,
        l.kind
          ? `unknown link kind '${l.kind}' (known: ${Object.keys(LINK_PRESETS).join(', ')}); or give bandwidth and latency`
          : 'a link needs a kind or both bandwidth and latency',
      );
    const bandwidth = l.bandwidth !== undefined ? qty(l.bandwidth, 'bandwidth', [...at, 'bandwidth']) : kind!.bandwidth;
    if (bandwidth <= 0) fail([...at, 'bandwidth'], 'a link needs a positive bandwidth');
    return {
      id: l.id ?? `${l.between[0]}~${l.between[1]}`,
      between: l.between,
      bandwidth,
      latency: l.latency !== undefined ? qty(l.latency, 'time', [...at, 'latency']) : kind!.latency,
      kind: l.kind ?? 'custom',
    };
  });

  const pins: Pin[] = [];
  for (const [key, forbid] of [
    ['pins', false],
    ['forbid', true],
  ] as const) {
    (raw[key] ?? []).forEach((p, i) => {
      if (!ids.has(p.device))
        fail(
          [key, i, 'device'],
          `${key === 'pins' ? 'pin' : 'forbid'} names device '${p.device}', which is not in the fleet`,
        );
      try {
        new RegExp(p.match);
      } catch {
        fail([key, i, 'match'], `'${p.match}' is not a valid regular expression`);
      }
      pins.push({ match: p.match, device: p.device, forbid, origin: `${basename(file)}:${key}[${i}]` });
    });
  }
  const fleet: Fleet = {
    name: raw.name ?? basename(file).replace(/\.(ya?ml|json)$/, ''),
    file,
    hosts,
    devices,
    links,
    pins,
  };
  const cut = unreachablePairs(fleet)[0];
  if (cut)
    fail(
      ['links'],
      `no route between '${cut[0].id}' (host ${cut[0].host}) and '${cut[1].id}' (host ${cut[1].host}); add a link between their hosts`,
    );
  return fleet;
}

function resolveMemory(
  d: RawDevice,
  presetMemory: MemoryLevel[] | undefined,
  at: Path,
  qty: (v: unknown, kind: Quantity, path: Path) => number,
  fail: (path: Path, message: string) => never,
  described: boolean,
): MemoryLevel[] {
  const base = presetMemory?.map((m) => ({ ...m })) ?? [];
  const given = d.memory === undefined ? [] : Array.isArray(d.memory) ? d.memory : [d.memory];
  given.forEach((m, i) => {
    const path = Array.isArray(d.memory) ? [...at, 'memory', i] : [...at, 'memory'];
    const level = base[i] ?? { name: m.name ?? `level${i}`, capacity: 0, bandwidth: 0 };
    level.name = m.name ?? level.name;
    level.capacity = qty(m.capacity, 'bytes', [...path, 'capacity']);
    if (m.bandwidth !== undefined) level.bandwidth = qty(m.bandwidth, 'bandwidth', [...path, 'bandwidth']);
    if (level.bandwidth <= 0 && !(described && i === 0))
      fail([...path, 'bandwidth'], `memory level '${level.name}' of '${d.id}' needs a bandwidth`);
    base[i] = level;
  });
  // this machine fills in the level a device that runs here leaves open (its capacity and bandwidth)
  if (base.length === 0 && described) return [{ name: 'dram', capacity: 0, bandwidth: 0 }];
  if (base.length === 0) fail(at, `device '${d.id}' has no memory (give memory: { capacity, bandwidth } or a preset)`);
  base.forEach((m, i) => {
    if (m.capacity <= 0)
      fail([...at, 'memory', i, 'capacity'], `device '${d.id}' has no memory in level '${m.name}' (capacity 0)`);
  });
  return base;
}

function pathText(path: Path): string {
  if (path.length === 0) return '';
  return `${path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('')}: `;
}

function locate(
  doc: Document,
  lines: LineCounter,
  path: Path,
  file: string,
): { file: string; line?: number; col?: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) {
      const pos = lines.linePos(node.range[0]);
      return { file, line: pos.line, col: pos.col };
    }
  }
  return { file };
}

/**
 * The built-in fleet (`--fleet local`, and the default): this machine's CPU as one cpu device (its
 * measured host profile, targets/cpu/host.ts), and each CUDA GPU it has (nvidia-smi) as a
 * `backend: cuda` device.
 */
export function localFleet(gpus: readonly LocalGpu[] = detectCudaGpus()): Fleet {
  const host = hostname() || 'localhost';
  const cpu = TARGETS.cpu.reference();
  return {
    name: 'local',
    file: '',
    hosts: [host],
    devices: [
      { ...cpu, id: 'cpu0', host },
      ...localGpus(TARGETS.gpu.defaults, gpus, cpu.threads).map((g) => ({ ...g, host })),
    ],
    links: [],
    pins: [],
  };
}

export { DEVICE_CLASSES };
