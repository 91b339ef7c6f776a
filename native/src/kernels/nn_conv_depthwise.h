// Internal: one depthwise output plane from its phase planes (nn_conv.cpp builds them):
//   y[oh·OW + ow] = Σ_t w[t] · ph[oh·Wq + ow + taps[t]]
// vectorised along ow, written straight into the output rows. The AVX2 and AVX-512 loops share
// nn_conv_depthwise_impl.h; each is called only after its CPU check.
#pragma once
#include <cstdint>

namespace fleetrt {
namespace depthwise {

struct Plane {
  const float* ph;       // phase planes of one input channel
  const int64_t* taps;   // ntaps offsets into them
  int64_t ntaps;
  const float* w;        // ntaps weights
  int64_t Wq, OH, OW;
  float* y;              // OH × OW
};

void plane_avx2(const Plane& p);
void plane_avx512(const Plane& p);

}  // namespace depthwise
}  // namespace fleetrt
