// Internal: the AVX-512 transforms of F(2×2, 3×3) (nn_conv_winograd_avx512.cpp), for
// nn_conv_winograd.cpp, which calls them only after ku::use_avx512(). ξ = 4·i + j numbers the 16
// elements of a transformed 4×4 array (row i, column j).
#pragma once

#include <cstdint>

namespace fleetrt {
namespace winograd {

// The four input rows iy0 .. iy0 + 3 of one channel's H×W plane xc, zero-padded (column k holds
// input column k − pl) and combined by Bᵀ down the columns: d[i·ld + k], k < ld. Rows outside the
// plane are zeros; ld ≥ 2·(tiles in the row) + 32 (input_tiles reads that far).
void input_rows_avx512(const float* xc, int64_t H, int64_t W, int64_t iy0, int64_t pl, float* d, int64_t ld);
// V of the tiles tx0 .. tx1 − 1 of that tile row (tile tx reads columns 2·tx .. 2·tx + 3 of d):
// dst[ξ·xi_stride + (tx − tx0)].
void input_tiles_avx512(const float* d, int64_t ld, int64_t tx0, int64_t tx1, float* dst, int64_t xi_stride);
// The output tile rows of n tiles from their products mat[ξ·xi_stride + i] (i < n): tile i's
// 2×2 outputs at r0[2i], r0[2i + 1] (upper row) and r1[2i], r1[2i + 1].
void output_tiles_avx512(const float* mat, int64_t xi_stride, int64_t n, float* r0, float* r1);

}  // namespace winograd
}  // namespace fleetrt
