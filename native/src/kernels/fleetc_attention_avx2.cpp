// AVX2+FMA blocks of paged attention (fleetc_state.cpp): a page's block of contiguous K or V rows
// against a group of query heads. Called only after use_avx2().
#include <immintrin.h>

#include <cstdint>

#include "fleetc_attention.h"

namespace fleetrt {
namespace ku {
namespace paged {

static inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

void qk_block_avx2(const float* q, int64_t group, int64_t D, const float* k, int64_t rows, float scale, float* scores,
                   int64_t stride) {
  const int64_t D8 = D & ~int64_t{7};
  for (int64_t j = 0; j < rows; ++j) {
    const float* kr = k + j * D;
    for (int64_t r0 = 0; r0 < group; r0 += 4) {
      const int64_t rn = group - r0 < 4 ? group - r0 : 4;
      __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
      for (int64_t d = 0; d < D8; d += 8) {
        const __m256 kv = _mm256_loadu_ps(kr + d);
        for (int64_t r = 0; r < rn; ++r) acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(q + (r0 + r) * D + d), kv, acc[r]);
      }
      for (int64_t r = 0; r < rn; ++r) {
        float dot = hsum(acc[r]);
        for (int64_t d = D8; d < D; ++d) dot += q[(r0 + r) * D + d] * kr[d];
        scores[(r0 + r) * stride + j] = dot * scale;
      }
    }
  }
}

void pv_block_avx2(const float* p, int64_t group, int64_t stride, int64_t D, const float* v, int64_t rows, float* acc) {
  const int64_t D8 = D & ~int64_t{7};
  for (int64_t r = 0; r < group; ++r) {
    float* out = acc + r * D;
    const float* pr = p + r * stride;
    for (int64_t d0 = 0; d0 < D8; d0 += 32) {
      const int64_t dn = D8 - d0 < 32 ? D8 - d0 : 32;
      __m256 o[4];
      for (int64_t i = 0; i < dn; i += 8) o[i / 8] = _mm256_loadu_ps(out + d0 + i);
      for (int64_t j = 0; j < rows; ++j) {
        const __m256 w = _mm256_set1_ps(pr[j]);
        const float* vr = v + j * D + d0;
        for (int64_t i = 0; i < dn; i += 8) o[i / 8] = _mm256_fmadd_ps(w, _mm256_loadu_ps(vr + i), o[i / 8]);
      }
      for (int64_t i = 0; i < dn; i += 8) _mm256_storeu_ps(out + d0 + i, o[i / 8]);
    }
    for (int64_t d = D8; d < D; ++d)
      for (int64_t j = 0; j < rows; ++j) out[d] += pr[j] * v[j * D + d];
  }
}

}  // namespace paged
}  // namespace ku
}  // namespace fleetrt
