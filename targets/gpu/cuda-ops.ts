import type { DType } from '../../src/ir/dtype.js';
// The table stays where scripts/gen-cuda-ops.ts writes it beside the fleet schema.
import table from '../../src/fleet/cuda-ops.json' with { type: 'json' };

/** One kernel of fleetrt's cuda kernel set: its op and the element types its tensors may have. */
export interface CudaKernel {
  /** '' for ai.onnx. */
  domain: string;
  op: string;
  dtypes: DType[];
}

/**
 * The cuda kernel set, read from the registrations in native/src/backends/cuda/
 * (`FLEETRT_CUDA_KERNEL(domain, op, fn, "dtypes")`) by scripts/gen-cuda-ops.ts into cuda-ops.json;
 * test/fleet/cuda-ops.test.ts fails when the file and the sources disagree.
 */
export const CUDA_KERNELS: readonly CudaKernel[] = table.kernels as CudaKernel[];

const byKey = new Map(CUDA_KERNELS.map((k) => [`${k.domain}|${k.op}`, k]));

export function cudaKernel(domain: string, op: string): CudaKernel | undefined {
  return byKey.get(`${domain === 'ai.onnx' ? '' : domain}|${op}`);
}

/** The kernels registered in one C++/CUDA source text, in order. */
export function parseCudaRegistrations(text: string): CudaKernel[] {
  const out: CudaKernel[] = [];
  const re = /^\s*FLEETRT_CUDA_KERNEL\(\s*"([^"]*)"\s*,\s*"([^"]+)"\s*,\s*\w+\s*,\s*"([^"]*)"\s*\)\s*;/gm;
  for (const m of text.matchAll(re))
    out.push({
      domain: m[1]!,
      op: m[2]!,
      dtypes: m[3]!
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean) as DType[],
    });
  return out;
}

/** cuda-ops.json's content for the registrations of these sources (sorted, one entry per kernel). */
export function cudaOpsTable(sources: readonly string[]): { generatedBy: string; kernels: CudaKernel[] } {
  const kernels = sources.flatMap(parseCudaRegistrations);
  kernels.sort((a, b) => (a.domain === b.domain ? a.op.localeCompare(b.op) : a.domain.localeCompare(b.domain)));
  return { generatedBy: 'scripts/gen-cuda-ops.ts from native/src/backends/cuda/*.{cu,cpp}', kernels };
}
