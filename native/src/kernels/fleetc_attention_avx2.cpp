// AVX2+FMA blocks of paged attention (fleetc_attention.cpp): a page's block of contiguous K or V
// rows against a group of query heads. Called only after use_avx2().
#include <immintrin.h>

#include <cstdint>

#include "fleetc_attention.h"

namespace fleetrt {
namespace ku {
namespace paged {

namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

// The eight lane sums of a[0..7], in order, as one vector.
inline __m256 hsum8(const __m256* a) {
  const __m256 u0 = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
  const __m256 u1 = _mm256_hadd_ps(_mm256_hadd_ps(a[4], a[5]), _mm256_hadd_ps(a[6], a[7]));
  return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

// acc[0 … 8W) += Σ_j p[j] · v[j · D + (0 … 8W)], the W vectors of acc held in registers.
template <int W>
inline void pv_columns(const float* p, int64_t D, const float* v, int64_t rows, float* acc) {
  __m256 o[W];
#pragma GCC unroll 8
  for (int i = 0; i < W; ++i) o[i] = _mm256_loadu_ps(acc + 8 * i);
  for (int64_t j = 0; j < rows; ++j) {
    const __m256 w = _mm256_set1_ps(p[j]);
    const float* vr = v + j * D;
#pragma GCC unroll 8
    for (int i = 0; i < W; ++i) o[i] = _mm256_fmadd_ps(w, _mm256_loadu_ps(vr + 8 * i), o[i]);
  }
#pragma GCC unroll 8
  for (int i = 0; i < W; ++i) _mm256_storeu_ps(acc + 8 * i, o[i]);
}

}  // namespace

void qk_block_avx2(const float* q, int64_t group, int64_t D, const float* k, int64_t rows, float scale, float* scores,
                   int64_t stride) {
  const int64_t D8 = D & ~int64_t{7};
  int64_t j = 0;
  if (D8 == D) {
    // Eight rows at a time: eight dot products in eight registers, summed across lanes together.
    const __m256 s = _mm256_set1_ps(scale);
    for (; j + 8 <= rows; j += 8) {
      const float* kr = k + j * D;
      for (int64_t r = 0; r < group; ++r) {
        const float* qr = q + r * D;
        __m256 a[8];
#pragma GCC unroll 8
        for (int i = 0; i < 8; ++i) a[i] = _mm256_setzero_ps();
        for (int64_t d = 0; d < D; d += 8) {
          const __m256 qv = _mm256_loadu_ps(qr + d);
#pragma GCC unroll 8
          for (int i = 0; i < 8; ++i) a[i] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kr + i * D + d), a[i]);
        }
        _mm256_storeu_ps(scores + r * stride + j, _mm256_mul_ps(hsum8(a), s));
      }
    }
  }
  for (; j < rows; ++j) {
    const float* kr = k + j * D;
    for (int64_t r = 0; r < group; ++r) {
      const float* qr = q + r * D;
      __m256 a = _mm256_setzero_ps();
      for (int64_t d = 0; d < D8; d += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(qr + d), _mm256_loadu_ps(kr + d), a);
      float dot = hsum(a);
      for (int64_t d = D8; d < D; ++d) dot += qr[d] * kr[d];
      scores[r * stride + j] = dot * scale;
    }
  }
}

void pv_block_avx2(const float* p, int64_t group, int64_t stride, int64_t D, const float* v, int64_t rows, float* acc) {
  for (int64_t r = 0; r < group; ++r) {
    float* out = acc + r * D;
    const float* pr = p + r * stride;
    int64_t d = 0;
    for (; d + 64 <= D; d += 64) pv_columns<8>(pr, D, v + d, rows, out + d);
    for (; d + 32 <= D; d += 32) pv_columns<4>(pr, D, v + d, rows, out + d);
    for (; d + 8 <= D; d += 8) pv_columns<1>(pr, D, v + d, rows, out + d);
    for (; d < D; ++d)
      for (int64_t j = 0; j < rows; ++j) out[d] += pr[j] * v[j * D + d];
  }
}

}  // namespace paged
}  // namespace ku
}  // namespace fleetrt
