// Internal: axis permutation of a contiguous tensor (Transpose, and layout changes other kernels
// need). Dims are coalesced first; a permutation that keeps the innermost axis copies runs, one that
// moves it is a batch of 2-D transposes done in L1-sized tiles (for 4-byte elements: 16×16 blocks,
// in registers with AVX-512, as four 8×8 register transposes with AVX2), split across the pool.
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
// d[i·ds + j] = s[j·ss + i] for i < rows, j < cols (float elements). stream: the 16×16 blocks are
// written with non-temporal stores (then d and ds·4 are multiples of 64 bytes), fenced at the end.
void tile_f32_avx2(const float* s, int64_t ss, float* d, int64_t ds, int64_t rows, int64_t cols, bool stream);
void tile_f32_avx512(const float* s, int64_t ss, float* d, int64_t ds, int64_t rows, int64_t cols, bool stream);
// The same for the part of the tile outside [0, r0) × [0, c0) (plain stores; AVX2).
void edges_f32(const float* s, int64_t ss, float* d, int64_t ds, int64_t rows, int64_t cols, int64_t r0, int64_t c0);
}  // namespace transpose_detail

}  // namespace ku
}  // namespace fleetrt
