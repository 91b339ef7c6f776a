// AVX2+FMA SGEMM microkernels (this file is compiled with -mavx2 -mfma; callers check the CPU).
#include <immintrin.h>

#include <algorithm>

#include "math_gemm_kernels.h"
#include "simd_transpose8_avx2.h"

namespace fleetrt {
namespace ku {
namespace gemm {

namespace {
// How a kernel prefetches B. kNear: this many floats (1 KiB) ahead, a line every four steps, for
// B in cache (L2). kFar: where B streams from memory (few rows against panels packed once, the
// first row panel of each), every line kFarPf floats (8 KiB) ahead into L2: the near distance
// there did worse than none (BERT-base at sequence 7, 2 threads, Zen 3: 25.1 → 20.9 ms without),
// while 8 KiB ahead beats none by 6–8% (the same model, scripts/bench/ab.ts; 6–12 KiB alike).
// kNearFarA: B near, and A (Winograd's transformed filters, streamed from memory on the first
// tile panel) 8 KiB ahead into L2.
enum Fetch { kNear, kFar, kNearFarA };
constexpr int64_t kPf = 256;
constexpr int64_t kFarPf = 2048;

// Fewer than 6 rows of A's panel (still packed 6 values per k): only those rows' products, in U
// sets of sums taken over alternate steps, so that there are 8 or more chains of multiply-adds
// to keep both FMA pipes busy through their latency (one row alone would run at a quarter of
// the rate).
template <int MR, int U, Fetch kFetch>
void kernel_rows_x16(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha, float beta,
                     int nr, const float* bias) {
  __m256 acc[U][MR][2];
  for (int u = 0; u < U; ++u)
    for (int r = 0; r < MR; ++r) acc[u][r][0] = acc[u][r][1] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + U <= kc; k += U) {
    if (kFetch != kFar && (k & 3) < U) _mm_prefetch(reinterpret_cast<const char*>(B + k * 16 + kPf), _MM_HINT_T0);
    for (int u = 0; u < U; ++u) {
      if (kFetch == kFar) _mm_prefetch(reinterpret_cast<const char*>(B + (k + u) * 16 + kFarPf), _MM_HINT_T1);
      const __m256 b0 = _mm256_load_ps(B + (k + u) * 16), b1 = _mm256_load_ps(B + (k + u) * 16 + 8);
      for (int r = 0; r < MR; ++r) {
        const __m256 a = _mm256_broadcast_ss(A + (k + u) * 6 + r);
        acc[u][r][0] = _mm256_fmadd_ps(a, b0, acc[u][r][0]);
        acc[u][r][1] = _mm256_fmadd_ps(a, b1, acc[u][r][1]);
      }
    }
  }
  for (; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(B + k * 16), b1 = _mm256_load_ps(B + k * 16 + 8);
    for (int r = 0; r < MR; ++r) {
      const __m256 a = _mm256_broadcast_ss(A + k * 6 + r);
      acc[0][r][0] = _mm256_fmadd_ps(a, b0, acc[0][r][0]);
      acc[0][r][1] = _mm256_fmadd_ps(a, b1, acc[0][r][1]);
    }
  }
  for (int u = 1; u < U; ++u)
    for (int r = 0; r < MR; ++r) {
      acc[0][r][0] = _mm256_add_ps(acc[0][r][0], acc[u][r][0]);
      acc[0][r][1] = _mm256_add_ps(acc[0][r][1], acc[u][r][1]);
    }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  if (nr == 16) {
    for (int r = 0; r < MR; ++r)
      for (int h = 0; h < 2; ++h) {
        float* c = C + r * ldc + 8 * h;
        const __m256 v = _mm256_mul_ps(va, acc[0][r][h]);
        const __m256 out = beta == 0.f ? v : _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), v);
        _mm256_storeu_ps(c, bias ? _mm256_add_ps(out, _mm256_loadu_ps(bias + 8 * h)) : out);
      }
    return;
  }
  alignas(32) float tmp[MR][16];
  for (int r = 0; r < MR; ++r) {
    _mm256_store_ps(tmp[r], acc[0][r][0]);
    _mm256_store_ps(tmp[r] + 8, acc[0][r][1]);
  }
  for (int r = 0; r < MR; ++r)
    for (int c = 0; c < nr; ++c) {
      const float v = alpha * tmp[r][c];
      const float out = beta == 0.f ? v : v + beta * C[r * ldc + c];
      C[r * ldc + c] = bias ? out + bias[c] : out;
    }
}

// kBias: the bias at the stores compiled in only where given (one function for both made GCC keep
// an accumulator on the stack inside the loop over k, objdump shows, in some layouts of this file).
template <Fetch kFetch, bool kBias>
void kernel_6x16(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha, float beta, int mr,
                 int nr, const float* bias) {
  if (!kBias) bias = nullptr;
  switch (mr) {
    case 1: return kernel_rows_x16<1, 4, kFetch>(kc, A, B, C, ldc, alpha, beta, nr, bias);
    case 2: return kernel_rows_x16<2, 2, kFetch>(kc, A, B, C, ldc, alpha, beta, nr, bias);
    case 3: return kernel_rows_x16<3, 2, kFetch>(kc, A, B, C, ldc, alpha, beta, nr, bias);
    case 4: return kernel_rows_x16<4, 1, kFetch>(kc, A, B, C, ldc, alpha, beta, nr, bias);
    case 5: return kernel_rows_x16<5, 1, kFetch>(kc, A, B, C, ldc, alpha, beta, nr, bias);
    default: break;
  }
  // C's 6 rows into L1 while the products run: they lie a row of C apart (another page for
  // BERT-base's 768 and 3072 columns), read back after every depth block but the first, and
  // would otherwise stall the stores at the end
  for (int r = 0; r < 6; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(C + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(C + r * ldc + 15), _MM_HINT_T0);
  }
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
    if (kFetch != kFar) _mm_prefetch(reinterpret_cast<const char*>(B + kPf), _MM_HINT_T0);
    if (kFetch == kFar)
      for (int l = 0; l < 4; ++l) _mm_prefetch(reinterpret_cast<const char*>(B + kFarPf + 16 * l), _MM_HINT_T1);
    FLEETRT_STEP(0, 0)
    FLEETRT_STEP(6, 16)
    FLEETRT_STEP(12, 32)
    FLEETRT_STEP(18, 48)
    if (kFetch == kNearFarA) {  // A advances 96 bytes per four steps
      _mm_prefetch(reinterpret_cast<const char*>(A + kFarPf), _MM_HINT_T1);
      _mm_prefetch(reinterpret_cast<const char*>(A + kFarPf + 16), _MM_HINT_T1);
    }
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
    const __m256 vb = _mm256_set1_ps(beta);
    for (int r = 0; r < 6; ++r)
      for (int h = 0; h < 2; ++h) {
        float* c = C + r * ldc + 8 * h;
        const __m256 out = beta == 0.f ? _mm256_mul_ps(va, rows[r][h])
                                       : _mm256_fmadd_ps(va, rows[r][h], _mm256_mul_ps(vb, _mm256_loadu_ps(c)));
        _mm256_storeu_ps(c, bias ? _mm256_add_ps(out, _mm256_loadu_ps(bias + 8 * h)) : out);
      }
    return;
  }
  alignas(32) float tmp[6][16];
  for (int r = 0; r < 6; ++r) {
    _mm256_store_ps(tmp[r], rows[r][0]);
    _mm256_store_ps(tmp[r] + 8, rows[r][1]);
  }
  // (written out here as in kernel_rows_x16: a shared helper made GCC spill an accumulator in
  // the loop over k)
  for (int r = 0; r < mr; ++r)
    for (int c = 0; c < nr; ++c) {
      const float v = alpha * tmp[r][c];
      const float out = beta == 0.f ? v : v + beta * C[r * ldc + c];
      C[r * ldc + c] = bias ? out + bias[c] : out;
    }
}

}  // namespace

void transpose6_avx2(const float* src, int64_t lds, int64_t n, float* dst, int64_t ldd) {
  int64_t c = 0;
  for (; c + 8 <= n; c += 8) {
    __m256 r[6];
    for (int j = 0; j < 6; ++j) r[j] = _mm256_loadu_ps(src + j * lds + c);
    // pairs of rows interleaved: per 128-bit lane, columns 0–1 (lo) and 2–3 (hi) of rows 0/1, 2/3, 4/5
    const __m256 lo01 = _mm256_unpacklo_ps(r[0], r[1]), hi01 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 lo23 = _mm256_unpacklo_ps(r[2], r[3]), hi23 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 lo45 = _mm256_unpacklo_ps(r[4], r[5]), hi45 = _mm256_unpackhi_ps(r[4], r[5]);
    // rows 0–3 of one column per lane: columns 0..3 in the low lanes, 4..7 in the high ones
    const __m256 s[4] = {_mm256_shuffle_ps(lo01, lo23, 0x44), _mm256_shuffle_ps(lo01, lo23, 0xEE),
                         _mm256_shuffle_ps(hi01, hi23, 0x44), _mm256_shuffle_ps(hi01, hi23, 0xEE)};
    const __m256 p45[2] = {lo45, hi45};
    for (int h = 0; h < 2; ++h)
      for (int i = 0; i < 4; ++i) {
        float* d = dst + (c + 4 * h + i) * ldd;
        const __m128 rows03 = h ? _mm256_extractf128_ps(s[i], 1) : _mm256_castps256_ps128(s[i]);
        const __m256 q = p45[i / 2];
        const __m128 rows45 = h ? _mm256_extractf128_ps(q, 1) : _mm256_castps256_ps128(q);
        _mm_storeu_ps(d, rows03);
        if (i % 2 == 0) _mm_storel_pi(reinterpret_cast<__m64*>(d + 4), rows45);
        else _mm_storeh_pi(reinterpret_cast<__m64*>(d + 4), rows45);
      }
  }
  for (; c < n; ++c)
    for (int j = 0; j < 6; ++j) dst[c * ldd + j] = src[j * lds + c];
}

void pack_b16_trans_avx2(const float* B, int64_t ldb, int64_t kc, float* dst) {
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8)  // columns 8h..8h+7 (rows of B), steps k..k+7: an 8×8 transpose
    for (int h = 0; h < 2; ++h) t8x8(B + 8 * h * ldb + k, ldb, dst + k * 16 + 8 * h, 16);
  for (; k < kc; ++k)
    for (int c = 0; c < 16; ++c) dst[k * 16 + c] = B[c * ldb + k];
}

void kernel_6x16_avx2(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha, float beta,
                      int mr, int nr) {
  kernel_6x16<kNear, false>(kc, A, B, C, ldc, alpha, beta, mr, nr, nullptr);
}

void kernel_6x16_bias_avx2(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha, float beta,
                           int mr, int nr, const float* bias) {
  if (bias) kernel_6x16<kNear, true>(kc, A, B, C, ldc, alpha, beta, mr, nr, bias);
  else kernel_6x16<kNear, false>(kc, A, B, C, ldc, alpha, beta, mr, nr, nullptr);
}

void kernel_6x16_stream_bias_avx2(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha,
                                  float beta, int mr, int nr, const float* bias) {
  if (bias) kernel_6x16<kFar, true>(kc, A, B, C, ldc, alpha, beta, mr, nr, bias);
  else kernel_6x16<kFar, false>(kc, A, B, C, ldc, alpha, beta, mr, nr, nullptr);
}

void kernel_6x16_stream_avx2(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha,
                             float beta, int mr, int nr) {
  kernel_6x16<kFar, false>(kc, A, B, C, ldc, alpha, beta, mr, nr, nullptr);
}

void kernel_6x16_stream_a_avx2(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha,
                               float beta, int mr, int nr) {
  kernel_6x16<kNearFarA, false>(kc, A, B, C, ldc, alpha, beta, mr, nr, nullptr);
}

}  // namespace gemm
}  // namespace ku
}  // namespace fleetrt
