// fleetc FusedMatMul's epilogue (math_matmul_epilogue.h): per row of a finished block, the bias
// and residual adds, then the activation. SSE for the adds and the GELU arithmetic (the -O2
// build does not vectorize these loops), ku::verf / vtanh / vsigmoid for the functions: the same
// operations in the same order as the unfused ops, so the same bits.
#include "math_matmul_epilogue.h"

#include <algorithm>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace fleetrt {
namespace ku {
namespace vexp_detail {
// math_verf_avx512.cpp: GELU in place over the first n − n % 16 values, the operations below on
// 16 lanes (x / √2, ku::verf's erf, (x · (e + 1)) · 0.5) without the passes between; returns them.
int64_t gelu_erf_avx512(float* x, int64_t n);
// math_vexp_avx2.cpp: the same on 8 lanes, over the first n − n % 8 values.
int64_t gelu_erf_avx2(float* x, int64_t n);
}  // namespace vexp_detail
}  // namespace ku

namespace {

// The GELU of the erf form as exporters write it: (x · (erf(x / √2) + 1)) · 0.5.
constexpr float kSqrt2 = 1.41421356237309504880f;
// Values per ku::verf call: a whole block of the SGEMM (12×32) at once, not a call per row.
constexpr int64_t kChunk = 1024;

// x / √2 into t, as the graph's Div computes it.
void scaled(const float* x, float* t, int64_t n) {
  int64_t j = 0;
#if defined(__SSE2__)
  const __m128 s = _mm_set1_ps(kSqrt2);
  for (; j + 4 <= n; j += 4) _mm_storeu_ps(t + j, _mm_div_ps(_mm_loadu_ps(x + j), s));
#endif
  for (; j < n; ++j) t[j] = x[j] / kSqrt2;
}

// x = (x · (e + 1)) · 0.5 with e = erf(x / √2) from t.
void combine(float* x, const float* t, int64_t n) {
  int64_t j = 0;
#if defined(__SSE2__)
  const __m128 one = _mm_set1_ps(1.f), half = _mm_set1_ps(0.5f);
  for (; j + 4 <= n; j += 4)
    _mm_storeu_ps(x + j, _mm_mul_ps(_mm_mul_ps(_mm_loadu_ps(x + j), _mm_add_ps(_mm_loadu_ps(t + j), one)), half));
#endif
  for (; j < n; ++j) x[j] = (x[j] * (t[j] + 1.f)) * 0.5f;
}

// GELU over m rows of n values, ldc apart: with AVX-512 or AVX2 in registers, row by row (the
// last values of a row that do not fill a vector as below); else rows gathered kChunk values at a
// time for ku::verf.
void gelu_block(float* c, int64_t ldc, int64_t m, int64_t n) {
  float t[kChunk];
  const bool avx512 = ku::use_avx512();
  if (avx512 || ku::use_avx2()) {
    for (int64_t r = 0; r < m; ++r) {
      float* x = c + r * ldc;
      const int64_t done = avx512 ? ku::vexp_detail::gelu_erf_avx512(x, n) : ku::vexp_detail::gelu_erf_avx2(x, n);
      if (done == n) continue;
      scaled(x + done, t, n - done);
      ku::verf(t, t, n - done);
      combine(x + done, t, n - done);
    }
    return;
  }
  if (n > kChunk) {
    for (int64_t r = 0; r < m; ++r)
      for (int64_t j0 = 0; j0 < n; j0 += kChunk) {
        const int64_t len = std::min(kChunk, n - j0);
        float* x = c + r * ldc + j0;
        scaled(x, t, len);
        ku::verf(t, t, len);
        combine(x, t, len);
      }
    return;
  }
  const int64_t rows = kChunk / n;
  for (int64_t r0 = 0; r0 < m; r0 += rows) {
    const int64_t g = std::min(rows, m - r0);
    for (int64_t r = 0; r < g; ++r) scaled(c + (r0 + r) * ldc, t + r * n, n);
    ku::verf(t, t, g * n);
    for (int64_t r = 0; r < g; ++r) combine(c + (r0 + r) * ldc, t + r * n, n);
  }
}

// y += bias (per column, or one value) then += z (either may be absent).
void add_row(float* y, const float* bias, bool bias_scalar, const float* z, int64_t n) {
  int64_t j = 0;
#if defined(__SSE2__)
  if (bias && bias_scalar) {
    const __m128 b = _mm_set1_ps(bias[0]);
    if (z)
      for (; j + 4 <= n; j += 4)
        _mm_storeu_ps(y + j, _mm_add_ps(_mm_add_ps(_mm_loadu_ps(y + j), b), _mm_loadu_ps(z + j)));
    else
      for (; j + 4 <= n; j += 4) _mm_storeu_ps(y + j, _mm_add_ps(_mm_loadu_ps(y + j), b));
  } else if (bias) {
    if (z)
      for (; j + 4 <= n; j += 4)
        _mm_storeu_ps(y + j,
                      _mm_add_ps(_mm_add_ps(_mm_loadu_ps(y + j), _mm_loadu_ps(bias + j)), _mm_loadu_ps(z + j)));
    else
      for (; j + 4 <= n; j += 4) _mm_storeu_ps(y + j, _mm_add_ps(_mm_loadu_ps(y + j), _mm_loadu_ps(bias + j)));
  } else if (z) {
    for (; j + 4 <= n; j += 4) _mm_storeu_ps(y + j, _mm_add_ps(_mm_loadu_ps(y + j), _mm_loadu_ps(z + j)));
  }
#endif
  for (; j < n; ++j) {
    float v = y[j];
    if (bias) v = v + bias[bias_scalar ? 0 : j];
    if (z) v = v + z[j];
    y[j] = v;
  }
}

}  // namespace

bool MatMulEpilogue::parse(const Attributes& attrs, std::string* err) {
  const std::string a = attrs.get_string("activation", "");
  if (a.empty()) act = Act::kNone;
  else if (a == "Relu") act = Act::kRelu;
  else if (a == "Gelu") act = Act::kGelu;
  else if (a == "Tanh") act = Act::kTanh;
  else if (a == "Sigmoid") act = Act::kSigmoid;
  else {
    *err = "unknown activation '" + a + "' (Relu, Gelu, Tanh, Sigmoid or none)";
    return false;
  }
  return true;
}

void MatMulEpilogue::apply(float* c, int64_t ldc, int64_t i0, int64_t j0, int64_t m, int64_t n,
                           bool with_bias) const {
  const float* b = bias && with_bias ? (bias_scalar ? bias : bias + j0) : nullptr;
  for (int64_t r = 0; r < m; ++r) {
    float* y = c + r * ldc;
    if (b && bias_period > 0) b = bias + (i0 + r) / bias_period * bias_ld + j0;
    if (b || z) add_row(y, b, bias_scalar, z ? z + (i0 + r) * ldz + j0 : nullptr, n);
    switch (act) {
      case Act::kRelu: ku::vrelu(y, y, n); break;
      case Act::kTanh: ku::vtanh(y, y, n); break;
      case Act::kSigmoid: ku::vsigmoid(y, y, n); break;
      case Act::kGelu: case Act::kNone: break;
    }
  }
  if (act == Act::kGelu) gelu_block(c, ldc, m, n);
}

}  // namespace fleetrt
