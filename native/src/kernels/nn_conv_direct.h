// Internal: direct 2-D convolution over phase planes (nn_conv.cpp drives it; the microkernel
// is in nn_conv_direct_avx2.cpp).
//
// The input channels of one group are laid out as phase planes (see build_phases in nn_conv.cpp),
// each Wq wide, so that every kernel tap of every output position o (in the Wq-wide layout) reads
// phases[c·channel_stride + tap_offsets[t] + o]. Output channel m at position o is then
//   Σ_c Σ_t W[m, c, t] · phases[c·channel_stride + tap_offsets[t] + o],
// an implicit GEMM with no column matrix: the kernel keeps a 4-channel × 24-position block of
// sums in registers and reads each input vector once per block.
#pragma once

#include <algorithm>
#include <cstdint>

namespace fleetrt {
namespace convdirect {

constexpr int64_t kPositionBlock = 24;  // positions per register block
constexpr int64_t kChannelBlock = 4;    // output channels per register block

struct Problem {
  const float* phases;          // input channel c at phases + c·channel_stride
  int64_t channel_stride;
  int64_t channels;             // input channels of the group
  const int64_t* tap_offsets;   // ntaps offsets, relative to a channel's base
  int64_t ntaps;
  const float* packed_weights;  // [ceil(out_channels / 4)][channels · ntaps][4], zero-padded
  int64_t out_channels;
  int64_t out_stride;           // distance between output channel rows in `out`
};

// out[m·out_stride + (o − o0)] for all m and o in [o0, o1), where o1 − o0 is a multiple of
// kPositionBlock. Reads up to o1 − 1 + the largest tap offset in every channel: the caller
// keeps that inside the phase buffer.
void run_avx2(const Problem& p, int64_t o0, int64_t o1, float* out);

}  // namespace convdirect
}  // namespace fleetrt
