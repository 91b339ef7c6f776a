// The conv epilogue as the AVX-512 kernels apply it before their stores (StoreClamp): x + add
// (add = bias, or bias + residual), then with clamp min(hi, max(lo, a·x + b)): the operations of
// ConvEpilogue::apply_to in its order, so the same bits. For files compiled for AVX-512 only
// (their target pragma comes before this include).
#pragma once

#include <immintrin.h>

#include "fused_epilogue.h"

namespace fleetrt {
namespace {

// The clamp alone, for sums that have had their add already.
inline __m512 clamp_avx512(__m512 x, const StoreClamp& c) {
  if (!c.clamp) return x;
  return _mm512_min_ps(_mm512_set1_ps(c.hi), _mm512_max_ps(_mm512_set1_ps(c.lo),
                                                           _mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(c.a)),
                                                                         _mm512_set1_ps(c.b))));
}

inline __m512 epilogue_avx512(__m512 x, __m512 add, const StoreClamp& c) {
  return clamp_avx512(_mm512_add_ps(x, add), c);
}

}  // namespace
}  // namespace fleetrt
