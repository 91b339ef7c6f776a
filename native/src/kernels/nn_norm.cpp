// Normalizations: BatchNormalization (inference and training_mode), InstanceNormalization,
// LayerNormalization, GroupNormalization, RMSNormalization, LpNormalization,
// MeanVarianceNormalization and LRN. Row statistics are gathered in one pass (sum and sum of
// squares in double), then one pass writes the normalized row.
#include <algorithm>
#include <cmath>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "kernel_util.h"

namespace fleetrt {
namespace norm_detail {
// nn_norm_avx2.cpp
int64_t row_sums_avx2(const float* x, int64_t n, double* sum, double* sum_sq);
int64_t normalize_row_avx2(const float* x, float mean, float inv, const float* scale, const float* bias, float* y,
                           int64_t n);
}  // namespace norm_detail

namespace {

// Mean and 1/sqrt(var + eps) of n floats (rms: mean fixed at 0, var = mean of squares).
// SSE2 (AVX2 where the CPU has it): independent partial double sums (a single chain of dependent
// double adds runs at one add per latency, ~4 cycles per value).
void row_stats(const float* x, int64_t n, double eps, bool rms, float* mean, float* inv) {
  double s = 0, ss = 0;
  int64_t i = 0;
  if (n >= 16 && ku::use_avx2()) i = norm_detail::row_sums_avx2(x, n, &s, &ss);
#if defined(__SSE2__)
  if (n >= 16 && i == 0) {
    __m128d vs[4] = {_mm_setzero_pd(), _mm_setzero_pd(), _mm_setzero_pd(), _mm_setzero_pd()};
    __m128d vq[4] = {_mm_setzero_pd(), _mm_setzero_pd(), _mm_setzero_pd(), _mm_setzero_pd()};
    for (; i + 8 <= n; i += 8) {
      for (int h = 0; h < 2; ++h) {
        const __m128 f = _mm_loadu_ps(x + i + 4 * h);
        const __m128d lo = _mm_cvtps_pd(f), hi = _mm_cvtps_pd(_mm_movehl_ps(f, f));
        vs[2 * h] = _mm_add_pd(vs[2 * h], lo);
        vs[2 * h + 1] = _mm_add_pd(vs[2 * h + 1], hi);
        vq[2 * h] = _mm_add_pd(vq[2 * h], _mm_mul_pd(lo, lo));
        vq[2 * h + 1] = _mm_add_pd(vq[2 * h + 1], _mm_mul_pd(hi, hi));
      }
    }
    alignas(16) double a[2], b[2];
    _mm_store_pd(a, _mm_add_pd(_mm_add_pd(vs[0], vs[1]), _mm_add_pd(vs[2], vs[3])));
    _mm_store_pd(b, _mm_add_pd(_mm_add_pd(vq[0], vq[1]), _mm_add_pd(vq[2], vq[3])));
    s = a[0] + a[1];
    ss = b[0] + b[1];
  }
#endif
  for (; i < n; ++i) {
    double v = x[i];
    s += v;
    ss += v * v;
  }
  double m = rms ? 0.0 : s / static_cast<double>(n);
  double var = ss / static_cast<double>(n) - m * m;
  if (var < 0) var = 0;
  *mean = static_cast<float>(m);
  *inv = static_cast<float>(1.0 / std::sqrt(var + eps));
}

Status need_float(const KernelContext& ctx, const Tensor& t) {
  if (!ku::is_float_like(t.dtype)) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(t.dtype));
  return Status::Ok();
}

const Tensor* opt_input(const KernelContext& ctx, int i) { return i < ctx.num_inputs() ? ctx.input(i) : nullptr; }

// LayerNormalization and RMSNormalization: normalize over dims [axis, rank).
Status layer_norm(KernelContext& ctx, bool rms) {
  const Tensor *x, *scale;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &scale));
  FLEETRT_RETURN_IF_ERROR(need_float(ctx, *x));
  const Tensor* bias = rms ? nullptr : opt_input(ctx, 2);
  const int64_t rank = static_cast<int64_t>(x->rank());
  int64_t axis;
  FLEETRT_RETURN_IF_ERROR(ku::normalize_axis(ctx, ctx.attrs().get_int("axis", -1), rank, &axis));
  double eps = ctx.attrs().get_float("epsilon", 1e-5);
  std::vector<int64_t> norm_shape(x->shape.begin() + axis, x->shape.end());
  const int64_t rows = ku::prod(x->shape, 0, axis), n = ku::numel_of(norm_shape);
  const float* sf = ku::broadcast_float(ctx, *scale, norm_shape);
  const float* bf = bias ? ku::broadcast_float(ctx, *bias, norm_shape) : nullptr;
  if (!sf || (bias && !bf))
    return ku::op_error(ctx, "scale/bias do not broadcast to the normalized shape " + ku::shape_str(norm_shape));
  Tensor *y, *mean_t = nullptr, *inv_t = nullptr;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, x->dtype, &y));
  std::vector<int64_t> stat_shape(x->shape.begin(), x->shape.begin() + axis);
  stat_shape.resize(x->rank(), 1);
  DType st = ctx.attrs().get_int("stash_type", 1) == 1 ? DType::kF32 : x->dtype;
  if (!rms) {
    FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 1, stat_shape, st, &mean_t));
    FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 2, stat_shape, st, &inv_t));
  } else {
    FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 1, stat_shape, st, &inv_t));
  }
  if (x->numel() == 0) return Status::Ok();
  const float* xf = ku::as_float_buffer(ctx, *x);
  float* yf = ku::float_out_buffer(ctx, *y);
  std::vector<float> means(static_cast<size_t>(rows)), invs(static_cast<size_t>(rows));
  const bool use_avx2 = ku::use_avx2();
  ku::parallel_elems(ctx, rows, n * 3, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = xf + r * n;
      float* yr = yf + r * n;
      float m, inv;
      row_stats(xr, n, eps, rms, &m, &inv);
      means[r] = m;
      invs[r] = inv;
      int64_t j = use_avx2 ? norm_detail::normalize_row_avx2(xr, m, inv, sf, bf, yr, n) : 0;
#if defined(__SSE2__)
      const __m128 vm = _mm_set1_ps(m), vi = _mm_set1_ps(inv);
      for (; j + 4 <= n; j += 4) {
        const __m128 v = _mm_mul_ps(_mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(xr + j), vm), vi), _mm_loadu_ps(sf + j));
        _mm_storeu_ps(yr + j, bf ? _mm_add_ps(v, _mm_loadu_ps(bf + j)) : v);
      }
#endif
      if (bf)
        for (; j < n; ++j) yr[j] = (xr[j] - m) * inv * sf[j] + bf[j];
      else
        for (; j < n; ++j) yr[j] = (xr[j] - m) * inv * sf[j];
    }
  });
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  if (mean_t) ku::store_float_buffer(means.data(), *mean_t);
  if (inv_t) ku::store_float_buffer(invs.data(), *inv_t);
  return Status::Ok();
}

Status k_LayerNormalization(KernelContext& ctx) { return layer_norm(ctx, false); }
Status k_RMSNormalization(KernelContext& ctx) { return layer_norm(ctx, true); }

// Rows of `n` values normalized with per-row stats, then y = ŷ·scale[ch] + bias[ch] where the
// channel of element j of row r is chan(r, j).
template <class Chan>
void norm_rows(KernelContext& ctx, const float* xf, float* yf, int64_t rows, int64_t n, double eps, const float* sf,
               const float* bf, Chan chan) {
  ku::parallel_elems(ctx, rows, n * 3, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float m, inv;
      row_stats(xf + r * n, n, eps, false, &m, &inv);
      for (int64_t j = 0; j < n; ++j) {
        int64_t c = chan(r, j);
        yf[r * n + j] = (xf[r * n + j] - m) * inv * sf[c] + bf[c];
      }
    }
  });
}

Status k_InstanceNormalization(KernelContext& ctx) {
  const Tensor *x, *scale, *bias;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &scale));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 2, &bias));
  FLEETRT_RETURN_IF_ERROR(need_float(ctx, *x));
  if (x->rank() < 2) return ku::op_error(ctx, "input needs rank >= 2");
  const int64_t C = x->shape[1], sp = ku::prod(x->shape, 2, x->rank());
  if (scale->numel() != C || bias->numel() != C) return ku::op_error(ctx, "scale and B must have C values");
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, x->dtype, &y));
  if (x->numel() == 0) return Status::Ok();
  const float* xf = ku::as_float_buffer(ctx, *x);
  float* yf = ku::float_out_buffer(ctx, *y);
  norm_rows(ctx, xf, yf, x->shape[0] * C, sp, ctx.attrs().get_float("epsilon", 1e-5), ku::as_float_buffer(ctx, *scale),
            ku::as_float_buffer(ctx, *bias), [C](int64_t r, int64_t) { return r % C; });
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  return Status::Ok();
}

Status k_GroupNormalization(KernelContext& ctx) {
  const Tensor *x, *scale, *bias;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &scale));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 2, &bias));
  FLEETRT_RETURN_IF_ERROR(need_float(ctx, *x));
  if (x->rank() < 2) return ku::op_error(ctx, "input needs rank >= 2");
  const int64_t G = ctx.attrs().get_int("num_groups", 0), C = x->shape[1], sp = ku::prod(x->shape, 2, x->rank());
  if (G <= 0 || C % G != 0) return ku::op_error(ctx, "num_groups " + std::to_string(G) + " does not divide C=" + std::to_string(C));
  bool per_group = scale->numel() == G && G != C;
  if (!per_group && (scale->numel() != C || bias->numel() != C))
    return ku::op_error(ctx, "scale and bias must have C (or num_groups) values");
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, x->dtype, &y));
  if (x->numel() == 0) return Status::Ok();
  const float* xf = ku::as_float_buffer(ctx, *x);
  float* yf = ku::float_out_buffer(ctx, *y);
  const int64_t cg = C / G, n = cg * sp;
  norm_rows(ctx, xf, yf, x->shape[0] * G, n, ctx.attrs().get_float("epsilon", 1e-5), ku::as_float_buffer(ctx, *scale),
            ku::as_float_buffer(ctx, *bias), [=](int64_t r, int64_t j) {
              int64_t g = r % G;
              return per_group ? g : g * cg + j / sp;
            });
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  return Status::Ok();
}

Status k_BatchNormalization(KernelContext& ctx) {
  const Tensor *x, *scale, *bias, *mean, *var;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &scale));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 2, &bias));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 3, &mean));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 4, &var));
  FLEETRT_RETURN_IF_ERROR(need_float(ctx, *x));
  const int64_t N = x->rank() > 0 ? x->shape[0] : 1, C = x->rank() > 1 ? x->shape[1] : 1;
  const int64_t sp = ku::prod(x->shape, 2, x->rank());
  if (scale->numel() != C || bias->numel() != C || mean->numel() != C || var->numel() != C)
    return ku::op_error(ctx, "scale, B, mean and var must have C=" + std::to_string(C) + " values");
  const double eps = ctx.attrs().get_float("epsilon", 1e-5), mom = ctx.attrs().get_float("momentum", 0.9);
  bool training = ctx.opset() >= 14 && ctx.attrs().get_int("training_mode", 0) != 0;
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, x->dtype, &y));
  const float* xf = ku::as_float_buffer(ctx, *x);
  const float* sf = ku::as_float_buffer(ctx, *scale);
  const float* bf = ku::as_float_buffer(ctx, *bias);
  const float* mf = ku::as_float_buffer(ctx, *mean);
  const float* vf = ku::as_float_buffer(ctx, *var);
  std::vector<float> m(mf, mf + C), v(vf, vf + C);
  if (training) {
    const double cnt = static_cast<double>(N * sp);
    for (int64_t c = 0; c < C; ++c) {
      double s = 0, ss = 0;
      for (int64_t n = 0; n < N; ++n) {
        const float* p = xf + (n * C + c) * sp;
        for (int64_t i = 0; i < sp; ++i) s += p[i], ss += static_cast<double>(p[i]) * p[i];
      }
      double bm = s / cnt, bv = std::max(0.0, ss / cnt - bm * bm);
      m[c] = static_cast<float>(bm);
      v[c] = static_cast<float>(bv);
    }
    Tensor *rm = nullptr, *rv = nullptr;
    FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 1, mean->shape, mean->dtype, &rm));
    FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 2, var->shape, var->dtype, &rv));
    std::vector<float> om(static_cast<size_t>(C)), ov(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) {
      om[c] = static_cast<float>(mf[c] * mom + m[c] * (1 - mom));
      ov[c] = static_cast<float>(vf[c] * mom + v[c] * (1 - mom));
    }
    if (rm) ku::store_float_buffer(om.data(), *rm);
    if (rv) ku::store_float_buffer(ov.data(), *rv);
  }
  float* yf = ku::float_out_buffer(ctx, *y);
  std::vector<float> a(static_cast<size_t>(C)), b(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    a[c] = static_cast<float>(sf[c] / std::sqrt(static_cast<double>(v[c]) + eps));
    b[c] = bf[c] - m[c] * a[c];
  }
  ku::parallel_elems(ctx, N * C, sp, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float ac = a[r % C], bc = b[r % C];
      for (int64_t i = 0; i < sp; ++i) yf[r * sp + i] = xf[r * sp + i] * ac + bc;
    }
  });
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  return Status::Ok();
}

Status k_LpNormalization(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(need_float(ctx, *x));
  const int64_t rank = static_cast<int64_t>(x->rank());
  int64_t axis;
  FLEETRT_RETURN_IF_ERROR(ku::normalize_axis(ctx, ctx.attrs().get_int("axis", -1), rank, &axis));
  const int64_t p = ctx.attrs().get_int("p", 2);
  if (p != 1 && p != 2) return ku::op_error(ctx, "p must be 1 or 2, got " + std::to_string(p));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, x->dtype, &y));
  if (x->numel() == 0) return Status::Ok();
  const int64_t outer = ku::prod(x->shape, 0, axis), n = x->shape[axis], inner = ku::prod(x->shape, axis + 1, rank);
  const float* xf = ku::as_float_buffer(ctx, *x);
  float* yf = ku::float_out_buffer(ctx, *y);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const float* xr = xf + o * n * inner + i;
      float* yr = yf + o * n * inner + i;
      double s = 0;
      for (int64_t k = 0; k < n; ++k) s += p == 1 ? std::fabs(xr[k * inner]) : static_cast<double>(xr[k * inner]) * xr[k * inner];
      double norm = p == 1 ? s : std::sqrt(s);
      for (int64_t k = 0; k < n; ++k) yr[k * inner] = norm == 0 ? 0.f : static_cast<float>(xr[k * inner] / norm);
    }
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  return Status::Ok();
}

// (X − mean) / (sqrt(var) + 1e-9) with mean/var over `axes` (default 0, 2, 3).
Status k_MeanVarianceNormalization(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(need_float(ctx, *x));
  const int64_t rank = static_cast<int64_t>(x->rank());
  std::vector<int64_t> axes = ctx.attrs().has("axes") ? ctx.attrs().get_ints("axes") : std::vector<int64_t>{0, 2, 3};
  std::vector<bool> red(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    int64_t n;
    FLEETRT_RETURN_IF_ERROR(ku::normalize_axis(ctx, a, rank, &n));
    red[n] = true;
  }
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, x->dtype, &y));
  const int64_t total = x->numel();
  if (total == 0) return Status::Ok();
  // output slot of each element: the index over the kept dims
  std::vector<int64_t> slot(static_cast<size_t>(total));
  int64_t kept = 1;
  {
    std::vector<int64_t> st(static_cast<size_t>(rank), 0), idx(static_cast<size_t>(rank), 0);
    for (int64_t d = rank - 1; d >= 0; --d)
      if (!red[d]) st[d] = kept, kept *= x->shape[d];
    int64_t s = 0;
    for (int64_t i = 0; i < total; ++i) {
      slot[i] = s;
      for (int64_t d = rank - 1; d >= 0; --d) {
        s += st[d];
        if (++idx[d] < x->shape[d]) break;
        s -= st[d] * x->shape[d];
        idx[d] = 0;
      }
    }
  }
  const float* xf = ku::as_float_buffer(ctx, *x);
  std::vector<double> sum(static_cast<size_t>(kept), 0), sq(static_cast<size_t>(kept), 0);
  for (int64_t i = 0; i < total; ++i) sum[slot[i]] += xf[i], sq[slot[i]] += static_cast<double>(xf[i]) * xf[i];
  const double cnt = static_cast<double>(total / kept);
  float* yf = ku::float_out_buffer(ctx, *y);
  for (int64_t i = 0; i < total; ++i) {
    double m = sum[slot[i]] / cnt, v = std::max(0.0, sq[slot[i]] / cnt - m * m);
    yf[i] = static_cast<float>((xf[i] - m) / (std::sqrt(v) + 1e-9));
  }
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  return Status::Ok();
}

// LRN across channels: y = x / (bias + alpha/size · Σ x²)^beta.
Status k_LRN(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(need_float(ctx, *x));
  if (x->rank() < 3) return ku::op_error(ctx, "input needs rank >= 3");
  const int64_t size = ctx.attrs().get_int("size", 0);
  if (size <= 0) return ku::op_error(ctx, "size must be positive");
  const double alpha = ctx.attrs().get_float("alpha", 1e-4), beta = ctx.attrs().get_float("beta", 0.75),
               bias = ctx.attrs().get_float("bias", 1.0);
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, x->dtype, &y));
  const int64_t N = x->shape[0], C = x->shape[1], sp = ku::prod(x->shape, 2, x->rank());
  const int64_t lo = (size - 1) / 2, hi = size - 1 - lo;
  const float* xf = ku::as_float_buffer(ctx, *x);
  float* yf = ku::float_out_buffer(ctx, *y);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < sp; ++i) {
        double s = 0;
        for (int64_t k = std::max<int64_t>(0, c - lo); k <= std::min(C - 1, c + hi); ++k) {
          double v = xf[(n * C + k) * sp + i];
          s += v * v;
        }
        int64_t at = (n * C + c) * sp + i;
        yf[at] = static_cast<float>(xf[at] / std::pow(bias + alpha / static_cast<double>(size) * s, beta));
      }
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  return Status::Ok();
}

}  // namespace

FLEETRT_REGISTER_KERNEL("", "LayerNormalization", k_LayerNormalization);
FLEETRT_REGISTER_KERNEL("", "RMSNormalization", k_RMSNormalization);
FLEETRT_REGISTER_KERNEL("", "InstanceNormalization", k_InstanceNormalization);
FLEETRT_REGISTER_KERNEL("", "GroupNormalization", k_GroupNormalization);
FLEETRT_REGISTER_KERNEL("", "BatchNormalization", k_BatchNormalization);
FLEETRT_REGISTER_KERNEL("", "LpNormalization", k_LpNormalization);
FLEETRT_REGISTER_KERNEL("", "MeanVarianceNormalization", k_MeanVarianceNormalization);
FLEETRT_REGISTER_KERNEL("", "LRN", k_LRN);

}  // namespace fleetrt
