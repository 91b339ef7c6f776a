// AVX2 transforms of F(4×4, 3×3) (nn_conv_winograd_kernels.h), 8 tiles a vector. Compiled with
// -mavx2 -mfma; nn_conv_winograd.cpp calls them only after ku::use_avx2().
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "nn_conv_winograd_kernels.h"

namespace fleetrt {
namespace winograd {
namespace {

// Bᵀ·d of six vectors (d[k]: 8 tiles' values at position k), into t (the AVX-512 file's bt6).
inline void bt6(const __m256* d, __m256* t) {
  const __m256 four = _mm256_set1_ps(4.f), five = _mm256_set1_ps(5.f), two = _mm256_set1_ps(2.f);
  t[0] = _mm256_add_ps(_mm256_fmsub_ps(four, d[0], _mm256_mul_ps(five, d[2])), d[4]);
  t[5] = _mm256_add_ps(_mm256_fmsub_ps(four, d[1], _mm256_mul_ps(five, d[3])), d[5]);
  const __m256 s12 = _mm256_add_ps(d[1], d[2]), s34 = _mm256_add_ps(d[3], d[4]);
  const __m256 m12 = _mm256_sub_ps(d[1], d[2]), m43 = _mm256_sub_ps(d[4], d[3]);
  t[1] = _mm256_fnmadd_ps(four, s12, s34);
  t[2] = _mm256_fmadd_ps(four, m12, m43);
  const __m256 m31 = _mm256_sub_ps(d[3], d[1]), m42 = _mm256_sub_ps(d[4], d[2]);
  t[3] = _mm256_fmadd_ps(two, m31, m42);
  t[4] = _mm256_fnmadd_ps(two, m31, m42);
}

// Aᵀ·m of six vectors into four (the AVX-512 file's at6).
inline void at6(const __m256* m, __m256* y) {
  const __m256 s12 = _mm256_add_ps(m[1], m[2]), d12 = _mm256_sub_ps(m[1], m[2]);
  const __m256 s34 = _mm256_add_ps(m[3], m[4]), d34 = _mm256_sub_ps(m[3], m[4]);
  y[0] = _mm256_add_ps(_mm256_add_ps(m[0], s12), s34);
  y[1] = _mm256_fmadd_ps(_mm256_set1_ps(2.f), d34, d12);
  y[2] = _mm256_fmadd_ps(_mm256_set1_ps(4.f), s34, s12);
  y[3] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8.f), d34, d12), m[5]);
}

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

inline __m256i first_lanes8(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(std::min<int64_t>(n, 8))),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

}  // namespace

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
        const float* s = xc + iy * W + col;
        alignas(32) float edge[40];
        if (col < 0 || col + 36 > W) {  // past an edge of the plane: a copy with the zeros
          for (int64_t i = 0; i < 36; ++i) edge[i] = col + i >= 0 && col + i < W ? s[i] : 0.f;
          s = edge;
        }
        columns_of_4<4>(s, d);
        columns_of_4<2>(s + 4, d + 4);
      }
      __m256 o[6];
      bt6(d, o);  // B along the row
      for (int j = 0; j < 6; ++j) _mm256_store_ps(t[r][j], o[j]);
    }
    float* out = dst + (tx - tx0);
    const __m256i mask = first_lanes8(n);
    for (int j = 0; j < 6; ++j) {
      __m256 d[6], o[6];
      for (int r = 0; r < 6; ++r) d[r] = _mm256_load_ps(t[r][j]);
      bt6(d, o);  // Bᵀ down the column
      for (int i = 0; i < 6; ++i) {
        float* p = out + (6 * i + j) * xi_stride;
        if (n == 8) _mm256_storeu_ps(p, o[i]);
        else _mm256_maskstore_ps(p, mask, o[i]);
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
      at6(v, y);
      for (int i = 0; i < 4; ++i) _mm256_store_ps(u[i][j], y[i]);
    }
    for (int i = 0; i < 4; ++i) {
      __m256 v[6], y[4];
      for (int j = 0; j < 6; ++j) v[j] = _mm256_load_ps(u[i][j]);
      at6(v, y);  // A along the row: y[dx] of 8 tiles
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
