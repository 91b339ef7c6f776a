// AVX-512 depthwise loops (nn_conv_depthwise.h); compiled for AVX-512F by the pragma below.
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#include <immintrin.h>

#include "nn_conv_depthwise_impl.h"

namespace fleetrt {
namespace depthwise {
namespace {

struct V16 {
  using T = __m512;
  using I = __m512i;
  static constexpr int kLanes = 16;
  // (l mod W) for the lanes l
  static I iota_mod(int64_t W) {
    alignas(64) int32_t v[16];
    for (int l = 0; l < 16; ++l) v[l] = static_cast<int32_t>(l % W);
    return _mm512_load_si512(v);
  }
  // (c + step) mod W, for c < W and step < W
  static I step_mod(I c, int step, int W) {
    c = _mm512_add_epi32(c, _mm512_set1_epi32(step));
    return _mm512_mask_sub_epi32(c, _mm512_cmpge_epi32_mask(c, _mm512_set1_epi32(W)), c, _mm512_set1_epi32(W));
  }
  // bits of the lanes with lo <= c < hi
  static uint32_t in_range(I c, int lo, int hi) {
    return _mm512_cmpge_epi32_mask(c, _mm512_set1_epi32(lo)) & _mm512_cmplt_epi32_mask(c, _mm512_set1_epi32(hi));
  }
  static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static T load_n(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static T load_mask(const float* p, uint32_t m) { return _mm512_maskz_loadu_ps(static_cast<__mmask16>(m), p); }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static void store_n(float* p, T v, int n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  static T set1(float v) { return _mm512_set1_ps(v); }
  static T zero() { return _mm512_setzero_ps(); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T max(T a, T b) { return _mm512_max_ps(a, b); }
  static T min(T a, T b) { return _mm512_min_ps(a, b); }
  static T fmadd(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  // a, b: 32 consecutive values → the 16 at even and the 16 at odd positions
  static void split(T a, T b, T* even, T* odd) {
    const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    *even = _mm512_permutex2var_ps(a, ie, b);
    *odd = _mm512_permutex2var_ps(a, _mm512_add_epi32(ie, _mm512_set1_epi32(1)), b);
  }
  // (s, v[0], …, v[14])
  static T shift_in(T v, float s) {
    return _mm512_castsi512_ps(
        _mm512_alignr_epi32(_mm512_castps_si512(v), _mm512_castps_si512(_mm512_set1_ps(s)), 15));
  }
};

}  // namespace

void plane_avx512(const Plane& p) { plane_any<V16>(p); }
void flat_avx512(const Flat& f, const Planes& pl, int64_t p0, int64_t p1) { flat_any<V16>(f, pl, p0, p1); }
void stride2_avx512(const Stride2& f, const Planes& pl, int64_t p0, int64_t p1) {
  stride2_any<V16>(f, pl, p0, p1);
}

}  // namespace depthwise
}  // namespace fleetrt
