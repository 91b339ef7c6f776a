// AVX-512 transforms of F(2×2, 3×3) (nn_conv_winograd.h), 16 tiles a vector. Compiled for
// AVX-512F by the pragma below; nn_conv_winograd.cpp calls them only after ku::use_avx512().
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#include <immintrin.h>

#include <algorithm>

#include "nn_conv_winograd_kernels.h"

namespace fleetrt {
namespace winograd {

namespace {

inline __mmask16 first_lanes(int64_t n) {
  return static_cast<__mmask16>(n >= 16 ? 0xFFFFu : (1u << n) - 1);
}

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
      // Bᵀ down the columns: D0 = P0 − P2, D1 = P1 + P2, D2 = P2 − P1, D3 = P1 − P3
      const int p = i == 0 ? 0 : 1, q = i == 0 ? 2 : i == 3 ? 3 : 2;
      auto comb = [&](const __m512* v) {
        return i == 1 ? _mm512_add_ps(v[p], v[q]) : i == 2 ? _mm512_sub_ps(v[q], v[p]) : _mm512_sub_ps(v[p], v[q]);
      };
      const __m512 da = comb(a), db = comb(b), da2 = comb(a2), db2 = comb(b2);
      // E[tx], O[tx], E[tx + 1], O[tx + 1] of that row
      const __m512 e0 = _mm512_permutex2var_ps(da, even, db), o0 = _mm512_permutex2var_ps(da, odd, db);
      const __m512 e1 = _mm512_permutex2var_ps(da2, even, db2), o1 = _mm512_permutex2var_ps(da2, odd, db2);
      // B along the rows: E0 − E1, O0 + E1, E1 − O0, O0 − O1
      _mm512_mask_storeu_ps(o + (4 * i + 0) * xi_stride, m, _mm512_sub_ps(e0, e1));
      _mm512_mask_storeu_ps(o + (4 * i + 1) * xi_stride, m, _mm512_add_ps(o0, e1));
      _mm512_mask_storeu_ps(o + (4 * i + 2) * xi_stride, m, _mm512_sub_ps(e1, o0));
      _mm512_mask_storeu_ps(o + (4 * i + 3) * xi_stride, m, _mm512_sub_ps(o0, o1));
    }
  }
}

void output_tiles_avx512(const float* mat, int64_t xi_stride, int64_t n, float* r0, float* r1) {
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  for (int64_t t = 0; t < n; t += 16) {
    const __mmask16 m = first_lanes(n - t);
    __m512 u[2][4];
    for (int j = 0; j < 4; ++j) {
      const __m512 m0 = _mm512_maskz_loadu_ps(m, mat + (0 + j) * xi_stride + t),
                   m1 = _mm512_maskz_loadu_ps(m, mat + (4 + j) * xi_stride + t),
                   m2 = _mm512_maskz_loadu_ps(m, mat + (8 + j) * xi_stride + t),
                   m3 = _mm512_maskz_loadu_ps(m, mat + (12 + j) * xi_stride + t);
      // Aᵀ down the columns: M0 + M1 + M2, M1 − M2 − M3
      u[0][j] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
      u[1][j] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
    }
    const int64_t vals = 2 * std::min<int64_t>(16, n - t);
    const __mmask16 mlo = first_lanes(vals), mhi = first_lanes(vals - 16 > 0 ? vals - 16 : 0);
    float* rows[2] = {r0, r1};
    for (int dy = 0; dy < 2; ++dy) {
      // A along the rows, the two columns of each tile next to each other
      const __m512 y0 = _mm512_add_ps(_mm512_add_ps(u[dy][0], u[dy][1]), u[dy][2]);
      const __m512 y1 = _mm512_sub_ps(_mm512_sub_ps(u[dy][1], u[dy][2]), u[dy][3]);
      _mm512_mask_storeu_ps(rows[dy] + 2 * t, mlo, _mm512_permutex2var_ps(y0, lo, y1));
      if (mhi) _mm512_mask_storeu_ps(rows[dy] + 2 * t + 16, mhi, _mm512_permutex2var_ps(y0, hi, y1));
    }
  }
}

}  // namespace winograd
}  // namespace fleetrt
