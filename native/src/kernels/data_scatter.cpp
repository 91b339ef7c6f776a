// Indexing writes: Scatter (opset 9), ScatterElements and ScatterND with reductions
// none/add/mul/max/min. Output starts as a copy of data; indices are bounds-checked.
#include <algorithm>

#include "data_util.h"

namespace fleetrt {
namespace {
using namespace datak;

enum class Red { kNone, kAdd, kMul, kMax, kMin };

Status get_reduction(KernelContext& ctx, Red* red) {
  std::string s = ctx.attrs().get_string("reduction", "none");
  if (s == "none") *red = Red::kNone;
  else if (s == "add") *red = Red::kAdd;
  else if (s == "mul") *red = Red::kMul;
  else if (s == "max") *red = Red::kMax;
  else if (s == "min") *red = Red::kMin;
  else return err(ctx, "unknown reduction '" + s + "'");
  return Status::Ok();
}

template <class T>
inline T combine(Red r, T a, T b) {
  switch (r) {
    case Red::kAdd: return static_cast<T>(a + b);
    case Red::kMul: return static_cast<T>(a * b);
    case Red::kMax: return a > b ? a : b;
    case Red::kMin: return a < b ? a : b;
    default: return b;
  }
}

// out[oi .. oi+n) ⊕= upd[ui .. ui+n)
void apply(Red red, Tensor* out, int64_t oi, const Tensor& upd, int64_t ui, int64_t n) {
  if (red == Red::kNone) {
    copy_elems(out->dtype, out->data, oi, upd.data, ui, n);
    return;
  }
  switch (out->dtype) {
#define FLEETRT_SC(DT, T)                                                             \
  case DT:                                                                            \
    for (int64_t i = 0; i < n; ++i) out->as<T>()[oi + i] = combine<T>(red, out->as<T>()[oi + i], upd.as<T>()[ui + i]); \
    return;
    FLEETRT_SC(DType::kF32, float)
    FLEETRT_SC(DType::kF64, double)
    FLEETRT_SC(DType::kI64, int64_t)
    FLEETRT_SC(DType::kI32, int32_t)
    FLEETRT_SC(DType::kI16, int16_t)
    FLEETRT_SC(DType::kI8, int8_t)
    FLEETRT_SC(DType::kU8, uint8_t)
    FLEETRT_SC(DType::kU16, uint16_t)
    FLEETRT_SC(DType::kU32, uint32_t)
    FLEETRT_SC(DType::kU64, uint64_t)
#undef FLEETRT_SC
    case DType::kBool:
      for (int64_t i = 0; i < n; ++i) {
        uint8_t& a = out->as<uint8_t>()[oi + i];
        uint8_t b = upd.as<uint8_t>()[ui + i];
        a = red == Red::kAdd || red == Red::kMax ? (a | b) : (a & b);
      }
      return;
    default:  // fp16 / bf16 through float
      for (int64_t i = 0; i < n; ++i)
        set_f64(*out, oi + i, combine<double>(red, get_f64(*out, oi + i), get_f64(upd, ui + i)));
  }
}

Status check_common(KernelContext& ctx, const Tensor** data, const Tensor** ind, const Tensor** upd, Red* red) {
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, data));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, ind));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 2, upd));
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, (*data)->dtype));
  if ((*ind)->dtype != DType::kI32 && (*ind)->dtype != DType::kI64) return err(ctx, "indices must be int32 or int64");
  if ((*upd)->dtype != (*data)->dtype) return err(ctx, "updates dtype differs from data dtype");
  FLEETRT_RETURN_IF_ERROR(get_reduction(ctx, red));
  if (*red != Red::kNone && !is_numeric((*data)->dtype)) return err(ctx, "reductions need a numeric dtype");
  return Status::Ok();
}

inline int64_t idx_at(const Tensor& t, int64_t i) {
  return t.dtype == DType::kI64 ? t.as<int64_t>()[i] : t.as<int32_t>()[i];
}

Status ScatterElements(KernelContext& ctx) {
  const Tensor *data, *ind, *upd;
  Red red;
  FLEETRT_RETURN_IF_ERROR(check_common(ctx, &data, &ind, &upd, &red));
  const int64_t r = static_cast<int64_t>(data->rank());
  int64_t axis = 0;
  if (r == 0) return err(ctx, "data must have rank >= 1");
  FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, ctx.attrs().get_int("axis", 0), r, &axis));
  if (ind->shape != upd->shape) return err(ctx, "indices and updates shapes differ");
  if (static_cast<int64_t>(ind->rank()) != r) return err(ctx, "indices rank differs from data rank");
  for (int64_t k = 0; k < r; ++k)
    if (ind->shape[k] > data->shape[k] && k != axis) return err(ctx, "indices shape exceeds data shape");
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, data->shape, &out));
  if (!out) return Status::Ok();
  copy_tensor_data(*data, out);
  std::vector<int64_t> dst = strides_of(data->shape);
  const int64_t n = ind->numel(), dim = data->shape[axis];
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, off = 0;
    for (int64_t k = r - 1; k >= 0; --k) {
      int64_t c = rem % ind->shape[k];
      rem /= ind->shape[k];
      if (k == axis) {
        int64_t v = idx_at(*ind, i);
        c = v < 0 ? v + dim : v;
        if (c < 0 || c >= dim)
          return err(ctx, "index " + std::to_string(v) + " is out of range for axis size " + std::to_string(dim));
      }
      off += c * dst[k];
    }
    apply(red, out, off, *upd, i, 1);
  }
  return Status::Ok();
}

Status ScatterND(KernelContext& ctx) {
  const Tensor *data, *ind, *upd;
  Red red;
  FLEETRT_RETURN_IF_ERROR(check_common(ctx, &data, &ind, &upd, &red));
  const int64_t r = static_cast<int64_t>(data->rank()), q = static_cast<int64_t>(ind->rank());
  if (q < 1) return err(ctx, "indices must have rank >= 1");
  const int64_t k = ind->shape[q - 1];
  if (k > r) return err(ctx, "indices last dim exceeds data rank");
  std::vector<int64_t> ushape(ind->shape.begin(), ind->shape.end() - 1);
  ushape.insert(ushape.end(), data->shape.begin() + k, data->shape.end());
  if (upd->shape != ushape) return err(ctx, "updates shape " + shape_str(upd->shape) + ", expected " + shape_str(ushape));
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, data->shape, &out));
  if (!out) return Status::Ok();
  copy_tensor_data(*data, out);
  int64_t slice = 1;
  for (int64_t j = k; j < r; ++j) slice *= data->shape[j];
  std::vector<int64_t> dst = strides_of(data->shape);
  const int64_t tuples = k ? ind->numel() / k : numel_of(ushape) / std::max<int64_t>(slice, 1);
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t off = 0;
    for (int64_t j = 0; j < k; ++j) {
      int64_t dim = data->shape[j], v = idx_at(*ind, t * k + j), w = v < 0 ? v + dim : v;
      if (w < 0 || w >= dim)
        return err(ctx, "index " + std::to_string(v) + " is out of range for axis size " + std::to_string(dim));
      off += w * dst[j];
    }
    apply(red, out, off, *upd, t * slice, slice);
  }
  return Status::Ok();
}

}  // namespace

FLEETRT_REGISTER_KERNEL("", "Scatter", ScatterElements);
FLEETRT_REGISTER_KERNEL("", "ScatterElements", ScatterElements);
FLEETRT_REGISTER_KERNEL("", "ScatterND", ScatterND);

}  // namespace fleetrt
