// Helpers shared by the stablehlo_*.cpp kernels: error messages naming the op, a dtype visitor
// over the element types StableHLO programs use (i1, si/ui 8..64, f16, bf16, f32, f64), scalar
// load/store in a compute type, index arithmetic, output allocation and a small wrapper that
// runs a region (reduce/sort/scatter body) on scalars.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "fleetrt/kernel.h"
#include "data_util.h"
#include "kernel_util.h"

namespace fleetrt {
namespace shlo {

inline Status err(const KernelContext& ctx, const std::string& msg) {
  std::string where = "stablehlo." + ctx.op_type();
  if (!ctx.op_name().empty()) where += " '" + ctx.op_name() + "'";
  return Status::Error(where + ": " + msg);
}

inline std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

using datak::elem_size;  // 0 for the packed 4-bit types
using datak::is_subbyte;
using datak::numel_of;
using datak::strides_of;

// Advances a multi-index over `shape` (row-major); returns false after the last index.
inline bool next_index(std::vector<int64_t>& idx, const std::vector<int64_t>& shape) {
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    if (++idx[d] < shape[d]) return true;
    idx[d] = 0;
  }
  return false;
}

// ---- element types ---------------------------------------------------------------------------
struct f16_t {
  uint16_t bits;
};
struct bf16_t {
  uint16_t bits;
};
struct bool_t {
  uint8_t v;
};

inline float f16_to_float(uint16_t h) { return ku::half_to_float(h); }

// Round-to-nearest-even float → binary16 (NaN stays NaN, overflow → inf).
inline uint16_t float_to_f16(float x) {
  uint32_t f;
  std::memcpy(&f, &x, 4);
  uint32_t sign = (f >> 16) & 0x8000u;
  uint32_t absf = f & 0x7fffffffu;
  if (absf >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (absf > 0x7f800000u ? 0x200u | ((absf >> 13) & 0x3ffu) : 0));
  if (absf >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520 → inf
  if (absf < 0x38800000u) {                                               // subnormal or zero in f16
    float a;
    std::memcpy(&a, &absf, 4);
    // a * 2^24 rounded to nearest even gives the subnormal mantissa.
    float m = std::nearbyint(a * 16777216.0f);
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(m));
  }
  uint32_t mant = absf & 0x7fffffu;
  uint32_t exp = (absf >> 23) - 112;
  uint32_t h = exp << 10 | mant >> 13;
  uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

using ku::bf16_to_float;
using ku::float_to_bf16;

// Storage type → compute type and conversions.
template <class T>
struct Elem {
  using C = T;
  static C load(T v) { return v; }
  static T store(C c) { return c; }
};
template <>
struct Elem<f16_t> {
  using C = float;
  static C load(f16_t v) { return f16_to_float(v.bits); }
  static f16_t store(C c) { return f16_t{float_to_f16(c)}; }
};
template <>
struct Elem<bf16_t> {
  using C = float;
  static C load(bf16_t v) { return bf16_to_float(v.bits); }
  static bf16_t store(C c) { return bf16_t{float_to_bf16(c)}; }
};
template <>
struct Elem<bool_t> {
  using C = bool;
  static C load(bool_t v) { return v.v != 0; }
  static bool_t store(C c) { return bool_t{static_cast<uint8_t>(c ? 1 : 0)}; }
};

template <class T>
using compute_t = typename Elem<T>::C;
template <class T>
constexpr bool is_float_v = std::is_floating_point<compute_t<T>>::value;
template <class T>
constexpr bool is_bool_v = std::is_same<T, bool_t>::value;
template <class T>
constexpr bool is_int_v = std::is_integral<T>::value;  // excludes bool_t
template <class T>
constexpr bool is_signed_int_v = is_int_v<T> && std::is_signed<T>::value;

// Calls f(T{}) with the storage type of dtype t; the error status for other dtypes.
template <class F>
Status visit_dtype(const KernelContext& ctx, DType t, F&& f) {
  switch (t) {
    case DType::kF32: return f(float{});
    case DType::kF64: return f(double{});
    case DType::kF16: return f(f16_t{});
    case DType::kBF16: return f(bf16_t{});
    case DType::kI8: return f(int8_t{});
    case DType::kI16: return f(int16_t{});
    case DType::kI32: return f(int32_t{});
    case DType::kI64: return f(int64_t{});
    case DType::kU8: return f(uint8_t{});
    case DType::kU16: return f(uint16_t{});
    case DType::kU32: return f(uint32_t{});
    case DType::kU64: return f(uint64_t{});
    case DType::kBool: return f(bool_t{});
    default: return err(ctx, std::string("element type ") + dtype_name(t) + " is not supported");
  }
}

inline bool is_float_dtype(DType t) {
  return t == DType::kF32 || t == DType::kF64 || t == DType::kF16 || t == DType::kBF16;
}
inline bool is_int_dtype(DType t) {
  switch (t) {
    case DType::kI8: case DType::kI16: case DType::kI32: case DType::kI64:
    case DType::kU8: case DType::kU16: case DType::kU32: case DType::kU64:
      return true;
    default:
      return false;
  }
}

// Element i of any integer/bool tensor as int64 (indices, sizes, predicates).
using datak::get_int;

inline Status require_input(const KernelContext& ctx, int i, const Tensor** t) {
  *t = i < ctx.num_inputs() ? ctx.input(i) : nullptr;
  if (!*t) return err(ctx, "missing required input " + std::to_string(i));
  return Status::Ok();
}

// Reads a 1-D (or scalar) integer tensor into int64s.
inline Status read_ints(const KernelContext& ctx, const Tensor* t, const char* what, std::vector<int64_t>* out) {
  out->clear();
  if (!t) return err(ctx, std::string("missing input '") + what + "'");
  if (!is_int_dtype(t->dtype) && t->dtype != DType::kBool)
    return err(ctx, std::string("input '") + what + "' must be an integer tensor, got " + dtype_name(t->dtype));
  int64_t n = t->numel();
  out->resize(n);
  for (int64_t i = 0; i < n; ++i) (*out)[i] = get_int(*t, i);
  return Status::Ok();
}

// An ints attribute that must have `n` entries; `def` fills it when absent (def < -1: required).
inline Status ints_attr(const KernelContext& ctx, const char* name, size_t n, int64_t def, std::vector<int64_t>* out) {
  const Attribute* a = ctx.attrs().find(name);
  if (!a) {
    if (def < -1) return err(ctx, std::string("missing attribute '") + name + "'");
    out->assign(n, def);
    return Status::Ok();
  }
  *out = a->ints;
  if (out->size() != n)
    return err(ctx, std::string("attribute '") + name + "' has " + std::to_string(out->size()) + " entries, expected " +
                        std::to_string(n));
  return Status::Ok();
}

// Output i with a computed shape (data_util's: a pre-planned output must agree; nullptr when unused).
using datak::make_output;

// A non-owning Value that views an existing tensor (inputs to run_subgraph).
inline Value view_value(const Tensor& t) {
  Value v;
  v.kind = Value::Kind::kTensor;
  v.tensor.view = t;
  v.elem_dtype = t.dtype;
  return v;
}

// Runs a region whose arguments are rank-0 tensors (reduce, sort, scatter, map bodies): set the
// argument bytes with arg(i), call run(), read results with result(i).
class ScalarRegion {
 public:
  ScalarRegion(KernelContext& ctx, int graph) : ctx_(ctx), graph_(graph) {}

  Status init(const std::vector<DType>& arg_types) {
    if (graph_ < 0) return err(ctx_, "missing region (graph attribute)");
    args_.resize(arg_types.size());
    for (size_t i = 0; i < arg_types.size(); ++i) {
      OwnedTensor o;
      FLEETRT_RETURN_IF_ERROR(ctx_.allocate(arg_types[i], {}, &o));
      args_[i].kind = Value::Kind::kTensor;
      args_[i].tensor = o;
      args_[i].elem_dtype = arg_types[i];
    }
    ptrs_.clear();
    for (auto& v : args_) ptrs_.push_back(&v);
    return Status::Ok();
  }
  void* arg(size_t i) { return args_[i].tensor.view.data; }
  void set_arg(size_t i, const void* src) { std::memcpy(arg(i), src, elem_size(args_[i].tensor.view.dtype)); }
  Status run(size_t n_results) {
    results_.clear();
    FLEETRT_RETURN_IF_ERROR(ctx_.run_subgraph(graph_, ptrs_, &results_));
    if (results_.size() < n_results)
      return err(ctx_, "region returned " + std::to_string(results_.size()) + " values, expected " +
                           std::to_string(n_results));
    for (size_t i = 0; i < n_results; ++i) {
      const Value& r = results_[i];
      if (r.kind != Value::Kind::kTensor || r.tensor.view.numel() != 1)
        return err(ctx_, "region result " + std::to_string(i) + " is not a scalar tensor");
    }
    return Status::Ok();
  }
  const Tensor& result(size_t i) const { return results_[i].tensor.view; }
  // The result as a predicate (sort comparator, select function).
  bool result_bool(size_t i) const { return get_int(result(i), 0) != 0; }

 private:
  KernelContext& ctx_;
  int graph_;
  std::vector<Value> args_;
  std::vector<const Value*> ptrs_;
  std::vector<Value> results_;
};

inline int graph_attr(const KernelContext& ctx, const char* name) {
  const Attribute* a = ctx.attrs().find(name);
  return a && a->kind == Attribute::Kind::kGraph ? a->graph : -1;
}

// Copies a scalar result of type `from` into `dst` of type `to` (regions may promote types).
inline Status store_scalar(const KernelContext& ctx, const Tensor& src, DType to, void* dst) {
  if (src.dtype != to)
    return err(ctx, std::string("region returned ") + dtype_name(src.dtype) + " where " + dtype_name(to) +
                        " was expected");
  std::memcpy(dst, src.data, elem_size(to));
  return Status::Ok();
}

}  // namespace shlo
}  // namespace fleetrt
