// Internal: convs over activations in the blocked NCHW8c layout (the compiler's block-layout
// pass). Element (n, c, h, w) of a logical [N, C, H, W] tensor (C a multiple of 8) lies at
//   (((n·C/8 + c/8)·H + h)·W + w)·8 + c%8,
// so that the 8 channels of a block at one position are one AVX2 vector: a depthwise conv reads
// whole vectors with no row ends to mask, and a 1×1 conv reads a few contiguous runs per block of
// positions rather than one short run in each of hundreds of channel planes.
//
// nn_conv_blocked.cpp: fleetc.Reorder, and FusedConv with layout NCHW8c (the AVX2 loops below
// where they apply, else the plain conv between two reorders); nn_conv_blocked_avx2.cpp: the loops.
#pragma once

#include <cstdint>

#include "fused_epilogue.h"
#include "kernel_util.h"

namespace fleetrt {
namespace blocked {

constexpr int64_t kBlock = 8;

// The epilogue the loops apply before their stores: x = sum + bias[m] (+ z, laid out as y), then
// with clamp, min(hi, max(lo, a·x + b)), times x with times_x (HardSwish). Other activations are
// applied over the stored outputs afterwards.
struct Epilogue {
  const float* bias = nullptr;  // M values, or nullptr
  const float* z = nullptr;     // blocked as y, or nullptr (may be y itself: each value is read before it is written)
  bool clamp = false, times_x = false;
  float a = 1.f, b = 0.f, lo = 0.f, hi = 0.f;
};

// 1×1, stride 1, no padding: y[n][m] = Σ_c W[m][c] · x[n][c] over P = H·W positions.
struct Pointwise {
  const float* x;  // [N][C/8][P][8]
  const float* w;  // pack_pointwise's layout
  float* y;        // [N][M/8][P][8]
  int64_t N, C, M, P;
  Epilogue ep;
};
// Output channels per group of the packed weights: the loops take 4 blocks (32 channels) × 3
// positions at a time (12 sums, the 3 inputs and a weight vector: the 16 AVX2 registers).
constexpr int64_t kGroupChannels = 32;
// W [M][C] into groups of kGroupChannels output channels (the last may be smaller), group g at
// g·kGroupChannels·C as [C][channels of the group]: dst[M·C].
void pack_pointwise(const float* w, int64_t M, int64_t C, float* dst);
// The work items of a call on `threads` threads: (image, band of positions, share of the
// groups); item i computes image *n's positions [*p0, *p1) of groups [*g0, *g1).
int64_t pointwise_items(const Pointwise& p, int threads);
void pointwise_item(const Pointwise& p, int threads, int64_t i, int64_t* n, int64_t* p0, int64_t* p1, int64_t* g0,
                    int64_t* g1);
void pointwise_item_avx2(const Pointwise& p, int64_t n, int64_t p0, int64_t p1, int64_t g0, int64_t g1);

// A dense conv (group 1, dilation 1, any kernel, stride and padding) of a plain input with few
// channels (a network's stem: RGB) into blocked output: every (channel, tap) input value of 3
// output positions broadcast against 4 blocks of packed weights, as the pointwise loops do, read
// where it lies in the plain planes; the window's taps that fall in the padding skipped (at the
// plane's edges, one position at a time).
constexpr int64_t kStemChannels = 8;
struct Stem {
  const float* x;  // plain [N][C][H][W]
  const float* w;  // pack_pointwise's layout over K = C·KH·KW (ONNX's order: c, kh, kw)
  float* y;        // [N][M/8][OH][OW][8]
  int64_t N, C, H, W, M, OH, OW, KH, KW, sh, sw, pt, pl;
  Epilogue ep;
};
// Work items: (image, group of output channels, band of output rows).
int64_t stem_items(const Stem& s, int threads);
void stem_item(const Stem& s, int threads, int64_t i, int64_t* n, int64_t* g, int64_t* r0, int64_t* r1);
void stem_item_avx2(const Stem& s, int64_t n, int64_t g, int64_t r0, int64_t r1);

// Depthwise 3×3 (group = C = M), pads 1, stride 1 or 2, dilation 1.
struct Depthwise {
  const float* x;  // [N][C/8][H][W][8]
  const float* w;  // [C/8][9][8]: pack_depthwise
  float* y;        // [N][C/8][OH][OW][8]
  int64_t N, C, H, W, OH, OW, stride;
  Epilogue ep;
};
void pack_depthwise(const float* w, int64_t C, float* dst);
// Work items: (image, channel block, band of output rows); item i's output rows [*r0, *r1) of
// block *plane (an index over N·C/8).
int64_t depthwise_items(const Depthwise& d, int threads);
void depthwise_item(const Depthwise& d, int threads, int64_t i, int64_t* plane, int64_t* r0, int64_t* r1);
void depthwise_item_avx2(const Depthwise& d, int64_t plane, int64_t r0, int64_t r1);

// The conv of x into blocked y (the epilogue's residual blocked too) by the loops below, W as
// ONNX gives it; x blocked, or plain where x_plain: false (nothing written) where they do not
// apply (no AVX2; blocked x: other than a 2-D 1×1 stride-1 unpadded conv or a depthwise 3×3 with
// pads 1 and stride 1 or 2; plain x: other than a 2-D dense conv of up to kStemChannels channels).
bool run(KernelContext& ctx, const float* x, bool x_plain, const float* w, const float* bias, float* y, int64_t N,
         int64_t C, int64_t M, int64_t group, const ku::WindowGeom& g, const ConvEpilogue* ep);
// src into dst (another buffer) in the other layout: to NCHW8c where to_blocked_layout, else to
// NCHW; `blocks` blocks of 8 channels of P positions.
void reorder(KernelContext& ctx, const float* src, float* dst, int64_t blocks, int64_t P, bool to_blocked_layout);

// Layout changes of a [N, C, P] tensor (C a multiple of 8) over blocks [b0, b1) of its N·C/8
// blocks of 8 channels (block k: the plain planes from k·8·P, the blocked run from k·8·P).
void to_blocked(const float* src, float* dst, int64_t P, int64_t b0, int64_t b1);
void to_plain(const float* src, float* dst, int64_t P, int64_t b0, int64_t b1);
void to_blocked_avx2(const float* src, float* dst, int64_t P, int64_t b0, int64_t b1);
void to_plain_avx2(const float* src, float* dst, int64_t P, int64_t b0, int64_t b1);

}  // namespace blocked
}  // namespace fleetrt
