// GridSample (opsets 16/20/22, any number of spatial dims; nearest / linear / cubic with zeros,
// border and reflection padding) and AffineGrid (2-D and 3-D).
#include <cmath>

#include "data_util.h"

namespace fleetrt {
namespace {
using namespace datak;

enum class GMode { kNearest, kLinear, kCubic };
enum class GPad { kZeros, kBorder, kReflection };

// Reflects x into [lo, hi] by folding at the nearest border repeatedly.
double reflect(double x, double lo, double hi) {
  double rng = hi - lo;
  if (rng <= 0) return lo;
  if (x < lo) {
    double dx = lo - x;
    int64_t n = static_cast<int64_t>(dx / rng);
    double r = dx - static_cast<double>(n) * rng;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    double dx = x - hi;
    int64_t n = static_cast<int64_t>(dx / rng);
    double r = dx - static_cast<double>(n) * rng;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

void cubic_coeffs(double t, double* c) {
  const double a = -0.75;
  t = std::fabs(t);
  double t1 = t + 1, t2 = 1 - t, t3 = 2 - t;
  c[0] = ((a * t1 - 5 * a) * t1 + 8 * a) * t1 - 4 * a;
  c[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
  c[2] = ((a + 2) * t2 - (a + 3)) * t2 * t2 + 1;
  c[3] = ((a * t3 - 5 * a) * t3 + 8 * a) * t3 - 4 * a;
}

Status GridSample(KernelContext& ctx) {
  const Tensor *x, *grid;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &grid));
  const int64_t r = static_cast<int64_t>(x->rank()) - 2;
  if (r < 1) return err(ctx, "X must have rank >= 3, got " + shape_str(x->shape));
  if (static_cast<int64_t>(grid->rank()) != r + 2 || grid->shape[0] != x->shape[0] || grid->shape[r + 1] != r)
    return err(ctx, "grid must have shape [N, spatial..., " + std::to_string(r) + "], got " + shape_str(grid->shape));
  if (!is_numeric(x->dtype) || !is_float_dtype(grid->dtype)) return err(ctx, "unsupported dtypes");
  std::string m = ctx.attrs().get_string("mode", ctx.opset() >= 20 ? "linear" : "bilinear");
  GMode mode;
  if (m == "nearest") mode = GMode::kNearest;
  else if (m == "linear" || m == "bilinear") mode = GMode::kLinear;
  else if (m == "cubic" || m == "bicubic") mode = GMode::kCubic;
  else return err(ctx, "unsupported mode '" + m + "'");
  std::string pm = ctx.attrs().get_string("padding_mode", "zeros");
  GPad pad;
  if (pm == "zeros") pad = GPad::kZeros;
  else if (pm == "border") pad = GPad::kBorder;
  else if (pm == "reflection") pad = GPad::kReflection;
  else return err(ctx, "unsupported padding_mode '" + pm + "'");
  const bool align = ctx.attrs().get_int("align_corners", 0) != 0;

  const int64_t N = x->shape[0], C = x->shape[1];
  std::vector<int64_t> dims(x->shape.begin() + 2, x->shape.end());
  std::vector<int64_t> out_shape = {N, C};
  for (int64_t k = 0; k < r; ++k) out_shape.push_back(grid->shape[1 + k]);
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, out_shape, &out));
  if (!out || out->numel() == 0) return Status::Ok();

  const int64_t P = numel_of(std::vector<int64_t>(grid->shape.begin() + 1, grid->shape.end() - 1));
  const int64_t S = numel_of(dims);
  if (S == 0) return err(ctx, "cannot sample from empty spatial dims " + shape_str(x->shape));
  const std::vector<int64_t> xst = strides_of(dims);
  const int taps = mode == GMode::kNearest ? 1 : mode == GMode::kLinear ? 2 : 4;
  std::vector<double> lo(r), hi(r);
  for (int64_t k = 0; k < r; ++k) {
    lo[k] = align ? 0.0 : -0.5;
    hi[k] = align ? static_cast<double>(dims[k] - 1) : static_cast<double>(dims[k]) - 0.5;
  }
  // A tap index after padding, or -1 for "reads zero".
  auto pad_index = [&](int64_t i, int64_t k) -> int64_t {
    int64_t d = dims[k];
    if (pad == GPad::kZeros) return i >= 0 && i < d ? i : -1;
    if (pad == GPad::kBorder) return std::min(std::max<int64_t>(i, 0), d - 1);
    int64_t j = static_cast<int64_t>(reflect(static_cast<double>(i), lo[k], hi[k]));
    return std::min(std::max<int64_t>(j, 0), d - 1);
  };

  ctx.parallel_for(N * P, grain_for(N * P, C * 64), [&](int64_t b, int64_t e) {
    std::vector<int64_t> idx(r * taps);
    std::vector<double> w(r * taps);
    for (int64_t np = b; np < e; ++np) {
      const int64_t n = np / P, pix = np % P;
      for (int64_t k = 0; k < r; ++k) {
        // Grid holds (x, y, z…): its last component indexes the first spatial dim.
        double g = get_f64(*grid, (n * P + pix) * r + (r - 1 - k));
        double len = static_cast<double>(dims[k]);
        double c = static_cast<float>(align ? (g + 1) / 2.0 * (len - 1) : ((g + 1) * len - 1) / 2.0);
        if (mode == GMode::kNearest) c = std::nearbyint(c);  // round half to even
        if (c < lo[k] || c > hi[k]) {
          // Bicubic border padding clamps each tap, not the coordinate (as onnxruntime and
          // PyTorch do; the spec's reference clamps both).
          if (pad == GPad::kBorder && mode != GMode::kCubic) c = std::min(std::max(c, 0.0), len - 1);
          else if (pad == GPad::kReflection) c = static_cast<float>(reflect(c, lo[k], hi[k]));
        }
        int64_t* id = &idx[k * taps];
        double* wt = &w[k * taps];
        if (mode == GMode::kNearest) {
          id[0] = pad_index(static_cast<int64_t>(c), k);
          wt[0] = 1;
        } else {
          double f = std::floor(c), t = c - f;
          int64_t i0 = static_cast<int64_t>(f);
          if (mode == GMode::kLinear) {
            id[0] = pad_index(i0, k);
            id[1] = pad_index(i0 + 1, k);
            wt[0] = 1 - t;
            wt[1] = t;
          } else {
            for (int q = 0; q < 4; ++q) id[q] = pad_index(i0 - 1 + q, k);
            cubic_coeffs(t, wt);
          }
        }
      }
      // Sum over the tensor product of taps.
      const int64_t combos = static_cast<int64_t>(std::pow(taps, r));
      for (int64_t c = 0; c < C; ++c) {
        const int64_t base = (n * C + c) * S;
        double acc = 0;
        for (int64_t cb = 0; cb < combos; ++cb) {
          int64_t rem = cb, off = 0;
          double wprod = 1;
          bool zero = false;
          for (int64_t k = r - 1; k >= 0; --k) {
            int q = static_cast<int>(rem % taps);
            rem /= taps;
            int64_t i = idx[k * taps + q];
            if (i < 0) {
              zero = true;
              break;
            }
            off += i * xst[k];
            wprod *= w[k * taps + q];
          }
          if (!zero && wprod != 0) acc += wprod * get_f64(*x, base + off);
        }
        set_f64(*out, (n * C + c) * P + pix, acc);
      }
    }
  });
  return Status::Ok();
}

Status AffineGrid(KernelContext& ctx) {
  const Tensor *theta, *size_t_;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &theta));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &size_t_));
  std::vector<int64_t> size;
  FLEETRT_RETURN_IF_ERROR(read_ints(ctx, size_t_, "size", &size));
  if (size.size() != 4 && size.size() != 5) return err(ctx, "size must have 4 (2-D) or 5 (3-D) values");
  const int64_t r = static_cast<int64_t>(size.size()) - 2, N = size[0];
  if (theta->rank() != 3 || theta->shape[0] != N || theta->shape[1] != r || theta->shape[2] != r + 1)
    return err(ctx, "theta must have shape [N, " + std::to_string(r) + ", " + std::to_string(r + 1) + "], got " +
                        shape_str(theta->shape));
  if (!is_float_dtype(theta->dtype)) return err(ctx, "theta must be a float tensor");
  const bool align = ctx.attrs().get_int("align_corners", 0) != 0;
  std::vector<int64_t> out_shape = {N};
  for (int64_t k = 0; k < r; ++k) out_shape.push_back(size[2 + k]);
  out_shape.push_back(r);
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, out_shape, &out));
  if (!out) return Status::Ok();
  std::vector<int64_t> sp(size.begin() + 2, size.end());
  auto base = [&](int64_t i, int64_t len) -> double {
    if (align) return len > 1 ? -1.0 + 2.0 * static_cast<double>(i) / static_cast<double>(len - 1) : -1.0;
    return -1.0 + (2.0 * static_cast<double>(i) + 1.0) / static_cast<double>(len);
  };
  const int64_t P = numel_of(sp);
  std::vector<double> th(theta->numel());
  for (int64_t i = 0; i < theta->numel(); ++i) th[i] = get_f64(*theta, i);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t p = 0; p < P; ++p) {
      // Homogeneous base coordinate (x, y[, z], 1): x runs along the last spatial dim.
      std::vector<double> v(r + 1, 1.0);
      int64_t rem = p;
      for (int64_t k = r - 1; k >= 0; --k) {
        v[r - 1 - k] = base(rem % sp[k], sp[k]);
        rem /= sp[k];
      }
      for (int64_t i = 0; i < r; ++i) {
        double acc = 0;
        for (int64_t j = 0; j <= r; ++j) acc += th[(n * r + i) * (r + 1) + j] * v[j];
        set_f64(*out, (n * P + p) * r + i, acc);
      }
    }
  return Status::Ok();
}

FLEETRT_REGISTER_KERNEL("", "GridSample", GridSample);
FLEETRT_REGISTER_KERNEL("", "AffineGrid", AffineGrid);

}  // namespace
}  // namespace fleetrt
