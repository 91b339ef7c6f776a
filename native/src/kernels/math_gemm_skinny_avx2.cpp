// AVX2+FMA loops of the few-row matrix products (math_gemm_skinny.h). Compiled with -mavx2 -mfma;
// F16C (every AVX2 CPU has it) is enabled here for the half-precision loads. The driver calls
// these only after checking the CPU.
#pragma GCC target("f16c")
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "math_gemm_skinny.h"
#include "simd_lanes_avx2.h"

namespace fleetrt {
namespace ku {
namespace skinny {
namespace {

// Loads of 8 consecutive B elements widened to float; `n` < 8: only the first n (rest zero).
struct F32 {
  using T = float;
  static __m256 load(const T* p) { return _mm256_loadu_ps(p); }
  static __m256 load_n(const T* p, int n) {
    return _mm256_maskload_ps(p, first_lanes8(n));
  }
  static float one(const T* p) { return *p; }
};
struct F16 {
  using T = uint16_t;
  static __m256 load(const T* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static __m256 load_n(const T* p, int n) {
    alignas(16) T t[8] = {};
    std::memcpy(t, p, static_cast<size_t>(n) * sizeof(T));
    return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(t)));
  }
  static float one(const T* p) { return _cvtsh_ss(*p); }
};
struct BF16 {
  using T = uint16_t;
  static __m256 widen(__m128i h) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)); }
  static __m256 load(const T* p) { return widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static __m256 load_n(const T* p, int n) {
    alignas(16) T t[8] = {};
    std::memcpy(t, p, static_cast<size_t>(n) * sizeof(T));
    return widen(_mm_load_si128(reinterpret_cast<const __m128i*>(t)));
  }
  static float one(const T* p) {
    uint32_t u = static_cast<uint32_t>(*p) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
};

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// ---- NN: B is K×N; four rows of B stream through while a chunk of C (M × wc) stays in L1.

// c[0:n] += Σ_q x_q · b_q[0:n] for the four B rows (R = 1 or 2 rows of C at once).
template <class L, int R>
inline void nn_rows(const float* a, int64_t lda, const typename L::T* const b[4], int64_t n, float* c, int64_t ldc) {
  __m256 x[R][4];
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < 4; ++q) x[r][q] = _mm256_broadcast_ss(a + r * lda + q);
  const int64_t n8 = n / 8 * 8;
  for (int64_t j = 0; j < n8; j += 8) {
    const __m256 v0 = L::load(b[0] + j), v1 = L::load(b[1] + j), v2 = L::load(b[2] + j), v3 = L::load(b[3] + j);
    for (int r = 0; r < R; ++r) {
      __m256 s = _mm256_loadu_ps(c + r * ldc + j);
      s = _mm256_fmadd_ps(x[r][0], v0, s);
      s = _mm256_fmadd_ps(x[r][1], v1, s);
      s = _mm256_fmadd_ps(x[r][2], v2, s);
      s = _mm256_fmadd_ps(x[r][3], v3, s);
      _mm256_storeu_ps(c + r * ldc + j, s);
    }
  }
  for (int64_t j = n8; j < n; ++j)
    for (int r = 0; r < R; ++r) {
      float s = c[r * ldc + j];
      for (int q = 0; q < 4; ++q) s = std::fma(a[r * lda + q], L::one(b[q] + j), s);
      c[r * ldc + j] = s;
    }
}

template <class L>
void nn(int64_t M, int64_t K, int64_t w, const float* A, int64_t lda, const typename L::T* B, int64_t ldb, float* C,
        int64_t ldc) {
  // C chunk ≤ 16 KiB: with four B rows of the same width it stays in L1 across the k loop. One
  // or two rows (a decode step) take 32 KiB, so that a thread reads B's rows of up to 8192 floats
  // whole, in memory order (a 512 × 8192 lm_head went from 430 to 260 µs on 2 threads).
  const int64_t wc = std::max<int64_t>(64, (M <= 2 ? 8192 : 4096) / std::max<int64_t>(M, 1) / 8 * 8);
  for (int64_t j0 = 0; j0 < w; j0 += wc) {
    const int64_t n = std::min(wc, w - j0);
    // B's rows are read in segments that start where the hardware prefetchers have no stream yet:
    // fetch the segments `ahead` rows down (about 8 KiB ahead of the loads), of a long segment
    // only its first 2 KiB, from where the prefetchers carry on (fetching all of four 16 KiB
    // segments ahead overran the L1 cache and its fill buffers).
    const int64_t seg = n * static_cast<int64_t>(sizeof(typename L::T));
    const int64_t ahead = std::max<int64_t>(4, (8192 / std::max<int64_t>(seg, 1) + 3) / 4 * 4);
    const int64_t fetch = std::min<int64_t>(seg, 2048);
    int64_t k = 0;
    for (; k + 4 <= K; k += 4) {
      if (k + ahead < K)
        for (int64_t q = k + ahead; q < std::min(K, k + ahead + 4); ++q) {
          const char* p = reinterpret_cast<const char*>(B + q * ldb + j0);
          for (int64_t o = 0; o < fetch; o += 64) _mm_prefetch(p + o, _MM_HINT_T0);
        }
      const typename L::T* b[4] = {B + k * ldb + j0, B + (k + 1) * ldb + j0, B + (k + 2) * ldb + j0,
                                   B + (k + 3) * ldb + j0};
      int64_t r = 0;
      for (; r + 2 <= M; r += 2) nn_rows<L, 2>(A + r * lda + k, lda, b, n, C + r * ldc + j0, ldc);
      if (r < M) nn_rows<L, 1>(A + r * lda + k, lda, b, n, C + r * ldc + j0, ldc);
    }
    for (; k < K; ++k) {
      const typename L::T* b = B + k * ldb + j0;
      for (int64_t r = 0; r < M; ++r) {
        const __m256 x = _mm256_broadcast_ss(A + r * lda + k);
        float* c = C + r * ldc + j0;
        int64_t j = 0;
        for (; j + 8 <= n; j += 8) _mm256_storeu_ps(c + j, _mm256_fmadd_ps(x, L::load(b + j), _mm256_loadu_ps(c + j)));
        for (; j < n; ++j) c[j] = std::fma(A[r * lda + k], L::one(b + j), c[j]);
      }
    }
  }
}

// ---- NT: B is N×K; NB rows of B against R rows of A, each a dot product over k.

// next: where given, the same rows' values of the next block of NB rows of B are fetched into L1
// (a line per row every 64 bytes of k), one block ahead of the loads.
template <class L, int R, int NB>
inline void nt_block(int64_t K, const float* A, int64_t lda, const typename L::T* B, int64_t ldb, float* C,
                     int64_t ldc, const typename L::T* next = nullptr) {
  __m256 acc[R][NB];
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < NB; ++q) acc[r][q] = _mm256_setzero_ps();
  const int64_t k8 = K / 8 * 8;
  constexpr int64_t kLine = 64 / sizeof(typename L::T);
  for (int64_t k = 0; k < k8; k += 8) {
    if (next && k % kLine == 0)
      for (int q = 0; q < NB; ++q) _mm_prefetch(reinterpret_cast<const char*>(next + q * ldb + k), _MM_HINT_T0);
    __m256 a[R];
    for (int r = 0; r < R; ++r) a[r] = _mm256_loadu_ps(A + r * lda + k);
    for (int q = 0; q < NB; ++q) {
      const __m256 v = L::load(B + q * ldb + k);
      for (int r = 0; r < R; ++r) acc[r][q] = _mm256_fmadd_ps(a[r], v, acc[r][q]);
    }
  }
  if (k8 < K) {
    const int rest = static_cast<int>(K - k8);
    __m256 a[R];
    for (int r = 0; r < R; ++r) a[r] = F32::load_n(A + r * lda + k8, rest);
    for (int q = 0; q < NB; ++q) {
      const __m256 v = L::load_n(B + q * ldb + k8, rest);
      for (int r = 0; r < R; ++r) acc[r][q] = _mm256_fmadd_ps(a[r], v, acc[r][q]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < NB; ++q) C[r * ldc + q] += hsum(acc[r][q]);
}

template <class L, int NB>
void nt_rows(int64_t M, int64_t K, const float* A, int64_t lda, const typename L::T* B, int64_t ldb, float* C,
             int64_t ldc, const typename L::T* next = nullptr) {
  int64_t r = 0;
  for (; r + 3 <= M; r += 3) nt_block<L, 3, NB>(K, A + r * lda, lda, B, ldb, C + r * ldc, ldc, r == 0 ? next : nullptr);
  if (M - r == 2) nt_block<L, 2, NB>(K, A + r * lda, lda, B, ldb, C + r * ldc, ldc);
  if (M - r == 1) nt_block<L, 1, NB>(K, A + r * lda, lda, B, ldb, C + r * ldc, ldc);
}

template <class L>
void nt(int64_t M, int64_t K, int64_t w, const float* A, int64_t lda, const typename L::T* B, int64_t ldb, float* C,
        int64_t ldc) {
  int64_t n = 0;
  if (M == 1)
    for (; n + 8 <= w; n += 8) nt_block<L, 1, 8>(K, A, lda, B + n * ldb, ldb, C + n, ldc);
  // 3 rows and more: blocks of 4 rows of B, each fetching the next (its rows are short streams
  // that the hardware prefetchers catch late: 7 rows against BERT-base's weights as N×K, 2
  // threads, Zen 3, fleetrt_stream_bench few-rows alternated with the build without, 3 rounds:
  // 47–62% → 64–75% of memcpy)
  for (; n + 4 <= w; n += 4)
    nt_rows<L, 4>(M, K, A, lda, B + n * ldb, ldb, C + n, ldc, M >= 3 && n + 8 <= w ? B + (n + 4) * ldb : nullptr);
  for (; n < w; ++n) nt_rows<L, 1>(M, K, A, lda, B + n * ldb, ldb, C + n, ldc);
}

}  // namespace

void nn_avx2(WeightType bt, int64_t M, int64_t K, int64_t w, const float* A, int64_t lda, const void* b, int64_t ldb,
             float* C, int64_t ldc) {
  with_weights<F32, F16, BF16>(bt, b, [&](auto l, auto bp) { nn<decltype(l)>(M, K, w, A, lda, bp, ldb, C, ldc); });
}

void nt_avx2(WeightType bt, int64_t M, int64_t K, int64_t w, const float* A, int64_t lda, const void* b, int64_t ldb,
             float* C, int64_t ldc) {
  with_weights<F32, F16, BF16>(bt, b, [&](auto l, auto bp) { nt<decltype(l)>(M, K, w, A, lda, bp, ldb, C, ldc); });
}

}  // namespace skinny
}  // namespace ku
}  // namespace fleetrt
