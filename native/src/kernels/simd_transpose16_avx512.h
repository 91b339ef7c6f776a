// A 16×16 float transpose in AVX-512 registers, shared by the files compiled for AVX-512 (the
// Transpose tiles, the SGEMM's packing of A). Include only from a file compiled for AVX-512F
// (pragma or flags); unnamed namespace: each such file gets its own copy.
#pragma once
#include <immintrin.h>

namespace fleetrt {
namespace ku {
namespace {

// r[j] holds row j (16 values) → o[i] holds column i (r[0][i], r[1][i], …, r[15][i]). r is clobbered.
inline void transpose16x16_ps(__m512 r[16], __m512 o[16]) {
  __m512 t[16];
  // t[2i], t[2i+1]: rows 2i and 2i+1 interleaved (in each 128-bit lane L: columns 4L, 4L+1 / 4L+2, 4L+3)
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // r[4j + c]: in lane L, rows 4j..4j+3 of column 4L + c
  for (int j = 0; j < 4; ++j) {
    r[4 * j] = _mm512_shuffle_ps(t[4 * j], t[4 * j + 2], 0x44);
    r[4 * j + 1] = _mm512_shuffle_ps(t[4 * j], t[4 * j + 2], 0xEE);
    r[4 * j + 2] = _mm512_shuffle_ps(t[4 * j + 1], t[4 * j + 3], 0x44);
    r[4 * j + 3] = _mm512_shuffle_ps(t[4 * j + 1], t[4 * j + 3], 0xEE);
  }
  // column 4L + c = lane L of r[c], r[4 + c], r[8 + c], r[12 + c]
  for (int c = 0; c < 4; ++c) {
    const __m512 v0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x44), v1 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xEE);
    const __m512 w0 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x44),
                 w1 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xEE);
    o[c] = _mm512_shuffle_f32x4(v0, w0, 0x88);
    o[4 + c] = _mm512_shuffle_f32x4(v0, w0, 0xDD);
    o[8 + c] = _mm512_shuffle_f32x4(v1, w1, 0x88);
    o[12 + c] = _mm512_shuffle_f32x4(v1, w1, 0xDD);
  }
}

}  // namespace
}  // namespace ku
}  // namespace fleetrt
