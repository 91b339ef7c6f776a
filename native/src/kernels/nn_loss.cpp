// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss over [N, C, d1…] inputs with class
// targets [N, d1…], optional per-class weights, ignore_index and reduction none/sum/mean (mean
// divides by the summed weights of the non-ignored targets). Computed in double.
#include <cmath>
#include <string>

#include "kernel_util.h"

namespace fleetrt {
namespace {

// loss of every (n, d) position from log-probabilities lp [N, C, D]; returns per-position loss and
// the weight used.
Status nll(KernelContext& ctx, const std::vector<double>& lp, const std::vector<int64_t>& shape, const Tensor& target,
           const Tensor* weight, Tensor* out) {
  const int64_t N = shape[0], C = shape.size() > 1 ? shape[1] : 1, D = ku::prod(shape, 2, shape.size());
  std::vector<int64_t> tv;
  FLEETRT_RETURN_IF_ERROR(ku::read_int_tensor(ctx, target, &tv));
  if (static_cast<int64_t>(tv.size()) != N * D)
    return ku::op_error(ctx, "target " + ku::shape_str(target.shape) + " does not match input " + ku::shape_str(shape));
  const bool has_ignore = ctx.attrs().has("ignore_index");
  const int64_t ignore = ctx.attrs().get_int("ignore_index", 0);
  std::string red = ctx.attrs().get_string("reduction", "mean");
  std::vector<double> loss(static_cast<size_t>(N * D)), wv(static_cast<size_t>(N * D));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < D; ++d) {
      const int64_t t = tv[n * D + d];
      if (has_ignore && t == ignore) {
        loss[n * D + d] = 0, wv[n * D + d] = 0;
        continue;
      }
      if (t < 0 || t >= C) return ku::op_error(ctx, "target class " + std::to_string(t) + " is out of range");
      double w = weight ? ku::load_as_double(*weight, t) : 1.0;
      loss[n * D + d] = -lp[(n * C + t) * D + d] * w;
      wv[n * D + d] = w;
    }
  if (red == "none") {
    for (int64_t i = 0; i < N * D; ++i) ku::store_from_double(*out, i, loss[i]);
    return Status::Ok();
  }
  double s = 0, ws = 0;
  for (int64_t i = 0; i < N * D; ++i) s += loss[i], ws += wv[i];
  if (red == "sum") ku::store_from_double(*out, 0, s);
  else if (red == "mean") ku::store_from_double(*out, 0, ws == 0 ? 0.0 : s / ws);
  else return ku::op_error(ctx, "unknown reduction '" + red + "'");
  return Status::Ok();
}

std::vector<double> load_doubles(const Tensor& x) {
  std::vector<double> v(static_cast<size_t>(x.numel()));
  for (int64_t i = 0; i < x.numel(); ++i) v[i] = ku::load_as_double(x, i);
  return v;
}

std::vector<int64_t> loss_shape(const KernelContext& ctx, const std::vector<int64_t>& in) {
  if (ctx.attrs().get_string("reduction", "mean") != "none") return {};
  std::vector<int64_t> s = {in[0]};
  s.insert(s.end(), in.begin() + 2, in.end());
  return s;
}

Status k_NegativeLogLikelihoodLoss(KernelContext& ctx) {
  const Tensor *x, *t;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &t));
  const Tensor* w = ctx.num_inputs() > 2 ? ctx.input(2) : nullptr;
  if (!ku::is_float_like(x->dtype) || x->rank() < 2) return ku::op_error(ctx, "input must be a float tensor [N, C, …]");
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, loss_shape(ctx, x->shape), x->dtype, &y));
  return nll(ctx, load_doubles(*x), x->shape, *t, w, y);
}

Status k_SoftmaxCrossEntropyLoss(KernelContext& ctx) {
  const Tensor *x, *t;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &t));
  const Tensor* w = ctx.num_inputs() > 2 ? ctx.input(2) : nullptr;
  if (!ku::is_float_like(x->dtype) || x->rank() < 2) return ku::op_error(ctx, "scores must be a float tensor [N, C, …]");
  Tensor *y, *lpo = nullptr;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, loss_shape(ctx, x->shape), x->dtype, &y));
  FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 1, x->shape, x->dtype, &lpo));
  const int64_t N = x->shape[0], C = x->shape[1], D = ku::prod(x->shape, 2, x->rank());
  std::vector<double> lp = load_doubles(*x);  // scores, turned into log-probabilities in place
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < D; ++d) {
      double m = -INFINITY, s = 0;
      for (int64_t c = 0; c < C; ++c) m = std::max(m, lp[(n * C + c) * D + d]);
      for (int64_t c = 0; c < C; ++c) s += std::exp(lp[(n * C + c) * D + d] - m);
      const double ls = std::log(s);
      for (int64_t c = 0; c < C; ++c) {
        int64_t i = (n * C + c) * D + d;
        lp[i] = lp[i] - m - ls;
      }
    }
  if (lpo)
    for (int64_t i = 0; i < x->numel(); ++i) ku::store_from_double(*lpo, i, lp[i]);
  return nll(ctx, lp, x->shape, *t, w, y);
}

}  // namespace

FLEETRT_REGISTER_KERNEL("", "NegativeLogLikelihoodLoss", k_NegativeLogLikelihoodLoss);
FLEETRT_REGISTER_KERNEL("", "SoftmaxCrossEntropyLoss", k_SoftmaxCrossEntropyLoss);

}  // namespace fleetrt
