// AVX2 rows of LayerNormalization / RMSNormalization (nn_norm.cpp, after ku::use_avx2()): the
// statistics in double as the SSE2 loop gathers them (sums and sums of squares of the values
// converted to double, eight partial sums), then the normalized row, eight values at a time.
#include <immintrin.h>

#include <cstdint>

namespace fleetrt {
namespace norm_detail {

// Sum and sum of squares of x[0, n − n % 8) in double; returns how many values they cover.
int64_t row_sums_avx2(const float* x, int64_t n, double* sum, double* sum_sq) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd(), q0 = _mm256_setzero_pd(), q1 = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256d lo = _mm256_cvtps_pd(_mm_loadu_ps(x + i)), hi = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4));
    s0 = _mm256_add_pd(s0, lo);
    s1 = _mm256_add_pd(s1, hi);
    q0 = _mm256_add_pd(q0, _mm256_mul_pd(lo, lo));
    q1 = _mm256_add_pd(q1, _mm256_mul_pd(hi, hi));
  }
  alignas(32) double a[4], b[4];
  _mm256_store_pd(a, _mm256_add_pd(s0, s1));
  _mm256_store_pd(b, _mm256_add_pd(q0, q1));
  *sum = (a[0] + a[1]) + (a[2] + a[3]);
  *sum_sq = (b[0] + b[1]) + (b[2] + b[3]);
  return i;
}

// y = ((x − mean) · inv) · scale (+ bias) over [0, n − n % 8); returns how many values it wrote.
int64_t normalize_row_avx2(const float* x, float mean, float inv, const float* scale, const float* bias, float* y,
                           int64_t n) {
  const __m256 vm = _mm256_set1_ps(mean), vi = _mm256_set1_ps(inv);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), vm), vi), _mm256_loadu_ps(scale + j));
    _mm256_storeu_ps(y + j, bias ? _mm256_add_ps(v, _mm256_loadu_ps(bias + j)) : v);
  }
  return j;
}

}  // namespace norm_detail
}  // namespace fleetrt
