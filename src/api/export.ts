import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, isAbsolute, join, normalize, resolve } from 'node:path';
import { isUnfusable, unfuse } from '../../passes/fuse/unfuse.js';
import { unblock } from '../../passes/layout/unblock.js';
import { decodeProgram, ProgramFormatError, type DecodedProgram } from '../../targets/fleetrt/read.js';
import { OP, type Code } from '../../targets/fleetrt/expr.js';
import type { AttrEntry, ConstEntry, ProgramEntry } from '../../targets/fleetrt/program.js';
import { FleetcError } from '../diagnostics/index.js';
import { encodeModel, modelProto, opReads } from '../frontends/onnx/write.js';
import { dtypeFromCode, type DType } from '../ir/dtype.js';
import { add, dimToJSON, floorDiv, max, min, mod, mul, sub, sym, type Dim } from '../ir/sym.js';
import { IRGraph, type AttrValue } from '../ir/graph.js';
import type { TensorConst, ValueAttrs, WeightRef } from '../ir/types.js';
import { orderNodes } from '../ir/topo-order.js';
import { packageVersion } from '../version.js';
import { adaptOpsets, domainOpsets } from './export-opsets.js';
import { planFileOf, validatePlan, type PlanDevice, type PlanJSON } from './plan.js';

/**
 * `fleetc export BUILD --onnx DIR`: one ONNX model per device partition of a build, rebuilt from
 * what the build keeps (docs/export.md). Each bundle's program.bin holds the compiled IR of its
 * device (ops, attributes, value types and symbolic shapes, channel endpoints) and weights.bin
 * its weights, so the export needs neither the source model nor a re-compile: the models are
 * the graph that runs, with fleetc's fusions written back as standard ONNX ops.
 */

export interface ExportOptions {
  /** Write into a non-empty folder that holds no earlier export. */
  force?: boolean;
  /**
   * Write ops that have no ONNX form (fleetc's state ops of a --generate build, stablehlo.*)
   * as nodes of their own domain: the models open in Netron but onnxruntime cannot run them.
   * Without it such an op is error E0504.
   */
  allowCustomOps?: boolean;
}

/** A model input or output: a graph input/output of the whole model, or a value on channels. */
export interface ExportedIO {
  name: string;
  dtype: string | null;
  shape: (number | string)[] | null;
  /** `model`: an input or output of the whole model; `channel`: a value that crosses devices. */
  kind: 'model' | 'channel';
  /** Ids of the plan's channels that carry the value into (inputs) or out of (outputs) this device. */
  channels: number[];
}

export interface ExportedModel {
  /** Path relative to the export folder. */
  file: string;
  device: string;
  /** Step models only: the step's place in the run order (1-based). */
  step?: number;
  ops: number;
  inputs: ExportedIO[];
  outputs: ExportedIO[];
  bytes: number;
}

export interface ExportResult {
  outDir: string;
  /** export.json: this result, for tools. */
  index: string;
  plan: string;
  model: string;
  fleet: string;
  /** Opset per domain of every model ('' = ai.onnx). */
  opsets: Record<string, number>;
  /** One model per device partition, in the plan's device order. */
  devices: ExportedModel[];
  /**
   * The order to run them in, each model's inputs available from the models before it: the
   * device models themselves, or, where the plan goes back and forth between devices, steps
   * (files under steps/) that cut a device's partition where it waits for another device.
   */
  run: ExportedModel[];
  /** Whether some device's partition is cut into steps. */
  steps: boolean;
  rewritten: { unfused: Record<string, number>; decomposed: number; adapted: Record<string, number> };
  /** Ops written in a custom domain (allowCustomOps), `domain.type` → count. */
  customOps: Record<string, number>;
}

const INDEX = 'export.json';
const EXPORT_FORMAT = 'fleetc-onnx-export';
/** protobuf messages cannot exceed 2 GiB. */
const MAX_MODEL_BYTES = 2 ** 31 - 1;

function bad(message: string, file: string): never {
  throw new FleetcError('E0501', message, { file });
}

/** The plan of a build folder (or a plan.json path), checked against its schema. */
function readBuildPlan(build: string): { planPath: string; dir: string; plan: PlanJSON } {
  const planPath = planFileOf(build);
  const dir = resolve(planPath, '..');
  let text: string;
  try {
    text = readFileSync(planPath, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    bad(
      code === 'ENOENT'
        ? `no plan.json in '${build}' (is it a fleetc compile output folder?)`
        : `cannot read the plan (${code ?? (e as Error).message})`,
      planPath,
    );
  }
  let plan: PlanJSON;
  try {
    plan = JSON.parse(text) as PlanJSON;
  } catch (e) {
    bad(`not valid JSON: ${(e as Error).message}`, planPath);
  }
  const problems = validatePlan(plan);
  if (problems.length) bad(`the plan does not match its schema: ${problems.slice(0, 3).join('; ')}`, planPath);
  return { planPath, dir, plan };
}

function sha256File(path: string): string {
  const hash = createHash('sha256');
  const buf = new Uint8Array(1 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** A bundle file, checked against the size and sha256 the plan records for it. */
function bundleFile(buildDir: string, dev: PlanDevice, name: string): string {
  const rel = normalize(dev.bundle.dir);
  if (isAbsolute(rel) || rel.split(/[\\/]/).includes('..'))
    bad(`device ${dev.name}: bundle folder '${dev.bundle.dir}' is not inside the build`, join(buildDir, 'plan.json'));
  const path = join(buildDir, rel, name);
  const entry = dev.bundle.files.find((f) => f.path === name);
  if (!entry) bad(`device ${dev.name}: the plan lists no ${name}`, join(buildDir, 'plan.json'));
  if (!existsSync(path)) bad(`missing (the plan lists it for device ${dev.name})`, path);
  const size = statSync(path).size;
  if (size !== entry.bytes)
    bad(`${size} bytes, but the plan says ${entry.bytes}: the bundle changed after compile`, path);
  if (sha256File(path) !== entry.sha256)
    bad('its sha256 differs from the plan: the bundle changed after compile', path);
  return path;
}

/** Evaluates a shape expression's codes symbolically. */
function dimOf(codes: Code[], symbols: DecodedProgram['symbols'], file: string): Dim {
  const st: Dim[] = [];
  const pop = (): Dim => {
    const v = st.pop();
    if (v === undefined) bad('a shape expression pops an empty stack', file);
    return v;
  };
  for (const c of codes) {
    if (c.op === OP.pushConst) st.push(c.arg ?? 0);
    else if (c.op === OP.pushSym) st.push(sym(symbols[c.arg ?? 0]!.name));
    else {
      const y = pop();
      const x = pop();
      const f = {
        [OP.add]: add,
        [OP.sub]: sub,
        [OP.mul]: mul,
        [OP.floorDiv]: floorDiv,
        [OP.mod]: mod,
        [OP.max]: max,
        [OP.min]: min,
      }[c.op];
      if (!f) bad(`shape expression opcode ${c.op} is unknown`, file);
      st.push(f(x, y));
    }
  }
  if (st.length !== 1) bad('a shape expression leaves more than one value', file);
  return st[0]!;
}

/** Rebuilds the IR of one bundle's programs into `whole` (its main program) and nested graphs. */
class BundleReader {
  constructor(
    private readonly decoded: DecodedProgram,
    private readonly weightsPath: string,
    private readonly programPath: string,
    private readonly device: string,
    private readonly modelFile: string,
    /** Ops of the main program left out: floating ops whose placed copy is another device's. */
    private readonly skip: ReadonlySet<string> = new Set(),
  ) {}

  private dtype(code: number, what: string): DType | null {
    if (code === 0) return null;
    const d = dtypeFromCode(code);
    if (!d) bad(`${what} has element type code ${code}, which fleetc does not know`, this.programPath);
    return d;
  }

  private ref(offset: number, length: number): WeightRef {
    return { kind: 'file', path: this.weightsPath, offset, length };
  }

  private constOf(c: ConstEntry, what: string): TensorConst {
    const dtype = this.dtype(c.dtype, what);
    if (!dtype) bad(`${what} has no element type`, this.programPath);
    return { dtype, shape: c.dims, ref: this.ref(c.offset, c.length) };
  }

  private attr(a: AttrEntry, what: string, depth: number): AttrValue {
    switch (a.kind) {
      case 'tensor':
        return { type: 'tensor', value: this.constOf(a.value, what) };
      case 'tensors':
        return { type: 'tensors', value: a.value.map((c) => this.constOf(c, what)) };
      case 'graph':
        return { type: 'graph', value: this.subgraph(a.value, depth) };
      case 'graphs':
        return { type: 'graphs', value: a.value.map((p) => this.subgraph(p, depth)) };
      default:
        return { type: a.kind, value: a.value } as AttrValue;
    }
  }

  private subgraph(index: number, depth: number): IRGraph {
    if (index <= depth) bad(`program ${index} is used as its own subgraph`, this.programPath);
    const prog = this.decoded.programs[index]!;
    const prefix = `${this.device}/`;
    const g = new IRGraph(prog.name.startsWith(prefix) ? prog.name.slice(prefix.length) : prog.name, {
      format: 'ir',
      file: this.modelFile,
    });
    this.fill(g, prog, index);
    return g;
  }

  /** Adds a program's values and ops to `g`; returns the ids of the ops added. */
  fill(g: IRGraph, prog: ProgramEntry, depth: number): string[] {
    const main = depth === 0;
    for (const t of prog.tensors) {
      const dtype = this.dtype(t.dtype, `tensor '${t.name}'`);
      const shape = t.shape
        ? t.shape.map((e) => dimOf(this.decoded.exprs[e]!, this.decoded.symbols, this.programPath))
        : null;
      const container: ValueAttrs['container'] =
        t.valueKind === 1 ? 'sequence' : t.valueKind === 2 ? 'optional' : undefined;
      if (g.hasValue(t.name)) {
        const v = g.value(t.name);
        if (!v.dtype && dtype) g.updateValue(t.name, { dtype });
        if (!v.shape && shape) g.updateValue(t.name, { shape });
        continue;
      }
      const v: Omit<ValueAttrs, 'kind'> = {
        name: t.name,
        dtype,
        shape,
        role:
          t.storage === 'weight'
            ? 'weight'
            : t.storage === 'outer'
              ? 'outer'
              : t.storage === 'input'
                ? 'input'
                : 'intermediate',
      };
      if (container) v.container = container;
      if (t.storage === 'weight') v.weight = this.ref(t.a, t.b);
      g.addValue(v);
    }
    const name = (i: number): string => (i < 0 ? '' : prog.tensors[i]!.name);
    const ids: string[] = [];
    for (const o of prog.ops) {
      if (main && this.skip.has(o.name)) continue;
      if (g.hasOp(o.name))
        bad(
          `op '${o.name}' is in ${main ? 'two bundles' : 'a subgraph twice'} (device ${this.device})`,
          this.programPath,
        );
      const attrs: Record<string, AttrValue> = {};
      for (const [k, a] of o.attrs) attrs[k] = this.attr(a, `attribute '${k}' of op '${o.name}'`, depth);
      const id = g.addOp(
        {
          opType: o.opType,
          domain: o.domain === 'ai.onnx' ? '' : o.domain,
          opset: o.opset,
          attrs,
          name: o.name,
          loc: { file: this.modelFile, node: o.name },
        },
        o.inputs.map(name),
        o.outputs.map(name),
      );
      if (main) g.updateOp(id, { placement: this.device });
      ids.push(id);
    }
    if (!main) {
      g.inputs = prog.inputs.map(name);
      g.outputs = prog.outputs.map(name);
    }
    return ids;
  }
}

/** Ops that have no ONNX form, by `domain.type`, over the graph and its subgraphs. */
function customOps(graph: IRGraph): { id: string; name: string; domain: string; opType: string }[] {
  const out: { id: string; name: string; domain: string; opType: string }[] = [];
  const visit = (g: IRGraph): void => {
    for (const id of g.ops()) {
      const op = g.op(id);
      const d = op.domain;
      if (
        (d === 'fleetc' && !isUnfusable(d, op.opType)) ||
        d === 'stablehlo' ||
        d.startsWith('stablehlo.') ||
        d === 'chlo'
      )
        out.push({ id, name: op.name, domain: d, opType: op.opType });
      for (const [, sub] of g.subgraphs(id)) visit(sub);
    }
  };
  visit(graph);
  return out;
}

function refuseCustom(ops: ReturnType<typeof customOps>, plan: PlanJSON, file: string): never {
  const first = ops[0]!;
  const what = `${ops.length === 1 ? 'op' : `${ops.length} ops have no ONNX form, the first`} '${first.name}' (${first.domain}.${first.opType})`;
  const keep =
    'pass --allow-custom-ops to write them as custom nodes (viewable in Netron, not runnable by onnxruntime)';
  let why: string;
  if (first.domain === 'fleetc' && plan.generation)
    why = `reads KV state the engine keeps in pages (a build compiled with --generate); compile the model without --generate to export its partitions, or ${keep}`;
  else if (first.domain === 'fleetc') {
    const steps = plan.pipeline.text.match(/[A-Za-z][\w-]*(\{[^{}]*\})?/g) ?? [];
    const plain = steps.filter((x) => !x.startsWith('fuse-')).join(',');
    why = `is a fleetc op with no ONNX form; compile with --passes '${plain}' to export without it, or ${keep}`;
  } else why = `has no ONNX equivalent that onnxruntime runs; ${keep}`;
  throw new FleetcError('E0504', `${what} ${why}`, { file });
}

/** Whether `dir` may be written: absent, empty, an earlier export, or forced. */
function checkExportDir(dir: string, force: boolean): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new FleetcError('E0901', `output '${dir}' exists and is not a folder`);
  const entries = readdirSync(dir);
  if (entries.length && !entries.includes(INDEX) && !force)
    throw new FleetcError(
      'E0901',
      `output folder '${dir}' is not empty and holds no fleetc export (${INDEX}); use --force to write into it`,
    );
}

/** Removes the files an earlier export in `dir` wrote (only those its index names). */
function removeEarlierExport(dir: string): void {
  const index = join(dir, INDEX);
  if (!existsSync(index)) return;
  let old: Partial<ExportResult> & { format?: string };
  try {
    old = JSON.parse(readFileSync(index, 'utf8')) as typeof old;
  } catch {
    return;
  }
  if (old.format !== EXPORT_FORMAT) return;
  for (const m of [...(old.devices ?? []), ...(old.run ?? [])]) {
    const rel = normalize(m.file);
    if (!isAbsolute(rel) && !rel.split(/[\\/]/).includes('..') && rel.endsWith('.onnx'))
      rmSync(join(dir, rel), { force: true });
  }
  const steps = join(dir, 'steps');
  if (existsSync(steps) && readdirSync(steps).length === 0) rmSync(steps, { recursive: true });
  rmSync(index, { force: true });
}

interface Part {
  device: string;
  ops: string[];
}

/**
 * Cuts the placed ops into steps that run one after another: each step is ops of one device
 * whose inputs come from earlier steps. A device takes everything it can run at once; devices
 * that can finish go first, then those whose results others wait for, earliest in the plan's
 * schedule first. A plan without a cycle between devices gives one step per device.
 */
function cutSteps(
  order: string[],
  device: Map<string, string>,
  preds: Map<string, string[]>,
  devices: string[],
): Part[] {
  const remaining = new Set(order);
  const pos = new Map(order.map((id, i) => [id, i]));
  const steps: Part[] = [];
  while (remaining.size) {
    const runnable = new Set<string>();
    const byDevice = new Map<string, string[]>();
    const left = new Map<string, number>();
    for (const id of order) {
      if (!remaining.has(id)) continue;
      const d = device.get(id)!;
      left.set(d, (left.get(d) ?? 0) + 1);
      if (preds.get(id)!.every((p) => !remaining.has(p) || (device.get(p) === d && runnable.has(p)))) {
        runnable.add(id);
        if (!byDevice.has(d)) byDevice.set(d, []);
        byDevice.get(d)!.push(id);
      }
    }
    if (!byDevice.size) throw new Error('the placed ops have a cycle');
    const candidates = devices.filter((d) => byDevice.has(d));
    const unblocks = (d: string): boolean =>
      order.some(
        (id) =>
          remaining.has(id) &&
          device.get(id) !== d &&
          preds.get(id)!.some((p) => device.get(p) === d && runnable.has(p)),
      );
    const first = (ds: string[]): string | undefined =>
      [...ds].sort((a, b) => pos.get(byDevice.get(a)![0]!)! - pos.get(byDevice.get(b)![0]!)!)[0];
    const pick =
      candidates.find((d) => byDevice.get(d)!.length === left.get(d)) ??
      first(candidates.filter(unblocks)) ??
      first(candidates)!;
    const ops = byDevice.get(pick)!;
    for (const id of ops) remaining.delete(id);
    steps.push({ device: pick, ops });
  }
  return steps;
}

/** Exports a build's device partitions as ONNX models into `outDir` (see ExportResult). */
export async function exportOnnx(build: string, outDir: string, opts: ExportOptions = {}): Promise<ExportResult> {
  const { planPath, dir: buildDir, plan } = readBuildPlan(build);
  checkExportDir(outDir, !!opts.force);
  const modelFile = plan.model.file || plan.model.name;

  // 1. The compiled IR, reassembled from the bundles; each op placed on its bundle's device.
  const whole = new IRGraph(plan.model.name || 'model', { format: 'ir', file: modelFile });
  for (const dev of plan.devices) {
    const programPath = bundleFile(buildDir, dev, 'program.bin');
    const weightsPath = bundleFile(buildDir, dev, 'weights.bin');
    let decoded: DecodedProgram;
    try {
      decoded = decodeProgram(readFileSync(programPath));
    } catch (e) {
      if (e instanceof ProgramFormatError) bad(e.message, programPath);
      throw e;
    }
    // A floating op (docs/floating.md) is in every program of its group: it is exported where it was placed.
    const elsewhere = new Set((plan.floating?.ops ?? []).filter((f) => f.placed !== dev.name).map((f) => f.name));
    new BundleReader(decoded, resolve(weightsPath), programPath, dev.name, modelFile, elsewhere).fill(
      whole,
      decoded.programs[0]!,
      0,
    );
  }
  for (const io of plan.inputs)
    if (whole.hasValue(io.name)) whole.updateValue(io.name, { role: 'input' });
    else bad(`graph input '${io.name}' is in no bundle`, planPath);
  for (const io of plan.outputs)
    if (!whole.hasValue(io.name)) bad(`graph output '${io.name}' is in no bundle`, planPath);
  whole.inputs = plan.inputs.map((i) => i.name);
  whole.outputs = plan.outputs.map((o) => o.name);

  // 2. Standard ONNX: plain layout (no fleetc Reorders), no fleetc fusions, one opset per domain.
  unblock(whole);
  const custom = customOps(whole);
  if (custom.length && !opts.allowCustomOps) refuseCustom(custom, plan, planPath);
  const rank = new Map<string, number>(plan.schedule.map((s, i) => [s.op, i]));
  const inherit = (from: string, ops: string[]): void => {
    const r = rank.get(from) ?? rank.size;
    ops.forEach((id, k) => rank.set(id, r + (k + 1) / (ops.length + 1)));
  };
  const unfused: Record<string, number> = {};
  for (const id of whole.ops()) {
    const op = whole.op(id);
    if (isUnfusable(op.domain, op.opType)) unfused[op.opType] = (unfused[op.opType] ?? 0) + 1;
  }
  const opsets = domainOpsets(whole);
  delete opsets.fleetc;
  if (opsets[''] === undefined) opsets[''] = 17;
  unfuse(whole, opsets['']!, inherit);
  for (const c of custom) opsets[c.domain] ??= whole.hasOp(c.id) ? whole.op(c.id).opset : 1;
  const adapted = adaptOpsets(whole, opsets, planPath, inherit);

  // 3. Partitions and their order.
  const ops = whole.ops();
  const device = new Map(ops.map((id) => [id, whole.op(id).placement!]));
  const readers = new Map<string, Set<string>>();
  const preds = new Map<string, string[]>();
  const reads = new Map<string, string[]>();
  for (const id of ops) {
    const r = opReads(whole, id);
    reads.set(id, r);
    const ps = new Set<string>();
    for (const v of r) {
      if (!readers.has(v)) readers.set(v, new Set());
      readers.get(v)!.add(id);
      const p = whole.producer(v);
      if (p) ps.add(p.op);
    }
    preds.set(id, [...ps]);
  }
  const sorted = [...ops].sort((a, b) => (rank.get(a) ?? 1e15) - (rank.get(b) ?? 1e15));
  const index = new Map(sorted.map((id, i) => [id, i]));
  const order = orderNodes(
    sorted.map((id) => preds.get(id)!.map((p) => index.get(p)!)),
    (node) => {
      throw new Error(`the compiled graph has a cycle through op '${sorted[node]}'`);
    },
  ).map((i) => sorted[i]!);
  const deviceNames = plan.devices.map((d) => d.name);
  const steps = cutSteps(order, device, preds, deviceNames);
  const perDevice = deviceNames.map((d) => ({ device: d, ops: order.filter((id) => device.get(id) === d) }));
  const split = new Set(deviceNames.filter((d) => steps.filter((s) => s.device === d).length > 1));

  const modelInputs = new Set(whole.inputs);
  const modelOutputs = new Set(whole.outputs);
  const home = plan.devices.find((d) => d.home)?.name ?? deviceNames[0]!;
  const ioOf = (name: string, dev: string, dir: 'in' | 'out'): ExportedIO => {
    const v = whole.value(name);
    const isModel = dir === 'in' ? modelInputs.has(name) : modelOutputs.has(name);
    return {
      name,
      dtype: v.dtype,
      shape: v.shape ? v.shape.map(dimToJSON) : null,
      kind: isModel ? 'model' : 'channel',
      channels: plan.channels
        .filter((c) => c.value === name && (dir === 'in' ? c.to === dev : c.from === dev))
        .map((c) => c.id),
    };
  };
  /** Inputs and outputs of a set of ops: what they read from elsewhere and what others (or the model) read of theirs. */
  const boundary = (part: Part, lastOfHome: boolean): { inputs: string[]; outputs: string[] } => {
    const mine = new Set(part.ops);
    const produced: string[] = [];
    for (const id of part.ops) for (const v of whole.opOutputs(id)) if (v !== undefined) produced.push(v);
    const producedSet = new Set(produced);
    const inputs: string[] = [];
    const seen = new Set<string>();
    for (const id of part.ops)
      for (const v of reads.get(id)!) {
        if (producedSet.has(v) || seen.has(v)) continue;
        seen.add(v);
        const val = whole.value(v);
        if (val.weight && !whole.producer(v) && !modelInputs.has(v)) continue;
        inputs.push(v);
      }
    inputs.sort(
      (a, b) =>
        Number(!modelInputs.has(a)) - Number(!modelInputs.has(b)) ||
        (modelInputs.has(a) ? whole.inputs.indexOf(a) - whole.inputs.indexOf(b) : 0),
    );
    const outputs = produced.filter(
      (v) => modelOutputs.has(v) || [...(readers.get(v) ?? [])].some((r) => !mine.has(r)),
    );
    // Model outputs no op produces (inputs passed through, constants) belong to the home device.
    if (lastOfHome) for (const o of whole.outputs) if (!whole.producer(o) && !outputs.includes(o)) outputs.push(o);
    outputs.sort(
      (a, b) =>
        Number(!modelOutputs.has(a)) - Number(!modelOutputs.has(b)) ||
        (modelOutputs.has(a) ? whole.outputs.indexOf(a) - whole.outputs.indexOf(b) : 0),
    );
    return { inputs, outputs };
  };

  const fileOf = new Map(plan.devices.map((d) => [d.name, basename(d.bundle.dir)]));
  const version = packageVersion();
  const customCount: Record<string, number> = {};
  for (const c of custom) customCount[`${c.domain}.${c.opType}`] = (customCount[`${c.domain}.${c.opType}`] ?? 0) + 1;

  const write: { rel: string; bytes: Uint8Array }[] = [];
  const lastHomeStep = steps.filter((s) => s.device === home).at(-1);
  const make = (part: Part, rel: string, step?: { index: number; count: number }): ExportedModel => {
    const dev = plan.devices.find((d) => d.name === part.device)!;
    const { inputs, outputs } = boundary(part, step ? part === lastHomeStep : part.device === home);
    for (const v of [...inputs, ...outputs])
      if (!whole.value(v).dtype)
        throw new FleetcError(
          'E0504',
          `value '${v}' is an ${inputs.includes(v) ? 'input' : 'output'} of ${part.device}'s partition but its element type is unknown (an ONNX graph input or output needs one)`,
          { file: planPath },
        );
    const where = step ? `step ${step.index} of ${step.count} (device ${part.device})` : `device ${part.device}`;
    const ins = inputs.map((v) => ioOf(v, part.device, 'in'));
    const outs = outputs.map((v) => ioOf(v, part.device, 'out'));
    const channelMap = (list: ExportedIO[]): string =>
      JSON.stringify(Object.fromEntries(list.filter((x) => x.channels.length).map((x) => [x.name, x.channels])));
    const metadata: Record<string, string> = {
      'fleetc.model': plan.model.file || plan.model.name,
      ...(plan.model.sha256 ? { 'fleetc.model.sha256': plan.model.sha256 } : {}),
      'fleetc.fleet': plan.fleet.name,
      'fleetc.pipeline': plan.pipeline.text,
      'fleetc.device': dev.name,
      'fleetc.device.class': dev.class,
      'fleetc.device.backend': dev.backend,
      ...(step ? { 'fleetc.step': `${step.index}/${step.count}` } : {}),
      'fleetc.channels.in': channelMap(ins),
      'fleetc.channels.out': channelMap(outs),
      ...(Object.keys(customCount).length
        ? { 'fleetc.custom_ops': 'ops of fleetc or stablehlo domains: for viewing, not runnable by onnxruntime' }
        : {}),
    };
    const proto = modelProto(whole, {
      ops: part.ops,
      inputs,
      outputs,
      opsets,
      graphName: `${plan.model.name || 'model'} @ ${part.device}${step ? ` step ${step.index}` : ''}`,
      docString: `Partition of ${plan.model.file || plan.model.name} for ${where} of fleet ${plan.fleet.name} (${dev.class}, ${dev.backend}), exported by fleetc ${version} from plan.json. Inputs and outputs that are not the model's are the plan's channels, named after the values they carry.`,
      metadata,
      producer: { name: 'fleetc', version },
    });
    let bytes: Uint8Array;
    try {
      bytes = encodeModel(proto);
    } catch (e) {
      if (e instanceof RangeError)
        throw new FleetcError(
          'E0504',
          `${where}: the model exceeds what one ONNX file holds (2 GiB); fleetc export does not write external data yet`,
          { file: planPath },
        );
      throw e;
    }
    if (bytes.length > MAX_MODEL_BYTES)
      throw new FleetcError(
        'E0504',
        `${where}: ${bytes.length} bytes exceed what one ONNX file holds (2 GiB); fleetc export does not write external data yet`,
        { file: planPath },
      );
    write.push({ rel, bytes });
    return {
      file: rel,
      device: part.device,
      ...(step ? { step: step.index } : {}),
      ops: part.ops.length,
      inputs: ins,
      outputs: outs,
      bytes: bytes.length,
    };
  };

  const devices = perDevice.filter((p) => p.ops.length).map((p) => make(p, `${fileOf.get(p.device)}.onnx`));
  const width = String(steps.length).length;
  const run = steps.map((s, i) =>
    split.has(s.device)
      ? make(s, `steps/${String(i + 1).padStart(width, '0')}-${fileOf.get(s.device)}.onnx`, {
          index: i + 1,
          count: steps.length,
        })
      : devices.find((d) => d.device === s.device)!,
  );

  // 4. Files: the models, then the index (written last, like plan.json).
  removeEarlierExport(outDir);
  mkdirSync(outDir, { recursive: true });
  if (split.size) mkdirSync(join(outDir, 'steps'), { recursive: true });
  for (const w of write) writeFileSync(join(outDir, w.rel), w.bytes);
  const result: ExportResult = {
    outDir,
    index: join(outDir, INDEX),
    plan: planPath,
    model: plan.model.file || plan.model.name,
    fleet: plan.fleet.name,
    opsets,
    devices,
    run,
    steps: split.size > 0,
    rewritten: { unfused, decomposed: adapted.decomposed, adapted: adapted.adapted },
    customOps: customCount,
  };
  const { outDir: _o, index: _i, plan: _p, ...portable } = result;
  writeFileSync(result.index, JSON.stringify({ format: EXPORT_FORMAT, version: 1, ...portable }, null, 2) + '\n');
  return result;
}
