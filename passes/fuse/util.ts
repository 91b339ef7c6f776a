import type { IRGraph } from '../../src/ir/graph.js';
import { readWeightBytes } from '../../src/ir/weights.js';
import { dimEq } from '../../src/ir/sym.js';
import { halfToNumber } from '../../src/ir/dtype.js';
import { outerRefs } from '../simplify/outer.js';
import type { PassContext } from '../pass.js';
import { refusal } from '../../targets/index.js';

/** Whether op `id` is the standard (default-domain) op `opType`. */
export function isOp(graph: IRGraph, id: string | undefined, opType: string): boolean {
  if (id === undefined) return false;
  const op = graph.op(id);
  return op.domain === '' && op.opType === opType;
}

/** Values that subgraphs of `graph`'s ops read from the enclosing scope (invisible as consumers). */
export function outerReferenced(graph: IRGraph): Set<string> {
  const out = new Set<string>();
  for (const id of graph.ops()) if (graph.subgraphs(id).length) outerRefs(graph, id, out);
  return out;
}

/**
 * The single op reading `value`, when exactly one op reads it (once), it is no graph output and
 * no subgraph reads it (`outer`: from outerReferenced).
 */
export function soleConsumer(
  graph: IRGraph,
  value: string,
  outer: ReadonlySet<string>,
): { op: string; slot: number } | undefined {
  const uses = graph.consumers(value);
  if (uses.length !== 1 || graph.outputs.includes(value) || outer.has(value)) return undefined;
  return uses[0];
}

/** A float32 weight's values (a copy), or undefined when `value` is not a float32 weight with known bytes. */
export function floatWeight(graph: IRGraph, value: string | undefined): Float32Array | undefined {
  if (value === undefined || !graph.hasValue(value)) return undefined;
  const v = graph.value(value);
  if (v.role !== 'weight' || v.dtype !== 'float32' || !v.weight || v.weight.kind === 'elided') return undefined;
  if (graph.producer(value)) return undefined;
  const bytes = readWeightBytes(v.weight);
  if (bytes.byteLength % 4 !== 0) return undefined;
  return new Float32Array(bytes.slice().buffer);
}

/**
 * A small weight's values as numbers (float16/32/64 and 8–64-bit integers), or undefined when
 * `value` is not such a weight with known bytes.
 */
export function weightNumbers(graph: IRGraph, value: string | undefined): number[] | undefined {
  if (value === undefined || !graph.hasValue(value) || graph.producer(value)) return undefined;
  const v = graph.value(value);
  if (v.role !== 'weight' || !v.dtype || !v.weight || v.weight.kind === 'elided') return undefined;
  const b = readWeightBytes(v.weight);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const read: Partial<Record<string, [number, (o: number) => number]>> = {
    float32: [4, (o) => dv.getFloat32(o, true)],
    float64: [8, (o) => dv.getFloat64(o, true)],
    float16: [2, (o) => halfToNumber(dv.getUint16(o, true))],
    int8: [1, (o) => dv.getInt8(o)],
    uint8: [1, (o) => dv.getUint8(o)],
    int32: [4, (o) => dv.getInt32(o, true)],
    int64: [8, (o) => Number(dv.getBigInt64(o, true))],
  };
  const r = read[v.dtype];
  if (!r || b.byteLength % r[0] !== 0) return undefined;
  return Array.from({ length: b.byteLength / r[0] }, (_, i) => r[1](i * r[0]));
}

/** The single value of a one-element float32 weight, or undefined. */
export function scalarWeight(graph: IRGraph, value: string | undefined): number | undefined {
  const w = floatWeight(graph, value);
  return w && w.length === 1 ? w[0] : undefined;
}

/** Adds an inline float32 weight with a fresh name from `base`; returns its name. */
export function addFloatWeight(graph: IRGraph, base: string, data: Float32Array, shape: number[]): string {
  const name = graph.freshValueName(base);
  graph.addValue({
    name,
    dtype: 'float32',
    shape,
    role: 'weight',
    weight: { kind: 'inline', data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) },
  });
  return name;
}

/** Drops `value` when it is a weight or intermediate that nothing (no subgraph either) reads or produces any more. */
export function dropIfUnused(graph: IRGraph, value: string | undefined, outer: ReadonlySet<string>): void {
  if (value === undefined || !graph.hasValue(value) || outer.has(value)) return;
  const v = graph.value(value);
  if (v.role !== 'weight' && v.role !== 'intermediate') return;
  if (graph.consumers(value).length || graph.producer(value) || graph.outputs.includes(value)) return;
  graph.removeValue(value);
}

/** A value's static shape, or undefined when it has symbolic or unknown dims. */
export function staticShape(graph: IRGraph, value: string): number[] | undefined {
  const s = graph.value(value).shape;
  if (!s || !s.every((d) => typeof d === 'number')) return undefined;
  return s as number[];
}

/** Whether two values have known shapes that are equal dim by dim (symbols compared as symbols). */
export function sameShape(graph: IRGraph, a: string, b: string): boolean {
  const x = graph.value(a).shape;
  const y = graph.value(b).shape;
  return !!x && !!y && x.length === y.length && x.every((d, i) => dimEq(d, y[i]!));
}

/**
 * Whether fused `opType` ops suit the fleet the compile targets (ctx.target; none: this
 * machine's cpu): every device is a cpu or a real cuda GPU, and none refuses the op (a cuda
 * device refuses what its kernel set lacks). Fusion before partitioning must not hand a device an
 * op that only its unfused parts were allowed on.
 */
export function fleetTakes(ctx: PassContext, opType: string, domain = ''): boolean {
  const fleet = ctx.target?.fleet;
  if (!fleet) return true;
  return fleet.devices.every(
    (d) => (d.class === 'cpu' || d.backend === 'cuda') && refusal(d, opType, ['float32'], domain) === null,
  );
}
