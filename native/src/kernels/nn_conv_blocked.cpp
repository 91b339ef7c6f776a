// The NCHW8c layout (nn_conv_blocked.h): fleetc.Reorder, and the blocked convs that
// conv_forward (nn_conv.cpp) hands here for FusedConv with layout NCHW8c.
#include "nn_conv_blocked.h"

#include <algorithm>
#include <memory>

#include "fused_epilogue.h"
#include "kernel_util.h"

namespace fleetrt {
namespace blocked {

void pack_pointwise(const float* w, int64_t M, int64_t C, float* dst) {
  constexpr int64_t G = kGroupChannels;
  for (int64_t m0 = 0; m0 < M; m0 += G) {
    const int64_t gc = std::min(G, M - m0);
    float* d = dst + m0 * C;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t j = 0; j < gc; ++j) d[c * gc + j] = w[(m0 + j) * C + c];
  }
}

namespace {

// Positions per band: a band's inputs (all C channels) about 96 KiB, so that they stay in L2
// while every group of output channels reads them (96 to 384 KiB ran alike); whole blocks of 6
// positions.
constexpr int64_t kBandInputBytes = 96 * 1024;

struct PointwiseSplit {
  int64_t bands, band, shares, groups;
};
PointwiseSplit pointwise_split(const Pointwise& p, int threads) {
  PointwiseSplit s;
  s.groups = (p.M + kGroupChannels - 1) / kGroupChannels;
  const int64_t per_band = std::max<int64_t>(6, kBandInputBytes / (p.C * int64_t{sizeof(float)}));
  s.bands = (p.P + per_band - 1) / per_band;
  // as many bands per image for every thread (19 bands on 2 threads left one 10, the other 9)
  if (threads > 1 && s.bands > 1) s.bands = (s.bands + threads - 1) / threads * threads;
  s.band = ((p.P + s.bands - 1) / s.bands + 5) / 6 * 6;
  s.bands = (p.P + s.band - 1) / s.band;
  // few bands (7×7, 14×14 planes): the groups shared out too, two items per thread at least
  s.shares = 1;
  if (threads > 1 && p.N * s.bands < 2 * threads)
    s.shares = std::min(s.groups, (2 * threads + p.N * s.bands - 1) / (p.N * s.bands));
  return s;
}

}  // namespace

int64_t pointwise_items(const Pointwise& p, int threads) {
  const PointwiseSplit s = pointwise_split(p, threads);
  return p.N * s.bands * s.shares;
}

void pointwise_item(const Pointwise& p, int threads, int64_t i, int64_t* n, int64_t* p0, int64_t* p1, int64_t* g0,
                    int64_t* g1) {
  const PointwiseSplit s = pointwise_split(p, threads);
  *n = i / (s.bands * s.shares);
  const int64_t band = i / s.shares % s.bands, share = i % s.shares;
  *p0 = band * s.band, *p1 = std::min(p.P, *p0 + s.band);
  *g0 = s.groups * share / s.shares, *g1 = s.groups * (share + 1) / s.shares;
}

int64_t stem_items(const Stem& s, int threads) {
  const int64_t groups = (s.M + kGroupChannels - 1) / kGroupChannels;
  const int64_t bands = std::min(s.OH, std::max<int64_t>(1, (4 * threads + s.N * groups - 1) / (s.N * groups)));
  return s.N * groups * bands;
}

void stem_item(const Stem& s, int threads, int64_t i, int64_t* n, int64_t* g, int64_t* r0, int64_t* r1) {
  const int64_t groups = (s.M + kGroupChannels - 1) / kGroupChannels;
  const int64_t bands = stem_items(s, threads) / (s.N * groups), band = i % bands;
  *n = i / (bands * groups), *g = i / bands % groups;
  *r0 = s.OH * band / bands, *r1 = s.OH * (band + 1) / bands;
}

void pack_depthwise(const float* w, int64_t C, float* dst) {
  for (int64_t c = 0; c < C; ++c)
    for (int64_t t = 0; t < 9; ++t) dst[((c / kBlock) * 9 + t) * kBlock + c % kBlock] = w[c * 9 + t];
}

int64_t depthwise_items(const Depthwise& d, int threads) {
  const int64_t planes = d.N * (d.C / kBlock);
  const int64_t bands = std::min(d.OH, std::max<int64_t>(1, (4 * threads + planes - 1) / planes));
  return planes * bands;
}

void depthwise_item(const Depthwise& d, int threads, int64_t i, int64_t* plane, int64_t* r0, int64_t* r1) {
  const int64_t planes = d.N * (d.C / kBlock), bands = depthwise_items(d, threads) / planes, band = i % bands;
  *plane = i / bands;
  *r0 = d.OH * band / bands, *r1 = d.OH * (band + 1) / bands;
}

void to_blocked(const float* src, float* dst, int64_t P, int64_t b0, int64_t b1) {
  for (int64_t blk = b0; blk < b1; ++blk)
    for (int64_t c = 0; c < kBlock; ++c)
      for (int64_t p = 0; p < P; ++p) dst[(blk * P + p) * kBlock + c] = src[(blk * kBlock + c) * P + p];
}

void to_plain(const float* src, float* dst, int64_t P, int64_t b0, int64_t b1) {
  for (int64_t blk = b0; blk < b1; ++blk)
    for (int64_t c = 0; c < kBlock; ++c)
      for (int64_t p = 0; p < P; ++p) dst[(blk * kBlock + c) * P + p] = src[(blk * P + p) * kBlock + c];
}

void reorder(KernelContext& ctx, const float* src, float* dst, int64_t blocks, int64_t P, bool to_blocked_layout) {
  const bool avx2 = ku::use_avx2();
  ku::parallel_elems(ctx, blocks, kBlock * P, [&](int64_t b0, int64_t b1) {
    if (to_blocked_layout) (avx2 ? to_blocked_avx2 : to_blocked)(src, dst, P, b0, b1);
    else (avx2 ? to_plain_avx2 : to_plain)(src, dst, P, b0, b1);
  });
}

namespace {

// W (input 1) packed for the pointwise or depthwise loops, made once per op while W is constant.
struct PackedFilters {
  const void* data;
  int64_t M, C;
  bool depthwise;
  ku::FloatBuf packed;
};

const float* packed_filters(KernelContext& ctx, const float* wf, int64_t M, int64_t C, bool depthwise,
                            std::shared_ptr<const PackedFilters>* keep, ku::FloatBuf* own) {
  const Tensor* wt = ctx.input(1);
  auto pack = [&](float* dst) {
    if (depthwise) pack_depthwise(wf, C, dst);
    else pack_pointwise(wf, M, C, dst);
  };
  const int64_t n = depthwise ? 9 * C : M * C;
  if (wt && wt->dtype == DType::kF32 && ctx.input_is_constant(1)) {
    auto fits = [&](const PackedFilters& f) {
      return f.data == wt->data && f.M == M && f.C == C && f.depthwise == depthwise;
    };
    *keep = ku::prepared<PackedFilters>(ctx, fits, [&] {
      auto f = std::make_shared<PackedFilters>(PackedFilters{wt->data, M, C, depthwise, ku::aligned_floats(n)});
      if (!f->packed) return std::shared_ptr<const PackedFilters>();
      pack(f->packed.get());
      return std::shared_ptr<const PackedFilters>(std::move(f));
    });
    if (*keep) return (*keep)->packed.get();
  }
  *own = ku::aligned_floats(n);
  if (!*own) return nullptr;
  pack(own->get());
  return own->get();
}

// The loops' epilogue from the conv's: bias, residual and an affine clamp in the stores; false
// (bias and residual only: *after_act set) for activations the loops do not apply.
Epilogue loop_epilogue(const ConvEpilogue* ep, const float* bias, bool* after_act) {
  Epilogue e;
  e.bias = bias;
  *after_act = false;
  if (!ep) return e;
  e.z = ep->residual;
  bool times_x;
  if (ep->affine_clamp(&e.a, &e.b, &e.lo, &e.hi, &times_x)) e.clamp = true, e.times_x = times_x;
  else *after_act = ep->act != ConvEpilogue::Act::kNone;
  return e;
}

// The activation alone over n outputs (bias and residual already added).
void activation_only(const ConvEpilogue& ep, float* y, int64_t n) {
  ConvEpilogue act = ep;
  act.residual = nullptr;
  act.apply(y, n, 0.f, nullptr);
}

}  // namespace

namespace {

// fn(i) for the call's work items, on the pool where there are several.
template <class Fn>
void for_items(KernelContext& ctx, int64_t items, Fn&& fn) {
  auto body = [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) fn(i);
  };
  if (items > 1 && ctx.num_threads() > 1) ctx.parallel_for(items, 1, body);
  else body(0, items);
}

bool is_pointwise(int64_t group, const ku::WindowGeom& g) {
  return group == 1 && g.kernel[0] == 1 && g.kernel[1] == 1 && g.stride[0] == 1 && g.stride[1] == 1 &&
         g.pad_begin[0] == 0 && g.pad_begin[1] == 0 && g.pad_end[0] == 0 && g.pad_end[1] == 0;
}

bool is_depthwise3x3(int64_t group, int64_t C, int64_t M, const ku::WindowGeom& g) {
  const int64_t s = g.stride[0];
  return group == C && M == C && g.kernel[0] == 3 && g.kernel[1] == 3 && (s == 1 || s == 2) && g.stride[1] == s &&
         g.pad_begin[0] == 1 && g.pad_begin[1] == 1 && g.pad_end[0] == 1 && g.pad_end[1] == 1;
}

}  // namespace

bool run(KernelContext& ctx, const float* x, bool x_plain, const float* w, const float* bias, float* y, int64_t N,
         int64_t C, int64_t M, int64_t group, const ku::WindowGeom& g, const ConvEpilogue* ep) {
  if (!ku::use_avx2() || g.in.size() != 2 || g.dil[0] != 1 || g.dil[1] != 1) return false;
  const bool stem = x_plain && group == 1 && C <= kStemChannels;
  const bool pointwise = !x_plain && is_pointwise(group, g);
  const bool depthwise = !x_plain && is_depthwise3x3(group, C, M, g);
  if (!stem && !pointwise && !depthwise) return false;
  const int threads = std::max(1, ctx.num_threads());
  std::shared_ptr<const PackedFilters> keep;
  ku::FloatBuf own;
  const int64_t K = stem ? C * g.kernel[0] * g.kernel[1] : C;  // filter values per output channel
  const float* wp = packed_filters(ctx, w, M, K, depthwise, &keep, &own);
  if (!wp) return false;
  bool after_act;
  const Epilogue e = loop_epilogue(ep, bias, &after_act);
  // the activation the loops do not apply, over outputs [at, at + n) of y
  auto activate = [&](int64_t at, int64_t n) {
    if (after_act) activation_only(*ep, y + at, n);
  };
  const int64_t P = g.out[0] * g.out[1];
  if (stem) {
    const Stem q{x, wp, y, N, C, g.in[0], g.in[1], M, g.out[0], g.out[1], g.kernel[0], g.kernel[1],
                 g.stride[0], g.stride[1], g.pad_begin[0], g.pad_begin[1], e};
    for_items(ctx, stem_items(q, threads), [&](int64_t i) {
      int64_t n, gi, r0, r1;
      stem_item(q, threads, i, &n, &gi, &r0, &r1);
      stem_item_avx2(q, n, gi, r0, r1);
      for (int64_t b = gi * kGroupChannels / kBlock; b < std::min(M, (gi + 1) * kGroupChannels) / kBlock; ++b)
        activate(((n * (M / kBlock) + b) * P + r0 * q.OW) * kBlock, (r1 - r0) * q.OW * kBlock);
    });
  } else if (pointwise) {
    const Pointwise q{x, wp, y, N, C, M, P, e};
    for_items(ctx, pointwise_items(q, threads), [&](int64_t i) {
      int64_t n, p0, p1, g0, g1;
      pointwise_item(q, threads, i, &n, &p0, &p1, &g0, &g1);
      pointwise_item_avx2(q, n, p0, p1, g0, g1);
      for (int64_t b = g0 * kGroupChannels / kBlock; b < std::min(M, g1 * kGroupChannels) / kBlock; ++b)
        activate(((n * (M / kBlock) + b) * P + p0) * kBlock, (p1 - p0) * kBlock);
    });
  } else {
    const Depthwise d{x, wp, y, N, C, g.in[0], g.in[1], g.out[0], g.out[1], g.stride[0], e};
    for_items(ctx, depthwise_items(d, threads), [&](int64_t i) {
      int64_t plane, r0, r1;
      depthwise_item(d, threads, i, &plane, &r0, &r1);
      depthwise_item_avx2(d, plane, r0, r1);
      activate((plane * P + r0 * d.OW) * kBlock, (r1 - r0) * d.OW * kBlock);
    });
  }
  return true;
}

namespace {

// fleetc.Reorder: X [N, C, H, W] (C a multiple of 8) into the layout `layout` names (NCHW8c:
// from plain to blocked; NCHW: from blocked to plain). Same shape, same size.
Status k_Reorder(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  const std::string layout = ctx.attrs().get_string("layout", "");
  if (layout != "NCHW8c" && layout != "NCHW")
    return ku::op_error(ctx, "layout must be NCHW8c or NCHW, got '" + layout + "'");
  if (x->dtype != DType::kF32 || x->rank() < 3 || x->shape[1] % kBlock != 0)
    return ku::op_error(ctx, "input must be float32 [N, C, ...] with C a multiple of 8, got " +
                                 ku::shape_str(x->shape));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, x->dtype, &y));
  if (y->numel() == 0) return Status::Ok();
  if (y->data == x->data) return ku::op_error(ctx, "cannot reorder in place");
  const int64_t P = x->numel() / (x->shape[0] * x->shape[1]);
  reorder(ctx, x->as<float>(), y->as<float>(), x->numel() / (kBlock * P), P, layout == "NCHW8c");
  return Status::Ok();
}

}  // namespace

}  // namespace blocked

FLEETRT_REGISTER_KERNEL("fleetc", "Reorder", blocked::k_Reorder);

}  // namespace fleetrt
