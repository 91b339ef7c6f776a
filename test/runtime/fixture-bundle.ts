/**
 * Hand-built plans and bundles for runtime tests: tiny programs (Add, Relu, MatMul …) encoded in
 * the program.bin layout that native/src/core/program.cpp reads (docs/bundle-format.md), so the
 * runtime is tested on its own, independently of the compiler's emitter.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ByteWriter, tag } from '../../targets/fleetrt/binary.js';
import { decodeNpy, writeNpy as writeNpyFile } from '../../src/util/npy.js';

export type Storage = 'arena' | 'weight' | 'input' | 'output' | 'dynamic' | 'channel';
const STORAGE: Record<Storage, number> = { arena: 1, weight: 2, input: 3, output: 4, dynamic: 5, channel: 7 };
const DTYPE_BYTES: Record<number, number> = { 1: 4, 6: 4, 7: 8, 11: 8 };

export interface FxTensor {
  name: string;
  dtype: number; // ONNX code: 1 float32, 7 int64 …
  storage: Storage;
  shape: (number | string)[];
  /** weights: float32 values */
  data?: number[];
}
export interface FxOp {
  name: string;
  type: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, number>;
}
export interface FxProgram {
  tensors: FxTensor[];
  inputs: string[];
  outputs: string[];
  ops: FxOp[];
  /** direction: 0 send, 1 recv; channel: index in plan.json "channels" */
  channels?: { tensor: string; channel: number; direction: 0 | 1 }[];
}
export interface FxDevice {
  name: string;
  program: FxProgram;
  class?: string;
  backend?: string;
  extra?: Record<string, unknown>;
}
export interface FxPlan {
  devices: FxDevice[];
  inputs: { name: string; dtype: string; device: string }[];
  outputs: { name: string; dtype: string; device: string }[];
  channels?: { value: string; from: string; to: string; bytes: number; links?: string[] }[];
  schemaVersion?: number;
  extra?: Record<string, unknown>;
}

/** Encodes one program (plus its weights) as program.bin bytes. */
export function encodeProgram(p: FxProgram): { program: Uint8Array; weights: Uint8Array } {
  const strings: string[] = [];
  const sid = (s: string): number => {
    let i = strings.indexOf(s);
    if (i < 0) i = strings.push(s) - 1;
    return i;
  };
  const symbols: string[] = [];
  const exprs: { op: number; arg: number }[][] = [];
  const eid = (d: number | string): number => {
    let code: { op: number; arg: number };
    if (typeof d === 'number') code = { op: 1, arg: d };
    else {
      let s = symbols.indexOf(d);
      if (s < 0) s = symbols.push(d) - 1;
      code = { op: 2, arg: s };
    }
    const i = exprs.findIndex((e) => e[0]!.op === code.op && e[0]!.arg === code.arg);
    return i >= 0 ? i : exprs.push([code]) - 1;
  };
  const index = new Map(p.tensors.map((t, i) => [t.name, i]));
  const tid = (n: string): number => {
    const i = index.get(n);
    if (i === undefined) throw new Error(`fixture: no tensor '${n}'`);
    return i;
  };
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  p.ops.forEach((op, k) => {
    for (const o of op.outputs) first.set(o, k);
    for (const i of op.inputs) last.set(i, k);
  });

  const weights: number[] = [];
  let arena = 0;
  const placed = p.tensors.map((t) => {
    const n = t.shape.every((d) => typeof d === 'number') ? (t.shape as number[]).reduce((a, b) => a * b, 1) : -1;
    const bytes = n >= 0 ? n * (DTYPE_BYTES[t.dtype] ?? 4) : 0;
    if (t.storage === 'weight') {
      const off = weights.length;
      const f = new Float32Array(t.data ?? []);
      weights.push(...new Uint8Array(f.buffer));
      return { a: off, b: f.byteLength };
    }
    if (t.storage === 'arena') {
      const off = arena;
      arena += Math.ceil(bytes / 64) * 64;
      return { a: off, b: Math.ceil(bytes / 64) * 64 };
    }
    if (t.storage === 'input') return { a: p.inputs.indexOf(t.name), b: 0 };
    if (t.storage === 'output') return { a: p.outputs.indexOf(t.name), b: 0 };
    if (t.storage === 'channel') return { a: (p.channels ?? []).findIndex((c) => c.tensor === t.name), b: 0 };
    return { a: 0, b: 0 };
  });
  for (const t of p.tensors) t.shape.forEach(eid);

  const prog = new ByteWriter();
  prog.u32(sid('main')).u32(0).u64(arena).u32(p.tensors.length);
  p.tensors.forEach((t, i) => {
    prog.u32(sid(t.name)).i32(t.dtype).u8(0).u8(STORAGE[t.storage]).u16(0).i32(t.shape.length);
    for (const d of t.shape) prog.u32(eid(d));
    prog
      .u64(placed[i]!.a)
      .u64(placed[i]!.b)
      .i32(first.get(t.name) ?? -1)
      .i32(last.get(t.name) ?? -1);
  });
  prog.u32(p.inputs.length);
  for (const n of p.inputs) prog.u32(tid(n));
  prog.u32(p.outputs.length);
  for (const n of p.outputs) prog.u32(tid(n));
  prog.u32(p.ops.length);
  for (const op of p.ops) {
    prog.u32(sid(op.name)).u32(sid('')).u32(sid(op.type)).u32(17);
    prog.u32(op.inputs.length);
    for (const n of op.inputs) prog.i32(tid(n));
    prog.u32(op.outputs.length);
    for (const n of op.outputs) prog.i32(tid(n));
    const attrs = Object.entries(op.attrs ?? {});
    prog.u32(attrs.length);
    for (const [k, v] of attrs) prog.u32(sid(k)).u8(0).i64(v);
  }
  const ch = p.channels ?? [];
  prog.u32(ch.length);
  for (const c of ch) prog.u32(tid(c.tensor)).u32(c.channel).u8(c.direction).u8(0).u16(0);

  const syms = new ByteWriter().u32(symbols.length);
  for (const s of symbols) syms.u32(sid(s)).u8(0).u8(0).u16(0).i64(-1);
  const expr = new ByteWriter().u32(exprs.length);
  for (const e of exprs) {
    expr.u16(e.length);
    for (const c of e) {
      expr.u8(c.op);
      if (c.op === 1) expr.i64(c.arg);
      else expr.u32(c.arg);
    }
  }
  // STRS last: the sections above add strings.
  const strs = new ByteWriter().u32(strings.length);
  for (const s of strings) {
    const b = Buffer.from(s, 'utf8');
    strs.u32(b.length).bytes(b);
  }
  const sections: [string, Uint8Array][] = [
    ['STRS', strs.result()],
    ['SYMS', syms.result()],
    ['EXPR', expr.result()],
    ['PROG', new ByteWriter().u32(1).bytes(prog.result()).result()],
  ];
  const out = new ByteWriter();
  out.bytes(new TextEncoder().encode('FLTPROG\0')).u32(1).u32(sections.length);
  const sizeAt = out.length;
  out.u64(0);
  let off = 24 + 24 * sections.length;
  for (const [t, b] of sections) {
    out.u32(tag(t)).u32(0).u64(off).u64(b.length);
    off += b.length;
  }
  for (const [, b] of sections) out.bytes(b);
  out.patchU64(sizeAt, out.length);
  return { program: out.result(), weights: new Uint8Array(weights) };
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Writes DIR/plan.json and DIR/bundles/<device>/{program.bin,weights.bin}; returns the plan path. */
export function writeFixturePlan(dir: string, plan: FxPlan): string {
  const devices = plan.devices.map((d) => {
    const { program, weights } = encodeProgram(d.program);
    const bdir = join(dir, 'bundles', d.name);
    mkdirSync(bdir, { recursive: true });
    writeFileSync(join(bdir, 'program.bin'), program);
    writeFileSync(join(bdir, 'weights.bin'), weights);
    return {
      name: d.name,
      class: d.class ?? 'cpu',
      backend: d.backend ?? 'cpu',
      threads: 1,
      bundle: {
        dir: `bundles/${d.name}`,
        files: [
          { path: 'program.bin', sha256: sha(program), bytes: program.length },
          { path: 'weights.bin', sha256: sha(weights), bytes: weights.length },
        ],
      },
      ...d.extra,
    };
  });
  const json = {
    schemaVersion: plan.schemaVersion ?? 1,
    devices,
    inputs: plan.inputs,
    outputs: plan.outputs,
    channels: plan.channels ?? [],
    ...plan.extra,
  };
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'plan.json');
  writeFileSync(path, JSON.stringify(json, null, 2) + '\n');
  return path;
}

/** y = relu(x + w) with x float32[n, 4] (n symbolic) and w a float32[4] weight; one device. */
export function reluAddPlan(dir: string): string {
  return writeFixturePlan(dir, {
    devices: [
      {
        name: 'cpu0',
        program: {
          tensors: [
            { name: 'x', dtype: 1, storage: 'input', shape: ['n', 4] },
            { name: 'w', dtype: 1, storage: 'weight', shape: [4], data: [1, -2, 3, -4] },
            { name: 's', dtype: 1, storage: 'dynamic', shape: ['n', 4] },
            { name: 'y', dtype: 1, storage: 'output', shape: ['n', 4] },
          ],
          inputs: ['x'],
          outputs: ['y'],
          ops: [
            { name: 'add', type: 'Add', inputs: ['x', 'w'], outputs: ['s'] },
            { name: 'relu', type: 'Relu', inputs: ['s'], outputs: ['y'] },
          ],
        },
      },
    ],
    inputs: [{ name: 'x', dtype: 'float32', device: 'cpu0' }],
    outputs: [{ name: 'y', dtype: 'float32', device: 'cpu0' }],
  });
}

/** Writes a float32 (or, with '<i8', int64) .npy file. */
export function writeNpy(path: string, shape: number[], values: number[], descr: '<f4' | '<i8' = '<f4'): void {
  writeNpyFile(path, descr, shape, values);
}

/**
 * A fresh temp folder (name from `prefix`) with the plan `makePlan` writes into DIR/build and
 * the float32[2, 4] input DIR/x.npy the runtime tests feed it.
 */
export function planWithInput(
  prefix: string,
  makePlan: (buildDir: string) => string,
): { dir: string; plan: string; x: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const plan = makePlan(join(dir, 'build'));
  const x = join(dir, 'x.npy');
  writeNpy(x, [2, 4], [1, 1, 1, 1, -5, 5, -5, 5]);
  return { dir, plan, x };
}

/** Reads a little-endian float32 .npy file's shape and values. */
export function readNpyF32(buf: Buffer): { shape: number[]; values: number[] } {
  const a = decodeNpy(buf);
  return { shape: a.shape, values: Array.from(a.data) };
}

/**
 * Two devices: cpu0 (home) computes s = x + w and sends s to gpu0 (emulated), which sends back
 * y = relu(s); meanwhile cpu0 computes z = -x. Outputs y and z on cpu0. Channels 0 (s) and 1 (y).
 */
export function twoDevicePlan(dir: string, opts: { capacity?: number } = {}): string {
  return writeFixturePlan(dir, {
    devices: [
      {
        name: 'cpu0',
        extra: { home: true },
        program: {
          tensors: [
            { name: 'x', dtype: 1, storage: 'input', shape: ['n', 4] },
            { name: 'w', dtype: 1, storage: 'weight', shape: [4], data: [1, -2, 3, -4] },
            { name: 's', dtype: 1, storage: 'dynamic', shape: ['n', 4] },
            { name: 'y', dtype: 1, storage: 'channel', shape: ['n', 4] },
            { name: 'z', dtype: 1, storage: 'output', shape: ['n', 4] },
          ],
          inputs: ['x'],
          outputs: ['y', 'z'],
          ops: [
            { name: 'add', type: 'Add', inputs: ['x', 'w'], outputs: ['s'] },
            { name: 'neg', type: 'Neg', inputs: ['x'], outputs: ['z'] },
          ],
          channels: [
            { tensor: 's', channel: 0, direction: 0 },
            { tensor: 'y', channel: 1, direction: 1 },
          ],
        },
      },
      {
        name: 'gpu0',
        class: 'gpu',
        backend: 'emulated',
        extra: opts.capacity !== undefined ? { memory: { capacity: opts.capacity } } : {},
        program: {
          tensors: [
            { name: 's', dtype: 1, storage: 'channel', shape: ['n', 4] },
            { name: 'y', dtype: 1, storage: 'dynamic', shape: ['n', 4] },
          ],
          inputs: [],
          outputs: [],
          ops: [{ name: 'relu', type: 'Relu', inputs: ['s'], outputs: ['y'] }],
          channels: [
            { tensor: 's', channel: 0, direction: 1 },
            { tensor: 'y', channel: 1, direction: 0 },
          ],
        },
      },
    ],
    inputs: [{ name: 'x', dtype: 'float32', device: 'cpu0' }],
    outputs: [
      { name: 'y', dtype: 'float32', device: 'cpu0' },
      { name: 'z', dtype: 'float32', device: 'cpu0' },
    ],
    channels: [
      { value: 's', from: 'cpu0', to: 'gpu0', bytes: 32, links: ['pcie0'] },
      { value: 'y', from: 'gpu0', to: 'cpu0', bytes: 32, links: ['pcie0'] },
    ],
    extra: {
      fleet: {
        name: 'fx',
        file: '',
        devices: [],
        links: [{ id: 'pcie0', between: ['cpu0', 'gpu0'], bandwidth: 16e9, latency: 1e-6, kind: 'pcie' }],
      },
      predicted: {
        method: 'fixture',
        latency: 1e-5,
        throughput: 1e5,
        memory: { cpu0: 16, gpu0: 0 },
        links: [{ id: 'pcie0', bytes: 64, seconds: 2e-6 }],
      },
    },
  });
}
