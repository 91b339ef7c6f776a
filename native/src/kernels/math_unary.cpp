// Unary elementwise ops: math functions, activations (with their attributes), Clip, IsNaN/IsInf,
// Not/BitwiseNot. float16/bfloat16 are computed in float32 and rounded back.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernel_util.h"

namespace fleetrt {
namespace {

// Applies f elementwise (same dtype in and out), in parallel for big tensors.
template <class T, class F>
void map_loop(KernelContext& ctx, const T* in, T* out, int64_t n, F f) {
  ku::parallel_elems(ctx, n, 4, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = f(in[i]);
  });
}

// Float-only unary: f is a generic lambda called with float or double.
template <class F>
Status float_unary(KernelContext& ctx, F f) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, x->dtype, &y));
  int64_t n = x->numel();
  switch (x->dtype) {
    case DType::kF32: map_loop(ctx, x->as<float>(), y->as<float>(), n, [&](float v) { return f(v); }); break;
    case DType::kF64: map_loop(ctx, x->as<double>(), y->as<double>(), n, [&](double v) { return f(v); }); break;
    case DType::kF16: case DType::kBF16: {
      bool h = x->dtype == DType::kF16;
      const uint16_t* in = x->as<uint16_t>();
      uint16_t* out = y->as<uint16_t>();
      ku::parallel_elems(ctx, n, 8, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          float v = h ? ku::half_to_float(in[i]) : ku::bf16_to_float(in[i]);
          float r = f(v);
          out[i] = h ? ku::float_to_half(r) : ku::float_to_bf16(r);
        }
      });
      break;
    }
    default: return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(x->dtype));
  }
  return Status::Ok();
}

// Numeric unary over floats and (signed or all) integers.
template <class F>
Status numeric_unary(KernelContext& ctx, bool allow_unsigned, F f) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  DType t = x->dtype;
  if (t == DType::kF32 || t == DType::kF64 || t == DType::kF16 || t == DType::kBF16) return float_unary(ctx, f);
  if (!(ku::is_signed_int(t) || (allow_unsigned && ku::is_unsigned_int(t))))
    return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(t));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, t, &y));
  ku::dispatch_numeric(t, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral<T>::value && !std::is_same<T, bool>::value)
      map_loop(ctx, x->as<T>(), y->as<T>(), x->numel(), [&](T v) { return static_cast<T>(f(v)); });
  });
  return Status::Ok();
}

// Branch-free (random signs would otherwise mispredict): exp(−x) overflowing to inf gives 0.
template <class T>
T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}
template <class T>
T softplus(T x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

double attr_f(KernelContext& ctx, const char* name, double def) { return ctx.attrs().get_float(name, def); }

#define FLOAT_UNARY(NAME, EXPR)                                   \
  Status k_##NAME(KernelContext& ctx) {                           \
    return float_unary(ctx, [&](auto x) {                         \
      using T = decltype(x);                                      \
      (void)sizeof(T);                                            \
      return static_cast<T>(EXPR);                                \
    });                                                           \
  }                                                               \
  FLEETRT_REGISTER_KERNEL("", #NAME, k_##NAME);

FLOAT_UNARY(Sqrt, std::sqrt(x))
FLOAT_UNARY(Exp, std::exp(x))
FLOAT_UNARY(Log, std::log(x))
FLOAT_UNARY(Sin, std::sin(x))
FLOAT_UNARY(Cos, std::cos(x))
FLOAT_UNARY(Tan, std::tan(x))
FLOAT_UNARY(Asin, std::asin(x))
FLOAT_UNARY(Acos, std::acos(x))
FLOAT_UNARY(Atan, std::atan(x))
FLOAT_UNARY(Sinh, std::sinh(x))
FLOAT_UNARY(Cosh, std::cosh(x))
FLOAT_UNARY(Asinh, std::asinh(x))
FLOAT_UNARY(Acosh, std::acosh(x))
FLOAT_UNARY(Atanh, std::atanh(x))
FLOAT_UNARY(Floor, std::floor(x))
FLOAT_UNARY(Ceil, std::ceil(x))
FLOAT_UNARY(Round, std::nearbyint(x))  // half to even under the default rounding mode
FLOAT_UNARY(Reciprocal, T(1) / x)
FLOAT_UNARY(Softplus, softplus(x))
FLOAT_UNARY(Softsign, x / (T(1) + std::fabs(x)))
FLOAT_UNARY(Mish, x * std::tanh(softplus(x)))
FLOAT_UNARY(HardSwish, x * std::max(T(0), std::min(T(1), x / T(6) + T(0.5))))
#undef FLOAT_UNARY

Status k_Abs(KernelContext& ctx) {
  return numeric_unary(ctx, true, [](auto x) {
    using T = decltype(x);
    if constexpr (std::is_unsigned<T>::value) return x;
    else return static_cast<T>(x < 0 ? -x : x);
  });
}
Status k_Neg(KernelContext& ctx) {
  return numeric_unary(ctx, false, [](auto x) {
    using T = decltype(x);
    if constexpr (std::is_integral<T>::value)
      return static_cast<T>(0 - static_cast<typename std::make_unsigned<T>::type>(x));
    else return -x;
  });
}
Status k_Sign(KernelContext& ctx) {
  return numeric_unary(ctx, true, [](auto x) {
    using T = decltype(x);
    if constexpr (std::is_floating_point<T>::value)
      if (std::isnan(x)) return x;
    return static_cast<T>(x > T(0) ? 1 : (x < T(0) ? -1 : 0));
  });
}
// float32 x → output 0 through vec(in, out, n) on parallel chunks of the elements (`cost` per
// element for the chunking).
template <class V>
Status f32_chunks(KernelContext& ctx, const Tensor& x, int64_t cost, V vec) {
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x.shape, x.dtype, &y));
  const float* in = x.as<float>();
  float* out = y->as<float>();
  ku::parallel_elems(ctx, x.numel(), cost, [&](int64_t b, int64_t e) { vec(in + b, out + b, e - b); });
  return Status::Ok();
}

// float32 Relu (ku::vrelu).
Status relu_f32(KernelContext& ctx, const Tensor& x) { return f32_chunks(ctx, x, 1, ku::vrelu); }

Status k_Relu(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  if (x->dtype == DType::kF32) return relu_f32(ctx, *x);
  return numeric_unary(ctx, false, [](auto x) {
    using T = decltype(x);
    return std::max(x, T(0));  // a select, not a branch
  });
}
Status k_LeakyRelu(KernelContext& ctx) {
  double a = attr_f(ctx, "alpha", 0.01);
  return float_unary(ctx, [a](auto x) {
    using T = decltype(x);
    return x < 0 ? static_cast<T>(a) * x : x;
  });
}
Status k_Elu(KernelContext& ctx) {
  double a = attr_f(ctx, "alpha", 1.0);
  return float_unary(ctx, [a](auto x) {
    using T = decltype(x);
    return x < 0 ? static_cast<T>(a) * (std::exp(x) - T(1)) : x;
  });
}
Status k_Celu(KernelContext& ctx) {
  double a = attr_f(ctx, "alpha", 1.0);
  return float_unary(ctx, [a](auto x) {
    using T = decltype(x);
    T al = static_cast<T>(a);
    return std::max(T(0), x) + std::min(T(0), al * (std::exp(x / al) - T(1)));
  });
}
Status k_Selu(KernelContext& ctx) {
  double a = attr_f(ctx, "alpha", 1.67326319217681884765625);
  double g = attr_f(ctx, "gamma", 1.05070102214813232421875);
  return float_unary(ctx, [a, g](auto x) {
    using T = decltype(x);
    return static_cast<T>(x <= 0 ? g * (a * std::exp(static_cast<double>(x)) - a) : g * x);
  });
}
Status k_HardSigmoid(KernelContext& ctx) {
  double a = attr_f(ctx, "alpha", 0.2), b = attr_f(ctx, "beta", 0.5);
  return float_unary(ctx, [a, b](auto x) {
    using T = decltype(x);
    return std::max(T(0), std::min(T(1), static_cast<T>(a) * x + static_cast<T>(b)));
  });
}
Status k_ThresholdedRelu(KernelContext& ctx) {
  double a = attr_f(ctx, "alpha", 1.0);
  return float_unary(ctx, [a](auto x) {
    using T = decltype(x);
    return x > static_cast<T>(a) ? x : T(0);
  });
}
Status k_Shrink(KernelContext& ctx) {
  double bias = attr_f(ctx, "bias", 0.0), lambd = attr_f(ctx, "lambd", 0.5);
  return numeric_unary(ctx, true, [bias, lambd](auto x) {
    using T = decltype(x);
    double v = static_cast<double>(x);
    return static_cast<T>(v < -lambd ? v + bias : (v > lambd ? v - bias : 0.0));
  });
}
// float32 Erf / Gelu through the vector erf and tanh, in blocks of 256.
Status erf_gelu_f32(KernelContext& ctx, const Tensor& x, bool gelu, bool tanh_approx) {
  return f32_chunks(ctx, x, 16, [gelu, tanh_approx](const float* in, float* out, int64_t n) {
    float t[256];
    for (int64_t i0 = 0; i0 < n; i0 += 256) {
      const int64_t m = std::min<int64_t>(256, n - i0);
      const float* v = in + i0;
      if (!gelu) {
        ku::verf(v, out + i0, m);
        continue;
      }
      if (tanh_approx) {
        for (int64_t k = 0; k < m; ++k) t[k] = 0.7978845608028654f * (v[k] + 0.044715f * v[k] * v[k] * v[k]);
        ku::vtanh(t, t, m);
      } else {
        for (int64_t k = 0; k < m; ++k) t[k] = v[k] * 0.7071067811865476f;
        ku::verf(t, t, m);
      }
      for (int64_t k = 0; k < m; ++k) out[i0 + k] = 0.5f * v[k] * (1.f + t[k]);
    }
  });
}

Status k_Erf(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  if (x->dtype == DType::kF32) return erf_gelu_f32(ctx, *x, false, false);
  return float_unary(ctx, [](auto v) {
    using T = decltype(v);
    return static_cast<T>(std::erf(v));
  });
}

Status k_Gelu(KernelContext& ctx) {
  bool tanh_approx = ctx.attrs().get_string("approximate", "none") == "tanh";
  const Tensor* xin;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &xin));
  if (xin->dtype == DType::kF32) return erf_gelu_f32(ctx, *xin, true, tanh_approx);
  return float_unary(ctx, [tanh_approx](auto x) {
    using T = decltype(x);
    if (tanh_approx) {
      const T c = static_cast<T>(0.7978845608028654);  // sqrt(2/pi)
      return static_cast<T>(T(0.5) * x * (T(1) + std::tanh(c * (x + T(0.044715) * x * x * x))));
    }
    return static_cast<T>(T(0.5) * x * (T(1) + std::erf(x * static_cast<T>(0.7071067811865476))));
  });
}

// float32 Sigmoid through the vector exp (ku::vsigmoid).
Status k_Sigmoid(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  if (x->dtype != DType::kF32)
    return float_unary(ctx, [](auto v) {
      using T = decltype(v);
      return static_cast<T>(sigmoid(v));
    });
  return f32_chunks(ctx, *x, 8, [](const float* in, float* out, int64_t n) { ku::vsigmoid(in, out, n); });
}

Status k_Tanh(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  if (x->dtype != DType::kF32)
    return float_unary(ctx, [](auto v) {
      using T = decltype(v);
      return static_cast<T>(std::tanh(v));
    });
  return f32_chunks(ctx, *x, 8, [](const float* in, float* out, int64_t n) { ku::vtanh(in, out, n); });
}

Status k_Swish(KernelContext& ctx) {
  double a = attr_f(ctx, "alpha", 1.0);
  return float_unary(ctx, [a](auto x) {
    using T = decltype(x);
    return static_cast<T>(x * sigmoid(static_cast<T>(a) * x));
  });
}

// Clip: bounds from attributes (opset < 11) or optional inputs 1 and 2.
Status k_Clip(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
  bool has_lo = false, has_hi = false;
  if (ctx.opset() < 11) {
    if (ctx.attrs().has("min")) lo = ctx.attrs().get_float("min", 0), has_lo = true;
    if (ctx.attrs().has("max")) hi = ctx.attrs().get_float("max", 0), has_hi = true;
  } else {
    const Tensor* tmin = ctx.num_inputs() > 1 ? ctx.input(1) : nullptr;
    const Tensor* tmax = ctx.num_inputs() > 2 ? ctx.input(2) : nullptr;
    if (tmin && tmin->numel() > 0) {
      FLEETRT_RETURN_IF_ERROR(ku::read_scalar(ctx, *tmin, &lo));
      has_lo = true;
    }
    if (tmax && tmax->numel() > 0) {
      FLEETRT_RETURN_IF_ERROR(ku::read_scalar(ctx, *tmax, &hi));
      has_hi = true;
    }
  }
  (void)has_lo;
  (void)has_hi;
  return numeric_unary(ctx, true, [lo, hi](auto x) {
    using T = decltype(x);
    if constexpr (std::is_floating_point<T>::value) {
      if (std::isnan(x)) return x;
      T l = static_cast<T>(lo), h = static_cast<T>(hi);
      T r = x < l ? l : x;
      return r > h ? h : r;
    } else {
      // integer bounds: compare in double (exact for the values tests and models use)
      double v = static_cast<double>(x);
      if (lo > hi || v > hi) return static_cast<T>(hi);
      if (v < lo) return static_cast<T>(lo);
      return x;
    }
  });
}

Status class_kernel(KernelContext& ctx, bool nan) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  if (!ku::is_float(x->dtype)) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(x->dtype));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, DType::kBool, &y));
  bool neg = ctx.attrs().get_int("detect_negative", 1) != 0, pos = ctx.attrs().get_int("detect_positive", 1) != 0;
  int64_t n = x->numel();
  bool* o = y->as<bool>();
  for (int64_t i = 0; i < n; ++i) {
    double v = ku::load_as_double(*x, i);
    o[i] = nan ? std::isnan(v) : (std::isinf(v) && ((v > 0 && pos) || (v < 0 && neg)));
  }
  return Status::Ok();
}
Status k_IsNaN(KernelContext& ctx) { return class_kernel(ctx, true); }
Status k_IsInf(KernelContext& ctx) { return class_kernel(ctx, false); }

Status k_Not(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  if (x->dtype != DType::kBool) return ku::op_error(ctx, std::string("expected bool input, got ") + dtype_name(x->dtype));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, DType::kBool, &y));
  for (int64_t i = 0, n = x->numel(); i < n; ++i) y->as<bool>()[i] = !x->as<bool>()[i];
  return Status::Ok();
}

Status k_BitwiseNot(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  if (!ku::is_int(x->dtype)) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(x->dtype));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x->shape, x->dtype, &y));
  ku::dispatch_numeric(x->dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral<T>::value && !std::is_same<T, bool>::value)
      map_loop(ctx, x->as<T>(), y->as<T>(), x->numel(), [](T v) { return static_cast<T>(~v); });
  });
  return Status::Ok();
}

}  // namespace

FLEETRT_REGISTER_KERNEL("", "Abs", k_Abs);
FLEETRT_REGISTER_KERNEL("", "Neg", k_Neg);
FLEETRT_REGISTER_KERNEL("", "Sign", k_Sign);
FLEETRT_REGISTER_KERNEL("", "Relu", k_Relu);
FLEETRT_REGISTER_KERNEL("", "LeakyRelu", k_LeakyRelu);
FLEETRT_REGISTER_KERNEL("", "Elu", k_Elu);
FLEETRT_REGISTER_KERNEL("", "Celu", k_Celu);
FLEETRT_REGISTER_KERNEL("", "Selu", k_Selu);
FLEETRT_REGISTER_KERNEL("", "HardSigmoid", k_HardSigmoid);
FLEETRT_REGISTER_KERNEL("", "ThresholdedRelu", k_ThresholdedRelu);
FLEETRT_REGISTER_KERNEL("", "Shrink", k_Shrink);
FLEETRT_REGISTER_KERNEL("", "Gelu", k_Gelu);
FLEETRT_REGISTER_KERNEL("", "Swish", k_Swish);
FLEETRT_REGISTER_KERNEL("", "Sigmoid", k_Sigmoid);
FLEETRT_REGISTER_KERNEL("", "Tanh", k_Tanh);
FLEETRT_REGISTER_KERNEL("", "Erf", k_Erf);
FLEETRT_REGISTER_KERNEL("", "Clip", k_Clip);
FLEETRT_REGISTER_KERNEL("", "IsNaN", k_IsNaN);
FLEETRT_REGISTER_KERNEL("", "IsInf", k_IsInf);
FLEETRT_REGISTER_KERNEL("", "Not", k_Not);
FLEETRT_REGISTER_KERNEL("", "BitwiseNot", k_BitwiseNot);

}  // namespace fleetrt
