// Helpers shared by the kernels-B files (data movement, indexing, control flow, sequences):
// error messages naming the op, reading index/shape tensors, axis normalisation, element
// copies that respect string elements, output allocation, float conversion for fp16/bf16.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fleetrt/kernel.h"
#include "kernel_util.h"

namespace fleetrt {
namespace datak {

inline Status err(const KernelContext& ctx, const std::string& msg) {
  std::string where = ctx.op_type();
  if (!ctx.op_name().empty()) where += " '" + ctx.op_name() + "'";
  return Status::Error(where + ": " + msg);
}

inline std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

inline bool is_string(DType t) { return t == DType::kString; }
inline bool is_subbyte(DType t) { return t == DType::kU4 || t == DType::kI4 || t == DType::kF4E2M1; }
// Bytes of one element (0 for packed 4-bit types, which element-wise movers reject).
inline size_t elem_size(DType t) { return is_subbyte(t) ? 0 : dtype_bits(t) / 8; }

inline int64_t numel_of(const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

inline std::vector<int64_t> strides_of(const std::vector<int64_t>& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int64_t i = static_cast<int64_t>(s.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

// Copies n consecutive elements src[si..] → dst[di..] (strings by assignment).
inline void copy_elems(DType t, void* dst, int64_t di, const void* src, int64_t si, int64_t n) {
  if (n <= 0) return;
  if (t == DType::kString) {
    const std::string* s = static_cast<const std::string*>(src) + si;
    std::string* d = static_cast<std::string*>(dst) + di;
    for (int64_t i = 0; i < n; ++i) d[i] = s[i];
    return;
  }
  size_t es = elem_size(t);
  std::memmove(static_cast<char*>(dst) + di * es, static_cast<const char*>(src) + si * es, n * es);
}

// Copies a whole tensor's payload (also fine for 4-bit packed types).
inline void copy_tensor_data(const Tensor& src, Tensor* dst) {
  if (src.data == dst->data) return;
  if (src.dtype == DType::kString) {
    copy_elems(src.dtype, dst->data, 0, src.data, 0, src.numel());
    return;
  }
  std::memcpy(dst->data, src.data, src.bytes());
}

// Element kernels refuse 4-bit packed types with a clear message.
inline Status check_movable(const KernelContext& ctx, DType t) {
  if (is_subbyte(t)) return err(ctx, std::string("4-bit packed dtype ") + dtype_name(t) + " is not supported here");
  if (t == DType::kUndefined) return err(ctx, "input has undefined dtype");
  return Status::Ok();
}

inline Status require_input(const KernelContext& ctx, int i, const Tensor** t) {
  *t = ctx.input(i);
  if (!*t) return err(ctx, "missing required input " + std::to_string(i));
  return Status::Ok();
}

inline bool is_int_dtype(DType t) {
  switch (t) {
    case DType::kI8: case DType::kI16: case DType::kI32: case DType::kI64:
    case DType::kU8: case DType::kU16: case DType::kU32: case DType::kU64: case DType::kBool:
      return true;
    default:
      return false;
  }
}

// Reads element i of an integer tensor as int64 (caller checked is_int_dtype).
inline int64_t get_int(const Tensor& t, int64_t i) {
  switch (t.dtype) {
    case DType::kI64: return t.as<int64_t>()[i];
    case DType::kI32: return t.as<int32_t>()[i];
    case DType::kI16: return t.as<int16_t>()[i];
    case DType::kI8: return t.as<int8_t>()[i];
    case DType::kU8: case DType::kBool: return t.as<uint8_t>()[i];
    case DType::kU16: return t.as<uint16_t>()[i];
    case DType::kU32: return t.as<uint32_t>()[i];
    case DType::kU64: return static_cast<int64_t>(t.as<uint64_t>()[i]);
    default: return 0;
  }
}

// Reads an integer tensor (shape, axes, pads, indices …) into int64s.
inline Status read_ints(const KernelContext& ctx, const Tensor* t, const char* what, std::vector<int64_t>* out) {
  out->clear();
  if (!t) return err(ctx, std::string("missing input '") + what + "'");
  if (!is_int_dtype(t->dtype))
    return err(ctx, std::string("input '") + what + "' must be an integer tensor, got " + dtype_name(t->dtype));
  int64_t n = t->numel();
  out->resize(n);
  for (int64_t i = 0; i < n; ++i) (*out)[i] = get_int(*t, i);
  return Status::Ok();
}

// Normalises axis into [0, rank); error naming the op when out of range.
inline Status norm_axis(const KernelContext& ctx, int64_t axis, int64_t rank, int64_t* out) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    return err(ctx, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  *out = a;
  return Status::Ok();
}

// Gets output i with a computed shape. If the runtime pre-allocated the output, its shape
// must equal `shape`. *t is nullptr when the output slot is unused (absent from the node or
// not read by anyone).
inline Status make_output(KernelContext& ctx, int i, const std::vector<int64_t>& shape, Tensor** t) {
  *t = nullptr;
  if (i >= ctx.num_outputs()) return Status::Ok();
  Tensor* pre = ctx.output(i);
  if (pre) {
    if (pre->shape != shape)
      return err(ctx, "output " + std::to_string(i) + " was planned as " + shape_str(pre->shape) + " but is " +
                          shape_str(shape));
    *t = pre;
    return Status::Ok();
  }
  FLEETRT_RETURN_IF_ERROR(ctx.output(i, shape, t));
  // The runtime hands an unused output scratch memory without a dtype: treat it as absent.
  if (*t && (*t)->dtype == DType::kUndefined) *t = nullptr;
  return Status::Ok();
}

// ---- fp16 / bf16 <-> float: the shared conversions of kernel_util ------------------------------
using ku::bf16_to_float;
using ku::float_to_bf16;
using ku::float_to_half;
using ku::half_to_float;

inline bool is_float_dtype(DType t) {
  return t == DType::kF32 || t == DType::kF64 || t == DType::kF16 || t == DType::kBF16;
}

// Numeric element i as double (floats, ints, bool).
inline double get_f64(const Tensor& t, int64_t i) {
  switch (t.dtype) {
    case DType::kF32: return t.as<float>()[i];
    case DType::kF64: return t.as<double>()[i];
    case DType::kF16: return half_to_float(t.as<uint16_t>()[i]);
    case DType::kBF16: return bf16_to_float(t.as<uint16_t>()[i]);
    default: return static_cast<double>(get_int(t, i));
  }
}

inline void set_f64(Tensor& t, int64_t i, double v) {
  switch (t.dtype) {
    case DType::kF32: t.as<float>()[i] = static_cast<float>(v); break;
    case DType::kF64: t.as<double>()[i] = v; break;
    case DType::kF16: t.as<uint16_t>()[i] = float_to_half(static_cast<float>(v)); break;
    case DType::kBF16: t.as<uint16_t>()[i] = float_to_bf16(static_cast<float>(v)); break;
    case DType::kI64: t.as<int64_t>()[i] = static_cast<int64_t>(v); break;
    case DType::kI32: t.as<int32_t>()[i] = static_cast<int32_t>(v); break;
    case DType::kI16: t.as<int16_t>()[i] = static_cast<int16_t>(v); break;
    case DType::kI8: t.as<int8_t>()[i] = static_cast<int8_t>(v); break;
    case DType::kU8: t.as<uint8_t>()[i] = static_cast<uint8_t>(v); break;
    case DType::kBool: t.as<uint8_t>()[i] = v != 0; break;
    case DType::kU16: t.as<uint16_t>()[i] = static_cast<uint16_t>(v); break;
    case DType::kU32: t.as<uint32_t>()[i] = static_cast<uint32_t>(v); break;
    case DType::kU64: t.as<uint64_t>()[i] = static_cast<uint64_t>(v); break;
    default: break;
  }
}

inline bool is_numeric(DType t) { return is_float_dtype(t) || is_int_dtype(t); }

// Loads a numeric tensor as floats (no copy needed by callers for f32: use t.as<float>()).
inline void load_floats(const Tensor& t, std::vector<float>* out) {
  int64_t n = t.numel();
  out->resize(n);
  if (t.dtype == DType::kF32) {
    if (n) std::memcpy(out->data(), t.data, n * sizeof(float));
    return;
  }
  for (int64_t i = 0; i < n; ++i) (*out)[i] = static_cast<float>(get_f64(t, i));
}

inline void store_floats(const std::vector<float>& v, Tensor* t) {
  if (t->dtype == DType::kF32) {
    if (!v.empty()) std::memcpy(t->data, v.data(), v.size() * sizeof(float));
    return;
  }
  for (size_t i = 0; i < v.size(); ++i) set_f64(*t, static_cast<int64_t>(i), v[i]);
}

// Runs copies in parallel when there are many bytes to move.
inline int64_t grain_for(int64_t items, int64_t bytes_per_item) {
  const int64_t target = 64 * 1024;  // bytes per task
  int64_t g = bytes_per_item > 0 ? target / bytes_per_item : items;
  return g < 1 ? 1 : g;
}


// ---- strided copies ---------------------------------------------------------------------------
// dst (contiguous, shape `shape`) ← src[base + Σ idx_k * strides_k] (element strides; may be 0 for
// broadcast or negative for reversed slices). Used by Transpose, Slice, Expand, Tile.
namespace detail {
template <class T>
inline void strided_row(T* d, const T* s, int64_t n, int64_t st) {
  if (st == 0) {
    T v = s[0];
    for (int64_t i = 0; i < n; ++i) d[i] = v;
  } else {
    for (int64_t i = 0; i < n; ++i) d[i] = s[i * st];
  }
}
struct B16 {
  uint64_t a, b;
};

inline void row_copy(DType t, size_t es, char* d, const char* s, int64_t n, int64_t st) {
  if (t == DType::kString) {
    strided_row(reinterpret_cast<std::string*>(d), reinterpret_cast<const std::string*>(s), n, st);
    return;
  }
  if (st == 1) {
    std::memcpy(d, s, n * es);
    return;
  }
  switch (es) {
    case 1: strided_row(reinterpret_cast<uint8_t*>(d), reinterpret_cast<const uint8_t*>(s), n, st); break;
    case 2: strided_row(reinterpret_cast<uint16_t*>(d), reinterpret_cast<const uint16_t*>(s), n, st); break;
    case 4: strided_row(reinterpret_cast<uint32_t*>(d), reinterpret_cast<const uint32_t*>(s), n, st); break;
    case 8: strided_row(reinterpret_cast<uint64_t*>(d), reinterpret_cast<const uint64_t*>(s), n, st); break;
    case 16: strided_row(reinterpret_cast<B16*>(d), reinterpret_cast<const B16*>(s), n, st); break;
    default:
      for (int64_t i = 0; i < n; ++i) std::memcpy(d + i * es, s + i * st * static_cast<int64_t>(es), es);
  }
}

// Blocked copy of a transposed 2-D tile: d[i][j] = s[j][i] with s row stride `ss` (elements).
template <class T>
inline void transpose_block(T* d, const T* s, int64_t rows, int64_t cols, int64_t ss) {
  const int64_t B = 32;
  for (int64_t i0 = 0; i0 < rows; i0 += B)
    for (int64_t j0 = 0; j0 < cols; j0 += B) {
      int64_t i1 = std::min(rows, i0 + B), j1 = std::min(cols, j0 + B);
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t j = j0; j < j1; ++j) d[i * cols + j] = s[j * ss + i];
    }
}
}  // namespace detail

inline void strided_copy(KernelContext& ctx, DType t, void* dst, const void* src, int64_t base,
                         std::vector<int64_t> shape, std::vector<int64_t> strides) {
  // Coalesce: drop size-1 dims, merge neighbours that are contiguous in the source.
  std::vector<int64_t> sh, st;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0) return;
    if (shape[i] == 1) continue;
    if (!sh.empty() && st.back() == strides[i] * shape[i]) {
      sh.back() *= shape[i];
      st.back() = strides[i];
    } else {
      sh.push_back(shape[i]);
      st.push_back(strides[i]);
    }
  }
  if (sh.empty()) {
    sh.push_back(1);
    st.push_back(1);
  }
  const size_t es = elem_size(t);
  const int64_t r = static_cast<int64_t>(sh.size());
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src) + base * static_cast<int64_t>(es);
  const int64_t inner = sh[r - 1], inner_st = st[r - 1];

  // Transposed tile in the last two dims: blocked for cache reuse.
  if (r >= 2 && st[r - 2] == 1 && inner_st != 1 && t != DType::kString && (es == 1 || es == 2 || es == 4 || es == 8)) {
    const int64_t rows = sh[r - 2], outer = numel_of(std::vector<int64_t>(sh.begin(), sh.end() - 2));
    ctx.parallel_for(outer, std::max<int64_t>(1, grain_for(outer, rows * inner * es)), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        int64_t off = 0, rem = o;
        for (int64_t k = r - 3; k >= 0; --k) {
          off += (rem % sh[k]) * st[k];
          rem /= sh[k];
        }
        char* dd = d + o * rows * inner * es;
        const char* ss = s + off * static_cast<int64_t>(es);
        switch (es) {
          case 1: detail::transpose_block(reinterpret_cast<uint8_t*>(dd), reinterpret_cast<const uint8_t*>(ss), rows, inner, inner_st); break;
          case 2: detail::transpose_block(reinterpret_cast<uint16_t*>(dd), reinterpret_cast<const uint16_t*>(ss), rows, inner, inner_st); break;
          case 4: detail::transpose_block(reinterpret_cast<uint32_t*>(dd), reinterpret_cast<const uint32_t*>(ss), rows, inner, inner_st); break;
          default: detail::transpose_block(reinterpret_cast<uint64_t*>(dd), reinterpret_cast<const uint64_t*>(ss), rows, inner, inner_st); break;
        }
      }
    });
    return;
  }

  const int64_t rows = numel_of(std::vector<int64_t>(sh.begin(), sh.end() - 1));
  ctx.parallel_for(rows, grain_for(rows, inner * static_cast<int64_t>(es)), [&](int64_t b, int64_t e) {
    // Odometer over the outer dims starting at row b.
    std::vector<int64_t> idx(r > 1 ? r - 1 : 1, 0);
    int64_t off = 0, rem = b;
    for (int64_t k = r - 2; k >= 0; --k) {
      idx[k] = rem % sh[k];
      rem /= sh[k];
      off += idx[k] * st[k];
    }
    for (int64_t row = b; row < e; ++row) {
      detail::row_copy(t, es, d + row * inner * static_cast<int64_t>(es), s + off * static_cast<int64_t>(es), inner, inner_st);
      for (int64_t k = r - 2; k >= 0; --k) {
        off += st[k];
        if (++idx[k] < sh[k]) break;
        off -= st[k] * sh[k];
        idx[k] = 0;
      }
    }
  });
}

// ---- values (sequences, optionals, subgraph plumbing) -----------------------------------------
// A non-owning Value view of a tensor input (valid for the kernel call).
inline Value tensor_value(const Tensor& t) {
  Value v;
  v.kind = Value::Kind::kTensor;
  v.tensor.view = t;
  v.elem_dtype = t.dtype;
  return v;
}

// A runtime-owned deep copy of `t` (sequence elements must outlive the kernel's inputs).
inline Status clone_tensor(KernelContext& ctx, const Tensor& t, OwnedTensor* out) {
  FLEETRT_RETURN_IF_ERROR(ctx.allocate(t.dtype, t.shape, out));
  copy_tensor_data(t, &out->view);
  return Status::Ok();
}

// Writes Value v to output i: copies a tensor into a planned output buffer when the runtime
// planned one, otherwise hands the value over.
inline Status emit_value(KernelContext& ctx, int i, Value v) {
  if (i >= ctx.num_outputs()) return Status::Ok();
  if (v.kind == Value::Kind::kTensor) {
    Tensor* pre = ctx.output(i);
    if (pre) {
      const Tensor& src = v.tensor.view;
      if (pre->shape != src.shape || pre->dtype != src.dtype)
        return err(ctx, "output " + std::to_string(i) + " was planned as " + shape_str(pre->shape) + " but is " +
                            shape_str(src.shape));
      copy_tensor_data(src, pre);
      return Status::Ok();
    }
  }
  return ctx.set_output_value(i, std::move(v));
}

// The graph index of a kGraph attribute.
inline Status graph_attr(const KernelContext& ctx, const char* name, int* g) {
  const Attribute* a = ctx.attrs().find(name);
  if (!a || a->kind != Attribute::Kind::kGraph || a->graph < 0) return err(ctx, std::string("missing graph attribute '") + name + "'");
  *g = a->graph;
  return Status::Ok();
}

}  // namespace datak
}  // namespace fleetrt
