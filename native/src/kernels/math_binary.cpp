// Broadcasting binary and variadic elementwise ops: arithmetic (Add Sub Mul Div Pow Mod, Min Max
// Sum Mean), comparisons (Equal Less … → bool), logic (And Or Xor), bitwise (BitwiseAnd/Or/Xor,
// BitShift), PRelu and Where. float16/bfloat16 are computed in float32 and rounded back.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>

#include "kernel_util.h"

namespace fleetrt {

// Integer add/sub/mul wrap around (two's complement), as ONNX and StableHLO define them; done in
// unsigned arithmetic at least as wide as `unsigned` so that overflow is not undefined behaviour.
template <typename T, typename Op>
inline T wrapping(T x, T y, Op op) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using W = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;
    return static_cast<T>(op(static_cast<W>(x), static_cast<W>(y)));
  } else {
    return static_cast<T>(op(x, y));
  }
}
namespace {

using ku::Broadcast;

enum class Bin {
  kAdd, kSub, kMul, kDiv, kPow, kMod, kFMod, kMin, kMax,
  kEq, kLt, kLe, kGt, kGe,
  kAnd, kOr, kXor, kBitAnd, kBitOr, kBitXor, kShl, kShr, kPRelu,
  kFirst,  // a broadcast to the common shape (b only gives the shape)
};

bool is_compare(Bin k) { return k == Bin::kEq || k == Bin::kLt || k == Bin::kLe || k == Bin::kGt || k == Bin::kGe; }

template <class T>
T safe_div(T a, T b) {
  if constexpr (std::is_integral<T>::value) {
    if (b == 0) return 0;
    if constexpr (std::is_signed<T>::value) {
      if (b == -1) return static_cast<T>(0 - static_cast<typename std::make_unsigned<T>::type>(a));
    }
    return static_cast<T>(a / b);
  } else {
    return a / b;
  }
}

template <class T>
T py_mod(T a, T b) {
  if constexpr (std::is_integral<T>::value) {
    if (b == 0) return 0;
    if constexpr (std::is_signed<T>::value) {
      if (b == -1) return 0;
      T r = static_cast<T>(a % b);
      if (r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
      return r;
    } else {
      return static_cast<T>(a % b);
    }
  } else {
    T r = std::fmod(a, b);
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
  }
}

template <class T>
T c_fmod(T a, T b) {
  if constexpr (std::is_integral<T>::value) {
    if (b == 0) return 0;
    if constexpr (std::is_signed<T>::value) {
      if (b == -1) return 0;
    }
    return static_cast<T>(a % b);
  } else {
    return std::fmod(a, b);
  }
}

template <class T>
T nan_min(T a, T b) {
  if constexpr (std::is_floating_point<T>::value) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  }
  return b < a ? b : a;
}
template <class T>
T nan_max(T a, T b) {
  if constexpr (std::is_floating_point<T>::value) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  }
  return a < b ? b : a;
}

// Walks the broadcast rows, specialising the inner loop on which inputs advance.
template <class A, class B, class O, class F>
void bin_loop(KernelContext& ctx, const Broadcast& bc, const A* a, const B* b, O* o, F f) {
  // A long inner run is cut into pieces, so that few rows (a same-shape op is one row) still
  // spread over the threads.
  const int64_t n = bc.inner;
  const int64_t piece = n > ku::kParallelMinElems ? ku::kParallelMinElems / 2 : std::max<int64_t>(n, 1);
  const int64_t pieces = (n + piece - 1) / piece;
  ku::parallel_elems(ctx, bc.rows * pieces, piece, [&](int64_t t0, int64_t t1) {
    int64_t offs[2];
    const bool sa = bc.inner_step[0] != 0, sb = bc.inner_step[1] != 0;
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t r = t / pieces, i0 = t % pieces * piece, i1 = std::min(n, i0 + piece);
      bc.row_offsets(r, offs);
      const A* pa = a + offs[0];
      const B* pb = b + offs[1];
      O* po = o + r * n;
      if (sa && sb) {
        for (int64_t i = i0; i < i1; ++i) po[i] = f(pa[i], pb[i]);
      } else if (sa) {
        const B vb = pb[0];
        for (int64_t i = i0; i < i1; ++i) po[i] = f(pa[i], vb);
      } else if (sb) {
        const A va = pa[0];
        for (int64_t i = i0; i < i1; ++i) po[i] = f(va, pb[i]);
      } else {
        O v = f(pa[0], pb[0]);
        for (int64_t i = i0; i < i1; ++i) po[i] = v;
      }
    }
  });
}

template <class T>
bool run_typed(KernelContext& ctx, Bin k, const Broadcast& bc, const T* a, const T* b, void* out) {
  T* o = static_cast<T*>(out);
  bool* ob = static_cast<bool*>(out);
  constexpr bool kInt = std::is_integral<T>::value && !std::is_same<T, bool>::value;
  constexpr bool kBool = std::is_same<T, bool>::value;
  switch (k) {
    case Bin::kFirst: bin_loop(ctx, bc, a, b, o, [](T x, T) { return x; }); return true;
    case Bin::kEq: bin_loop(ctx, bc, a, b, ob, [](T x, T y) { return x == y; }); return true;
    case Bin::kLt: bin_loop(ctx, bc, a, b, ob, [](T x, T y) { return x < y; }); return true;
    case Bin::kLe: bin_loop(ctx, bc, a, b, ob, [](T x, T y) { return x <= y; }); return true;
    case Bin::kGt: bin_loop(ctx, bc, a, b, ob, [](T x, T y) { return x > y; }); return true;
    case Bin::kGe: bin_loop(ctx, bc, a, b, ob, [](T x, T y) { return x >= y; }); return true;
    default: break;
  }
  if constexpr (kBool) {
    switch (k) {
      case Bin::kAnd: bin_loop(ctx, bc, a, b, o, [](bool x, bool y) { return x && y; }); return true;
      case Bin::kOr: bin_loop(ctx, bc, a, b, o, [](bool x, bool y) { return x || y; }); return true;
      case Bin::kXor: bin_loop(ctx, bc, a, b, o, [](bool x, bool y) { return x != y; }); return true;
      case Bin::kMin: bin_loop(ctx, bc, a, b, o, [](bool x, bool y) { return x && y; }); return true;
      case Bin::kMax: bin_loop(ctx, bc, a, b, o, [](bool x, bool y) { return x || y; }); return true;
      default: return false;
    }
  } else {
    switch (k) {
      case Bin::kAdd: bin_loop(ctx, bc, a, b, o, [](T x, T y) { return wrapping<T>(x, y, std::plus<>()); }); return true;
      case Bin::kSub: bin_loop(ctx, bc, a, b, o, [](T x, T y) { return wrapping<T>(x, y, std::minus<>()); }); return true;
      case Bin::kMul: bin_loop(ctx, bc, a, b, o, [](T x, T y) { return wrapping<T>(x, y, std::multiplies<>()); }); return true;
      case Bin::kDiv: bin_loop(ctx, bc, a, b, o, [](T x, T y) { return safe_div(x, y); }); return true;
      case Bin::kMod: bin_loop(ctx, bc, a, b, o, [](T x, T y) { return py_mod(x, y); }); return true;
      case Bin::kFMod: bin_loop(ctx, bc, a, b, o, [](T x, T y) { return c_fmod(x, y); }); return true;
      case Bin::kMin: bin_loop(ctx, bc, a, b, o, [](T x, T y) { return nan_min(x, y); }); return true;
      case Bin::kMax: bin_loop(ctx, bc, a, b, o, [](T x, T y) { return nan_max(x, y); }); return true;
      case Bin::kPRelu: bin_loop(ctx, bc, a, b, o, [](T x, T s) { return x < 0 ? static_cast<T>(x * s) : x; }); return true;
      default: break;
    }
    if constexpr (kInt) {
      constexpr int kBits = sizeof(T) * 8;
      switch (k) {
        case Bin::kBitAnd: bin_loop(ctx, bc, a, b, o, [](T x, T y) { return static_cast<T>(x & y); }); return true;
        case Bin::kBitOr: bin_loop(ctx, bc, a, b, o, [](T x, T y) { return static_cast<T>(x | y); }); return true;
        case Bin::kBitXor: bin_loop(ctx, bc, a, b, o, [](T x, T y) { return static_cast<T>(x ^ y); }); return true;
        case Bin::kShl:
          bin_loop(ctx, bc, a, b, o, [](T x, T y) {
            using U = typename std::make_unsigned<T>::type;
            return static_cast<uint64_t>(y) >= kBits ? T(0) : static_cast<T>(static_cast<U>(x) << y);
          });
          return true;
        case Bin::kShr:
          bin_loop(ctx, bc, a, b, o, [](T x, T y) {
            using U = typename std::make_unsigned<T>::type;
            return static_cast<uint64_t>(y) >= kBits ? T(0) : static_cast<T>(static_cast<U>(x) >> y);
          });
          return true;
        default: return false;
      }
    }
    return false;
  }
}

bool allowed(Bin k, DType t) {
  bool f = t == DType::kF32 || t == DType::kF64 || t == DType::kF16 || t == DType::kBF16;
  bool i = ku::is_int(t);
  bool b = t == DType::kBool;
  switch (k) {
    case Bin::kAnd: case Bin::kOr: case Bin::kXor: return b;
    case Bin::kBitAnd: case Bin::kBitOr: case Bin::kBitXor: return i || b;
    case Bin::kShl: case Bin::kShr: return ku::is_unsigned_int(t);
    case Bin::kEq: return f || i || b;
    case Bin::kMin: case Bin::kMax: return f || i;
    default: return f || i;
  }
}

Status cannot_broadcast(KernelContext& ctx, const Tensor& a, const Tensor& b) {
  return ku::op_error(ctx, "shapes " + ku::shape_str(a.shape) + " and " + ku::shape_str(b.shape) +
                               " cannot be broadcast");
}

// out = a k b over the broadcast bc of their shapes (out already has bc.out_shape).
Status run_binary(KernelContext& ctx, Bin k, const Broadcast& bc, const Tensor& a, const Tensor& b, Tensor* out) {
  if (bc.numel == 0) return Status::Ok();
  DType t = a.dtype;
  if (t == DType::kF16 || t == DType::kBF16) {
    const float* fa = ku::as_float_buffer(ctx, a);
    const float* fb = ku::as_float_buffer(ctx, b);
    if (is_compare(k)) {
      run_typed<float>(ctx, k, bc, fa, fb, out->data);
      return Status::Ok();
    }
    float* fo = static_cast<float*>(ctx.scratch(static_cast<size_t>(bc.numel) * sizeof(float)));
    run_typed<float>(ctx, k, bc, fa, fb, fo);
    ku::store_float_buffer(fo, *out);
    return Status::Ok();
  }
  bool done = false;
  ku::dispatch_numeric(t, [&](auto tag) {
    using T = decltype(tag);
    done = run_typed<T>(ctx, k, bc, a.as<T>(), b.as<T>(), out->data);
  });
  if (!done) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(t));
  return Status::Ok();
}

// out = a (op) b with numpy broadcasting; a and b have the same dtype.
Status binary_into(KernelContext& ctx, Bin k, const Tensor& a, const Tensor& b, Tensor* out) {
  Broadcast& bc = ku::thread_kept<Broadcast>();
  if (!ku::make_broadcast(a.shape, b.shape, &bc)) return cannot_broadcast(ctx, a, b);
  return run_binary(ctx, k, bc, a, b, out);
}

Status binary_kernel(KernelContext& ctx, Bin k) {
  const Tensor *a, *b;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &a));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &b));
  if (k == Bin::kMod && ctx.attrs().get_int("fmod", 0) != 0) k = Bin::kFMod;
  if (k == Bin::kShl && ctx.attrs().get_string("direction", "") == "RIGHT") k = Bin::kShr;
  if (a->dtype != b->dtype)
    return ku::op_error(ctx, std::string("input types differ: ") + dtype_name(a->dtype) + " and " +
                                 dtype_name(b->dtype));
  if (k == Bin::kEq && a->dtype == DType::kString) {
    Broadcast bc;
    if (!ku::make_broadcast({a->shape, b->shape}, &bc)) return ku::op_error(ctx, "shapes cannot be broadcast");
    Tensor* out;
    FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, bc.out_shape, DType::kBool, &out));
    bin_loop(ctx, bc, a->as<std::string>(), b->as<std::string>(), out->as<bool>(),
             [](const std::string& x, const std::string& y) { return x == y; });
    return Status::Ok();
  }
  if (!allowed(k, a->dtype)) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(a->dtype));
  std::vector<int64_t> shape;
  if (k == Bin::kPRelu) {
    // slope broadcasts to X (unidirectional); opset < 7 allows a per-channel 1-D slope
    Tensor slope = *b;
    if (ctx.opset() < 7 && b->rank() == 1 && a->rank() >= 2 && b->shape[0] == a->shape[1]) {
      slope.shape.assign(a->rank() - 1, 1);
      slope.shape[0] = b->shape[0];
    }
    if (!ku::broadcast_shapes({a->shape, slope.shape}, &shape) || shape != a->shape)
      return ku::op_error(ctx, "slope " + ku::shape_str(b->shape) + " does not broadcast to X " +
                                   ku::shape_str(a->shape));
    Tensor* out;
    FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, shape, a->dtype, &out));
    return binary_into(ctx, k, *a, slope, out);
  }
  Broadcast& bc = ku::thread_kept<Broadcast>();
  if (!ku::make_broadcast(a->shape, b->shape, &bc)) return cannot_broadcast(ctx, *a, *b);
  Tensor* out;
  DType od = is_compare(k) ? DType::kBool : a->dtype;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, bc.out_shape, od, &out));
  return run_binary(ctx, k, bc, *a, *b, out);
}

// Pow: base and exponent may have different types; the result has the base's type.
Status pow_kernel(KernelContext& ctx) {
  const Tensor *a, *b;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &a));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &b));
  auto ok_type = [](DType t) { return ku::is_float(t) || ku::is_int(t); };
  if (!ok_type(a->dtype) || !ok_type(b->dtype))
    return ku::op_error(ctx, std::string("unsupported types ") + dtype_name(a->dtype) + ", " + dtype_name(b->dtype));
  Broadcast& bc = ku::thread_kept<Broadcast>();
  if (!ku::make_broadcast(a->shape, b->shape, &bc)) return cannot_broadcast(ctx, *a, *b);
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, bc.out_shape, a->dtype, &out));
  if (bc.numel == 0) return Status::Ok();
  if (a->dtype == DType::kF32 && b->dtype == DType::kF32) {
    bin_loop(ctx, bc, a->as<float>(), b->as<float>(), out->as<float>(), [](float x, float y) {
      return y == 2.f ? x * x : std::pow(x, y);
    });
    return Status::Ok();
  }
  // general path in double
  int64_t na = a->numel(), nb = b->numel();
  double* da = static_cast<double*>(ctx.scratch(static_cast<size_t>(na) * sizeof(double)));
  double* db = static_cast<double*>(ctx.scratch(static_cast<size_t>(nb) * sizeof(double)));
  double* dout = static_cast<double*>(ctx.scratch(static_cast<size_t>(bc.numel) * sizeof(double)));
  for (int64_t i = 0; i < na; ++i) da[i] = ku::load_as_double(*a, i);
  for (int64_t i = 0; i < nb; ++i) db[i] = ku::load_as_double(*b, i);
  bin_loop(ctx, bc, da, db, dout, [](double x, double y) { return std::pow(x, y); });
  if (ku::is_int(out->dtype)) {
    for (int64_t i = 0; i < bc.numel; ++i) {
      double v = dout[i];
      ku::store_from_double(*out, i, std::isfinite(v) ? std::trunc(v) : 0.0);
    }
  } else {
    for (int64_t i = 0; i < bc.numel; ++i) ku::store_from_double(*out, i, dout[i]);
  }
  return Status::Ok();
}

// Sum / Mean / Min / Max over any number of inputs (all broadcast together).
Status variadic_kernel(KernelContext& ctx, Bin k, bool mean) {
  int n = ctx.num_inputs();
  std::vector<const Tensor*> ins;
  std::vector<std::vector<int64_t>> shapes;
  for (int i = 0; i < n; ++i) {
    const Tensor* t = ctx.input(i);
    if (!t) continue;
    if (!ins.empty() && t->dtype != ins[0]->dtype)
      return ku::op_error(ctx, std::string("input types differ: ") + dtype_name(ins[0]->dtype) + " and " +
                                   dtype_name(t->dtype));
    ins.push_back(t);
    shapes.push_back(t->shape);
  }
  if (ins.empty()) return ku::op_error(ctx, "needs at least one input");
  if (!allowed(k, ins[0]->dtype)) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(ins[0]->dtype));
  std::vector<int64_t> shape;
  if (!ku::broadcast_shapes(shapes, &shape)) return ku::op_error(ctx, "input shapes cannot be broadcast");
  Tensor* out;
  DType dt = ins[0]->dtype;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, shape, dt, &out));
  int64_t total = out->numel();
  if (total == 0) return Status::Ok();
  // accumulate in a full-shape buffer of the compute type (float for f16/bf16)
  bool half = dt == DType::kF16 || dt == DType::kBF16;
  Tensor acc = *out;
  if (half) {
    acc.dtype = DType::kF32;
    acc.data = ctx.scratch(static_cast<size_t>(total) * sizeof(float));
  }
  auto to_compute = [&](const Tensor* t) {
    if (!half) return *t;
    Tensor f = *t;
    f.dtype = DType::kF32;
    f.data = const_cast<float*>(ku::as_float_buffer(ctx, *t));
    return f;
  };
  // acc = first input broadcast to the output shape
  Tensor first = to_compute(ins[0]);
  Tensor shape_only = acc;  // only its shape is used by kFirst
  FLEETRT_RETURN_IF_ERROR(binary_into(ctx, Bin::kFirst, first, shape_only, &acc));
  for (size_t i = 1; i < ins.size(); ++i) {
    Tensor t = to_compute(ins[i]);
    Tensor cur = acc;
    FLEETRT_RETURN_IF_ERROR(binary_into(ctx, k, cur, t, &acc));
  }
  if (mean) {
    double inv = 1.0 / static_cast<double>(ins.size());
    if (acc.dtype == DType::kF32)
      for (int64_t i = 0; i < total; ++i) acc.as<float>()[i] = static_cast<float>(acc.as<float>()[i] * inv);
    else if (acc.dtype == DType::kF64)
      for (int64_t i = 0; i < total; ++i) acc.as<double>()[i] *= inv;
    else
      for (int64_t i = 0; i < total; ++i) ku::store_from_double(acc, i, ku::load_as_double(acc, i) / ins.size());
  }
  if (half) ku::store_float_buffer(acc.as<float>(), *out);
  return Status::Ok();
}

// Where(cond, X, Y): byte-wise select for fixed-size types, std::string for strings.
template <class T>
void where_loop(KernelContext& ctx, const Broadcast& bc, const bool* c, const T* x, const T* y, T* o) {
  ku::parallel_rows(ctx, bc, [&](int64_t r0, int64_t r1) {
    int64_t offs[3];
    const int64_t n = bc.inner;
    for (int64_t r = r0; r < r1; ++r) {
      bc.row_offsets(r, offs);
      const bool* pc = c + offs[0];
      const T* px = x + offs[1];
      const T* py = y + offs[2];
      T* po = o + r * n;
      for (int64_t i = 0; i < n; ++i)
        po[i] = pc[i * bc.inner_step[0]] ? px[i * bc.inner_step[1]] : py[i * bc.inner_step[2]];
    }
  });
}

Status where_kernel(KernelContext& ctx) {
  const Tensor *c, *x, *y;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &c));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 2, &y));
  if (c->dtype != DType::kBool) return ku::op_error(ctx, std::string("condition must be bool, got ") + dtype_name(c->dtype));
  if (x->dtype != y->dtype)
    return ku::op_error(ctx, std::string("X and Y types differ: ") + dtype_name(x->dtype) + ", " + dtype_name(y->dtype));
  Broadcast& bc = ku::thread_kept<Broadcast>();
  if (!ku::make_broadcast(c->shape, x->shape, y->shape, &bc))
    return ku::op_error(ctx, "shapes " + ku::shape_str(c->shape) + ", " + ku::shape_str(x->shape) + ", " +
                                 ku::shape_str(y->shape) + " cannot be broadcast");
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, bc.out_shape, x->dtype, &out));
  if (bc.numel == 0) return Status::Ok();
  const bool* cb = c->as<bool>();
  switch (x->dtype == DType::kString ? 0 : dtype_bits(x->dtype)) {
    case 0: where_loop(ctx, bc, cb, x->as<std::string>(), y->as<std::string>(), out->as<std::string>()); break;
    case 8: where_loop(ctx, bc, cb, x->as<uint8_t>(), y->as<uint8_t>(), out->as<uint8_t>()); break;
    case 16: where_loop(ctx, bc, cb, x->as<uint16_t>(), y->as<uint16_t>(), out->as<uint16_t>()); break;
    case 32: where_loop(ctx, bc, cb, x->as<uint32_t>(), y->as<uint32_t>(), out->as<uint32_t>()); break;
    case 64: where_loop(ctx, bc, cb, x->as<uint64_t>(), y->as<uint64_t>(), out->as<uint64_t>()); break;
    default: return ku::op_error(ctx, std::string("unsupported type ") + dtype_name(x->dtype));
  }
  return Status::Ok();
}

#define BIN_KERNEL(NAME, KIND) \
  Status k_##NAME(KernelContext& ctx) { return binary_kernel(ctx, Bin::KIND); }
BIN_KERNEL(Add, kAdd)
BIN_KERNEL(Sub, kSub)
BIN_KERNEL(Mul, kMul)
BIN_KERNEL(Div, kDiv)
BIN_KERNEL(Mod, kMod)
BIN_KERNEL(Equal, kEq)
BIN_KERNEL(Less, kLt)
BIN_KERNEL(LessOrEqual, kLe)
BIN_KERNEL(Greater, kGt)
BIN_KERNEL(GreaterOrEqual, kGe)
BIN_KERNEL(And, kAnd)
BIN_KERNEL(Or, kOr)
BIN_KERNEL(Xor, kXor)
BIN_KERNEL(BitwiseAnd, kBitAnd)
BIN_KERNEL(BitwiseOr, kBitOr)
BIN_KERNEL(BitwiseXor, kBitXor)
BIN_KERNEL(BitShift, kShl)
BIN_KERNEL(PRelu, kPRelu)
#undef BIN_KERNEL
Status k_Sum(KernelContext& ctx) { return variadic_kernel(ctx, Bin::kAdd, false); }
Status k_Mean(KernelContext& ctx) { return variadic_kernel(ctx, Bin::kAdd, true); }
Status k_Min(KernelContext& ctx) { return variadic_kernel(ctx, Bin::kMin, false); }
Status k_Max(KernelContext& ctx) { return variadic_kernel(ctx, Bin::kMax, false); }

}  // namespace

FLEETRT_REGISTER_KERNEL("", "Add", k_Add);
FLEETRT_REGISTER_KERNEL("", "Sub", k_Sub);
FLEETRT_REGISTER_KERNEL("", "Mul", k_Mul);
FLEETRT_REGISTER_KERNEL("", "Div", k_Div);
FLEETRT_REGISTER_KERNEL("", "Pow", pow_kernel);
FLEETRT_REGISTER_KERNEL("", "Mod", k_Mod);
FLEETRT_REGISTER_KERNEL("", "Equal", k_Equal);
FLEETRT_REGISTER_KERNEL("", "Less", k_Less);
FLEETRT_REGISTER_KERNEL("", "LessOrEqual", k_LessOrEqual);
FLEETRT_REGISTER_KERNEL("", "Greater", k_Greater);
FLEETRT_REGISTER_KERNEL("", "GreaterOrEqual", k_GreaterOrEqual);
FLEETRT_REGISTER_KERNEL("", "And", k_And);
FLEETRT_REGISTER_KERNEL("", "Or", k_Or);
FLEETRT_REGISTER_KERNEL("", "Xor", k_Xor);
FLEETRT_REGISTER_KERNEL("", "BitwiseAnd", k_BitwiseAnd);
FLEETRT_REGISTER_KERNEL("", "BitwiseOr", k_BitwiseOr);
FLEETRT_REGISTER_KERNEL("", "BitwiseXor", k_BitwiseXor);
FLEETRT_REGISTER_KERNEL("", "BitShift", k_BitShift);
FLEETRT_REGISTER_KERNEL("", "PRelu", k_PRelu);
FLEETRT_REGISTER_KERNEL("", "Sum", k_Sum);
FLEETRT_REGISTER_KERNEL("", "Mean", k_Mean);
FLEETRT_REGISTER_KERNEL("", "Min", k_Min);
FLEETRT_REGISTER_KERNEL("", "Max", k_Max);
FLEETRT_REGISTER_KERNEL("", "Where", where_kernel);

}  // namespace fleetrt
