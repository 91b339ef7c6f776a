import { add, floorDiv, mul, sub, type Dim } from '../../../src/ir/sym.js';
import type { ShapeFn } from '../context.js';
import { normAxis, t } from './util.js';

const dft: ShapeFn = (c) => {
  const s = c.shape(0);
  if (!s) return [t(c.dtype(0), null)];
  const axis = c.opset >= 20 ? (c.has(2) ? (c.scalar(2) as number | undefined) : -2) : c.attrInt('axis', 1);
  if (typeof axis !== 'number') return [t(c.dtype(0), [...c.freshShape(s.length - 1), 2])];
  const a = c.opset >= 20 ? normAxis(axis, s.length) : normAxis(axis, s.length);
  const given: Dim | undefined = c.has(1) ? (c.scalar(1) ?? c.fresh('n')) : undefined;
  const onesided = c.attrInt('onesided', 0) === 1;
  const inverse = c.attrInt('inverse', 0) === 1;
  const out = s.slice();
  if (onesided && inverse) {
    // Complex-to-real: a one-sided spectrum of n bins is a real signal of 2(n-1) samples.
    out[a] = given ?? mul(sub(s[a]!, 1), 2);
    out[out.length - 1] = 1;
  } else {
    const len = given ?? s[a]!;
    out[a] = onesided ? add(floorDiv(len, 2), 1) : len;
    out[out.length - 1] = 2;
  }
  return [t(c.dtype(0), out)];
};

const stft: ShapeFn = (c) => {
  const s = c.shape(0);
  const step = c.scalar(1);
  const frame: Dim | undefined = c.has(3) ? c.scalar(3) : c.shape(2)?.[0];
  const onesided = c.attrInt('onesided', 1) === 1;
  if (!s || step === undefined || frame === undefined)
    return [t(c.dtype(0), [s?.[0] ?? c.fresh('batch'), c.fresh('frames'), c.fresh('bins'), 2])];
  const frames = add(floorDiv(sub(s[1]!, frame), step), 1);
  const bins = onesided ? add(floorDiv(frame, 2), 1) : frame;
  return [t(c.dtype(0), [s[0]!, frames, bins, 2])];
};

const window: ShapeFn = (c) => [t(c.attrDType('output_datatype') ?? 'float32', [c.scalar(0) ?? c.fresh('n')])];

const melWeightMatrix: ShapeFn = (c) => {
  const bins = c.scalar(0) ?? c.fresh('mel');
  const dftLen = c.scalar(1);
  return [
    t(c.attrDType('output_datatype') ?? 'float32', [
      dftLen === undefined ? c.fresh('n') : add(floorDiv(dftLen, 2), 1),
      bins,
    ]),
  ];
};

export const SIGNAL_OPS: Record<string, ShapeFn> = {
  DFT: dft,
  STFT: stft,
  HannWindow: window,
  HammingWindow: window,
  BlackmanWindow: window,
  MelWeightMatrix: melWeightMatrix,
};
