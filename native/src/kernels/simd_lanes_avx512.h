// Lane masks for the AVX-512 kernels' partial vectors, shared by the files compiled for AVX-512.
// Include only from a file compiled for AVX-512F (pragma or flags); unnamed namespace: each such
// file gets its own copy.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace fleetrt {
namespace ku {
namespace {

// Lanes [0, n) of 16, n clamped to [0, 16].
inline __mmask16 first_lanes(int64_t n) {
  return static_cast<__mmask16>(n >= 16 ? 0xFFFFu : n <= 0 ? 0u : (1u << n) - 1);
}

}  // namespace
}  // namespace ku
}  // namespace fleetrt
