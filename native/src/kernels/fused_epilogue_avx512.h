// The conv epilogue as the AVX-512 kernels apply it before their stores (ConvEpilogue::in_stores):
// x + add (add = bias, or bias + residual), then with clamp min(hi, max(lo, a·x + b)): the
// operations of ConvEpilogue::apply_to in its order, so the same bits. For files compiled for
// AVX-512 only (their target pragma comes before this include).
#pragma once

#include <immintrin.h>

namespace fleetrt {
namespace {

inline __m512 epilogue_avx512(__m512 x, __m512 add, bool clamp, float a, float b, float lo, float hi) {
  x = _mm512_add_ps(x, add);
  if (!clamp) return x;
  return _mm512_min_ps(_mm512_set1_ps(hi),
                       _mm512_max_ps(_mm512_set1_ps(lo), _mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(a)), _mm512_set1_ps(b))));
}

}  // namespace
}  // namespace fleetrt
