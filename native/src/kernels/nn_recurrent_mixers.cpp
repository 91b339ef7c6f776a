// State-space / linear-attention building blocks of recent ONNX opsets:
//   CausalConvWithState  depthwise causal Conv1d over [past_state | input] (k−1 left context),
//                        optional SiLU, present_state = the last k−1 positions.
//   LinearAttention      recurrent state S [B, H_kv, d_k, d_v] with update rules linear, gated
//                        (S ← S·exp(g)), delta / gated_delta (v ← β(v − Sᵀk)); output scale·qᵀS,
//                        GQA by sharing each KV state among q_num_heads/kv_num_heads query heads.
// Everything is computed in float.
#include <algorithm>
#include <cmath>
#include <string>

#include "kernel_util.h"

namespace fleetrt {
namespace {

const Tensor* opt_in(const KernelContext& ctx, int i) { return i < ctx.num_inputs() ? ctx.input(i) : nullptr; }

Status k_CausalConvWithState(KernelContext& ctx) {
  const Tensor *x, *w;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &w));
  const Tensor *b = opt_in(ctx, 2), *past = opt_in(ctx, 3);
  if (!ku::is_float_like(x->dtype)) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(x->dtype));
  if (x->rank() != 3 || w->rank() != 3 || w->shape[0] != x->shape[1] || w->shape[1] != 1)
    return ku::op_error(ctx, "input " + ku::shape_str(x->shape) + " must be [B, C, L] and weight " + ku::shape_str(w->shape) + " [C, 1, k]");
  const std::string act = ctx.attrs().get_string("activation", "none");
  if (act != "none" && act != "silu" && act != "swish") return ku::op_error(ctx, "unsupported activation '" + act + "'");
  const int64_t B = x->shape[0], C = x->shape[1], L = x->shape[2], K = w->shape[2], P = K - 1;
  if (past && (past->rank() != 3 || past->shape[0] != B || past->shape[1] != C || past->shape[2] != P))
    return ku::op_error(ctx, "past_state " + ku::shape_str(past->shape) + " must be [B, C, k-1]");
  if (b && b->numel() != C) return ku::op_error(ctx, "bias must have C values");
  Tensor *y, *ps = nullptr;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, x->dtype, &y));
  FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 1, {B, C, P}, x->dtype, &ps));
  const float* xf = ku::as_float_buffer(ctx, *x);
  const float* wf = ku::as_float_buffer(ctx, *w);
  const float* bf = b ? ku::as_float_buffer(ctx, *b) : nullptr;
  const float* pf = past ? ku::as_float_buffer(ctx, *past) : nullptr;
  const int64_t W = P + L;
  std::vector<float> padded(static_cast<size_t>(B * C * W), 0.f);
  for (int64_t r = 0; r < B * C; ++r) {
    if (pf) std::copy(pf + r * P, pf + (r + 1) * P, &padded[r * W]);
    std::copy(xf + r * L, xf + (r + 1) * L, &padded[r * W + P]);
  }
  float* yf = ku::float_out_buffer(ctx, *y);
  const bool silu = act != "none";
  for (int64_t r = 0; r < B * C; ++r) {
    const int64_t c = r % C;
    const float* pr = &padded[r * W];
    for (int64_t t = 0; t < L; ++t) {
      float s = bf ? bf[c] : 0.f;
      for (int64_t k = 0; k < K; ++k) s += pr[t + k] * wf[c * K + k];
      yf[r * L + t] = silu ? s / (1.f + std::exp(-s)) : s;
    }
  }
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  if (ps && P > 0) {
    std::vector<float> st(static_cast<size_t>(B * C * P));
    for (int64_t r = 0; r < B * C; ++r) std::copy(&padded[r * W + L], &padded[r * W + W], &st[r * P]);
    ku::store_float_buffer(st.data(), *ps);
  }
  return Status::Ok();
}

Status k_LinearAttention(KernelContext& ctx) {
  const Tensor *q, *k, *v;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &q));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &k));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 2, &v));
  const Tensor *past = opt_in(ctx, 3), *decay = opt_in(ctx, 4), *beta = opt_in(ctx, 5), *erase = opt_in(ctx, 6);
  if (!ku::is_float_like(q->dtype)) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(q->dtype));
  const Attributes& at = ctx.attrs();
  const std::string rule = at.get_string("update_rule", "gated_delta");
  const int64_t Hq = at.get_int("q_num_heads", 0), Hkv = at.get_int("kv_num_heads", 0);
  if (Hq <= 0 || Hkv <= 0 || Hq % Hkv) return ku::op_error(ctx, "q_num_heads must be a positive multiple of kv_num_heads");
  const bool gating = rule == "gated" || rule == "gated_delta", delta = rule == "delta" || rule == "gated_delta";
  if (!gating && !delta && rule != "linear") return ku::op_error(ctx, "unsupported update_rule '" + rule + "'");
  if (gating != (decay != nullptr)) return ku::op_error(ctx, "decay input must be given exactly for gated rules");
  if (delta != (beta != nullptr)) return ku::op_error(ctx, "beta input must be given exactly for delta rules");
  if (q->rank() != 3 || k->rank() != 3 || v->rank() != 3) return ku::op_error(ctx, "query/key/value must be [B, T, H*D]");
  const int64_t B = q->shape[0], T = q->shape[1], dk = q->shape[2] / Hq, dv = v->shape[2] / Hkv, G = Hq / Hkv;
  if (k->shape[2] != Hkv * dk || k->shape[0] != B || v->shape[0] != B || k->shape[1] != T || v->shape[1] != T)
    return ku::op_error(ctx, "query/key/value shapes disagree");
  int64_t decay_w = 0, beta_w = 0;
  if (decay) {
    decay_w = decay->shape.back();
    if (decay->rank() != 3 || (decay_w != Hkv && decay_w != Hkv * dk)) return ku::op_error(ctx, "decay must be [B, T, H_kv] or [B, T, H_kv*d_k]");
  }
  if (beta) {
    beta_w = beta->shape.back();
    if (beta->rank() != 3 || (beta_w != Hkv && beta_w != 1)) return ku::op_error(ctx, "beta must be [B, T, H_kv] or [B, T, 1]");
  }
  if (past && (past->rank() != 4 || past->shape != std::vector<int64_t>{B, Hkv, dk, dv}))
    return ku::op_error(ctx, "past_state must be [B, H_kv, d_k, d_v]");
  Tensor *y, *ps = nullptr;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, {B, T, Hq * dv}, q->dtype, &y));
  FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 1, {B, Hkv, dk, dv}, past ? past->dtype : q->dtype, &ps));
  const float* qf = ku::as_float_buffer(ctx, *q);
  const float* kf = ku::as_float_buffer(ctx, *k);
  const float* vf = ku::as_float_buffer(ctx, *v);
  const float* df = decay ? ku::as_float_buffer(ctx, *decay) : nullptr;
  const float* bf = beta ? ku::as_float_buffer(ctx, *beta) : nullptr;
  const float* ef = erase ? ku::as_float_buffer(ctx, *erase) : nullptr;
  std::vector<float> S(static_cast<size_t>(B * Hkv * dk * dv), 0.f);
  if (past) {
    const float* pf = ku::as_float_buffer(ctx, *past);
    std::copy(pf, pf + S.size(), S.begin());
  }
  const double sc = at.get_float("scale", 0.0);
  const float scale = static_cast<float>(sc == 0.0 ? 1.0 / std::sqrt(static_cast<double>(dk)) : sc);
  float* yf = ku::float_out_buffer(ctx, *y);
  std::vector<float> vt(static_cast<size_t>(dv)), ke(static_cast<size_t>(dk));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t h = 0; h < Hkv; ++h) {
        float* s = &S[(b * Hkv + h) * dk * dv];
        const float* kt = kf + (b * T + t) * Hkv * dk + h * dk;
        const float* vsrc = vf + (b * T + t) * Hkv * dv + h * dv;
        if (gating) {
          const float* g = df + (b * T + t) * decay_w;
          for (int64_t d = 0; d < dk; ++d) {
            float e = std::exp(decay_w == Hkv ? g[h] : g[h * dk + d]);
            for (int64_t m = 0; m < dv; ++m) s[d * dv + m] *= e;
          }
        }
        std::copy(vsrc, vsrc + dv, vt.begin());
        if (delta) {
          for (int64_t d = 0; d < dk; ++d) ke[d] = ef ? ef[(b * T + t) * Hkv * dk + h * dk + d] * kt[d] : kt[d];
          const float bt = bf[(b * T + t) * beta_w + (beta_w == 1 ? 0 : h)];
          for (int64_t m = 0; m < dv; ++m) {
            float r = 0.f;
            for (int64_t d = 0; d < dk; ++d) r += s[d * dv + m] * ke[d];
            vt[m] = bt * (vt[m] - r);
          }
        }
        for (int64_t d = 0; d < dk; ++d)
          for (int64_t m = 0; m < dv; ++m) s[d * dv + m] += kt[d] * vt[m];
      }
      for (int64_t h = 0; h < Hq; ++h) {
        const float* s = &S[(b * Hkv + h / G) * dk * dv];
        const float* qt = qf + (b * T + t) * Hq * dk + h * dk;
        float* o = yf + (b * T + t) * Hq * dv + h * dv;
        for (int64_t m = 0; m < dv; ++m) {
          float r = 0.f;
          for (int64_t d = 0; d < dk; ++d) r += qt[d] * s[d * dv + m];
          o[m] = scale * r;
        }
      }
    }
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  if (ps) ku::store_float_buffer(S.data(), *ps);
  return Status::Ok();
}

// SwiGLU(a, b) = a·sigmoid(alpha·a)·b (same shapes).
Status k_SwiGLU(KernelContext& ctx) {
  const Tensor *a, *b;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &a));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &b));
  if (!ku::is_float_like(a->dtype) || b->dtype != a->dtype) return ku::op_error(ctx, "inputs must be the same float type");
  const float* bf = ku::broadcast_float(ctx, *b, a->shape);
  if (!bf) return ku::op_error(ctx, "b " + ku::shape_str(b->shape) + " does not broadcast to a " + ku::shape_str(a->shape));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, a->shape, a->dtype, &y));
  const float* af = ku::as_float_buffer(ctx, *a);
  float* yf = ku::float_out_buffer(ctx, *y);
  const float alpha = static_cast<float>(ctx.attrs().get_float("alpha", 1.0));
  for (int64_t i = 0; i < a->numel(); ++i) yf[i] = af[i] / (1.f + std::exp(-alpha * af[i])) * bf[i];
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  return Status::Ok();
}

}  // namespace

FLEETRT_REGISTER_KERNEL("", "CausalConvWithState", k_CausalConvWithState);
FLEETRT_REGISTER_KERNEL("", "LinearAttention", k_LinearAttention);
FLEETRT_REGISTER_KERNEL("", "SwiGLU", k_SwiGLU);

}  // namespace fleetrt
