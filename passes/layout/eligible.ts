import type { IRGraph } from '../../src/ir/graph.js';
import { FLEETC_DOMAIN } from '../fuse/conv.js';
import { staticShape } from '../fuse/util.js';
import { BLOCK, layoutOf } from './reorder.js';

/**
 * The conv shapes that run faster blocked: 1×1 over all channels, 3×3 per channel, and a stem (a
 * dense conv of a few plain input channels, RGB, written blocked: it reads its X plain).
 */
export type BlockedConvKind = 'pointwise' | 'depthwise' | 'stem';

/** Input channels a stem may have (fleetrt's kStemChannels). */
export const STEM_CHANNELS = 8;

/**
 * The inputs of a blocked FusedConv that are blocked too: X (but a stem's) and the residual Z
 * (W and B stay as ONNX gives them).
 */
export function blockedInputs(kind: BlockedConvKind): readonly number[] {
  return kind === 'stem' ? [3] : [0, 3];
}

/** A value's channels (dim 1) when it is 4-D with a static channel count; batch and spatial dims may be symbols. */
function channels(graph: IRGraph, value: string): number | undefined {
  const s = graph.value(value).shape;
  return s?.length === 4 && typeof s[1] === 'number' ? s[1] : undefined;
}

const equal = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Which blocked kernel an op would run: a float32 ONNX Conv or fleetc FusedConv over
 * [N, C, H, W] → [N, M, OH, OW] with static C and M (N, H and W may be symbols), M a multiple of
 * the block, a constant filter, no dilation or auto padding, that is pointwise (group 1, 1×1,
 * stride 1, no padding, C a multiple of the block), depthwise (group = C = M, 3×3, stride 1 or
 * 2, padding 1) or a stem (group 1, C up to STEM_CHANNELS, any kernel, stride and padding).
 * Undefined for any other op, and for a conv that has a layout already.
 */
export function blockedConvKind(graph: IRGraph, id: string): BlockedConvKind | undefined {
  const op = graph.op(id);
  const isConv = op.domain === '' && op.opType === 'Conv';
  const isFusedConv = op.domain === FLEETC_DOMAIN && op.opType === 'FusedConv';
  if ((!isConv && !isFusedConv) || layoutOf(op) !== undefined) return undefined;
  const [x, w] = graph.opInputs(id);
  const [y] = graph.opOutputs(id);
  if (x === undefined || w === undefined || y === undefined) return undefined;
  if (graph.value(y).dtype !== 'float32') return undefined;
  const c = channels(graph, x);
  const m = channels(graph, y);
  if (c === undefined || m === undefined || m % BLOCK !== 0) return undefined;
  const filter = graph.value(w);
  if (filter.role !== 'weight' || graph.producer(w)) return undefined;

  const ints = (name: string): number[] | undefined => {
    const a = op.attrs[name];
    return a?.type === 'ints' ? a.value : undefined;
  };
  const autoPad = op.attrs.auto_pad;
  if (autoPad && !(autoPad.type === 'string' && autoPad.value === 'NOTSET')) return undefined;
  if (!(ints('dilations') ?? [1, 1]).every((d) => d === 1)) return undefined;
  const groupAttr = op.attrs.group;
  const group = groupAttr?.type === 'int' ? groupAttr.value : 1;
  const kernel = ints('kernel_shape') ?? staticShape(graph, w)?.slice(2);
  if (!kernel) return undefined;
  const strides = ints('strides') ?? [1, 1];
  const pads = ints('pads') ?? [0, 0, 0, 0];

  if (kernel.length !== 2) return undefined;
  if (group === 1 && c % BLOCK !== 0) return c <= STEM_CHANNELS ? 'stem' : undefined;
  if (c % BLOCK !== 0) return undefined;
  if (group === 1 && equal(kernel, [1, 1]) && equal(strides, [1, 1]) && equal(pads, [0, 0, 0, 0])) return 'pointwise';
  if (
    group === c &&
    c === m &&
    equal(kernel, [3, 3]) &&
    (equal(strides, [1, 1]) || equal(strides, [2, 2])) &&
    equal(pads, [1, 1, 1, 1])
  )
    return 'depthwise';
  return undefined;
}
