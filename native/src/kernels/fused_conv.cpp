// fleetc FusedConv: Conv (inputs X, W, B as ONNX Conv) + optional residual Z (input 3, the
// output's shape) + activation, written by the compiler's fuse-conv pass so that the output is
// produced in one pass over memory.
#include <algorithm>
#include <cmath>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "fused_epilogue.h"
#include "kernel_util.h"

namespace fleetrt {

namespace {

// y = clamp(a·x + b, lo, hi), times x when `times_x` (HardSwish), where x = src + (bias + z) (z
// optional; src may be y): bias, residual and activation in one pass. SSE min/max: the compiler does not
// vectorize float clamps without -ffast-math. They return their second operand when one is
// NaN, so NaN propagates as in the scalar tail's compare-selects.
void clamp_pass(float* y, const float* src, const float* z, int64_t n, float bias, float a, float b, float lo, float hi,
                bool times_x) {
  int64_t i = ku::use_avx2() ? affine_clamp_avx2(y, src, z, n, bias, a, b, lo, hi, times_x) : 0;
#if defined(__SSE2__)
  const __m128 va = _mm_set1_ps(a), vb = _mm_set1_ps(b), vlo = _mm_set1_ps(lo), vhi = _mm_set1_ps(hi),
               vbias = _mm_set1_ps(bias);
  for (; i + 4 <= n; i += 4) {
    const __m128 add = z ? _mm_add_ps(vbias, _mm_loadu_ps(z + i)) : vbias;
    const __m128 x = _mm_add_ps(_mm_loadu_ps(src + i), add);
    __m128 v = _mm_min_ps(vhi, _mm_max_ps(vlo, _mm_add_ps(_mm_mul_ps(x, va), vb)));
    if (times_x) v = _mm_mul_ps(v, x);
    _mm_storeu_ps(y + i, v);
  }
#endif
  for (; i < n; ++i) {
    const float x = src[i] + (z ? bias + z[i] : bias);
    float v = a * x + b;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    y[i] = times_x ? v * x : v;
  }
}

}  // namespace

bool ConvEpilogue::parse(const Attributes& attrs, std::string* err) {
  const std::string a = attrs.get_string("activation", "");
  const std::vector<double> p = attrs.get_floats("activation_params");
  auto param = [&](size_t i, double def) { return static_cast<float>(i < p.size() ? p[i] : def); };
  if (a.empty()) act = Act::kNone;
  else if (a == "Relu") act = Act::kRelu;
  else if (a == "Clip") act = Act::kClip, alpha = param(0, -INFINITY), beta = param(1, INFINITY);
  else if (a == "LeakyRelu") act = Act::kLeakyRelu, alpha = param(0, 0.01);
  else if (a == "HardSigmoid") act = Act::kHardSigmoid, alpha = param(0, 0.2), beta = param(1, 0.5);
  else if (a == "HardSwish") act = Act::kHardSwish;
  else if (a == "Sigmoid") act = Act::kSigmoid;
  else if (a == "Tanh") act = Act::kTanh;
  else {
    *err = "unknown activation '" + a + "'";
    return false;
  }
  return true;
}

bool ConvEpilogue::affine_clamp(float* a, float* b, float* lo, float* hi, bool* times_x) const {
  *times_x = false;
  switch (act) {
    case Act::kRelu: *a = 1.f, *b = 0.f, *lo = 0.f, *hi = INFINITY; return true;
    case Act::kClip: *a = 1.f, *b = 0.f, *lo = alpha, *hi = beta; return true;
    case Act::kHardSigmoid: *a = alpha, *b = beta, *lo = 0.f, *hi = 1.f; return true;
    case Act::kHardSwish: *a = 1.f / 6.f, *b = 0.5f, *lo = 0.f, *hi = 1.f, *times_x = true; return true;
    default: return false;
  }
}

void ConvEpilogue::apply_to(float* y, const float* src, int64_t n, float bias, const float* z) const {
  float a, b, lo, hi;
  bool times_x;
  if (affine_clamp(&a, &b, &lo, &hi, &times_x)) return clamp_pass(y, src, z, n, bias, a, b, lo, hi, times_x);
  if (z || bias != 0.f) {
    int64_t i = ku::use_avx2() ? bias_add_avx2(y, src, z, n, bias) : 0;
    if (z)
      for (; i < n; ++i) y[i] = src[i] + (bias + z[i]);
    else
      for (; i < n; ++i) y[i] = src[i] + bias;
  } else if (y != src) {
    std::copy(src, src + n, y);
  }
  switch (act) {
    case Act::kLeakyRelu:
      for (int64_t i = 0; i < n; ++i) y[i] = y[i] < 0.f ? y[i] * alpha : y[i];
      break;
    case Act::kSigmoid:
      for (int64_t i = 0; i < n; ++i) y[i] = 1.f / (1.f + std::exp(-y[i]));
      break;
    case Act::kTanh:
      ku::vtanh(y, y, n);
      break;
    default:
      break;
  }
}

namespace {

Status k_FusedConv(KernelContext& ctx) {
  ConvEpilogue ep;
  std::string err;
  if (!ep.parse(ctx.attrs(), &err)) return ku::op_error(ctx, err);
  const Tensor* z = ctx.num_inputs() > 3 ? ctx.input(3) : nullptr;
  if (z) {
    if (z->dtype != DType::kF32) return ku::op_error(ctx, "residual Z must be float32");
    ep.residual = z->as<float>();
    ep.residual_numel = z->numel();
  }
  // layout: Y's (and Z's); input_layout: X's, where it differs (a stem's plain input)
  const std::string layout = ctx.attrs().get_string("layout", "NCHW");
  const std::string input_layout = ctx.attrs().get_string("input_layout", layout);
  if (layout != "NCHW" && layout != "NCHW8c")
    return ku::op_error(ctx, "layout must be NCHW or NCHW8c, got '" + layout + "'");
  if (input_layout != layout && !(layout == "NCHW8c" && input_layout == "NCHW"))
    return ku::op_error(ctx, "input_layout " + input_layout + " with layout " + layout + " is not supported");
  return conv_forward(ctx, &ep, layout == "NCHW8c", input_layout == "NCHW" && layout == "NCHW8c");
}

}  // namespace

FLEETRT_REGISTER_KERNEL("fleetc", "FusedConv", k_FusedConv);

}  // namespace fleetrt
