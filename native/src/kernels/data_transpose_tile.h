// The walk over one tile that the AVX2 and AVX-512 transposes share (data_transpose.h); each
// passes the 16×16 block transpose of its level. Included by files compiled for different
// instruction sets, so it lives in an unnamed namespace: every file gets its own copy, and the
// linker never substitutes one compiled for the wider set.
#pragma once
#include <xmmintrin.h>

#include <cstdint>

#include "data_transpose.h"

namespace fleetrt {
namespace ku {
namespace transpose_detail {
namespace {

template <bool kStream, class Block16>
inline void walk_tile(const float* s, int64_t ss, float* d, int64_t ds, int64_t rows, int64_t cols, Block16 block) {
  const int64_t r16 = rows / 16 * 16, c16 = cols / 16 * 16;
  // Along the rows of d (its lines written in order), down the columns of s: the 16 source
  // lines of the block two ahead are prefetched into L2 (the hardware does not follow this
  // stride; L1 would be too small where ss is a large power of two, all in one set).
  for (int64_t i = 0; i < r16; i += 16)
    for (int64_t j = 0; j < c16; j += 16) {
      if (j + 32 < c16)
        for (int r = 0; r < 16; ++r) _mm_prefetch(reinterpret_cast<const char*>(s + (j + 32 + r) * ss + i), _MM_HINT_T1);
      block(s + j * ss + i, ss, d + i * ds + j, ds);
    }
  edges_f32(s, ss, d, ds, rows, cols, r16, c16);
  if (kStream) _mm_sfence();  // the stores are weakly ordered: visible before the task ends
}

}  // namespace
}  // namespace transpose_detail
}  // namespace ku
}  // namespace fleetrt
