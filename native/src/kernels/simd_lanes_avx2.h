// Lane masks for the AVX2 kernels' partial vectors (maskload, maskstore), shared by the files
// compiled for AVX2. Include only from a file compiled for AVX2 (pragma or flags); unnamed
// namespace: each such file gets its own copy.
#pragma once
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

namespace fleetrt {
namespace ku {
namespace {

// Lanes [0, n) of 8 set, n clamped to [0, 8].
inline __m256i first_lanes8(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(std::clamp<int64_t>(n, 0, 8))),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

}  // namespace
}  // namespace ku
}  // namespace fleetrt
