// com.microsoft activations: FastGelu (tanh approximation, optional bias), BiasGelu (exact erf
// GELU of A + B), Gelu (exact), QuickGelu (x·sigmoid(alpha·x)). The optional bias broadcasts over
// the last dim (any numpy-broadcastable shape is accepted).
#include <algorithm>
#include <cmath>

#include "kernel_util.h"

namespace fleetrt {
namespace {

enum class G { kFast, kErf, kQuick };

Status gelu_kernel(KernelContext& ctx, G kind, bool bias_input) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  if (!ku::is_float_like(x->dtype)) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(x->dtype));
  const Tensor* bias = bias_input && ctx.num_inputs() > 1 ? ctx.input(1) : nullptr;
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, x->dtype, &y));
  const int64_t n = x->numel();
  if (n == 0) return Status::Ok();
  const float* xf = ku::as_float_buffer(ctx, *x);
  const float* bf = nullptr;
  if (bias) {
    bf = ku::broadcast_float(ctx, *bias, x->shape);
    if (!bf) return ku::op_error(ctx, "bias " + ku::shape_str(bias->shape) + " does not broadcast to " + ku::shape_str(x->shape));
  }
  float* yf = ku::float_out_buffer(ctx, *y);
  const float alpha = static_cast<float>(ctx.attrs().get_float("alpha", 1.702));
  if (kind != G::kQuick) {  // blocks through the vector tanh / erf
    ku::parallel_elems(ctx, n, 16, [&](int64_t b, int64_t e) {
      float v[256], t[256];
      for (int64_t i0 = b; i0 < e; i0 += 256) {
        const int64_t m = std::min<int64_t>(256, e - i0);
        for (int64_t k = 0; k < m; ++k) {
          v[k] = xf[i0 + k] + (bf ? bf[i0 + k] : 0.f);
          t[k] = kind == G::kFast ? 0.7978845608028654f * (v[k] + 0.044715f * v[k] * v[k] * v[k]) : v[k] * 0.7071067811865476f;
        }
        if (kind == G::kFast) ku::vtanh(t, t, m);
        else ku::verf(t, t, m);
        for (int64_t k = 0; k < m; ++k) yf[i0 + k] = 0.5f * v[k] * (1.f + t[k]);
      }
    });
    if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
    return Status::Ok();
  }
  ku::parallel_elems(ctx, n, 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      float v = xf[i] + (bf ? bf[i] : 0.f);
      float r;
      if (kind == G::kFast) r = 0.5f * v * (1.f + std::tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
      else if (kind == G::kErf) r = 0.5f * v * (1.f + std::erf(v * 0.7071067811865476f));
      else r = v / (1.f + std::exp(-alpha * v));
      yf[i] = r;
    }
  });
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  return Status::Ok();
}

Status k_FastGelu(KernelContext& ctx) { return gelu_kernel(ctx, G::kFast, true); }
Status k_BiasGelu(KernelContext& ctx) { return gelu_kernel(ctx, G::kErf, true); }
Status k_Gelu(KernelContext& ctx) { return gelu_kernel(ctx, G::kErf, false); }
Status k_QuickGelu(KernelContext& ctx) { return gelu_kernel(ctx, G::kQuick, false); }

}  // namespace

FLEETRT_REGISTER_KERNEL("com.microsoft", "FastGelu", k_FastGelu);
FLEETRT_REGISTER_KERNEL("com.microsoft", "BiasGelu", k_BiasGelu);
FLEETRT_REGISTER_KERNEL("com.microsoft", "Gelu", k_Gelu);
FLEETRT_REGISTER_KERNEL("com.microsoft", "QuickGelu", k_QuickGelu);

}  // namespace fleetrt
