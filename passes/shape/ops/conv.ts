import type { DType } from '../../../src/ir/dtype.js';
import { add, ceilDiv, floorDiv, mul, sub, type Dim, type Shape } from '../../../src/ir/sym.js';
import type { OpCtx, ShapeFn } from '../context.js';
import { ShapeError } from '../types.js';
import { needShape, t } from './util.js';

interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  autoPad: string;
}

function windowAttrs(c: OpCtx, spatial: number, kernelFromWeight?: Shape | null): Window {
  let kernel = c.attrInts('kernel_shape');
  if (!kernel && kernelFromWeight) {
    const ks = kernelFromWeight.slice(2);
    if (ks.every((d) => typeof d === 'number')) kernel = ks as number[];
  }
  if (!kernel) throw new ShapeError('kernel shape is unknown');
  if (kernel.length !== spatial)
    throw new ShapeError(`kernel_shape has ${kernel.length} dims, input has ${spatial} spatial dims`);
  const ones = kernel.map(() => 1);
  return {
    kernel,
    strides: c.attrInts('strides') ?? ones,
    dilations: c.attrInts('dilations') ?? ones,
    pads: c.attrInts('pads') ?? [...ones, ...ones].map(() => 0),
    autoPad: c.attrStr('auto_pad', 'NOTSET'),
  };
}

/** Output length of one spatial dim of a convolution or pooling window. */
function outLen(w: Window, i: number, len: Dim, ceilMode: boolean): Dim {
  const s = w.strides[i] ?? 1;
  const eff = ((w.kernel[i] ?? 1) - 1) * (w.dilations[i] ?? 1) + 1;
  if (w.autoPad === 'SAME_UPPER' || w.autoPad === 'SAME_LOWER') return ceilDiv(len, s);
  const padded = w.autoPad === 'VALID' ? len : add(len, (w.pads[i] ?? 0) + (w.pads[i + w.kernel.length] ?? 0));
  const span = sub(padded, eff);
  let out = add(ceilMode ? ceilDiv(span, s) : floorDiv(span, s), 1);
  // With ceil_mode, a last window that would start inside the end padding is dropped.
  if (ceilMode && typeof out === 'number' && typeof len === 'number' && (out - 1) * s >= len + (w.pads[i] ?? 0)) out--;
  return out;
}

function convLike(dtype: (c: OpCtx) => DType | null, x = 0, w = 1): ShapeFn {
  return (c) => {
    const xs = c.shape(x);
    const ws = c.shape(w);
    if (!xs) return [t(dtype(c), null)];
    const spatial = xs.length - 2;
    const win = windowAttrs(c, spatial, ws);
    const out: Dim[] = [xs[0]!, ws ? ws[0]! : c.fresh('c')];
    for (let i = 0; i < spatial; i++) out.push(outLen(win, i, xs[i + 2]!, false));
    return [t(dtype(c), out)];
  };
}

const convTranspose: ShapeFn = (c) => {
  const xs = c.shape(0);
  const ws = c.shape(1);
  if (!xs) return [t(c.dtype(0), null)];
  const spatial = xs.length - 2;
  const win = windowAttrs(c, spatial, ws);
  const group = c.attrInt('group', 1);
  const outPad = c.attrInts('output_padding') ?? win.kernel.map(() => 0);
  const given = c.attrInts('output_shape');
  const out: Dim[] = [xs[0]!, ws ? mul(ws[1]!, group) : c.fresh('c')];
  for (let i = 0; i < spatial; i++) {
    const len = xs[i + 2]!;
    const s = win.strides[i] ?? 1;
    if (given) out.push(given[given.length - spatial + i]!);
    else if (win.autoPad === 'SAME_UPPER' || win.autoPad === 'SAME_LOWER') out.push(mul(len, s));
    else {
      const eff = ((win.kernel[i] ?? 1) - 1) * (win.dilations[i] ?? 1) + 1;
      const pads = win.autoPad === 'VALID' ? 0 : (win.pads[i] ?? 0) + (win.pads[i + spatial] ?? 0);
      out.push(add(mul(sub(len, 1), s), (outPad[i] ?? 0) + eff - pads));
    }
  }
  return [t(c.dtype(0), out)];
};

function pool(withIndices: boolean): ShapeFn {
  return (c) => {
    const xs = c.shape(0);
    if (!xs) return withIndices ? [t(c.dtype(0), null), t('int64', null)] : [t(c.dtype(0), null)];
    const spatial = xs.length - 2;
    const win = windowAttrs(c, spatial);
    const ceilMode = c.attrInt('ceil_mode', 0) === 1;
    const out: Dim[] = [xs[0]!, xs[1]!];
    for (let i = 0; i < spatial; i++) out.push(outLen(win, i, xs[i + 2]!, ceilMode));
    return withIndices ? [t(c.dtype(0), out), t('int64', out)] : [t(c.dtype(0), out)];
  };
}

const globalPool: ShapeFn = (c) => {
  const xs = c.shape(0);
  return [t(c.dtype(0), xs ? [xs[0]!, xs[1]!, ...xs.slice(2).map(() => 1)] : null)];
};

const maxUnpool: ShapeFn = (c) => {
  const xs = c.shape(0);
  if (!xs) return [t(c.dtype(0), null)];
  if (c.has(2)) {
    const given = c.values(2);
    return [t(c.dtype(0), given ?? c.freshShape(xs.length))];
  }
  const spatial = xs.length - 2;
  const win = windowAttrs(c, spatial);
  const out: Dim[] = [xs[0]!, xs[1]!];
  for (let i = 0; i < spatial; i++) {
    const pads = (win.pads[i] ?? 0) + (win.pads[i + spatial] ?? 0);
    out.push(add(mul(sub(xs[i + 2]!, 1), win.strides[i] ?? 1), (win.kernel[i] ?? 1) - pads));
  }
  return [t(c.dtype(0), out)];
};

const col2im: ShapeFn = (c) => {
  const xs = needShape(c, 0, 3);
  const image = c.values(1);
  const block = c.intValues(2);
  const n = c.shape(1)?.[0];
  if (!block) {
    if (typeof n !== 'number') return [t(c.dtype(0), null)];
    return [t(c.dtype(0), [xs[0]!, c.fresh('c'), ...(image ?? c.freshShape(n, 'i'))])];
  }
  const channels = floorDiv(
    xs[1]!,
    block.reduce((a, b) => a * b, 1),
  );
  return [t(c.dtype(0), [xs[0]!, channels, ...(image ?? c.freshShape(block.length, 'i'))])];
};

const roiAlign: ShapeFn = (c) => {
  const xs = c.shape(0);
  const rois = c.shape(1);
  return [
    t(c.dtype(0), [
      rois?.[0] ?? c.fresh('rois'),
      xs?.[1] ?? c.fresh('c'),
      c.attrInt('output_height', 1),
      c.attrInt('output_width', 1),
    ]),
  ];
};

const maxRoiPool: ShapeFn = (c) => {
  const pooled = c.attrInts('pooled_shape') ?? [];
  return [t(c.dtype(0), [c.shape(1)?.[0] ?? c.fresh('rois'), c.shape(0)?.[1] ?? c.fresh('c'), ...pooled])];
};

const causalConvWithState: ShapeFn = (c) => {
  const xs = c.shape(0);
  const ws = c.shape(1);
  const k = ws?.[ws.length - 1];
  const state = c.has(3) ? c.shape(3) : xs && k !== undefined ? [xs[0]!, xs[1]!, sub(k, 1)] : null;
  return [t(c.dtype(0), xs), t(c.dtype(0), state)];
};

export const CONV_OPS: Record<string, ShapeFn> = {
  Conv: convLike((c) => c.dtype(0)),
  ConvInteger: convLike(() => 'int32'),
  QLinearConv: convLike((c) => c.dtype(7), 0, 3),
  DeformConv: convLike((c) => c.dtype(0)),
  ConvTranspose: convTranspose,
  MaxPool: pool(true),
  AveragePool: pool(false),
  LpPool: pool(false),
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  GlobalLpPool: globalPool,
  MaxUnpool: maxUnpool,
  Col2Im: col2im,
  RoiAlign: roiAlign,
  MaxRoiPool: maxRoiPool,
  CausalConvWithState: causalConvWithState,
};
