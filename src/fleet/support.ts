import type { DType } from '../ir/dtype.js';
import { cudaKernel } from './cuda-ops.js';
import type { Device, DeviceClass } from './types.js';

/** Op families a fleet file can name with '@family' in allow/deny lists. */
export const OP_FAMILIES: Record<string, string[]> = {
  strings: ['StringNormalizer', 'StringConcat', 'StringSplit', 'RegexFullMatch', 'TfIdfVectorizer', 'LabelEncoder'],
  sequences: [
    'SequenceEmpty',
    'SequenceConstruct',
    'SequenceAt',
    'SequenceInsert',
    'SequenceErase',
    'SequenceLength',
    'SplitToSequence',
    'ConcatFromSequence',
    'SequenceMap',
    'Optional',
    'OptionalHasElement',
    'OptionalGetElement',
  ],
  'data-dependent': ['NonZero', 'Unique', 'Compress', 'NonMaxSuppression', 'TopK'],
  'control-flow': ['If', 'Loop', 'Scan'],
  random: ['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli', 'Multinomial'],
  'dense-math': [
    'MatMul',
    'Gemm',
    'Conv',
    'ConvTranspose',
    'Einsum',
    'MatMulInteger',
    'QLinearMatMul',
    'FusedMatMul',
    'Attention',
    'MultiHeadAttention',
    'GroupQueryAttention',
  ],
};

const HOST_ONLY = ['@strings', '@sequences'];

/** What each class runs unless the fleet file says otherwise. */
export const CLASS_DEFAULTS: Record<DeviceClass, { deny: string[]; allow?: string[]; dtypes: DType[] }> = {
  cpu: {
    deny: [],
    dtypes: [
      'float32',
      'float64',
      'float16',
      'bfloat16',
      'int8',
      'uint8',
      'int16',
      'uint16',
      'int32',
      'uint32',
      'int64',
      'uint64',
      'bool',
      'string',
    ],
  },
  gpu: {
    deny: [...HOST_ONLY],
    dtypes: [
      'float32',
      'float64',
      'float16',
      'bfloat16',
      'int8',
      'uint8',
      'int16',
      'int32',
      'int64',
      'bool',
      'float8e4m3fn',
      'float8e5m2',
    ],
  },
  hpu: {
    deny: [...HOST_ONLY, '@data-dependent'],
    dtypes: ['float32', 'bfloat16', 'float16', 'int8', 'int32', 'int64', 'bool', 'float8e4m3fn'],
  },
  npu: {
    deny: [...HOST_ONLY, '@data-dependent', '@control-flow'],
    dtypes: ['float16', 'int8', 'int32', 'bool', 'float32'],
  },
  // IPUs compile static graphs: no data-dependent shapes, no 64-bit types.
  ipu: {
    deny: [...HOST_ONLY, '@data-dependent', '@random'],
    dtypes: ['float32', 'float16', 'int32', 'uint32', 'int16', 'uint16', 'int8', 'uint8', 'bool'],
  },
  dataflow: {
    deny: [...HOST_ONLY, '@data-dependent', '@control-flow', '@random'],
    dtypes: ['float32', 'bfloat16', 'float16', 'int32', 'bool'],
  },
};

export function expandOpList(list: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const item of list) {
    if (item.startsWith('@')) for (const op of OP_FAMILIES[item.slice(1)] ?? []) out.add(op);
    else out.add(item);
  }
  return out;
}

/**
 * Why `device` cannot run an op of this type on these element types, or null when it can. A
 * `backend: cuda` device runs exactly the ops and element types of fleetrt's cuda kernel set
 * (cuda-ops.json).
 */
export function refusal(device: Device, opType: string, dtypes: readonly (DType | null)[], domain = ''): string | null {
  if (device.ops.allow && !expandOpList(device.ops.allow).has(opType))
    return `${opType} is not in ${device.id}'s allow list`;
  if (expandOpList(device.ops.deny).has(opType)) return `${device.class} device ${device.id} does not run ${opType}`;
  for (const dt of dtypes) {
    if (dt && !device.dtypes.includes(dt)) return `${device.id} does not compute in ${dt}`;
  }
  if (device.backend === 'cuda') {
    const qualified = domain && domain !== 'ai.onnx' ? `${domain}.${opType}` : opType;
    const kernel = cudaKernel(domain, opType);
    if (!kernel) return `the cuda backend has no ${qualified} kernel`;
    for (const dt of dtypes)
      if (dt && !kernel.dtypes.includes(dt)) return `the cuda ${qualified} kernel does not take ${dt}`;
  }
  return null;
}
