// The 8-lane exp, erf and GELU of the AVX2 kernels, inline so that a kernel can apply them in
// registers (the SGEMM microkernel's GELU as it stores); only for files compiled with -mavx2
// -mfma (*_avx2.cpp), called after the CPU check.
#pragma once
#include <immintrin.h>

#include <cmath>

#include "math_vexp_coeffs.h"

namespace fleetrt {
namespace ku {
namespace vexp_detail {

namespace c = vexp_coeffs;

inline __m256 exp8(__m256 x) {
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

// erf on 8 lanes: odd Taylor polynomial for |x| < 0.5, else 1 − poly(t)·exp(−x²) with
// t = 1/(1 + 0.3275911|x|) (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7); sign restored, NaN kept.
inline __m256 erf8(__m256 v) {
  const __m256 sign_mask = _mm256_set1_ps(-0.f), one = _mm256_set1_ps(1.f);
  const __m256 sign = _mm256_and_ps(v, sign_mask), a = _mm256_andnot_ps(sign_mask, v);
  // (a clamped where the result rounds to 1 anyway: exp(−a²) would go subnormal further up)
  const __m256 ab = _mm256_min_ps(a, _mm256_set1_ps(c::kErfOneFrom));
  const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(c::kErfT), ab, one));
  __m256 p = _mm256_set1_ps(c::kErfPoly[0]);
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(c::kErfPoly[1]));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(c::kErfPoly[2]));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(c::kErfPoly[3]));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(c::kErfPoly[4]));
  p = _mm256_mul_ps(p, t);
  const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(ab, ab)));
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

// GELU of the erf form as exporters write it: (x · (erf(x / √2) + 1)) · 0.5.
inline __m256 gelu8(__m256 v) {
  const __m256 e = erf8(_mm256_div_ps(v, _mm256_set1_ps(1.41421356237309504880f)));
  return _mm256_mul_ps(_mm256_mul_ps(v, _mm256_add_ps(e, _mm256_set1_ps(1.f))), _mm256_set1_ps(0.5f));
}

}  // namespace vexp_detail
}  // namespace ku
}  // namespace fleetrt
