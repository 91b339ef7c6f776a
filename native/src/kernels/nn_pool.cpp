// Pooling: MaxPool (with the optional Indices output), AveragePool, LpPool over any number of
// spatial dims (strides, pads, auto_pad, dilations, ceil_mode, count_include_pad), and the global
// variants GlobalAveragePool / GlobalMaxPool / GlobalLpPool. Planes (n, c) run in parallel; the
// interior rows of 2×2 and 3×3 max pools go 16 outputs at a time with AVX-512 (nn_pool_avx512.cpp).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "kernel_util.h"

namespace fleetrt {
namespace pool_detail {
// nn_pool_avx512.cpp
void max_row_avx512(const float* const* row, int64_t k, int64_t stride, int64_t lo, int64_t hi, float* yr,
                    int64_t next_row);
}  // namespace pool_detail

namespace {

using ku::WindowGeom;

enum class Pool { kMax, kAvg, kLp };

// Visits the window of output position `o` (multi-index): f(offset_in_plane, inside, coords).
// Positions in the padding are visited with inside=false (offset meaningless).
template <class F>
void for_window(const WindowGeom& g, const int64_t* o, int64_t* kidx, F f) {
  const size_t nsp = g.in.size();
  const int64_t ksz = g.kernel_size();
  std::fill(kidx, kidx + nsp, 0);
  for (int64_t k = 0; k < ksz; ++k) {
    int64_t off = 0;
    bool inside = true, in_pad_region = true;
    for (size_t d = 0; d < nsp; ++d) {
      int64_t c = o[d] * g.stride[d] - g.pad_begin[d] + kidx[d] * g.dil[d];
      if (c < 0 || c >= g.in[d]) inside = false;
      if (c >= g.in[d] + g.pad_end[d]) in_pad_region = false;
      off = off * g.in[d] + c;
    }
    f(off, inside, in_pad_region);
    for (size_t d = nsp; d-- > 0;) {
      if (++kidx[d] < g.kernel[d]) break;
      kidx[d] = 0;
    }
  }
}

// Global pooling of one plane: one reduction over all its elements.
template <class T>
void global_plane(Pool kind, double p, const T* x, int64_t n, T* y) {
  if (kind == Pool::kMax) {
    T best = x[0];
    for (int64_t i = 1; i < n; ++i)
      if (x[i] > best) best = x[i];
    *y = best;
    return;
  }
  double acc = 0;
  if (kind == Pool::kAvg) {
    // independent partial sums: one long dependent chain of double adds is latency-bound
    double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
      for (int k = 0; k < 8; ++k) part[k] += static_cast<double>(x[i + k]);
    for (; i < n; ++i) acc += static_cast<double>(x[i]);
    for (double v : part) acc += v;
    *y = static_cast<T>(acc / static_cast<double>(n));
  } else {
    for (int64_t i = 0; i < n; ++i) {
      double v = std::fabs(static_cast<double>(x[i]));
      acc += p == 2 ? v * v : std::pow(v, p);
    }
    *y = static_cast<T>(p == 2 ? std::sqrt(acc) : std::pow(acc, 1.0 / p));
  }
}

// Interior outputs [lo, hi) of one output row: every window column is inside the input, and
// window rows [0, rows) counted from the first one inside. Full square 2×2 and 3×3 windows with
// stride 1 or 2 (nearly all pooling layers) are compile-time shapes; each output keeps its
// reduction in a register.
// x[row0 + kh·dh·W + ow·sw + kw·dw] is window element (kh, kw) of output ow (kh counted from the
// first window row inside the input); row0 + ow·sw >= 0 for every interior ow.
template <class T, bool kMax, int kK, int kSW>
void interior_row_fixed(const T* x, int64_t row0, int64_t W, int64_t dh, int64_t lo, int64_t hi, T lowest,
                        int64_t cnt, T* __restrict yr) {
  for (int64_t ow = lo; ow < hi; ++ow) {
    const T* p = x + (row0 + ow * kSW);
    T r = kMax ? lowest : T(0);
    for (int kh = 0; kh < kK; ++kh)
      for (int kw = 0; kw < kK; ++kw) {
        const T v = p[kh * dh * W + kw];
        if (kMax) r = r < v ? v : r;
        else r += v;
      }
    yr[ow] = kMax ? r : r / static_cast<T>(cnt);
  }
}

template <class T, bool kMax>
void interior_row(const T* x, int64_t row0, int64_t W, int64_t rows, int64_t KH, int64_t KW, int64_t sh, int64_t dh,
                  int64_t dw, int64_t sw, int64_t lo, int64_t hi, T lowest, int64_t cnt, T* yr) {
  if (rows == KH && KH == KW && dw == 1 && (sw == 1 || sw == 2) && (KW == 2 || KW == 3)) {
    if constexpr (kMax && std::is_same<T, float>::value) {
      // 16 outputs at a time: ResNet's 3×3 stride-2 max pool over 112×112 c64, in the model, 2
      // threads, 100–123 → 79–81 µs; its input's lines for the next output row fetched ahead
      // (the prefetchers lose them among the window's rows): 0.21 → 0.17 ms on a Zen 5 guest
      // (scripts/bench/ab.ts, 64 passes of ResNet-18), where its input comes from L3.
      const float* r[3] = {x + row0, x + row0 + dh * W, KH == 3 ? x + row0 + 2 * dh * W : nullptr};
      if (ku::use_avx512()) {
        pool_detail::max_row_avx512(r, KW, sw, lo, hi, yr, sh * W);
        return;
      }
    }
    auto* f = KW == 2 ? (sw == 1 ? interior_row_fixed<T, kMax, 2, 1> : interior_row_fixed<T, kMax, 2, 2>)
                      : (sw == 1 ? interior_row_fixed<T, kMax, 3, 1> : interior_row_fixed<T, kMax, 3, 2>);
    return f(x, row0, W, dh, lo, hi, lowest, cnt, yr);
  }
  for (int64_t ow = lo; ow < hi; ++ow) {
    const T* p = x + (row0 + ow * sw);
    T r = kMax ? lowest : T(0);
    for (int64_t kh = 0; kh < rows; ++kh)
      for (int64_t kw = 0; kw < KW; ++kw) {
        const T v = p[kh * dh * W + kw * dw];
        if (kMax) r = r < v ? v : r;
        else r += v;
      }
    yr[ow] = kMax ? r : (cnt ? r / static_cast<T>(cnt) : T(0));
  }
}

// 2-D max/average pooling without indices. Columns whose window lies wholly inside the input
// (the interior) skip all clipping (interior_row); the few edge columns clip their window per
// position. Averages accumulate in T (float for float32), one sum per output.
template <class T>
void pool_plane_2d(const WindowGeom& g, Pool kind, bool include_pad, const T* x, T* y) {
  const int64_t H = g.in[0], W = g.in[1], OH = g.out[0], OW = g.out[1];
  const int64_t KH = g.kernel[0], KW = g.kernel[1], sh = g.stride[0], sw = g.stride[1], dh = g.dil[0], dw = g.dil[1];
  const int64_t pl = g.pad_begin[1];
  const T lowest =
      std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest();
  // interior columns [lo, hi): ow·sw − pl >= 0 and ow·sw − pl + (KW − 1)·dw < W
  const int64_t lo = std::min(OW, (pl + sw - 1) / sw);
  const int64_t last = W - 1 - (KW - 1) * dw + pl;  // largest ow·sw allowed
  const int64_t hi = std::max(lo, last < 0 ? int64_t{0} : std::min(OW, last / sw + 1));
  for (int64_t oh = 0; oh < OH; ++oh) {
    const int64_t h0 = oh * sh - g.pad_begin[0];
    int64_t kh0 = 0, kh1 = KH;
    while (kh0 < KH && h0 + kh0 * dh < 0) ++kh0;
    while (kh1 > kh0 && h0 + (kh1 - 1) * dh >= H) --kh1;
    int64_t ph = 0;  // window rows inside the padded area (count_include_pad)
    for (int64_t k = 0; k < KH; ++k) ph += h0 + k * dh < H + g.pad_end[0];
    T* yr = y + oh * OW;
    auto edge = [&](int64_t ow) {
      const int64_t w0 = ow * sw - pl;
      int64_t kw0 = 0, kw1 = KW;
      while (kw0 < KW && w0 + kw0 * dw < 0) ++kw0;
      while (kw1 > kw0 && w0 + (kw1 - 1) * dw >= W) --kw1;
      if (kind == Pool::kMax) {
        T best = lowest;
        for (int64_t kh = kh0; kh < kh1; ++kh) {
          const T* row = x + (h0 + kh * dh) * W + w0;
          for (int64_t kw = kw0; kw < kw1; ++kw) best = std::max(best, row[kw * dw]);
        }
        yr[ow] = best;
        return;
      }
      T acc = 0;
      for (int64_t kh = kh0; kh < kh1; ++kh) {
        const T* row = x + (h0 + kh * dh) * W + w0;
        for (int64_t kw = kw0; kw < kw1; ++kw) acc += row[kw * dw];
      }
      int64_t cnt = (kh1 - kh0) * (kw1 - kw0);
      if (include_pad) {
        int64_t pw = 0;
        for (int64_t k = 0; k < KW; ++k) pw += w0 + k * dw < W + g.pad_end[1];
        cnt = ph * pw;
      }
      yr[ow] = cnt ? acc / static_cast<T>(cnt) : T(0);
    };
    for (int64_t ow = 0; ow < lo; ++ow) edge(ow);
    for (int64_t ow = hi; ow < OW; ++ow) edge(ow);
    if (lo >= hi) continue;
    const int64_t row0 = (h0 + kh0 * dh) * W - pl, rows = kh1 - kh0;
    const int64_t cnt = include_pad ? ph * KW : rows * KW;
    if (kind == Pool::kMax) interior_row<T, true>(x, row0, W, rows, KH, KW, sh, dh, dw, sw, lo, hi, lowest, 0, yr);
    else interior_row<T, false>(x, row0, W, rows, KH, KW, sh, dh, dw, sw, lo, hi, lowest, cnt, yr);
  }
}

template <class T>
void pool_plane(const WindowGeom& g, Pool kind, bool include_pad, double p, const T* x, T* y, int64_t* idx,
                int64_t idx_base, bool col_major) {
  const size_t nsp = g.in.size();
  if (nsp == 2 && !idx && kind != Pool::kLp) {
    pool_plane_2d(g, kind, include_pad, x, y);
    return;
  }
  if (nsp == 1 && !idx && kind != Pool::kLp) {  // 1-D as a 2-D plane of height 1
    WindowGeom g2;
    g2.in = {1, g.in[0]}, g2.kernel = {1, g.kernel[0]}, g2.stride = {1, g.stride[0]}, g2.dil = {1, g.dil[0]};
    g2.pad_begin = {0, g.pad_begin[0]}, g2.pad_end = {0, g.pad_end[0]}, g2.out = {1, g.out[0]};
    pool_plane_2d(g2, kind, include_pad, x, y);
    return;
  }
  const int64_t osz = g.out_size();
  std::vector<int64_t> o(nsp, 0), kidx(nsp);
  for (int64_t op = 0; op < osz; ++op) {
    if (kind == Pool::kMax) {
      bool found = false;
      T best = T(0);
      int64_t best_off = 0;
      for_window(g, o.data(), kidx.data(), [&](int64_t off, bool inside, bool) {
        if (!inside) return;
        T v = x[off];
        if (!found || v > best) best = v, best_off = off, found = true;
      });
      y[op] = found ? best : (std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest());
      if (idx) {
        int64_t off = best_off;
        if (col_major) {
          int64_t rem = best_off, cm = 0, mul = 1;
          std::vector<int64_t> c(nsp);
          for (size_t d = nsp; d-- > 0;) c[d] = rem % g.in[d], rem /= g.in[d];
          for (size_t d = 0; d < nsp; ++d) cm += c[d] * mul, mul *= g.in[d];
          off = cm;
        }
        idx[op] = idx_base + off;
      }
    } else {
      double acc = 0;
      int64_t cnt = 0;
      for_window(g, o.data(), kidx.data(), [&](int64_t off, bool inside, bool pad_region) {
        if (inside) {
          double v = static_cast<double>(x[off]);
          acc += kind == Pool::kAvg ? v : (p == 2 ? v * v : std::pow(std::fabs(v), p));
          ++cnt;
        } else if (include_pad && pad_region) {
          ++cnt;
        }
      });
      double r = kind == Pool::kAvg ? (cnt ? acc / cnt : 0.0) : (p == 2 ? std::sqrt(acc) : std::pow(acc, 1.0 / p));
      y[op] = static_cast<T>(r);
    }
    for (size_t d = nsp; d-- > 0;) {
      if (++o[d] < g.out[d]) break;
      o[d] = 0;
    }
  }
}

Status pool_kernel(KernelContext& ctx, Pool kind, bool global) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  if (x->rank() < 3) return ku::op_error(ctx, "input " + ku::shape_str(x->shape) + " needs rank >= 3 (N, C, spatial…)");
  std::vector<int64_t> in_sp(x->shape.begin() + 2, x->shape.end());
  WindowGeom g;
  if (global) {
    g.in = in_sp;
    g.kernel = in_sp;
    g.stride.assign(in_sp.size(), 1);
    g.dil.assign(in_sp.size(), 1);
    g.pad_begin.assign(in_sp.size(), 0);
    g.pad_end.assign(in_sp.size(), 0);
    g.out.assign(in_sp.size(), 1);
  } else {
    FLEETRT_RETURN_IF_ERROR(ku::window_geometry(ctx, in_sp, {}, true, &g));
  }
  const int64_t N = x->shape[0], C = x->shape[1];
  std::vector<int64_t> oshape = {N, C};
  oshape.insert(oshape.end(), g.out.begin(), g.out.end());
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, oshape, x->dtype, &y));
  Tensor* ind = nullptr;
  if (kind == Pool::kMax && !global) FLEETRT_RETURN_IF_ERROR(ku::alloc_optional_output(ctx, 1, oshape, DType::kI64, &ind));
  bool include_pad = ctx.attrs().get_int("count_include_pad", 0) != 0;
  double p = static_cast<double>(ctx.attrs().get_int("p", 2));
  bool col_major = ctx.attrs().get_int("storage_order", 0) != 0;
  const int64_t isz = g.in_size(), osz = g.out_size(), planes = N * C;
  if (y->numel() == 0) return Status::Ok();
  auto run = [&](auto tag, const auto* xin, auto* yout) {
    using T = decltype(tag);
    ku::parallel_elems(ctx, planes, osz * g.kernel_size(), [&](int64_t p0, int64_t p1) {
      for (int64_t pl = p0; pl < p1; ++pl) {
        if (global && isz > 0) global_plane<T>(kind, p, xin + pl * isz, isz, yout + pl);
        else
          pool_plane<T>(g, kind, include_pad, p, xin + pl * isz, yout + pl * osz, ind ? ind->as<int64_t>() + pl * osz : nullptr,
                        pl * isz, col_major);
      }
    });
  };
  DType t = x->dtype;
  if (t == DType::kF16 || t == DType::kBF16) {
    const float* xf = ku::as_float_buffer(ctx, *x);
    float* yf = ku::float_out_buffer(ctx, *y);
    run(float{}, xf, yf);
    ku::store_float_buffer(yf, *y);
    return Status::Ok();
  }
  bool ok = false;
  ku::dispatch_numeric(t, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same<T, bool>::value) {
      if (kind == Pool::kMax || std::is_floating_point<T>::value) {
        run(T{}, x->as<T>(), y->as<T>());
        ok = true;
      }
    }
  });
  if (!ok) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(t));
  return Status::Ok();
}

Status k_MaxPool(KernelContext& ctx) { return pool_kernel(ctx, Pool::kMax, false); }
Status k_AveragePool(KernelContext& ctx) { return pool_kernel(ctx, Pool::kAvg, false); }
Status k_LpPool(KernelContext& ctx) { return pool_kernel(ctx, Pool::kLp, false); }
Status k_GlobalMaxPool(KernelContext& ctx) { return pool_kernel(ctx, Pool::kMax, true); }
Status k_GlobalAveragePool(KernelContext& ctx) { return pool_kernel(ctx, Pool::kAvg, true); }
Status k_GlobalLpPool(KernelContext& ctx) { return pool_kernel(ctx, Pool::kLp, true); }

// MaxUnpool: scatters X into zeros at the flat positions given by I (from MaxPool's Indices).
Status k_MaxUnpool(KernelContext& ctx) {
  const Tensor *x, *ind;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &ind));
  const Tensor* os = ctx.num_inputs() > 2 ? ctx.input(2) : nullptr;
  if (x->rank() < 3) return ku::op_error(ctx, "input needs rank >= 3");
  // indices address the natural unpooled shape; output_shape (when given) may be larger
  const size_t nsp = x->rank() - 2;
  std::vector<int64_t> k = ctx.attrs().get_ints("kernel_shape"), s = ctx.attrs().get_ints("strides"),
                       pads = ctx.attrs().get_ints("pads");
  if (k.size() != nsp) return ku::op_error(ctx, "kernel_shape does not match the spatial dims");
  if (s.empty()) s.assign(nsp, 1);
  if (pads.empty()) pads.assign(2 * nsp, 0);
  std::vector<int64_t> natural = {x->shape[0], x->shape[1]};
  for (size_t d = 0; d < nsp; ++d) natural.push_back((x->shape[d + 2] - 1) * s[d] + k[d] - pads[d] - pads[nsp + d]);
  std::vector<int64_t> oshape = natural;
  if (os) {
    FLEETRT_RETURN_IF_ERROR(ku::read_int_tensor(ctx, *os, &oshape));
    if (oshape.size() != natural.size()) return ku::op_error(ctx, "output_shape has the wrong rank");
  }
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, oshape, x->dtype, &y));
  std::vector<int64_t> iv;
  FLEETRT_RETURN_IF_ERROR(ku::read_int_tensor(ctx, *ind, &iv));
  if (static_cast<int64_t>(iv.size()) != x->numel()) return ku::op_error(ctx, "indices and X differ in size");
  const size_t eb = dtype_bytes(x->dtype, 1);
  std::fill(static_cast<char*>(y->data), static_cast<char*>(y->data) + y->bytes(), 0);
  for (int64_t i = 0; i < x->numel(); ++i) {
    int64_t rem = iv[i], target = 0, mul = 1;
    if (rem < 0 || rem >= ku::numel_of(natural))
      return ku::op_error(ctx, "index " + std::to_string(iv[i]) + " is out of range");
    for (size_t d = natural.size(); d-- > 0;) {
      int64_t c = rem % natural[d];
      rem /= natural[d];
      if (c >= oshape[d]) return ku::op_error(ctx, "index " + std::to_string(iv[i]) + " falls outside output_shape");
      target += c * mul;
      mul *= oshape[d];
    }
    std::memcpy(static_cast<char*>(y->data) + target * eb, static_cast<const char*>(x->data) + i * eb, eb);
  }
  return Status::Ok();
}

}  // namespace

FLEETRT_REGISTER_KERNEL("", "MaxPool", k_MaxPool);
FLEETRT_REGISTER_KERNEL("", "AveragePool", k_AveragePool);
FLEETRT_REGISTER_KERNEL("", "LpPool", k_LpPool);
FLEETRT_REGISTER_KERNEL("", "GlobalMaxPool", k_GlobalMaxPool);
FLEETRT_REGISTER_KERNEL("", "GlobalAveragePool", k_GlobalAveragePool);
FLEETRT_REGISTER_KERNEL("", "GlobalLpPool", k_GlobalLpPool);
FLEETRT_REGISTER_KERNEL("", "MaxUnpool", k_MaxUnpool);

}  // namespace fleetrt
