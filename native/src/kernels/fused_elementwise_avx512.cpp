// AVX-512 loops of the exactly rounded FusedElementwise instructions (fused_elementwise.h): 16
// lanes where the portable build's loops run 4 (a GELU chain's division by √2 was a fifth of the
// op's time in SSE divps). Compiled for AVX-512F by the pragma below.
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#include <immintrin.h>

#include "fused_elementwise.h"

namespace fleetrt {
namespace fused {
namespace {

template <int64_t Op>
inline __m512 apply(__m512 x, __m512 y) {
  const __m512 zero = _mm512_setzero_ps(), sign = _mm512_set1_ps(-0.f);
  switch (Op) {
    case kAdd: return _mm512_add_ps(x, y);
    case kSub: return _mm512_sub_ps(x, y);
    case kMul: return _mm512_mul_ps(x, y);
    case kDiv: return _mm512_div_ps(x, y);
    // x < 0 ? 0 : x, as the scalar loop (NaN and −0 stay)
    case kRelu: return _mm512_mask_mov_ps(x, _mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ), zero);
    case kNeg: return _mm512_xor_ps(x, sign);
    case kAbs: return _mm512_andnot_ps(sign, x);
    case kReciprocal: return _mm512_div_ps(_mm512_set1_ps(1.f), x);
    default: return _mm512_mul_ps(x, x);  // kSquare
  }
}

// o = op(a, b), or op(a) where b is nullptr (then read as a).
template <int64_t Op>
void loop(const float* a, const float* b, float* o, int64_t n) {
  if (!b) b = a;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(o + i, apply<Op>(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(o + i, m, apply<Op>(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i)));
  }
}

}  // namespace

bool run_instr_avx512(int64_t op, const float* a, const float* b, float* o, int64_t n) {
  switch (op) {
    case kAdd: loop<kAdd>(a, b, o, n); return true;
    case kSub: loop<kSub>(a, b, o, n); return true;
    case kMul: loop<kMul>(a, b, o, n); return true;
    case kDiv: loop<kDiv>(a, b, o, n); return true;
    case kRelu: loop<kRelu>(a, nullptr, o, n); return true;
    case kNeg: loop<kNeg>(a, nullptr, o, n); return true;
    case kAbs: loop<kAbs>(a, nullptr, o, n); return true;
    case kReciprocal: loop<kReciprocal>(a, nullptr, o, n); return true;
    case kSquare: loop<kSquare>(a, nullptr, o, n); return true;
    default: return false;
  }
}

}  // namespace fused
}  // namespace fleetrt
