// Internal: the transforms of F(2×2, 3×3) and F(4×4, 3×3) with AVX-512
// (nn_conv_winograd_avx512.cpp) and with AVX2 (nn_conv_winograd_avx2.cpp), for
// nn_conv_winograd.cpp, which calls each only after its CPU check. ξ = 4·i + j numbers the 16
// elements of a transformed 4×4 array (row i, column j).
#pragma once

#include <cstdint>

#include "fused_epilogue.h"

namespace fleetrt {
namespace winograd {

// F(2×2, 3×3) input transform: V = Bᵀ·d·B of the tiles tx0 .. tx1 − 1 of one tile row of one
// channel's H×W plane xc: tile tx reads rows iy0 .. iy0 + 3 and columns 2·tx − pl .. 2·tx − pl + 3,
// zero outside the plane; dst[ξ·xi_stride + (tx − tx0)]. F(4×4, 3×3): 6×6 patches (tile tx reads
// rows iy0 .. iy0 + 5 and columns 4·tx − pl .. 4·tx − pl + 5; ξ = 6·i + j).
using InputTiles = void(const float* xc, int64_t H, int64_t W, int64_t iy0, int64_t pl, int64_t tx0, int64_t tx1,
                        float* dst, int64_t xi_stride);
// The output tile rows of n tiles from their products mat[ξ·xi_stride + i] (i < n): F(2×2) tile
// i's 2×2 outputs at rows[0][2i], rows[0][2i + 1] (upper row) and rows[1][2i], rows[1][2i + 1];
// F(4×4) its 4×4 at rows[dy][4i + dx].
using OutputTiles = void(const float* mat, int64_t xi_stride, int64_t n, float* const* rows);

// A tile row's outputs stored straight into the conv's output with its epilogue in registers
// (AVX-512): output row dy at rows[dy] (nullptr: past the plane), its first `width` values (the
// tiles' columns past the plane dropped); x = sum + (bias + z[dy][i]) (no residual: + bias),
// then with clamp min(hi, max(lo, a·x + b)), as ConvEpilogue::apply_to computes them.
struct TileRowStores : StoreClamp {
  float* rows[4] = {};
  const float* z[4] = {};  // the residual's rows, or nullptr
  int64_t width = 0;
  float bias = 0.f;
};
using StoreTiles = void(const float* mat, int64_t xi_stride, int64_t n, const TileRowStores& st);

// 16 tiles a vector (AVX-512).
InputTiles input_tiles_avx512, input_tiles_f4_avx512;
OutputTiles output_tiles_avx512, output_tiles_f4_avx512;
StoreTiles store_tiles_avx512, store_tiles_f4_avx512;
// 8 tiles a vector (AVX2). The output transforms of a last group of fewer than 8 tiles read up to
// 8 values of each product row (mat) and write 16 (F(2×2)) or 32 (F(4×4)) of each output row.
InputTiles input_tiles_avx2, input_tiles_f4_avx2;
OutputTiles output_tiles_avx2, output_tiles_f4_avx2;

}  // namespace winograd
}  // namespace fleetrt
