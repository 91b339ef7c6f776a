// AVX2+FMA depthwise loops (nn_conv_depthwise.h); compiled with -mavx2 -mfma.
#include <immintrin.h>

#include "nn_conv_depthwise_impl.h"
#include "simd_lanes_avx2.h"

namespace fleetrt {
namespace depthwise {
namespace {

struct V8 {
  using T = __m256;
  using I = __m256i;
  static constexpr int kLanes = 8;
  // (l mod W) for the lanes l
  static I iota_mod(int64_t W) {
    alignas(32) int32_t v[8];
    for (int l = 0; l < 8; ++l) v[l] = static_cast<int32_t>(l % W);
    return _mm256_load_si256(reinterpret_cast<const __m256i*>(v));
  }
  // (c + step) mod W, for c < W and step < W
  static I step_mod(I c, int step, int W) {
    c = _mm256_add_epi32(c, _mm256_set1_epi32(step));
    return _mm256_sub_epi32(c, _mm256_and_si256(_mm256_cmpgt_epi32(c, _mm256_set1_epi32(W - 1)), _mm256_set1_epi32(W)));
  }
  // bits of the lanes with lo <= c < hi
  static uint32_t in_range(I c, int lo, int hi) {
    const __m256i in = _mm256_and_si256(_mm256_cmpgt_epi32(c, _mm256_set1_epi32(lo - 1)),
                                        _mm256_cmpgt_epi32(_mm256_set1_epi32(hi), c));
    return static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(in)));
  }
  static __m256i bits(uint32_t m) {
    const __m256i b = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(static_cast<int>(m)), b), b);
  }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static T load_n(const float* p, int n) { return _mm256_maskload_ps(p, ku::first_lanes8(n)); }
  static T load_mask(const float* p, uint32_t m) { return m == 0xFF ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, bits(m)); }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static void store_n(float* p, T v, int n) { _mm256_maskstore_ps(p, ku::first_lanes8(n), v); }
  static T set1(float v) { return _mm256_set1_ps(v); }
  static T zero() { return _mm256_setzero_ps(); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T max(T a, T b) { return _mm256_max_ps(a, b); }
  static T min(T a, T b) { return _mm256_min_ps(a, b); }
  static T fmadd(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  // a, b: 16 consecutive values → the 8 at even and the 8 at odd positions
  static void split(T a, T b, T* even, T* odd) {
    const __m256i idx = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const T pa = _mm256_permutevar8x32_ps(a, idx), pb = _mm256_permutevar8x32_ps(b, idx);
    *even = _mm256_permute2f128_ps(pa, pb, 0x20);
    *odd = _mm256_permute2f128_ps(pa, pb, 0x31);
  }
  // (s, v[0], …, v[6])
  static T shift_in(T v, float s) {
    return _mm256_blend_ps(_mm256_permutevar8x32_ps(v, _mm256_setr_epi32(7, 0, 1, 2, 3, 4, 5, 6)), _mm256_set1_ps(s), 1);
  }
};

}  // namespace

void plane_avx2(const Plane& p) { plane_any<V8>(p); }
void flat_avx2(const Flat& f, const Planes& pl, int64_t p0, int64_t p1) { flat_rows_or_any<V8>(f, pl, p0, p1); }
void stride2_avx2(const Stride2& f, const Planes& pl, int64_t p0, int64_t p1) {
  stride2_any<V8>(f, pl, p0, p1);
}

}  // namespace depthwise
}  // namespace fleetrt
