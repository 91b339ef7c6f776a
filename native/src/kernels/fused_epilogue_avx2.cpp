// AVX2 body of the fused-conv epilogue (this file is compiled with -mavx2 -mfma; fused_conv.cpp
// calls it only after the CPU check). Same arithmetic as the SSE and scalar loops:
// x = src + (bias + z), v = min(hi, max(lo, x·a + b)), times x for HardSwish (or just x without
// an activation); no FMA contraction, so results match the portable path bit for bit.
#include <immintrin.h>

#include "fused_epilogue.h"

namespace fleetrt {

int64_t affine_clamp_avx2(float* y, const float* src, const float* z, int64_t n, float bias, float a, float b, float lo,
                          float hi, bool times_x) {
  const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b), vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi),
               vbias = _mm256_set1_ps(bias);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 add = z ? _mm256_add_ps(vbias, _mm256_loadu_ps(z + i)) : vbias;
    const __m256 x = _mm256_add_ps(_mm256_loadu_ps(src + i), add);
    __m256 v = _mm256_min_ps(vhi, _mm256_max_ps(vlo, _mm256_add_ps(_mm256_mul_ps(x, va), vb)));
    if (times_x) v = _mm256_mul_ps(v, x);
    _mm256_storeu_ps(y + i, v);
  }
  return i;
}

int64_t bias_add_avx2(float* y, const float* src, const float* z, int64_t n, float bias) {
  const __m256 vbias = _mm256_set1_ps(bias);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 add = z ? _mm256_add_ps(vbias, _mm256_loadu_ps(z + i)) : vbias;
    _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(src + i), add));
  }
  return i;
}

}  // namespace fleetrt
