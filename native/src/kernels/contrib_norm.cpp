// com.microsoft normalization ops (onnxruntime contrib semantics), normalizing the last dim:
//   SkipLayerNormalization / SkipSimplifiedLayerNormalization: LN/RMS of input + skip (+ bias),
//     optional outputs mean, inv_std_var and the input_skip_bias_sum.
//   SimplifiedLayerNormalization (RMS norm; also registered in the default domain as onnxruntime
//     does): Y and optional inv_std_var.
//   EmbedLayerNormalization: word + position (+ segment) embeddings then LayerNorm; outputs the
//     mask_index (sum of the mask per batch, zeros without one) and optionally the embedding sum.
#include <algorithm>
#include <cmath>

#include "kernel_util.h"

namespace fleetrt {
namespace {

const Tensor* opt_in(const KernelContext& ctx, int i) {
  const Tensor* t = i < ctx.num_inputs() ? ctx.input(i) : nullptr;
  return t && t->numel() > 0 ? t : nullptr;
}

// Normalizes one row in place into y: LayerNorm (rms=false) or RMS norm.
void norm_row(const float* x, float* y, int64_t n, double eps, bool rms, const float* gamma, const float* beta,
              float* mean_out, float* inv_out) {
  double s = 0, ss = 0;
  for (int64_t i = 0; i < n; ++i) s += x[i], ss += static_cast<double>(x[i]) * x[i];
  double m = rms ? 0.0 : s / static_cast<double>(n);
  double var = std::max(0.0, ss / static_cast<double>(n) - m * m);
  float inv = static_cast<float>(1.0 / std::sqrt(var + eps)), mf = static_cast<float>(m);
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mf) * inv * gamma[i] + (beta ? beta[i] : 0.f);
  if (mean_out) *mean_out = mf;
  if (inv_out) *inv_out = inv;
}

Status skip_norm(KernelContext& ctx, bool rms) {
  const Tensor *x, *skip, *gamma;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &skip));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 2, &gamma));
  if (!ku::is_float_like(x->dtype) || x->rank() < 1)
    return ku::op_error(ctx, std::string("unsupported input ") + dtype_name(x->dtype) + " " + ku::shape_str(x->shape));
  const Tensor* beta = rms ? nullptr : opt_in(ctx, 3);
  const Tensor* bias = opt_in(ctx, rms ? 3 : 4);
  const int64_t n = x->shape.back(), rows = x->numel() / std::max<int64_t>(n, 1);
  if (gamma->numel() != n || (beta && beta->numel() != n) || (bias && bias->numel() != n))
    return ku::op_error(ctx, "gamma/beta/bias must have " + std::to_string(n) + " values");
  const float* sk = ku::broadcast_float(ctx, *skip, x->shape);
  if (!sk) return ku::op_error(ctx, "skip " + ku::shape_str(skip->shape) + " does not broadcast to " + ku::shape_str(x->shape));
  std::vector<int64_t> stat_shape(x->shape.begin(), x->shape.end() - 1);
  stat_shape.push_back(1);
  Tensor *y, *mean_t = nullptr, *inv_t = nullptr, *sum_t = nullptr;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, x->dtype, &y));
  FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 1, stat_shape, DType::kF32, &mean_t));
  FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 2, stat_shape, DType::kF32, &inv_t));
  FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 3, x->shape, x->dtype, &sum_t));
  const float* xf = ku::as_float_buffer(ctx, *x);
  const float* gf = ku::as_float_buffer(ctx, *gamma);
  const float* bf = beta ? ku::as_float_buffer(ctx, *beta) : nullptr;
  const float* biasf = bias ? ku::as_float_buffer(ctx, *bias) : nullptr;
  float* sum = static_cast<float*>(ctx.scratch(static_cast<size_t>(x->numel() + 1) * sizeof(float)));
  float* yf = ku::float_out_buffer(ctx, *y);
  std::vector<float> means(static_cast<size_t>(rows)), invs(static_cast<size_t>(rows));
  const double eps = ctx.attrs().get_float("epsilon", 1e-12);
  ku::parallel_elems(ctx, rows, n * 4, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* s = sum + r * n;
      for (int64_t i = 0; i < n; ++i) s[i] = xf[r * n + i] + sk[r * n + i] + (biasf ? biasf[i] : 0.f);
      norm_row(s, yf + r * n, n, eps, rms, gf, bf, &means[r], &invs[r]);
    }
  });
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  if (mean_t) ku::store_float_buffer(means.data(), *mean_t);
  if (inv_t) ku::store_float_buffer(invs.data(), *inv_t);
  if (sum_t) ku::store_float_buffer(sum, *sum_t);
  return Status::Ok();
}

Status k_SkipLayerNormalization(KernelContext& ctx) { return skip_norm(ctx, false); }
Status k_SkipSimplifiedLayerNormalization(KernelContext& ctx) { return skip_norm(ctx, true); }

Status k_SimplifiedLayerNormalization(KernelContext& ctx) {
  const Tensor *x, *scale;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &scale));
  if (!ku::is_float_like(x->dtype)) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(x->dtype));
  const int64_t rank = static_cast<int64_t>(x->rank());
  int64_t axis;
  FLEETRT_RETURN_IF_ERROR(ku::normalize_axis(ctx, ctx.attrs().get_int("axis", -1), rank, &axis));
  std::vector<int64_t> norm_shape(x->shape.begin() + axis, x->shape.end());
  const int64_t n = ku::numel_of(norm_shape), rows = ku::prod(x->shape, 0, axis);
  const float* sf = ku::broadcast_float(ctx, *scale, norm_shape);
  if (!sf) return ku::op_error(ctx, "scale does not broadcast to " + ku::shape_str(norm_shape));
  std::vector<int64_t> stat_shape(x->shape.begin(), x->shape.begin() + axis);
  stat_shape.resize(x->rank(), 1);
  Tensor *y, *inv_t = nullptr;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, x->dtype, &y));
  FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 1, stat_shape, DType::kF32, &inv_t));
  const float* xf = ku::as_float_buffer(ctx, *x);
  float* yf = ku::float_out_buffer(ctx, *y);
  std::vector<float> invs(static_cast<size_t>(rows));
  const double eps = ctx.attrs().get_float("epsilon", 1e-5);
  ku::parallel_elems(ctx, rows, n * 3, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) norm_row(xf + r * n, yf + r * n, n, eps, true, sf, nullptr, nullptr, &invs[r]);
  });
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  if (inv_t) ku::store_float_buffer(invs.data(), *inv_t);
  return Status::Ok();
}

Status k_EmbedLayerNormalization(KernelContext& ctx) {
  const Tensor *ids, *word, *posemb, *gamma, *beta;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &ids));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 2, &word));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 3, &posemb));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 5, &gamma));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 6, &beta));
  const Tensor *seg = opt_in(ctx, 1), *segemb = opt_in(ctx, 4), *mask = opt_in(ctx, 7), *pos = opt_in(ctx, 8);
  if (ids->rank() != 2 || word->rank() != 2 || posemb->rank() != 2)
    return ku::op_error(ctx, "input_ids must be [B, S] and the embeddings 2-D");
  const int64_t B = ids->shape[0], S = ids->shape[1], Hd = word->shape[1];
  if (posemb->shape[1] != Hd || gamma->numel() != Hd || beta->numel() != Hd || (segemb && segemb->shape[1] != Hd))
    return ku::op_error(ctx, "embedding widths / gamma / beta disagree");
  std::vector<int64_t> idv, segv, posv, maskv;
  FLEETRT_RETURN_IF_ERROR(ku::read_int_tensor(ctx, *ids, &idv));
  if (seg) FLEETRT_RETURN_IF_ERROR(ku::read_int_tensor(ctx, *seg, &segv));
  if (pos) FLEETRT_RETURN_IF_ERROR(ku::read_int_tensor(ctx, *pos, &posv));
  if (mask) FLEETRT_RETURN_IF_ERROR(ku::read_int_tensor(ctx, *mask, &maskv));
  if ((seg && static_cast<int64_t>(segv.size()) != B * S) || (mask && static_cast<int64_t>(maskv.size()) != B * S) ||
      (pos && static_cast<int64_t>(posv.size()) != B * S && static_cast<int64_t>(posv.size()) != S))
    return ku::op_error(ctx, "segment_ids / mask / position_ids do not match input_ids");
  Tensor *y, *mi = nullptr, *esum = nullptr;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, {B, S, Hd}, word->dtype, &y));
  FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 1, {B}, DType::kI32, &mi));
  FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 2, {B, S, Hd}, word->dtype, &esum));
  const float* wf = ku::as_float_buffer(ctx, *word);
  const float* pf = ku::as_float_buffer(ctx, *posemb);
  const float* sf = segemb ? ku::as_float_buffer(ctx, *segemb) : nullptr;
  const float* gf = ku::as_float_buffer(ctx, *gamma);
  const float* bf = ku::as_float_buffer(ctx, *beta);
  float* sum = static_cast<float*>(ctx.scratch(static_cast<size_t>(B * S * Hd + 1) * sizeof(float)));
  float* yf = ku::float_out_buffer(ctx, *y);
  const double eps = ctx.attrs().get_float("epsilon", 1e-12);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s) {
      const int64_t r = b * S + s, w = idv[r];
      const int64_t p = pos ? (static_cast<int64_t>(posv.size()) == S ? posv[s] : posv[r]) : s;
      const int64_t g = seg ? segv[r] : 0;
      if (w < 0 || w >= word->shape[0] || p < 0 || p >= posemb->shape[0] || (segemb && (g < 0 || g >= segemb->shape[0])))
        return ku::op_error(ctx, "an index is outside its embedding table");
      float* d = sum + r * Hd;
      for (int64_t i = 0; i < Hd; ++i) d[i] = wf[w * Hd + i] + pf[p * Hd + i] + (sf ? sf[g * Hd + i] : 0.f);
      norm_row(d, yf + r * Hd, Hd, eps, false, gf, bf, nullptr, nullptr);
    }
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  if (esum) ku::store_float_buffer(sum, *esum);
  if (mi)
    for (int64_t b = 0; b < B; ++b) {
      int64_t c = 0;
      if (mask)
        for (int64_t s = 0; s < S; ++s) c += maskv[b * S + s] != 0;
      mi->as<int32_t>()[b] = static_cast<int32_t>(c);
    }
  return Status::Ok();
}

}  // namespace

FLEETRT_REGISTER_KERNEL("com.microsoft", "SkipLayerNormalization", k_SkipLayerNormalization);
FLEETRT_REGISTER_KERNEL("com.microsoft", "SkipSimplifiedLayerNormalization", k_SkipSimplifiedLayerNormalization);
FLEETRT_REGISTER_KERNEL("com.microsoft", "SimplifiedLayerNormalization", k_SimplifiedLayerNormalization);
FLEETRT_REGISTER_KERNEL("", "SimplifiedLayerNormalization", k_SimplifiedLayerNormalization);
FLEETRT_REGISTER_KERNEL("com.microsoft", "EmbedLayerNormalization", k_EmbedLayerNormalization);

}  // namespace fleetrt
