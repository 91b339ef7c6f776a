// AVX2 transforms of F(2×2, 3×3) and F(4×4, 3×3) (nn_conv_winograd_kernels.h), 8 tiles a vector.
// Compiled with -mavx2 -mfma; nn_conv_winograd.cpp calls them only after ku::use_avx2().
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "nn_conv_winograd_kernels.h"
#include "nn_conv_winograd_math.h"
#include "simd_lanes_avx2.h"

namespace fleetrt {
namespace winograd {

namespace {

struct V8 {  // nn_conv_winograd_math.h's vector: 8 tiles
  using T = __m256;
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T set1(float v) { return _mm256_set1_ps(v); }
  static T fmadd(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T fmsub(T a, T b, T c) { return _mm256_fmsub_ps(a, b, c); }
  static T fnmadd(T a, T b, T c) { return _mm256_fnmadd_ps(a, b, c); }
};

// c[k][i] = p[4i + k] for k < K (K = 2 or 4), i < 8: eight rows of four transposed.
template <int K>
inline void columns_of_4(const float* p, __m256* c) {
  const __m256 v0 = _mm256_loadu_ps(p), v1 = _mm256_loadu_ps(p + 8), v2 = _mm256_loadu_ps(p + 16),
               v3 = _mm256_loadu_ps(p + 24);
  // rows 0–3 in the low halves, 4–7 in the high ones, then a 4×4 transpose in each half
  const __m256 a0 = _mm256_permute2f128_ps(v0, v2, 0x20), a1 = _mm256_permute2f128_ps(v0, v2, 0x31),
               a2 = _mm256_permute2f128_ps(v1, v3, 0x20), a3 = _mm256_permute2f128_ps(v1, v3, 0x31);
  const __m256 t0 = _mm256_unpacklo_ps(a0, a1), t2 = _mm256_unpacklo_ps(a2, a3);
  c[0] = _mm256_shuffle_ps(t0, t2, 0x44);
  c[1] = _mm256_shuffle_ps(t0, t2, 0xEE);
  if (K == 4) {
    const __m256 t1 = _mm256_unpackhi_ps(a0, a1), t3 = _mm256_unpackhi_ps(a2, a3);
    c[2] = _mm256_shuffle_ps(t1, t3, 0x44);
    c[3] = _mm256_shuffle_ps(t1, t3, 0xEE);
  }
}

// The even and odd values of the 16 in (a, b): a0 a2 … b6 and a1 a3 … b7.
inline void split_even_odd(__m256 a, __m256 b, __m256* even, __m256* odd) {
  // per 128-bit lane: a0 a2 b0 b2 | a4 a6 b4 b6, then the 64-bit pairs in order
  *even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
  *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8));
}

// The n values of row r from column col on (zero outside [0, W)) where they pass an edge of the
// row: a copy in buf; else r + col itself.
inline const float* row_run(const float* r, int64_t col, int64_t W, int64_t n, float* buf) {
  if (col >= 0 && col + n <= W) return r + col;
  for (int64_t i = 0; i < n; ++i) buf[i] = col + i >= 0 && col + i < W ? r[col + i] : 0.f;
  return buf;
}

}  // namespace

void input_tiles_avx2(const float* xc, int64_t H, int64_t W, int64_t iy0, int64_t pl, int64_t tx0, int64_t tx1,
                      float* dst, int64_t xi_stride) {
  for (int64_t tx = tx0; tx < tx1; tx += 8) {
    const int64_t n = std::min<int64_t>(8, tx1 - tx);
    const int64_t col = 2 * tx - pl;  // 8 tiles read columns col .. col + 17
    // each patch row's 16 values from col (a, b) and the 16 from col + 2 (a2, b2)
    __m256 a[4], b[4], a2[4], b2[4];
    for (int r = 0; r < 4; ++r) {
      const int64_t iy = iy0 + r;
      if (iy < 0 || iy >= H) {
        a[r] = b[r] = a2[r] = b2[r] = _mm256_setzero_ps();
        continue;
      }
      alignas(32) float edge[24];
      const float* s = row_run(xc + iy * W, col, W, 18, edge);
      a[r] = _mm256_loadu_ps(s);
      b[r] = _mm256_loadu_ps(s + 8);
      a2[r] = _mm256_loadu_ps(s + 2);
      b2[r] = _mm256_loadu_ps(s + 10);
    }
    float* o = dst + (tx - tx0);
    auto put = [&](int xi, __m256 v) {
      ku::store_first8(o + xi * xi_stride, v, n);
    };
    for (int i = 0; i < 4; ++i) {
      // Bᵀ down the columns, then E[tx], O[tx], E[tx + 1], O[tx + 1] of that row
      __m256 e0, o0, e1, o1, v[4];
      split_even_odd(bt4_row<V8>(i, a), bt4_row<V8>(i, b), &e0, &o0);
      split_even_odd(bt4_row<V8>(i, a2), bt4_row<V8>(i, b2), &e1, &o1);
      b4_along<V8>(e0, o0, e1, o1, v);  // B along the rows
      for (int j = 0; j < 4; ++j) put(4 * i + j, v[j]);
    }
  }
}

void output_tiles_avx2(const float* mat, int64_t xi_stride, int64_t n, float* const* rows) {
  for (int64_t t = 0; t < n; t += 8) {
    // (a last group of fewer than 8: as output_tiles_f4_avx2)
    __m256 u[4][2];  // Aᵀ down column j: u[j][dy]
    for (int j = 0; j < 4; ++j) {
      __m256 mj[4];
      for (int i = 0; i < 4; ++i) mj[i] = _mm256_loadu_ps(mat + (4 * i + j) * xi_stride + t);
      at4<V8>(mj, u[j]);
    }
    for (int dy = 0; dy < 2; ++dy) {
      // A along the rows, the two columns of each tile next to each other
      const __m256 r[4] = {u[0][dy], u[1][dy], u[2][dy], u[3][dy]};
      __m256 y[2];
      at4<V8>(r, y);
      const __m256 lo = _mm256_unpacklo_ps(y[0], y[1]), hi = _mm256_unpackhi_ps(y[0], y[1]);
      _mm256_storeu_ps(rows[dy] + 2 * t, _mm256_permute2f128_ps(lo, hi, 0x20));
      _mm256_storeu_ps(rows[dy] + 2 * t + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
    }
  }
}

void input_tiles_f4_avx2(const float* xc, int64_t H, int64_t W, int64_t iy0, int64_t pl, int64_t tx0, int64_t tx1,
                         float* dst, int64_t xi_stride) {
  alignas(32) float t[6][6][8];  // row r of the patch after B along it: t[r][j]
  for (int64_t tx = tx0; tx < tx1; tx += 8) {
    const int64_t n = std::min<int64_t>(8, tx1 - tx);
    const int64_t col = 4 * tx - pl;  // 8 tiles read columns col .. col + 35
    for (int r = 0; r < 6; ++r) {
      __m256 d[6];
      const int64_t iy = iy0 + r;
      if (iy < 0 || iy >= H) {
        for (int k = 0; k < 6; ++k) d[k] = _mm256_setzero_ps();
      } else {
        alignas(32) float edge[40];
        const float* s = row_run(xc + iy * W, col, W, 36, edge);
        columns_of_4<4>(s, d);
        columns_of_4<2>(s + 4, d + 4);
      }
      __m256 o[6];
      bt6<V8>(d, o);  // B along the row
      for (int j = 0; j < 6; ++j) _mm256_store_ps(t[r][j], o[j]);
    }
    float* out = dst + (tx - tx0);
    for (int j = 0; j < 6; ++j) {
      __m256 d[6], o[6];
      for (int r = 0; r < 6; ++r) d[r] = _mm256_load_ps(t[r][j]);
      bt6<V8>(d, o);  // Bᵀ down the column
      for (int i = 0; i < 6; ++i) {
        float* p = out + (6 * i + j) * xi_stride;
        ku::store_first8(p, o[i], n);
      }
    }
  }
}

void output_tiles_f4_avx2(const float* mat, int64_t xi_stride, int64_t n, float* const* rows) {
  alignas(32) float u[4][6][8];  // Aᵀ down each column j: u[i][j]
  for (int64_t t = 0; t < n; t += 8) {
    // a last group of fewer than 8 tiles reads the products' spare columns and writes into the
    // rows' spare room (nn_conv_winograd.cpp leaves both)
    for (int j = 0; j < 6; ++j) {
      __m256 v[6], y[4];
      for (int i = 0; i < 6; ++i) v[i] = _mm256_loadu_ps(mat + (6 * i + j) * xi_stride + t);
      at6<V8>(v, y);
      for (int i = 0; i < 4; ++i) _mm256_store_ps(u[i][j], y[i]);
    }
    for (int i = 0; i < 4; ++i) {
      __m256 v[6], y[4];
      for (int j = 0; j < 6; ++j) v[j] = _mm256_load_ps(u[i][j]);
      at6<V8>(v, y);  // A along the row: y[dx] of 8 tiles
      // the four columns of each tile next to each other
      const __m256 t0 = _mm256_unpacklo_ps(y[0], y[1]), t1 = _mm256_unpackhi_ps(y[0], y[1]);
      const __m256 t2 = _mm256_unpacklo_ps(y[2], y[3]), t3 = _mm256_unpackhi_ps(y[2], y[3]);
      const __m256 e0 = _mm256_shuffle_ps(t0, t2, 0x44), e1 = _mm256_shuffle_ps(t0, t2, 0xEE);
      const __m256 e2 = _mm256_shuffle_ps(t1, t3, 0x44), e3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      float* o = rows[i] + 4 * t;
      _mm256_storeu_ps(o, _mm256_permute2f128_ps(e0, e1, 0x20));
      _mm256_storeu_ps(o + 8, _mm256_permute2f128_ps(e2, e3, 0x20));
      _mm256_storeu_ps(o + 16, _mm256_permute2f128_ps(e0, e1, 0x31));
      _mm256_storeu_ps(o + 24, _mm256_permute2f128_ps(e2, e3, 0x31));
    }
  }
}

}  // namespace winograd
}  // namespace fleetrt
