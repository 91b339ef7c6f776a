// Internal: Conv as a packed GEMM with the output positions as the row side (nn_conv_gemm.cpp;
// nn_conv.cpp decides when to use it). Tile[p, m] = Σ_k col[k, p] · W[m, k], where col is the
// im2col matrix: each panel of 12 (AVX2: 6) positions' window values for one depth block is
// gathered from the (zero-padded) input straight into the SGEMM microkernel's row panel, and Wᵀ
// lies in its column panels, packed once per op while W is constant. Every filter is read once
// per call (the direct kernels read them once per block of positions), the filters split over
// the threads, and positions round up to 12 rather than 32: the path for 14×14 and 7×7 layers
// with hundreds of filters. The tile is transposed into the output with the epilogue applied.
#pragma once

#include <cstdint>

#include "fused_epilogue.h"
#include "kernel_util.h"

namespace fleetrt {
namespace convgemm {

// Whether this CPU has a microkernel for the path (AVX2 or AVX-512).
bool available();

// The conv of N images of C channels (2-D with any kernel, stride, dilation and padding, or
// unpadded 1×1 over any spatial rank) into y, bias and epilogue applied; false (nothing
// written) where it does not apply.
bool run(KernelContext& ctx, const float* x, const float* w, const float* bias, float* y, int64_t N, int64_t C,
         int64_t M, int64_t group, const ku::WindowGeom& g, const ConvEpilogue* ep);

// Internal (nn_conv_gemm_avx512.cpp): one position panel as runs of lanes that read the input
// contiguously, lane r of run q at base + shift[q] + r for the lanes in mask[q] (the others zero);
// rows <= 16 lanes per im2col row.
struct PanelRuns {
  int count = 0, rows = 0;
  int64_t shift[4];
  uint32_t mask[4];
};
// dst[k][rows] for im2col rows k0 .. k0 + kc − 1, row k = (c, t) reading img + c·plane + taps[t].
void pack_runs_avx512(const PanelRuns& pr, const float* img, int64_t plane, const int64_t* taps, int64_t ntaps,
                      int64_t k0, int64_t kc, float* dst);

// dst[c·ldd + r] = blk[r·ldb + c] for r < mr (<= 16), c < nr: a [position][filter] block of the
// tile into nr output rows, by 16×16 register transposes (rows past mr are read, not stored).
void transpose_tile_avx512(const float* blk, int64_t ldb, int64_t mr, int64_t nr, float* dst, int64_t ldd);

}  // namespace convgemm
}  // namespace fleetrt
