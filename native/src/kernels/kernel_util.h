// Shared helpers for fleetrt kernels: error formatting, output allocation, axis handling,
// float16/bfloat16 conversion, dtype dispatch, numpy broadcasting and SGEMM.
// Kernels A and B both include this header; keep its declarations stable.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
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
// float4 e2m1 (one nibble; no inf/NaN: out of range saturates to ±6, NaN → 0x8) and float8 e8m0
// (power of two 2^(v−127), 0xFF = NaN; round_mode 0 up, 1 down, 2 nearest).
float f4_to_float(uint8_t code);
uint8_t float_to_f4(float f);
float e8m0_to_float(uint8_t v);
uint8_t float_to_e8m0(float f, int round_mode, bool saturate);

// Distinct C++ tag types for 16-bit floats so dispatch can tell them apart from uint16_t.
struct f16_t {
  uint16_t bits;
};
struct bf16_t {
  uint16_t bits;
};

bool is_float(DType t);  // f16, bf16, f32, f64 (and float8, float8e8m0, float4e2m1)
bool is_signed_int(DType t);
bool is_unsigned_int(DType t);
inline bool is_int(DType t) { return is_signed_int(t) || is_unsigned_int(t); }

// Element i of a tensor of any real dtype as double / written from double (casts per C++ with
// saturation for floats→ints is NOT applied; used for small side inputs, not hot loops). Packed
// 4-bit types (int4, uint4, float4e2m1) address nibble i, 2-bit types (int2, uint2) crumb i (four per
// byte, lowest bits first); storing them is not thread-safe.
double load_as_double(const Tensor& t, int64_t i);
void store_from_double(Tensor& t, int64_t i, double v);

// Float tensor (f32/f16/bf16/f64) → float buffer (copy into scratch when not f32).
// Returns pointer to float data (either t.data or scratch).
const float* as_float_buffer(KernelContext& ctx, const Tensor& t);
// Writes float values into an output of dtype f32/f16/bf16/f64.
void store_float_buffer(const float* src, Tensor& dst);
// Where a float computation for output dst writes: dst's own memory when it is f32, else scratch
// (then finish with store_float_buffer).
float* float_out_buffer(KernelContext& ctx, Tensor& dst);
// Float values of t broadcast (numpy rules, t's shape onto `shape`) into a buffer of numel(shape)
// floats; nullptr when t does not broadcast to shape.
const float* broadcast_float(KernelContext& ctx, const Tensor& t, const std::vector<int64_t>& shape);
// f32/f16/bf16/f64: the dtypes computed through float buffers.
inline bool is_float_like(DType t) {
  return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16 || t == DType::kF64;
}

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
// The same over n shapes given as (dims, rank) spans, into out's own storage.
struct ShapeSpan {
  const int64_t* dims;
  size_t rank;
};
bool broadcast_spans(const ShapeSpan* shapes, size_t n, std::vector<int64_t>* out);

// One T per thread, kept for the life of the thread: working storage (plans, strides) that a
// kernel fills on every call reuses its vectors' capacity instead of allocating afresh (a small
// model's step ran about 15 heap blocks per binary op through malloc and free).
template <class T>
T& thread_kept() {
  thread_local T t;
  return t;
}

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
  std::vector<int64_t> full_strides;        // make_broadcast's working storage, kept with the rest
  // Fills offs[k] with the offset of input k at the start of run `row`.
  void row_offsets(int64_t row, int64_t* offs) const;
};
// Fills b, reusing its vectors' storage: a Broadcast kept between calls allocates nothing.
bool make_broadcast(const std::vector<std::vector<int64_t>>& in_shapes, Broadcast* b);
bool make_broadcast(const std::vector<int64_t>& x, const std::vector<int64_t>& y, Broadcast* b);
bool make_broadcast(const std::vector<int64_t>& x, const std::vector<int64_t>& y, const std::vector<int64_t>& z,
                    Broadcast* b);

// Runs fn(row_begin, row_end) over the rows of b, in parallel when the work is large.
void parallel_rows(KernelContext& ctx, const Broadcast& b, const std::function<void(int64_t, int64_t)>& fn);
// Below these amounts of work an op runs on one thread. Splitting a small op costs more than
// it saves: besides waking workers, its input and output lines move between the cores' caches
// (measured on a 2-vCPU EPYC guest: the CNN fixtures ran 1.2–2.5× slower split at 2^17–2^18).
constexpr int64_t kParallelMinMacs = int64_t{1} << 21;  // GEMM / conv multiply-adds
constexpr int64_t kParallelMinElems = int64_t{1} << 17;  // parallel_elems cost units per chunk

// ctx.parallel_for with a grain expressed as elements of work per chunk.
void parallel_elems(KernelContext& ctx, int64_t n, int64_t cost_per_item,
                    const std::function<void(int64_t, int64_t)>& fn);

// ---------------------------------------------------------------- prepared constant inputs
// What an op's kernel prepared from its constant inputs (packed GEMM panels, reordered conv
// filters), kept in the op's state slot (KernelContext::op_state) for the life of its program.
// The first call that needs it makes it (make() returns a shared_ptr<const T>, nullptr when it
// cannot) and publishes it atomically; a kept one is used while fits(const T&) holds for this
// call, else remade. Concurrent first calls at worst both make one and the last publication wins.
// Returns nullptr where the context keeps no state or make() failed: the caller then does the work
// per call. One kernel may keep one T per op (a kept value of another type is replaced).
struct OpStateBox {
  const void* type;
  std::shared_ptr<const void> value;
};
template <class T>
const void* op_state_type() {
  static const char tag = 0;
  return &tag;
}
template <class T, class Fits, class Make>
std::shared_ptr<const T> prepared(KernelContext& ctx, Fits&& fits, Make&& make) {
  std::shared_ptr<void>* slot = ctx.op_state();
  if (!slot) return nullptr;
  if (auto box = std::static_pointer_cast<const OpStateBox>(std::atomic_load(slot)))
    if (box->type == op_state_type<T>()) {
      auto kept = std::static_pointer_cast<const T>(box->value);
      if (fits(*kept)) return kept;
    }
  std::shared_ptr<const T> fresh = make();
  if (!fresh) return nullptr;
  auto box = std::make_shared<OpStateBox>(OpStateBox{op_state_type<T>(), fresh});
  std::atomic_store(slot, std::shared_ptr<void>(std::move(box)));
  return fresh;
}

// ---------------------------------------------------------------- sliding windows
// Geometry of Conv / pooling windows over the spatial dims: reads kernel_shape (when `kernel` is
// empty), strides, dilations, pads, auto_pad and (pooling) ceil_mode from ctx's attributes.
struct WindowGeom {
  std::vector<int64_t> in, kernel, stride, dil, pad_begin, pad_end, out;
  int64_t in_size() const { return numel_of(in); }
  int64_t out_size() const { return numel_of(out); }
  int64_t kernel_size() const { return numel_of(kernel); }
};
Status window_geometry(const KernelContext& ctx, const std::vector<int64_t>& in_spatial, std::vector<int64_t> kernel,
                       bool allow_ceil, WindowGeom* g);

// ---------------------------------------------------------------- attention (nn_attention_core.cpp)
// Scaled dot-product attention over float buffers with arbitrary (batch, head, row) strides; the
// elements of one head row are contiguous. For query head h the key/value head is
// h / (q_heads / kv_heads). Score pipeline: Q·Kᵀ·scale → softcap → + bias → causal/padding mask →
// softmax (a fully masked row gives zeros) → ·V.
struct AttentionProblem {
  int64_t batch = 1, q_heads = 1, kv_heads = 1, q_len = 1, kv_len = 1, head_dim = 1, v_head_dim = 1;
  const float* q = nullptr;
  int64_t q_sb = 0, q_sh = 0, q_ss = 0;
  const float* k = nullptr;
  int64_t k_sb = 0, k_sh = 0, k_ss = 0;
  const float* v = nullptr;
  int64_t v_sb = 0, v_sh = 0, v_ss = 0;
  float* y = nullptr;
  int64_t y_sb = 0, y_sh = 0, y_ss = 0;
  float scale = 1.f;
  float softcap = 0.f;  // > 0: s = softcap·tanh(s/softcap)
  // Additive bias over [batch, head, q row, kv col] (kv col contiguous), strides may be 0.
  const float* bias = nullptr;
  int64_t bias_sb = 0, bias_sh = 0, bias_ss = 0;
  // Causal: query row i sees key j only when j <= i + causal_offset[b] (or causal_offset0).
  bool causal = false;
  int64_t causal_offset0 = 0;
  const int64_t* causal_offset = nullptr;
  // Keys j >= kv_valid[b] are masked; kv_start[b] masks keys before it (nullptr: none).
  const int64_t* kv_valid = nullptr;
  const int64_t* kv_start = nullptr;
  // Optional copy of the scores, [batch, q_heads, q_len, kv_len] contiguous: mode 0/1 after
  // scale+softcap, 2 after the bias and masks, 3 the softmax probabilities.
  float* qk_out = nullptr;
  int qk_mode = 0;
};
void attention(KernelContext* ctx, const AttentionProblem& p);
// Rotary embedding of one head vector x[0:rot_dim) in place: halves (x1 = x[:d/2], x2 = x[d/2:])
// or interleaved pairs (x[2i], x[2i+1]); cos/sin hold rot_dim/2 values.
void rope_rotate(float* x, const float* cos, const float* sin, int64_t rot_dim, bool interleaved);

// ---------------------------------------------------------------- vector exp
// y[i] = exp(sign·x[i] − shift) for n floats (y may equal x, or be nullptr to only sum); returns
// the sum of the values. AVX2+FMA polynomial when the CPU has it (~2 ulp), std::exp otherwise.
double vexp_shift_sum(const float* x, float sign, float shift, float* y, int64_t n);
// y[i] = tanh(x[i]) (y may equal x); AVX2+FMA when available (~2 ulp), std::tanh otherwise.
void vtanh(const float* x, float* y, int64_t n);
// y[i] = erf(x[i]) (y may equal x); AVX2+FMA when available (|error| < 2e-7), std::erf otherwise.
void verf(const float* x, float* y, int64_t n);
// y[i] = 1 / (1 + exp(−x[i])) (y may equal x), through vexp_shift_sum: what Sigmoid and the fused
// chains compute, the same bits in both.
void vsigmoid(const float* x, float* y, int64_t n);
// y[i] = max(x[i], 0) (y may equal x), with SSE max: the -O2 build neither vectorizes nor avoids a
// branch per element in a plain loop, and random signs mispredict. What Relu and FusedMatMul use.
void vrelu(const float* x, float* y, int64_t n);
// max(−inf, x[0..n)) with NaNs skipped (as std::max(m, x) skips them), 16 lanes wide with AVX-512,
// 4 with SSE: exact, so every width gives the same value. Softmax's and attention's max sweep.
float vmax(const float* x, int64_t n);
// y[i] *= s (exact at every width): Softmax's and attention's rescale.
void vscale(float* y, int64_t n, float s);
// y[i] += b[i], one add per element, with SSE (the -O2 build does not vectorize the loop).
void vadd(float* y, const float* b, int64_t n);

// ---------------------------------------------------------------- GEMM
// Work on finished values of C (fleetc FusedMatMul: bias, residual, activation): called once per
// block of C once the product there is complete, while the block is still in cache, with the
// block's rows i0..i0+m and columns j0..j0+n of the product (c: its first element, ldc apart).
struct GemmEpilogue {
  using Fn = void (*)(const void* arg, float* c, int64_t ldc, int64_t i0, int64_t j0, int64_t m, int64_t n);
  Fn fn;
  const void* arg;
  // Optional: a bias per column of the product (N values) that the SGEMM's kernel may add as it
  // stores a block's final values (rounded as fn's add would), then running `rest` (nullptr:
  // nothing left) instead of fn.
  const float* col_bias = nullptr;
  Fn rest = nullptr;
  // With col_bias: all that is left after the bias is GELU (erf form), which a kernel may apply in
  // registers as well (then nothing is left).
  bool col_gelu = false;
  void operator()(float* c, int64_t ldc, int64_t i0, int64_t j0, int64_t m, int64_t n) const {
    fn(arg, c, ldc, i0, j0, m, n);
  }
  // What the kernel did of the epilogue as it stored a block.
  enum class Done { kNothing, kBias, kAll };
  // After a block: the rest of the epilogue.
  void finish(Done done, float* c, int64_t ldc, int64_t i0, int64_t j0, int64_t m, int64_t n) const {
    if (done == Done::kNothing) fn(arg, c, ldc, i0, j0, m, n);
    else if (done == Done::kBias && rest) rest(arg, c, ldc, i0, j0, m, n);
  }
};
// C[M×N] = alpha · op(A) · op(B) + beta · C, row-major, op(X) = Xᵀ when trans.
// lda/ldb/ldc are row strides of the stored matrices. beta == 0 ignores C's old contents (NaNs
// included). Packed and register-blocked; AVX2+FMA chosen at run time, portable fallback.
// ctx may be nullptr (single thread). ep, when given, runs over every block of C once it is final.
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc, KernelContext* ctx,
           const GemmEpilogue* ep = nullptr);
// op(B) (K×N) packed once into the column panels the SGEMM reads (math_gemm.cpp), for a B that
// does not change between runs (constant weights: MatMul and Gemm keep it in their op state, so
// that no run packs it again). nullptr when the memory cannot be had. ctx may be nullptr.
struct PackedB;
std::shared_ptr<const PackedB> sgemm_pack_b(bool trans_b, int64_t K, int64_t N, const float* B, int64_t ldb,
                                            KernelContext* ctx);
// sgemm with B from sgemm_pack_b (its K and N): the same results, bit for bit, as sgemm of that B
// where sgemm packs (not skinny_gemm_fits).
void sgemm_packed(bool trans_a, int64_t M, float alpha, const float* A, int64_t lda, const PackedB& b, float beta,
                  float* C, int64_t ldc, KernelContext* ctx, const GemmEpilogue* ep = nullptr);
// Plain reference implementation (tests).
void sgemm_ref(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// Whether the AVX2/FMA kernels run: the CPU has both, and FLEETRT_PORTABLE is not set (which
// forces the portable code, so that tests cover it on any machine).
bool use_avx2();
// Whether the AVX-512 kernels run (SGEMM microkernel, direct convolutions): use_avx2(), the CPU has
// AVX-512 F/VL/DQ/BW, and FLEETRT_SIMD=avx2 is not set (which caps the code at AVX2, so that tests
// cover the AVX2 kernels on an AVX-512 machine).
bool use_avx512();
// A float buffer aligned as tensors are (64 bytes), freed with std::free.
struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using FloatBuf = std::unique_ptr<float, AlignedFree>;
// n floats (at least one), in whole 64-byte lines; null when out of memory.
inline FloatBuf aligned_floats(int64_t n) {
  const size_t bytes = (static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(float) + 63) / 64 * 64;
  return FloatBuf(static_cast<float*>(std::aligned_alloc(64, bytes)));
}
// n floats as aligned_floats gives them, on large pages from 4 MiB up (large_pages.h): for
// buffers that kernels stream through every run (weights prepared once per op).
FloatBuf large_floats(int64_t n);
// A buffer of at least n floats that only grows, for one kept per thread (a fresh one per call
// costs page faults); cap holds its size.
inline float* grow(FloatBuf& buf, int64_t& cap, int64_t n) {
  if (cap < n) {
    buf = aligned_floats(n);
    cap = buf ? n : 0;
  }
  return buf.get();
}
// Bytes of the largest cache level CPU 0 reports (Linux sysfs: one L3 slice, not the package's
// sum), or 8 MiB where none is reported.
int64_t last_level_cache_bytes();
// Bytes of CPU 0's L2 cache (per core on the x86 CPUs fleetrt tunes for), or 1 MiB where none is
// reported.
int64_t l2_cache_bytes();

}  // namespace ku
}  // namespace fleetrt
