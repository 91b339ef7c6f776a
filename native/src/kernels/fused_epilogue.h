// Epilogue of a fused convolution (fleetc FusedConv): per output plane,
//   y = act(y + bias[m] + z)
// where z is an optional residual of the output's shape. The compiler's fuse-conv pass builds
// the op; the conv kernel (nn_conv.cpp) applies this right after each plane is computed.
#pragma once

#include <cstdint>
#include <string>

#include "fleetrt/kernel.h"

namespace fleetrt {

// The activation as the conv kernels apply it in their stores: x = sum + (bias + z), then with
// clamp min(hi, max(lo, a·x + b)) (ConvEpilogue::in_stores).
struct StoreClamp {
  bool clamp = false;
  float a = 1.f, b = 0.f, lo = 0.f, hi = 0.f;
};

struct ConvEpilogue {
  enum class Act { kNone, kRelu, kClip, kLeakyRelu, kHardSigmoid, kHardSwish, kSigmoid, kTanh };
  Act act = Act::kNone;
  float alpha = 0.f, beta = 0.f;  // Clip: min/max; LeakyRelu: alpha; HardSigmoid: alpha/beta
  const float* residual = nullptr;  // same layout as the output (it may be the output itself: in place), or nullptr
  int64_t residual_numel = 0;

  // Parses `activation` and `activation_params` attributes; false (with *err) on unknown names.
  bool parse(const Attributes& attrs, std::string* err);
  // y[0..n) = act(y + bias + z[0..n)) (z may be nullptr).
  void apply(float* y, int64_t n, float bias, const float* z) const { apply_to(y, y, n, bias, z); }
  // The same from src (which may be y): y[0..n) = act(src + bias + z), in one pass where the
  // activation is an affine clamp or none.
  void apply_to(float* y, const float* src, int64_t n, float bias, const float* z) const;
  // The activations that are an affine clamp, act(x) = min(hi, max(lo, a·x + b)) (times x when
  // *times_x): their parameters, as apply() uses them; false for the others.
  bool affine_clamp(float* a, float* b, float* lo, float* hi, bool* times_x) const;
  // The activation as the conv kernels' stores apply it (StoreClamp): false where they cannot
  // (HardSwish, LeakyRelu, Sigmoid, Tanh).
  bool in_stores(StoreClamp* c) const {
    bool times_x = false;
    c->clamp = affine_clamp(&c->a, &c->b, &c->lo, &c->hi, &times_x);
    return c->clamp ? !times_x : act == Act::kNone;
  }
};

// AVX2 loops of the epilogue over [0, n) (the last values under a mask); they return n. Only
// called after the CPU check (fused_epilogue_avx2.cpp). src may be y. The clamp activations: y = clamp(a·x + b, lo, hi) (times x), x = src + (bias + z);
int64_t affine_clamp_avx2(float* y, const float* src, const float* z, int64_t n, float bias, float a, float b, float lo,
                          float hi, bool times_x);
// no activation: y = src + (bias + z), or src + bias without z.
int64_t bias_add_avx2(float* y, const float* src, const float* z, int64_t n, float bias);

// A conv's output run y[0..n) from its sums src (which may be y): the epilogue when there is one,
// else + bias.
inline void finish_conv_run(const ConvEpilogue* ep, float* y, const float* src, int64_t n, float bias, const float* z) {
  if (ep) {
    ep->apply_to(y, src, n, bias, z);
    return;
  }
  ConvEpilogue none;
  none.apply_to(y, src, n, bias, nullptr);
}

// Conv with an epilogue (nullptr: plain ONNX Conv). Defined in nn_conv.cpp. The residual input
// of the epilogue, when present, must already be set by the caller. blocked: Y and the residual
// in the NCHW8c layout (FusedConv's layout attribute; nn_conv_blocked.h), X too unless x_plain
// (its input_layout attribute NCHW: a stem's RGB input).
Status conv_forward(KernelContext& ctx, const ConvEpilogue* ep, bool blocked = false, bool x_plain = false);

}  // namespace fleetrt
