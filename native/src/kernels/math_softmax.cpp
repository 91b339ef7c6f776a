// Softmax, LogSoftmax and Hardmax. Opset < 13 flattens the input to 2-D at `axis` (default 1);
// opset ≥ 13 works along the single axis (default -1). Per row: a max sweep, one sweep that writes
// exp(x − max) and sums it (one exp per element), and a rescale sweep; contiguous rows take the
// vector sweeps of kernel_util (ku::vmax, vexp_shift_sum, vscale: the same bits at every width).
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernel_util.h"

namespace fleetrt {
namespace {

enum class Sm { kSoftmax, kLogSoftmax, kHardmax };

// One row of n values spaced `stride` apart.
void softmax_row(const float* x, float* y, int64_t n, int64_t stride, Sm kind) {
  if (kind == Sm::kHardmax) {
    int64_t best = 0;
    for (int64_t k = 1; k < n; ++k)
      if (x[k * stride] > x[best * stride]) best = k;
    for (int64_t k = 0; k < n; ++k) y[k * stride] = k == best ? 1.f : 0.f;
    return;
  }
  // max, then exp(x − max) written once (one exp per element) while summing, then a rescale
  float m = -std::numeric_limits<float>::infinity();
  if (stride == 1) m = ku::vmax(x, n);
  else
    for (int64_t k = 0; k < n; ++k) m = std::max(m, x[k * stride]);
  if (m == -std::numeric_limits<float>::infinity() || std::isnan(m)) {  // all −inf (or NaN): let IEEE decide
    for (int64_t k = 0; k < n; ++k) y[k * stride] = kind == Sm::kSoftmax ? std::numeric_limits<float>::quiet_NaN() : x[k * stride] - m;
    return;
  }
  double s = 0;
  if (stride == 1) {  // contiguous rows: vector exp
    if (kind == Sm::kSoftmax) {
      s = ku::vexp_shift_sum(x, 1.f, m, y, n);
      ku::vscale(y, n, static_cast<float>(1.0 / s));
    } else {
      const float ls = static_cast<float>(std::log(ku::vexp_shift_sum(x, 1.f, m, nullptr, n)));
      for (int64_t k = 0; k < n; ++k) y[k] = (x[k] - m) - ls;
    }
    return;
  }
  if (kind == Sm::kSoftmax) {
    for (int64_t k = 0; k < n; ++k) {
      float e = std::exp(x[k * stride] - m);
      y[k * stride] = e;
      s += e;
    }
    const float inv = static_cast<float>(1.0 / s);
    for (int64_t k = 0; k < n; ++k) y[k * stride] *= inv;
  } else {
    for (int64_t k = 0; k < n; ++k) s += std::exp(x[k * stride] - m);
    const float ls = static_cast<float>(std::log(s));
    for (int64_t k = 0; k < n; ++k) y[k * stride] = (x[k * stride] - m) - ls;
  }
}

Status softmax_kernel(KernelContext& ctx, Sm kind) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  if (!ku::is_float_like(x->dtype)) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(x->dtype));
  const int64_t rank = static_cast<int64_t>(x->rank());
  bool legacy = ctx.opset() < 13;
  int64_t axis;
  FLEETRT_RETURN_IF_ERROR(ku::normalize_axis(ctx, ctx.attrs().get_int("axis", legacy ? 1 : -1), rank, &axis));
  // legacy: one row of everything from axis on; otherwise rows along axis, `inner` apart
  const int64_t outer = ku::prod(x->shape, 0, axis);
  const int64_t n = legacy ? ku::prod(x->shape, axis, rank) : (rank ? x->shape[axis] : 1);
  const int64_t inner = legacy ? 1 : ku::prod(x->shape, axis + 1, rank);
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, x->dtype, &y));
  if (x->numel() == 0) return Status::Ok();
  const float* xf = ku::as_float_buffer(ctx, *x);
  float* yf = ku::float_out_buffer(ctx, *y);
  int64_t rows = outer * inner;
  ku::parallel_elems(ctx, rows, n * 4, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t o = r / inner, i = r % inner;
      softmax_row(xf + o * n * inner + i, yf + o * n * inner + i, n, inner, kind);
    }
  });
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  return Status::Ok();
}

Status k_Softmax(KernelContext& ctx) { return softmax_kernel(ctx, Sm::kSoftmax); }
Status k_LogSoftmax(KernelContext& ctx) { return softmax_kernel(ctx, Sm::kLogSoftmax); }
Status k_Hardmax(KernelContext& ctx) { return softmax_kernel(ctx, Sm::kHardmax); }

}  // namespace

FLEETRT_REGISTER_KERNEL("", "Softmax", k_Softmax);
FLEETRT_REGISTER_KERNEL("", "LogSoftmax", k_LogSoftmax);
FLEETRT_REGISTER_KERNEL("", "Hardmax", k_Hardmax);

}  // namespace fleetrt
