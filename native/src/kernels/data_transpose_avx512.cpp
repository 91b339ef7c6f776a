// AVX-512 tile transpose for 4-byte elements (data_transpose.h): 16×16 blocks in registers, each
// line of the source read and each line of the output written whole by one instruction. Compiled
// for AVX-512F by the pragma below; called only after ku::use_avx512().
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#include <immintrin.h>

#include "data_transpose.h"
#include "data_transpose_tile.h"
#include "simd_transpose16_avx512.h"

namespace fleetrt {
namespace ku {
namespace transpose_detail {
namespace {

// r[j] = s[j·ss + 0:16] → d[i·ds + 0:16] = column i. kStream: non-temporal stores (d and ds·4 are
// multiples of 64 bytes).
template <bool kStream>
inline void t16x16(const float* s, int64_t ss, float* d, int64_t ds) {
  __m512 r[16], o[16];
  for (int j = 0; j < 16; ++j) r[j] = _mm512_loadu_ps(s + j * ss);
  transpose16x16_ps(r, o);
  for (int i = 0; i < 16; ++i) {
    if (kStream) _mm512_stream_ps(d + i * ds, o[i]);
    else _mm512_storeu_ps(d + i * ds, o[i]);
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
