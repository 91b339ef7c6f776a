// AVX-512 loops of the few-row products (math_gemm_skinny.h), float32, float16 or bfloat16 B: up
// to 8 rows of A in one pass over B, so that the loads that miss the caches are spread evenly over
// the multiply-adds (the AVX2 loops' several passes over each block of B leave memory idle during
// the later ones). Compiled for AVX-512F by the pragma below; the driver calls them only after
// ku::use_avx512(). No implicit contraction: FMAs only where written.
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#include <immintrin.h>

#include <algorithm>
#include <type_traits>

#include "math_gemm_skinny.h"
#include "simd_lanes_avx512.h"

namespace fleetrt {
namespace ku {
namespace skinny {
namespace {

// Loads of 16 consecutive B elements widened to float; the masked form reads only the lanes in m.
struct F32 {
  using T = float;
  static __m512 load(const T* p) { return _mm512_loadu_ps(p); }
  static __m512 load(const T* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
};
struct F16 {
  using T = uint16_t;
  static __m512 load(const T* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static __m512 load(const T* p, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }
};
struct BF16 {
  using T = uint16_t;
  static __m512 widen(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
  static __m512 load(const T* p) { return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static __m512 load(const T* p, __mmask16 m) { return widen(_mm256_maskz_loadu_epi16(m, p)); }
};

// fn(r, std::integral_constant<int, R>) for the blocks of up to 8 rows starting at r.
template <class Fn>
void by_row_blocks(int64_t M, Fn fn) {
  using std::integral_constant;
  for (int64_t r = 0; r < M; r += 8) switch (std::min<int64_t>(8, M - r)) {
      case 1: fn(r, integral_constant<int, 1>{}); break;
      case 2: fn(r, integral_constant<int, 2>{}); break;
      case 3: fn(r, integral_constant<int, 3>{}); break;
      case 4: fn(r, integral_constant<int, 4>{}); break;
      case 5: fn(r, integral_constant<int, 5>{}); break;
      case 6: fn(r, integral_constant<int, 6>{}); break;
      case 7: fn(r, integral_constant<int, 7>{}); break;
      default: fn(r, integral_constant<int, 8>{}); break;
    }
}

// ---- NT: B is N×K. R rows of A against NB rows of B, each a dot product over k.

// Each B row is its own short stream (3 KiB for K = 768) that the hardware prefetchers pick up
// late; fetching every row this many elements ahead, and the next block's rows at the end of
// these, keeps memory busy (M = 7 against BERT-base's weights: 15.9 → 12.6 ms on 2 threads).
constexpr int64_t kPrefetchAhead = 256;

template <class L, int R, int NB>
inline void nt_block(int64_t K, const float* A, int64_t lda, const typename L::T* B, int64_t ldb, float* C,
                     int64_t ldc) {
  __m512 acc[R][NB];
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < NB; ++q) acc[r][q] = _mm512_setzero_ps();
  const int64_t k16 = K / 16 * 16;
  for (int64_t k = 0; k < k16; k += 16) {
    const int64_t p = k + kPrefetchAhead;
    const typename L::T* ahead = p < K ? B + p : B + NB * ldb + (p - K);
    for (int q = 0; q < NB; ++q) _mm_prefetch(reinterpret_cast<const char*>(ahead + q * ldb), _MM_HINT_T0);
    __m512 v[NB];
    for (int q = 0; q < NB; ++q) v[q] = L::load(B + q * ldb + k);
    for (int r = 0; r < R; ++r) {
      const __m512 a = _mm512_loadu_ps(A + r * lda + k);
      for (int q = 0; q < NB; ++q) acc[r][q] = _mm512_fmadd_ps(a, v[q], acc[r][q]);
    }
  }
  if (k16 < K) {
    const __mmask16 m = first_lanes(K - k16);
    __m512 v[NB];
    for (int q = 0; q < NB; ++q) v[q] = L::load(B + q * ldb + k16, m);
    for (int r = 0; r < R; ++r) {
      const __m512 a = _mm512_maskz_loadu_ps(m, A + r * lda + k16);
      for (int q = 0; q < NB; ++q) acc[r][q] = _mm512_fmadd_ps(a, v[q], acc[r][q]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < NB; ++q) C[r * ldc + q] += _mm512_reduce_add_ps(acc[r][q]);
}

template <class L, int R>
void nt_rows(int64_t K, int64_t w, const float* A, int64_t lda, const typename L::T* B, int64_t ldb, float* C,
             int64_t ldc) {
  constexpr int NB = R <= 2 ? 8 : R <= 4 ? 4 : 3;
  int64_t n = 0;
  for (; n + NB <= w; n += NB) nt_block<L, R, NB>(K, A, lda, B + n * ldb, ldb, C + n, ldc);
  for (; n < w; ++n) nt_block<L, R, 1>(K, A, lda, B + n * ldb, ldb, C + n, ldc);
}

template <class L>
void nt(int64_t M, int64_t K, int64_t w, const float* A, int64_t lda, const typename L::T* B, int64_t ldb, float* C,
        int64_t ldc) {
  by_row_blocks(M, [&](int64_t r, auto rows) {
    nt_rows<L, decltype(rows)::value>(K, w, A + r * lda, lda, B, ldb, C + r * ldc, ldc);
  });
}

// ---- NN: B is K×N. A chunk of C (all rows × wc columns) stays in L1 while B's rows stream
// through four at a time; every row of C is updated in the same pass (the AVX2 loop takes two rows
// per pass), and each step prefetches the same columns of the B rows about 8 KiB further on, one
// line per line read. 7 rows against BERT-base's K×N weights, 2 threads: 8–13 → 19.5–21 GB/s.
constexpr int64_t kAheadBytes = 8192;

template <class L, int R>
void nn_rows(int64_t K, int64_t w, const float* A, int64_t lda, const typename L::T* B, int64_t ldb, float* C,
             int64_t ldc) {
  const int64_t wc = std::max<int64_t>(64, 4096 / R / 16 * 16);
  for (int64_t j0 = 0; j0 < w; j0 += wc) {
    const int64_t n = std::min(wc, w - j0);
    const int64_t seg = n * static_cast<int64_t>(sizeof(typename L::T));
    const int64_t ahead = std::max<int64_t>(4, (kAheadBytes / std::max<int64_t>(seg, 1) + 3) / 4 * 4);
    for (int64_t k = 0; k < K; k += 4) {
      const int kq = static_cast<int>(std::min<int64_t>(4, K - k));
      const typename L::T* b[4];
      for (int q = 0; q < 4; ++q) b[q] = B + (k + std::min(q, kq - 1)) * ldb + j0;
      float a[R][4];
      for (int r = 0; r < R; ++r)
        for (int q = 0; q < 4; ++q) a[r][q] = q < kq ? A[r * lda + k + q] : 0.f;
      const bool fetch = k + ahead + 4 <= K;
      for (int64_t j = 0; j < n; j += 16) {
        const __mmask16 m = first_lanes(n - j);
        if (fetch)
          for (int q = 0; q < 4; ++q) _mm_prefetch(reinterpret_cast<const char*>(b[q] + ahead * ldb + j), _MM_HINT_T0);
        __m512 v[4];
        for (int q = 0; q < 4; ++q) v[q] = L::load(b[q] + j, m);
        for (int r = 0; r < R; ++r) {
          float* c = C + r * ldc + j0 + j;
          __m512 s = _mm512_maskz_loadu_ps(m, c);
          for (int q = 0; q < 4; ++q) s = _mm512_fmadd_ps(_mm512_set1_ps(a[r][q]), v[q], s);
          _mm512_mask_storeu_ps(c, m, s);
        }
      }
    }
  }
}

template <class L>
void nn(int64_t M, int64_t K, int64_t w, const float* A, int64_t lda, const typename L::T* B, int64_t ldb, float* C,
        int64_t ldc) {
  by_row_blocks(M, [&](int64_t r, auto rows) {
    nn_rows<L, decltype(rows)::value>(K, w, A + r * lda, lda, B, ldb, C + r * ldc, ldc);
  });
}

}  // namespace

void nn_avx512(WeightType bt, int64_t M, int64_t K, int64_t w, const float* A, int64_t lda, const void* b,
               int64_t ldb, float* C, int64_t ldc) {
  with_weights<F32, F16, BF16>(bt, b, [&](auto l, auto bp) { nn<decltype(l)>(M, K, w, A, lda, bp, ldb, C, ldc); });
}

void nt_avx512(WeightType bt, int64_t M, int64_t K, int64_t w, const float* A, int64_t lda, const void* b,
               int64_t ldb, float* C, int64_t ldc) {
  with_weights<F32, F16, BF16>(bt, b, [&](auto l, auto bp) { nt<decltype(l)>(M, K, w, A, lda, bp, ldb, C, ldc); });
}

}  // namespace skinny
}  // namespace ku
}  // namespace fleetrt
