// Shape-only and constant-producing ops: Identity, Reshape, Flatten, Squeeze, Unsqueeze, Shape,
// Size, ConstantOfShape, Constant, EyeLike, Range.
#include <algorithm>
#include <cmath>

#include "data_util.h"

namespace fleetrt {
namespace {
using namespace datak;

// Output = input bytes under a new shape.
Status copy_as(KernelContext& ctx, const Tensor& in, const std::vector<int64_t>& shape) {
  if (numel_of(shape) != in.numel())
    return err(ctx, "cannot reshape " + shape_str(in.shape) + " (" + std::to_string(in.numel()) + " elements) to " +
                        shape_str(shape));
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &out));
  if (!out) return Status::Ok();
  if (out->dtype != in.dtype) return err(ctx, "output dtype differs from input dtype");
  copy_tensor_data(in, out);
  return Status::Ok();
}

Status Identity(KernelContext& ctx) {
  const Value* v = ctx.input_value(0);
  if (!v) return err(ctx, "missing input 0");
  if (v->kind != Value::Kind::kTensor) return ctx.set_output_value(0, *v);
  const Tensor* in = ctx.input(0);
  return copy_as(ctx, *in, in->shape);
}

Status Reshape(KernelContext& ctx) {
  const Tensor* in;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  std::vector<int64_t> req;
  if (ctx.opset() < 5 || ctx.num_inputs() < 2) {
    if (!ctx.attrs().has("shape")) return err(ctx, "missing 'shape' input");
    req = ctx.attrs().get_ints("shape");
  } else {
    FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(1), "shape", &req));
  }
  bool allowzero = ctx.attrs().get_int("allowzero", 0) != 0;
  std::vector<int64_t> shape(req.size());
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < req.size(); ++i) {
    int64_t d = req[i];
    if (d == 0 && !allowzero) {
      if (i >= in->rank()) return err(ctx, "shape[" + std::to_string(i) + "] = 0 copies a dimension the input lacks");
      d = in->shape[i];
    } else if (d == -1) {
      if (infer >= 0) return err(ctx, "shape has more than one -1");
      infer = static_cast<int>(i);
      shape[i] = 1;
      continue;
    } else if (d < -1) {
      return err(ctx, "shape has invalid dimension " + std::to_string(d));
    }
    shape[i] = d;
    known *= d;
  }
  if (infer >= 0) {
    if (known == 0 || in->numel() % known != 0)
      return err(ctx, "cannot infer -1 reshaping " + shape_str(in->shape) + " to " + shape_str(req));
    shape[infer] = in->numel() / known;
  }
  return copy_as(ctx, *in, shape);
}

Status Flatten(KernelContext& ctx) {
  const Tensor* in;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  int64_t r = static_cast<int64_t>(in->rank());
  int64_t axis = ctx.attrs().get_int("axis", 1);
  if (axis < 0) axis += r;
  if (axis < 0 || axis > r) return err(ctx, "axis out of range for rank " + std::to_string(r));
  int64_t a = 1, b = 1;
  for (int64_t i = 0; i < r; ++i) (i < axis ? a : b) *= in->shape[i];
  return copy_as(ctx, *in, {a, b});
}

Status get_axes(KernelContext& ctx, int input_index, std::vector<int64_t>* axes, bool* given) {
  *given = false;
  if (ctx.opset() >= 13) {
    const Tensor* t = input_index < ctx.num_inputs() ? ctx.input(input_index) : nullptr;
    if (!t) return Status::Ok();
    FLEETRT_RETURN_IF_ERROR(read_ints(ctx, t, "axes", axes));
    *given = true;
  } else if (ctx.attrs().has("axes")) {
    *axes = ctx.attrs().get_ints("axes");
    *given = true;
  }
  return Status::Ok();
}

Status Squeeze(KernelContext& ctx) {
  const Tensor* in;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  std::vector<int64_t> axes;
  bool given;
  FLEETRT_RETURN_IF_ERROR(get_axes(ctx, 1, &axes, &given));
  int64_t r = static_cast<int64_t>(in->rank());
  std::vector<bool> drop(r, false);
  if (!given) {
    for (int64_t i = 0; i < r; ++i) drop[i] = in->shape[i] == 1;
  } else {
    for (int64_t a : axes) {
      int64_t n;
      FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, a, r, &n));
      if (in->shape[n] != 1)
        return err(ctx, "cannot squeeze axis " + std::to_string(a) + " of size " + std::to_string(in->shape[n]));
      drop[n] = true;
    }
  }
  std::vector<int64_t> shape;
  for (int64_t i = 0; i < r; ++i)
    if (!drop[i]) shape.push_back(in->shape[i]);
  return copy_as(ctx, *in, shape);
}

Status Unsqueeze(KernelContext& ctx) {
  const Tensor* in;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  std::vector<int64_t> axes;
  bool given;
  FLEETRT_RETURN_IF_ERROR(get_axes(ctx, 1, &axes, &given));
  if (!given) return err(ctx, "missing 'axes'");
  int64_t out_r = static_cast<int64_t>(in->rank() + axes.size());
  std::vector<bool> ins(out_r, false);
  for (int64_t a : axes) {
    int64_t n;
    FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, a, out_r, &n));
    if (ins[n]) return err(ctx, "axis " + std::to_string(a) + " is repeated");
    ins[n] = true;
  }
  std::vector<int64_t> shape;
  size_t k = 0;
  for (int64_t i = 0; i < out_r; ++i) shape.push_back(ins[i] ? 1 : in->shape[k++]);
  return copy_as(ctx, *in, shape);
}

Status write_i64s(KernelContext& ctx, const std::vector<int64_t>& shape, const std::vector<int64_t>& vals) {
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &out));
  if (!out) return Status::Ok();
  if (out->dtype != DType::kI64) return err(ctx, "output must be int64");
  std::copy(vals.begin(), vals.end(), out->as<int64_t>());
  return Status::Ok();
}

Status Shape(KernelContext& ctx) {
  const Tensor* in;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  int64_t r = static_cast<int64_t>(in->rank());
  int64_t start = ctx.attrs().get_int("start", 0), end = ctx.attrs().get_int("end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::min(std::max<int64_t>(start, 0), r);
  end = std::min(std::max<int64_t>(end, 0), r);
  std::vector<int64_t> dims;
  for (int64_t i = start; i < end; ++i) dims.push_back(in->shape[i]);
  return write_i64s(ctx, {static_cast<int64_t>(dims.size())}, dims);
}

Status Size(KernelContext& ctx) {
  const Tensor* in;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  return write_i64s(ctx, {}, {in->numel()});
}

// Fills `out` with copies of one element of `value`.
void fill_with(Tensor* out, const Tensor& value) {
  int64_t n = out->numel();
  if (out->dtype == DType::kString) {
    for (int64_t i = 0; i < n; ++i) out->as<std::string>()[i] = value.as<std::string>()[0];
    return;
  }
  size_t es = elem_size(out->dtype);
  char* d = static_cast<char*>(out->data);
  bool zero = true;
  for (size_t b = 0; b < es; ++b) zero &= static_cast<const char*>(value.data)[b] == 0;
  if (zero) {
    std::memset(d, 0, n * es);
    return;
  }
  for (int64_t i = 0; i < n; ++i) std::memcpy(d + i * es, value.data, es);
}

Status ConstantOfShape(KernelContext& ctx) {
  std::vector<int64_t> shape;
  FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(0), "input", &shape));
  for (int64_t d : shape)
    if (d < 0) return err(ctx, "negative dimension in shape " + shape_str(shape));
  const Tensor* value = ctx.attrs().get_tensor("value");
  float zero = 0;
  Tensor def;
  def.dtype = DType::kF32;
  def.shape = {1};
  def.data = &zero;
  if (!value) value = &def;
  if (value->numel() != 1) return err(ctx, "'value' must hold exactly one element");
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, value->dtype));
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &out));
  if (!out) return Status::Ok();
  if (out->dtype != value->dtype) return err(ctx, "output dtype differs from 'value' dtype");
  fill_with(out, *value);
  return Status::Ok();
}

Status Constant(KernelContext& ctx) {
  const Attributes& a = ctx.attrs();
  Tensor* out;
  auto scalar_or_list = [&](DType dt, bool list, int64_t n) -> Status {
    std::vector<int64_t> shape;
    if (list) shape.push_back(n);
    FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &out));
    if (out && out->dtype != dt) return err(ctx, std::string("output dtype must be ") + dtype_name(dt));
    return Status::Ok();
  };
  if (const Tensor* t = a.get_tensor("value")) {
    FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, t->shape, &out));
    if (!out) return Status::Ok();
    if (out->dtype != t->dtype) return err(ctx, "output dtype differs from 'value' dtype");
    copy_tensor_data(*t, out);
    return Status::Ok();
  }
  if (const Attribute* v = a.find("value_float")) {
    FLEETRT_RETURN_IF_ERROR(scalar_or_list(DType::kF32, false, 1));
    if (out) out->as<float>()[0] = static_cast<float>(v->f);
    return Status::Ok();
  }
  if (const Attribute* v = a.find("value_floats")) {
    FLEETRT_RETURN_IF_ERROR(scalar_or_list(DType::kF32, true, static_cast<int64_t>(v->floats.size())));
    if (out)
      for (size_t i = 0; i < v->floats.size(); ++i) out->as<float>()[i] = static_cast<float>(v->floats[i]);
    return Status::Ok();
  }
  if (const Attribute* v = a.find("value_int")) {
    FLEETRT_RETURN_IF_ERROR(scalar_or_list(DType::kI64, false, 1));
    if (out) out->as<int64_t>()[0] = v->i;
    return Status::Ok();
  }
  if (const Attribute* v = a.find("value_ints")) {
    FLEETRT_RETURN_IF_ERROR(scalar_or_list(DType::kI64, true, static_cast<int64_t>(v->ints.size())));
    if (out) std::copy(v->ints.begin(), v->ints.end(), out->as<int64_t>());
    return Status::Ok();
  }
  if (const Attribute* v = a.find("value_string")) {
    FLEETRT_RETURN_IF_ERROR(scalar_or_list(DType::kString, false, 1));
    if (out) out->as<std::string>()[0] = v->s;
    return Status::Ok();
  }
  if (const Attribute* v = a.find("value_strings")) {
    FLEETRT_RETURN_IF_ERROR(scalar_or_list(DType::kString, true, static_cast<int64_t>(v->strings.size())));
    if (out) std::copy(v->strings.begin(), v->strings.end(), out->as<std::string>());
    return Status::Ok();
  }
  if (a.has("sparse_value")) return err(ctx, "sparse_value constants are not supported");
  return err(ctx, "no value attribute");
}

Status EyeLike(KernelContext& ctx) {
  const Tensor* in;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  if (in->rank() != 2) return err(ctx, "input must be 2-D, got " + shape_str(in->shape));
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, in->shape, &out));
  if (!out) return Status::Ok();
  if (!is_numeric(out->dtype)) return err(ctx, "unsupported output dtype");
  int64_t k = ctx.attrs().get_int("k", 0), rows = in->shape[0], cols = in->shape[1];
  std::memset(out->data, 0, out->bytes());
  for (int64_t i = 0; i < rows; ++i) {
    int64_t j = i + k;
    if (j >= 0 && j < cols) set_f64(*out, i * cols + j, 1.0);
  }
  return Status::Ok();
}

template <class T>
Status range_typed(KernelContext& ctx, const Tensor& s, const Tensor& l, const Tensor& d) {
  T start = s.as<T>()[0], limit = l.as<T>()[0], delta = d.as<T>()[0];
  if (delta == T(0)) return err(ctx, "delta must not be zero");
  double n_d = std::ceil((static_cast<double>(limit) - static_cast<double>(start)) / static_cast<double>(delta));
  int64_t n = n_d > 0 ? static_cast<int64_t>(n_d) : 0;
  if (n_d > 1e12) return err(ctx, "range would have too many elements");
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, {n}, &out));
  if (!out) return Status::Ok();
  T* o = out->as<T>();
  T v = start;
  for (int64_t i = 0; i < n; ++i) {
    o[i] = v;
    v = static_cast<T>(v + delta);
  }
  return Status::Ok();
}

Status Range(KernelContext& ctx) {
  const Tensor *s, *l, *d;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &s));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &l));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 2, &d));
  if (s->numel() != 1 || l->numel() != 1 || d->numel() != 1) return err(ctx, "start, limit and delta must be scalars");
  if (s->dtype != l->dtype || s->dtype != d->dtype) return err(ctx, "start, limit and delta must share a dtype");
  switch (s->dtype) {
    case DType::kF32: return range_typed<float>(ctx, *s, *l, *d);
    case DType::kF64: return range_typed<double>(ctx, *s, *l, *d);
    case DType::kI16: return range_typed<int16_t>(ctx, *s, *l, *d);
    case DType::kI32: return range_typed<int32_t>(ctx, *s, *l, *d);
    case DType::kI64: return range_typed<int64_t>(ctx, *s, *l, *d);
    case DType::kF16:
    case DType::kBF16: {
      double start = get_f64(*s, 0), limit = get_f64(*l, 0), delta = get_f64(*d, 0);
      if (delta == 0) return err(ctx, "delta must not be zero");
      double n_d = std::ceil((limit - start) / delta);
      if (n_d > 1e12) return err(ctx, "range would have too many elements");
      int64_t n = n_d > 0 ? static_cast<int64_t>(n_d) : 0;
      Tensor* out;
      FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, {n}, &out));
      for (int64_t i = 0; out && i < n; ++i) set_f64(*out, i, start + static_cast<double>(i) * delta);
      return Status::Ok();
    }
    default: return err(ctx, std::string("unsupported dtype ") + dtype_name(s->dtype));
  }
}

}  // namespace

FLEETRT_REGISTER_KERNEL("", "Identity", Identity);
FLEETRT_REGISTER_KERNEL("", "Reshape", Reshape);
FLEETRT_REGISTER_KERNEL("", "Flatten", Flatten);
FLEETRT_REGISTER_KERNEL("", "Squeeze", Squeeze);
FLEETRT_REGISTER_KERNEL("", "Unsqueeze", Unsqueeze);
FLEETRT_REGISTER_KERNEL("", "Shape", Shape);
FLEETRT_REGISTER_KERNEL("", "Size", Size);
FLEETRT_REGISTER_KERNEL("", "ConstantOfShape", ConstantOfShape);
FLEETRT_REGISTER_KERNEL("", "Constant", Constant);
FLEETRT_REGISTER_KERNEL("", "EyeLike", EyeLike);
FLEETRT_REGISTER_KERNEL("", "Range", Range);

}  // namespace fleetrt
