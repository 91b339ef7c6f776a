// ai.onnx Attention (opset 23/24) and RotaryEmbedding (opset 23). Q/K/V are 4-D
// [batch, heads, seq, head] or 3-D [batch, seq, heads·head]; the KV cache (past_key/value) is
// concatenated in front of K/V and returned as present_key/value. Masks: a bool (true = attend)
// or additive float attn_mask broadcast to [batch, q_heads, q_seq, total_seq] (a shorter last dim
// is padded with masked positions), is_causal (bottom-right aligned), nonpad_kv_seqlen.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernel_util.h"

namespace fleetrt {
namespace {

struct HeadLayout {
  int64_t batch, heads, seq, dim;
  int64_t sb, sh, ss;  // strides of batch, head, seq
};

Status head_layout(const KernelContext& ctx, const Tensor& t, int64_t heads_attr, const char* what, HeadLayout* l) {
  if (t.rank() == 4) {
    *l = {t.shape[0], t.shape[1], t.shape[2], t.shape[3], 0, 0, 0};
    l->ss = l->dim;
    l->sh = l->seq * l->dim;
    l->sb = l->heads * l->sh;
    return Status::Ok();
  }
  if (t.rank() == 3) {
    if (heads_attr <= 0 || t.shape[2] % heads_attr != 0)
      return ku::op_error(ctx, std::string(what) + " is 3-D " + ku::shape_str(t.shape) +
                                   " but the num_heads attribute is missing or does not divide its hidden size");
    *l = {t.shape[0], heads_attr, t.shape[1], t.shape[2] / heads_attr, 0, 0, 0};
    l->sh = l->dim;
    l->ss = t.shape[2];
    l->sb = l->seq * l->ss;
    return Status::Ok();
  }
  return ku::op_error(ctx, std::string(what) + " must be 3-D or 4-D, got " + ku::shape_str(t.shape));
}

// [B, H, past + L, D] buffer: past rows then the new rows (any layout) of each head.
void concat_cache(const float* past, int64_t P, const float* cur, const HeadLayout& l, float* dst) {
  const int64_t T = P + l.seq;
  for (int64_t b = 0; b < l.batch; ++b)
    for (int64_t h = 0; h < l.heads; ++h) {
      float* d = dst + (b * l.heads + h) * T * l.dim;
      if (P) std::copy(past + (b * l.heads + h) * P * l.dim, past + (b * l.heads + h + 1) * P * l.dim, d);
      for (int64_t s = 0; s < l.seq; ++s) {
        const float* src = cur + b * l.sb + h * l.sh + s * l.ss;
        std::copy(src, src + l.dim, d + (P + s) * l.dim);
      }
    }
}

const Tensor* opt_in(const KernelContext& ctx, int i) { return i < ctx.num_inputs() ? ctx.input(i) : nullptr; }

Status k_Attention(KernelContext& ctx) {
  const Tensor *q, *k, *v;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &q));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &k));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 2, &v));
  if (!ku::is_float_like(q->dtype)) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(q->dtype));
  const Tensor *mask = opt_in(ctx, 3), *past_k = opt_in(ctx, 4), *past_v = opt_in(ctx, 5), *nonpad = opt_in(ctx, 6);
  const Attributes& at = ctx.attrs();
  HeadLayout lq, lk, lv;
  FLEETRT_RETURN_IF_ERROR(head_layout(ctx, *q, at.get_int("q_num_heads", 0), "Q", &lq));
  FLEETRT_RETURN_IF_ERROR(head_layout(ctx, *k, at.get_int("kv_num_heads", 0), "K", &lk));
  FLEETRT_RETURN_IF_ERROR(head_layout(ctx, *v, at.get_int("kv_num_heads", 0), "V", &lv));
  if (q->rank() != k->rank() || k->rank() != v->rank()) return ku::op_error(ctx, "Q, K and V must have the same rank");
  const int64_t B = lq.batch, Hq = lq.heads, Hkv = lk.heads, S = lq.seq, D = lq.dim, Dv = lv.dim;
  if (lk.dim != D || lv.heads != Hkv || lv.seq != lk.seq || lk.batch != B || lv.batch != B)
    return ku::op_error(ctx, "Q " + ku::shape_str(q->shape) + ", K " + ku::shape_str(k->shape) + ", V " +
                                 ku::shape_str(v->shape) + " do not agree");
  if (Hkv <= 0 || Hq % Hkv != 0) return ku::op_error(ctx, "q heads must be a multiple of kv heads");
  const int64_t P = past_k ? past_k->shape.size() == 4 ? past_k->shape[2] : -1 : 0;
  if (P < 0 || (past_k && (past_k->shape[0] != B || past_k->shape[1] != Hkv || past_k->shape[3] != D)) ||
      (past_v == nullptr) != (past_k == nullptr) ||
      (past_v && (past_v->rank() != 4 || past_v->shape[2] != P || past_v->shape[3] != Dv)))
    return ku::op_error(ctx, "past_key/past_value shapes do not match K/V");
  const int64_t T = P + lk.seq;
  std::vector<int64_t> yshape = q->rank() == 4 ? std::vector<int64_t>{B, Hq, S, Dv} : std::vector<int64_t>{B, S, Hq * Dv};
  Tensor *y, *pk = nullptr, *pv = nullptr, *qk = nullptr;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, yshape, q->dtype, &y));
  FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 1, {B, Hkv, T, D}, q->dtype, &pk));
  FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 2, {B, Hkv, T, Dv}, q->dtype, &pv));
  FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 3, {B, Hq, S, T}, q->dtype, &qk));

  ku::AttentionProblem p;
  p.batch = B, p.q_heads = Hq, p.kv_heads = Hkv, p.q_len = S, p.kv_len = T, p.head_dim = D, p.v_head_dim = Dv;
  p.q = ku::as_float_buffer(ctx, *q);
  p.q_sb = lq.sb, p.q_sh = lq.sh, p.q_ss = lq.ss;
  const float* kf = ku::as_float_buffer(ctx, *k);
  const float* vf = ku::as_float_buffer(ctx, *v);
  // K and V are read where they lie (3-D: heads side by side in each row) unless a cache is made
  if (past_k || pk) {
    float* kc = static_cast<float*>(ctx.scratch(static_cast<size_t>(B * Hkv * T * D + 1) * sizeof(float)));
    concat_cache(past_k ? ku::as_float_buffer(ctx, *past_k) : nullptr, P, kf, lk, kc);
    p.k = kc, p.k_sb = Hkv * T * D, p.k_sh = T * D, p.k_ss = D;
    if (pk) ku::store_float_buffer(kc, *pk);
  } else {
    p.k = kf, p.k_sb = lk.sb, p.k_sh = lk.sh, p.k_ss = lk.ss;
  }
  if (past_v || pv) {
    float* vc = static_cast<float*>(ctx.scratch(static_cast<size_t>(B * Hkv * T * Dv + 1) * sizeof(float)));
    concat_cache(past_v ? ku::as_float_buffer(ctx, *past_v) : nullptr, P, vf, lv, vc);
    p.v = vc, p.v_sb = Hkv * T * Dv, p.v_sh = T * Dv, p.v_ss = Dv;
    if (pv) ku::store_float_buffer(vc, *pv);
  } else {
    p.v = vf, p.v_sb = lv.sb, p.v_sh = lv.sh, p.v_ss = lv.ss;
  }
  double scale = at.get_float("scale", 0.0);
  p.scale = static_cast<float>(at.has("scale") ? scale : 1.0 / std::sqrt(static_cast<double>(D)));
  p.softcap = static_cast<float>(at.get_float("softcap", 0.0));
  p.causal = at.get_int("is_causal", 0) != 0;
  p.causal_offset0 = P;
  std::vector<int64_t> valid, offs;
  if (nonpad) {
    FLEETRT_RETURN_IF_ERROR(ku::read_int_tensor(ctx, *nonpad, &valid));
    if (static_cast<int64_t>(valid.size()) != B) return ku::op_error(ctx, "nonpad_kv_seqlen must have batch_size values");
    p.kv_valid = valid.data();
    if (!past_k) {
      for (int64_t b = 0; b < B; ++b) offs.push_back(valid[b] - S);
      p.causal_offset = offs.data();
    }
  }
  if (mask) {
    if (mask->rank() < 1) return ku::op_error(ctx, "attn_mask must have rank >= 1");
    // to float (bool: false → −inf), last dim padded to T with −inf
    const int64_t mlast = mask->shape.back(), rows = mask->numel() / std::max<int64_t>(mlast, 1);
    if (mlast > T) return ku::op_error(ctx, "attn_mask's last dim " + std::to_string(mlast) + " exceeds total sequence " + std::to_string(T));
    const float ninf = -std::numeric_limits<float>::infinity();
    float* mf = static_cast<float*>(ctx.scratch(static_cast<size_t>(rows * T + 1) * sizeof(float)));
    const float* src = mask->dtype == DType::kBool ? nullptr : ku::as_float_buffer(ctx, *mask);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < T; ++j) {
        float val = ninf;
        if (j < mlast) {
          int64_t i = r * mlast + j;
          val = src ? src[i] : (mask->as<bool>()[i] ? 0.f : ninf);
        }
        mf[r * T + j] = val;
      }
    // read in place with stride 0 along the broadcast dims ([B, 1, 1, T] for a padding mask)
    std::vector<int64_t> full = {B, Hq, S}, strides(3, 0);
    const int64_t lead = mask->rank() - 1;
    if (lead > 3) return ku::op_error(ctx, "attn_mask " + ku::shape_str(mask->shape) + " has more than 4 dims");
    for (int64_t d = lead - 1, stride = T; d >= 0; --d) {
      const int64_t n = mask->shape[d], at = 3 - lead + d;
      if (n != 1 && n != full[at])
        return ku::op_error(ctx, "attn_mask " + ku::shape_str(mask->shape) + " does not broadcast to " +
                                     ku::shape_str({B, Hq, S, T}));
      strides[at] = n == 1 ? 0 : stride;
      stride *= n;
    }
    p.bias = mf, p.bias_sb = strides[0], p.bias_sh = strides[1], p.bias_ss = strides[2];
  }
  float* qkf = nullptr;
  if (qk) {
    qkf = ku::float_out_buffer(ctx, *qk);
    p.qk_out = qkf;
    p.qk_mode = static_cast<int>(at.get_int("qk_matmul_output_mode", 0));
  }
  float* yf = ku::float_out_buffer(ctx, *y);
  p.y = yf;
  if (q->rank() == 4) p.y_sb = Hq * S * Dv, p.y_sh = S * Dv, p.y_ss = Dv;
  else p.y_sb = S * Hq * Dv, p.y_sh = Dv, p.y_ss = Hq * Dv;
  ku::attention(&ctx, p);
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  if (qk && qk->dtype != DType::kF32) ku::store_float_buffer(qkf, *qk);
  return Status::Ok();
}

Status k_RotaryEmbedding(KernelContext& ctx) {
  const Tensor *x, *cosc, *sinc;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &cosc));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 2, &sinc));
  const Tensor* pos = opt_in(ctx, 3);
  if (!ku::is_float_like(x->dtype)) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(x->dtype));
  HeadLayout l;
  if (x->rank() == 4) {  // [B, H, S, D]
    FLEETRT_RETURN_IF_ERROR(head_layout(ctx, *x, 0, "X", &l));
  } else {
    FLEETRT_RETURN_IF_ERROR(head_layout(ctx, *x, ctx.attrs().get_int("num_heads", 0), "X", &l));
  }
  int64_t rot = ctx.attrs().get_int("rotary_embedding_dim", 0);
  if (rot == 0) rot = l.dim;
  if (rot > l.dim || rot % 2) return ku::op_error(ctx, "rotary_embedding_dim must be even and <= head size");
  const int64_t half = rot / 2;
  if (cosc->shape.empty() || cosc->shape.back() != half || sinc->shape != cosc->shape)
    return ku::op_error(ctx, "cos/sin caches " + ku::shape_str(cosc->shape) + " must end in rotary_dim/2 = " + std::to_string(half));
  std::vector<int64_t> pids;
  if (pos) {
    FLEETRT_RETURN_IF_ERROR(ku::read_int_tensor(ctx, *pos, &pids));
    if (static_cast<int64_t>(pids.size()) != l.batch * l.seq) return ku::op_error(ctx, "position_ids must be [batch, seq]");
  } else if (cosc->numel() != l.batch * l.seq * half) {
    return ku::op_error(ctx, "without position_ids the caches must be [batch, seq, rotary_dim/2]");
  }
  const int64_t rows = cosc->numel() / half;
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, x->dtype, &y));
  const float* xf = ku::as_float_buffer(ctx, *x);
  const float* cf = ku::as_float_buffer(ctx, *cosc);
  const float* sf = ku::as_float_buffer(ctx, *sinc);
  float* yf = ku::float_out_buffer(ctx, *y);
  if (yf != xf) std::copy(xf, xf + x->numel(), yf);
  const bool inter = ctx.attrs().get_int("interleaved", 0) != 0;
  for (int64_t b = 0; b < l.batch; ++b)
    for (int64_t s = 0; s < l.seq; ++s) {
      int64_t r = pos ? pids[b * l.seq + s] : b * l.seq + s;
      if (r < 0 || r >= rows) return ku::op_error(ctx, "position id " + std::to_string(r) + " is outside the caches");
      for (int64_t h = 0; h < l.heads; ++h)
        ku::rope_rotate(yf + b * l.sb + h * l.sh + s * l.ss, cf + r * half, sf + r * half, rot, inter);
    }
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  return Status::Ok();
}

// Runs a FlexAttention modifier subgraph (score_mod / prob_mod) on a [B, H, L, S] float buffer in
// place; the subgraph sees and returns a tensor of the query dtype.
Status run_modifier(KernelContext& ctx, const char* name, DType dt, const std::vector<int64_t>& shape, float* buf) {
  const Attribute* a = ctx.attrs().find(name);
  if (!a) return Status::Ok();
  if (a->kind != Attribute::Kind::kGraph) return ku::op_error(ctx, std::string(name) + " must be a graph");
  Value in;
  FLEETRT_RETURN_IF_ERROR(ctx.allocate(dt, shape, &in.tensor));
  ku::store_float_buffer(buf, in.tensor.view);
  std::vector<Value> outs;
  FLEETRT_RETURN_IF_ERROR(ctx.run_subgraph(a->graph, {&in}, &outs));
  if (outs.size() != 1 || outs[0].kind != Value::Kind::kTensor || outs[0].tensor.view.shape != shape)
    return ku::op_error(ctx, std::string(name) + " must return one tensor of shape " + ku::shape_str(shape));
  const Tensor& r = outs[0].tensor.view;
  for (int64_t i = 0; i < r.numel(); ++i) buf[i] = static_cast<float>(ku::load_as_double(r, i));
  return Status::Ok();
}

// ai.onnx.preview FlexAttention: 4-D Q/K/V, GQA, scale, and the optional score_mod / prob_mod
// subgraphs applied to the whole [B, H, L, S] score / probability tensor.
Status k_FlexAttention(KernelContext& ctx) {
  const Tensor *q, *k, *v;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &q));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &k));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 2, &v));
  if (!ku::is_float_like(q->dtype)) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(q->dtype));
  if (ctx.attrs().has("mask_mod")) return ku::op_error(ctx, "the mask_mod subgraph is not supported");
  HeadLayout lq, lk, lv;
  FLEETRT_RETURN_IF_ERROR(head_layout(ctx, *q, 0, "Q", &lq));
  FLEETRT_RETURN_IF_ERROR(head_layout(ctx, *k, 0, "K", &lk));
  FLEETRT_RETURN_IF_ERROR(head_layout(ctx, *v, 0, "V", &lv));
  if (q->rank() != 4 || k->rank() != 4 || v->rank() != 4 || lk.dim != lq.dim || lk.heads != lv.heads || lk.seq != lv.seq ||
      lk.heads <= 0 || lq.heads % lk.heads)
    return ku::op_error(ctx, "Q/K/V must be 4-D [B, H, S, D] with q heads a multiple of kv heads");
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, {lq.batch, lq.heads, lq.seq, lv.dim}, q->dtype, &y));
  const float* qf = ku::as_float_buffer(ctx, *q);
  const float* kf = ku::as_float_buffer(ctx, *k);
  const float* vf = ku::as_float_buffer(ctx, *v);
  const float scale = static_cast<float>(ctx.attrs().has("scale") ? ctx.attrs().get_float("scale", 1.0)
                                                                  : 1.0 / std::sqrt(static_cast<double>(lq.dim)));
  float* yf = ku::float_out_buffer(ctx, *y);
  const int64_t B = lq.batch, H = lq.heads, L = lq.seq, S = lk.seq, group = lq.heads / lk.heads;
  if (!ctx.attrs().has("score_mod") && !ctx.attrs().has("prob_mod")) {
    ku::AttentionProblem p;
    p.batch = B, p.q_heads = H, p.kv_heads = lk.heads, p.q_len = L, p.kv_len = S, p.head_dim = lq.dim, p.v_head_dim = lv.dim;
    p.q = qf, p.q_sb = lq.sb, p.q_sh = lq.sh, p.q_ss = lq.ss;
    p.k = kf, p.k_sb = lk.sb, p.k_sh = lk.sh, p.k_ss = lk.ss;
    p.v = vf, p.v_sb = lv.sb, p.v_sh = lv.sh, p.v_ss = lv.ss;
    p.scale = scale;
    p.y = yf, p.y_sb = H * L * lv.dim, p.y_sh = L * lv.dim, p.y_ss = lv.dim;
    ku::attention(&ctx, p);
  } else {
    const std::vector<int64_t> sshape = {B, H, L, S};
    std::vector<float> sc(static_cast<size_t>(B * H * L * S));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        ku::sgemm(false, true, L, S, lq.dim, scale, qf + b * lq.sb + h * lq.sh, lq.ss, kf + b * lk.sb + (h / group) * lk.sh,
                  lk.ss, 0.f, &sc[(b * H + h) * L * S], S, &ctx);
    FLEETRT_RETURN_IF_ERROR(run_modifier(ctx, "score_mod", q->dtype, sshape, sc.data()));
    for (int64_t r = 0; r < B * H * L; ++r) {
      float* row = &sc[r * S];
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < S; ++j) m = std::max(m, row[j]);
      if (m == -std::numeric_limits<float>::infinity()) {
        std::fill(row, row + S, 0.f);
        continue;
      }
      double sum = 0;
      for (int64_t j = 0; j < S; ++j) sum += row[j] = std::exp(row[j] - m);
      for (int64_t j = 0; j < S; ++j) row[j] = static_cast<float>(row[j] / sum);
    }
    FLEETRT_RETURN_IF_ERROR(run_modifier(ctx, "prob_mod", q->dtype, sshape, sc.data()));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        ku::sgemm(false, false, L, lv.dim, S, 1.f, &sc[(b * H + h) * L * S], S, vf + b * lv.sb + (h / group) * lv.sh, lv.ss,
                  0.f, yf + (b * H + h) * L * lv.dim, lv.dim, &ctx);
  }
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  return Status::Ok();
}

}  // namespace

FLEETRT_REGISTER_KERNEL("ai.onnx.preview", "FlexAttention", k_FlexAttention);
FLEETRT_REGISTER_KERNEL("", "Attention", k_Attention);
FLEETRT_REGISTER_KERNEL("", "RotaryEmbedding", k_RotaryEmbedding);

}  // namespace fleetrt
