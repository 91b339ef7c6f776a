// AVX2+FMA direct 2-D convolution over phase planes (this file is compiled with -mavx2 -mfma;
// nn_conv.cpp calls it only after the CPU check). See nn_conv_direct.h for the layout.
#include <immintrin.h>

#include "nn_conv_direct.h"

namespace fleetrt {
namespace convdirect {
namespace {

constexpr int kMB = 4;   // output channels per block
constexpr int kOV = 3;   // 8-float vectors of output positions per block

// out rows [m0, m0 + MB) over positions [o0, o1) (o1 − o0 a multiple of 24).
template <int MB>
void block(const Problem& p, const float* wblock, int64_t o0, int64_t o1, float* out, int64_t m0) {
  for (int64_t o = o0; o < o1; o += kOV * 8) {
    __m256 acc[MB][kOV];
    for (int j = 0; j < MB; ++j)
      for (int v = 0; v < kOV; ++v) acc[j][v] = _mm256_setzero_ps();
    const float* w = wblock;
    for (int64_t c = 0; c < p.channels; ++c) {
      const float* base = p.phases + c * p.channel_stride + o;
      for (int64_t t = 0; t < p.ntaps; ++t, w += kMB) {
        const float* s = base + p.tap_offsets[t];
        const __m256 x0 = _mm256_loadu_ps(s), x1 = _mm256_loadu_ps(s + 8), x2 = _mm256_loadu_ps(s + 16);
        for (int j = 0; j < MB; ++j) {
          const __m256 wj = _mm256_broadcast_ss(w + j);
          acc[j][0] = _mm256_fmadd_ps(wj, x0, acc[j][0]);
          acc[j][1] = _mm256_fmadd_ps(wj, x1, acc[j][1]);
          acc[j][2] = _mm256_fmadd_ps(wj, x2, acc[j][2]);
        }
      }
    }
    for (int j = 0; j < MB; ++j) {
      float* row = out + (m0 + j) * p.out_stride + (o - o0);
      for (int v = 0; v < kOV; ++v) _mm256_storeu_ps(row + 8 * v, acc[j][v]);
    }
  }
}

}  // namespace

void run_avx2(const Problem& p, int64_t o0, int64_t o1, float* out) {
  const int64_t K = p.channels * p.ntaps;
  for (int64_t m0 = 0; m0 < p.out_channels; m0 += kMB) {
    const float* wblock = p.packed_weights + (m0 / kMB) * K * kMB;
    switch (std::min<int64_t>(kMB, p.out_channels - m0)) {
      case 4: block<4>(p, wblock, o0, o1, out, m0); break;
      case 3: block<3>(p, wblock, o0, o1, out, m0); break;
      case 2: block<2>(p, wblock, o0, o1, out, m0); break;
      default: block<1>(p, wblock, o0, o1, out, m0); break;
    }
  }
}

}  // namespace convdirect
}  // namespace fleetrt
