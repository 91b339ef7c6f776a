// The depthwise plane loop (nn_conv_depthwise.h) over a vector type V: V::kLanes floats, load,
// masked load/store of the first n lanes, broadcast, fmadd. Included by the *_avx2 / *_avx512
// files, each with its own V.
#pragma once
#include <algorithm>

#include "nn_conv_depthwise.h"

namespace fleetrt {
namespace depthwise {

// 3×3 (9 taps): one FMA chain per vector of outputs, the nine weights in registers.
template <class V>
void plane9(const Plane& p) {
  typename V::T w[9];
  for (int t = 0; t < 9; ++t) w[t] = V::set1(p.w[t]);
  for (int64_t oh = 0; oh < p.OH; ++oh) {
    const float* s = p.ph + oh * p.Wq;
    float* y = p.y + oh * p.OW;
    int64_t ow = 0;
    for (; ow + V::kLanes <= p.OW; ow += V::kLanes) {
      typename V::T a = V::mul(w[0], V::load(s + p.taps[0] + ow));
      for (int t = 1; t < 9; ++t) a = V::fmadd(w[t], V::load(s + p.taps[t] + ow), a);
      V::store(y + ow, a);
    }
    if (ow < p.OW) {
      const int n = static_cast<int>(p.OW - ow);
      typename V::T a = V::mul(w[0], V::load_n(s + p.taps[0] + ow, n));
      for (int t = 1; t < 9; ++t) a = V::fmadd(w[t], V::load_n(s + p.taps[t] + ow, n), a);
      V::store_n(y + ow, a, n);
    }
  }
}

template <class V>
void plane_any(const Plane& p) {
  if (p.ntaps == 9) return plane9<V>(p);
  for (int64_t oh = 0; oh < p.OH; ++oh) {
    const float* s = p.ph + oh * p.Wq;
    float* y = p.y + oh * p.OW;
    for (int64_t ow = 0; ow < p.OW; ow += V::kLanes) {
      const int n = static_cast<int>(std::min<int64_t>(V::kLanes, p.OW - ow));
      typename V::T a = V::zero();
      for (int64_t t = 0; t < p.ntaps; ++t) a = V::fmadd(V::set1(p.w[t]), V::load_n(s + p.taps[t] + ow, n), a);
      V::store_n(y + ow, a, n);
    }
  }
}

}  // namespace depthwise
}  // namespace fleetrt
