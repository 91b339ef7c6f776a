import { FleetcError } from '../../src/diagnostics/index.js';
import { byteSize, dtypeCode } from '../../src/ir/dtype.js';
import type { IRGraph, AttrValue } from '../../src/ir/graph.js';
import type { Dim } from '../../src/ir/sym.js';
import type { TensorConst, ValueAttrs } from '../../src/ir/types.js';
import { compileDim, OP } from './expr.js';
import {
  encodeProgram,
  ProgramTables,
  VALUE_KIND,
  type AttrEntry,
  type ChannelEntry,
  type ConstEntry,
  type OpEntry,
  type ProgramEntry,
  type TensorEntry,
} from './program.js';
import { programPreparedBytes } from './prepared.js';
import { WeightsBuilder } from './weights.js';

/**
 * The memory planner's layout of the main program's arena (passes/memory, `plan-memory`): where
 * each planned tensor lies. Every other intermediate is allocated when produced.
 */
export interface ArenaAssignment {
  tensors: ReadonlyMap<string, { offset: number; size: number }>;
  /** The arena's size, what its tensors take without reuse, and the live-set lower bound. */
  bytes: number;
  unshared: number;
  lowerBound: number;
  /** Symbols the layout planned at 1 because nobody bound them. */
  defaulted: readonly string[];
}

export interface ChannelUse {
  value: string;
  /** Index in plan.json's `channels`. */
  channel: number;
  direction: 'send' | 'recv';
}

export interface EmitSpec {
  /** Bundle (device) name; the main program is named after it. */
  name: string;
  graph: IRGraph;
  /** Ops of `graph` this program runs, in execution order. */
  ops: string[];
  /** Program inputs and outputs (value names), in order. */
  inputs: string[];
  outputs: string[];
  channels: ChannelUse[];
  /** Symbol values the program's symbols are planned at (`--dim`). */
  dims: ReadonlyMap<string, number>;
  arena: ArenaAssignment;
}

export interface EmitMemory {
  /** Planned arena (peak of planned intermediates). */
  arenaBytes: number;
  /** What the arena tensors would take without reuse. */
  arenaUnshared: number;
  /** Largest sum of arena tensors live at one op. */
  arenaLowerBound: number;
  arenaTensors: number;
  /** Tensors allocated when produced (unknown sizes, subgraphs, channel sends). */
  dynamicTensors: number;
  /** Bytes of weights.bin. */
  weightBytes: number;
  /** Copies of constant weights the kernels may prepare and keep (prepared.ts). */
  preparedBytes: number;
}

export interface EmitResult {
  program: Uint8Array;
  /** weights.bin, written on demand (it is not held in memory). */
  weights: WeightsBuilder;
  manifest: Record<string, unknown>;
  memory: EmitMemory;
  /** Symbols the arena was planned with at 1 because nobody bound them. */
  defaulted: string[];
}

interface Scope {
  index: number;
  ids: Map<string, number>;
  symbols: Set<number>;
  parent: Scope | null;
}

/** Names that subgraphs (at any depth) of `op` read from the enclosing scope. */
export function freeNames(graph: IRGraph, op: string): Set<string> {
  const out = new Set<string>();
  for (const [, sub] of graph.subgraphs(op)) for (const n of subgraphFree(sub)) out.add(n);
  return out;
}

function subgraphFree(sub: IRGraph): Set<string> {
  const out = new Set<string>();
  for (const v of sub.values()) if (sub.value(v).role === 'outer' && !sub.producer(v)) out.add(v);
  for (const id of sub.ops())
    for (const n of freeNames(sub, id))
      if (!sub.hasValue(n) || (sub.value(n).role === 'outer' && !sub.producer(n))) out.add(n);
  return out;
}

function valueKind(v: ValueAttrs, where: string): number {
  if (!v.container) return VALUE_KIND.tensor;
  if (v.container === 'sequence') return VALUE_KIND.sequence;
  if (v.container === 'optional') return VALUE_KIND.optional;
  throw new FleetcError('E0103', `value '${v.name}' is an ONNX map, which the runtime does not support`, {
    file: where,
  });
}

/** Lowers a graph (or the ops of it placed on one device) to program.bin + weights.bin. */
export function emitProgram(spec: EmitSpec): EmitResult {
  const tables = new ProgramTables();
  const weights = new WeightsBuilder();
  const programs: ProgramEntry[] = [];
  const memory: EmitMemory = {
    arenaBytes: 0,
    arenaUnshared: 0,
    arenaLowerBound: 0,
    arenaTensors: 0,
    dynamicTensors: 0,
    weightBytes: 0,
    preparedBytes: programPreparedBytes(spec.graph, spec.ops),
  };
  const file = spec.graph.meta.file || spec.graph.name;
  const manifestWeights: { name: string; dtype: string; shape: number[]; offset: number; bytes: number }[] = [];

  const constOf = (c: TensorConst, what: string): ConstEntry => {
    if (c.ref.kind === 'elided')
      throw new FleetcError('E0103', `${what} has no values (elided in the model)`, { file });
    const { offset, length } = weights.add(c.ref);
    return { dtype: runtimeDType(c.dtype, what, file), dims: c.shape, offset, length };
  };

  const lower = (
    graph: IRGraph,
    ops: string[],
    inputs: string[],
    outputs: string[],
    channels: ChannelUse[],
    parent: Scope | null,
    name: string,
  ): number => {
    const index = programs.length;
    const P: ProgramEntry = {
      name,
      localSymbols: [],
      arenaBytes: 0,
      tensors: [],
      inputs: [],
      outputs: [],
      ops: [],
      channels: [],
    };
    programs.push(P);
    const scope: Scope = { index, ids: new Map(), symbols: new Set(), parent };
    const isMain = parent === null;
    const opIndex = new Map(ops.map((id, k) => [id, k]));
    const sendSet = new Set(channels.filter((c) => c.direction === 'send').map((c) => c.value));
    const recv = new Map(channels.filter((c) => c.direction === 'recv').map((c) => [c.value, c]));
    const outSet = new Set(outputs);
    const inputSet = new Set(inputs);

    // Every name the program touches, in a deterministic order of first sight.
    const names: string[] = [];
    const seen = new Set<string>();
    const see = (n: string | undefined): void => {
      if (n === undefined || seen.has(n)) return;
      seen.add(n);
      names.push(n);
    };
    inputs.forEach(see);
    const free = new Map<string, Set<string>>();
    for (const id of ops) {
      graph.opInputs(id).forEach(see);
      graph.opOutputs(id).forEach(see);
      const f = freeNames(graph, id);
      if (f.size) free.set(id, f);
      [...f].sort().forEach(see);
    }
    outputs.forEach(see);
    for (const c of channels) see(c.value);

    // Liveness in op indices.
    const first = new Map<string, number>();
    const last = new Map<string, number>();
    ops.forEach((id, k) => {
      for (const v of graph.opOutputs(id)) if (v !== undefined && !first.has(v)) first.set(v, k);
      const reads = [...graph.opInputs(id), ...(free.get(id) ?? [])];
      for (const v of reads) if (v !== undefined) last.set(v, k);
    });

    let arenaTensors = 0;
    const symbolOf = (s: string): number => {
      const id = tables.symbol(s);
      scope.symbols.add(id);
      return id;
    };
    const shapeExprs = (shape: Dim[]): number[] => shape.map((d) => tables.expr(compileDim(d, symbolOf)));

    names.forEach((n, t) => scope.ids.set(n, t));
    for (const n of names) {
      const local = graph.hasValue(n) ? graph.value(n) : undefined;
      const producer = local ? graph.producer(n) : undefined;
      const producedHere = producer !== undefined && opIndex.has(producer.op);
      const isOuter =
        !isMain && !producedHere && !inputSet.has(n) && (!local || (local.role === 'outer' && !local.weight));
      // An outer tensor is the enclosing program's: the runtime uses that one's type and shape.
      const v: ValueAttrs = local ?? { kind: 'value', name: n, dtype: null, shape: null, role: 'outer' };
      const T: TensorEntry = {
        name: n,
        dtype: v.dtype ? runtimeDType(v.dtype, n, file) : 0,
        valueKind: valueKind(v, file),
        storage: 'none',
        flags: 0,
        shape: null,
        a: 0,
        b: 0,
        first: first.get(n) ?? -1,
        last: last.get(n) ?? first.get(n) ?? -1,
      };
      const tensorKind = T.valueKind === VALUE_KIND.tensor;
      if (v.shape && tensorKind) T.shape = shapeExprs(v.shape);
      if (recv.has(n)) {
        T.storage = 'channel';
        T.a = P.channels.length;
        P.channels.push({ tensor: P.tensors.length, channel: recv.get(n)!.channel, direction: 1 });
      } else if (inputSet.has(n)) {
        T.storage = 'input';
        T.a = inputs.indexOf(n);
      } else if (isOuter) {
        const pt = parent!.ids.get(n);
        if (pt === undefined)
          throw new FleetcError('E0105', `subgraph '${graph.name}' reads '${n}', which no enclosing graph defines`, {
            file,
          });
        T.storage = 'outer';
        T.a = pt;
      } else if (v.role === 'state' && !producedHere) {
        // A state object (passes/state): its pages belong to the engine; ops name it by id.
        T.storage = 'none';
      } else if (!producedHere) {
        if (!v.weight) {
          if (producer)
            throw new Error(`value '${n}' is produced by op '${producer.op}', which is not in program '${name}'`);
          throw new FleetcError('E0105', `value '${n}' is read but never defined (not an input, weight or op output)`, {
            file,
          });
        }
        if (v.weight.kind === 'elided')
          throw new FleetcError('E0103', `weight '${n}' has no values (elided); only top-level ones become inputs`, {
            file,
          });
        if (!v.dtype || !v.shape || v.shape.some((d) => typeof d !== 'number'))
          throw new FleetcError('E0102', `weight '${n}' has no static type and shape`, { file });
        const dims = v.shape as number[];
        const { offset, length } = weights.add(v.weight);
        if (v.dtype !== 'string') {
          const want = byteSize(
            v.dtype,
            dims.reduce((a, b) => a * b, 1),
          );
          if (want !== length)
            throw new FleetcError(
              'E0102',
              `weight '${n}' holds ${length} bytes but ${v.dtype}[${dims.join(', ')}] needs ${want}`,
              { file },
            );
        }
        T.storage = 'weight';
        T.a = offset;
        T.b = length;
        manifestWeights.push({ name: n, dtype: v.dtype, shape: dims, offset, bytes: length });
      } else if (outSet.has(n)) {
        T.storage = 'output';
        T.a = outputs.indexOf(n);
        T.last = ops.length;
      } else {
        const placed = isMain ? spec.arena.tensors.get(n) : undefined;
        if (placed) {
          if (sendSet.has(n) || !tensorKind)
            throw new Error(`the memory plan puts '${n}' in the arena of ${name}, which sends or does not hold it`);
          T.storage = 'arena';
          T.a = placed.offset;
          T.b = placed.size;
          arenaTensors++;
        } else {
          T.storage = 'dynamic';
          memory.dynamicTensors++;
        }
      }
      P.tensors.push(T);
    }
    for (const c of channels)
      if (c.direction === 'send')
        P.channels.push({ tensor: scope.ids.get(c.value)!, channel: c.channel, direction: 0 } satisfies ChannelEntry);
    P.inputs = inputs.map((n) => scope.ids.get(n)!);
    P.outputs = outputs.map((n) => scope.ids.get(n)!);

    if (isMain) {
      if (arenaTensors !== spec.arena.tensors.size)
        throw new Error(
          `the memory plan of ${name} places ${spec.arena.tensors.size} tensors, the program has ${arenaTensors}`,
        );
      P.arenaBytes = spec.arena.bytes;
      memory.arenaBytes = spec.arena.bytes;
      memory.arenaUnshared = spec.arena.unshared;
      memory.arenaLowerBound = spec.arena.lowerBound;
      memory.arenaTensors = arenaTensors;
    }

    for (const id of ops) {
      const op = graph.op(id);
      const E: OpEntry = {
        name: op.name,
        domain: op.domain,
        opType: op.opType,
        opset: op.opset,
        inputs: graph.opInputs(id).map((v) => (v === undefined ? -1 : scope.ids.get(v)!)),
        outputs: graph.opOutputs(id).map((v) => (v === undefined ? -1 : scope.ids.get(v)!)),
        attrs: [],
      };
      for (const [an, a] of Object.entries(op.attrs)) {
        const entry = attrEntry(a, `attribute '${an}' of op '${op.name}'`, (sub, i) =>
          lower(
            sub,
            sub.topoOps(),
            sub.inputs,
            sub.outputs,
            [],
            scope,
            `${name}/${op.name}/${an}${i === undefined ? '' : `[${i}]`}`,
          ),
        );
        if (entry) E.attrs.push([an, entry]);
      }
      P.ops.push(E);
    }
    if (parent) {
      const outer = new Set<number>();
      for (let s: Scope | null = parent; s; s = s.parent) for (const x of s.symbols) outer.add(x);
      P.localSymbols = [...scope.symbols].filter((x) => !outer.has(x)).sort((a, b) => a - b);
    }
    return index;
  };

  const attrEntry = (a: AttrValue, what: string, sub: (g: IRGraph, i?: number) => number): AttrEntry | null => {
    switch (a.type) {
      case 'int':
      case 'float':
      case 'string':
      case 'ints':
      case 'floats':
      case 'strings':
        return { kind: a.type, value: a.value } as AttrEntry;
      case 'tensor':
        return { kind: 'tensor', value: constOf(a.value, what) };
      case 'tensors':
        return { kind: 'tensors', value: a.value.map((c) => constOf(c, what)) };
      case 'graph':
        return { kind: 'graph', value: sub(a.value) };
      case 'graphs':
        return { kind: 'graphs', value: a.value.map((g, i) => sub(g, i)) };
      case 'type':
        return null; // type attributes (Optional, SequenceEmpty) are resolved by the compiler
    }
  };

  lower(spec.graph, spec.ops, spec.inputs, spec.outputs, spec.channels, null, spec.name);

  // Symbols that appear bare in an input (or received) shape are bound from it; the others by kernels.
  const main = programs[0]!;
  for (const T of main.tensors) {
    if (T.storage !== 'input' && T.storage !== 'channel') continue;
    for (const e of T.shape ?? []) {
      const code = tables.exprs[e]!;
      if (code.length === 1 && code[0]!.op === OP.pushSym) tables.symbols[code[0]!.arg!]!.kind = 0;
    }
  }
  for (const s of tables.symbols) s.planned = spec.dims.get(s.name) ?? -1;

  const program = encodeProgram(tables, programs);
  memory.weightBytes = weights.bytes;
  const manifest = {
    format: 'fleetc-bundle',
    programFormatVersion: 1,
    device: spec.name,
    symbols: tables.symbols.map((s) => ({
      name: s.name,
      boundFrom: s.kind === 0 ? 'inputs' : 'kernels',
      planned: s.planned >= 0 ? s.planned : null,
    })),
    programs: programs.map((p, i) => ({
      index: i,
      name: p.name,
      ops: p.ops.length,
      tensors: p.tensors.length,
      arenaBytes: p.arenaBytes,
    })),
    inputs: spec.inputs,
    outputs: spec.outputs,
    channels: spec.channels.map((c) => ({ value: c.value, channel: c.channel, direction: c.direction })),
    memory,
    weights: manifestWeights,
  };
  return { program, weights, manifest, memory, defaulted: [...spec.arena.defaulted] };
}

/** Element types the runtime knows: ONNX codes 1..26 (through int2). */
const MAX_RUNTIME_DTYPE = 26;

function runtimeDType(dt: NonNullable<ValueAttrs['dtype']>, what: string, file: string): number {
  const code = dtypeCode(dt);
  if (code > MAX_RUNTIME_DTYPE)
    throw new FleetcError('E0103', `'${what}' has element type ${dt}, which the runtime does not support`, { file });
  return code;
}
