import type { ShapeFn } from '../context.js';
import { broadcast, firstDType, range, sameAs, t } from './util.js';

const UNARY = [
  'Abs',
  'Acos',
  'Acosh',
  'Asin',
  'Asinh',
  'Atan',
  'Atanh',
  'Ceil',
  'Cos',
  'Cosh',
  'Erf',
  'Exp',
  'Floor',
  'Log',
  'Neg',
  'Reciprocal',
  'Relu',
  'Round',
  'Sigmoid',
  'Sign',
  'Sin',
  'Sinh',
  'Sqrt',
  'Tan',
  'Tanh',
  'Softplus',
  'Softsign',
  'Celu',
  'Elu',
  'Selu',
  'LeakyRelu',
  'HardSigmoid',
  'HardSwish',
  'Mish',
  'ThresholdedRelu',
  'Shrink',
  'Gelu',
  'Swish',
  'BitwiseNot',
  'Not',
  'Softmax',
  'LogSoftmax',
  'Hardmax',
  'CumSum',
  'CumProd',
  'Trilu',
  'LpNormalization',
  'LRN',
  'MeanVarianceNormalization',
  'ReverseSequence',
  'Clip',
  'Scatter',
  'ScatterElements',
  'ScatterND',
  'TensorScatter',
];

/** Same type as the first input, whatever the other inputs (axis, bounds, indices …). */
const unary: ShapeFn = sameAs(0);

/** Outputs the broadcast of all inputs, with the first input's element type. */
const nary: ShapeFn = (c) => {
  const idx = range(c.numInputs).filter((i) => c.has(i));
  return [t(firstDType(c, ...idx), broadcast(idx.map((i) => c.shape(i))))];
};

const compare: ShapeFn = (c) => [t('bool', broadcast([c.shape(0), c.shape(1)]))];

export const ELEMENTWISE_OPS: Record<string, ShapeFn> = {
  ...Object.fromEntries(UNARY.map((op) => [op, unary])),
  Identity: (c) => [{ ...c.input(0) }],
  ...Object.fromEntries(
    [
      'Add',
      'Sub',
      'Mul',
      'Div',
      'Pow',
      'Mod',
      'BitShift',
      'BitwiseAnd',
      'BitwiseOr',
      'BitwiseXor',
      'And',
      'Or',
      'Xor',
      'Max',
      'Min',
      'Mean',
      'Sum',
    ].map((op) => [op, nary]),
  ),
  ...Object.fromEntries(['Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual'].map((op) => [op, compare])),
  IsNaN: (c) => [t('bool', c.shape(0))],
  IsInf: (c) => [t('bool', c.shape(0))],
  // Slope broadcasts unidirectionally to X (before opset 7: along the channel axis): Y is X's shape.
  PRelu: (c) => [t(c.dtype(0), c.shape(0))],
  Where: (c) => [t(firstDType(c, 1, 2), broadcast([c.shape(0), c.shape(1), c.shape(2)]))],
  Dropout: (c) => [{ ...c.input(0) }, t(c.opset < 10 ? c.dtype(0) : 'bool', c.shape(0))],
  SwiGLU: (c) => [t(c.dtype(0), c.has(1) ? broadcast([c.shape(0), c.shape(1)]) : c.shape(0))],
  CastLike: (c) => [t(c.dtype(1), c.shape(0))],
  Cast: (c) => [t(c.attrDType('to') ?? null, c.shape(0))],
};
