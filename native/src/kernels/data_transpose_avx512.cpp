// AVX-512 tile transpose for 4-byte elements (data_transpose.h): 16×16 blocks in registers, each
// line of the source read and each line of the output written whole by one instruction. Compiled
// for AVX-512F by the pragma below; called only after ku::use_avx512().
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#include <immintrin.h>

#include "data_transpose.h"
#include "data_transpose_tile.h"

namespace fleetrt {
namespace ku {
namespace transpose_detail {
namespace {

// r[j] = s[j·ss + 0:16] → d[i·ds + 0:16] = column i. kStream: non-temporal stores (d and ds·4 are
// multiples of 64 bytes).
template <bool kStream>
inline void t16x16(const float* s, int64_t ss, float* d, int64_t ds) {
  __m512 r[16], t[16];
  for (int j = 0; j < 16; ++j) r[j] = _mm512_loadu_ps(s + j * ss);
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
    const __m512 o[4] = {_mm512_shuffle_f32x4(v0, w0, 0x88), _mm512_shuffle_f32x4(v0, w0, 0xDD),
                         _mm512_shuffle_f32x4(v1, w1, 0x88), _mm512_shuffle_f32x4(v1, w1, 0xDD)};
    for (int L = 0; L < 4; ++L) {
      if (kStream) _mm512_stream_ps(d + (4 * L + c) * ds, o[L]);
      else _mm512_storeu_ps(d + (4 * L + c) * ds, o[L]);
    }
  }
}

template <bool kStream>
void tile(const float* s, int64_t ss, float* d, int64_t ds, int64_t rows, int64_t cols) {
  walk_tile<kStream>(s, ss, d, ds, rows, cols,
                     [](const float* a, int64_t sa, float* b, int64_t sb) { t16x16<kStream>(a, sa, b, sb); });
}

}  // namespace

void tile_f32_avx512(const float* s, int64_t ss, float* d, int64_t ds, int64_t rows, int64_t cols, bool stream) {
  if (stream) tile<true>(s, ss, d, ds, rows, cols);
  else tile<false>(s, ss, d, ds, rows, cols);
}

}  // namespace transpose_detail
}  // namespace ku
}  // namespace fleetrt
