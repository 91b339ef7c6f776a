// AVX-512 depthwise plane loop (nn_conv_depthwise.h); compiled for AVX-512F by the pragma below.
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#include <immintrin.h>

#include "nn_conv_depthwise_impl.h"

namespace fleetrt {
namespace depthwise {
namespace {

struct V16 {
  using T = __m512;
  static constexpr int kLanes = 16;
  static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static T load_n(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static void store_n(float* p, T v, int n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  static T set1(float v) { return _mm512_set1_ps(v); }
  static T zero() { return _mm512_setzero_ps(); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T fmadd(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
};

}  // namespace

void plane_avx512(const Plane& p) { plane_any<V16>(p); }

}  // namespace depthwise
}  // namespace fleetrt
