// Internal: axis permutation of a contiguous tensor (Transpose, and layout changes other kernels
// need). Dims are coalesced first; a permutation that keeps the innermost axis copies runs, one that
// moves it is a batch of 2-D transposes done in cache-sized tiles (8×8 AVX2 register transposes for
// 4-byte elements), split across the pool.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fleetrt/kernel.h"

namespace fleetrt {
namespace ku {

// dst (contiguous) = src (contiguous, `shape`, elements of elem_size bytes, trivially copyable)
// with dst axis i = src axis perm[i]. ctx may be nullptr (one thread).
void permute(KernelContext* ctx, size_t elem_size, const void* src, const std::vector<int64_t>& shape,
             const std::vector<int64_t>& perm, void* dst);

namespace transpose_detail {
// d[i·ds + j] = s[j·ss + i] for i < rows, j < cols (float elements).
void tile_f32_avx2(const float* s, int64_t ss, float* d, int64_t ds, int64_t rows, int64_t cols);
}  // namespace transpose_detail

}  // namespace ku
}  // namespace fleetrt
