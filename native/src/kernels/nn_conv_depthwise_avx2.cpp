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
  // the same by plain stores of 4, 2 and 1 values (ku::store_first8)
  static void store_parts(float* p, T v, int n) { ku::store_first8(p, v, n); }
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

// Stride-2 3×3 (undilated) over NB vectors of outputs from column ow0 on, every output row. The
// taps come from in-lane shuffles of the input row: vshufps of the 16 values at 2·o (and at
// 2·o − 1) gives the even and odd columns in the output order (0 1 4 5 | 2 3 6 7), the same for
// all three taps, so the sums need one cross-lane permute per vector instead of five shuffles per
// row (stride2_any). Input rows read by two output rows are shuffled once. The same sums, in the
// same order, as stride2_any.
template <int NB>
void stride2_3x3_blocks(const Stride2& f, const float* x, const __m256 (&wv)[9], const Epilogue& ep, int64_t ow0,
                        float* y) {
  const int64_t H = f.H, W = f.W, OH = f.OH, OW = f.OW;
  // Per block: the lanes inside the row of the loads at 2·o (a, b) and at 2·o − 1 (a1, b1); plain:
  // no output of the block reads past the row's end, so that plain loads (which read on into the
  // next row for the lanes past OW) serve where they stay inside the plane, lane 0 of a1 zeroed
  // at the row's start (the left pad).
  __m256i ma[NB], mb[NB], ma1[NB], mb1[NB];
  bool plain[NB];
  for (int j = 0; j < NB; ++j) {
    const int64_t ow = ow0 + 8 * j, c = 2 * ow;
    ma[j] = ku::first_lanes8(W - c), mb[j] = ku::first_lanes8(W - c - 8);
    ma1[j] = _mm256_andnot_si256(ku::first_lanes8(1 - c), ku::first_lanes8(W - c + 1));
    mb1[j] = ku::first_lanes8(W - c - 7);
    plain[j] = 2 * (std::min(OW, ow + 8) - 1) + 1 < W;
  }
  // input row ih at columns 2·o − 1, 2·o, 2·o + 1 of block j, in the shuffled output order
  auto taps = [&](int64_t ih, int j, __m256* l, __m256* mid, __m256* r) {
    if (ih < 0 || ih >= H) {
      *l = *mid = *r = _mm256_setzero_ps();
      return;
    }
    const int64_t c = 2 * (ow0 + 8 * j), at = ih * W + c;
    const float* row = x + at;
    __m256 a, b, a1, b1;
    if (plain[j] && at >= 1 && at + 16 <= H * W) {
      a = _mm256_loadu_ps(row), b = _mm256_loadu_ps(row + 8);
      a1 = _mm256_loadu_ps(row - 1), b1 = _mm256_loadu_ps(row + 7);
      if (c == 0) a1 = _mm256_blend_ps(a1, _mm256_setzero_ps(), 1);
    } else {
      a = _mm256_maskload_ps(row, ma[j]), b = _mm256_maskload_ps(row + 8, mb[j]);
      a1 = _mm256_maskload_ps(row - 1, ma1[j]), b1 = _mm256_maskload_ps(row + 7, mb1[j]);
    }
    *mid = _mm256_shuffle_ps(a, b, 0x88);
    *r = _mm256_shuffle_ps(a, b, 0xDD);
    *l = _mm256_shuffle_ps(a1, b1, 0x88);
  };
  // a partial last vector stored whole where its extra lanes fall on the next output row's first
  // columns, written after it (the blocks span the whole row)
  const bool whole_rows = ow0 == 0 && OW <= 8 * NB;
  __m256 l0[NB], m0[NB], r0[NB];
#pragma GCC unroll 4
  for (int j = 0; j < NB; ++j) taps(-f.pad_top, j, &l0[j], &m0[j], &r0[j]);
  for (int64_t oh = 0; oh < OH; ++oh)
#pragma GCC unroll 4
    for (int j = 0; j < NB; ++j) {
      __m256 l1, m1, r1, l2, m2, r2;
      taps(2 * oh + 1 - f.pad_top, j, &l1, &m1, &r1);
      taps(2 * oh + 2 - f.pad_top, j, &l2, &m2, &r2);
      __m256 a = sum3x3<V8>(wv, l0[j], m0[j], r0[j], l1, m1, r1, l2, m2, r2);
      a = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(a), 0xD8));  // back to 0 1 2 … 7
      const int64_t ow = ow0 + 8 * j;
      int n = static_cast<int>(std::min<int64_t>(8, OW - ow));
      if (n < 8 && whole_rows && oh + 1 < OH) n = 8;
      put<V8>(y + oh * OW + ow, finish<V8>(a, ep, oh * OW + ow, n), n);
      l0[j] = l2, m0[j] = m2, r0[j] = r2;
    }
}

struct Stride2Blocks {
  template <int NB>
  static void run(const Stride2& f, const float* x, const __m256 (&wv)[9], const Epilogue& ep, int64_t ow0, float* y) {
    stride2_3x3_blocks<NB>(f, x, wv, ep, ow0, y);
  }
};

}  // namespace

void plane_avx2(const Plane& p) { plane_any<V8>(p); }
void flat_avx2(const Flat& f, const Planes& pl, int64_t p0, int64_t p1) { flat_rows_or_any<V8>(f, pl, p0, p1); }
void stride2_avx2(const Stride2& f, const Planes& pl, int64_t p0, int64_t p1) {
  if (f.KH == 3 && f.dh == 1) return stride2_3x3_planes<V8, Stride2Blocks>(f, pl, p0, p1);
  stride2_any<V8>(f, pl, p0, p1);
}

}  // namespace depthwise
}  // namespace fleetrt
