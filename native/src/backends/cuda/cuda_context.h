// What the cuda backend's kernels share: the device context (stream, cuBLAS handle, properties)
// they reach through KernelContext::device_context(), error helpers, and the registration macro
// that also records which element types a kernel takes (the table `fleetrt --list-kernels
// --backend cuda` prints and scripts/gen-cuda-ops.mjs exports for the compiler).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "backends/cuda/cuda_blas.h"
#include "fleetrt/kernel.h"

namespace fleetrt {
namespace cuda {

struct CudaContext {
  const BlasApi* api = nullptr;  // cuBLAS entry points
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  bool tf32 = false;             // FLEETRT_CUDA_TF32=1: fp32 GEMMs may use TF32 tensor cores
  int multiprocessors = 1;
  void* blas_workspace = nullptr;
  size_t blas_workspace_bytes = 0;
};

// The cuda context of the kernel's device; an error when the op runs on another backend.
Status get_context(KernelContext& ctx, CudaContext** out);

Status cuda_status(cudaError_t e, const char* what);
Status blas_status(cublasStatus_t e, const char* what);  // names the status when cuBLAS is loaded
#define FLEETRT_CUDA_CHECK(expr) FLEETRT_RETURN_IF_ERROR(::fleetrt::cuda::cuda_status((expr), #expr))
#define FLEETRT_CUBLAS_CHECK(expr) FLEETRT_RETURN_IF_ERROR(::fleetrt::cuda::blas_status((expr), #expr))
// After a kernel launch: a launch error (bad configuration) as a Status.
#define FLEETRT_CUDA_LAUNCHED() FLEETRT_CUDA_CHECK(cudaGetLastError())

Status op_error(KernelContext& ctx, const std::string& msg);

// Element types a cuda kernel takes, by (domain, op): one comma-separated list of numpy-style
// names covering all of its tensors. Kernels check their tensors against it (check_dtypes), and
// the compiler's op-support profile of `backend: cuda` devices is generated from these lists.
bool register_dtypes(const char* domain, const char* op_type, const char* dtypes);
const std::vector<std::string>* kernel_dtypes(const std::string& domain, const std::string& op_type);
// The op's data inputs have element types of its kernel's list (int32/int64 inputs after the
// first are shapes, axes or indices, which each kernel checks itself).
Status check_dtypes(KernelContext& ctx);

// Registers a cuda kernel with its element types. Written on one line so that
// scripts/gen-cuda-ops.mjs can read the registrations from the sources.
#define FLEETRT_CUDA_KERNEL(domain, op_type, fn, dtypes)                    \
  FLEETRT_REGISTER_BACKEND_KERNEL("cuda", domain, op_type, fn);           \
  static const bool FLEETRT_CONCAT(fleetrt_cuda_dtypes_, __COUNTER__) =    \
      ::fleetrt::cuda::register_dtypes(domain, op_type, dtypes)

// Launch geometry for n elements (grid-stride loops cap the grid).
inline unsigned grid_for(int64_t n, int block = 256) {
  int64_t g = (n + block - 1) / block;
  if (g > 65535 * 8) g = 65535 * 8;
  return static_cast<unsigned>(g < 1 ? 1 : g);
}

// Shapes and strides passed to kernels by value.
constexpr int kMaxRank = 8;
struct Dims {
  int rank = 0;
  int64_t size[kMaxRank] = {};
  int64_t stride[kMaxRank] = {};  // element strides of the operand (0 where broadcast)
};

// Output shape of a numpy broadcast of `shapes`; false when they do not broadcast.
bool broadcast_shape(const std::vector<std::vector<int64_t>>& shapes, std::vector<int64_t>* out);
// Strides of `shape` read as the broadcast `out` (right-aligned, 0 on broadcast dims).
Dims broadcast_dims(const std::vector<int64_t>& shape, const std::vector<int64_t>& out);
// The integer values of a host tensor (int32 or int64).
bool host_ints(const Tensor* t, std::vector<int64_t>* out);

}  // namespace cuda
}  // namespace fleetrt
