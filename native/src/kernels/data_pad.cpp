// Pad (constant / reflect / edge / wrap, all opset forms) and CenterCropPad. Both map each output
// coordinate, per axis, to a source coordinate or to "fill", then copy row runs.
#include <algorithm>

#include "data_util.h"

namespace fleetrt {
namespace {
using namespace datak;

// maps[k][o] = source index along axis k for output index o, or -1 for the fill value.
void map_copy(KernelContext& ctx, const Tensor& in, Tensor* out, const std::vector<std::vector<int64_t>>& maps,
              const void* fill) {
  const DType t = in.dtype;
  const size_t es = elem_size(t);
  const int64_t r = static_cast<int64_t>(out->rank());
  if (out->numel() == 0) return;
  if (r == 0) {
    copy_elems(t, out->data, 0, in.data, 0, 1);
    return;
  }
  std::vector<int64_t> ist = strides_of(in.shape);
  const int64_t inner = out->shape[r - 1];
  const std::vector<int64_t>& last = maps[r - 1];
  // Runs of the last axis: (out start, src start or -1, length).
  struct Run {
    int64_t o, s, n;
  };
  std::vector<Run> runs;
  for (int64_t j = 0; j < inner; ++j) {
    int64_t s = last[j];
    if (!runs.empty()) {
      Run& b = runs.back();
      if ((s < 0 && b.s < 0) || (s >= 0 && b.s >= 0 && s == b.s + b.n)) {
        ++b.n;
        continue;
      }
    }
    runs.push_back({j, s, 1});
  }
  auto put_fill = [&](int64_t at, int64_t n) {
    if (t == DType::kString) {
      for (int64_t i = 0; i < n; ++i) static_cast<std::string*>(out->data)[at + i] = *static_cast<const std::string*>(fill);
    } else {
      char* d = static_cast<char*>(out->data) + at * es;
      for (int64_t i = 0; i < n; ++i) std::memcpy(d + i * es, fill, es);
    }
  };
  const int64_t rows = out->numel() / inner;
  ctx.parallel_for(rows, grain_for(rows, inner * static_cast<int64_t>(es)), [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      int64_t rem = row, src = 0;
      bool filled = false;
      for (int64_t k = r - 2; k >= 0; --k) {
        int64_t o = rem % out->shape[k];
        rem /= out->shape[k];
        int64_t s = maps[k][o];
        if (s < 0) {
          filled = true;
          break;
        }
        src += s * ist[k];
      }
      int64_t dst = row * inner;
      if (filled) {
        put_fill(dst, inner);
        continue;
      }
      for (const Run& run : runs) {
        if (run.s < 0) put_fill(dst + run.o, run.n);
        else copy_elems(t, out->data, dst + run.o, in.data, src + run.s, run.n);
      }
    }
  });
}

Status Pad(KernelContext& ctx) {
  const Tensor* in;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, in->dtype));
  const int64_t r = static_cast<int64_t>(in->rank());
  std::string mode = ctx.attrs().get_string("mode", "constant");
  std::vector<int64_t> pads, axes;
  const Tensor* cval = nullptr;
  double attr_value = 0;
  if (ctx.opset() < 11) {
    pads = ctx.attrs().has("pads") ? ctx.attrs().get_ints("pads") : ctx.attrs().get_ints("paddings");
    attr_value = ctx.attrs().get_float("value", 0.0);
  } else {
    FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(1), "pads", &pads));
    if (ctx.num_inputs() > 2) cval = ctx.input(2);
    if (ctx.num_inputs() > 3 && ctx.input(3)) FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(3), "axes", &axes));
  }
  if (axes.empty())
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  const int64_t na = static_cast<int64_t>(axes.size());
  if (static_cast<int64_t>(pads.size()) != 2 * na)
    return err(ctx, "pads has " + std::to_string(pads.size()) + " entries, expected " + std::to_string(2 * na));
  std::vector<int64_t> pb(r, 0), pe(r, 0);
  for (int64_t i = 0; i < na; ++i) {
    int64_t a;
    FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, axes[i], r, &a));
    pb[a] = pads[i];
    pe[a] = pads[i + na];
  }
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    return err(ctx, "unknown mode '" + mode + "'");
  std::vector<int64_t> shape(r);
  std::vector<std::vector<int64_t>> maps(r);
  for (int64_t k = 0; k < r; ++k) {
    int64_t dim = in->shape[k];
    shape[k] = dim + pb[k] + pe[k];
    if (shape[k] < 0) return err(ctx, "pads make axis " + std::to_string(k) + " negative");
    if (mode != "constant" && dim == 0 && shape[k] > 0) return err(ctx, "cannot " + mode + "-pad an empty axis");
    if (mode == "reflect" && dim == 1 && (pb[k] > 0 || pe[k] > 0)) {
      // Reflecting a single element repeats it.
    }
    maps[k].resize(shape[k]);
    for (int64_t o = 0; o < shape[k]; ++o) {
      int64_t x = o - pb[k];
      if (x >= 0 && x < dim) {
        maps[k][o] = x;
      } else if (mode == "constant") {
        maps[k][o] = -1;
      } else if (mode == "edge") {
        maps[k][o] = x < 0 ? 0 : dim - 1;
      } else if (mode == "wrap") {
        maps[k][o] = ((x % dim) + dim) % dim;
      } else {  // reflect without repeating the edge
        if (dim == 1) {
          maps[k][o] = 0;
        } else {
          int64_t period = 2 * (dim - 1), m = ((x % period) + period) % period;
          maps[k][o] = m < dim ? m : period - m;
        }
      }
    }
  }
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &out));
  if (!out) return Status::Ok();
  // The fill element, in the input dtype.
  std::vector<char> fill(std::max<size_t>(elem_size(in->dtype), 1), 0);
  std::string sfill;
  const void* fp = fill.data();
  if (in->dtype == DType::kString) {
    if (cval && cval->numel() > 0 && cval->dtype == DType::kString) sfill = cval->as<std::string>()[0];
    fp = &sfill;
  } else if (cval && cval->numel() > 0) {
    if (cval->dtype != in->dtype) return err(ctx, "constant_value dtype differs from data dtype");
    std::memcpy(fill.data(), cval->data, elem_size(in->dtype));
  } else if (attr_value != 0) {
    Tensor ft;
    ft.dtype = in->dtype;
    ft.shape = {1};
    ft.data = fill.data();
    set_f64(ft, 0, attr_value);
  }
  map_copy(ctx, *in, out, maps, fp);
  return Status::Ok();
}

Status CenterCropPad(KernelContext& ctx) {
  const Tensor* in;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, in->dtype));
  const int64_t r = static_cast<int64_t>(in->rank());
  std::vector<int64_t> target, axes = ctx.attrs().get_ints("axes");
  FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(1), "shape", &target));
  if (axes.empty())
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  if (axes.size() != target.size())
    return err(ctx, "shape has " + std::to_string(target.size()) + " entries for " + std::to_string(axes.size()) + " axes");
  std::vector<int64_t> shape = in->shape;
  std::vector<int64_t> offset(r, 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a;
    FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, axes[i], r, &a));
    if (target[i] < 0) return err(ctx, "negative target size");
    int64_t dim = in->shape[a];
    shape[a] = target[i];
    if (target[i] < dim) offset[a] = (dim - target[i]) / 2;             // crop start
    else offset[a] = -((target[i] - dim) / 2);                          // pad before
  }
  std::vector<std::vector<int64_t>> maps(r);
  for (int64_t k = 0; k < r; ++k) {
    maps[k].resize(shape[k]);
    for (int64_t o = 0; o < shape[k]; ++o) {
      int64_t s = o + offset[k];
      maps[k][o] = s >= 0 && s < in->shape[k] ? s : -1;
    }
  }
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &out));
  if (!out) return Status::Ok();
  std::vector<char> zero(std::max<size_t>(elem_size(in->dtype), 1), 0);
  std::string empty;
  map_copy(ctx, *in, out, maps, in->dtype == DType::kString ? static_cast<const void*>(&empty) : zero.data());
  return Status::Ok();
}

}  // namespace

FLEETRT_REGISTER_KERNEL("", "Pad", Pad);
FLEETRT_REGISTER_KERNEL("", "CenterCropPad", CenterCropPad);

}  // namespace fleetrt
