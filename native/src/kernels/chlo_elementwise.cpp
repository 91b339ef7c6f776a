// Element-wise CHLO ops that have no ONNX or StableHLO counterpart: the special functions
// (lgamma, digamma, erfc, erf_inv, bessel_i1e, polygamma, zeta) and next_after. float16,
// bfloat16 and float32 are evaluated in double and rounded once; float64 in double. The other
// CHLO ops are lowered by the frontend (src/frontends/stablehlo/chlo.ts).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "chlo_special.h"
#include "stablehlo_util.h"

namespace fleetrt {
namespace chlo {
namespace {

using shlo::bf16_t;
using shlo::Elem;
using shlo::f16_t;

Status err(const KernelContext& ctx, const std::string& msg) {
  std::string where = "chlo." + ctx.op_type();
  if (!ctx.op_name().empty()) where += " '" + ctx.op_name() + "'";
  return Status::Error(where + ": " + msg);
}

// Calls f(T{}) with the storage type of a float dtype.
template <class F>
Status visit_float(const KernelContext& ctx, DType t, F&& f) {
  switch (t) {
    case DType::kF32: return f(float{});
    case DType::kF64: return f(double{});
    case DType::kF16: return f(f16_t{});
    case DType::kBF16: return f(bf16_t{});
    default: return err(ctx, std::string("element type ") + dtype_name(t) + " is not a float type (f16, bf16, f32, f64)");
  }
}

template <class T>
double load(T v) {
  return static_cast<double>(Elem<T>::load(v));
}
template <class T>
T store(double v) {
  return Elem<T>::store(static_cast<typename Elem<T>::C>(v));
}

// Work per element, in parallel_elems cost units: these functions take ~100 flops and a loop.
constexpr int64_t kCost = 64;

using Unary = double (*)(double);

template <Unary fn>
Status unary(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(shlo::require_input(ctx, 0, &x));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(shlo::make_output(ctx, 0, x->shape, &y));
  if (!y) return Status::Ok();
  if (y->dtype != x->dtype)
    return err(ctx, std::string("result type ") + dtype_name(y->dtype) + " differs from operand " + dtype_name(x->dtype));
  return visit_float(ctx, x->dtype, [&](auto tag) -> Status {
    using T = decltype(tag);
    const T* a = x->as<T>();
    T* o = y->as<T>();
    ku::parallel_elems(ctx, x->numel(), kCost, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) o[i] = store<T>(fn(load(a[i])));
    });
    return Status::Ok();
  });
}

// Operands of one element type with equal shapes, or one of them a single element.
Status binary_operands(KernelContext& ctx, const Tensor** a, const Tensor** b, Tensor** y) {
  FLEETRT_RETURN_IF_ERROR(shlo::require_input(ctx, 0, a));
  FLEETRT_RETURN_IF_ERROR(shlo::require_input(ctx, 1, b));
  if ((*a)->dtype != (*b)->dtype)
    return err(ctx, std::string("operand types differ: ") + dtype_name((*a)->dtype) + " vs " + dtype_name((*b)->dtype));
  const Tensor* big = (*a)->numel() == 1 ? *b : *a;
  const Tensor* other = big == *a ? *b : *a;
  if (other->numel() != 1 && other->shape != big->shape)
    return err(ctx, "operand shapes " + shlo::shape_str((*a)->shape) + " and " + shlo::shape_str((*b)->shape) + " differ");
  FLEETRT_RETURN_IF_ERROR(shlo::make_output(ctx, 0, big->shape, y));
  if (*y && (*y)->dtype != (*a)->dtype)
    return err(ctx, std::string("result type ") + dtype_name((*y)->dtype) + " differs from operand " + dtype_name((*a)->dtype));
  return Status::Ok();
}

inline int64_t at(const Tensor& t, int64_t i) { return t.numel() == 1 ? 0 : i; }

using Binary = double (*)(double, double);

template <Binary fn>
Status binary(KernelContext& ctx) {
  const Tensor *a, *b;
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(binary_operands(ctx, &a, &b, &y));
  if (!y) return Status::Ok();
  return visit_float(ctx, a->dtype, [&](auto tag) -> Status {
    using T = decltype(tag);
    const T* pa = a->as<T>();
    const T* pb = b->as<T>();
    T* o = y->as<T>();
    ku::parallel_elems(ctx, y->numel(), kCost, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) o[i] = store<T>(fn(load(pa[at(*a, i)]), load(pb[at(*b, i)])));
    });
    return Status::Ok();
  });
}

// ---- next_after, on the bit patterns (exact for every float type, subnormals included) --------
template <class U, int kBits>
U next_after_bits(U x, U y, U inf_bits, U quiet_nan) {
  const U sign = U(1) << (kBits - 1);
  const U xa = static_cast<U>(x & ~sign), ya = static_cast<U>(y & ~sign);
  if (xa > inf_bits || ya > inf_bits) return quiet_nan;
  if (x == y || (xa == 0 && ya == 0)) return y;  // equal values (±0 compare equal): the result is y
  if (xa == 0) return static_cast<U>((y & sign) | 1u);  // the smallest subnormal toward y
  const bool toward_zero = xa > ya || ((x ^ y) & sign);
  return toward_zero ? static_cast<U>(x - 1) : static_cast<U>(x + 1);
}

template <class U, int kBits>
void next_after_loop(const Tensor& a, const Tensor& b, Tensor& y, U inf_bits, U quiet_nan) {
  const U* pa = static_cast<const U*>(a.data);
  const U* pb = static_cast<const U*>(b.data);
  U* o = static_cast<U*>(y.data);
  for (int64_t i = 0, n = y.numel(); i < n; ++i)
    o[i] = next_after_bits<U, kBits>(pa[at(a, i)], pb[at(b, i)], inf_bits, quiet_nan);
}

Status next_after(KernelContext& ctx) {
  const Tensor *a, *b;
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(binary_operands(ctx, &a, &b, &y));
  if (!y) return Status::Ok();
  switch (a->dtype) {
    case DType::kF64:
      next_after_loop<uint64_t, 64>(*a, *b, *y, 0x7ff0000000000000ull, 0x7ff8000000000000ull);
      return Status::Ok();
    case DType::kF32:
      next_after_loop<uint32_t, 32>(*a, *b, *y, 0x7f800000u, 0x7fc00000u);
      return Status::Ok();
    case DType::kF16:
      next_after_loop<uint16_t, 16>(*a, *b, *y, 0x7c00u, 0x7e00u);
      return Status::Ok();
    case DType::kBF16:
      next_after_loop<uint16_t, 16>(*a, *b, *y, 0x7f80u, 0x7fc0u);
      return Status::Ok();
    default:
      return err(ctx, std::string("element type ") + dtype_name(a->dtype) + " is not a float type (f16, bf16, f32, f64)");
  }
}

double erfc(double x) { return std::erfc(x); }

}  // namespace

FLEETRT_REGISTER_KERNEL("chlo", "lgamma", unary<log_abs_gamma>);
FLEETRT_REGISTER_KERNEL("chlo", "digamma", unary<digamma>);
FLEETRT_REGISTER_KERNEL("chlo", "erfc", unary<erfc>);
FLEETRT_REGISTER_KERNEL("chlo", "erf_inv", unary<erf_inv>);
FLEETRT_REGISTER_KERNEL("chlo", "bessel_i1e", unary<bessel_i1e>);
FLEETRT_REGISTER_KERNEL("chlo", "polygamma", binary<polygamma>);
FLEETRT_REGISTER_KERNEL("chlo", "zeta", binary<hurwitz_zeta>);
FLEETRT_REGISTER_KERNEL("chlo", "next_after", next_after);

}  // namespace chlo
}  // namespace fleetrt
