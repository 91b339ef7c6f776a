// AVX2+FMA SGEMM microkernels (this file is compiled with -mavx2 -mfma; callers check the CPU).
#include <immintrin.h>

#include <algorithm>

#include "math_gemm_kernels.h"
#include "math_vexp_avx2.h"
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

// C's rows into L1 while the products run: they lie a row of C apart (another page for
// BERT-base's 768 and 3072 columns), read back after every depth block but the first, and would
// otherwise stall the stores at the end. Out of line: inlined, it made GCC keep one of the 6-row
// kernel's sums in memory (93 against 100 GFLOP/s).
__attribute__((noinline)) void prefetch_rows(const float* C, int64_t ldc, int rows) {
  for (int r = 0; r < rows; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(C + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(C + r * ldc + 15), _MM_HINT_T0);
  }
}

// GELU of 8 sums as the kernel stores them. Out of line: inlined, its constants made GCC keep two
// of the 6-row kernel's sums in memory through the loop over k.
__attribute__((noinline)) __m256 gelu_store(__m256 y) { return vexp_detail::gelu8(y); }

// MR rows of A's panel (packed 6 values per k; fewer than 6 at the bottom of a product) by 16
// columns: the sums of each row in U sets taken over alternate steps, so that there are 8 or
// more chains of multiply-adds to keep both FMA pipes busy through their latency (one row alone
// would run at a quarter of the rate). Every loop is unrolled by pragma, the scalar tail's too:
// otherwise GCC 12 keeps the sums in memory, a store and a load per multiply-add (3–5 rows ran at
// 30–40 GFLOP/s on Zen 3), or shuffles registers in the loop over k. Kept out of line: inlined
// into the dispatch below, with GELU, its sums went to memory again. Zen 3, one thread, A and B
// in cache (fleetrt_gemm_bench --kernel): 6 rows 100 GFLOP/s (97% of the FMA peak; the
// hand-scheduled kernel with named sums this replaced: 93), 3–5 rows 98–100, 2 rows 64, 1 row 58.
// bias: added at the stores where not nullptr (a test per store: with the no-bias case compiled
// out, GCC's registers for the loop over k came out worse, 93 against 100 GFLOP/s). kGelu: GELU
// after the bias, in registers, on full 16-column blocks only (the driver's choice).
template <int MR, int U, Fetch kFetch, bool kGelu>
__attribute__((noinline)) void kernel_x16(int64_t kc, const float* A, const float* B, float* C, int64_t ldc,
                                          float alpha, float beta, int nr, const float* bias) {
  prefetch_rows(C, ldc, MR);
  __m256 acc[U][MR][2];
#pragma GCC unroll 16
  for (int u = 0; u < U; ++u)
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) acc[u][r][0] = acc[u][r][1] = _mm256_setzero_ps();
  // steps per iteration (step s into set s % U): four, two for 5 rows (with four, GCC spills a
  // sum there)
  constexpr int kSteps = MR == 5 ? 2 : 4;
  static_assert(kSteps % U == 0, "whole sets per iteration");
  int64_t k = 0;
  for (; k + kSteps <= kc; k += kSteps) {
    if ((k & 3) == 0) {
      if (kFetch != kFar) _mm_prefetch(reinterpret_cast<const char*>(B + k * 16 + kPf), _MM_HINT_T0);
      if (kFetch == kNearFarA) {  // A advances 96 bytes per four steps
        _mm_prefetch(reinterpret_cast<const char*>(A + k * 6 + kFarPf), _MM_HINT_T1);
        _mm_prefetch(reinterpret_cast<const char*>(A + k * 6 + kFarPf + 16), _MM_HINT_T1);
      }
    }
#pragma GCC unroll 4
    for (int s = 0; s < kSteps; ++s) {
      if (kFetch == kFar) _mm_prefetch(reinterpret_cast<const char*>(B + (k + s) * 16 + kFarPf), _MM_HINT_T1);
      const __m256 b0 = _mm256_load_ps(B + (k + s) * 16), b1 = _mm256_load_ps(B + (k + s) * 16 + 8);
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        const __m256 a = _mm256_broadcast_ss(A + (k + s) * 6 + r);
        acc[s % U][r][0] = _mm256_fmadd_ps(a, b0, acc[s % U][r][0]);
        acc[s % U][r][1] = _mm256_fmadd_ps(a, b1, acc[s % U][r][1]);
      }
    }
  }
  for (; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(B + k * 16), b1 = _mm256_load_ps(B + k * 16 + 8);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m256 a = _mm256_broadcast_ss(A + k * 6 + r);
      acc[0][r][0] = _mm256_fmadd_ps(a, b0, acc[0][r][0]);
      acc[0][r][1] = _mm256_fmadd_ps(a, b1, acc[0][r][1]);
    }
  }
#pragma GCC unroll 16
  for (int u = 1; u < U; ++u)
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      acc[0][r][0] = _mm256_add_ps(acc[0][r][0], acc[u][r][0]);
      acc[0][r][1] = _mm256_add_ps(acc[0][r][1], acc[u][r][1]);
    }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  if (nr == 16) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
      for (int h = 0; h < 2; ++h) {
        float* c = C + r * ldc + 8 * h;
        const __m256 v = _mm256_mul_ps(va, acc[0][r][h]);
        const __m256 out = beta == 0.f ? v : _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), v);
        const __m256 y = bias ? _mm256_add_ps(out, _mm256_loadu_ps(bias + 8 * h)) : out;
        _mm256_storeu_ps(c, kGelu ? gelu_store(y) : y);
      }
    return;
  }
  alignas(32) float tmp[MR][16];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    _mm256_store_ps(tmp[r], acc[0][r][0]);
    _mm256_store_ps(tmp[r] + 8, acc[0][r][1]);
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < nr; ++c) {
      const float v = alpha * tmp[r][c];
      const float out = beta == 0.f ? v : v + beta * C[r * ldc + c];
      C[r * ldc + c] = bias ? out + bias[c] : out;
    }
}

template <Fetch kFetch, bool kGelu = false>
void kernel_6x16(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha, float beta, int mr,
                 int nr, const float* bias) {
  switch (mr) {
    case 1: return kernel_x16<1, 4, kFetch, kGelu>(kc, A, B, C, ldc, alpha, beta, nr, bias);
    case 2: return kernel_x16<2, 2, kFetch, kGelu>(kc, A, B, C, ldc, alpha, beta, nr, bias);
    case 3: return kernel_x16<3, 2, kFetch, kGelu>(kc, A, B, C, ldc, alpha, beta, nr, bias);
    case 4: return kernel_x16<4, 1, kFetch, kGelu>(kc, A, B, C, ldc, alpha, beta, nr, bias);
    case 5: return kernel_x16<5, 1, kFetch, kGelu>(kc, A, B, C, ldc, alpha, beta, nr, bias);
    default: return kernel_x16<6, 1, kFetch, kGelu>(kc, A, B, C, ldc, alpha, beta, nr, bias);
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
  kernel_6x16<kNear>(kc, A, B, C, ldc, alpha, beta, mr, nr, nullptr);
}

void kernel_6x16_bias_avx2(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha, float beta,
                           int mr, int nr, const float* bias) {
  kernel_6x16<kNear>(kc, A, B, C, ldc, alpha, beta, mr, nr, bias);
}

void kernel_6x16_stream_bias_avx2(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha,
                                  float beta, int mr, int nr, const float* bias) {
  kernel_6x16<kFar>(kc, A, B, C, ldc, alpha, beta, mr, nr, bias);
}

void kernel_6x16_bias_gelu_avx2(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha,
                                float beta, int mr, int nr, const float* bias) {
  kernel_6x16<kNear, true>(kc, A, B, C, ldc, alpha, beta, mr, nr, bias);
}

void kernel_6x16_stream_bias_gelu_avx2(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha,
                                       float beta, int mr, int nr, const float* bias) {
  kernel_6x16<kFar, true>(kc, A, B, C, ldc, alpha, beta, mr, nr, bias);
}

void kernel_6x16_stream_avx2(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha,
                             float beta, int mr, int nr) {
  kernel_6x16<kFar>(kc, A, B, C, ldc, alpha, beta, mr, nr, nullptr);
}

void kernel_6x16_stream_a_avx2(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha,
                               float beta, int mr, int nr) {
  kernel_6x16<kNearFarA>(kc, A, B, C, ldc, alpha, beta, mr, nr, nullptr);
}

}  // namespace gemm
}  // namespace ku
}  // namespace fleetrt
