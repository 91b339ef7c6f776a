// AVX2 body of the fused-conv epilogue (this file is compiled with -mavx2 -mfma; fused_conv.cpp
// calls it only after the CPU check). Same arithmetic as the SSE and scalar loops:
// x = src + (bias + z), v = min(hi, max(lo, x·a + b)), times x for HardSwish (or just x without
// an activation); no FMA contraction, so results match the portable path bit for bit. The last
// values of a run that does not fill a vector are loaded under a mask and stored by parts
// (ku::store_first8).
#include <immintrin.h>

#include "fused_epilogue.h"
#include "simd_lanes_avx2.h"

namespace fleetrt {
int64_t affine_clamp_avx2(float* y, const float* src, const float* z, int64_t n, float bias, float a, float b, float lo,
                          float hi, bool times_x) {
  const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b), vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi),
               vbias = _mm256_set1_ps(bias);
  auto one = [&](__m256 s, __m256 zv) {
    const __m256 x = _mm256_add_ps(s, z ? _mm256_add_ps(vbias, zv) : vbias);
    __m256 v = _mm256_min_ps(vhi, _mm256_max_ps(vlo, _mm256_add_ps(_mm256_mul_ps(x, va), vb)));
    return times_x ? _mm256_mul_ps(v, x) : v;
  };
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, one(_mm256_loadu_ps(src + i), z ? _mm256_loadu_ps(z + i) : vbias));
  if (i < n) {  // the last 1-7 values under a mask (conv rows are often 7 or 14 long)
    const __m256i m = ku::first_lanes8(n - i);
    ku::store_first8(y + i, one(_mm256_maskload_ps(src + i, m), z ? _mm256_maskload_ps(z + i, m) : vbias), n - i);
  }
  return n;
}

int64_t bias_add_avx2(float* y, const float* src, const float* z, int64_t n, float bias) {
  const __m256 vbias = _mm256_set1_ps(bias);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 add = z ? _mm256_add_ps(vbias, _mm256_loadu_ps(z + i)) : vbias;
    _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(src + i), add));
  }
  if (i < n) {
    const __m256i m = ku::first_lanes8(n - i);
    const __m256 add = z ? _mm256_add_ps(vbias, _mm256_maskload_ps(z + i, m)) : vbias;
    ku::store_first8(y + i, _mm256_add_ps(_mm256_maskload_ps(src + i, m), add), n - i);
  }
  return n;
}

}  // namespace fleetrt
