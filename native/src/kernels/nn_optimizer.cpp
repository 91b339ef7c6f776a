// ai.onnx.preview.training optimizers: Adagrad, Momentum (standard / nesterov) and Adam. Inputs
// are R (learning rate), T (update count), then n tensors each of X, G and the optimizer states;
// outputs are the new X then the new states, in that order. Computed elementwise in double.
#include <cmath>
#include <string>

#include "kernel_util.h"

namespace fleetrt {
namespace {

// states = number of state tensor groups after X and G (Adagrad 1, Momentum 1, Adam 2).
Status optimizer(KernelContext& ctx, int states) {
  const Tensor *r, *t;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &r));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &t));
  const int groups = 2 + states;
  if ((ctx.num_inputs() - 2) % groups != 0) return ku::op_error(ctx, "inputs are not R, T and equal groups of X, G, states");
  const int n = (ctx.num_inputs() - 2) / groups;
  double R, T;
  FLEETRT_RETURN_IF_ERROR(ku::read_scalar(ctx, *r, &R));
  FLEETRT_RETURN_IF_ERROR(ku::read_scalar(ctx, *t, &T));
  const Attributes& at = ctx.attrs();
  const std::string& op = ctx.op_type();
  for (int i = 0; i < n; ++i) {
    const Tensor *x, *g, *s1, *s2 = nullptr;
    FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 2 + i, &x));
    FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 2 + n + i, &g));
    FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 2 + 2 * n + i, &s1));
    if (states == 2) FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 2 + 3 * n + i, &s2));
    if (g->numel() != x->numel() || s1->numel() != x->numel() || (s2 && s2->numel() != x->numel()))
      return ku::op_error(ctx, "X, G and state tensors must have the same size");
    Tensor *xo, *o1 = nullptr, *o2 = nullptr;
    FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, i, x->shape, x->dtype, &xo));
    FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, n + i, s1->shape, s1->dtype, &o1));
    if (s2) FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 2 * n + i, s2->shape, s2->dtype, &o2));
    const double norm = at.get_float("norm_coefficient", 0.0);
    for (int64_t e = 0; e < x->numel(); ++e) {
      const double X = ku::load_as_double(*x, e), G = norm * X + ku::load_as_double(*g, e);
      double xn, n1, n2 = 0;
      if (op == "Adagrad") {
        const double rr = R / (1 + T * at.get_float("decay_factor", 0.0));
        n1 = ku::load_as_double(*s1, e) + G * G;
        xn = X - rr * G / (std::sqrt(n1) + at.get_float("epsilon", 0.0));
      } else if (op == "Momentum") {
        const double alpha = at.get_float("alpha", 0.0), beta = T > 0 ? at.get_float("beta", 0.0) : 1.0;
        n1 = alpha * ku::load_as_double(*s1, e) + beta * G;
        xn = at.get_string("mode", "standard") == "nesterov" ? X - R * (G + alpha * n1) : X - R * n1;
      } else {  // Adam
        const double alpha = at.get_float("alpha", 0.9), beta = at.get_float("beta", 0.999);
        n1 = alpha * ku::load_as_double(*s1, e) + (1 - alpha) * G;
        n2 = beta * ku::load_as_double(*s2, e) + (1 - beta) * G * G;
        const double ra = T > 0 ? R * std::sqrt(1 - std::pow(beta, T)) / (1 - std::pow(alpha, T)) : R;
        xn = (X - ra * n1 / (std::sqrt(n2) + at.get_float("epsilon", 1e-6))) * (1 - at.get_float("norm_coefficient_post", 0.0));
      }
      ku::store_from_double(*xo, e, xn);
      if (o1) ku::store_from_double(*o1, e, n1);
      if (o2) ku::store_from_double(*o2, e, n2);
    }
  }
  return Status::Ok();
}

Status k_Adagrad(KernelContext& ctx) { return optimizer(ctx, 1); }
Status k_Momentum(KernelContext& ctx) { return optimizer(ctx, 1); }
Status k_Adam(KernelContext& ctx) { return optimizer(ctx, 2); }

}  // namespace

FLEETRT_REGISTER_KERNEL("ai.onnx.preview.training", "Adagrad", k_Adagrad);
FLEETRT_REGISTER_KERNEL("ai.onnx.preview.training", "Momentum", k_Momentum);
FLEETRT_REGISTER_KERNEL("ai.onnx.preview.training", "Adam", k_Adam);

}  // namespace fleetrt
