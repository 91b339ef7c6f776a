// AVX2+FMA exp, tanh and erf over float arrays (exp: range reduction by ln 2 in two parts and a
// degree-6 polynomial, about 2 ulp), used through ku::vexp_shift_sum, ku::vtanh and ku::verf, which
// check the CPU at run time; and FusedMatMul's GELU epilogue in registers (gelu_erf_avx2).
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "math_vexp_coeffs.h"

namespace fleetrt {
namespace ku {
namespace vexp_detail {

namespace c = vexp_coeffs;

static inline __m256 exp8(__m256 x) {
  const __m256 lo = _mm256_set1_ps(c::kExpLo), hi = _mm256_set1_ps(c::kExpHi);
  const __m256 underflow = _mm256_cmp_ps(x, lo, _CMP_LT_OQ), overflow = _mm256_cmp_ps(x, hi, _CMP_GT_OQ);
  const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q), xin = x;
  x = _mm256_max_ps(_mm256_min_ps(x, hi), lo);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(c::kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(c::kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(c::kLn2Lo), r);
  __m256 p = _mm256_set1_ps(c::kExpPoly[0]);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c::kExpPoly[1]));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c::kExpPoly[2]));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c::kExpPoly[3]));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c::kExpPoly[4]));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c::kExpPoly[5]));
  __m256 y = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  // 2^n as two factors 2^(n>>1)·2^(n−(n>>1)) so that n = 128 and subnormal results work
  const __m256i ni = _mm256_cvtps_epi32(n), n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  y = _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23)));
  y = _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23)));
  y = _mm256_blendv_ps(y, _mm256_set1_ps(INFINITY), overflow);
  y = _mm256_andnot_ps(underflow, y);
  return _mm256_blendv_ps(y, xin, nan);
}

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

// erf on 8 lanes: odd Taylor polynomial for |x| < 0.5, else 1 − poly(t)·exp(−x²) with
// t = 1/(1 + 0.3275911|x|) (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7); sign restored, NaN kept.
static inline __m256 erf8(__m256 v) {
  const __m256 sign_mask = _mm256_set1_ps(-0.f), one = _mm256_set1_ps(1.f);
  const __m256 sign = _mm256_and_ps(v, sign_mask), a = _mm256_andnot_ps(sign_mask, v);
  const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(c::kErfT), a, one));
  __m256 p = _mm256_set1_ps(c::kErfPoly[0]);
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(c::kErfPoly[1]));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(c::kErfPoly[2]));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(c::kErfPoly[3]));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(c::kErfPoly[4]));
  p = _mm256_mul_ps(p, t);
  const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(a, a)));
  const __m256 big = _mm256_fnmadd_ps(p, e, one);
  const __m256 s = _mm256_mul_ps(a, a);
  __m256 q = _mm256_set1_ps(c::kErfTaylor[0]);
  q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(c::kErfTaylor[1]));
  q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(c::kErfTaylor[2]));
  q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(c::kErfTaylor[3]));
  q = _mm256_fmadd_ps(q, s, one);
  const __m256 small = _mm256_mul_ps(_mm256_mul_ps(q, a), _mm256_set1_ps(c::kTwoOverSqrtPi));
  const __m256 r = _mm256_blendv_ps(big, small, _mm256_cmp_ps(a, _mm256_set1_ps(c::kErfSmallBelow), _CMP_LT_OQ));
  const __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
  return _mm256_blendv_ps(_mm256_or_ps(r, sign), v, nan);
}

void erf_avx2(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, erf8(_mm256_loadu_ps(x + i)));
  for (; i < n; ++i) y[i] = std::erf(x[i]);
}

int64_t gelu_erf_avx2(float* x, int64_t n) {
  const __m256 sqrt2 = _mm256_set1_ps(1.41421356237309504880f), one = _mm256_set1_ps(1.f), half = _mm256_set1_ps(0.5f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 e = erf8(_mm256_div_ps(v, sqrt2));
    _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(v, _mm256_add_ps(e, one)), half));
  }
  return i;
}

}  // namespace vexp_detail
}  // namespace ku
}  // namespace fleetrt
