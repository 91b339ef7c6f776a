// Internal: SGEMM microkernels (math_gemm.cpp drives them). The *_avx2 ones live in
// math_gemm_avx2.cpp, compiled with -mavx2 -mfma, the *_avx512 one in math_gemm_avx512.cpp; each is
// called only after a CPU check.
#pragma once
#include <cstdint>

namespace fleetrt {
namespace ku {
namespace gemm {

constexpr int64_t kMR = 6;
constexpr int64_t kNR = 16;
constexpr int64_t kMR512 = 12;
constexpr int64_t kNR512 = 32;

// C[mr×nr] = alpha·Apanel·Bpanel + beta·C over kc packed steps (beta 0: C not read).
void kernel_6x16_avx2(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha, float beta,
                      int mr, int nr);
// The same, then + bias[c] on every column c (nr values): an epilogue's bias in the last depth block,
// with the rounding of an add after the store.
void kernel_6x16_bias_avx2(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha, float beta,
                           int mr, int nr, const float* bias);
// The two above prefetching B 8 KiB ahead into L2 instead, for B streamed from memory: the first
// row panel to read each panel (few rows against packed panels; the conv GEMM's filter panels).
void kernel_6x16_stream_bias_avx2(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha,
                                  float beta, int mr, int nr, const float* bias);
void kernel_6x16_stream_avx2(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha,
                             float beta, int mr, int nr);
// The two bias kernels above, then GELU (erf form, vexp_detail::gelu8) on the sums in registers:
// the same bits as GELU over the stored block. Full 16-column blocks only (nr 16).
void kernel_6x16_bias_gelu_avx2(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha,
                                float beta, int mr, int nr, const float* bias);
void kernel_6x16_stream_bias_gelu_avx2(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha,
                                       float beta, int mr, int nr, const float* bias);
// kernel_6x16_avx2 prefetching A 8 KiB ahead into L2 as well, for A streamed from memory
// (Winograd's transformed filters: the first tile panel to read each).
void kernel_6x16_stream_a_avx2(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha,
                               float beta, int mr, int nr);
// Packs one full 16-column panel of op(B) = Bᵀ (the panel's columns are rows of B, ldb apart,
// kc deep) as the 6×16 kernel reads it: for each k, the 16 columns' values.
void pack_b16_trans_avx2(const float* B, int64_t ldb, int64_t kc, float* dst);
// dst[c·ldd + r] = src[r·lds + c] for the 6 rows r and columns c < n: 6 rows into columns of 6.
// With ldd 6, one full 6-row panel of A (rows lds apart, n deep) as the 6×16 kernel reads it.
void transpose6_avx2(const float* src, int64_t lds, int64_t n, float* dst, int64_t ldd);
// The same with 12×32 blocks on AVX-512 (math_gemm_avx512.cpp).
void kernel_12x32_avx512(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha, float beta,
                         int mr, int nr);
// kernel_12x32_avx512 prefetching B (stream) or A (stream_a) 8 KiB ahead into L2 instead, for
// that operand streamed from memory, as the AVX2 stream kernels above.
void kernel_12x32_stream_avx512(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha,
                                float beta, int mr, int nr);
void kernel_12x32_stream_a_avx512(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha,
                                  float beta, int mr, int nr);
// kernel_12x32_avx512 fetching side_lines (<= 2·kc) 64-byte lines from `side` on into L2 over its
// steps: another panel streamed from memory while this one computes from cache.
void kernel_12x32_side_avx512(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha,
                              float beta, int mr, int nr, const float* side, int64_t side_lines);
// The same with A not packed: rows of A lda apart, kc values each (row-major, not transposed).
void kernel_12x32_rowmajor_a_avx512(int64_t kc, const float* A, int64_t lda, const float* B, float* C, int64_t ldc,
                                    float alpha, float beta, int mr, int nr);
// Packs one full 12-row panel of A (rows lda apart, kc deep) as the 12×32 kernel reads it: for
// each k, the 12 rows' values (math_gemm_avx512.cpp, 16×16 register transposes).
void pack_a12_avx512(const float* A, int64_t lda, int64_t kc, float* dst);
}  // namespace gemm
}  // namespace ku
}  // namespace fleetrt
