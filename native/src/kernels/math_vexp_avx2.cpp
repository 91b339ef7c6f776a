// AVX2+FMA exp, tanh and erf over float arrays (exp: range reduction by ln 2 in two parts and a
// degree-6 polynomial, about 2 ulp), used through ku::vexp_shift_sum, ku::vtanh and ku::verf, which
// check the CPU at run time; and FusedMatMul's GELU epilogue in registers (gelu_erf_avx2).
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "math_vexp_avx2.h"

namespace fleetrt {
namespace ku {
namespace vexp_detail {

// y[i] = exp(sign·x[i] − shift) (y may be x or nullptr); returns the sum in double.
double exp_shift_sum_avx2(const float* x, float sign, float shift, float* y, int64_t n) {
  const __m256 s = _mm256_set1_ps(shift), sg = _mm256_set1_ps(sign);
  __m256 acc = _mm256_setzero_ps();
  double total = 0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = exp8(_mm256_fmsub_ps(_mm256_loadu_ps(x + i), sg, s));
    if (y) _mm256_storeu_ps(y + i, v);
    acc = _mm256_add_ps(acc, v);
    if ((i & 1023) == 1016) {  // flush to double now and then to bound the float rounding
      alignas(32) float t[8];
      _mm256_store_ps(t, acc);
      for (float f : t) total += f;
      acc = _mm256_setzero_ps();
    }
  }
  alignas(32) float t[8];
  _mm256_store_ps(t, acc);
  for (float f : t) total += f;
  for (; i < n; ++i) {
    float v = std::exp(sign * x[i] - shift);
    if (y) y[i] = v;
    total += v;
  }
  return total;
}

// y[i] = tanh(x[i]): odd polynomial for |x| < 0.625, 1 − 2/(exp(2|x|) + 1) (sign restored) above.
void tanh_avx2(const float* x, float* y, int64_t n) {
  const __m256 sign_mask = _mm256_set1_ps(-0.f), one = _mm256_set1_ps(1.f), two = _mm256_set1_ps(2.f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 sign = _mm256_and_ps(v, sign_mask), a = _mm256_andnot_ps(sign_mask, v);
    // large: 1 − 2/(e^{2a} + 1); e^{2a} overflowing to inf gives exactly 1
    const __m256 e = exp8(_mm256_mul_ps(a, two));
    const __m256 big = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(e, one)));
    // small: a + a³·P(a²)
    const __m256 s = _mm256_mul_ps(a, a);
    __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(2.06390887954e-2f));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(-5.37397155531e-2f));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(1.33314422036e-1f));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(-3.33332819422e-1f));
    const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, s), a, a);
    const __m256 r = _mm256_blendv_ps(big, small, _mm256_cmp_ps(a, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
    const __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
    _mm256_storeu_ps(y + i, _mm256_blendv_ps(_mm256_or_ps(r, sign), v, nan));
  }
  for (; i < n; ++i) y[i] = std::tanh(x[i]);
}

void erf_avx2(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, erf8(_mm256_loadu_ps(x + i)));
  for (; i < n; ++i) y[i] = std::erf(x[i]);
}

int64_t gelu_erf_avx2(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, gelu8(_mm256_loadu_ps(x + i)));
  return i;
}

}  // namespace vexp_detail
}  // namespace ku
}  // namespace fleetrt
