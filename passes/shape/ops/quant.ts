import type { ShapeFn } from '../context.js';
import { t } from './util.js';

export const QUANT_OPS: Record<string, ShapeFn> = {
  QuantizeLinear: (c) => [t((c.has(2) ? c.dtype(2) : null) ?? c.attrDType('output_dtype') ?? 'uint8', c.shape(0))],
  DequantizeLinear: (c) => [
    t(c.attrDType('output_dtype') ?? (c.opset >= 19 ? c.dtype(1) : null) ?? 'float32', c.shape(0)),
  ],
  DynamicQuantizeLinear: (c) => [t('uint8', c.shape(0)), t('float32', []), t('uint8', [])],
};
