// Internal: matrix products with few rows (decode steps, short sequences), C[M×N] = alpha·op(A)·op(B)
// + beta·C with M small and B large (usually the weights). They are bound by reading B, so B is read
// exactly once, straight from where it lies (no packing), by all threads, each taking a range of
// N. B may be float32, float16 or bfloat16: half-precision weights are widened in registers and
// move half the bytes. math_gemm_skinny.cpp drives; the AVX-512 loops (up to 8 rows) are in
// math_gemm_skinny_avx512.cpp, the AVX2+FMA(+F16C) ones in math_gemm_skinny_avx2.cpp, the portable
// ones in the driver.
#pragma once
#include <cstdint>

#include "fleetrt/kernel.h"

namespace fleetrt {
namespace ku {

enum class WeightType { kF32, kF16, kBF16 };

// Bytes of B from which a product bound by reading B splits it over the threads whatever its rows:
// below, waking a worker costs more than streaming B alone (the few-row loops here, and the SGEMM
// with few rows against a B packed once).
constexpr int64_t kStreamSplitMinBytes = int64_t{256} << 10;

// Whether skinny_gemm is the better choice for this shape: up to 8 rows, and up to 64 for an N×K
// (trans_b) B of 256 KiB or more.
bool skinny_gemm_fits(int64_t M, int64_t N, int64_t K, bool trans_b);

// C = alpha·op(A)·op(B) + beta·C. A is M×K (or K×M with trans_a) float32, row stride lda; B is
// K×N (or N×K with trans_b) of `bt`, row stride ldb; C is M×N, row stride ldc. beta == 0 ignores C.
// ctx may be nullptr (one thread).
void skinny_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const void* B, WeightType bt, int64_t ldb, float beta, float* C, int64_t ldc, KernelContext* ctx);

namespace skinny {

// fn(L{}, b as const L::T*) with L the loader of B's type (each instruction-set file's own F32,
// F16 and BF16): the one switch over the weight type behind every loop's entry point.
template <class F32, class F16, class BF16, class Fn>
inline void with_weights(WeightType bt, const void* b, Fn&& fn) {
  switch (bt) {
    case WeightType::kF32: return fn(F32{}, static_cast<const typename F32::T*>(b));
    case WeightType::kF16: return fn(F16{}, static_cast<const typename F16::T*>(b));
    case WeightType::kBF16: return fn(BF16{}, static_cast<const typename BF16::T*>(b));
  }
}

// Microkernels over one range of N. A is M×K float32, row-major with row stride lda (already
// alpha-scaled and untransposed by the driver). C is accumulated into (the driver initialises it).
//   nn: B is K×N at b (pointing at the range's first column), C[M × w] += A · B[:, 0:w]
//   nt: B is N×K at b (pointing at the range's first row),    C[M × w] += A · B[0:w, :]ᵀ
void nn_avx2(WeightType bt, int64_t M, int64_t K, int64_t w, const float* A, int64_t lda, const void* b,
             int64_t ldb, float* C, int64_t ldc);
void nt_avx2(WeightType bt, int64_t M, int64_t K, int64_t w, const float* A, int64_t lda, const void* b,
             int64_t ldb, float* C, int64_t ldc);
// nn with AVX-512 (math_gemm_skinny_avx512.cpp), for up to 8 rows: all rows in one pass over B.
void nn_avx512(WeightType bt, int64_t M, int64_t K, int64_t w, const float* A, int64_t lda, const void* b,
               int64_t ldb, float* C, int64_t ldc);
// nt with AVX-512 (math_gemm_skinny_avx512.cpp), for up to 8 rows: one pass over B.
void nt_avx512(WeightType bt, int64_t M, int64_t K, int64_t w, const float* A, int64_t lda, const void* b,
               int64_t ldb, float* C, int64_t ldc);

}  // namespace skinny
}  // namespace ku
}  // namespace fleetrt
