// Device routines the cuda kernels share across files (implemented in cuda_data.cu).
#pragma once

#include "backends/cuda/cuda_context.h"

namespace fleetrt {
namespace cuda {

// Output i with `shape` (checked against the plan) of element type `dtype`; *out is null when the
// model does not use that output (only multi-output kernels need to check).
Status alloc_output(KernelContext& ctx, int i, const std::vector<int64_t>& shape, DType dtype, Tensor** out);
// Zero-fills t on the stream.
Status fill_zero(CudaContext& c, Tensor* t);
// Copies `src` numpy-broadcast into `dst` (same element type).
Status broadcast_copy(CudaContext& c, const Tensor& src, Tensor* dst);
// Copies t's bytes into out (same size) on the stream.
Status copy_tensor(CudaContext& c, const Tensor& src, Tensor* dst);

}  // namespace cuda
}  // namespace fleetrt
