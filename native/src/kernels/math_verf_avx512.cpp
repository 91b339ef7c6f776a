// AVX-512 erf and exp over float arrays (ku::verf and ku::vexp_shift_sum dispatch here after
// ku::use_avx512()): the operations of erf_avx2 and exp_shift_sum_avx2 (math_vexp_avx2.cpp) on 16
// lanes, in the same order, so both give the same bits; Softmax's max and rescale sweeps
// (max_avx512, scale_avx512: exact).
// Also FusedMatMul's GELU epilogue in registers (gelu_erf_avx512): 128×3072 in the SGEMM's 12×32
// blocks, one thread, 300 → 248 µs against the Div / verf / combine passes over a buffer.
// Compiled for AVX-512F by the pragma below; FMAs only where written.
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "math_vexp_coeffs.h"

namespace fleetrt {
namespace ku {
namespace vexp_detail {

namespace c = vexp_coeffs;

namespace {

// exp8 of math_vexp_avx2.cpp on 16 lanes.
inline __m512 exp16(__m512 x) {
  const __m512 lo = _mm512_set1_ps(c::kExpLo), hi = _mm512_set1_ps(c::kExpHi);
  const __mmask16 underflow = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), overflow = _mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ);
  const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  const __m512 xin = x;
  x = _mm512_max_ps(_mm512_min_ps(x, hi), lo);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(c::kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(c::kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(c::kLn2Lo), r);
  __m512 p = _mm512_set1_ps(c::kExpPoly[0]);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c::kExpPoly[1]));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c::kExpPoly[2]));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c::kExpPoly[3]));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c::kExpPoly[4]));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c::kExpPoly[5]));
  __m512 y = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.f)));
  // 2^n as two factors 2^(n>>1)·2^(n−(n>>1)) so that n = 128 and subnormal results work
  const __m512i ni = _mm512_cvtps_epi32(n), n1 = _mm512_srai_epi32(ni, 1), n2 = _mm512_sub_epi32(ni, n1);
  const __m512i bias = _mm512_set1_epi32(127);
  y = _mm512_mul_ps(y, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n1, bias), 23)));
  y = _mm512_mul_ps(y, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n2, bias), 23)));
  y = _mm512_mask_blend_ps(overflow, y, _mm512_set1_ps(INFINITY));
  y = _mm512_maskz_mov_ps(static_cast<__mmask16>(~underflow), y);
  return _mm512_mask_blend_ps(nan, y, xin);
}

// erf of 16 lanes (NaN passed through).
inline __m512 erf16(__m512 v) {
  const __m512 sign_mask = _mm512_set1_ps(-0.f), one = _mm512_set1_ps(1.f);
  const __m512 sign = _mm512_and_ps(v, sign_mask), a = _mm512_andnot_ps(sign_mask, v);
  // (a clamped where the result rounds to 1 anyway: exp(−a²) would go subnormal further up)
  const __m512 ab = _mm512_min_ps(a, _mm512_set1_ps(c::kErfOneFrom));
  const __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(_mm512_set1_ps(c::kErfT), ab, one));
  __m512 p = _mm512_set1_ps(c::kErfPoly[0]);
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(c::kErfPoly[1]));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(c::kErfPoly[2]));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(c::kErfPoly[3]));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(c::kErfPoly[4]));
  p = _mm512_mul_ps(p, t);
  const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(ab, ab)));
  const __m512 big = _mm512_fnmadd_ps(p, e, one);
  const __m512 s = _mm512_mul_ps(a, a);
  __m512 q = _mm512_set1_ps(c::kErfTaylor[0]);
  q = _mm512_fmadd_ps(q, s, _mm512_set1_ps(c::kErfTaylor[1]));
  q = _mm512_fmadd_ps(q, s, _mm512_set1_ps(c::kErfTaylor[2]));
  q = _mm512_fmadd_ps(q, s, _mm512_set1_ps(c::kErfTaylor[3]));
  q = _mm512_fmadd_ps(q, s, one);
  const __m512 small = _mm512_mul_ps(_mm512_mul_ps(q, a), _mm512_set1_ps(c::kTwoOverSqrtPi));
  const __m512 r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, _mm512_set1_ps(c::kErfSmallBelow), _CMP_LT_OQ), big, small);
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  return _mm512_mask_blend_ps(nan, _mm512_or_ps(r, sign), v);
}

}  // namespace

void erf_avx512(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, erf16(_mm512_loadu_ps(x + i)));
  for (; i < n; ++i) y[i] = std::erf(x[i]);
}

// exp_shift_sum_avx2 on 16 lanes: the same exps, summed into 8 float lanes in the AVX2 order (low
// half, then high half) and flushed to double at the same points, so both give the same bits.
double exp_shift_sum_avx512(const float* x, float sign, float shift, float* y, int64_t n) {
  const __m512 s = _mm512_set1_ps(shift), sg = _mm512_set1_ps(sign);
  __m256 acc = _mm256_setzero_ps();
  double total = 0;
  auto flush = [&]() {
    alignas(32) float t[8];
    _mm256_store_ps(t, acc);
    for (float f : t) total += f;
    acc = _mm256_setzero_ps();
  };
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = exp16(_mm512_fmsub_ps(_mm512_loadu_ps(x + i), sg, s));
    if (y) _mm512_storeu_ps(y + i, v);
    acc = _mm256_add_ps(acc, _mm512_castps512_ps256(v));
    acc = _mm256_add_ps(acc, _mm512_extractf32x8_ps(v, 1));
    if (((i + 16) & 1023) == 0) flush();
  }
  if (i + 8 <= n) {
    const __m512 v = exp16(_mm512_fmsub_ps(_mm512_maskz_loadu_ps(0xff, x + i), sg, s));
    if (y) _mm512_mask_storeu_ps(y + i, 0xff, v);
    acc = _mm256_add_ps(acc, _mm512_castps512_ps256(v));
    i += 8;
  }
  flush();
  for (; i < n; ++i) {
    float v = std::exp(sign * x[i] - shift);
    if (y) y[i] = v;
    total += v;
  }
  return total;
}

// max(−inf, x[0..n)) with NaNs skipped (maxps keeps its second operand when either is NaN), as
// Softmax's SSE sweep and std::max(m, x) give: four accumulators, so the sweep is not one
// max-latency chain.
float max_avx512(const float* x, int64_t n) {
  const __m512 ninf = _mm512_set1_ps(-INFINITY);
  __m512 m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    m0 = _mm512_max_ps(_mm512_loadu_ps(x + i), m0);
    m1 = _mm512_max_ps(_mm512_loadu_ps(x + i + 16), m1);
    m2 = _mm512_max_ps(_mm512_loadu_ps(x + i + 32), m2);
    m3 = _mm512_max_ps(_mm512_loadu_ps(x + i + 48), m3);
  }
  for (; i + 16 <= n; i += 16) m0 = _mm512_max_ps(_mm512_loadu_ps(x + i), m0);
  if (i < n) m1 = _mm512_max_ps(_mm512_mask_loadu_ps(ninf, static_cast<__mmask16>((1u << (n - i)) - 1), x + i), m1);
  return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
}

// y[0..n) *= s.
void scale_avx512(float* y, int64_t n, float s) {
  const __m512 v = _mm512_set1_ps(s);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(y + i), v));
  if (i < n) {
    const __mmask16 k = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, y + i), v));
  }
}

int64_t gelu_erf_avx512(float* x, int64_t n) {
  const __m512 sqrt2 = _mm512_set1_ps(1.41421356237309504880f), one = _mm512_set1_ps(1.f), half = _mm512_set1_ps(0.5f);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    const __m512 e = erf16(_mm512_div_ps(v, sqrt2));
    _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_mul_ps(v, _mm512_add_ps(e, one)), half));
  }
  return i;
}

}  // namespace vexp_detail
}  // namespace ku
}  // namespace fleetrt
