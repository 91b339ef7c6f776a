// AVX-512 transforms of F(2×2, 3×3) (nn_conv_winograd.h), 16 tiles a vector. Compiled for
// AVX-512F by the pragma below; nn_conv_winograd.cpp calls them only after ku::use_avx512().
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#include <immintrin.h>

#include <algorithm>

#include "fused_epilogue_avx512.h"
#include "nn_conv_winograd_kernels.h"
#include "nn_conv_winograd_math.h"
#include "simd_lanes_avx512.h"

namespace fleetrt {
namespace winograd {

using ku::first_lanes;

namespace {
struct V16 {  // nn_conv_winograd_math.h's vector: 16 tiles
  using T = __m512;
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T set1(float v) { return _mm512_set1_ps(v); }
  static T fmadd(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T fmsub(T a, T b, T c) { return _mm512_fmsub_ps(a, b, c); }
  static T fnmadd(T a, T b, T c) { return _mm512_fnmadd_ps(a, b, c); }
};
}  // namespace

// The lanes of 16 values from input column col on that lie inside the row [0, W).
inline __mmask16 inside(int64_t col, int64_t W) {
  const int64_t lo = std::max<int64_t>(0, -col), hi = std::min<int64_t>(16, W - col);
  return hi > lo ? static_cast<__mmask16>(((1u << hi) - 1) & ~((1u << lo) - 1)) : 0;
}

void input_tiles_avx512(const float* xc, int64_t H, int64_t W, int64_t iy0, int64_t pl, int64_t tx0, int64_t tx1,
                        float* dst, int64_t xi_stride) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  for (int64_t tx = tx0; tx < tx1; tx += 16) {
    const __mmask16 m = first_lanes(tx1 - tx);
    // tile tx reads input columns 2·tx − pl .. 2·tx − pl + 3: of 16 tiles, the 32 columns from
    // col (a, b) and the 32 from col + 2 (a2, b2), zero outside the plane
    const int64_t col = 2 * tx - pl;
    const __mmask16 ma = inside(col, W), mb = inside(col + 16, W), ma2 = inside(col + 2, W), mb2 = inside(col + 18, W);
    __m512 a[4], b[4], a2[4], b2[4];
    for (int r = 0; r < 4; ++r) {
      const int64_t iy = iy0 + r;
      if (iy < 0 || iy >= H) {
        a[r] = b[r] = a2[r] = b2[r] = _mm512_setzero_ps();
        continue;
      }
      // masked-off lanes are not read: the row's base may lie before the plane at its left edge
      const float* s = xc + iy * W + col;
      a[r] = _mm512_maskz_loadu_ps(ma, s);
      b[r] = _mm512_maskz_loadu_ps(mb, s + 16);
      a2[r] = _mm512_maskz_loadu_ps(ma2, s + 2);
      b2[r] = _mm512_maskz_loadu_ps(mb2, s + 18);
    }
    float* o = dst + (tx - tx0);
    for (int i = 0; i < 4; ++i) {
      // Bᵀ down the columns, then E[tx], O[tx], E[tx + 1], O[tx + 1] of that row
      const __m512 da = bt4_row<V16>(i, a), db = bt4_row<V16>(i, b), da2 = bt4_row<V16>(i, a2),
                   db2 = bt4_row<V16>(i, b2);
      const __m512 e0 = _mm512_permutex2var_ps(da, even, db), o0 = _mm512_permutex2var_ps(da, odd, db);
      const __m512 e1 = _mm512_permutex2var_ps(da2, even, db2), o1 = _mm512_permutex2var_ps(da2, odd, db2);
      __m512 v[4];
      b4_along<V16>(e0, o0, e1, o1, v);  // B along the rows
      for (int j = 0; j < 4; ++j) _mm512_mask_storeu_ps(o + (4 * i + j) * xi_stride, m, v[j]);
    }
  }
}

namespace {
// n values from row + at (n < 16: the first lanes), plain or with st's epilogue.
template <bool kEpi>
inline void put(const TileRowStores& st, int dy, int64_t at, int64_t n, __m512 v) {
  if (n <= 0) return;
  const __mmask16 m = first_lanes(n);
  if (kEpi) {
    const __m512 vbias = _mm512_set1_ps(st.bias);
    const __m512 add = st.z[dy] ? _mm512_add_ps(vbias, _mm512_maskz_loadu_ps(m, st.z[dy] + at)) : vbias;
    v = epilogue_avx512(v, add, st);
  }
  _mm512_mask_storeu_ps(st.rows[dy] + at, m, v);
}

// Plain stores of the output transform into `count` scratch rows `width` values long.
TileRowStores scratch_rows(float* const* rows, int count, int64_t width) {
  TileRowStores st;
  for (int i = 0; i < count; ++i) st.rows[i] = rows[i];
  st.width = width;
  return st;
}

template <bool kEpi>
void tiles_f2(const float* mat, int64_t xi_stride, int64_t n, const TileRowStores& st) {
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  for (int64_t t = 0; t < n; t += 16) {
    const __mmask16 m = first_lanes(n - t);
    __m512 u[4][2];  // Aᵀ down column j: u[j][dy]
    for (int j = 0; j < 4; ++j) {
      __m512 mj[4];
      for (int i = 0; i < 4; ++i) mj[i] = _mm512_maskz_loadu_ps(m, mat + (4 * i + j) * xi_stride + t);
      at4<V16>(mj, u[j]);
    }
    const int64_t vals = std::min(st.width, 2 * n) - 2 * t;
    for (int dy = 0; dy < 2; ++dy) {
      if (!st.rows[dy]) continue;
      // A along the rows, the two columns of each tile next to each other
      const __m512 r[4] = {u[0][dy], u[1][dy], u[2][dy], u[3][dy]};
      __m512 y[2];
      at4<V16>(r, y);
      put<kEpi>(st, dy, 2 * t, std::min<int64_t>(16, vals), _mm512_permutex2var_ps(y[0], lo, y[1]));
      put<kEpi>(st, dy, 2 * t + 16, std::min<int64_t>(16, vals - 16), _mm512_permutex2var_ps(y[0], hi, y[1]));
    }
  }
}
}  // namespace

void output_tiles_avx512(const float* mat, int64_t xi_stride, int64_t n, float* const* rows) {
  tiles_f2<false>(mat, xi_stride, n, scratch_rows(rows, 2, 2 * n));
}

void store_tiles_avx512(const float* mat, int64_t xi_stride, int64_t n, const TileRowStores& st) {
  tiles_f2<true>(mat, xi_stride, n, st);
}


// ---------------------------------------------------------------- F(4×4, 3×3)
// Bᵀ, G and Aᵀ of the interpolation points 0, ±1, ±2 and ∞ (6×6 inputs per 4×4 outputs).


void input_tiles_f4_avx512(const float* xc, int64_t H, int64_t W, int64_t iy0, int64_t pl, int64_t tx0, int64_t tx1,
                           float* dst, int64_t xi_stride) {
  // lanes 0–7: every 4th value of (a, b) from k; lanes 8–15: the same of (c, d)
  __m512i idx[4];
  for (int k = 0; k < 4; ++k) {
    alignas(64) int32_t v[16];
    for (int i = 0; i < 8; ++i) v[i] = v[8 + i] = k + 4 * i;
    idx[k] = _mm512_load_si512(v);
  }
  alignas(64) float t[6][6][16];  // row r of the patch after B along it: t[r][j]
  for (int64_t tx = tx0; tx < tx1; tx += 16) {
    const __mmask16 m = first_lanes(tx1 - tx);
    const int64_t col = 4 * tx - pl;  // tile tx reads columns 4·tx − pl .. 4·tx − pl + 5
    __mmask16 in[4];
    for (int v = 0; v < 4; ++v) in[v] = inside(col + 16 * v, W);
    const __mmask16 in4[4] = {inside(col + 4, W), inside(col + 20, W), inside(col + 36, W), inside(col + 52, W)};
    for (int r = 0; r < 6; ++r) {
      __m512 d[6];
      const int64_t iy = iy0 + r;
      if (iy < 0 || iy >= H) {
        for (int k = 0; k < 6; ++k) d[k] = _mm512_setzero_ps();
      } else {
        const float* s = xc + iy * W + col;  // masked-off lanes are not read
        __m512 v[4], w[4];
        for (int q = 0; q < 4; ++q) {
          v[q] = _mm512_maskz_loadu_ps(in[q], s + 16 * q);
          w[q] = _mm512_maskz_loadu_ps(in4[q], s + 4 + 16 * q);
        }
        for (int k = 0; k < 6; ++k) {
          const __m512* src = k < 4 ? v : w;
          const __m512i ix = idx[k & 3];
          d[k] = _mm512_mask_blend_ps(0xFF00, _mm512_permutex2var_ps(src[0], ix, src[1]),
                                      _mm512_permutex2var_ps(src[2], ix, src[3]));
        }
      }
      __m512 o[6];
      bt6<V16>(d, o);  // B along the row
      for (int j = 0; j < 6; ++j) _mm512_store_ps(t[r][j], o[j]);
    }
    float* out = dst + (tx - tx0);
    for (int j = 0; j < 6; ++j) {
      __m512 d[6], o[6];
      for (int r = 0; r < 6; ++r) d[r] = _mm512_load_ps(t[r][j]);
      bt6<V16>(d, o);  // Bᵀ down the column
      for (int i = 0; i < 6; ++i) _mm512_mask_storeu_ps(out + (6 * i + j) * xi_stride, m, o[i]);
    }
  }
}

namespace {
template <bool kEpi>
void tiles_f4(const float* mat, int64_t xi_stride, int64_t n, const TileRowStores& st) {
  alignas(64) float u[4][6][16];  // Aᵀ down each column j: u[i][j]
  for (int64_t t = 0; t < n; t += 16) {
    const __mmask16 m = first_lanes(n - t);
    for (int j = 0; j < 6; ++j) {
      __m512 v[6], y[4];
      for (int i = 0; i < 6; ++i) v[i] = _mm512_maskz_loadu_ps(m, mat + (6 * i + j) * xi_stride + t);
      at6<V16>(v, y);
      for (int i = 0; i < 4; ++i) _mm512_store_ps(u[i][j], y[i]);
    }
    const int64_t vals = std::min(st.width, 4 * n) - 4 * t;
    for (int i = 0; i < 4; ++i) {
      if (!st.rows[i]) continue;
      __m512 v[6], y[4];
      for (int j = 0; j < 6; ++j) v[j] = _mm512_load_ps(u[i][j]);
      at6<V16>(v, y);  // A along the row: y[dx] of 16 tiles
      // the four columns of each tile next to each other: within each 128-bit lane L, tiles
      // 4L .. 4L + 3 as e[0..3], then the lanes regrouped
      const __m512 a = _mm512_unpacklo_ps(y[0], y[2]), b = _mm512_unpackhi_ps(y[0], y[2]);
      const __m512 c = _mm512_unpacklo_ps(y[1], y[3]), d = _mm512_unpackhi_ps(y[1], y[3]);
      const __m512 e0 = _mm512_unpacklo_ps(a, c), e1 = _mm512_unpackhi_ps(a, c);
      const __m512 e2 = _mm512_unpacklo_ps(b, d), e3 = _mm512_unpackhi_ps(b, d);
      const __m512 g0 = _mm512_shuffle_f32x4(e0, e1, 0x44), g1 = _mm512_shuffle_f32x4(e2, e3, 0x44);
      const __m512 h0 = _mm512_shuffle_f32x4(e0, e1, 0xEE), h1 = _mm512_shuffle_f32x4(e2, e3, 0xEE);
      const __m512 o[4] = {_mm512_shuffle_f32x4(g0, g1, 0x88), _mm512_shuffle_f32x4(g0, g1, 0xDD),
                           _mm512_shuffle_f32x4(h0, h1, 0x88), _mm512_shuffle_f32x4(h0, h1, 0xDD)};
      for (int q = 0; q < 4; ++q) put<kEpi>(st, i, 4 * t + 16 * q, std::min<int64_t>(16, vals - 16 * q), o[q]);
    }
  }
}
}  // namespace

void output_tiles_f4_avx512(const float* mat, int64_t xi_stride, int64_t n, float* const* rows) {
  tiles_f4<false>(mat, xi_stride, n, scratch_rows(rows, 4, 4 * n));
}

void store_tiles_f4_avx512(const float* mat, int64_t xi_stride, int64_t n, const TileRowStores& st) {
  tiles_f4<true>(mat, xi_stride, n, st);
}

}  // namespace winograd
}  // namespace fleetrt
