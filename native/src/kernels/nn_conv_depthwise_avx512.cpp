// AVX-512 depthwise loops (nn_conv_depthwise.h); compiled for AVX-512F by the pragma below.
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#include <immintrin.h>

#include "nn_conv_depthwise_impl.h"
#include "simd_lanes_avx512.h"

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
  static void store_parts(float* p, T v, int n) { store_n(p, v, n); }
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

// 3×3 stride 2, rows not dilated, for the NB blocks of 16 outputs from column ow0 of every output
// row: each input row split into its even and odd columns once per block and used by both output
// rows that read it (row 2·oh + 2 − pad is row kh = 2 of output row oh and kh = 0 of oh + 1,
// kept in registers for it); the left taps from the odd columns shifted by one lane. The same
// sums, in the same order, as stride2_any.
template <int NB>
void stride2_3x3_blocks(const Stride2& f, const float* x, const __m512 (&wv)[9], const Epilogue& ep, int64_t ow0,
                        float* y) {
  const int64_t H = f.H, W = f.W, OH = f.OH, OW = f.OW;
  const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i io = _mm512_add_epi32(ie, _mm512_set1_epi32(1));
  __mmask16 ma[NB], mb[NB];  // the lanes of each block's two loads inside the row
  for (int j = 0; j < NB; ++j) {
    const int64_t c = 2 * (ow0 + 16 * j);
    ma[j] = ku::first_lanes(W - c), mb[j] = ku::first_lanes(W - c - 16);
  }
  // input row ih's values at columns 2·o − 1, 2·o and 2·o + 1 of block j's outputs o
  auto split = [&](int64_t ih, int j, __m512* l, __m512* mid, __m512* r) {
    if (ih < 0 || ih >= H) {
      *l = *mid = *r = _mm512_setzero_ps();
      return;
    }
    const int64_t c = 2 * (ow0 + 16 * j);
    const float* row = x + ih * W + c;
    // plain loads where the whole vector is inside the row (masked ones waited longer on memory)
    const __m512 a = ma[j] == 0xFFFF ? _mm512_loadu_ps(row) : _mm512_maskz_loadu_ps(ma[j], row);
    const __m512 b = mb[j] == 0xFFFF ? _mm512_loadu_ps(row + 16) : _mm512_maskz_loadu_ps(mb[j], row + 16);
    *mid = _mm512_permutex2var_ps(a, ie, b);
    *r = _mm512_permutex2var_ps(a, io, b);
    const __m512 before = c > 0 ? _mm512_set1_ps(row[-1]) : _mm512_setzero_ps();
    *l = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(*r), _mm512_castps_si512(before), 15));
  };
  __m512 l0[NB], m0[NB], r0[NB];
#pragma GCC unroll 4
  for (int j = 0; j < NB; ++j) split(-f.pad_top, j, &l0[j], &m0[j], &r0[j]);
  for (int64_t oh = 0; oh < OH; ++oh)
#pragma GCC unroll 4  // with constant indices the blocks' rows stay in registers, not on the stack
    for (int j = 0; j < NB; ++j) {
      __m512 l1, m1, r1, l2, m2, r2;
      split(2 * oh + 1 - f.pad_top, j, &l1, &m1, &r1);
      split(2 * oh + 2 - f.pad_top, j, &l2, &m2, &r2);
      __m512 a = sum3x3<V16>(wv, l0[j], m0[j], r0[j], l1, m1, r1, l2, m2, r2);
      const int64_t ow = ow0 + 16 * j;
      const int n = static_cast<int>(std::min<int64_t>(16, OW - ow));
      put<V16>(y + oh * OW + ow, finish<V16>(a, ep, oh * OW + ow, n), n);
      l0[j] = l2, m0[j] = m2, r0[j] = r2;
    }
}

struct Stride2Blocks {
  template <int NB>
  static void run(const Stride2& f, const float* x, const __m512 (&wv)[9], const Epilogue& ep, int64_t ow0, float* y) {
    stride2_3x3_blocks<NB>(f, x, wv, ep, ow0, y);
  }
};

}  // namespace

void plane_avx512(const Plane& p) { plane_any<V16>(p); }
void flat_avx512(const Flat& f, const Planes& pl, int64_t p0, int64_t p1) { flat_rows_or_any<V16>(f, pl, p0, p1); }
void stride2_avx512(const Stride2& f, const Planes& pl, int64_t p0, int64_t p1) {
  if (f.KH == 3 && f.dh == 1) return stride2_3x3_planes<V16, Stride2Blocks>(f, pl, p0, p1);
  stride2_any<V16>(f, pl, p0, p1);
}

}  // namespace depthwise
}  // namespace fleetrt
