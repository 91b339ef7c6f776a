// AVX-512 SGEMM microkernel (math_gemm.cpp drives it): 12 rows × 32 columns of C in 24 zmm
// registers over packed panels (2, 4 or 8 rows when the block has no more, 16 columns when the
// panel has no more). Compiled for AVX-512F by the pragma below (no special flags); the driver
// calls it only after ku::use_avx512(). No implicit contraction: FMAs only where written.
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#include <immintrin.h>

#include "math_gemm_kernels.h"
#include "simd_transpose16_avx512.h"

namespace fleetrt {
namespace ku {
namespace gemm {

namespace {

// How a kernel prefetches. kNear: B a few steps ahead into L1 (it is in L2). kFarB / kFarA: B / A
// streamed from memory (the first row panel to read each packed filter panel; Winograd's
// transformed filters), every line kFarPf floats (8 KiB) ahead into L2, as the AVX2 kernels do.
// kSide: B near, and `side` lines of another panel into L2 over the steps (1 or 2 a step).
enum Fetch { kNear, kFarB, kFarA, kSide };
constexpr int64_t kFarPf = 2048;

// R rows (of the panel's 12) × 32 columns: a short last row block (few-row products: 7 rows of a
// short-sequence encoder) does R/12 of the full block's multiply-adds. A is the packed panel
// (kMR512 values per step) or, with kRowMajorA, read where it lies: rows lda apart, rows past mr
// reading row mr − 1 again (their sums are never stored).
template <int R, bool kRowMajorA, Fetch kFetch = kNear, int V = 2>
void rows_x32(int64_t kc, const float* A, int64_t lda, const float* B, float* C, int64_t ldc, float alpha, float beta,
              int mr, int nr, const float* side = nullptr, int64_t side_lines = 0) {
  __m512 c0[R], c1[R];
  const float* a[R];
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r) {
    c0[r] = c1[r] = _mm512_setzero_ps();
    if (kRowMajorA) a[r] = A + (r < mr ? r : mr - 1) * lda;
  }
  for (int64_t k = 0; k < kc; ++k) {
    if (kFetch == kFarB) {
      _mm_prefetch(reinterpret_cast<const char*>(B + kFarPf), _MM_HINT_T1);
      if (V == 2) _mm_prefetch(reinterpret_cast<const char*>(B + kFarPf + 16), _MM_HINT_T1);
    } else if (R <= 8) {
      // Few rows: bound by streaming B from memory. Both lines of each step, 4 KiB ahead.
      _mm_prefetch(reinterpret_cast<const char*>(B + 32 * 32), _MM_HINT_T0);
      if (V == 2) _mm_prefetch(reinterpret_cast<const char*>(B + 32 * 32 + 16), _MM_HINT_T0);
    } else {
      _mm_prefetch(reinterpret_cast<const char*>(B + 8 * 32), _MM_HINT_T0);
    }
    if (kFetch == kFarA) _mm_prefetch(reinterpret_cast<const char*>(A + kFarPf), _MM_HINT_T1);  // 48 bytes a step
    if (kFetch == kSide) {
      if (k < side_lines) _mm_prefetch(reinterpret_cast<const char*>(side + 16 * k), _MM_HINT_T1);
      if (k + kc < side_lines) _mm_prefetch(reinterpret_cast<const char*>(side + 16 * (k + kc)), _MM_HINT_T1);
    }
    const __m512 b0 = _mm512_load_ps(B), b1 = V == 2 ? _mm512_load_ps(B + 16) : b0;
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      const __m512 av = _mm512_set1_ps(kRowMajorA ? a[r][k] : A[r]);
      c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
      if (V == 2) c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
    }
    if (!kRowMajorA) A += kMR512;
    B += 32;
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  const __mmask16 m0 = static_cast<__mmask16>(nr >= 16 ? 0xFFFF : (1u << nr) - 1);
  const __mmask16 m1 = static_cast<__mmask16>(nr >= 32 ? 0xFFFF : nr > 16 ? (1u << (nr - 16)) - 1 : 0);
  // over all R rows, unrolled, those past mr skipped: a loop to mr indexed the sums at run time,
  // which kept them on the stack (24 stores and loads more per call)
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r) {
    if (r >= mr) break;
    float* row = C + r * ldc;
    __m512 v0 = _mm512_mul_ps(va, c0[r]);
    if (beta != 0.f) v0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, row), v0);
    _mm512_mask_storeu_ps(row, m0, v0);
    if (V == 1) continue;
    __m512 v1 = _mm512_mul_ps(va, c1[r]);
    if (beta != 0.f) v1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, row + 16), v1);
    _mm512_mask_storeu_ps(row + 16, m1, v1);
  }
}

}  // namespace

void kernel_12x32_rowmajor_a_avx512(int64_t kc, const float* A, int64_t lda, const float* B, float* C, int64_t ldc,
                                    float alpha, float beta, int mr, int nr) {
  if (mr <= 4) return rows_x32<4, true>(kc, A, lda, B, C, ldc, alpha, beta, mr, nr);
  if (mr <= 8) return rows_x32<8, true>(kc, A, lda, B, C, ldc, alpha, beta, mr, nr);
  rows_x32<12, true>(kc, A, lda, B, C, ldc, alpha, beta, mr, nr);
}

namespace {
template <Fetch kFetch, int V>
void packed_rows(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha, float beta, int mr,
                 int nr, const float* side, int64_t side_lines) {
  if (mr <= 2) return rows_x32<2, false, kFetch, V>(kc, A, 0, B, C, ldc, alpha, beta, mr, nr, side, side_lines);
  if (mr <= 4) return rows_x32<4, false, kFetch, V>(kc, A, 0, B, C, ldc, alpha, beta, mr, nr, side, side_lines);
  if (mr <= 8) return rows_x32<8, false, kFetch, V>(kc, A, 0, B, C, ldc, alpha, beta, mr, nr, side, side_lines);
  rows_x32<12, false, kFetch, V>(kc, A, 0, B, C, ldc, alpha, beta, mr, nr, side, side_lines);
}
// Panels of 16 columns or fewer (a narrow last panel; Winograd's 16 tiles of a 7×7 plane) take
// the first vector of B alone: half the multiply-adds, the same sums.
template <Fetch kFetch>
void packed_x32(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha, float beta, int mr,
                int nr, const float* side = nullptr, int64_t side_lines = 0) {
  if (nr <= 16) return packed_rows<kFetch, 1>(kc, A, B, C, ldc, alpha, beta, mr, nr, side, side_lines);
  packed_rows<kFetch, 2>(kc, A, B, C, ldc, alpha, beta, mr, nr, side, side_lines);
}
}  // namespace

void kernel_12x32_avx512(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha, float beta,
                         int mr, int nr) {
  packed_x32<kNear>(kc, A, B, C, ldc, alpha, beta, mr, nr);
}

void kernel_12x32_stream_avx512(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha,
                                float beta, int mr, int nr) {
  packed_x32<kFarB>(kc, A, B, C, ldc, alpha, beta, mr, nr);
}

void kernel_12x32_side_avx512(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha,
                              float beta, int mr, int nr, const float* side, int64_t side_lines) {
  packed_x32<kSide>(kc, A, B, C, ldc, alpha, beta, mr, nr, side, side_lines);
}

void kernel_12x32_stream_a_avx512(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha,
                                  float beta, int mr, int nr) {
  packed_x32<kFarA>(kc, A, B, C, ldc, alpha, beta, mr, nr);
}

void pack_a12_avx512(const float* A, int64_t lda, int64_t kc, float* dst) {
  int64_t k = 0;
  for (; k + 16 <= kc; k += 16) {
    __m512 r[16], o[16];
    for (int j = 0; j < 12; ++j) r[j] = _mm512_loadu_ps(A + j * lda + k);
    for (int j = 12; j < 16; ++j) r[j] = _mm512_setzero_ps();
    transpose16x16_ps(r, o);
    for (int i = 0; i < 16; ++i) _mm512_mask_storeu_ps(dst + (k + i) * kMR512, 0x0FFF, o[i]);
  }
  for (; k < kc; ++k)
    for (int j = 0; j < 12; ++j) dst[k * kMR512 + j] = A[j * lda + k];
}

}  // namespace gemm
}  // namespace ku
}  // namespace fleetrt
