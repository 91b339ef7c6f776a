// Recurrent layers RNN, GRU and LSTM (forward / reverse / bidirectional, layout 0 or 1,
// sequence_lens, initial states, LSTM peepholes and input_forget, clip, custom activations).
// The input projection X·Wᵀ of all time steps is one SGEMM; each step adds H·Rᵀ (one SGEMM over
// the batch) and applies the gate math.
#include <algorithm>
#include <cmath>
#include <string>

#include "kernel_util.h"

namespace fleetrt {
namespace {

enum class Cell { kRnn, kGru, kLstm };

enum class ActKind { kSigmoid, kTanh, kRelu, kAffine, kLeakyRelu, kThresholdedRelu, kScaledTanh, kHardSigmoid, kElu,
                     kSoftsign, kSoftplus, kUnknown };

ActKind act_kind(const std::string& n) {
  static const std::pair<const char*, ActKind> table[] = {
      {"Sigmoid", ActKind::kSigmoid}, {"Tanh", ActKind::kTanh}, {"Relu", ActKind::kRelu}, {"Affine", ActKind::kAffine},
      {"LeakyRelu", ActKind::kLeakyRelu}, {"ThresholdedRelu", ActKind::kThresholdedRelu},
      {"ScaledTanh", ActKind::kScaledTanh}, {"HardSigmoid", ActKind::kHardSigmoid}, {"Elu", ActKind::kElu},
      {"Softsign", ActKind::kSoftsign}, {"Softplus", ActKind::kSoftplus}};
  for (const auto& kv : table)
    if (n == kv.first) return kv.second;
  return ActKind::kUnknown;
}

struct Act {
  std::string name;
  ActKind kind = ActKind::kUnknown;
  float alpha = 0, beta = 0;
  float operator()(float x) const {
    switch (kind) {
      case ActKind::kSigmoid: return 1.f / (1.f + std::exp(-x));
      case ActKind::kTanh: return std::tanh(x);
      case ActKind::kRelu: return x > 0 ? x : 0.f;
      case ActKind::kAffine: return alpha * x + beta;
      case ActKind::kLeakyRelu: return x >= 0 ? x : alpha * x;
      case ActKind::kThresholdedRelu: return x > alpha ? x : 0.f;
      case ActKind::kScaledTanh: return alpha * std::tanh(beta * x);
      case ActKind::kHardSigmoid: return std::max(0.f, std::min(1.f, alpha * x + beta));
      case ActKind::kElu: return x >= 0 ? x : alpha * (std::exp(x) - 1.f);
      case ActKind::kSoftsign: return x / (1.f + std::fabs(x));
      case ActKind::kSoftplus: return std::log1p(std::exp(x));
      default: return x;
    }
  }
};

// Default alpha/beta for activations that take them when the lists run short.
void act_defaults(Act* a) {
  if (a->name == "LeakyRelu") a->alpha = 0.01f;
  else if (a->name == "ThresholdedRelu" || a->name == "Elu") a->alpha = 1.f;
  else if (a->name == "HardSigmoid") a->alpha = 0.2f, a->beta = 0.5f;
  else if (a->name == "ScaledTanh" || a->name == "Affine") a->alpha = 1.f, a->beta = a->name == "Affine" ? 0.f : 1.f;
}
bool takes_alpha(const std::string& n) {
  return n == "Affine" || n == "LeakyRelu" || n == "ThresholdedRelu" || n == "ScaledTanh" || n == "HardSigmoid" || n == "Elu";
}
bool takes_beta(const std::string& n) { return n == "Affine" || n == "ScaledTanh" || n == "HardSigmoid"; }

const Tensor* opt_in(const KernelContext& ctx, int i) {
  const Tensor* t = i < ctx.num_inputs() ? ctx.input(i) : nullptr;
  return t && t->numel() > 0 ? t : nullptr;
}

Status rnn_kernel(KernelContext& ctx, Cell cell) {
  const Tensor *x, *w, *r;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &w));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 2, &r));
  if (!ku::is_float_like(x->dtype)) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(x->dtype));
  const Tensor *bias = opt_in(ctx, 3), *seq_lens = opt_in(ctx, 4), *init_h = opt_in(ctx, 5);
  const Tensor* init_c = cell == Cell::kLstm ? opt_in(ctx, 6) : nullptr;
  const Tensor* peep = cell == Cell::kLstm ? opt_in(ctx, 7) : nullptr;
  const Attributes& at = ctx.attrs();
  const int G = cell == Cell::kRnn ? 1 : cell == Cell::kGru ? 3 : 4;
  const int64_t layout = at.get_int("layout", 0);
  const std::string dir = at.get_string("direction", "forward");
  const int64_t dirs = dir == "bidirectional" ? 2 : 1;
  if (dir != "forward" && dir != "reverse" && dir != "bidirectional")
    return ku::op_error(ctx, "unknown direction '" + dir + "'");
  if (x->rank() != 3 || w->rank() != 3 || r->rank() != 3) return ku::op_error(ctx, "X, W and R must be 3-D");
  const int64_t S = layout ? x->shape[1] : x->shape[0], B = layout ? x->shape[0] : x->shape[1], I = x->shape[2];
  const int64_t H = at.get_int("hidden_size", r->shape[2]);
  if (w->shape[0] != dirs || w->shape[1] != G * H || w->shape[2] != I || r->shape[0] != dirs || r->shape[1] != G * H ||
      r->shape[2] != H)
    return ku::op_error(ctx, "W " + ku::shape_str(w->shape) + " / R " + ku::shape_str(r->shape) +
                                 " do not match hidden_size " + std::to_string(H) + " and direction");
  if (bias && bias->numel() != dirs * 2 * G * H) return ku::op_error(ctx, "B has the wrong size");
  if (peep && peep->numel() != dirs * 3 * H) return ku::op_error(ctx, "P has the wrong size");
  // activations
  std::vector<std::string> names = at.get_strings("activations");
  std::vector<double> alphas = at.get_floats("activation_alpha"), betas = at.get_floats("activation_beta");
  const int per_dir = cell == Cell::kRnn ? 1 : cell == Cell::kGru ? 2 : 3;
  if (names.empty()) {
    for (int64_t d = 0; d < dirs; ++d) {
      if (cell == Cell::kRnn) names.push_back("Tanh");
      else if (cell == Cell::kGru) names.insert(names.end(), {"Sigmoid", "Tanh"});
      else names.insert(names.end(), {"Sigmoid", "Tanh", "Tanh"});
    }
  }
  if (static_cast<int64_t>(names.size()) == per_dir && dirs == 2) names.insert(names.end(), names.begin(), names.end());
  if (static_cast<int64_t>(names.size()) != per_dir * dirs) return ku::op_error(ctx, "wrong number of activations");
  std::vector<Act> acts;
  size_t ai = 0, bi = 0;
  for (auto& n : names) {
    Act a;
    a.name = n;
    a.kind = act_kind(n);
    if (a.kind == ActKind::kUnknown) return ku::op_error(ctx, "unsupported activation '" + n + "'");
    act_defaults(&a);
    if (takes_alpha(n) && ai < alphas.size()) a.alpha = static_cast<float>(alphas[ai++]);
    if (takes_beta(n) && bi < betas.size()) a.beta = static_cast<float>(betas[bi++]);
    acts.push_back(a);
  }
  const float clip = static_cast<float>(at.get_float("clip", 0.0));
  const bool has_clip = at.has("clip");
  const bool input_forget = at.get_int("input_forget", 0) != 0;
  const bool lbr = at.get_int("linear_before_reset", 0) != 0;

  std::vector<int64_t> lens(static_cast<size_t>(B), S);
  if (seq_lens) {
    FLEETRT_RETURN_IF_ERROR(ku::read_int_tensor(ctx, *seq_lens, &lens));
    if (static_cast<int64_t>(lens.size()) != B) return ku::op_error(ctx, "sequence_lens must have batch_size values");
    for (int64_t l : lens)
      if (l < 0 || l > S) return ku::op_error(ctx, "sequence length " + std::to_string(l) + " is out of range");
  }
  // outputs
  std::vector<int64_t> yshape = layout ? std::vector<int64_t>{B, S, dirs, H} : std::vector<int64_t>{S, dirs, B, H};
  std::vector<int64_t> hshape = layout ? std::vector<int64_t>{B, dirs, H} : std::vector<int64_t>{dirs, B, H};
  Tensor *y = nullptr, *yh = nullptr, *yc = nullptr;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 0, yshape, x->dtype, &y));
  FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 1, hshape, x->dtype, &yh));
  if (cell == Cell::kLstm) FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 2, hshape, x->dtype, &yc));

  // X in [S, B, I]
  const float* xf0 = ku::as_float_buffer(ctx, *x);
  std::vector<float> xt;
  const float* xf = xf0;
  if (layout) {
    xt.resize(static_cast<size_t>(S * B * I));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t s = 0; s < S; ++s) std::copy(xf0 + (b * S + s) * I, xf0 + (b * S + s + 1) * I, &xt[(s * B + b) * I]);
    xf = xt.data();
  }
  const float* wf = ku::as_float_buffer(ctx, *w);
  const float* rf = ku::as_float_buffer(ctx, *r);
  const float* bf = bias ? ku::as_float_buffer(ctx, *bias) : nullptr;
  const float* pf = peep ? ku::as_float_buffer(ctx, *peep) : nullptr;
  const float* h0 = init_h ? ku::as_float_buffer(ctx, *init_h) : nullptr;
  const float* c0 = init_c ? ku::as_float_buffer(ctx, *init_c) : nullptr;

  std::vector<float> ybuf(static_cast<size_t>(S * dirs * B * H), 0.f);  // [S, dirs, B, H]
  std::vector<float> hout(static_cast<size_t>(dirs * B * H)), cout(static_cast<size_t>(dirs * B * H));
  const int64_t GH = G * H;
  std::vector<float> xw(static_cast<size_t>(S * B * GH)), hr(static_cast<size_t>(B * GH));
  std::vector<float> h(static_cast<size_t>(B * H)), c(static_cast<size_t>(B * H)), hrz(static_cast<size_t>(B * H));
  auto clipf = [&](float v) { return has_clip ? std::max(-clip, std::min(clip, v)) : v; };
  for (int64_t d = 0; d < dirs; ++d) {
    const bool reverse = dir == "reverse" || d == 1;
    const float* W = wf + d * GH * I;
    const float* R = rf + d * GH * H;
    const float* Wb = bf ? bf + d * 2 * GH : nullptr;
    const float* Rb = bf ? Wb + GH : nullptr;
    const Act* A = &acts[d * per_dir];
    // X·Wᵀ (+ Wb) for every step
    if (S * B > 0) ku::sgemm(false, true, S * B, GH, I, 1.f, xf, I, W, I, 0.f, xw.data(), GH, &ctx);
    if (Wb)
      for (int64_t i = 0; i < S * B; ++i)
        for (int64_t g = 0; g < GH; ++g) xw[i * GH + g] += Wb[g];
    for (int64_t i = 0; i < B * H; ++i) {
      h[i] = h0 ? h0[d * B * H + i] : 0.f;
      c[i] = c0 ? c0[d * B * H + i] : 0.f;
    }
    for (int64_t step = 0; step < S; ++step) {
      ku::sgemm(false, true, B, GH, H, 1.f, h.data(), H, R, H, 0.f, hr.data(), GH, nullptr);
      for (int64_t b = 0; b < B; ++b) {
        if (step >= lens[b]) continue;
        const int64_t t = reverse ? lens[b] - 1 - step : step;
        const float* xg = &xw[(t * B + b) * GH];
        const float* hg = &hr[b * GH];
        float* hb = &h[b * H];
        float* cb = &c[b * H];
        float* yo = &ybuf[((t * dirs + d) * B + b) * H];
        for (int64_t j = 0; j < H; ++j) {
          if (cell == Cell::kRnn) {
            float v = xg[j] + hg[j] + (Rb ? Rb[j] : 0.f);
            hb[j] = A[0](clipf(v));
          } else if (cell == Cell::kLstm) {
            // gate order i, o, f, c; peepholes i, o, f
            float gi = xg[j] + hg[j] + (Rb ? Rb[j] : 0.f);
            float go = xg[H + j] + hg[H + j] + (Rb ? Rb[H + j] : 0.f);
            float gf = xg[2 * H + j] + hg[2 * H + j] + (Rb ? Rb[2 * H + j] : 0.f);
            float gc = xg[3 * H + j] + hg[3 * H + j] + (Rb ? Rb[3 * H + j] : 0.f);
            const float* P = pf ? pf + d * 3 * H : nullptr;
            float cprev = cb[j];
            float it = A[0](clipf(gi + (P ? P[j] * cprev : 0.f)));
            float ft = A[0](clipf(gf + (P ? P[2 * H + j] * cprev : 0.f)));
            if (input_forget) ft = 1.f - it;
            float ct = A[1](clipf(gc));
            float cn = ft * cprev + it * ct;
            float ot = A[0](clipf(go + (P ? P[H + j] * cn : 0.f)));
            cb[j] = cn;
            yo[j] = ot * A[2](cn);
          }
        }
        if (cell == Cell::kLstm) {
          std::copy(yo, yo + H, hb);
          continue;
        }
        if (cell == Cell::kGru) {
          // gate order z, r, h
          for (int64_t j = 0; j < H; ++j) {
            float z = A[0](clipf(xg[j] + hg[j] + (Rb ? Rb[j] : 0.f)));
            float rr = A[0](clipf(xg[H + j] + hg[H + j] + (Rb ? Rb[H + j] : 0.f)));
            hrz[b * H + j] = z;
            yo[j] = rr;  // stash r
          }
        }
        if (cell == Cell::kRnn) std::copy(hb, hb + H, yo);
      }
      if (cell == Cell::kGru) {
        // candidate needs (r ⊙ h)·Rhᵀ when !linear_before_reset
        std::vector<float> rh, rh_r;
        if (!lbr) {
          rh.assign(static_cast<size_t>(B * H), 0.f);
          for (int64_t b = 0; b < B; ++b) {
            if (step >= lens[b]) continue;
            const int64_t t = reverse ? lens[b] - 1 - step : step;
            const float* rr = &ybuf[((t * dirs + d) * B + b) * H];
            for (int64_t j = 0; j < H; ++j) rh[b * H + j] = rr[j] * h[b * H + j];
          }
          rh_r.assign(rh.size(), 0.f);
          ku::sgemm(false, true, B, H, H, 1.f, rh.data(), H, R + 2 * H * H, H, 0.f, rh_r.data(), H, nullptr);
        }
        for (int64_t b = 0; b < B; ++b) {
          if (step >= lens[b]) continue;
          const int64_t t = reverse ? lens[b] - 1 - step : step;
          const float* xg = &xw[(t * B + b) * GH];
          const float* hg = &hr[b * GH];
          float* yo = &ybuf[((t * dirs + d) * B + b) * H];
          float* hb = &h[b * H];
          for (int64_t j = 0; j < H; ++j) {
            float rr = yo[j], z = hrz[b * H + j];
            float rbh = Rb ? Rb[2 * H + j] : 0.f;
            float cand = lbr ? xg[2 * H + j] + rr * (hg[2 * H + j] + rbh) : xg[2 * H + j] + rh_r[b * H + j] + rbh;
            float hh = A[1](clipf(cand));
            float hn = (1.f - z) * hh + z * hb[j];
            yo[j] = hn;
          }
          std::copy(yo, yo + H, hb);
        }
      }
    }
    std::copy(h.begin(), h.end(), hout.begin() + d * B * H);
    std::copy(c.begin(), c.end(), cout.begin() + d * B * H);
  }
  auto store = [&](Tensor* t, const std::vector<float>& src, bool is_y) {
    if (!t) return;
    std::vector<float> tmp;
    const std::vector<float>* s = &src;
    if (layout) {
      tmp.resize(src.size());
      if (is_y) {  // [S, dirs, B, H] → [B, S, dirs, H]
        for (int64_t s2 = 0; s2 < S; ++s2)
          for (int64_t d = 0; d < dirs; ++d)
            for (int64_t b = 0; b < B; ++b)
              std::copy(&src[((s2 * dirs + d) * B + b) * H], &src[((s2 * dirs + d) * B + b) * H] + H,
                        &tmp[((b * S + s2) * dirs + d) * H]);
      } else {  // [dirs, B, H] → [B, dirs, H]
        for (int64_t d = 0; d < dirs; ++d)
          for (int64_t b = 0; b < B; ++b)
            std::copy(&src[(d * B + b) * H], &src[(d * B + b) * H] + H, &tmp[(b * dirs + d) * H]);
      }
      s = &tmp;
    }
    ku::store_float_buffer(s->data(), *t);
  };
  store(y, ybuf, true);
  store(yh, hout, false);
  store(yc, cout, false);
  return Status::Ok();
}

Status k_RNN(KernelContext& ctx) { return rnn_kernel(ctx, Cell::kRnn); }
Status k_GRU(KernelContext& ctx) { return rnn_kernel(ctx, Cell::kGru); }
Status k_LSTM(KernelContext& ctx) { return rnn_kernel(ctx, Cell::kLstm); }

}  // namespace

FLEETRT_REGISTER_KERNEL("", "RNN", k_RNN);
FLEETRT_REGISTER_KERNEL("", "GRU", k_GRU);
FLEETRT_REGISTER_KERNEL("", "LSTM", k_LSTM);

}  // namespace fleetrt
