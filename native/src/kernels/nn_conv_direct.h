// Internal: direct 2-D convolution over phase planes (nn_conv.cpp drives it; the microkernels
// are in nn_conv_direct_avx2.cpp and nn_conv_direct_avx512.cpp).
//
// The input channels of one group are laid out as phase planes (see build_phases in nn_conv.cpp),
// each Wq wide, so that every kernel tap of every output position o (in the Wq-wide layout) reads
// phases[c·channel_stride + tap_offsets[t] + o]. Output channel m at position o is then
//   Σ_c Σ_t W[m, c, t] · phases[c·channel_stride + tap_offsets[t] + o],
// an implicit GEMM with no column matrix: the kernel keeps a block of sums in registers (AVX2:
// 4 channels × 24 positions, AVX-512: 8 × 32) and reads each input vector once per block.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "fused_epilogue.h"

namespace fleetrt {
namespace convdirect {

// An epilogue the kernels apply to the sums before they store them (the same operations as
// ConvEpilogue::apply_to, in the same order, so the same bits): x = sum + bias[m], or
// sum + (bias[m] + z[m·out_stride + o − o0]) with a residual; then, with clamp,
// min(hi, max(lo, x·a + b)).
struct StoreEpilogue : StoreClamp {
  const float* bias = nullptr;  // per output channel of the Problem, or nullptr (0)
  const float* z = nullptr;     // residual laid out as `out`, or nullptr
};

struct Problem {
  const float* phases;          // input channel c at phases + c·channel_stride
  int64_t channel_stride;
  int64_t channels;             // input channels of the group
  const int64_t* tap_offsets;   // ntaps offsets, relative to a channel's base
  int64_t ntaps;
  // Output channel m's weights at weights + m·weight_stride, [channels][ntaps] (weight_stride is
  // channels·ntaps, or more). packed_weights: instead, each block of Kernel::channels output
  // channels (the last one may be smaller: mb channels) lies at weights + m0·weight_stride as
  // [channels·ntaps][mb], so that a block's weights for one tap are next to each other
  // (pack_weights).
  const float* weights;
  int64_t weight_stride;
  bool packed_weights;
  int64_t out_channels;
  int64_t out_stride;           // distance between output channel rows in `out`
  const StoreEpilogue* epilogue = nullptr;  // applied before the stores, or nullptr (plain sums)
  // Row stores (AVX-512 kernels only), where row_width > 0: position o is column
  // o % row_width of row o / row_width (counted from 0 whatever o0 is, so that a band's last
  // block can go to another kernel), and only columns < out_cols of positions < out_limit are
  // stored, rows closed up: out[m·out_stride + row·out_cols + column] (the phase planes' wide
  // rows straight into the output tensor). The epilogue's residual is read alike.
  int64_t row_width = 0, out_cols = 0, out_limit = 0;
};

// out[m·out_stride + (o − o0)] (or the row stores) for all m and o in [o0, o1), where o1 − o0 is a multiple of
// Kernel::positions. Reads up to o1 − 1 + the largest tap offset in every channel: the caller
// keeps that inside the phase buffer.
void run_avx2(const Problem& p, int64_t o0, int64_t o1, float* out);
void run_avx512(const Problem& p, int64_t o0, int64_t o1, float* out);
void run_avx512_wide(const Problem& p, int64_t o0, int64_t o1, float* out);  // 48 positions a block

// 1×1 convs with packed weights (ntaps 1): out[m·out_stride + i] for all m and the
// first r positions (1 <= r <= kFewPositions), each the same bits as the block kernels give it. For
// the positions left over past the last whole block of a small plane (7×7 = 48 + 1), which a
// whole block would otherwise compute.
constexpr int64_t kFewPositions = 8;
void few_avx512(const Problem& p, int64_t r, float* out);
void few_avx2(const Problem& p, int64_t r, float* out);  // the same with AVX2 (7×7: 2·24 + 1, 14×14: 8·24 + 4)
// fn(std::integral_constant<int, r>{}) for 1 <= r <= kFewPositions (larger r as kFewPositions):
// the few-position loops' rows as a compile-time count.
template <class Fn>
inline void with_few_positions(int64_t r, Fn&& fn) {
  switch (r) {
    case 1: return fn(std::integral_constant<int, 1>{});
    case 2: return fn(std::integral_constant<int, 2>{});
    case 3: return fn(std::integral_constant<int, 3>{});
    case 4: return fn(std::integral_constant<int, 4>{});
    case 5: return fn(std::integral_constant<int, 5>{});
    case 6: return fn(std::integral_constant<int, 6>{});
    case 7: return fn(std::integral_constant<int, 7>{});
    default: return fn(std::integral_constant<int, 8>{});
  }
}

// d[j] = s[2·j] for j < n, reading no further than s[2·(n − 1)] (AVX-512; the stride-2 rows of
// the phase planes).
void gather2_avx512(float* d, const float* s, int64_t n);

struct Kernel {
  int64_t positions;  // output positions per register block
  int64_t channels;   // output channels per register block
  void (*run)(const Problem& p, int64_t o0, int64_t o1, float* out);
};
// The microkernel this CPU runs: AVX-512 where ku::use_avx512(), else AVX2 (callers check
// ku::use_avx2() first). wide: a conv with many output positions (28×28 and more), where the
// AVX-512 kernel's 48-position blocks read fewer values per multiply-add and waste few positions.
inline Kernel kernel(bool avx512, bool wide = false) {
  if (avx512) return wide ? Kernel{48, 8, run_avx512_wide} : Kernel{32, 8, run_avx512};
  return Kernel{24, 4, run_avx2};
}
// Output positions from which a conv counts as wide.
constexpr int64_t kWidePositions = 28 * 28;

// W [M][K] (K = channels·ntaps per output channel, groups one after another) into the
// packed_weights layout for blocks of mb_max output channels within each group of Mg: dst[M·K].
inline void pack_weights(const float* w, int64_t M, int64_t Mg, int64_t K, int64_t mb_max, float* dst) {
  for (int64_t g0 = 0; g0 < M; g0 += Mg)
    for (int64_t m0 = g0; m0 < g0 + Mg; m0 += mb_max) {
      const int64_t mb = std::min(mb_max, g0 + Mg - m0);
      float* d = dst + m0 * K;
      for (int64_t k = 0; k < K; ++k)
        for (int64_t j = 0; j < mb; ++j) d[k * mb + j] = w[(m0 + j) * K + k];
    }
}

}  // namespace convdirect
}  // namespace fleetrt
