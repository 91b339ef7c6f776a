// AVX2+FMA SGEMM microkernels (this file is compiled with -mavx2 -mfma; callers check the CPU).
#include <immintrin.h>

#include <algorithm>

#include "math_gemm_kernels.h"

namespace fleetrt {
namespace ku {
namespace gemm {

void kernel_6x16_avx2(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha, float beta,
                      int mr, int nr) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
#define FLEETRT_STEP(a_off, b_off)                                      \
  {                                                                     \
    __m256 b0 = _mm256_load_ps(B + (b_off)), b1 = _mm256_load_ps(B + (b_off) + 8); \
    __m256 a = _mm256_broadcast_ss(A + (a_off) + 0);                     \
    c00 = _mm256_fmadd_ps(a, b0, c00);                                  \
    c01 = _mm256_fmadd_ps(a, b1, c01);                                  \
    a = _mm256_broadcast_ss(A + (a_off) + 1);                            \
    c10 = _mm256_fmadd_ps(a, b0, c10);                                  \
    c11 = _mm256_fmadd_ps(a, b1, c11);                                  \
    a = _mm256_broadcast_ss(A + (a_off) + 2);                            \
    c20 = _mm256_fmadd_ps(a, b0, c20);                                  \
    c21 = _mm256_fmadd_ps(a, b1, c21);                                  \
    a = _mm256_broadcast_ss(A + (a_off) + 3);                            \
    c30 = _mm256_fmadd_ps(a, b0, c30);                                  \
    c31 = _mm256_fmadd_ps(a, b1, c31);                                  \
    a = _mm256_broadcast_ss(A + (a_off) + 4);                            \
    c40 = _mm256_fmadd_ps(a, b0, c40);                                  \
    c41 = _mm256_fmadd_ps(a, b1, c41);                                  \
    a = _mm256_broadcast_ss(A + (a_off) + 5);                            \
    c50 = _mm256_fmadd_ps(a, b0, c50);                                  \
    c51 = _mm256_fmadd_ps(a, b1, c51);                                  \
  }
  int64_t k = 0;
  for (; k + 4 <= kc; k += 4) {
    _mm_prefetch(reinterpret_cast<const char*>(B + 256), _MM_HINT_T0);
    FLEETRT_STEP(0, 0)
    FLEETRT_STEP(6, 16)
    FLEETRT_STEP(12, 32)
    FLEETRT_STEP(18, 48)
    A += 24;
    B += 64;
  }
  for (; k < kc; ++k) {
    FLEETRT_STEP(0, 0)
    A += 6;
    B += 16;
  }
#undef FLEETRT_STEP
  const __m256 va = _mm256_set1_ps(alpha);
  __m256 rows[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (mr == 6 && nr == 16) {
    if (beta == 0.f) {
      for (int r = 0; r < 6; ++r) {
        _mm256_storeu_ps(C + r * ldc, _mm256_mul_ps(va, rows[r][0]));
        _mm256_storeu_ps(C + r * ldc + 8, _mm256_mul_ps(va, rows[r][1]));
      }
    } else {
      const __m256 vb = _mm256_set1_ps(beta);
      for (int r = 0; r < 6; ++r) {
        __m256 o0 = _mm256_loadu_ps(C + r * ldc), o1 = _mm256_loadu_ps(C + r * ldc + 8);
        _mm256_storeu_ps(C + r * ldc, _mm256_fmadd_ps(va, rows[r][0], _mm256_mul_ps(vb, o0)));
        _mm256_storeu_ps(C + r * ldc + 8, _mm256_fmadd_ps(va, rows[r][1], _mm256_mul_ps(vb, o1)));
      }
    }
    return;
  }
  alignas(32) float tmp[6][16];
  for (int r = 0; r < 6; ++r) {
    _mm256_store_ps(tmp[r], rows[r][0]);
    _mm256_store_ps(tmp[r] + 8, rows[r][1]);
  }
  for (int r = 0; r < mr; ++r)
    for (int c = 0; c < nr; ++c) {
      float v = alpha * tmp[r][c];
      C[r * ldc + c] = beta == 0.f ? v : v + beta * C[r * ldc + c];
    }
}

void small_m_avx2(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, bool trans_a,
                  const float* B, int64_t ldb, float beta, float* C, int64_t ldc, int64_t j0, int64_t j1) {
  for (int64_t i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    for (int64_t j = j0; j < j1; ++j) c[j] = beta == 0.f ? 0.f : beta * c[j];
    // 4 k-steps per pass over the row to cut C traffic
    int64_t k = 0;
    for (; k + 4 <= K; k += 4) {
      float a0 = alpha * (trans_a ? A[k * lda + i] : A[i * lda + k]);
      float a1 = alpha * (trans_a ? A[(k + 1) * lda + i] : A[i * lda + k + 1]);
      float a2 = alpha * (trans_a ? A[(k + 2) * lda + i] : A[i * lda + k + 2]);
      float a3 = alpha * (trans_a ? A[(k + 3) * lda + i] : A[i * lda + k + 3]);
      const float *b0 = B + k * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
      __m256 v0 = _mm256_set1_ps(a0), v1 = _mm256_set1_ps(a1), v2 = _mm256_set1_ps(a2), v3 = _mm256_set1_ps(a3);
      int64_t j = j0;
      for (; j + 8 <= j1; j += 8) {
        __m256 acc = _mm256_loadu_ps(c + j);
        acc = _mm256_fmadd_ps(v0, _mm256_loadu_ps(b0 + j), acc);
        acc = _mm256_fmadd_ps(v1, _mm256_loadu_ps(b1 + j), acc);
        acc = _mm256_fmadd_ps(v2, _mm256_loadu_ps(b2 + j), acc);
        acc = _mm256_fmadd_ps(v3, _mm256_loadu_ps(b3 + j), acc);
        _mm256_storeu_ps(c + j, acc);
      }
      for (; j < j1; ++j) c[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
    }
    for (; k < K; ++k) {
      float a = alpha * (trans_a ? A[k * lda + i] : A[i * lda + k]);
      const float* b = B + k * ldb;
      for (int64_t j = j0; j < j1; ++j) c[j] += a * b[j];
    }
  }
}

}  // namespace gemm
}  // namespace ku
}  // namespace fleetrt
