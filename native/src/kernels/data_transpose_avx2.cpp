// AVX2 tile transpose for 4-byte elements (data_transpose.h); called after the CPU check.
#include <immintrin.h>

#include "data_transpose.h"
#include "data_transpose_tile.h"
#include "simd_transpose8_avx2.h"

namespace fleetrt {
namespace ku {
namespace transpose_detail {
namespace {

// 16×16 as four 8×8, ordered so that each 64-byte line of d is written by two 8×8s in a row:
// whole lines, while they are in L1. kBySourceLines: each line of s read by two in a row instead,
// for rows of s a multiple of 4 KiB apart: their 16 lines share one L1 set, and in the other
// order a line is evicted before its second read (768×3072 [1,0], 2 threads, Zen 3,
// fleetrt_stream_bench alternated: 29–31 → 38–40 GB/s). Where the rows of d alias so, the
// d-line order stays better.
template <bool kBySourceLines = false>
inline void t16x16(const float* s, int64_t ss, float* d, int64_t ds) {
  t8x8(s, ss, d, ds);
  if (kBySourceLines) t8x8(s + 8, ss, d + 8 * ds, ds);
  t8x8(s + 8 * ss, ss, d + 8, ds);
  if (!kBySourceLines) t8x8(s + 8, ss, d + 8 * ds, ds);
  t8x8(s + 8 * ss + 8, ss, d + 8 * ds + 8, ds);
}

// Streamed, the block goes through a buffer in L1 so that each line of d is written by two
// non-temporal stores in a row: written straight from the four 8×8s, eight lines are open at once
// and Zen 3 flushes them in parts (4096×4096 on 2 threads 8.4–16 → 6.7 ms; the 4-D cases of
// fleetrt_stream_bench equal or faster, e.g. 64x128x12x64 [0,2,3,1] 2.1–5.6 → 1.65–1.8 ms).
inline void t16x16_streamed(const float* s, int64_t ss, float* d, int64_t ds) {
  alignas(64) float buf[256];
  t16x16(s, ss, buf, 16);
  for (int r = 0; r < 16; ++r) {
    _mm256_stream_ps(d + r * ds, _mm256_load_ps(buf + 16 * r));
    _mm256_stream_ps(d + r * ds + 8, _mm256_load_ps(buf + 16 * r + 8));
  }
}

template <bool kStream>
void tile(const float* s, int64_t ss, float* d, int64_t ds, int64_t rows, int64_t cols) {
  if (!kStream && ss * int64_t{sizeof(float)} % 4096 == 0)
    return walk_tile<false>(s, ss, d, ds, rows, cols, [](const float* a, int64_t sa, float* b, int64_t sb) {
      t16x16<true>(a, sa, b, sb);
    });
  walk_tile<kStream>(s, ss, d, ds, rows, cols, [](const float* a, int64_t sa, float* b, int64_t sb) {
    if (kStream) t16x16_streamed(a, sa, b, sb);
    else t16x16(a, sa, b, sb);
  });
}

}  // namespace

// The parts of a tile outside its [0, r0) × [0, c0) block: 8×8 blocks, then single elements.
void edges_f32(const float* s, int64_t ss, float* d, int64_t ds, int64_t rows, int64_t cols, int64_t r0, int64_t c0) {
  auto rest = [&](int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    const int64_t i8 = i0 + (i1 - i0) / 8 * 8, j8 = j0 + (j1 - j0) / 8 * 8;
    for (int64_t i = i0; i < i8; i += 8)
      for (int64_t j = j0; j < j8; j += 8) t8x8(s + j * ss + i, ss, d + i * ds + j, ds);
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t j = i < i8 ? j8 : j0; j < j1; ++j) d[i * ds + j] = s[j * ss + i];
  };
  rest(r0, rows, 0, cols);  // rows of d below the block, all columns
  rest(0, r0, c0, cols);    // columns of d right of the block
}

void tile_f32_avx2(const float* s, int64_t ss, float* d, int64_t ds, int64_t rows, int64_t cols, bool stream) {
  if (stream) tile<true>(s, ss, d, ds, rows, cols);
  else tile<false>(s, ss, d, ds, rows, cols);
}

}  // namespace transpose_detail
}  // namespace ku
}  // namespace fleetrt
