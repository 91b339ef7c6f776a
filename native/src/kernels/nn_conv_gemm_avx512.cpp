// AVX-512 gather of the packed conv GEMM's position panels (nn_conv_gemm.h): a panel's positions
// fall into a few runs that are contiguous in the input (one per output row it touches, for
// stride-1 convs), so each im2col row of the panel is a few masked loads and one store; and the
// transpose of a finished [position][filter] block into the output rows. Compiled
// for AVX-512F by the pragma below; nn_conv_gemm.cpp calls it only after ku::use_avx512().
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#include <immintrin.h>

#include "nn_conv_gemm.h"
#include "simd_transpose16_avx512.h"

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

void transpose_tile_avx512(const float* blk, int64_t ldb, int64_t mr, int64_t nr, float* dst, int64_t ldd) {
  const __mmask16 rows = static_cast<__mmask16>((1u << mr) - 1);
  for (int64_t c0 = 0; c0 < nr; c0 += 16) {
    __m512 r[16], o[16];
    for (int64_t j = 0; j < 16; ++j) r[j] = j < mr ? _mm512_loadu_ps(blk + j * ldb + c0) : _mm512_setzero_ps();
    ku::transpose16x16_ps(r, o);
    for (int64_t i = 0; i < 16 && c0 + i < nr; ++i) _mm512_mask_storeu_ps(dst + (c0 + i) * ldd, rows, o[i]);
  }
}

}  // namespace convgemm
}  // namespace fleetrt
