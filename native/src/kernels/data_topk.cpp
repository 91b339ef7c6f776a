// TopK (opset 1: k attribute; 10+: K input; 11+: largest / sorted). Ties keep the lower index
// first; NaN counts as larger than every number.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "data_util.h"

namespace fleetrt {
namespace {
using namespace datak;

template <class T>
void topk_rows(const T* x, T* vals, int64_t* inds, int64_t outer, int64_t dim, int64_t inner, int64_t k, bool largest) {
  std::vector<int64_t> order(dim);
  auto key_less = [](T a, T b) {  // total order with NaN on top
    if constexpr (std::is_floating_point<T>::value) {
      if (std::isnan(a)) return false;
      if (std::isnan(b)) return true;
    }
    return a < b;
  };
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      const T* base = x + o * dim * inner + in;
      std::iota(order.begin(), order.end(), 0);
      auto cmp = [&](int64_t a, int64_t b) {
        T va = base[a * inner], vb = base[b * inner];
        if (largest ? key_less(vb, va) : key_less(va, vb)) return true;
        if (largest ? key_less(va, vb) : key_less(vb, va)) return false;
        return a < b;
      };
      std::partial_sort(order.begin(), order.begin() + k, order.end(), cmp);
      for (int64_t j = 0; j < k; ++j) {
        int64_t dst = (o * k + j) * inner + in;
        if (vals) vals[dst] = base[order[j] * inner];
        if (inds) inds[dst] = order[j];
      }
    }
}

Status TopK(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  int64_t k = ctx.attrs().get_int("k", -1);
  if (ctx.opset() >= 10) {
    std::vector<int64_t> kv;
    FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(1), "K", &kv));
    if (kv.size() != 1) return err(ctx, "K must hold one value");
    k = kv[0];
  }
  const int64_t rank = static_cast<int64_t>(x->rank());
  if (rank == 0) return err(ctx, "input must have rank >= 1");
  int64_t axis;
  FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, ctx.attrs().get_int("axis", -1), rank, &axis));
  const int64_t dim = x->shape[axis];
  if (k < 0 || k > dim) return err(ctx, "k = " + std::to_string(k) + " is outside [0, " + std::to_string(dim) + "]");
  const bool largest = ctx.attrs().get_int("largest", 1) != 0;
  std::vector<int64_t> oshape = x->shape;
  oshape[axis] = k;
  Tensor *vals, *inds;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, oshape, &vals));
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 1, oshape, &inds));
  if (inds && inds->dtype != DType::kI64) return err(ctx, "indices output must be int64");
  if (vals && vals->dtype != x->dtype) return err(ctx, "values output must have the input's dtype");
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x->shape[i];
  for (int64_t i = axis + 1; i < rank; ++i) inner *= x->shape[i];
  if (k == 0 || outer * inner == 0) return Status::Ok();
  int64_t* ip = inds ? inds->as<int64_t>() : nullptr;
  switch (x->dtype) {
#define FLEETRT_TOPK(DT, T)                                                                                      \
  case DT:                                                                                                       \
    topk_rows<T>(x->as<T>(), vals ? vals->as<T>() : nullptr, ip, outer, dim, inner, k, largest);                  \
    return Status::Ok();
    FLEETRT_TOPK(DType::kF32, float)
    FLEETRT_TOPK(DType::kF64, double)
    FLEETRT_TOPK(DType::kI64, int64_t)
    FLEETRT_TOPK(DType::kI32, int32_t)
    FLEETRT_TOPK(DType::kI16, int16_t)
    FLEETRT_TOPK(DType::kI8, int8_t)
    FLEETRT_TOPK(DType::kU8, uint8_t)
    FLEETRT_TOPK(DType::kU16, uint16_t)
    FLEETRT_TOPK(DType::kU32, uint32_t)
    FLEETRT_TOPK(DType::kU64, uint64_t)
#undef FLEETRT_TOPK
    case DType::kF16:
    case DType::kBF16: {
      std::vector<float> xf, vf(vals ? vals->numel() : 0);
      load_floats(*x, &xf);
      topk_rows<float>(xf.data(), vals ? vf.data() : nullptr, ip, outer, dim, inner, k, largest);
      if (vals) store_floats(vf, vals);
      return Status::Ok();
    }
    default:
      return err(ctx, std::string("unsupported dtype ") + dtype_name(x->dtype));
  }
}

FLEETRT_REGISTER_KERNEL("", "TopK", TopK);

}  // namespace
}  // namespace fleetrt
