// AVX-512 gather of the packed conv GEMM's position panels (nn_conv_gemm.h): a panel's positions
// fall into a few runs that are contiguous in the input (one per output row it touches, for
// stride-1 convs), so each im2col row of the panel is a few masked loads and one store. Compiled
// for AVX-512F by the pragma below; nn_conv_gemm.cpp calls it only after ku::use_avx512().
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#include <immintrin.h>

#include "nn_conv_gemm.h"

namespace fleetrt {
namespace convgemm {

void pack_runs_avx512(const PanelRuns& pr, const float* img, int64_t plane, const int64_t* taps, int64_t ntaps,
                      int64_t k0, int64_t kc, float* dst) {
  const __mmask16 all = static_cast<__mmask16>((1u << pr.rows) - 1);
  int64_t c = k0 / ntaps, t = k0 % ntaps;
  for (int64_t k = 0; k < kc; ++k, dst += pr.rows) {
    const float* base = img + c * plane + taps[t];
    __m512 v = _mm512_setzero_ps();
    for (int q = 0; q < pr.count; ++q)
      v = _mm512_mask_loadu_ps(v, static_cast<__mmask16>(pr.mask[q]), base + pr.shift[q]);
    _mm512_mask_storeu_ps(dst, all, v);
    if (++t == ntaps) t = 0, ++c;
  }
}

}  // namespace convgemm
}  // namespace fleetrt
