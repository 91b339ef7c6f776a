// Shared helpers for fleetrt kernels: error formatting, output allocation, axis handling,
// float16/bfloat16 conversion, dtype dispatch, numpy broadcasting and SGEMM.
// Kernels A and B both include this header; keep its declarations stable.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "fleetrt/kernel.h"

namespace fleetrt {
namespace ku {

// ---------------------------------------------------------------- errors
// "<OpType> '<node name>': <msg>" — every kernel error names the op.
Status op_error(const KernelContext& ctx, const std::string& msg);
std::string shape_str(const std::vector<int64_t>& shape);

// ---------------------------------------------------------------- outputs
// Output i with `shape`: the runtime's pre-allocated tensor when there is one (its shape must
// match), otherwise allocated through ctx.output(i, shape, &t). *out is nullptr only for an unused
// output slot (num_outputs() <= i).
Status alloc_output(KernelContext& ctx, int i, const std::vector<int64_t>& shape, DType dtype, Tensor** out);
// Like alloc_output, but returns nullptr (and Ok) when the output slot is absent or unused.
Status alloc_optional_output(KernelContext& ctx, int i, const std::vector<int64_t>& shape, DType dtype,
                             Tensor** out);

// Required input i (error naming the op when missing).
Status require_input(const KernelContext& ctx, int i, const Tensor** t);
// Axis in [-rank, rank) → [0, rank).
Status normalize_axis(const KernelContext& ctx, int64_t axis, int64_t rank, int64_t* out);
// Integer tensor (int32/int64/…) read as int64 values.
Status read_int_tensor(const KernelContext& ctx, const Tensor& t, std::vector<int64_t>* out);
// Scalar (or one-element) tensor of any numeric dtype read as double.
Status read_scalar(const KernelContext& ctx, const Tensor& t, double* out);

int64_t numel_of(const std::vector<int64_t>& shape);
int64_t prod(const std::vector<int64_t>& shape, size_t begin, size_t end);

// ---------------------------------------------------------------- dtypes
float half_to_float(uint16_t h);
uint16_t float_to_half(float f);  // round to nearest even
inline float bf16_to_float(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t float_to_bf16(float f);  // round to nearest even, NaN kept
// float8 (ONNX Cast semantics; saturate clamps finite out-of-range values to the max finite).
float f8_to_float(uint8_t v, DType t);
uint8_t float_to_f8(float f, DType t, bool saturate);

// Distinct C++ tag types for 16-bit floats so dispatch can tell them apart from uint16_t.
struct f16_t {
  uint16_t bits;
};
struct bf16_t {
  uint16_t bits;
};

bool is_float(DType t);  // f16, bf16, f32, f64 (and float8)
bool is_signed_int(DType t);
bool is_unsigned_int(DType t);
inline bool is_int(DType t) { return is_signed_int(t) || is_unsigned_int(t); }

// Element i of a tensor of any real dtype as double / written from double (casts per C++ with
// saturation for floats→ints is NOT applied; used for small side inputs, not hot loops).
double load_as_double(const Tensor& t, int64_t i);
void store_from_double(Tensor& t, int64_t i, double v);

// Float tensor (f32/f16/bf16/f64) → float buffer (copy into scratch when not f32).
// Returns pointer to float data (either t.data or scratch).
const float* as_float_buffer(KernelContext& ctx, const Tensor& t);
// Writes float values into an output of dtype f32/f16/bf16/f64.
void store_float_buffer(const float* src, Tensor& dst);

// Calls f(T{}) with T the C++ type of t for plain numeric dtypes
// (float, double, int8..int64, uint8..uint64, bool). Returns false for others.
template <class F>
bool dispatch_numeric(DType t, F&& f) {
  switch (t) {
    case DType::kF32: f(float{}); return true;
    case DType::kF64: f(double{}); return true;
    case DType::kI8: f(int8_t{}); return true;
    case DType::kI16: f(int16_t{}); return true;
    case DType::kI32: f(int32_t{}); return true;
    case DType::kI64: f(int64_t{}); return true;
    case DType::kU8: f(uint8_t{}); return true;
    case DType::kU16: f(uint16_t{}); return true;
    case DType::kU32: f(uint32_t{}); return true;
    case DType::kU64: f(uint64_t{}); return true;
    case DType::kBool: f(bool{}); return true;
    default: return false;
  }
}
// Float types only (float, double); f16/bf16 are handled by callers via float conversion.
template <class F>
bool dispatch_float(DType t, F&& f) {
  switch (t) {
    case DType::kF32: f(float{}); return true;
    case DType::kF64: f(double{}); return true;
    default: return false;
  }
}

// ---------------------------------------------------------------- broadcasting
// numpy broadcast of shapes; false when incompatible.
bool broadcast_shapes(const std::vector<std::vector<int64_t>>& shapes, std::vector<int64_t>* out);

// Iteration plan for N inputs broadcast to an output shape. The output is walked as `rows`
// contiguous runs of `inner` elements; within a run input k advances by inner_step[k] (0 or 1).
struct Broadcast {
  std::vector<int64_t> out_shape;           // broadcast result (un-collapsed)
  std::vector<int64_t> dims;                // collapsed outer dims (without the inner run)
  std::vector<std::vector<int64_t>> strides;  // per input, per collapsed outer dim
  std::vector<int64_t> inner_step;          // per input: 0 or 1
  int64_t inner = 1;
  int64_t rows = 1;
  int64_t numel = 1;
  // Fills offs[k] with the offset of input k at the start of run `row`.
  void row_offsets(int64_t row, int64_t* offs) const;
};
bool make_broadcast(const std::vector<std::vector<int64_t>>& in_shapes, Broadcast* b);

// Runs fn(row_begin, row_end) over the rows of b, in parallel when the work is large.
void parallel_rows(KernelContext& ctx, const Broadcast& b, const std::function<void(int64_t, int64_t)>& fn);
// ctx.parallel_for with a grain expressed as elements of work per chunk.
void parallel_elems(KernelContext& ctx, int64_t n, int64_t cost_per_item,
                    const std::function<void(int64_t, int64_t)>& fn);

// ---------------------------------------------------------------- GEMM
// C[M×N] = alpha · op(A) · op(B) + beta · C, row-major, op(X) = Xᵀ when trans.
// lda/ldb/ldc are row strides of the stored matrices. beta == 0 ignores C's old contents (NaNs
// included). Packed and register-blocked; AVX2+FMA chosen at run time, portable fallback.
// ctx may be nullptr (single thread).
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc, KernelContext* ctx);
// Plain reference implementation (tests).
void sgemm_ref(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// Whether sgemm uses the AVX2/FMA microkernel on this machine.
bool sgemm_uses_avx2();

}  // namespace ku
}  // namespace fleetrt
