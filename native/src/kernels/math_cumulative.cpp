// CumSum and CumProd along the axis given by the scalar second input, with the `exclusive` and
// `reverse` attributes. Integers accumulate in their own type, floats in double.
#include <algorithm>

#include "kernel_util.h"

namespace fleetrt {
namespace {

template <class T, class A>
void scan(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool prod, bool excl, bool rev) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const T* px = x + o * n * inner + i;
      T* py = y + o * n * inner + i;
      A acc = prod ? A(1) : A(0);
      for (int64_t s = 0; s < n; ++s) {
        int64_t k = rev ? n - 1 - s : s;
        A v = static_cast<A>(px[k * inner]);
        if (excl) {
          py[k * inner] = static_cast<T>(acc);
          acc = prod ? static_cast<A>(acc * v) : static_cast<A>(acc + v);
        } else {
          acc = prod ? static_cast<A>(acc * v) : static_cast<A>(acc + v);
          py[k * inner] = static_cast<T>(acc);
        }
      }
    }
}

Status cumulative(KernelContext& ctx, bool prod) {
  const Tensor *x, *axis_t;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &axis_t));
  std::vector<int64_t> av;
  FLEETRT_RETURN_IF_ERROR(ku::read_int_tensor(ctx, *axis_t, &av));
  if (av.size() != 1) return ku::op_error(ctx, "axis must be a scalar");
  const int64_t rank = static_cast<int64_t>(x->rank());
  int64_t axis;
  FLEETRT_RETURN_IF_ERROR(ku::normalize_axis(ctx, av[0], rank, &axis));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, x->dtype, &y));
  if (x->numel() == 0) return Status::Ok();
  const int64_t n = rank ? x->shape[axis] : 1, outer = ku::prod(x->shape, 0, axis), inner = ku::prod(x->shape, axis + 1, rank);
  const bool excl = ctx.attrs().get_int("exclusive", 0) != 0, rev = ctx.attrs().get_int("reverse", 0) != 0;
  if (x->dtype == DType::kF16 || x->dtype == DType::kBF16) {
    const float* xf = ku::as_float_buffer(ctx, *x);
    float* yf = ku::float_out_buffer(ctx, *y);
    scan<float, double>(xf, yf, outer, n, inner, prod, excl, rev);
    ku::store_float_buffer(yf, *y);
    return Status::Ok();
  }
  bool ok = false;
  ku::dispatch_numeric(x->dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same<T, bool>::value) {
      using A = typename std::conditional<std::is_floating_point<T>::value, double, T>::type;
      scan<T, A>(x->as<T>(), y->as<T>(), outer, n, inner, prod, excl, rev);
      ok = true;
    }
  });
  if (!ok) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(x->dtype));
  return Status::Ok();
}

Status k_CumSum(KernelContext& ctx) { return cumulative(ctx, false); }
Status k_CumProd(KernelContext& ctx) { return cumulative(ctx, true); }

}  // namespace

FLEETRT_REGISTER_KERNEL("", "CumSum", k_CumSum);
FLEETRT_REGISTER_KERNEL("", "CumProd", k_CumProd);

}  // namespace fleetrt
