// com.microsoft attention ops used by transformer exports (onnxruntime contrib semantics):
//   Attention           fused QKV projection, mask_index (1-D lengths, 2-D/3-D raw masks),
//                       unidirectional, past/present as [2, B, N, P(+S), H], attention_bias.
//   MultiHeadAttention  separate Q/K/V (3-D, or 4-D pre-split K/V), bias, key_padding_mask,
//                       attention_bias, past/present key and value.
//   GroupQueryAttention causal GQA with a KV cache, seqlens_k/total_sequence_length, optional
//                       rotary embedding of Q/K, local_window_size, softcap.
//   RotaryEmbedding     position_ids (or a scalar offset) into cos/sin caches.
// Masked positions get mask_filter_value added (finite, as onnxruntime does); everything runs
// through ku::attention in float.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernel_util.h"

namespace fleetrt {
namespace {

const Tensor* opt_in(const KernelContext& ctx, int i) {
  const Tensor* t = i < ctx.num_inputs() ? ctx.input(i) : nullptr;
  return t && t->numel() > 0 ? t : nullptr;
}

Status need_float(const KernelContext& ctx, const Tensor& t) {
  if (!ku::is_float_like(t.dtype)) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(t.dtype));
  return Status::Ok();
}

// Additive bias [B, S, T] from a mask_index / key_padding_mask (nullable) and causality:
// 0 where attended, `filter` where masked. Returns Ok with *out = nullptr when nothing is masked.
Status mask_bias(KernelContext& ctx, const Tensor* mask, int64_t B, int64_t S, int64_t T, int64_t past, bool causal,
                 float filter, float** out) {
  *out = nullptr;
  if (!mask && !causal) return Status::Ok();
  float* m = static_cast<float*>(ctx.scratch(static_cast<size_t>(B * S * T + 1) * sizeof(float)));
  std::fill(m, m + B * S * T, 0.f);
  if (mask) {
    std::vector<int64_t> mv;
    if (ku::is_float(mask->dtype)) {
      mv.resize(static_cast<size_t>(mask->numel()));
      for (int64_t i = 0; i < mask->numel(); ++i) mv[i] = ku::load_as_double(*mask, i) != 0;
    } else if (mask->dtype == DType::kBool) {
      mv.resize(static_cast<size_t>(mask->numel()));
      for (int64_t i = 0; i < mask->numel(); ++i) mv[i] = mask->as<bool>()[i];
    } else {
      FLEETRT_RETURN_IF_ERROR(ku::read_int_tensor(ctx, *mask, &mv));
    }
    const auto& ms = mask->shape;
    if (ms.size() == 1 && (ms[0] == B || ms[0] == 2 * B)) {
      for (int64_t b = 0; b < B; ++b) {
        int64_t end = mv[b], start = ms[0] == 2 * B ? mv[B + b] : 0;
        for (int64_t i = 0; i < S; ++i)
          for (int64_t j = 0; j < T; ++j)
            if (j >= end || j < start) m[(b * S + i) * T + j] = filter;
      }
    } else if (ms.size() == 2 && ms[0] == B && ms[1] == T) {
      for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < S; ++i)
          for (int64_t j = 0; j < T; ++j)
            if (!mv[b * T + j]) m[(b * S + i) * T + j] = filter;
    } else if (ms.size() == 3 && ms[0] == B && ms[1] == S && ms[2] == T) {
      for (int64_t i = 0; i < B * S * T; ++i)
        if (!mv[i]) m[i] = filter;
    } else {
      return ku::op_error(ctx, "unsupported mask shape " + ku::shape_str(ms) + " (expected [B], [2B], [B,T] or [B,S,T])");
    }
  }
  if (causal)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < S; ++i)
        for (int64_t j = past + i + 1; j < T; ++j) m[(b * S + i) * T + j] = filter;
  *out = m;
  return Status::Ok();
}

// Adds an attention_bias broadcast to [B, N, S, T] to the mask bias [B, S, T] (either nullable).
Status combine_bias(KernelContext& ctx, const Tensor* ab, const float* mb, int64_t B, int64_t N, int64_t S, int64_t T,
                    ku::AttentionProblem* p) {
  if (!ab) {
    if (mb) p->bias = mb, p->bias_sb = S * T, p->bias_sh = 0, p->bias_ss = T;
    return Status::Ok();
  }
  const float* full = ku::broadcast_float(ctx, *ab, {B, N, S, T});
  if (!full) return ku::op_error(ctx, "attention_bias " + ku::shape_str(ab->shape) + " does not broadcast to " + ku::shape_str({B, N, S, T}));
  float* sum = static_cast<float*>(ctx.scratch(static_cast<size_t>(B * N * S * T + 1) * sizeof(float)));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < N; ++h)
      for (int64_t k = 0; k < S * T; ++k) {
        int64_t at = (b * N + h) * S * T + k;
        sum[at] = full[at] + (mb ? mb[b * S * T + k] : 0.f);
      }
  p->bias = sum, p->bias_sb = N * S * T, p->bias_sh = S * T, p->bias_ss = T;
  return Status::Ok();
}

// [B, N, P+L, H] cache: past (contiguous [B, N, P, H]) then new rows read from src with strides.
void build_cache(const float* past, int64_t P, const float* src, int64_t sb, int64_t sh, int64_t ss, int64_t B, int64_t N,
                 int64_t L, int64_t H, float* dst) {
  const int64_t T = P + L;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < N; ++h) {
      float* d = dst + (b * N + h) * T * H;
      if (P) std::copy(past + (b * N + h) * P * H, past + (b * N + h + 1) * P * H, d);
      for (int64_t s = 0; s < L; ++s) std::copy(src + b * sb + h * sh + s * ss, src + b * sb + h * sh + s * ss + H, d + (P + s) * H);
    }
}

float filter_value(const KernelContext& ctx) { return static_cast<float>(ctx.attrs().get_float("mask_filter_value", -10000.0)); }

// Runs p (q/k/v and bias set) into y [B, S, D] (D = q_heads · v_head_dim values per row) in float.
void run_attention(KernelContext& ctx, ku::AttentionProblem& p, Tensor* y, int64_t D) {
  float* yf = ku::float_out_buffer(ctx, *y);
  p.y = yf, p.y_sb = p.q_len * D, p.y_sh = p.v_head_dim, p.y_ss = D;
  ku::attention(&ctx, p);
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
}

// Attention / MultiHeadAttention after Q/K/V are set: the scale attribute (default
// 1/sqrt(head_dim)), the mask (nullable) with `unidirectional` over P past positions, the
// attention_bias (nullable), then the run into y [B, S, Dv].
Status masked_attention(KernelContext& ctx, ku::AttentionProblem& p, const Tensor* mask, const Tensor* ab, int64_t P,
                        Tensor* y, int64_t Dv) {
  const Attributes& at = ctx.attrs();
  const int64_t B = p.batch, N = p.q_heads, S = p.q_len, T = p.kv_len;
  p.scale = static_cast<float>(at.has("scale") ? at.get_float("scale", 1.0) : 1.0 / std::sqrt(static_cast<double>(p.head_dim)));
  float* mb;
  FLEETRT_RETURN_IF_ERROR(mask_bias(ctx, mask, B, S, T, P, at.get_int("unidirectional", 0) != 0, filter_value(ctx), &mb));
  FLEETRT_RETURN_IF_ERROR(combine_bias(ctx, ab, mb, B, N, S, T, &p));
  run_attention(ctx, p, y, Dv);
  return Status::Ok();
}

Status k_Attention(KernelContext& ctx) {
  const Tensor *x, *w;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &w));
  FLEETRT_RETURN_IF_ERROR(need_float(ctx, *x));
  const Tensor *bias = opt_in(ctx, 2), *mask = opt_in(ctx, 3), *past = opt_in(ctx, 4), *ab = opt_in(ctx, 5);
  const Attributes& at = ctx.attrs();
  if (at.get_int("do_rotary", 0) != 0) return ku::op_error(ctx, "do_rotary is not supported");
  if (x->rank() != 3 || w->rank() != 2 || w->shape[0] != x->shape[2])
    return ku::op_error(ctx, "input " + ku::shape_str(x->shape) + " and weights " + ku::shape_str(w->shape) + " do not match");
  const int64_t B = x->shape[0], S = x->shape[1], In = x->shape[2], N = at.get_int("num_heads", 0);
  std::vector<int64_t> qkv = at.get_ints("qkv_hidden_sizes");
  if (qkv.empty()) qkv.assign(3, w->shape[1] / 3);
  if (N <= 0 || qkv.size() != 3 || qkv[0] + qkv[1] + qkv[2] != w->shape[1] || qkv[0] != qkv[1] || qkv[0] % N || qkv[2] % N)
    return ku::op_error(ctx, "num_heads / qkv_hidden_sizes do not match weights " + ku::shape_str(w->shape));
  const int64_t Dq = qkv[0], Dv = qkv[2], H = Dq / N, Hv = Dv / N, W3 = w->shape[1];
  if (bias && bias->numel() != W3) return ku::op_error(ctx, "bias must have " + std::to_string(W3) + " values");
  int64_t P = 0;
  if (past) {
    if (past->rank() != 5 || past->shape[0] != 2 || past->shape[1] != B || past->shape[2] != N || past->shape[4] != H || H != Hv)
      return ku::op_error(ctx, "past " + ku::shape_str(past->shape) + " must be [2, B, num_heads, P, head_size]");
    P = past->shape[3];
  }
  const int64_t T = P + S;
  Tensor *y, *present = nullptr;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, {B, S, Dv}, x->dtype, &y));
  FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 1, {2, B, N, T, H}, x->dtype, &present));
  // projection [B·S, W3]
  float* proj = static_cast<float*>(ctx.scratch(static_cast<size_t>(B * S * W3 + 1) * sizeof(float)));
  ku::sgemm(false, false, B * S, W3, In, 1.f, ku::as_float_buffer(ctx, *x), In, ku::as_float_buffer(ctx, *w), W3, 0.f, proj, W3, &ctx);
  if (bias) {
    const float* bf = ku::as_float_buffer(ctx, *bias);
    for (int64_t r = 0; r < B * S; ++r)
      for (int64_t c = 0; c < W3; ++c) proj[r * W3 + c] += bf[c];
  }
  ku::AttentionProblem p;
  p.batch = B, p.q_heads = N, p.kv_heads = N, p.q_len = S, p.kv_len = T, p.head_dim = H, p.v_head_dim = Hv;
  p.q = proj, p.q_sb = S * W3, p.q_sh = H, p.q_ss = W3;
  const float* pf = past ? ku::as_float_buffer(ctx, *past) : nullptr;
  float* cache = static_cast<float*>(ctx.scratch(static_cast<size_t>(2 * B * N * T * H + 1) * sizeof(float)));
  build_cache(pf, P, proj + Dq, S * W3, H, W3, B, N, S, H, cache);
  build_cache(pf ? pf + B * N * P * H : nullptr, P, proj + 2 * Dq, S * W3, Hv, W3, B, N, S, Hv, cache + B * N * T * H);
  p.k = cache, p.k_sb = N * T * H, p.k_sh = T * H, p.k_ss = H;
  p.v = cache + B * N * T * H, p.v_sb = N * T * Hv, p.v_sh = T * Hv, p.v_ss = Hv;
  if (present) ku::store_float_buffer(cache, *present);
  return masked_attention(ctx, p, mask, ab, P, y, Dv);
}

Status k_MultiHeadAttention(KernelContext& ctx) {
  const Tensor* q;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &q));
  FLEETRT_RETURN_IF_ERROR(need_float(ctx, *q));
  const Tensor *k = opt_in(ctx, 1), *v = opt_in(ctx, 2), *bias = opt_in(ctx, 3), *kpm = opt_in(ctx, 4),
               *ab = opt_in(ctx, 5), *pk = opt_in(ctx, 6), *pv = opt_in(ctx, 7);
  const Attributes& at = ctx.attrs();
  const int64_t N = at.get_int("num_heads", 0);
  if (N <= 0) return ku::op_error(ctx, "num_heads must be positive");
  if (q->rank() != 3 || !k || !v) return ku::op_error(ctx, "only 3-D query with separate key and value is supported");
  const int64_t B = q->shape[0], S = q->shape[1], D = q->shape[2], H = D / N;
  if (D % N) return ku::op_error(ctx, "hidden size does not divide by num_heads");
  const bool kv4 = k->rank() == 4;
  const int64_t L = kv4 ? k->shape[2] : k->shape[1];
  const int64_t Dv = kv4 ? v->shape[1] * v->shape[3] : v->shape[2], Hv = Dv / N;
  if ((kv4 && (k->shape[1] != N || k->shape[3] != H || v->rank() != 4)) || (!kv4 && (k->rank() != 3 || k->shape[2] != D)))
    return ku::op_error(ctx, "key " + ku::shape_str(k->shape) + " does not match query " + ku::shape_str(q->shape));
  const int64_t P = (pk && !kv4) ? pk->shape[2] : 0, T = P + L;
  Tensor *y, *ok = nullptr, *ov = nullptr;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, {B, S, Dv}, q->dtype, &y));
  FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 1, {B, N, T, H}, q->dtype, &ok));
  FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 2, {B, N, T, Hv}, q->dtype, &ov));
  // biased copies of Q (and 3-D K/V)
  const float* bf = bias ? ku::as_float_buffer(ctx, *bias) : nullptr;
  auto biased = [&](const Tensor& t, int64_t off, int64_t width) -> const float* {
    const float* src = ku::as_float_buffer(ctx, t);
    if (!bf) return src;
    float* d = static_cast<float*>(ctx.scratch(static_cast<size_t>(t.numel() + 1) * sizeof(float)));
    for (int64_t i = 0; i < t.numel(); ++i) d[i] = src[i] + bf[off + i % width];
    return d;
  };
  ku::AttentionProblem p;
  p.batch = B, p.q_heads = N, p.kv_heads = N, p.q_len = S, p.kv_len = T, p.head_dim = H, p.v_head_dim = Hv;
  p.q = biased(*q, 0, D), p.q_sb = S * D, p.q_sh = H, p.q_ss = D;
  float* kc = static_cast<float*>(ctx.scratch(static_cast<size_t>(B * N * T * H + 1) * sizeof(float)));
  float* vc = static_cast<float*>(ctx.scratch(static_cast<size_t>(B * N * T * Hv + 1) * sizeof(float)));
  if (kv4) {
    const float* kf = ku::as_float_buffer(ctx, *k);
    const float* vf = ku::as_float_buffer(ctx, *v);
    std::copy(kf, kf + B * N * T * H, kc);
    std::copy(vf, vf + B * N * T * Hv, vc);
  } else {
    build_cache(pk ? ku::as_float_buffer(ctx, *pk) : nullptr, P, biased(*k, D, D), L * D, H, D, B, N, L, H, kc);
    build_cache(pv ? ku::as_float_buffer(ctx, *pv) : nullptr, P, biased(*v, 2 * D, Dv), L * Dv, Hv, Dv, B, N, L, Hv, vc);
  }
  if (ok) ku::store_float_buffer(kc, *ok);
  if (ov) ku::store_float_buffer(vc, *ov);
  p.k = kc, p.k_sb = N * T * H, p.k_sh = T * H, p.k_ss = H;
  p.v = vc, p.v_sb = N * T * Hv, p.v_sh = T * Hv, p.v_ss = Hv;
  return masked_attention(ctx, p, kpm, ab, P, y, Dv);
}

Status k_GroupQueryAttention(KernelContext& ctx) {
  const Tensor *q, *seqlens, *total_t;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &q));
  FLEETRT_RETURN_IF_ERROR(need_float(ctx, *q));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 5, &seqlens));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 6, &total_t));
  const Tensor *k = opt_in(ctx, 1), *v = opt_in(ctx, 2), *pk = opt_in(ctx, 3), *pv = opt_in(ctx, 4);
  const Tensor *cosc = opt_in(ctx, 7), *sinc = opt_in(ctx, 8), *pos = opt_in(ctx, 9), *ab = opt_in(ctx, 10);
  const Attributes& at = ctx.attrs();
  const int64_t N = at.get_int("num_heads", 0), Nkv = at.get_int("kv_num_heads", 0);
  if (N <= 0 || Nkv <= 0 || N % Nkv) return ku::op_error(ctx, "num_heads must be a positive multiple of kv_num_heads");
  if (q->rank() != 3) return ku::op_error(ctx, "query must be 3-D");
  const int64_t B = q->shape[0], S = q->shape[1];
  const bool packed = k == nullptr;
  const int64_t H = packed ? q->shape[2] / (N + 2 * Nkv) : q->shape[2] / N;
  const int64_t Dq = N * H, Dkv = Nkv * H, qrow = packed ? Dq + 2 * Dkv : Dq;
  if (!packed && (!v || k->rank() != 3 || k->shape[2] != Dkv || v->shape[2] != Dkv))
    return ku::op_error(ctx, "key/value shapes do not match kv_num_heads");
  std::vector<int64_t> sl, tot;
  FLEETRT_RETURN_IF_ERROR(ku::read_int_tensor(ctx, *seqlens, &sl));
  FLEETRT_RETURN_IF_ERROR(ku::read_int_tensor(ctx, *total_t, &tot));
  if (static_cast<int64_t>(sl.size()) != B || tot.size() != 1) return ku::op_error(ctx, "seqlens_k must be [B], total_sequence_length a scalar");
  const int64_t past_cap = pk ? pk->shape[2] : 0;
  const int64_t T = std::max(past_cap, tot[0]);
  Tensor *y, *ok = nullptr, *ov = nullptr;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, {B, S, Dq}, q->dtype, &y));
  FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 1, {B, Nkv, T, H}, q->dtype, &ok));
  FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 2, {B, Nkv, T, H}, q->dtype, &ov));
  const float* qf = ku::as_float_buffer(ctx, *q);
  const float* kf = packed ? qf + Dq : ku::as_float_buffer(ctx, *k);
  const float* vf = packed ? qf + Dq + Dkv : ku::as_float_buffer(ctx, *v);
  const int64_t krow = packed ? qrow : Dkv;
  // query copy (rotary applied in place)
  float* qc = static_cast<float*>(ctx.scratch(static_cast<size_t>(B * S * Dq + 1) * sizeof(float)));
  for (int64_t r = 0; r < B * S; ++r) std::copy(qf + r * qrow, qf + r * qrow + Dq, qc + r * Dq);
  float* kc = static_cast<float*>(ctx.scratch(static_cast<size_t>(B * Nkv * T * H + 1) * sizeof(float)));
  float* vc = static_cast<float*>(ctx.scratch(static_cast<size_t>(B * Nkv * T * H + 1) * sizeof(float)));
  std::fill(kc, kc + B * Nkv * T * H, 0.f);
  std::fill(vc, vc + B * Nkv * T * H, 0.f);
  const float* pkf = pk ? ku::as_float_buffer(ctx, *pk) : nullptr;
  const float* pvf = pv ? ku::as_float_buffer(ctx, *pv) : nullptr;
  const bool rotary = at.get_int("do_rotary", 0) != 0, inter = at.get_int("rotary_interleaved", 0) != 0;
  const float *cf = nullptr, *sf = nullptr;
  int64_t half = 0, rows = 0;
  std::vector<int64_t> pids;
  if (rotary) {
    if (!cosc || !sinc) return ku::op_error(ctx, "do_rotary needs cos_cache and sin_cache");
    half = cosc->shape.back();
    rows = cosc->numel() / half;
    cf = ku::as_float_buffer(ctx, *cosc);
    sf = ku::as_float_buffer(ctx, *sinc);
    if (pos) FLEETRT_RETURN_IF_ERROR(ku::read_int_tensor(ctx, *pos, &pids));
  }
  std::vector<int64_t> valid(static_cast<size_t>(B)), offs(static_cast<size_t>(B)), starts(static_cast<size_t>(B), 0);
  const int64_t window = at.get_int("local_window_size", -1);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t total = sl[b] + 1, past_len = total - S;
    if (past_len < 0 || total > T) return ku::op_error(ctx, "seqlens_k[" + std::to_string(b) + "] is out of range");
    valid[b] = total;
    offs[b] = past_len;
    for (int64_t h = 0; h < Nkv; ++h) {
      float* kd = kc + (b * Nkv + h) * T * H;
      float* vd = vc + (b * Nkv + h) * T * H;
      if (pkf) {
        const int64_t keep = std::min(past_len, past_cap);
        std::copy(pkf + (b * Nkv + h) * past_cap * H, pkf + (b * Nkv + h) * past_cap * H + keep * H, kd);
        std::copy(pvf + (b * Nkv + h) * past_cap * H, pvf + (b * Nkv + h) * past_cap * H + keep * H, vd);
      }
      for (int64_t s = 0; s < S; ++s) {
        std::copy(kf + (b * S + s) * krow + h * H, kf + (b * S + s) * krow + (h + 1) * H, kd + (past_len + s) * H);
        std::copy(vf + (b * S + s) * krow + h * H, vf + (b * S + s) * krow + (h + 1) * H, vd + (past_len + s) * H);
      }
    }
    if (rotary) {
      for (int64_t s = 0; s < S; ++s) {
        int64_t r = pids.empty() ? past_len + s : pids[b * S + s];
        if (r < 0 || r >= rows) return ku::op_error(ctx, "rotary position " + std::to_string(r) + " is outside the caches");
        for (int64_t h = 0; h < N; ++h) ku::rope_rotate(qc + (b * S + s) * Dq + h * H, cf + r * half, sf + r * half, 2 * half, inter);
        for (int64_t h = 0; h < Nkv; ++h)
          ku::rope_rotate(kc + ((b * Nkv + h) * T + past_len + s) * H, cf + r * half, sf + r * half, 2 * half, inter);
      }
    }
  }
  if (ok) ku::store_float_buffer(kc, *ok);
  if (ov) ku::store_float_buffer(vc, *ov);
  ku::AttentionProblem p;
  p.batch = B, p.q_heads = N, p.kv_heads = Nkv, p.q_len = S, p.kv_len = T, p.head_dim = H, p.v_head_dim = H;
  p.q = qc, p.q_sb = S * Dq, p.q_sh = H, p.q_ss = Dq;
  p.k = kc, p.k_sb = Nkv * T * H, p.k_sh = T * H, p.k_ss = H;
  p.v = vc, p.v_sb = Nkv * T * H, p.v_sh = T * H, p.v_ss = H;
  p.scale = static_cast<float>(at.has("scale") && at.get_float("scale", 0.0) != 0.0 ? at.get_float("scale", 1.0)
                                                                                    : 1.0 / std::sqrt(static_cast<double>(H)));
  p.softcap = static_cast<float>(at.get_float("softcap", 0.0));
  p.causal = true;
  p.causal_offset = offs.data();
  p.kv_valid = valid.data();
  std::vector<float> wbias;
  if (window > 0) {
    // query i (absolute position offs+i) sees keys (pos − window, pos]
    wbias.assign(static_cast<size_t>(B * S * T), 0.f);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < S; ++i)
        for (int64_t j = 0; j < T; ++j)
          if (j <= offs[b] + i - window) wbias[(b * S + i) * T + j] = -std::numeric_limits<float>::infinity();
  }
  FLEETRT_RETURN_IF_ERROR(combine_bias(ctx, ab, wbias.empty() ? nullptr : wbias.data(), B, N, S, T, &p));
  run_attention(ctx, p, y, Dq);
  return Status::Ok();
}

Status k_RotaryEmbedding(KernelContext& ctx) {
  const Tensor *x, *pos, *cosc, *sinc;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &pos));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 2, &cosc));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 3, &sinc));
  FLEETRT_RETURN_IF_ERROR(need_float(ctx, *x));
  const Attributes& at = ctx.attrs();
  int64_t B, S, N, H, sb, sh, ss;
  if (x->rank() == 4) {  // [B, N, S, H]
    B = x->shape[0], N = x->shape[1], S = x->shape[2], H = x->shape[3];
    sb = N * S * H, sh = S * H, ss = H;
  } else if (x->rank() == 3) {
    B = x->shape[0], S = x->shape[1];
    const int64_t half = cosc->shape.empty() ? 0 : cosc->shape.back();
    int64_t rot = at.get_int("rotary_embedding_dim", 0);
    N = at.get_int("num_heads", 0);
    if (N <= 0) N = x->shape[2] / (rot > 0 ? rot : 2 * half);
    if (N <= 0 || x->shape[2] % N) return ku::op_error(ctx, "cannot infer num_heads for input " + ku::shape_str(x->shape));
    H = x->shape[2] / N;
    sb = S * x->shape[2], sh = H, ss = x->shape[2];
  } else {
    return ku::op_error(ctx, "input must be 3-D or 4-D");
  }
  const int64_t half = cosc->shape.back(), rows = cosc->numel() / half;
  int64_t rot = at.get_int("rotary_embedding_dim", 0);
  if (rot == 0) rot = 2 * half;
  if (rot > H || rot != 2 * half) return ku::op_error(ctx, "rotary dim does not match the caches");
  std::vector<int64_t> pids;
  FLEETRT_RETURN_IF_ERROR(ku::read_int_tensor(ctx, *pos, &pids));
  const bool offset_only = pids.size() == 1 && B * S != 1;
  if (!offset_only && static_cast<int64_t>(pids.size()) != B * S) return ku::op_error(ctx, "position_ids must be [B, S] or a scalar offset");
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, x->dtype, &y));
  const float* xf = ku::as_float_buffer(ctx, *x);
  const float* cf = ku::as_float_buffer(ctx, *cosc);
  const float* sf = ku::as_float_buffer(ctx, *sinc);
  float* yf = ku::float_out_buffer(ctx, *y);
  if (yf != xf) std::copy(xf, xf + x->numel(), yf);
  const bool inter = at.get_int("interleaved", 0) != 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s) {
      int64_t r = offset_only ? pids[0] + s : pids[b * S + s];
      if (r < 0 || r >= rows) return ku::op_error(ctx, "position id " + std::to_string(r) + " is outside the caches");
      for (int64_t h = 0; h < N; ++h) ku::rope_rotate(yf + b * sb + h * sh + s * ss, cf + r * half, sf + r * half, rot, inter);
    }
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  return Status::Ok();
}

}  // namespace

FLEETRT_REGISTER_KERNEL("com.microsoft", "Attention", k_Attention);
FLEETRT_REGISTER_KERNEL("com.microsoft", "MultiHeadAttention", k_MultiHeadAttention);
FLEETRT_REGISTER_KERNEL("com.microsoft", "GroupQueryAttention", k_GroupQueryAttention);
FLEETRT_REGISTER_KERNEL("com.microsoft", "RotaryEmbedding", k_RotaryEmbedding);

}  // namespace fleetrt
