// Linear quantization: QuantizeLinear / DequantizeLinear (per-tensor, per-axis and blocked
// scales; int8/uint8/int16/uint16/int32 and float8 types; saturate), DynamicQuantizeLinear, and
// the integer convolutions ConvInteger / QLinearConv (direct loops with exact int64 sums).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernel_util.h"

namespace fleetrt {
namespace {

bool is_f8(DType t) {
  return t == DType::kF8E4M3FN || t == DType::kF8E4M3FNUZ || t == DType::kF8E5M2 || t == DType::kF8E5M2FNUZ;
}

// Index of the scale / zero point used by every element of x.
struct ScaleMap {
  int64_t mode = 0;  // 0 per tensor, 1 per axis, 2 blocked
  int64_t dim = 1, inner = 1, block = 1, sdim = 1;
  int64_t operator()(int64_t i) const {
    if (mode == 0) return 0;
    int64_t a = (i / inner) % dim;
    if (mode == 1) return a;
    int64_t outer = i / (inner * dim), in = i % inner;
    return (outer * sdim + a / block) * inner + in;
  }
};

Status scale_map(const KernelContext& ctx, const Tensor& x, const Tensor& scale, ScaleMap* m) {
  if (scale.numel() == 1 && scale.rank() <= 1) return Status::Ok();
  const int64_t rank = static_cast<int64_t>(x.rank());
  int64_t axis;
  FLEETRT_RETURN_IF_ERROR(ku::normalize_axis(ctx, ctx.attrs().get_int("axis", 1), rank, &axis));
  m->dim = x.shape[axis];
  m->inner = ku::prod(x.shape, axis + 1, rank);
  const int64_t block = ctx.attrs().get_int("block_size", 0);
  if (block > 0) {
    if (scale.rank() != x.rank()) return ku::op_error(ctx, "blocked scale must have the rank of x");
    m->mode = 2;
    m->block = block;
    m->sdim = scale.shape[axis];
    if ((m->dim + block - 1) / block != m->sdim) return ku::op_error(ctx, "scale shape does not match block_size");
    return Status::Ok();
  }
  if (scale.rank() != 1 || scale.shape[0] != m->dim)
    return ku::op_error(ctx, "per-axis scale " + ku::shape_str(scale.shape) + " does not match x " + ku::shape_str(x.shape) +
                                 " on axis " + std::to_string(axis));
  m->mode = 1;
  return Status::Ok();
}

// Saturating store of an already-rounded value into an integer dtype.
void store_int_sat(Tensor& t, int64_t i, double v) {
  auto sat = [&](auto tag) {
    using T = decltype(tag);
    double lo = static_cast<double>(std::numeric_limits<T>::lowest()), hi = static_cast<double>(std::numeric_limits<T>::max());
    t.as<T>()[i] = static_cast<T>(std::min(hi, std::max(lo, v)));
  };
  switch (t.dtype) {
    case DType::kU8: sat(uint8_t{}); break;
    case DType::kI8: sat(int8_t{}); break;
    case DType::kU16: sat(uint16_t{}); break;
    case DType::kI16: sat(int16_t{}); break;
    case DType::kI32: sat(int32_t{}); break;
    case DType::kU32: sat(uint32_t{}); break;
    case DType::kI4: case DType::kU4: {
      const double lo = t.dtype == DType::kI4 ? -8 : 0, hi = t.dtype == DType::kI4 ? 7 : 15;
      ku::store_from_double(t, i, std::min(hi, std::max(lo, v)));
      break;
    }
    case DType::kI2: case DType::kU2: {
      const double lo = t.dtype == DType::kI2 ? -2 : 0, hi = t.dtype == DType::kI2 ? 1 : 3;
      ku::store_from_double(t, i, std::min(hi, std::max(lo, v)));
      break;
    }
    default: break;
  }
}

Status k_QuantizeLinear(KernelContext& ctx) {
  const Tensor *x, *scale;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &scale));
  const Tensor* zp = ctx.num_inputs() > 2 ? ctx.input(2) : nullptr;
  DType out = zp ? zp->dtype : DType::kU8;
  int64_t od = ctx.attrs().get_int("output_dtype", 0);
  if (od != 0) out = static_cast<DType>(od);
  const bool packed = dtype_bits(out) > 0 && dtype_bits(out) < 8;  // int4/uint4/float4e2m1/int2/uint2
  if (!(ku::is_int(out) || is_f8(out) || packed)) return ku::op_error(ctx, std::string("unsupported output type ") + dtype_name(out));
  ScaleMap m;
  FLEETRT_RETURN_IF_ERROR(scale_map(ctx, *x, *scale, &m));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, out, &y));
  const bool saturate = ctx.attrs().get_int("saturate", 1) != 0;
  if (packed && y->bytes() > 0) std::memset(y->data, 0, y->bytes());
  const bool wide = x->dtype == DType::kF64 || scale->dtype == DType::kF64;
  for (int64_t i = 0, n = x->numel(); i < n; ++i) {
    const int64_t s = m(i);
    // divide in float32 unless a double is involved: ties (x/scale = k + 0.5) must round as in float
    const double xv = ku::load_as_double(*x, i), sv = ku::load_as_double(*scale, s);
    double q = wide ? xv / sv : static_cast<double>(static_cast<float>(xv) / static_cast<float>(sv));
    double z = zp ? ku::load_as_double(*zp, s) : 0.0;
    if (out == DType::kF4E2M1) {
      ku::store_from_double(*y, i, q + z);
    } else if (is_f8(out)) {
      y->as<uint8_t>()[i] = ku::float_to_f8(static_cast<float>(q + z), out, saturate);
    } else {
      store_int_sat(*y, i, std::nearbyint(q) + z);
    }
  }
  return Status::Ok();
}

Status k_DequantizeLinear(KernelContext& ctx) {
  const Tensor *x, *scale;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &scale));
  const Tensor* zp = ctx.num_inputs() > 2 ? ctx.input(2) : nullptr;
  ScaleMap m;
  FLEETRT_RETURN_IF_ERROR(scale_map(ctx, *x, *scale, &m));
  DType out = scale->dtype;
  int64_t od = ctx.attrs().get_int("output_dtype", 0);
  if (od != 0) out = static_cast<DType>(od);
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, out, &y));
  for (int64_t i = 0, n = x->numel(); i < n; ++i) {
    const int64_t s = m(i);
    double z = zp ? ku::load_as_double(*zp, s) : 0.0;
    // float8 zero points are values in the same format; the difference is taken in float
    double v = (ku::load_as_double(*x, i) - z) * ku::load_as_double(*scale, s);
    if (out == DType::kF32) y->as<float>()[i] = static_cast<float>((static_cast<float>(ku::load_as_double(*x, i)) - static_cast<float>(z)) *
                                                                   static_cast<float>(ku::load_as_double(*scale, s)));
    else ku::store_from_double(*y, i, v);
  }
  return Status::Ok();
}

Status k_DynamicQuantizeLinear(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  if (!ku::is_float_like(x->dtype)) return ku::op_error(ctx, "input must be float");
  Tensor *y, *ys, *yz;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, DType::kU8, &y));
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 1, {}, DType::kF32, &ys));
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 2, {}, DType::kU8, &yz));
  const float* xf = ku::as_float_buffer(ctx, *x);
  float lo = 0.f, hi = 0.f;
  for (int64_t i = 0; i < x->numel(); ++i) lo = std::min(lo, xf[i]), hi = std::max(hi, xf[i]);
  float scale = (hi - lo) / 255.f;
  float zpf = scale == 0.f ? 0.f : std::nearbyint(std::min(255.f, std::max(0.f, (0.f - lo) / scale)));
  ys->as<float>()[0] = scale;
  yz->as<uint8_t>()[0] = static_cast<uint8_t>(zpf);
  for (int64_t i = 0; i < x->numel(); ++i) {
    float q = scale == 0.f ? 0.f : std::nearbyint(xf[i] / scale) + zpf;
    y->as<uint8_t>()[i] = static_cast<uint8_t>(std::min(255.f, std::max(0.f, q)));
  }
  return Status::Ok();
}

// Integer convolution: acc[n, m, out…] = Σ (x − xzp)(w − wzp[m]) as int64.
Status int_conv(KernelContext& ctx, const Tensor& x, const Tensor& w, const Tensor* xzp, const Tensor* wzp,
                std::vector<int64_t>* acc, std::vector<int64_t>* oshape) {
  if (x.rank() < 3 || w.rank() != x.rank()) return ku::op_error(ctx, "X and W must have the same rank >= 3");
  const int64_t N = x.shape[0], C = x.shape[1], M = w.shape[0], group = ctx.attrs().get_int("group", 1);
  if (group <= 0 || C % group || M % group || w.shape[1] != C / group) return ku::op_error(ctx, "channels do not match");
  std::vector<int64_t> in_sp(x.shape.begin() + 2, x.shape.end()), k_sp(w.shape.begin() + 2, w.shape.end());
  ku::WindowGeom g;
  FLEETRT_RETURN_IF_ERROR(ku::window_geometry(ctx, in_sp, k_sp, false, &g));
  *oshape = {N, M};
  oshape->insert(oshape->end(), g.out.begin(), g.out.end());
  const int64_t Cg = C / group, Mg = M / group, isz = g.in_size(), osz = g.out_size(), ksz = g.kernel_size();
  const size_t nsp = in_sp.size();
  const int64_t xz = xzp && xzp->numel() ? static_cast<int64_t>(ku::load_as_double(*xzp, 0)) : 0;
  std::vector<int64_t> xv(static_cast<size_t>(x.numel())), wv(static_cast<size_t>(w.numel()));
  for (int64_t i = 0; i < x.numel(); ++i) xv[i] = static_cast<int64_t>(ku::load_as_double(x, i)) - xz;
  const int64_t per_m = Cg * ksz;
  for (int64_t i = 0; i < w.numel(); ++i) {
    int64_t m = i / per_m;
    int64_t wz = wzp && wzp->numel() ? static_cast<int64_t>(ku::load_as_double(*wzp, wzp->numel() == 1 ? 0 : m)) : 0;
    wv[i] = static_cast<int64_t>(ku::load_as_double(w, i)) - wz;
  }
  acc->assign(static_cast<size_t>(N * M * osz), 0);
  std::vector<int64_t> o(nsp), k(nsp);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m) {
      const int64_t gi = m / Mg;
      for (int64_t op = 0; op < osz; ++op) {
        for (int64_t r = op, d = static_cast<int64_t>(nsp) - 1; d >= 0; --d) o[d] = r % g.out[d], r /= g.out[d];
        int64_t s = 0;
        for (int64_t kp = 0; kp < ksz; ++kp) {
          int64_t off = 0;
          bool inside = true;
          for (int64_t r = kp, d = static_cast<int64_t>(nsp) - 1; d >= 0; --d) k[d] = r % g.kernel[d], r /= g.kernel[d];
          for (size_t d = 0; d < nsp && inside; ++d) {
            int64_t c = o[d] * g.stride[d] - g.pad_begin[d] + k[d] * g.dil[d];
            inside = c >= 0 && c < in_sp[d];
            off = off * in_sp[d] + c;
          }
          if (!inside) continue;
          for (int64_t c = 0; c < Cg; ++c) s += xv[(n * C + gi * Cg + c) * isz + off] * wv[(m * Cg + c) * ksz + kp];
        }
        (*acc)[(n * M + m) * osz + op] = s;
      }
    }
  return Status::Ok();
}

Status k_ConvInteger(KernelContext& ctx) {
  const Tensor *x, *w;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &w));
  const Tensor* xzp = ctx.num_inputs() > 2 ? ctx.input(2) : nullptr;
  const Tensor* wzp = ctx.num_inputs() > 3 ? ctx.input(3) : nullptr;
  std::vector<int64_t> acc, oshape;
  FLEETRT_RETURN_IF_ERROR(int_conv(ctx, *x, *w, xzp, wzp, &acc, &oshape));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, oshape, DType::kI32, &y));
  for (size_t i = 0; i < acc.size(); ++i) y->as<int32_t>()[i] = static_cast<int32_t>(acc[i]);
  return Status::Ok();
}

Status k_QLinearConv(KernelContext& ctx) {
  const Tensor *x, *xs, *xzp, *w, *ws, *wzp, *ys, *yzp;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &xs));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 2, &xzp));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 3, &w));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 4, &ws));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 5, &wzp));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 6, &ys));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 7, &yzp));
  const Tensor* b = ctx.num_inputs() > 8 ? ctx.input(8) : nullptr;
  std::vector<int64_t> acc, oshape;
  FLEETRT_RETURN_IF_ERROR(int_conv(ctx, *x, *w, xzp, wzp, &acc, &oshape));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, oshape, yzp->dtype, &y));
  const int64_t M = oshape[1], osz = ku::prod(oshape, 2, oshape.size());
  const double xsc = ku::load_as_double(*xs, 0), ysc = ku::load_as_double(*ys, 0), yz = ku::load_as_double(*yzp, 0);
  for (size_t i = 0; i < acc.size(); ++i) {
    const int64_t m = (static_cast<int64_t>(i) / osz) % M;
    double wsc = ku::load_as_double(*ws, ws->numel() == 1 ? 0 : m);
    double v = static_cast<double>(acc[i] + (b ? static_cast<int64_t>(ku::load_as_double(*b, m)) : 0));
    store_int_sat(*y, static_cast<int64_t>(i), std::nearbyint(v * xsc * wsc / ysc) + yz);
  }
  return Status::Ok();
}

}  // namespace

FLEETRT_REGISTER_KERNEL("", "QuantizeLinear", k_QuantizeLinear);
FLEETRT_REGISTER_KERNEL("", "DequantizeLinear", k_DequantizeLinear);
FLEETRT_REGISTER_KERNEL("", "DynamicQuantizeLinear", k_DynamicQuantizeLinear);
FLEETRT_REGISTER_KERNEL("", "ConvInteger", k_ConvInteger);
FLEETRT_REGISTER_KERNEL("", "QLinearConv", k_QLinearConv);

}  // namespace fleetrt
