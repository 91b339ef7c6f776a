// Device-side helpers of the cuda kernels: element loads and stores by run-time element type
// (one kernel serves every dtype, which keeps the build small), and broadcast offsets.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "backends/cuda/cuda_context.h"

namespace fleetrt {
namespace cuda {

// DType codes as ints for device code.
enum : int { kF32 = 1, kU8 = 2, kI8 = 3, kI32 = 6, kI64 = 7, kBool = 9, kF16 = 10, kF64 = 11, kBF16 = 16 };

__device__ __forceinline__ float load_f(const void* p, int dt, int64_t i) {
  switch (dt) {
    case kF32: return static_cast<const float*>(p)[i];
    case kF16: return __half2float(static_cast<const __half*>(p)[i]);
    case kBF16: return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    case kF64: return static_cast<float>(static_cast<const double*>(p)[i]);
    case kI64: return static_cast<float>(static_cast<const int64_t*>(p)[i]);
    case kI32: return static_cast<float>(static_cast<const int32_t*>(p)[i]);
    case kI8: return static_cast<float>(static_cast<const int8_t*>(p)[i]);
    case kU8: case kBool: return static_cast<float>(static_cast<const uint8_t*>(p)[i]);
  }
  return 0.f;
}

__device__ __forceinline__ void store_f(void* p, int dt, int64_t i, float v) {
  switch (dt) {
    case kF32: static_cast<float*>(p)[i] = v; break;
    case kF16: static_cast<__half*>(p)[i] = __float2half_rn(v); break;
    case kBF16: static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(v); break;
    case kF64: static_cast<double*>(p)[i] = v; break;
    case kBool: static_cast<uint8_t*>(p)[i] = v != 0.f; break;
  }
}

__device__ __forceinline__ int64_t load_i(const void* p, int dt, int64_t i) {
  switch (dt) {
    case kI64: return static_cast<const int64_t*>(p)[i];
    case kI32: return static_cast<const int32_t*>(p)[i];
    case kI8: return static_cast<const int8_t*>(p)[i];
    case kU8: case kBool: return static_cast<const uint8_t*>(p)[i];
  }
  return 0;
}

__device__ __forceinline__ void store_i(void* p, int dt, int64_t i, int64_t v) {
  switch (dt) {
    case kI64: static_cast<int64_t*>(p)[i] = v; break;
    case kI32: static_cast<int32_t*>(p)[i] = static_cast<int32_t>(v); break;
    case kI8: static_cast<int8_t*>(p)[i] = static_cast<int8_t>(v); break;
    case kU8: static_cast<uint8_t*>(p)[i] = static_cast<uint8_t>(v); break;
    case kBool: static_cast<uint8_t*>(p)[i] = v != 0; break;
  }
}

__host__ __device__ __forceinline__ bool is_float_code(int dt) { return dt == kF32 || dt == kF16 || dt == kBF16 || dt == kF64; }

// Element offset of output index i in an operand with dims d.
__device__ __forceinline__ int64_t bcast_offset(const Dims& d, int64_t i) {
  int64_t off = 0;
  for (int k = d.rank - 1; k >= 0; --k) {
    const int64_t idx = i % d.size[k];
    i /= d.size[k];
    off += idx * d.stride[k];
  }
  return off;
}

}  // namespace cuda
}  // namespace fleetrt
