// What a device runs: op families a fleet file can name, and the one check every placement uses.
import type { DType } from '../src/ir/dtype.js';
import type { DeviceSpec } from './device.js';
import { cudaKernel } from './gpu/cuda-ops.js';

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

/** Families no accelerator runs: strings and sequences live in host memory. */
export const HOST_ONLY = ['@strings', '@sequences'];

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
 * (gpu/cuda-ops.ts), and holds tensors only (`container`: the op reads or makes a sequence or
 * optional, which stay in host memory).
 */
export function refusal(
  device: DeviceSpec,
  opType: string,
  dtypes: readonly (DType | null)[],
  domain = '',
  container = false,
): string | null {
  if (device.ops.allow && !expandOpList(device.ops.allow).has(opType))
    return `${opType} is not in ${device.id}'s allow list`;
  if (expandOpList(device.ops.deny).has(opType)) return `${device.class} device ${device.id} does not run ${opType}`;
  for (const dt of dtypes) {
    if (dt && !device.dtypes.includes(dt)) return `${device.id} does not compute in ${dt}`;
  }
  if (device.backend === 'cuda') {
    if (container) return 'the cuda backend holds tensors only (not sequences or optionals)';
    const qualified = domain && domain !== 'ai.onnx' ? `${domain}.${opType}` : opType;
    const kernel = cudaKernel(domain, opType);
    if (!kernel) return `the cuda backend has no ${qualified} kernel`;
    for (const dt of dtypes)
      if (dt && !kernel.dtypes.includes(dt)) return `the cuda ${qualified} kernel does not take ${dt}`;
  }
  return null;
}
