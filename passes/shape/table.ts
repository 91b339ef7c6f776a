import type { ShapeFn } from './context.js';
import { CONTRIB_OPS } from './ops/contrib.js';
import { CONTROL_OPS } from './ops/control.js';
import { CONV_OPS } from './ops/conv.js';
import { ELEMENTWISE_OPS } from './ops/elementwise.js';
import { INDEX_OPS } from './ops/indexing.js';
import { LINALG_OPS } from './ops/linalg.js';
import { MISC_OPS } from './ops/misc.js';
import { NORM_OPS } from './ops/norm.js';
import { QUANT_OPS } from './ops/quant.js';
import { RANDOM_OPS } from './ops/random.js';
import { REDUCE_OPS } from './ops/reduce.js';
import { RNN_OPS } from './ops/rnn.js';
import { SEQUENCE_OPS } from './ops/sequence.js';
import { SHAPE_OPS } from './ops/shape.js';
import { SIGNAL_OPS } from './ops/signal.js';
import { STABLEHLO_OPS } from './ops/stablehlo.js';
import { STRING_OPS } from './ops/string.js';
import { FUSED_OPS } from './ops/fused.js';

/** Table key of an op: `Op` for ai.onnx, `domain:Op` otherwise. */
export function opKey(domain: string, opType: string): string {
  return domain === '' || domain === 'ai.onnx' ? opType : `${domain}:${opType}`;
}

/** Op → shape function, one family per file. */
export const SHAPE_FNS: ReadonlyMap<string, ShapeFn> = new Map(
  Object.entries({
    ...ELEMENTWISE_OPS,
    ...REDUCE_OPS,
    ...LINALG_OPS,
    ...CONV_OPS,
    ...SHAPE_OPS,
    ...INDEX_OPS,
    ...NORM_OPS,
    ...RNN_OPS,
    ...RANDOM_OPS,
    ...QUANT_OPS,
    ...STRING_OPS,
    ...SIGNAL_OPS,
    ...SEQUENCE_OPS,
    ...CONTROL_OPS,
    ...MISC_OPS,
    ...CONTRIB_OPS,
    ...STABLEHLO_OPS,
    ...FUSED_OPS,
  }),
);

export function lookupShapeFn(domain: string, opType: string): ShapeFn | undefined {
  return SHAPE_FNS.get(opKey(domain, opType));
}

/** Every op with a shape function, as `Op` or `domain:Op`, sorted. */
export function supportedOps(): string[] {
  return [...SHAPE_FNS.keys()].sort();
}
