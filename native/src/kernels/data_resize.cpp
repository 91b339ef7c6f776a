// Resize (opsets 10–19) and Upsample (7/9): nearest / linear / cubic, every coordinate
// transformation mode, keep_aspect_ratio_policy, axes, exclude_outside and antialias.
// Interpolation is separable, so each resized axis is one pass of (index, weight) taps.
#include <cmath>

#include "data_util.h"

namespace fleetrt {
namespace {
using namespace datak;

enum class Mode { kNearest, kLinear, kCubic };
enum class Coord { kHalfPixel, kHalfPixelSym, kPytorchHalfPixel, kAlignCorners, kAsymmetric, kTfCrop, kTfHalfPixelNearest };
enum class Round { kPreferFloor, kPreferCeil, kFloor, kCeil, kSimple };

struct Params {
  Mode mode = Mode::kNearest;
  Coord coord = Coord::kHalfPixel;
  Round round = Round::kPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  bool antialias = false;
  double extrapolation = 0;
};

// Per output index along one axis: source indices and weights (taps of each), or "extrapolate".
struct AxisPlan {
  int64_t in = 0, out = 0;
  int taps = 0;
  std::vector<int64_t> idx;
  std::vector<double> w;
  std::vector<uint8_t> extrap;
  bool identity = false;
};

// Source coordinate of output index o. Computed in float like onnxruntime (and the spec's
// reference under NumPy 2): exact-tie cases of the nearest modes depend on it.
double original_coord(const Params& p, int64_t o, int64_t in, int64_t out, double scale_d, double r0_d, double r1_d) {
  const float x = static_cast<float>(o), scale = static_cast<float>(scale_d), r0 = static_cast<float>(r0_d),
              r1 = static_cast<float>(r1_d), fin = static_cast<float>(in), fout = static_cast<float>(out);
  switch (p.coord) {
    case Coord::kHalfPixel: return (x + 0.5f) / scale - 0.5f;
    case Coord::kHalfPixelSym: {
      float adjustment = fout / (scale * fin);
      float center = fin / 2;
      return center * (1 - adjustment) + (x + 0.5f) / scale - 0.5f;
    }
    case Coord::kPytorchHalfPixel: return out > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
    case Coord::kAlignCorners: {
      // The spec divides by the real-valued output length scale * in, not the rounded one.
      float ow = scale * fin;
      return ow == 1 ? 0.0f : x * (fin - 1) / (ow - 1);
    }
    case Coord::kAsymmetric: return x / scale;
    case Coord::kTfHalfPixelNearest: return (x + 0.5f) / scale;
    case Coord::kTfCrop: {
      float v = out == 1 ? (r1 - r0) * (fin - 1) / 2 : x * (r1 - r0) * (fin - 1) / (fout - 1);
      return v + r0 * (fin - 1);
    }
  }
  return x;
}

int64_t nearest_index(Round r, double x, bool down) {
  double fl = std::floor(x), frac = x - fl;
  switch (r) {
    case Round::kPreferFloor: return static_cast<int64_t>(frac <= 0.5 ? fl : fl + 1);
    case Round::kPreferCeil: return static_cast<int64_t>(frac < 0.5 ? fl : fl + 1);
    case Round::kFloor: return static_cast<int64_t>(fl);
    case Round::kCeil: return static_cast<int64_t>(std::ceil(x));
    case Round::kSimple: return static_cast<int64_t>(down ? std::ceil(x) : fl);
  }
  return static_cast<int64_t>(fl);
}

double cubic_w(double t, double a) {
  t = std::fabs(t);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

AxisPlan plan_axis(const Params& p, int64_t in, int64_t out, double scale, double r0, double r1) {
  AxisPlan ap;
  ap.in = in;
  ap.out = out;
  ap.extrap.assign(out, 0);
  // Kernel support: antialias widens the filter by 1/scale when downsampling.
  double s = p.antialias && scale < 1 ? scale : 1.0;
  int64_t start = 0;
  if (p.mode == Mode::kNearest) {
    ap.taps = 1;
  } else if (p.mode == Mode::kLinear) {
    start = static_cast<int64_t>(std::floor(-1 / s) + 1);
    ap.taps = static_cast<int>(2 - 2 * start);
  } else {
    start = static_cast<int64_t>(std::floor(-2 / s) + 1);
    ap.taps = static_cast<int>(2 - 2 * start);
  }
  ap.idx.assign(out * ap.taps, 0);
  ap.w.assign(out * ap.taps, 0);
  bool ident = in == out;
  for (int64_t o = 0; o < out; ++o) {
    double x = original_coord(p, o, in, out, scale, r0, r1);
    int64_t* id = &ap.idx[o * ap.taps];
    double* w = &ap.w[o * ap.taps];
    if (p.coord == Coord::kTfCrop && (x < 0 || x > static_cast<double>(in - 1))) {
      ap.extrap[o] = 1;
      ident = false;
      continue;
    }
    if (p.mode == Mode::kNearest) {
      int64_t i = nearest_index(p.round, x, scale < 1);
      id[0] = std::min(std::max<int64_t>(i, 0), in - 1);
      w[0] = 1;
      if (id[0] != o) ident = false;
      continue;
    }
    // An integral coordinate counts as ratio 1 from the pixel to its left (as the spec's
    // reference does); the weights are the same, the chosen taps differ only for antialias.
    double x0 = std::floor(x), ratio = x - x0;
    if (ratio == 0) {
      x0 -= 1;
      ratio = 1;
    }
    double sum = 0;
    for (int t = 0; t < ap.taps; ++t) {
      int64_t i = static_cast<int64_t>(x0) + start + t;
      double arg = (static_cast<double>(start + t) - ratio) * s;
      double wt = p.mode == Mode::kLinear ? std::max(0.0, 1 - std::fabs(arg)) : cubic_w(arg, p.cubic_a);
      if (p.exclude_outside && (i < 0 || i >= in)) wt = 0;
      id[t] = std::min(std::max<int64_t>(i, 0), in - 1);
      w[t] = wt;
      sum += wt;
    }
    if (p.antialias || p.exclude_outside)
      for (int t = 0; t < ap.taps; ++t) w[t] = sum != 0 ? w[t] / sum : 0;
    for (int t = 0; t < ap.taps; ++t)
      if (w[t] != 0 && !(w[t] == 1 && id[t] == o)) ident = false;
  }
  ap.identity = ident;
  return ap;
}

template <class T>
void gather_row(T* d, const T* s, const int64_t* idx, int64_t n) {
  for (int64_t j = 0; j < n; ++j) d[j] = s[idx[j]];
}

// dst[j] += w_t · row_t[j] for j < n over the taps t of output o, in tap order, zero weights skipped
// (row t at base + idx_t · row_stride): one output row (or value, n = 1) of a pass along ap's axis.
template <class S>
inline void add_taps(const AxisPlan& ap, int64_t o, const S* base, int64_t row_stride, int64_t n, double* dst) {
  for (int t = 0; t < ap.taps; ++t) {
    const double w = ap.w[o * ap.taps + t];
    if (w == 0) continue;
    const S* src = base + ap.idx[o * ap.taps + t] * row_stride;
    for (int64_t j = 0; j < n; ++j) dst[j] += w * static_cast<double>(src[j]);
  }
}

// One separable pass along `axis` (shape `sh`, contiguous doubles) into `dst`.
void resize_pass(KernelContext& ctx, const Params& p, const AxisPlan& ap, const std::vector<int64_t>& sh, int64_t axis,
                 const std::vector<double>& src, std::vector<double>* dst) {
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= sh[k];
  for (size_t k = axis + 1; k < sh.size(); ++k) inner *= sh[k];
  dst->assign(outer * ap.out * inner, 0);
  double* d = dst->data();
  const double* s = src.data();
  ctx.parallel_for(outer * ap.out, grain_for(outer * ap.out, inner * ap.taps * 8), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      int64_t oi = r / ap.out, o = r % ap.out;
      double* drow = d + r * inner;
      if (ap.extrap[o]) {
        for (int64_t j = 0; j < inner; ++j) drow[j] = p.extrapolation;
        continue;
      }
      add_taps(ap, o, s + oi * ap.in * inner, inner, inner, drow);
    }
  });
}

// float32 planes resized along their last two axes only (the upsampling of conv nets): the two
// passes of Resize's slab loop, the same sums in the same order in double, but reading the floats
// where they lie and the second pass writing floats straight out, with no plane of doubles between
// it and the output. 256×50×50 → 100×100 bilinear, 2 threads: 3.9 ms, by the slab loop 7.5, with
// the whole tensor in doubles (as before either) 24.4; unet_tiny's 8×8×12 → 16×24: 9 µs, 24, 32.
void resize_planes(KernelContext& ctx, const AxisPlan& ph, const AxisPlan& pw, const float* x, float* y, int64_t n) {
  const int64_t H = ph.in, W = pw.in, OH = ph.out, OW = pw.out, planes = n / (H * W);
  ctx.parallel_for(planes, grain_for(planes, OH * OW * 16), [&](int64_t b, int64_t e) {
    thread_local std::vector<double> rows;  // the plane resized along H: OH × W
    rows.resize(static_cast<size_t>(OH * W));
    for (int64_t pl = b; pl < e; ++pl) {
      const float* xp = x + pl * H * W;
      float* yp = y + pl * OH * OW;
      for (int64_t oh = 0; oh < OH; ++oh) {
        double* r = rows.data() + oh * W;
        if (ph.identity) {
          for (int64_t j = 0; j < W; ++j) r[j] = xp[oh * W + j];
          continue;
        }
        std::fill(r, r + W, 0.0);
        add_taps(ph, oh, xp, W, W, r);
      }
      for (int64_t oh = 0; oh < OH; ++oh) {
        const double* r = rows.data() + oh * W;
        float* yr = yp + oh * OW;
        if (pw.identity) {
          for (int64_t ow = 0; ow < OW; ++ow) yr[ow] = static_cast<float>(r[ow]);
          continue;
        }
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = 0;
          add_taps(pw, ow, r, 1, 1, &acc);
          yr[ow] = static_cast<float>(acc);
        }
      }
    }
  });
}

Status parse_params(KernelContext& ctx, Params* p) {
  const Attributes& a = ctx.attrs();
  const bool legacy = ctx.op_type() == "Upsample" || ctx.opset() < 11;
  std::string mode = a.get_string("mode", "nearest");
  if (mode == "nearest") p->mode = Mode::kNearest;
  else if (mode == "linear" || mode == "bilinear" || mode == "trilinear") p->mode = Mode::kLinear;
  else if (mode == "cubic" && !legacy) p->mode = Mode::kCubic;
  else return err(ctx, "unsupported mode '" + mode + "'");
  if (legacy) {
    p->coord = Coord::kAsymmetric;
    p->round = Round::kSimple;
    return Status::Ok();
  }
  std::string c = a.get_string("coordinate_transformation_mode", "half_pixel");
  if (c == "half_pixel") p->coord = Coord::kHalfPixel;
  else if (c == "half_pixel_symmetric") p->coord = Coord::kHalfPixelSym;
  else if (c == "pytorch_half_pixel") p->coord = Coord::kPytorchHalfPixel;
  else if (c == "align_corners") p->coord = Coord::kAlignCorners;
  else if (c == "asymmetric") p->coord = Coord::kAsymmetric;
  else if (c == "tf_crop_and_resize") p->coord = Coord::kTfCrop;
  else if (c == "tf_half_pixel_for_nearest") p->coord = Coord::kTfHalfPixelNearest;
  else return err(ctx, "unsupported coordinate_transformation_mode '" + c + "'");
  std::string n = a.get_string("nearest_mode", "round_prefer_floor");
  if (n == "round_prefer_floor") p->round = Round::kPreferFloor;
  else if (n == "round_prefer_ceil") p->round = Round::kPreferCeil;
  else if (n == "floor") p->round = Round::kFloor;
  else if (n == "ceil") p->round = Round::kCeil;
  else return err(ctx, "unsupported nearest_mode '" + n + "'");
  p->cubic_a = a.get_float("cubic_coeff_a", -0.75);
  p->exclude_outside = a.get_int("exclude_outside", 0) != 0;
  p->antialias = a.get_int("antialias", 0) != 0;
  p->extrapolation = a.get_float("extrapolation_value", 0.0);
  return Status::Ok();
}

Status Resize(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  Params p;
  FLEETRT_RETURN_IF_ERROR(parse_params(ctx, &p));
  const int64_t rank = static_cast<int64_t>(x->rank());
  const bool legacy = ctx.op_type() == "Upsample" || ctx.opset() < 11;
  const Tensor* roi_t = legacy ? nullptr : ctx.input(1);
  const Tensor* scales_t = ctx.input(legacy ? 1 : 2);
  const Tensor* sizes_t = legacy ? nullptr : ctx.input(3);

  std::vector<int64_t> axes = ctx.attrs().get_ints("axes");
  if (axes.empty())
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  for (auto& ax : axes) FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, ax, rank, &ax));
  const size_t na = axes.size();

  std::vector<double> scales(rank, 1.0), roi0(rank, 0.0), roi1(rank, 1.0);
  std::vector<int64_t> out_shape = x->shape;
  std::vector<double> given;
  if (scales_t && scales_t->numel() > 0) {
    for (int64_t i = 0; i < scales_t->numel(); ++i) given.push_back(get_f64(*scales_t, i));
  } else if (ctx.op_type() == "Upsample" && ctx.attrs().has("scales")) {
    given = ctx.attrs().get_floats("scales");
  }
  if (!given.empty()) {
    if (given.size() != na) return err(ctx, "scales has " + std::to_string(given.size()) + " values for " + std::to_string(na) + " axes");
    for (size_t i = 0; i < na; ++i) {
      if (!(given[i] > 0)) return err(ctx, "scales must be positive");
      scales[axes[i]] = given[i];
      out_shape[axes[i]] = static_cast<int64_t>(std::floor(given[i] * static_cast<double>(x->shape[axes[i]])));
    }
  } else if (sizes_t && sizes_t->numel() > 0) {
    std::vector<int64_t> sz;
    FLEETRT_RETURN_IF_ERROR(read_ints(ctx, sizes_t, "sizes", &sz));
    if (sz.size() != na) return err(ctx, "sizes has " + std::to_string(sz.size()) + " values for " + std::to_string(na) + " axes");
    std::string policy = ctx.attrs().get_string("keep_aspect_ratio_policy", "stretch");
    if (policy == "stretch") {
      for (size_t i = 0; i < na; ++i) {
        out_shape[axes[i]] = sz[i];
        scales[axes[i]] = static_cast<double>(sz[i]) / static_cast<double>(x->shape[axes[i]]);
      }
    } else if (policy == "not_larger" || policy == "not_smaller") {
      double sc = policy == "not_larger" ? INFINITY : 0;
      for (size_t i = 0; i < na; ++i) {
        double r = static_cast<double>(sz[i]) / static_cast<double>(x->shape[axes[i]]);
        sc = policy == "not_larger" ? std::min(sc, r) : std::max(sc, r);
      }
      for (size_t i = 0; i < na; ++i) {
        scales[axes[i]] = sc;
        out_shape[axes[i]] = static_cast<int64_t>(std::floor(sc * static_cast<double>(x->shape[axes[i]]) + 0.5));
      }
    } else {
      return err(ctx, "unsupported keep_aspect_ratio_policy '" + policy + "'");
    }
  } else {
    return err(ctx, "one of 'scales' or 'sizes' must be given");
  }
  if (p.coord == Coord::kTfCrop) {
    if (!roi_t || roi_t->numel() != static_cast<int64_t>(2 * na))
      return err(ctx, "tf_crop_and_resize needs an roi of " + std::to_string(2 * na) + " values");
    for (size_t i = 0; i < na; ++i) {
      roi0[axes[i]] = get_f64(*roi_t, i);
      roi1[axes[i]] = get_f64(*roi_t, na + i);
    }
  }
  for (int64_t d : out_shape)
    if (d < 0) return err(ctx, "negative output size");

  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, out_shape, &out));
  if (!out) return Status::Ok();
  if (out->numel() == 0) return Status::Ok();
  if (x->numel() == 0) return err(ctx, "cannot resize an empty tensor to a non-empty one");

  std::vector<AxisPlan> plans(rank);
  for (int64_t k = 0; k < rank; ++k)
    plans[k] = plan_axis(p, x->shape[k], out_shape[k], scales[k], roi0[k], roi1[k]);

  // Nearest without extrapolation is a gather: works for every element type.
  bool any_extrap = false;
  for (auto& ap : plans)
    for (uint8_t e : ap.extrap) any_extrap |= e != 0;
  if (p.mode == Mode::kNearest && !any_extrap) {
    FLEETRT_RETURN_IF_ERROR(check_movable(ctx, x->dtype));
    const std::vector<int64_t> ist = strides_of(x->shape);
    const int64_t last = out_shape[rank - 1];
    const int64_t rows = out->numel() / last;
    const std::vector<int64_t>& lidx = plans[rank - 1].idx;
    const size_t es = elem_size(x->dtype);
    ctx.parallel_for(rows, grain_for(rows, last * static_cast<int64_t>(es)), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        int64_t rem = r, base = 0;
        for (int64_t k = rank - 2; k >= 0; --k) {
          base += plans[k].idx[rem % out_shape[k]] * ist[k];
          rem /= out_shape[k];
        }
        switch (x->dtype == DType::kString ? 0 : es) {
          case 1: gather_row(out->as<uint8_t>() + r * last, x->as<uint8_t>() + base, lidx.data(), last); break;
          case 2: gather_row(out->as<uint16_t>() + r * last, x->as<uint16_t>() + base, lidx.data(), last); break;
          case 4: gather_row(out->as<uint32_t>() + r * last, x->as<uint32_t>() + base, lidx.data(), last); break;
          case 8: gather_row(out->as<uint64_t>() + r * last, x->as<uint64_t>() + base, lidx.data(), last); break;
          default:
            for (int64_t j = 0; j < last; ++j) copy_elems(x->dtype, out->data, r * last + j, x->data, base + lidx[j], 1);
        }
      }
    });
    return Status::Ok();
  }
  if (!is_numeric(x->dtype)) return err(ctx, std::string("interpolation needs a numeric tensor, got ") + dtype_name(x->dtype));
  bool planes_only = rank >= 2 && !any_extrap;
  for (int64_t k = 0; k + 2 < rank; ++k) planes_only = planes_only && plans[k].identity;
  if (x->dtype == DType::kF32 && planes_only) {
    resize_planes(ctx, plans[rank - 2], plans[rank - 1], x->as<float>(), out->as<float>(), x->numel());
    return Status::Ok();
  }

  // Anything else through the passes in double, slab by slab: the leading axes that keep their
  // size (batch, channels) cut the tensor into slabs resized alike, each in doubles only its own
  // size (in L2 rather than memory), the slabs in parallel and the passes inside one inline.
  int64_t lead = 0;
  while (lead < rank && plans[lead].identity) ++lead;
  int64_t slabs = 1, in_slab = 1, out_slab = 1;
  for (int64_t k = 0; k < rank; ++k) (k < lead ? slabs : in_slab) *= x->shape[k];
  for (int64_t k = lead; k < rank; ++k) out_slab *= out_shape[k];
  const bool integral = !is_float_dtype(x->dtype);
  ctx.parallel_for(slabs, grain_for(slabs, out_slab * 16), [&](int64_t b, int64_t e) {
    thread_local std::vector<double> cur, nxt;
    std::vector<int64_t> sh;
    for (int64_t sl = b; sl < e; ++sl) {
      cur.resize(static_cast<size_t>(in_slab));
      for (int64_t i = 0; i < in_slab; ++i) cur[i] = get_f64(*x, sl * in_slab + i);
      sh.assign(x->shape.begin() + lead, x->shape.end());
      for (int64_t k = lead; k < rank; ++k) {
        if (plans[k].identity) continue;
        resize_pass(ctx, p, plans[k], sh, k - lead, cur, &nxt);
        sh[k - lead] = out_shape[k];
        cur.swap(nxt);
      }
      for (int64_t i = 0; i < out_slab; ++i)
        set_f64(*out, sl * out_slab + i, integral ? std::nearbyint(cur[i]) : cur[i]);
    }
  });
  return Status::Ok();
}

FLEETRT_REGISTER_KERNEL("", "Resize", Resize);
FLEETRT_REGISTER_KERNEL("", "Upsample", Resize);

}  // namespace
}  // namespace fleetrt
