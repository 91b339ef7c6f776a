// Kinds of work a device prices differently: dense math reaches a fraction of peak that
// element-wise loops and data movement do not, and shape arithmetic costs only its dispatch.
// `fleetc tune` fits one line per device and kind (roofline.ts, DeviceFit).

export const WORK_KINDS = ['matmul', 'conv', 'attention', 'elementwise', 'reduce', 'data', 'shape', 'other'] as const;
export type WorkKind = (typeof WORK_KINDS)[number];

const KIND: Record<string, WorkKind> = {};
const put = (kind: WorkKind, ops: string[]): void => ops.forEach((o) => (KIND[o] = kind));

put('matmul', ['MatMul', 'Gemm', 'FusedMatMul', 'MatMulInteger', 'QLinearMatMul', 'Einsum', 'dot_general', 'dot']);
put('conv', ['Conv', 'ConvTranspose', 'FusedConv', 'QLinearConv', 'ConvInteger', 'convolution']);
put('attention', [
  'Attention',
  'MultiHeadAttention',
  'GroupQueryAttention',
  'PagedAttention',
  'KvGather',
  'KvAppend',
  'SkipLayerNormalization',
]);
put('reduce', [
  'ReduceSum',
  'ReduceMean',
  'ReduceMax',
  'ReduceMin',
  'ReduceProd',
  'ReduceL1',
  'ReduceL2',
  'ReduceLogSumExp',
  'ReduceSumSquare',
  'Softmax',
  'LogSoftmax',
  'LayerNormalization',
  'SimplifiedLayerNormalization',
  'RMSNormalization',
  'SkipSimplifiedLayerNormalization',
  'BatchNormalization',
  'InstanceNormalization',
  'GroupNormalization',
  'ArgMax',
  'ArgMin',
  'TopK',
  'CumSum',
  'reduce',
]);
put('data', [
  'Gather',
  'GatherElements',
  'GatherND',
  'Scatter',
  'ScatterElements',
  'ScatterND',
  'Concat',
  'Split',
  'Slice',
  'Transpose',
  'Reorder',
  'Expand',
  'Tile',
  'Pad',
  'Resize',
  'DepthToSpace',
  'SpaceToDepth',
  'OneHot',
  'NonZero',
  'Compress',
  'Trilu',
  'TensorScatter',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'transpose',
  'concatenate',
  'slice',
  'dynamic_slice',
  'dynamic_update_slice',
  'gather',
  'scatter',
  'pad',
  'broadcast_in_dim',
]);
put('shape', [
  'Shape',
  'Size',
  'Reshape',
  'Squeeze',
  'Unsqueeze',
  'Flatten',
  'Identity',
  'Constant',
  'ConstantOfShape',
  'Range',
  'KvShape',
  'reshape',
  'constant',
  'iota',
  'get_dimension_size',
]);
put('other', ['If', 'Loop', 'Scan', 'LSTM', 'GRU', 'RNN', 'while', 'case', 'if']);

/** The kind of work of an op type; element-wise for everything not listed (arithmetic, activations, casts, compares, Where). */
export function workKind(opType: string, _domain = ''): WorkKind {
  return KIND[opType] ?? 'elementwise';
}

/**
 * The op line a calibrated device prices an op by, when its kernels run off their kind's line
 * (`fleetc tune`): the op type, after its domain when it has one (fleetc's FusedMatMul is not
 * com.microsoft's), and for a convolution its number of spatial dimensions too, as in `Conv.1d` —
 * a small 1-D convolution runs its FLOPs several times slower than the 2-D ones its kind's line is
 * mostly fitted to. `inputRank` is the rank of the op's first input.
 */
export function opLine(opType: string, inputRank?: number, domain = ''): string {
  const name = domain && domain !== 'ai.onnx' ? `${domain}:${opType}` : opType;
  return workKind(opType) === 'conv' && inputRank !== undefined && inputRank >= 3 ? `${name}.${inputRank - 2}d` : name;
}

/**
 * What a calibration keys an op's own measured time by (`fleetc tune`): its op line, FLOPs and
 * bytes. The same op at the same sizes has the same key in every build; at other sizes (other
 * bindings, another model) it has none, and its line prices it.
 */
export function workKey(w: { opType: string; line?: string; flops: number; bytes: number }): string {
  return `${w.line ?? w.opType}|${w.flops}|${w.bytes}`;
}
