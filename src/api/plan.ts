import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv';
import { FleetcError } from '../diagnostics/index.js';
import schema from '../schemas/plan.schema.json' with { type: 'json' };
import type { PlanExpert } from '../../passes/partition/moe-place.js';
import type { FloatingResult } from '../../passes/float/index.js';

/** Whether `path` is a build folder: a folder holding the plan.json that fleetc compile wrote. */
export function isBuildDir(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory() && existsSync(join(path, 'plan.json'));
}

/** The plan file a path names: a folder's plan.json, else the path itself. */
export function planFileOf(path: string): string {
  return existsSync(path) && statSync(path).isDirectory() ? join(path, 'plan.json') : path;
}

/** plan.json, schema version 3 (src/schemas/plan.schema.json, docs/plan-format.md). */
export const PLAN_SCHEMA_VERSION = 3;
/** Plans without floating ops keep version 2, which fleetrt 2 runs (docs/floating.md). */
export const PLAN_SCHEMA_VERSION_NO_FLOAT = 2;

export type PlanDim = number | string;

export interface PlanIO {
  name: string;
  dtype: string | null;
  shape: PlanDim[] | null;
  device: string;
  kind: 'tensor' | 'sequence' | 'optional';
}

export interface PlanFile {
  path: string;
  sha256: string;
  bytes: number;
}

export interface PlanDevice {
  name: string;
  class: string;
  backend: 'cpu' | 'emulated' | 'cuda';
  /** The backend's device index (cuda: the CUDA device); absent means 0. */
  ordinal?: number;
  emulated: boolean;
  threads: number;
  home: boolean;
  ops: number;
  bundle: { dir: string; files: PlanFile[] };
  memory: {
    weights: number;
    /** Copies of constant weights the kernels may prepare once and keep (packed panels, reordered filters). */
    prepared?: number;
    arena: number;
    arenaUnshared: number;
    arenaLowerBound: number;
    /** Bytes of the KV pool kept on the device (plans compiled for generation). */
    state?: number;
    arenaTensors: number;
    dynamicTensors: number;
    total: number;
    capacity: number;
  };
}

export interface PlanChannel {
  id: number;
  value: string;
  from: string;
  to: string;
  bytes: number;
  links: string[];
  dtype: string | null;
  shape: PlanDim[] | null;
}

export interface PlanState {
  kind: 'kv-cache';
  input: string;
  output: string;
  owner: string;
  dtype: string | null;
  axis: number;
  growth: PlanDim | null;
  bytes: PlanDim | null;
  evidence: string;
  /** Engine-owned state (compiled for generation, docs/state-ops.md); absent on a cache left as inputs/outputs. */
  id?: number;
  mode?: 'paged' | 'gather';
  layer?: number;
  part?: 'key' | 'value';
  outer?: number;
  inner?: number;
  bytesPerToken?: number;
  pageSize?: number;
  capacityTokens?: number;
  tier?: 'device' | 'host';
  ops?: string[];
  reason?: string;
}

/** How the engine drives generation (plan.json `generation`). */
export interface PlanGeneration {
  tokens: string;
  positions?: string;
  attentionMask?: string;
  /** [batch] integers the engine feeds with each sequence's cached token count (a static cache's write indices). */
  pastLengths?: string;
  logitsIndex?: string;
  logits: string;
  vocab: number;
  batching: 'flatten' | 'sequence';
  batchingReason?: string;
  pageSize: number;
  maxStepTokens: number;
  capacityTokens: number;
  /** The most tokens one sequence may hold: its position table's rows (absent when unbounded). */
  maxPositions?: number;
  /** A static cache's fixed capacity (opset-24 TensorScatter exports): no sequence holds more tokens. */
  staticCapacity?: number;
  /** Bytes one token's cache takes on each device that keeps state. */
  bytesPerToken: Record<string, number>;
}

export interface PlanJSON {
  schemaVersion: typeof PLAN_SCHEMA_VERSION | typeof PLAN_SCHEMA_VERSION_NO_FLOAT;
  generator: { name: 'fleetc'; version: string; programFormat: 1 };
  model: { file: string; format: string; name: string; sha256?: string };
  fleet: {
    name: string;
    file: string;
    devices: {
      id: string;
      class: string;
      host: string;
      backend: 'cpu' | 'emulated' | 'cuda';
      ordinal?: number;
      threads: number;
      memory: number;
    }[];
    links: { id: string; between: [string, string]; bandwidth: number; latency: number; kind: string }[];
  };
  pipeline: {
    text: string;
    passes: { pass: string; changed: boolean; summary?: string }[];
    options: {
      dims: Record<string, number>;
      objective: 'latency' | 'throughput';
      pins: string[];
      maxLatency?: number;
      maxMemory?: number;
      partition?: string;
    };
  };
  symbols: { name: string; planned: number | null; boundFrom: 'inputs' | 'kernels' }[];
  inputs: PlanIO[];
  outputs: PlanIO[];
  devices: PlanDevice[];
  channels: PlanChannel[];
  state: PlanState[];
  /** MoE models: where each expert runs (replicas included) and how its tokens split. */
  experts?: PlanExpert[];
  generation?: PlanGeneration;
  /** Ops any device of their group may run, and the values they share (schema version 3). */
  floating?: PlanFloating;
  schedule: { op: string; device: string }[];
  predicted: {
    method: string;
    latency: number;
    throughput: number;
    memory: Record<string, number>;
    /** Seconds each device computes per request. */
    busy: Record<string, number>;
    links: { id: string; bytes: number; seconds: number }[];
    defaultedSymbols?: string[];
  };
}

/** plan.json `floating` (docs/floating.md). */
export interface PlanFloating {
  ops: {
    op: string;
    name: string;
    type: string;
    kind: string;
    devices: string[];
    placed: string;
    workUs: number;
  }[];
  /** `endpoint`: the channel number program.bin endpoints use (channels.length + id). */
  values: { id: number; endpoint: number; value: string; from: string | null; to: string; bytes: number }[];
}

/** The plan's `floating` section from the float pass's result; undefined when nothing floats. */
export function planFloating(f: FloatingResult | undefined, channels: number): PlanFloating | undefined {
  if (!f || !f.ops.size) return undefined;
  return {
    ops: [...f.ops.values()].map((o) => ({
      op: o.op,
      name: o.name,
      type: o.opType,
      kind: o.kind,
      devices: o.devices,
      placed: o.placed,
      workUs: Math.round(o.work * 1e9) / 1e3,
    })),
    values: f.values.map((v) => ({ ...v, endpoint: channels + v.id })),
  };
}

const Ajv = AjvModule.default ?? AjvModule;
const validator = new Ajv({ allErrors: false, strict: false }).compile(schema);

/** Problems with a plan against the published schema (empty when valid). */
export function validatePlan(plan: unknown): string[] {
  if (validator(plan)) return [];
  return (validator.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Checks that `dir` may receive a build: absent, empty, a previous fleetc build (it has
 * plan.json), or anything with `force`. Called before compiling, so nothing is written on error.
 */
export function checkOutDir(dir: string, force: boolean): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new FleetcError('E0901', `output '${dir}' exists and is not a folder`);
  const entries = readdirSync(dir);
  if (entries.length && !entries.includes('plan.json') && !force)
    throw new FleetcError(
      'E0901',
      `output folder '${dir}' is not empty and holds no fleetc build (plan.json); use --force to write into it`,
    );
}

/** Clears a previous build's plan.json and bundles/ in `dir` (other files stay) and creates bundles/. */
export function prepareOutDir(dir: string): void {
  rmSync(join(dir, 'plan.json'), { force: true });
  rmSync(join(dir, 'bundles'), { recursive: true, force: true });
  mkdirSync(join(dir, 'bundles'), { recursive: true });
}

/** Writes one file of a bundle and returns its plan entry. */
export function writeBundleFile(bundleDir: string, path: string, data: Uint8Array): PlanFile {
  writeFileSync(join(bundleDir, path), data);
  return { path, sha256: sha256Hex(data), bytes: data.length };
}

/** Writes a bundle file produced by `write(path)` (which returns its sha256) and returns its plan entry. */
export function writeBundleFileWith(
  bundleDir: string,
  path: string,
  bytes: number,
  write: (full: string) => string,
): PlanFile {
  const sha256 = write(join(bundleDir, path));
  return { path, sha256, bytes };
}

/** Validates and writes plan.json (last, so a folder with plan.json holds a whole build). */
export function writePlan(dir: string, plan: PlanJSON): string {
  const problems = validatePlan(plan);
  if (problems.length) throw new Error(`the plan does not match its schema: ${problems.join('; ')}`);
  const path = join(dir, 'plan.json');
  writeFileSync(path, JSON.stringify(plan, null, 2) + '\n');
  return path;
}
