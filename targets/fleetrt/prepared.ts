// Copies of constant weights that fleetrt's kernels make once per op and keep for the life of the
// program (ku::prepared in native/src/kernels/kernel_util.h), beside weights.bin:
// - MatMul, fleetc FusedMatMul, Gemm and com.microsoft FusedMatMul with a constant 2-D B: B packed into the SGEMM's
//   float32 column panels, N rounded up to the widest panel (32 columns);
// - Conv and fleetc FusedConv with constant filters, depthwise convs excepted: the filters
//   reordered for the direct kernels, or (few output positions) packed into the SGEMM's column
//   panels per group, the filters of a group rounded up to 32, as float32 (the larger); or, for
//   the 3×3s that Winograd takes, their transforms (winogradBytes);
// - a depthwise FusedConv in the blocked layout (`layout: NCHW8c`, passes/layout): its filters
//   reordered by channel blocks, as many floats as they have.
// The products pack B when the engine opens the plan, unless the plan fixes their rows at one or
// two (a decode-step plan, whose products stream B in place); a call with other rows packs it
// then. So this counts what they may keep: the memory plan must hold even when they do.
import type { IRGraph } from '../../src/ir/graph.js';

const PANEL_COLUMNS = 32;
const WINOGRAD_ROWS = 12;
const FLOAT_WEIGHTS = new Set(['float32', 'float16', 'bfloat16']);

/**
 * Whether a device keeps them: one that fleetrt's cpu backend runs for real. An emulated
 * accelerator stands for hardware whose libraries read the weights in place; the copies its
 * emulation makes on the host are not the device's memory.
 */
export function keepsPreparedWeights(device: { backend?: string }): boolean {
  return device.backend === 'cpu';
}

/** Bytes fleetrt's kernels may keep for `op` beside its weights (0 for most ops). */
export function preparedBytes(graph: IRGraph, op: string): number {
  const node = graph.op(op);
  const domain = node.domain ?? '';
  const isMatMul = node.opType === 'MatMul' && domain === '';
  const isGemm = node.opType === 'Gemm' && domain === '';
  const isFusedMatMul = node.opType === 'FusedMatMul' && (domain === 'com.microsoft' || domain === 'fleetc');
  const isConv = (node.opType === 'Conv' && domain === '') || (node.opType === 'FusedConv' && domain === 'fleetc');
  if (!isMatMul && !isGemm && !isFusedMatMul && !isConv) return 0;
  const w = constantFloat(graph, graph.opInputs(op)[1]);
  if (!w) return 0;
  if (isConv) {
    const group = intAttr(graph, op, 'group', 1);
    const x = graph.value(graph.opInputs(op)[0]!).shape;
    const channels = typeof x?.[1] === 'number' ? x[1] : undefined;
    const depth = w.slice(1).reduce((a, b) => a * b, 1);
    // depthwise: read in place, unless blocked
    if (group > 1 && group === channels && w[1] === 1) return blocked(graph, op) ? 4 * w[0]! * depth : 0;
    const perGroup = Math.ceil(w[0]! / group);
    return Math.max(
      4 * group * Math.ceil(perGroup / PANEL_COLUMNS) * PANEL_COLUMNS * depth,
      winogradBytes(graph, op, w, group),
    );
  }
  if (w.length !== 2) return 0;
  const transB = intAttr(graph, op, 'transB', 0) === 1;
  const [k, n] = transB ? [w[1]!, w[0]!] : [w[0]!, w[1]!];
  return 4 * k * Math.ceil(n / PANEL_COLUMNS) * PANEL_COLUMNS;
}

/**
 * Winograd's transformed filters (native/src/kernels/nn_conv_winograd.cpp): a 3×3 stride-1
 * undilated conv of one group, 64 channels or more in and out, over 16 output tiles of 2×2 or
 * more keeps, per filter and channel, 16 values (F(2×2, 3×3)) or 36 (F(4×4, 3×3), which some CPUs
 * take from 16 tiles of 4×4), the filters in row panels of 12. 0 for other convs.
 */
function winogradBytes(graph: IRGraph, op: string, w: number[], group: number): number {
  if (group !== 1 || w.length !== 4) return 0;
  const [filters, channels, kh, kw] = w as [number, number, number, number];
  if (kh !== 3 || kw !== 3 || filters < 64 || channels < 64) return 0;
  if (!ones(graph, op, 'strides') || !ones(graph, op, 'dilations')) return 0;
  const out = graph.value(graph.opOutputs(op)[0]!).shape;
  const [oh, ow] = [out?.[2], out?.[3]];
  if (out?.length !== 4 || typeof oh !== 'number' || typeof ow !== 'number') return 0;
  const tiles = (m: number): number => Math.ceil(oh / m) * Math.ceil(ow / m);
  if (tiles(2) < 16) return 0;
  const transformed = tiles(4) >= 16 ? 36 : 16;
  return 4 * transformed * Math.ceil(filters / WINOGRAD_ROWS) * WINOGRAD_ROWS * channels;
}

/** Bytes fleetrt's kernels may keep beside the weights for the ops of a program. */
export function programPreparedBytes(graph: IRGraph, ops: readonly string[]): number {
  let total = 0;
  for (const op of ops) {
    total += preparedBytes(graph, op);
    for (const [, sub] of graph.subgraphs(op)) total += programPreparedBytes(sub, sub.ops());
  }
  return total;
}

/** The static shape of a float weight (a constant input), else undefined. */
function constantFloat(graph: IRGraph, value: string | undefined): number[] | undefined {
  if (!value) return undefined;
  const v = graph.value(value);
  if (v.role !== 'weight' || !v.dtype || !FLOAT_WEIGHTS.has(v.dtype) || !v.shape) return undefined;
  return v.shape.every((d) => typeof d === 'number') ? (v.shape as number[]) : undefined;
}

function blocked(graph: IRGraph, op: string): boolean {
  const a = graph.op(op).attrs.layout;
  return a?.type === 'string' && a.value === 'NCHW8c';
}

/** Whether an ints attribute is absent or all ones. */
function ones(graph: IRGraph, op: string, name: string): boolean {
  const a = graph.op(op).attrs[name];
  return a === undefined || (a.type === 'ints' && a.value.every((v) => v === 1));
}

function intAttr(graph: IRGraph, op: string, name: string, fallback: number): number {
  const a = graph.op(op).attrs[name];
  return a?.type === 'int' ? a.value : fallback;
}
