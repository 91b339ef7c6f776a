// Layout ops built on strided copies: Transpose, Concat, Split, Slice, Expand, Tile,
// DepthToSpace, SpaceToDepth.
#include <algorithm>

#include "data_transpose.h"
#include "data_util.h"

namespace fleetrt {
namespace {
using namespace datak;

// out = transpose(reshape(in, dims), perm); `out` has the permuted shape's element count.
void permute_into(KernelContext& ctx, const Tensor& in, const std::vector<int64_t>& dims,
                  const std::vector<int64_t>& perm, Tensor* out) {
  std::vector<int64_t> st = strides_of(dims), sh(perm.size()), pst(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    sh[i] = dims[perm[i]];
    pst[i] = st[perm[i]];
  }
  strided_copy(ctx, in.dtype, out->data, in.data, 0, sh, pst);
}

Status Transpose(KernelContext& ctx) {
  const Tensor* in;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, in->dtype));
  int64_t r = static_cast<int64_t>(in->rank());
  std::vector<int64_t> perm = ctx.attrs().get_ints("perm");
  if (perm.empty() && r > 0)
    for (int64_t i = r - 1; i >= 0; --i) perm.push_back(i);
  if (static_cast<int64_t>(perm.size()) != r) return err(ctx, "perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(r));
  std::vector<bool> seen(r, false);
  for (auto& p : perm) {
    FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, p, r, &p));
    if (seen[p]) return err(ctx, "perm is not a permutation");
    seen[p] = true;
  }
  std::vector<int64_t> shape(r);
  for (int64_t i = 0; i < r; ++i) shape[i] = in->shape[perm[i]];
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &out));
  if (!out) return Status::Ok();
  if (in->dtype == DType::kString) permute_into(ctx, *in, in->shape, perm, out);
  else ku::permute(&ctx, elem_size(in->dtype), in->data, in->shape, perm, out->data);
  return Status::Ok();
}

Status Concat(KernelContext& ctx) {
  int n = ctx.num_inputs();
  std::vector<const Tensor*> ins;
  for (int i = 0; i < n; ++i)
    if (const Tensor* t = ctx.input(i)) ins.push_back(t);
  if (ins.empty()) return err(ctx, "needs at least one input");
  const Tensor& first = *ins[0];
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, first.dtype));
  int64_t r = static_cast<int64_t>(first.rank()), axis = 0;
  if (r == 0) return err(ctx, "inputs must have rank >= 1");
  FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, ctx.attrs().get_int("axis", ctx.opset() < 4 ? 1 : 0), r, &axis));
  std::vector<int64_t> shape = first.shape;
  shape[axis] = 0;
  for (const Tensor* t : ins) {
    if (t->dtype != first.dtype) return err(ctx, "inputs have different dtypes");
    if (static_cast<int64_t>(t->rank()) != r) return err(ctx, "inputs have different ranks");
    for (int64_t k = 0; k < r; ++k)
      if (k != axis && t->shape[k] != first.shape[k])
        return err(ctx, "input shapes " + shape_str(first.shape) + " and " + shape_str(t->shape) + " differ off the axis");
    shape[axis] += t->shape[axis];
  }
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &out));
  if (!out) return Status::Ok();
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= shape[k];
  for (int64_t k = axis + 1; k < r; ++k) inner *= shape[k];
  const int64_t out_row = shape[axis] * inner;
  std::vector<int64_t> offs;
  int64_t acc = 0;
  for (const Tensor* t : ins) {
    offs.push_back(acc);
    acc += t->shape[axis] * inner;
  }
  const int64_t es = static_cast<int64_t>(elem_size(first.dtype));
  ctx.parallel_for(outer, grain_for(outer, out_row * es), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o)
      for (size_t k = 0; k < ins.size(); ++k) {
        int64_t len = ins[k]->shape[axis] * inner;
        copy_elems(first.dtype, out->data, o * out_row + offs[k], ins[k]->data, o * len, len);
      }
  });
  return Status::Ok();
}

Status Split(KernelContext& ctx) {
  const Tensor* in;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, in->dtype));
  int64_t r = static_cast<int64_t>(in->rank()), axis = 0;
  FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, ctx.attrs().get_int("axis", 0), r, &axis));
  const int64_t dim = in->shape[axis];
  std::vector<int64_t> split;
  if (ctx.opset() >= 13 && ctx.num_inputs() > 1 && ctx.input(1)) {
    FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(1), "split", &split));
  } else if (ctx.opset() < 13 && ctx.attrs().has("split")) {
    split = ctx.attrs().get_ints("split");
  } else if (ctx.num_inputs() > 1 && ctx.input(1) && ctx.opset() < 13) {
    FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(1), "split", &split));  // opset 2 form
  }
  int64_t nout = ctx.num_outputs();
  if (split.empty()) {
    int64_t parts = ctx.attrs().get_int("num_outputs", nout);
    if (parts <= 0) return err(ctx, "number of outputs must be positive");
    if (ctx.attrs().has("num_outputs")) {
      int64_t chunk = (dim + parts - 1) / parts;
      for (int64_t i = 0; i < parts; ++i) split.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
    } else {
      if (dim % parts != 0) return err(ctx, "axis size " + std::to_string(dim) + " does not split evenly into " + std::to_string(parts));
      split.assign(parts, dim / parts);
    }
  }
  if (static_cast<int64_t>(split.size()) != nout)
    return err(ctx, "split has " + std::to_string(split.size()) + " parts for " + std::to_string(nout) + " outputs");
  int64_t sum = 0;
  for (int64_t s : split) {
    if (s < 0) return err(ctx, "negative split size");
    sum += s;
  }
  if (sum != dim) return err(ctx, "split sizes sum to " + std::to_string(sum) + ", axis size is " + std::to_string(dim));
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= in->shape[k];
  for (int64_t k = axis + 1; k < r; ++k) inner *= in->shape[k];
  int64_t off = 0;
  const int64_t es = static_cast<int64_t>(elem_size(in->dtype));
  for (int64_t i = 0; i < nout; ++i) {
    std::vector<int64_t> shape = in->shape;
    shape[axis] = split[i];
    Tensor* out;
    FLEETRT_RETURN_IF_ERROR(make_output(ctx, static_cast<int>(i), shape, &out));
    if (out) {
      const int64_t len = split[i] * inner, start = off;
      ctx.parallel_for(outer, grain_for(outer, len * es), [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) copy_elems(in->dtype, out->data, o * len, in->data, o * dim * inner + start, len);
      });
    }
    off += split[i] * inner;
  }
  return Status::Ok();
}

Status Slice(KernelContext& ctx) {
  const Tensor* in;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, in->dtype));
  int64_t r = static_cast<int64_t>(in->rank());
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset() < 10) {
    starts = ctx.attrs().get_ints("starts");
    ends = ctx.attrs().get_ints("ends");
    axes = ctx.attrs().get_ints("axes");
  } else {
    FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(1), "starts", &starts));
    FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(2), "ends", &ends));
    if (ctx.num_inputs() > 3 && ctx.input(3)) FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(3), "axes", &axes));
    if (ctx.num_inputs() > 4 && ctx.input(4)) FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(4), "steps", &steps));
  }
  if (starts.size() != ends.size()) return err(ctx, "starts and ends have different lengths");
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size())
    return err(ctx, "starts, ends, axes and steps must have equal lengths");
  std::vector<int64_t> shape = in->shape, st_in = strides_of(in->shape), strides = st_in;
  std::vector<bool> seen(r, false);
  int64_t base = 0;
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a;
    FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, axes[i], r, &a));
    if (seen[a]) return err(ctx, "axis " + std::to_string(axes[i]) + " is repeated");
    seen[a] = true;
    int64_t dim = in->shape[a], step = steps[i], s = starts[i], e = ends[i];
    if (step == 0) return err(ctx, "step must not be zero");
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    int64_t n;
    if (step > 0) {
      s = std::min(std::max<int64_t>(s, 0), dim);
      e = std::min(std::max<int64_t>(e, 0), dim);
      n = e > s ? (e - s + step - 1) / step : 0;
    } else {
      s = std::min(std::max<int64_t>(s, 0), dim - 1);
      e = std::min(std::max<int64_t>(e, -1), dim - 1);
      n = s > e ? (s - e + (-step) - 1) / (-step) : 0;
    }
    shape[a] = n;
    if (n > 0) base += s * st_in[a];
    strides[a] = st_in[a] * step;
  }
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &out));
  if (!out || numel_of(shape) == 0) return Status::Ok();
  strided_copy(ctx, in->dtype, out->data, in->data, base, shape, strides);
  return Status::Ok();
}

Status Expand(KernelContext& ctx) {
  const Tensor* in;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, in->dtype));
  std::vector<int64_t> req;
  FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(1), "shape", &req));
  size_t r = std::max(req.size(), in->rank());
  std::vector<int64_t> shape(r), strides(r, 0), st_in = strides_of(in->shape);
  for (size_t i = 0; i < r; ++i) {
    int64_t ri = static_cast<int64_t>(i) - static_cast<int64_t>(r - req.size());
    int64_t ii = static_cast<int64_t>(i) - static_cast<int64_t>(r - in->rank());
    int64_t a = ii >= 0 ? in->shape[ii] : 1, b = ri >= 0 ? req[ri] : 1;
    if (b < 0) return err(ctx, "negative dimension in shape " + shape_str(req));
    if (a != b && a != 1 && b != 1)
      return err(ctx, "cannot broadcast " + shape_str(in->shape) + " to " + shape_str(req));
    shape[i] = a == 1 ? b : a;
    strides[i] = (ii >= 0 && a != 1) ? st_in[ii] : 0;
  }
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &out));
  if (!out || numel_of(shape) == 0) return Status::Ok();
  strided_copy(ctx, in->dtype, out->data, in->data, 0, shape, strides);
  return Status::Ok();
}

Status Tile(KernelContext& ctx) {
  const Tensor* in;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, in->dtype));
  std::vector<int64_t> reps;
  FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(1), "repeats", &reps));
  if (reps.size() != in->rank())
    return err(ctx, "repeats has " + std::to_string(reps.size()) + " entries for rank " + std::to_string(in->rank()));
  std::vector<int64_t> shape, vshape, vstrides, st_in = strides_of(in->shape);
  for (size_t i = 0; i < reps.size(); ++i) {
    if (reps[i] < 0) return err(ctx, "negative repeat");
    shape.push_back(in->shape[i] * reps[i]);
    vshape.push_back(reps[i]);
    vstrides.push_back(0);
    vshape.push_back(in->shape[i]);
    vstrides.push_back(st_in[i]);
  }
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &out));
  if (!out || numel_of(shape) == 0) return Status::Ok();
  strided_copy(ctx, in->dtype, out->data, in->data, 0, vshape, vstrides);
  return Status::Ok();
}

Status DepthSpace(KernelContext& ctx, bool to_space) {
  const Tensor* in;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, in->dtype));
  if (in->rank() != 4) return err(ctx, "input must be 4-D (NCHW), got " + shape_str(in->shape));
  int64_t b = ctx.attrs().get_int("blocksize", 0);
  if (b <= 0) return err(ctx, "blocksize must be positive");
  int64_t N = in->shape[0], C = in->shape[1], H = in->shape[2], W = in->shape[3];
  std::vector<int64_t> dims, perm, shape;
  if (to_space) {
    if (C % (b * b) != 0) return err(ctx, "channels " + std::to_string(C) + " not divisible by blocksize^2");
    int64_t c = C / (b * b);
    if (ctx.attrs().get_string("mode", "DCR") == "CRD") {
      dims = {N, c, b, b, H, W};
      perm = {0, 1, 4, 2, 5, 3};
    } else {
      dims = {N, b, b, c, H, W};
      perm = {0, 3, 4, 1, 5, 2};
    }
    shape = {N, c, H * b, W * b};
  } else {
    if (H % b != 0 || W % b != 0) return err(ctx, "spatial dims not divisible by blocksize");
    dims = {N, C, H / b, b, W / b, b};
    perm = {0, 3, 5, 1, 2, 4};
    shape = {N, C * b * b, H / b, W / b};
  }
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &out));
  if (!out) return Status::Ok();
  permute_into(ctx, *in, dims, perm, out);
  return Status::Ok();
}
Status DepthToSpace(KernelContext& ctx) { return DepthSpace(ctx, true); }
Status SpaceToDepth(KernelContext& ctx) { return DepthSpace(ctx, false); }

}  // namespace

FLEETRT_REGISTER_KERNEL("", "Transpose", Transpose);
FLEETRT_REGISTER_KERNEL("", "Concat", Concat);
FLEETRT_REGISTER_KERNEL("", "Split", Split);
FLEETRT_REGISTER_KERNEL("", "Slice", Slice);
FLEETRT_REGISTER_KERNEL("", "Expand", Expand);
FLEETRT_REGISTER_KERNEL("", "Tile", Tile);
FLEETRT_REGISTER_KERNEL("", "DepthToSpace", DepthToSpace);
FLEETRT_REGISTER_KERNEL("", "SpaceToDepth", SpaceToDepth);

}  // namespace fleetrt
