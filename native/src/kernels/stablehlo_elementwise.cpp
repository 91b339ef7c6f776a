// Element-wise StableHLO ops with the spec's exact integer and float semantics: wrapping
// integer arithmetic, x/0 = -1 and x%0 = x (XLA's convention), out-of-range shifts, NaN-
// propagating maximum/minimum, IEEE and total-order compare, i1 as a logical type.
// Operands have equal shapes except where the spec broadcasts a scalar (select's pred, clamp's
// bounds); we accept a one-element operand for any input.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "stablehlo_util.h"

namespace fleetrt {
namespace shlo {
namespace {

template <class T>
using Cx = compute_t<T>;

// Wrapping integer arithmetic (no signed-overflow UB).
template <class I>
I wrap_add(I a, I b) {
  using U = std::make_unsigned_t<I>;
  return static_cast<I>(static_cast<U>(a) + static_cast<U>(b));
}
template <class I>
I wrap_sub(I a, I b) {
  using U = std::make_unsigned_t<I>;
  return static_cast<I>(static_cast<U>(a) - static_cast<U>(b));
}
template <class I>
I wrap_mul(I a, I b) {
  using U = std::make_unsigned_t<I>;
  using W = std::conditional_t<(sizeof(U) < sizeof(unsigned)), unsigned, U>;  // avoid int promotion UB
  return static_cast<I>(static_cast<U>(static_cast<W>(static_cast<U>(a)) * static_cast<W>(static_cast<U>(b))));
}

template <class F>
F fmax_nan(F a, F b) {
  if (std::isnan(a)) return a;
  if (std::isnan(b)) return b;
  if (a == b) return std::signbit(a) ? b : a;
  return a > b ? a : b;
}
template <class F>
F fmin_nan(F a, F b) {
  if (std::isnan(a)) return a;
  if (std::isnan(b)) return b;
  if (a == b) return std::signbit(a) ? a : b;
  return a < b ? a : b;
}

// Which element types an op takes: ok<T>() (the kernels refuse the others in one error line).
struct AnyElement {
  template <class T>
  static constexpr bool ok() {
    return true;
  }
};
struct NotBool {
  template <class T>
  static constexpr bool ok() {
    return !is_bool_v<T>;
  }
};
struct NotFloat {  // integers and i1
  template <class T>
  static constexpr bool ok() {
    return !is_float_v<T>;
  }
};
struct FloatOnly {
  template <class T>
  static constexpr bool ok() {
    return is_float_v<T>;
  }
};
struct IntOnly {
  template <class T>
  static constexpr bool ok() {
    return is_int_v<T>;
  }
};

// ---- unary ops: each derives the element types it takes; f(C) computes -------------------------
#define SHLO_FLOAT_UNARY(Name, expr) \
  struct Name : FloatOnly {          \
    template <class C>               \
    static C f(C x) {                \
      return static_cast<C>(expr);   \
    }                                \
  };

SHLO_FLOAT_UNARY(Sqrt, std::sqrt(x))
SHLO_FLOAT_UNARY(Rsqrt, C(1) / std::sqrt(x))
SHLO_FLOAT_UNARY(Cbrt, std::cbrt(x))
SHLO_FLOAT_UNARY(Exp, std::exp(x))
SHLO_FLOAT_UNARY(Expm1, std::expm1(x))
SHLO_FLOAT_UNARY(Log, std::log(x))
SHLO_FLOAT_UNARY(Log1p, std::log1p(x))
SHLO_FLOAT_UNARY(Logistic, C(1) / (C(1) + std::exp(-x)))
SHLO_FLOAT_UNARY(Sin, std::sin(x))
SHLO_FLOAT_UNARY(Cos, std::cos(x))
SHLO_FLOAT_UNARY(Tan, std::tan(x))
SHLO_FLOAT_UNARY(Tanh, std::tanh(x))
SHLO_FLOAT_UNARY(Atan, std::atan(x))
SHLO_FLOAT_UNARY(Floor, std::floor(x))
SHLO_FLOAT_UNARY(Ceil, std::ceil(x))
SHLO_FLOAT_UNARY(RoundAfz, std::round(x))
SHLO_FLOAT_UNARY(RoundEven, std::nearbyint(x))
#undef SHLO_FLOAT_UNARY

struct Abs : NotBool {
  template <class C>
  static C f(C x) {
    if constexpr (std::is_floating_point<C>::value) return std::fabs(x);
    else if constexpr (std::is_signed<C>::value) return x < 0 ? wrap_sub<C>(0, x) : x;
    else return x;
  }
};
struct Negate : NotBool {
  template <class C>
  static C f(C x) {
    if constexpr (std::is_floating_point<C>::value) return -x;
    else return wrap_sub<C>(0, x);
  }
};
struct Sign : NotBool {
  template <class C>
  static C f(C x) {
    if constexpr (std::is_floating_point<C>::value) {
      if (std::isnan(x) || x == 0) return x;
      return x < 0 ? C(-1) : C(1);
    } else {
      return x > 0 ? C(1) : (x == 0 ? C(0) : static_cast<C>(-1));
    }
  }
};
struct Not : NotFloat {
  template <class C>
  static C f(C x) {
    if constexpr (std::is_same<C, bool>::value) return !x;
    else return static_cast<C>(~x);
  }
};
struct Popcnt : IntOnly {
  template <class C>
  static C f(C x) {
    using U = std::make_unsigned_t<C>;
    return static_cast<C>(__builtin_popcountll(static_cast<unsigned long long>(static_cast<U>(x))));
  }
};
struct Clz : IntOnly {
  template <class C>
  static C f(C x) {
    using U = std::make_unsigned_t<C>;
    U u = static_cast<U>(x);
    if (u == 0) return static_cast<C>(sizeof(C) * 8);
    return static_cast<C>(__builtin_clzll(static_cast<unsigned long long>(u)) - (64 - sizeof(C) * 8));
  }
};

template <class Op>
Status unary(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, x->shape, &y));
  if (!y) return Status::Ok();
  if (y->dtype != x->dtype)
    return err(ctx, std::string("result type ") + dtype_name(y->dtype) + " differs from operand " + dtype_name(x->dtype));
  return visit_dtype(ctx, x->dtype, [&](auto tag) -> Status {
    using T = decltype(tag);
    if constexpr (!Op::template ok<T>()) {
      return err(ctx, std::string("element type ") + dtype_name(x->dtype) + " is not allowed");
    } else {
      const T* a = x->as<T>();
      T* o = y->as<T>();
      int64_t n = x->numel();
      for (int64_t i = 0; i < n; ++i) o[i] = Elem<T>::store(Op::f(Elem<T>::load(a[i])));
      return Status::Ok();
    }
  });
}

Status is_finite(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, x->shape, &y));
  if (!y) return Status::Ok();
  return visit_dtype(ctx, x->dtype, [&](auto tag) -> Status {
    using T = decltype(tag);
    if constexpr (!is_float_v<T>) {
      return err(ctx, "operand must be a float tensor");
    } else {
      const T* a = x->as<T>();
      uint8_t* o = y->as<uint8_t>();
      for (int64_t i = 0, n = x->numel(); i < n; ++i) o[i] = std::isfinite(Elem<T>::load(a[i])) ? 1 : 0;
      return Status::Ok();
    }
  });
}

// reduce_precision, bit for bit as XLA does it (round to nearest even on the mantissa, then
// clamp the exponent range; NaN is kept unless no mantissa bits remain).
template <class F, class U, int kMant, int kExp>
F reduce_precision_bits(F x, int exp_bits, int mant_bits) {
  // NaN stays NaN while a mantissa bit remains; with none it becomes an infinity of its sign
  // (the rounding below would carry a NaN's mantissa into the sign bit).
  if (std::isnan(x)) return mant_bits > 0 ? x : std::copysign(std::numeric_limits<F>::infinity(), x);
  U b;
  std::memcpy(&b, &x, sizeof(F));
  const int nbits = sizeof(F) * 8;
  if (mant_bits < kMant) {
    U last = U(1) << (kMant - mant_bits);
    U base_bias = (last >> 1) - 1;
    U x_last = (b & last) >> (kMant - mant_bits);
    U trunc_mask = ~(last - 1);
    b = (b + x_last + base_bias) & trunc_mask;
  }
  if (exp_bits < kExp) {
    U sign_mask = U(1) << (nbits - 1);
    U exp_mask = ((U(1) << kExp) - 1) << kMant;
    U bias = (U(1) << (kExp - 1)) - 1;
    U rbias = (U(1) << (exp_bits - 1)) - 1;
    U rmax = bias + rbias, rmin = bias - rbias;
    U e = b & exp_mask;
    bool over = e > (rmax << kMant);
    bool under = e <= (rmin << kMant);
    U szero = b & sign_mask;
    U sinf = szero | exp_mask;
    b = over ? sinf : (under ? szero : b);
  }
  F r;
  std::memcpy(&r, &b, sizeof(F));
  if (mant_bits > 0 && std::isnan(x)) r = x;
  return r;
}

Status reduce_precision(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, x->shape, &y));
  if (!y) return Status::Ok();
  int eb = static_cast<int>(ctx.attrs().get_int("exponent_bits", -1));
  int mb = static_cast<int>(ctx.attrs().get_int("mantissa_bits", -1));
  if (eb < 1 || mb < 0) return err(ctx, "needs attributes exponent_bits >= 1 and mantissa_bits >= 0");
  return visit_dtype(ctx, x->dtype, [&](auto tag) -> Status {
    using T = decltype(tag);
    if constexpr (!is_float_v<T>) {
      return err(ctx, "operand must be a float tensor");
    } else {
      const T* a = x->as<T>();
      T* o = y->as<T>();
      for (int64_t i = 0, n = x->numel(); i < n; ++i) {
        if constexpr (std::is_same<T, double>::value) {
          o[i] = reduce_precision_bits<double, uint64_t, 52, 11>(a[i], eb, mb);
        } else if constexpr (std::is_same<T, float>::value) {
          o[i] = reduce_precision_bits<float, uint32_t, 23, 8>(a[i], eb, mb);
        } else {
          // f16/bf16 values are exact in f32; reduce there, then the f32 → narrow rounding is exact
          // whenever the requested format is no wider than the storage format.
          float v = reduce_precision_bits<float, uint32_t, 23, 8>(Elem<T>::load(a[i]), eb, mb);
          o[i] = Elem<T>::store(v);
        }
      }
      return Status::Ok();
    }
  });
}

// ---- binary ops --------------------------------------------------------------------------------
struct Add : AnyElement {
  template <class C>
  static C f(C a, C b) {
    if constexpr (std::is_same<C, bool>::value) return a || b;
    else if constexpr (std::is_integral<C>::value) return wrap_add(a, b);
    else return a + b;
  }
};
struct Sub : NotBool {
  template <class C>
  static C f(C a, C b) {
    if constexpr (std::is_integral<C>::value) return wrap_sub(a, b);
    else return a - b;
  }
};
struct Mul : AnyElement {
  template <class C>
  static C f(C a, C b) {
    if constexpr (std::is_same<C, bool>::value) return a && b;
    else if constexpr (std::is_integral<C>::value) return wrap_mul(a, b);
    else return a * b;
  }
};
struct Div : NotBool {
  template <class C>
  static C f(C a, C b) {
    if constexpr (std::is_floating_point<C>::value) {
      return a / b;
    } else {
      if (b == 0) return static_cast<C>(-1);  // all bits set (XLA)
      if constexpr (std::is_signed<C>::value)
        if (a == std::numeric_limits<C>::min() && b == -1) return a;
      return static_cast<C>(a / b);
    }
  }
};
struct Rem : NotBool {
  template <class C>
  static C f(C a, C b) {
    if constexpr (std::is_floating_point<C>::value) {
      return std::fmod(a, b);
    } else {
      if (b == 0) return a;
      if constexpr (std::is_signed<C>::value)
        if (a == std::numeric_limits<C>::min() && b == -1) return 0;
      return static_cast<C>(a % b);
    }
  }
};
struct Max : AnyElement {
  template <class C>
  static C f(C a, C b) {
    if constexpr (std::is_floating_point<C>::value) return fmax_nan(a, b);
    else return a > b ? a : b;
  }
};
struct Min : AnyElement {
  template <class C>
  static C f(C a, C b) {
    if constexpr (std::is_floating_point<C>::value) return fmin_nan(a, b);
    else return a < b ? a : b;
  }
};
struct Pow : NotBool {
  template <class C>
  static C f(C a, C b) {
    if constexpr (std::is_floating_point<C>::value) {
      return std::pow(a, b);
    } else {
      if constexpr (std::is_signed<C>::value) {
        if (b < 0) {
          if (a == 1) return 1;
          if (a == -1) return (b & 1) ? static_cast<C>(-1) : C(1);
          return 0;
        }
      }
      C r = 1, base = a;
      using U = std::make_unsigned_t<C>;
      U e = static_cast<U>(b);
      while (e) {
        if (e & 1) r = wrap_mul(r, base);
        base = wrap_mul(base, base);
        e >>= 1;
      }
      return r;
    }
  }
};
struct Atan2 : FloatOnly {
  template <class C>
  static C f(C a, C b) {
    return std::atan2(a, b);
  }
};
struct And : NotFloat {
  template <class C>
  static C f(C a, C b) {
    if constexpr (std::is_same<C, bool>::value) return a && b;
    else return static_cast<C>(a & b);
  }
};
struct Or : NotFloat {
  template <class C>
  static C f(C a, C b) {
    if constexpr (std::is_same<C, bool>::value) return a || b;
    else return static_cast<C>(a | b);
  }
};
struct Xor : NotFloat {
  template <class C>
  static C f(C a, C b) {
    if constexpr (std::is_same<C, bool>::value) return a != b;
    else return static_cast<C>(a ^ b);
  }
};
// Shifts: a shift amount outside [0, bits) gives 0 (left, logical) or the sign fill (arithmetic).
struct ShiftLeft : IntOnly {
  template <class C>
  static C f(C a, C b) {
    using U = std::make_unsigned_t<C>;
    if (static_cast<U>(b) >= sizeof(C) * 8) return 0;
    return static_cast<C>(static_cast<U>(static_cast<U>(a) << static_cast<U>(b)));
  }
};
struct ShiftRightLogical : IntOnly {
  template <class C>
  static C f(C a, C b) {
    using U = std::make_unsigned_t<C>;
    if (static_cast<U>(b) >= sizeof(C) * 8) return 0;
    return static_cast<C>(static_cast<U>(static_cast<U>(a) >> static_cast<U>(b)));
  }
};
struct ShiftRightArithmetic : IntOnly {
  template <class C>
  static C f(C a, C b) {
    using U = std::make_unsigned_t<C>;
    using S = std::make_signed_t<C>;
    S sa = static_cast<S>(a);
    U n = static_cast<U>(b);
    if (n >= sizeof(C) * 8) return static_cast<C>(sa < 0 ? S(-1) : S(0));
    // Arithmetic shift written without relying on implementation-defined >> of negatives.
    // The casts back to U keep i8/i16 from promoting to int, whose ~ would set bits above the type.
    U inv = static_cast<U>(~static_cast<U>(sa));
    S r = sa < 0 ? static_cast<S>(static_cast<U>(~static_cast<U>(inv >> n))) : static_cast<S>(static_cast<U>(sa) >> n);
    return static_cast<C>(r);
  }
};

// Index of element i of an operand that is either full-size or a one-element broadcast.
inline int64_t bidx(const Tensor& t, int64_t i) { return t.numel() == 1 ? 0 : i; }

Status check_operand_shape(const KernelContext& ctx, const Tensor& t, const std::vector<int64_t>& shape, int i) {
  if (t.numel() == 1 || t.shape == shape) return Status::Ok();
  return err(ctx, "operand " + std::to_string(i) + " has shape " + shape_str(t.shape) + ", expected " + shape_str(shape));
}

// The broadcast result shape of element-wise operands (the largest; others must match or be 1).
Status result_shape(const KernelContext& ctx, const std::vector<const Tensor*>& ts, std::vector<int64_t>* shape) {
  const Tensor* big = nullptr;
  for (const Tensor* t : ts)
    if (t->numel() != 1 && !big) big = t;
  if (!big)  // all one-element: the highest rank wins
    for (const Tensor* t : ts)
      if (!big || t->rank() > big->rank()) big = t;
  *shape = big->shape;
  for (size_t i = 0; i < ts.size(); ++i) FLEETRT_RETURN_IF_ERROR(check_operand_shape(ctx, *ts[i], *shape, static_cast<int>(i)));
  return Status::Ok();
}

template <class Op>
Status binary(KernelContext& ctx) {
  const Tensor *a, *b;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &a));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &b));
  if (a->dtype != b->dtype)
    return err(ctx, std::string("operand types differ: ") + dtype_name(a->dtype) + " vs " + dtype_name(b->dtype));
  std::vector<int64_t> shape;
  FLEETRT_RETURN_IF_ERROR(result_shape(ctx, {a, b}, &shape));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &y));
  if (!y) return Status::Ok();
  if (y->dtype != a->dtype)
    return err(ctx, std::string("result type ") + dtype_name(y->dtype) + " differs from operand " + dtype_name(a->dtype));
  return visit_dtype(ctx, a->dtype, [&](auto tag) -> Status {
    using T = decltype(tag);
    if constexpr (!Op::template ok<T>()) {
      return err(ctx, std::string("element type ") + dtype_name(a->dtype) + " is not allowed");
    } else {
      const T* pa = a->as<T>();
      const T* pb = b->as<T>();
      T* o = y->as<T>();
      int64_t n = y->numel();
      for (int64_t i = 0; i < n; ++i)
        o[i] = Elem<T>::store(Op::f(Elem<T>::load(pa[bidx(*a, i)]), Elem<T>::load(pb[bidx(*b, i)])));
      return Status::Ok();
    }
  });
}

// ---- compare -----------------------------------------------------------------------------------
enum class Dir { EQ, NE, GE, GT, LE, LT };

// Total-order key of a float (-NaN < -inf < … < -0 < +0 < … < inf < NaN).
inline int64_t total_key(double v) {
  int64_t b;
  std::memcpy(&b, &v, 8);
  return b < 0 ? b ^ std::numeric_limits<int64_t>::max() : b;
}

template <class C>
bool cmp(Dir d, C a, C b) {
  switch (d) {
    case Dir::EQ: return a == b;
    case Dir::NE: return a != b;
    case Dir::GE: return a >= b;
    case Dir::GT: return a > b;
    case Dir::LE: return a <= b;
    case Dir::LT: return a < b;
  }
  return false;
}

Status compare(KernelContext& ctx) {
  const Tensor *a, *b;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &a));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &b));
  if (a->dtype != b->dtype)
    return err(ctx, std::string("operand types differ: ") + dtype_name(a->dtype) + " vs " + dtype_name(b->dtype));
  std::string ds = ctx.attrs().get_string("comparison_direction", "");
  Dir d;
  if (ds == "EQ") d = Dir::EQ;
  else if (ds == "NE") d = Dir::NE;
  else if (ds == "GE") d = Dir::GE;
  else if (ds == "GT") d = Dir::GT;
  else if (ds == "LE") d = Dir::LE;
  else if (ds == "LT") d = Dir::LT;
  else return err(ctx, "comparison_direction must be one of EQ, NE, GE, GT, LE, LT (got '" + ds + "')");
  std::string ct = ctx.attrs().get_string("compare_type", "");
  bool total = ct == "TOTALORDER";
  if (!ct.empty() && ct != "TOTALORDER" && ct != "FLOAT" && ct != "SIGNED" && ct != "UNSIGNED" && ct != "NOTYPE")
    return err(ctx, "unknown compare_type '" + ct + "'");
  std::vector<int64_t> shape;
  FLEETRT_RETURN_IF_ERROR(result_shape(ctx, {a, b}, &shape));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &y));
  if (!y) return Status::Ok();
  if (y->dtype != DType::kBool) return err(ctx, "result must be i1");
  return visit_dtype(ctx, a->dtype, [&](auto tag) -> Status {
    using T = decltype(tag);
    const T* pa = a->as<T>();
    const T* pb = b->as<T>();
    uint8_t* o = y->as<uint8_t>();
    int64_t n = y->numel();
    for (int64_t i = 0; i < n; ++i) {
      auto x = Elem<T>::load(pa[bidx(*a, i)]);
      auto z = Elem<T>::load(pb[bidx(*b, i)]);
      bool r;
      if constexpr (is_float_v<T>) {
        r = total ? cmp(d, total_key(static_cast<double>(x)), total_key(static_cast<double>(z))) : cmp(d, x, z);
      } else {
        r = cmp(d, x, z);
      }
      o[i] = r ? 1 : 0;
    }
    return Status::Ok();
  });
}

// ---- select / clamp ----------------------------------------------------------------------------
Status select(KernelContext& ctx) {
  const Tensor *p, *t, *f;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &p));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &t));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 2, &f));
  if (p->dtype != DType::kBool) return err(ctx, "pred must be i1");
  if (t->dtype != f->dtype) return err(ctx, "on_true and on_false element types differ");
  std::vector<int64_t> shape;
  FLEETRT_RETURN_IF_ERROR(result_shape(ctx, {t, f, p}, &shape));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &y));
  if (!y) return Status::Ok();
  size_t es = elem_size(t->dtype);
  if (es == 0) return err(ctx, "unsupported element type");
  const uint8_t* pp = p->as<uint8_t>();
  const char* pt = static_cast<const char*>(t->data);
  const char* pf = static_cast<const char*>(f->data);
  char* o = static_cast<char*>(y->data);
  for (int64_t i = 0, n = y->numel(); i < n; ++i) {
    const char* src = pp[bidx(*p, i)] ? pt + bidx(*t, i) * es : pf + bidx(*f, i) * es;
    std::memcpy(o + i * es, src, es);
  }
  return Status::Ok();
}

Status clamp(KernelContext& ctx) {
  const Tensor *lo, *x, *hi;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &lo));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &x));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 2, &hi));
  if (lo->dtype != x->dtype || hi->dtype != x->dtype) return err(ctx, "min, operand and max element types differ");
  FLEETRT_RETURN_IF_ERROR(check_operand_shape(ctx, *lo, x->shape, 0));
  FLEETRT_RETURN_IF_ERROR(check_operand_shape(ctx, *hi, x->shape, 2));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, x->shape, &y));
  if (!y) return Status::Ok();
  return visit_dtype(ctx, x->dtype, [&](auto tag) -> Status {
    using T = decltype(tag);
    const T* pl = lo->as<T>();
    const T* px = x->as<T>();
    const T* ph = hi->as<T>();
    T* o = y->as<T>();
    for (int64_t i = 0, n = x->numel(); i < n; ++i) {
      auto v = Max::f(Elem<T>::load(px[i]), Elem<T>::load(pl[bidx(*lo, i)]));
      o[i] = Elem<T>::store(Min::f(v, Elem<T>::load(ph[bidx(*hi, i)])));
    }
    return Status::Ok();
  });
}

// ---- convert -----------------------------------------------------------------------------------
// Integer ← float: truncation toward zero, saturating at the type's range, NaN → 0.
template <class To, class From>
To convert_scalar(From v) {
  if constexpr (std::is_same<To, bool>::value) {
    return v != From(0);
  } else if constexpr (std::is_floating_point<To>::value) {
    return static_cast<To>(v);
  } else if constexpr (std::is_floating_point<From>::value) {
    if (std::isnan(v)) return 0;
    From t = std::trunc(v);
    if (t <= static_cast<From>(std::numeric_limits<To>::min())) return std::numeric_limits<To>::min();
    if (t >= static_cast<From>(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
    return static_cast<To>(t);
  } else {
    return static_cast<To>(v);  // integer ↔ integer: modular (two's complement)
  }
}

// Packed 2- and 4-bit integers (i2/ui2/i4/ui4), low bits first.
int packed_bits(DType t) {
  switch (t) {
    case DType::kI4: case DType::kU4: return 4;
    case DType::kI2: case DType::kU2: return 2;
    default: return 0;
  }
}
int64_t load_packed(const Tensor& t, int64_t i) {
  const int bits = packed_bits(t.dtype), per = 8 / bits;
  const uint8_t byte = t.as<uint8_t>()[i / per];
  int v = (byte >> ((i % per) * bits)) & ((1 << bits) - 1);
  if ((t.dtype == DType::kI4 || t.dtype == DType::kI2) && v >= (1 << (bits - 1))) v -= 1 << bits;
  return v;
}
void store_packed(Tensor& t, int64_t i, int64_t v) {
  const int bits = packed_bits(t.dtype), per = 8 / bits, shift = static_cast<int>(i % per) * bits;
  const unsigned mask = (1u << bits) - 1;
  uint8_t* p = t.as<uint8_t>() + i / per;
  *p = static_cast<uint8_t>((*p & ~(mask << shift)) | ((static_cast<unsigned>(v) & mask) << shift));
}

Status convert(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, x->shape, &y));
  if (!y) return Status::Ok();
  int64_t n = x->numel();
  bool x_packed = packed_bits(x->dtype) != 0;
  bool y_packed = packed_bits(y->dtype) != 0;
  if (x_packed || y_packed) {
    // Route through int64 (the packed types are integers only); storing keeps the low bits.
    if (y_packed) {
      std::memset(y->data, 0, y->bytes());  // the unused high bits of the last byte stay zero
      if (x_packed) {
        for (int64_t i = 0; i < n; ++i) store_packed(*y, i, load_packed(*x, i));
        return Status::Ok();
      }
      return visit_dtype(ctx, x->dtype, [&](auto tag) -> Status {
        using T = decltype(tag);
        for (int64_t i = 0; i < n; ++i)
          store_packed(*y, i, convert_scalar<int64_t>(Elem<T>::load(x->as<T>()[i])));
        return Status::Ok();
      });
    }
    return visit_dtype(ctx, y->dtype, [&](auto tag) -> Status {
      using T = decltype(tag);
      using C = compute_t<T>;
      for (int64_t i = 0; i < n; ++i) y->as<T>()[i] = Elem<T>::store(convert_scalar<C>(load_packed(*x, i)));
      return Status::Ok();
    });
  }
  return visit_dtype(ctx, x->dtype, [&](auto in_tag) -> Status {
    using I = decltype(in_tag);
    return visit_dtype(ctx, y->dtype, [&](auto out_tag) -> Status {
      using O = decltype(out_tag);
      using CO = compute_t<O>;
      const I* a = x->as<I>();
      O* o = y->as<O>();
      for (int64_t i = 0; i < n; ++i) {
        auto v = Elem<I>::load(a[i]);
        if constexpr (std::is_same<I, f16_t>::value || std::is_same<I, bf16_t>::value) {
          o[i] = Elem<O>::store(convert_scalar<CO>(static_cast<float>(v)));
        } else if constexpr ((std::is_same<O, f16_t>::value || std::is_same<O, bf16_t>::value) &&
                             std::is_same<I, double>::value) {
          // f64 → f16/bf16 through f32 can double-round; good enough except at exact ties.
          o[i] = Elem<O>::store(static_cast<float>(v));
        } else {
          o[i] = Elem<O>::store(convert_scalar<CO>(v));
        }
      }
      return Status::Ok();
    });
  });
}

}  // namespace

FLEETRT_REGISTER_KERNEL("stablehlo", "abs", unary<Abs>);
FLEETRT_REGISTER_KERNEL("stablehlo", "negate", unary<Negate>);
FLEETRT_REGISTER_KERNEL("stablehlo", "sign", unary<Sign>);
FLEETRT_REGISTER_KERNEL("stablehlo", "not", unary<Not>);
FLEETRT_REGISTER_KERNEL("stablehlo", "popcnt", unary<Popcnt>);
FLEETRT_REGISTER_KERNEL("stablehlo", "count_leading_zeros", unary<Clz>);
FLEETRT_REGISTER_KERNEL("stablehlo", "sqrt", unary<Sqrt>);
FLEETRT_REGISTER_KERNEL("stablehlo", "rsqrt", unary<Rsqrt>);
FLEETRT_REGISTER_KERNEL("stablehlo", "cbrt", unary<Cbrt>);
FLEETRT_REGISTER_KERNEL("stablehlo", "exponential", unary<Exp>);
FLEETRT_REGISTER_KERNEL("stablehlo", "exponential_minus_one", unary<Expm1>);
FLEETRT_REGISTER_KERNEL("stablehlo", "log", unary<Log>);
FLEETRT_REGISTER_KERNEL("stablehlo", "log_plus_one", unary<Log1p>);
FLEETRT_REGISTER_KERNEL("stablehlo", "logistic", unary<Logistic>);
FLEETRT_REGISTER_KERNEL("stablehlo", "sine", unary<Sin>);
FLEETRT_REGISTER_KERNEL("stablehlo", "cosine", unary<Cos>);
FLEETRT_REGISTER_KERNEL("stablehlo", "tan", unary<Tan>);
FLEETRT_REGISTER_KERNEL("stablehlo", "tanh", unary<Tanh>);
FLEETRT_REGISTER_KERNEL("stablehlo", "atan", unary<Atan>);
FLEETRT_REGISTER_KERNEL("stablehlo", "floor", unary<Floor>);
FLEETRT_REGISTER_KERNEL("stablehlo", "ceil", unary<Ceil>);
FLEETRT_REGISTER_KERNEL("stablehlo", "round_nearest_afz", unary<RoundAfz>);
FLEETRT_REGISTER_KERNEL("stablehlo", "round_nearest_even", unary<RoundEven>);
FLEETRT_REGISTER_KERNEL("stablehlo", "is_finite", is_finite);
FLEETRT_REGISTER_KERNEL("stablehlo", "reduce_precision", reduce_precision);
FLEETRT_REGISTER_KERNEL("stablehlo", "add", binary<Add>);
FLEETRT_REGISTER_KERNEL("stablehlo", "subtract", binary<Sub>);
FLEETRT_REGISTER_KERNEL("stablehlo", "multiply", binary<Mul>);
FLEETRT_REGISTER_KERNEL("stablehlo", "divide", binary<Div>);
FLEETRT_REGISTER_KERNEL("stablehlo", "remainder", binary<Rem>);
FLEETRT_REGISTER_KERNEL("stablehlo", "maximum", binary<Max>);
FLEETRT_REGISTER_KERNEL("stablehlo", "minimum", binary<Min>);
FLEETRT_REGISTER_KERNEL("stablehlo", "power", binary<Pow>);
FLEETRT_REGISTER_KERNEL("stablehlo", "atan2", binary<Atan2>);
FLEETRT_REGISTER_KERNEL("stablehlo", "and", binary<And>);
FLEETRT_REGISTER_KERNEL("stablehlo", "or", binary<Or>);
FLEETRT_REGISTER_KERNEL("stablehlo", "xor", binary<Xor>);
FLEETRT_REGISTER_KERNEL("stablehlo", "shift_left", binary<ShiftLeft>);
FLEETRT_REGISTER_KERNEL("stablehlo", "shift_right_logical", binary<ShiftRightLogical>);
FLEETRT_REGISTER_KERNEL("stablehlo", "shift_right_arithmetic", binary<ShiftRightArithmetic>);
FLEETRT_REGISTER_KERNEL("stablehlo", "compare", compare);
FLEETRT_REGISTER_KERNEL("stablehlo", "select", select);
FLEETRT_REGISTER_KERNEL("stablehlo", "clamp", clamp);
FLEETRT_REGISTER_KERNEL("stablehlo", "convert", convert);

}  // namespace shlo
}  // namespace fleetrt
