// AVX2+FMA depthwise plane loop (nn_conv_depthwise.h); compiled with -mavx2 -mfma.
#include <immintrin.h>

#include "nn_conv_depthwise_impl.h"

namespace fleetrt {
namespace depthwise {
namespace {

struct V8 {
  using T = __m256;
  static constexpr int kLanes = 8;
  static __m256i mask(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static T load_n(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static void store_n(float* p, T v, int n) { _mm256_maskstore_ps(p, mask(n), v); }
  static T set1(float v) { return _mm256_set1_ps(v); }
  static T zero() { return _mm256_setzero_ps(); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T fmadd(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
};

}  // namespace

void plane_avx2(const Plane& p) { plane_any<V8>(p); }

}  // namespace depthwise
}  // namespace fleetrt
