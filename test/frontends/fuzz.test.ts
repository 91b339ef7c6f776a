import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inspect } from '../../src/api/inspect.js';
import { FleetcError } from '../../src/diagnostics/index.js';
import { REPO, SHARED } from '../paths.js';
import { onnx, tempDir } from './onnx/helpers.js';
// mulberry32, seeded: every run mutates the same way.
import { rng } from '../partition/synthetic.js';

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x08, 0x10, 0x12, 0x1a, 0x22, 0x3a, 0x42];

/** One byte-level mutation: bit flips, interesting bytes, truncation, chunk deletion/duplication, insertion. */
export function mutate(src: Uint8Array, r: () => number): Uint8Array {
  const pick = (n: number): number => Math.floor(r() * n);
  const b = new Uint8Array(src); // a copy: Buffer's slice() is a view
  switch (pick(7)) {
    case 0: {
      const flips = 1 + pick(8);
      for (let i = 0; i < flips; i++) b[pick(b.length)]! ^= 1 << pick(8);
      return b;
    }
    case 1: {
      const n = 1 + pick(4);
      for (let i = 0; i < n; i++) b[pick(b.length)] = INTERESTING[pick(INTERESTING.length)]!;
      return b;
    }
    case 2:
      return b.slice(0, pick(b.length));
    case 3: {
      const at = pick(b.length);
      const len = 1 + pick(Math.min(64, b.length - at));
      return new Uint8Array([...b.subarray(0, at), ...b.subarray(at + len)]);
    }
    case 4: {
      const at = pick(b.length);
      const len = 1 + pick(Math.min(64, b.length - at));
      const chunk = b.subarray(at, at + len);
      const to = pick(b.length);
      return new Uint8Array([...b.subarray(0, to), ...chunk, ...b.subarray(to)]);
    }
    case 5: {
      const at = pick(b.length);
      const junk = Array.from({ length: 1 + pick(16) }, () => pick(256));
      return new Uint8Array([...b.subarray(0, at), ...junk, ...b.subarray(at)]);
    }
    default: {
      // A varint made huge: 0xff continuation bytes then a terminator.
      const at = pick(b.length);
      const n = 1 + pick(9);
      for (let i = 0; i < n && at + i < b.length; i++) b[at + i] = i === n - 1 ? 0x01 : 0xff;
      return b;
    }
  }
}

const SOURCES = [
  join(REPO, 'fixtures/models/cnn_small/model.onnx'),
  join(REPO, 'fixtures/models/loop_if/model.onnx'),
  join(REPO, 'fixtures/models/masked_ops/model.onnx'),
  join(REPO, 'fixtures/models/audio_conv1d/model.onnx'),
  join(REPO, 'fixtures/models/moe_topk/model.onnx'),
  join(SHARED, 'conformance/onnx-node/test_affine_grid_2d_expanded/model.onnx'),
  join(SHARED, 'conformance/onnx-node/test_loop13_seq/model.onnx'),
  join(SHARED, 'conformance/onnx-node/test_if_opt/model.onnx'),
  join(SHARED, 'conformance/onnx-node/test_sequence_map_identity_2_sequences_expanded/model.onnx'),
  join(SHARED, 'conformance/onnx-node/test_layer_normalization_4d_axis0_expanded/model.onnx'),
  join(SHARED, 'models/onnx/opt-mnist_cntk.onnx'),
].filter((p) => existsSync(p));

Error.stackTraceLimit = 40;
/** Fixed by default (reproducible); FLEETC_FUZZ_SEED explores other mutations. */
const SEED = Number(process.env.FLEETC_FUZZ_SEED ?? 0);
const N = 2000;
const tmp = tempDir();
afterAll(tmp.cleanup);

describe('fuzz: byte-level mutations of real models', () => {
  it(`${N} mutations: no crash, no hang, every failure one FleetcError line naming the file`, async () => {
    expect(SOURCES.length).toBeGreaterThanOrEqual(8);
    const models = SOURCES.map((p) => new Uint8Array(readFileSync(p)));
    const r = rng(SEED ^ 0xf1ee7c);
    const file = join(tmp.dir, 'fuzz.onnx');
    const crashes: string[] = [];
    const badLines: string[] = [];
    const codes = new Map<string, number>();
    const samples: string[] = [];
    let ok = 0;
    let slowest = 0;
    for (let i = 0; i < N; i++) {
      const src = models[i % models.length]!;
      const bytes = mutate(src, r);
      writeFileSync(file, bytes);
      const t0 = performance.now();
      try {
        await inspect(file, { ops: true });
        ok++;
      } catch (e) {
        if (!(e instanceof FleetcError)) {
          crashes.push(
            `#${i} (${SOURCES[i % models.length]}): ${(e as Error).stack?.split('\n').slice(0, 4).join(' | ')}`,
          );
          writeFileSync(join(tmp.dir, `crash-${i}.onnx`), bytes);
        } else {
          const line = e.format();
          codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
          if (samples.length < 8 && !samples.some((x) => x.slice(0, 40) === e.message.slice(0, 40)))
            samples.push(e.message);
          if (line.includes('\n') || !line.startsWith(file)) badLines.push(`#${i}: ${line}`);
        }
      }
      slowest = Math.max(slowest, performance.now() - t0);
    }
    console.log(
      `fuzz: ${N} mutations of ${models.length} models: ${ok} still inspect, ` +
        `${N - ok - crashes.length} refused (${[...codes]
          .sort()
          .map(([c, n]) => `${c} ×${n}`)
          .join(', ')}), ` +
        `${crashes.length} crashes; slowest ${slowest.toFixed(0)} ms`,
    );
    console.log(`sample refusals:\n  ${samples.join('\n  ')}`);
    expect(crashes).toEqual([]);
    expect(badLines).toEqual([]);
    expect(slowest).toBeLessThan(5000);
  });
});

/**
 * Structure-aware mutations: decode, change one field the shape functions and cost formulas read
 * (an int attribute, a dim, an element type, an input name, an op type), encode. These survive
 * the protobuf decoder and reach inference and the analyses.
 */
function mutateModel(src: Uint8Array, r: () => number): Uint8Array {
  const pick = (n: number): number => Math.floor(r() * n);
  const m = onnx.ModelProto.decode(src);
  const g = m.graph!;
  const nodes = g.node ?? [];
  const n = nodes[pick(nodes.length)];
  const ints = [0, 1, -1, 2, 3, -2, 7, 1 << 20, 2 ** 40, -(2 ** 31)];
  switch (pick(6)) {
    case 0: {
      const a = n?.attribute?.[pick(n.attribute.length)];
      if (a) {
        a.i = ints[pick(ints.length)]!;
        if (a.ints?.length) a.ints[pick(a.ints.length)] = ints[pick(ints.length)]!;
      }
      break;
    }
    case 1: {
      const vis = [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])];
      const dims = vis[pick(vis.length)]?.type?.tensorType?.shape?.dim;
      if (dims?.length) dims[pick(dims.length)] = { dimValue: ints[pick(ints.length)]! };
      break;
    }
    case 2: {
      const vis = [...(g.input ?? []), ...(g.output ?? [])];
      const t = vis[pick(vis.length)]?.type?.tensorType;
      if (t) t.elemType = pick(28);
      break;
    }
    case 3:
      if (n?.input?.length) n.input[pick(n.input.length)] = nodes[pick(nodes.length)]?.output?.[0] ?? '';
      break;
    case 4:
      if (n) n.opType = nodes[pick(nodes.length)]?.opType ?? 'Identity';
      break;
    default: {
      const t = g.initializer?.[pick(g.initializer.length)];
      if (t?.dims?.length) t.dims[pick(t.dims.length)] = ints[pick(ints.length)]!;
      break;
    }
  }
  return onnx.ModelProto.encode(m).finish();
}

describe('fuzz: structure-aware mutations', () => {
  it('1,000 field mutations: no crash, every failure one FleetcError line', async () => {
    const models = SOURCES.map((p) => new Uint8Array(readFileSync(p)));
    const r = rng(SEED ^ 0x5eed);
    const file = join(tmp.dir, 'fuzz-struct.onnx');
    const crashes: string[] = [];
    let ok = 0;
    let slowest = 0;
    for (let i = 0; i < 1000; i++) {
      const bytes = mutateModel(models[i % models.length]!, r);
      writeFileSync(file, bytes);
      const t0 = performance.now();
      try {
        await inspect(file, { ops: true, dims: { batch: 3 } });
        ok++;
      } catch (e) {
        if (!(e instanceof FleetcError)) {
          crashes.push(
            `#${i} (${SOURCES[i % models.length]}): ${(e as Error).stack?.split('\n').slice(0, 4).join(' | ')}`,
          );
          writeFileSync(join(tmpdir(), `fleetc-crash-struct-${i}.onnx`), bytes);
        } else expect(e.format()).not.toContain('\n');
      }
      slowest = Math.max(slowest, performance.now() - t0);
    }
    console.log(
      `structure fuzz: 1000 mutations: ${ok} inspect, ${1000 - ok - crashes.length} refused, ${crashes.length} crashes; slowest ${slowest.toFixed(0)} ms`,
    );
    expect(crashes).toEqual([]);
    expect(slowest).toBeLessThan(5000);
  });
});
