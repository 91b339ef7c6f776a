// Data-dependent selection and masks: NonZero, Compress, Unique, OneHot, Trilu, ReverseSequence.
#include <algorithm>
#include <numeric>

#include "data_util.h"

namespace fleetrt {
namespace {
using namespace datak;

inline bool truthy(const Tensor& t, int64_t i) {
  if (t.dtype == DType::kString) return !t.as<std::string>()[i].empty();
  return get_f64(t, i) != 0;
}

Status NonZero(KernelContext& ctx) {
  const Tensor* in;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  if (!is_numeric(in->dtype) && in->dtype != DType::kString) return err(ctx, "unsupported dtype");
  const int64_t n = in->numel();
  std::vector<int64_t> hits;
  for (int64_t i = 0; i < n; ++i)
    if (truthy(*in, i)) hits.push_back(i);
  std::vector<int64_t> dims = in->shape;
  if (dims.empty()) dims.push_back(1);  // a scalar counts as one element on one axis
  const int64_t r = static_cast<int64_t>(dims.size()), nnz = static_cast<int64_t>(hits.size());
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, {r, nnz}, &out));
  if (!out) return Status::Ok();
  if (out->dtype != DType::kI64) return err(ctx, "output must be int64");
  std::vector<int64_t> st = strides_of(dims);
  int64_t* o = out->as<int64_t>();
  for (int64_t j = 0; j < nnz; ++j) {
    int64_t rem = hits[j];
    for (int64_t k = 0; k < r; ++k) {
      o[k * nnz + j] = rem / st[k];
      rem %= st[k];
    }
  }
  return Status::Ok();
}

Status Compress(KernelContext& ctx) {
  const Tensor *in, *cond;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &cond));
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, in->dtype));
  if (cond->rank() != 1 || !is_numeric(cond->dtype)) return err(ctx, "condition must be a 1-D bool tensor");
  bool has_axis = ctx.attrs().has("axis");
  std::vector<int64_t> dims = in->shape;
  int64_t axis = 0;
  if (!has_axis) {
    dims = {in->numel()};
  } else {
    FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, ctx.attrs().get_int("axis", 0), static_cast<int64_t>(in->rank()), &axis));
  }
  const int64_t dim = dims[axis];
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < cond->numel(); ++i) {
    if (!truthy(*cond, i)) continue;
    if (i >= dim) return err(ctx, "condition selects index " + std::to_string(i) + " beyond axis size " + std::to_string(dim));
    keep.push_back(i);
  }
  std::vector<int64_t> shape = dims;
  shape[axis] = static_cast<int64_t>(keep.size());
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &out));
  if (!out) return Status::Ok();
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= dims[k];
  for (size_t k = axis + 1; k < dims.size(); ++k) inner *= dims[k];
  int64_t w = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i : keep) {
      copy_elems(in->dtype, out->data, w * inner, in->data, (o * dim + i) * inner, inner);
      ++w;
    }
  return Status::Ok();
}

// Three-way compare of slice a and slice b (each `len` elements) of tensor t.
int cmp_slices(const Tensor& t, int64_t a, int64_t b, int64_t len, int64_t outer_n, int64_t stride_outer) {
  // slices are laid out as [outer][slice][inner]; a/b are slice indices.
  for (int64_t o = 0; o < outer_n; ++o)
    for (int64_t i = 0; i < len; ++i) {
      int64_t ia = o * stride_outer + a * len + i, ib = o * stride_outer + b * len + i;
      if (t.dtype == DType::kString) {
        int c = t.as<std::string>()[ia].compare(t.as<std::string>()[ib]);
        if (c) return c < 0 ? -1 : 1;
      } else if (is_float_dtype(t.dtype)) {
        double x = get_f64(t, ia), y = get_f64(t, ib);
        if (x < y) return -1;
        if (x > y) return 1;
      } else if (t.dtype == DType::kU64) {
        uint64_t x = t.as<uint64_t>()[ia], y = t.as<uint64_t>()[ib];
        if (x != y) return x < y ? -1 : 1;
      } else {
        int64_t x = get_int(t, ia), y = get_int(t, ib);
        if (x != y) return x < y ? -1 : 1;
      }
    }
  return 0;
}

Status Unique(KernelContext& ctx) {
  const Tensor* in;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  if (!is_numeric(in->dtype) && in->dtype != DType::kString) return err(ctx, "unsupported dtype");
  const bool sorted = ctx.attrs().get_int("sorted", 1) != 0;
  const bool has_axis = ctx.attrs().has("axis");
  std::vector<int64_t> dims = has_axis ? in->shape : std::vector<int64_t>{in->numel()};
  int64_t axis = 0;
  if (has_axis) FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, ctx.attrs().get_int("axis", 0), static_cast<int64_t>(dims.size()), &axis));
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= dims[k];
  for (size_t k = axis + 1; k < dims.size(); ++k) inner *= dims[k];
  const int64_t n = dims[axis], stride_outer = n * inner;
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return cmp_slices(*in, a, b, inner, outer, stride_outer) < 0; });
  // Groups of equal slices; the first of each group (stable sort) is the first occurrence.
  std::vector<int64_t> group_first, group_count, group_of(n);
  for (int64_t i = 0; i < n; ++i) {
    if (i == 0 || cmp_slices(*in, order[i - 1], order[i], inner, outer, stride_outer) != 0) {
      group_first.push_back(order[i]);
      group_count.push_back(0);
    }
    group_of[order[i]] = static_cast<int64_t>(group_first.size()) - 1;
    ++group_count.back();
  }
  const int64_t u = static_cast<int64_t>(group_first.size());
  std::vector<int64_t> out_order(u);  // output position → group
  std::iota(out_order.begin(), out_order.end(), 0);
  if (!sorted)
    std::sort(out_order.begin(), out_order.end(), [&](int64_t a, int64_t b) { return group_first[a] < group_first[b]; });
  std::vector<int64_t> pos_of_group(u);
  for (int64_t p = 0; p < u; ++p) pos_of_group[out_order[p]] = p;

  std::vector<int64_t> yshape = dims;
  yshape[axis] = u;
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, yshape, &y));
  if (y)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t p = 0; p < u; ++p)
        copy_elems(in->dtype, y->data, (o * u + p) * inner, in->data, o * stride_outer + group_first[out_order[p]] * inner, inner);
  Tensor* t;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 1, {u}, &t));
  if (t)
    for (int64_t p = 0; p < u; ++p) t->as<int64_t>()[p] = group_first[out_order[p]];
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 2, {n}, &t));
  if (t)
    for (int64_t i = 0; i < n; ++i) t->as<int64_t>()[i] = pos_of_group[group_of[i]];
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 3, {u}, &t));
  if (t)
    for (int64_t p = 0; p < u; ++p) t->as<int64_t>()[p] = group_count[out_order[p]];
  return Status::Ok();
}

Status OneHot(KernelContext& ctx) {
  const Tensor *ind, *depth_t, *values;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &ind));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &depth_t));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 2, &values));
  if (!is_numeric(ind->dtype) || !is_numeric(depth_t->dtype)) return err(ctx, "indices and depth must be numeric");
  if (depth_t->numel() != 1) return err(ctx, "depth must be a scalar");
  if (values->numel() != 2) return err(ctx, "values must have two elements [off, on]");
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, values->dtype));
  const int64_t depth = static_cast<int64_t>(get_f64(*depth_t, 0));
  if (depth < 1) return err(ctx, "depth must be positive");
  const int64_t r = static_cast<int64_t>(ind->rank());
  int64_t axis = ctx.attrs().get_int("axis", -1);
  FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, axis, r + 1, &axis));
  std::vector<int64_t> shape = ind->shape;
  shape.insert(shape.begin() + axis, depth);
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &out));
  if (!out) return Status::Ok();
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= ind->shape[k];
  for (int64_t k = axis; k < r; ++k) inner *= ind->shape[k];
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t d = 0; d < depth; ++d)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t v = static_cast<int64_t>(get_f64(*ind, o * inner + i));
        if (v < 0) v += depth;
        copy_elems(values->dtype, out->data, (o * depth + d) * inner + i, values->data, v == d ? 1 : 0, 1);
      }
  return Status::Ok();
}

Status Trilu(KernelContext& ctx) {
  const Tensor* in;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, in->dtype));
  if (in->rank() < 2) return err(ctx, "input must have rank >= 2");
  int64_t k = 0;
  if (ctx.num_inputs() > 1 && ctx.input(1)) {
    std::vector<int64_t> kv;
    FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(1), "k", &kv));
    if (kv.size() != 1) return err(ctx, "k must be a scalar");
    k = kv[0];
  }
  const bool upper = ctx.attrs().get_int("upper", 1) != 0;
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, in->shape, &out));
  if (!out) return Status::Ok();
  const int64_t rows = in->shape[in->rank() - 2], cols = in->shape[in->rank() - 1];
  const int64_t mats = (rows > 0 && cols > 0) ? in->numel() / (rows * cols) : 0;
  copy_tensor_data(*in, out);
  const size_t es = elem_size(in->dtype);
  for (int64_t m = 0; m < mats; ++m)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        bool keep = upper ? (j - i >= k) : (j - i <= k);
        if (keep) continue;
        int64_t at = (m * rows + i) * cols + j;
        if (in->dtype == DType::kString) out->as<std::string>()[at].clear();
        else std::memset(static_cast<char*>(out->data) + at * es, 0, es);
      }
  return Status::Ok();
}

Status ReverseSequence(KernelContext& ctx) {
  const Tensor* in;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, in->dtype));
  std::vector<int64_t> lens;
  FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(1), "sequence_lens", &lens));
  const int64_t r = static_cast<int64_t>(in->rank());
  if (r < 2) return err(ctx, "input must have rank >= 2");
  int64_t ba, ta;
  FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, ctx.attrs().get_int("batch_axis", 1), r, &ba));
  FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, ctx.attrs().get_int("time_axis", 0), r, &ta));
  if (ba == ta) return err(ctx, "batch_axis and time_axis must differ");
  const int64_t B = in->shape[ba], T = in->shape[ta];
  if (static_cast<int64_t>(lens.size()) != B) return err(ctx, "sequence_lens length differs from batch size");
  for (int64_t l : lens)
    if (l < 0 || l > T) return err(ctx, "sequence length " + std::to_string(l) + " is out of range [0, " + std::to_string(T) + "]");
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, in->shape, &out));
  if (!out) return Status::Ok();
  std::vector<int64_t> st = strides_of(in->shape);
  const int64_t n = in->numel();
  for (int64_t i = 0; i < n; ++i) {
    int64_t b = (i / st[ba]) % B, t = (i / st[ta]) % T, src = i;
    if (t < lens[b]) src = i + (lens[b] - 1 - 2 * t) * st[ta];
    copy_elems(in->dtype, out->data, i, in->data, src, 1);
  }
  return Status::Ok();
}

}  // namespace

FLEETRT_REGISTER_KERNEL("", "NonZero", NonZero);
FLEETRT_REGISTER_KERNEL("", "Compress", Compress);
FLEETRT_REGISTER_KERNEL("", "Unique", Unique);
FLEETRT_REGISTER_KERNEL("", "OneHot", OneHot);
FLEETRT_REGISTER_KERNEL("", "Trilu", Trilu);
FLEETRT_REGISTER_KERNEL("", "ReverseSequence", ReverseSequence);

}  // namespace fleetrt
