// Few-row matrix products (math_gemm_skinny.h): the driver, its thread split and the portable
// loops. The work is bound by reading B once, so every thread streams its own range of B's
// columns (NN) or rows (NT) and the rows of A and C it needs stay in cache; one or two rows
// against a K×N B split K instead, so that each thread reads whole rows, in memory order.
#include "math_gemm_skinny.h"

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "kernel_util.h"

namespace fleetrt {
namespace ku {
namespace {


bool half_ok() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool ok = __builtin_cpu_supports("f16c");
  return ok;
#else
  return false;
#endif
}

size_t weight_size(WeightType bt) { return bt == WeightType::kF32 ? 4 : 2; }

float weight_at(const void* b, WeightType bt, int64_t i) {
  switch (bt) {
    case WeightType::kF32: return static_cast<const float*>(b)[i];
    case WeightType::kF16: return half_to_float(static_cast<const uint16_t*>(b)[i]);
    case WeightType::kBF16: return bf16_to_float(static_cast<const uint16_t*>(b)[i]);
  }
  return 0.f;
}

// Portable loops with the same blocking: each B row is read once for all rows of C.
void nn_generic(WeightType bt, int64_t M, int64_t K, int64_t w, const float* A, int64_t lda, const void* b,
                int64_t ldb, float* C, int64_t ldc) {
  const int64_t wc = std::max<int64_t>(64, 4096 / std::max<int64_t>(M, 1));
  std::vector<float> row(static_cast<size_t>(std::min(wc, w)));
  for (int64_t j0 = 0; j0 < w; j0 += wc) {
    const int64_t n = std::min(wc, w - j0);
    for (int64_t k = 0; k < K; ++k) {
      if (bt == WeightType::kF32) {
        std::copy_n(static_cast<const float*>(b) + k * ldb + j0, n, row.data());
      } else {
        for (int64_t j = 0; j < n; ++j) row[j] = weight_at(b, bt, k * ldb + j0 + j);
      }
      for (int64_t r = 0; r < M; ++r) {
        const float a = A[r * lda + k];
        float* c = C + r * ldc + j0;
        for (int64_t j = 0; j < n; ++j) c[j] += a * row[j];
      }
    }
  }
}

void nt_generic(WeightType bt, int64_t M, int64_t K, int64_t w, const float* A, int64_t lda, const void* b,
                int64_t ldb, float* C, int64_t ldc) {
  std::vector<float> row(static_cast<size_t>(K));
  for (int64_t n = 0; n < w; ++n) {
    for (int64_t k = 0; k < K; ++k) row[k] = weight_at(b, bt, n * ldb + k);
    for (int64_t r = 0; r < M; ++r) {
      const float* a = A + r * lda;
      float s = 0.f;
      for (int64_t k = 0; k < K; ++k) s += a[k] * row[k];
      C[r * ldc + n] += s;
    }
  }
}

// op(A)·alpha as a row-major M×K buffer, per thread, grown as needed.
float* a_buffer(int64_t n) {
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  thread_local std::unique_ptr<float, Free> buf;
  thread_local int64_t cap = 0;
  if (n > cap) {
    buf.reset(static_cast<float*>(std::malloc(static_cast<size_t>(n) * sizeof(float))));
    cap = n;
  }
  return buf.get();
}

}  // namespace

bool skinny_gemm_fits(int64_t M, int64_t N, int64_t K, bool trans_b) {
  if (M < 1 || M > 64 || N < 1 || K < 1) return false;
  if (M <= 8) return true;
  // More rows: streaming wins for an N×K B as long as B is large (the packed GEMM would copy it
  // transposed); a K×N B computes faster packed.
  return trans_b && N * K * 4 >= kStreamSplitMinBytes;
}

void skinny_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const void* B, WeightType bt, int64_t ldb, float beta, float* C, int64_t ldc, KernelContext* ctx) {
  if (M <= 0 || N <= 0) return;
  const float* a = A;
  int64_t la = lda;
  if (trans_a || alpha != 1.f) {
    float* buf = a_buffer(M * K);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t k = 0; k < K; ++k) buf[i * K + k] = alpha * (trans_a ? A[k * lda + i] : A[i * lda + k]);
    a = buf;
    la = K;
  }
  const bool avx = use_avx2() && (bt == WeightType::kF32 || half_ok());
  const size_t es = weight_size(bt);
  const char* bbytes = static_cast<const char*>(B);
  // Columns (NN) or rows (NT) of B per task, in units that keep the vector loops whole.
  const int64_t unit = trans_b ? 4 : 16;
  const int64_t units = (N + unit - 1) / unit;
  const int threads = ctx ? std::max(1, ctx->num_threads()) : 1;
  const bool split = threads > 1 && (N * K * static_cast<int64_t>(es) >= kStreamSplitMinBytes || M * N * K >= kParallelMinMacs);
  const int64_t tasks = split ? std::min<int64_t>(units, 2 * threads) : 1;
  const int64_t per = (units + tasks - 1) / tasks * unit;
  if (!trans_b && split && M <= 2 && K >= 64 * threads) {
    // One or two rows against K×N (a decode step): each thread streams a contiguous block of
    // whole rows of B, the one order the hardware prefetchers follow at full speed, into its own
    // partial sums; the partials are added in task order (deterministic for a thread count).
    const int64_t kt = threads, kper = ((K + kt - 1) / kt + 3) / 4 * 4;
    std::vector<float> part(static_cast<size_t>((kt - 1) * M * N));
    for (int64_t i = 0; i < M; ++i) {
      float* c = C + i * ldc;
      if (beta == 0.f) std::fill(c, c + N, 0.f);
      else if (beta != 1.f) for (int64_t j = 0; j < N; ++j) c[j] *= beta;
    }
    std::fill(part.begin(), part.end(), 0.f);
    auto fn = avx ? skinny::nn_avx2 : nn_generic;
    ctx->parallel_for(kt, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t k0 = std::min(K, t * kper), k1 = std::min(K, k0 + kper);
        float* out = t == 0 ? C : part.data() + (t - 1) * M * N;
        const int64_t ldo = t == 0 ? ldc : N;
        if (k1 > k0) fn(bt, M, k1 - k0, N, a + k0, la, bbytes + static_cast<size_t>(k0 * ldb) * es, ldb, out, ldo);
      }
    });
    for (int64_t t = 1; t < kt; ++t)
      for (int64_t i = 0; i < M; ++i) {
        float* c = C + i * ldc;
        const float* q = part.data() + ((t - 1) * M + i) * N;
        for (int64_t j = 0; j < N; ++j) c[j] += q[j];
      }
    return;
  }
  // Past 8 rows the AVX-512 loops' several passes (and the N×K one's reductions) lose to the AVX2
  // ones; one or two rows against K×N keep the AVX2 loop's wider chunks of C.
  const bool nt512 = avx && use_avx512() && M <= 8;
  const bool nn512 = nt512 && M > 2;
  auto body = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t j0 = t * per, j1 = std::min(N, j0 + per);
      if (j0 >= j1) continue;
      for (int64_t i = 0; i < M; ++i) {
        float* c = C + i * ldc;
        if (beta == 0.f) std::fill(c + j0, c + j1, 0.f);
        else if (beta != 1.f) for (int64_t j = j0; j < j1; ++j) c[j] *= beta;
      }
      if (K <= 0) continue;
      const void* b = bbytes + static_cast<size_t>(trans_b ? j0 * ldb : j0) * es;
      auto fn = trans_b ? (nt512 ? skinny::nt_avx512 : avx ? skinny::nt_avx2 : nt_generic)
                        : (nn512 ? skinny::nn_avx512 : avx ? skinny::nn_avx2 : nn_generic);
      fn(bt, M, K, j1 - j0, a, la, b, ldb, C + j0, ldc);
    }
  };
  if (tasks > 1) ctx->parallel_for(tasks, 1, body);
  else body(0, 1);
}

}  // namespace ku
}  // namespace fleetrt
