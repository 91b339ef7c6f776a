// SGEMM benchmark: GFLOP/s of ku::sgemm on square sizes, 1 and N threads, checked against a
// reference on a sample of entries, and against the measured FMA peak of the vector width in use.
// usage: gemm_bench [threads] [sizes...]
//        gemm_bench [threads] --layer [rows...]   (the constant-weight products of one BERT-base layer,
//        B packed once as MatMul holds it, for each row count: GFLOP/s against the measured peak;
//        FLEETRT_BENCH_PER=1: each product shape alone as well, see per_product_cold)
//        gemm_bench 1 --kernel   (the microkernels alone, A and B in cache: AVX2 6×16 for 1–6 rows, AVX-512 12×32)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../src/kernels/kernel_util.h"
#include "../src/kernels/math_gemm_kernels.h"
#include "../src/kernels/math_matmul_epilogue.h"
#include "bench_ctx.h"

using namespace fleetrt;

double fleetrt_bench_fma_peak_gflops(long iterations);
double fleetrt_bench_fma512_peak_gflops(long iterations);

// The machine's measured fp32 peak for `threads` threads (one FMA chain set per thread), with the
// vector width the SGEMM microkernel uses (512-bit where ku::use_avx512()).
double measured_peak(int threads) {
  if (!ku::use_avx2()) return 0;
  auto peak = ku::use_avx512() ? fleetrt_bench_fma512_peak_gflops : fleetrt_bench_fma_peak_gflops;
  peak(1000000);  // warm up clocks
  std::vector<double> per(threads);
  std::vector<std::thread> th;
  // best of short trials: other load on the machine shows less than in one long run
  for (int t = 0; t < threads; ++t)
    th.emplace_back([&, t] {
      for (int trial = 0; trial < 25; ++trial) per[t] = std::max(per[t], peak(2000000));
    });
  for (auto& x : th) x.join();
  double sum = 0;
  for (double p : per) sum += p;
  return sum;
}

// FLEETRT_BENCH_PER=1 with --layer: each product shape alone, as a model's 12 layers run it: 12
// different packed Bs one after another (cold, from memory); per pass, the time per product.
// FLEETRT_BENCH_CMP_VAR=NAME: passes alternate with the environment variable NAME unset and set
// to 1 (an experiment's switch, read per call), both printed.
void per_product_cold(bench::PoolContext& ctx, int m, const float* A, float* C) {
  const int64_t KN[3][2] = {{768, 768}, {768, 3072}, {3072, 768}};
  const char* var = std::getenv("FLEETRT_BENCH_CMP_VAR");
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (auto& kn : KN) {
    std::vector<float> B(size_t(kn[0] * kn[1]));
    std::vector<std::shared_ptr<const ku::PackedB>> layers(12);
    for (auto& l : layers) {
      for (auto& v : B) v = dist(rng);
      l = ku::sgemm_pack_b(false, kn[0], kn[1], B.data(), kn[1], &ctx);
    }
    std::vector<double> t[2];
    // FLEETRT_BENCH_EPI=1: with FusedMatMul's bias epilogue (FLEETRT_BENCH_GELU=1: and GELU)
    std::vector<float> bias(size_t(kn[1]), 0.25f);
    MatMulEpilogue mep;
    mep.bias = bias.data();
    if (std::getenv("FLEETRT_BENCH_GELU")) mep.act = MatMulEpilogue::Act::kGelu;
    const ku::GemmEpilogue gep = mep.gemm();
    const bool epi = std::getenv("FLEETRT_BENCH_EPI") != nullptr;
    for (int rep = 0; rep < 40; ++rep) {
      const int arm = var ? rep % 2 : 0;
      if (var) {
        if (arm) setenv(var, "1", 1);
        else unsetenv(var);
      }
      double spent = 0;
      for (auto& l : layers) {
        const double s0 = bench::now_s();
        ku::sgemm_packed(false, m, 1.f, A, kn[0], *l, 0.f, C, kn[1], &ctx, epi ? &gep : nullptr);
        spent += bench::now_s() - s0;
      }
      t[arm].push_back(spent / 12);
    }
    if (var) unsetenv(var);
    const double flops = 2.0 * m * kn[0] * kn[1];
    for (int arm = 0; arm < (var ? 2 : 1); ++arm) {
      std::sort(t[arm].begin(), t[arm].end());
      printf("  %d×%lld·%lld×%lld%s: best %.3f ms (%.1f GFLOP/s), median %.3f ms (%.1f)\n", m, (long long)kn[0],
             (long long)kn[0], (long long)kn[1], var ? (arm ? " [set]  " : " [unset]") : "", t[arm][0] * 1e3,
             flops / t[arm][0] / 1e9, t[arm][t[arm].size() / 2] * 1e3, flops / t[arm][t[arm].size() / 2] / 1e9);
    }
  }
}

// Q, K, V, attention output (768×768), intermediate (768×3072) and output (3072×768) of a
// BERT-base layer: M rows against B packed once (ku::sgemm_pack_b), as MatMul runs them.
void layer_products(int threads, const std::vector<int>& rows, double peak) {
  const int64_t KN[6][2] = {{768, 768}, {768, 768}, {768, 768}, {768, 768}, {768, 3072}, {3072, 768}};
  bench::PoolContext ctx(threads);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<std::vector<float>> B(6);
  std::vector<std::shared_ptr<const ku::PackedB>> packed(6);
  for (int i = 0; i < 6; ++i) {
    B[i].resize(size_t(KN[i][0] * KN[i][1]));
    for (auto& v : B[i]) v = dist(rng);
    packed[i] = ku::sgemm_pack_b(false, KN[i][0], KN[i][1], B[i].data(), KN[i][1], &ctx);
  }
  for (int m : rows) {
    std::vector<float> A(size_t(m) * 3072), C(size_t(m) * 3072);
    for (auto& v : A) v = dist(rng);
    double flops = 0;
    for (auto& kn : KN) flops += 2.0 * m * kn[0] * kn[1];
    auto layer = [&] {
      for (int i = 0; i < 6; ++i) ku::sgemm_packed(false, m, 1.f, A.data(), KN[i][0], *packed[i], 0.f, C.data(), KN[i][1], &ctx);
    };
    layer();
    const double sec = bench::best_time(std::max(5, int(3e9 / flops)), layer);
    // check the last product (3072×768) on a sample of entries
    double maxerr = 0;
    for (int s = 0; s < 64; ++s) {
      const int i = int(rng() % m), j = int(rng() % 768);
      double ref = 0;
      for (int k = 0; k < 3072; ++k) ref += double(A[size_t(i) * 3072 + k]) * B[5][size_t(k) * 768 + j];
      maxerr = std::max(maxerr, std::fabs(ref - C[size_t(i) * 768 + j]));
    }
    if (std::getenv("FLEETRT_BENCH_PER")) per_product_cold(ctx, m, A.data(), C.data());
    const double gflops = flops / sec / 1e9;
    printf("threads=%d layer rows=%d: %.1f GFLOP/s = %.0f%% of measured peak (%.3f ms, max abs err %.2e)\n", threads, m,
           gflops, peak > 0 ? 100.0 * gflops / peak : 0.0, sec * 1e3, maxerr);
  }
}

// The microkernels alone, one thread (AVX2 6×16, and AVX-512 12×32 where the CPU has it): for
// each row count, the row panels of a BERT-base layer's 128 rows against 4 column panels of B,
// 256 deep, C 768 columns wide, as the SGEMM driver calls them; GFLOP/s of the rows computed,
// best of the repetitions, against the peak.
using PanelKernel = void (*)(int64_t, const float*, const float*, float*, int64_t, float, float, int, int);
void microkernel(double peak, const char* name, int64_t MR, int64_t NR, PanelKernel kernel,
                 std::initializer_list<int> rows) {
  const int64_t kc = 256, panels = (128 + MR - 1) / MR, ldc = 768;
  std::vector<float> A(size_t(MR * kc * panels), 0.5f), C(size_t(panels * MR * ldc));
  std::unique_ptr<float, void (*)(void*)> B(static_cast<float*>(std::aligned_alloc(64, 4 * NR * kc * sizeof(float))),
                                            std::free);
  for (int64_t i = 0; i < 4 * NR * kc; ++i) B.get()[i] = 0.001f * float(i % 7);
  for (int mr : rows) {
    auto pass = [&](float beta) {
      for (int p = 0; p < 4; ++p)
        for (int64_t r = 0; r < panels; ++r)
          kernel(kc, A.data() + r * MR * kc, B.get() + p * NR * kc, C.data() + r * MR * ldc + p * NR, ldc, 1.f, beta,
                 mr, static_cast<int>(NR));
    };
    pass(0.f);
    const double sec = bench::best_time(200, [&] { pass(1.f); });
    const double gflops = 2.0 * mr * NR * kc * panels * 4 / sec / 1e9;
    printf("%s microkernel %d rows × %lld, %lld deep: %.1f GFLOP/s = %.0f%% of measured peak\n", name, mr,
           (long long)NR, (long long)kc, gflops, 100.0 * gflops / peak);
  }
}

void microkernels(double peak) {
  if (!ku::use_avx2()) {
    printf("--kernel: no AVX2 on this CPU\n");
    return;
  }
  if (ku::use_avx512())
    microkernel(peak, "AVX-512", ku::gemm::kMR512, ku::gemm::kNR512, ku::gemm::kernel_12x32_avx512, {12, 8, 4, 2});
  microkernel(peak, "AVX2", ku::gemm::kMR, ku::gemm::kNR, ku::gemm::kernel_6x16_avx2, {6, 5, 4, 3, 2, 1});
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  std::vector<int> sizes;
  bool layer = false;
  for (int i = 2; i < argc; ++i) {
    if (std::string(argv[i]) == "--layer") layer = true;
    else if (std::string(argv[i]) == "--kernel") {
      const double peak = measured_peak(1);
      printf("measured fp32 FMA peak: %.1f GFLOP/s (1 thread)\n", peak);
      microkernels(peak);
      return 0;
    } else sizes.push_back(atoi(argv[i]));
  }
  if (layer) {
    if (sizes.empty()) sizes = {7, 32, 64, 128, 384};
    printf("microkernel: %s\n", kernel_simd());
    const double peak = measured_peak(threads);
    printf("measured fp32 FMA peak: %.1f GFLOP/s (%d threads)\n", peak, threads);
    layer_products(threads, sizes, peak);
    return 0;
  }
  if (sizes.empty()) sizes = {256, 512, 1024};
  printf("microkernel: %s\n", kernel_simd());
  double peak1 = measured_peak(1), peakN = threads > 1 ? measured_peak(threads) : peak1;
  printf("measured fp32 FMA peak: %.1f GFLOP/s (1 thread), %.1f GFLOP/s (%d threads)\n", peak1, peakN, threads);
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (int t : {1, threads}) {
    bench::PoolContext ctx(t);  // the runtime's own pool: a parallel_for costs what it costs in fleetrt
    for (int n : sizes) {
      std::vector<float> A(size_t(n) * n), B(size_t(n) * n), C(size_t(n) * n);
      for (auto& v : A) v = dist(rng);
      for (auto& v : B) v = dist(rng);
      ku::sgemm(false, false, n, n, n, 1.f, A.data(), n, B.data(), n, 0.f, C.data(), n, &ctx);  // warm
      // best of the repetitions: the run least disturbed by other work on the machine
      int reps = std::max(5, int(2e9 / (2.0 * n * n * n)));
      double sec = 1e30;
      for (int r = 0; r < reps; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        ku::sgemm(false, false, n, n, n, 1.f, A.data(), n, B.data(), n, 0.f, C.data(), n, &ctx);
        sec = std::min(sec, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      double maxerr = 0;
      for (int s = 0; s < 64; ++s) {
        int i = rng() % n, j = rng() % n;
        double ref = 0;
        for (int k = 0; k < n; ++k) ref += double(A[size_t(i) * n + k]) * B[size_t(k) * n + j];
        maxerr = std::max(maxerr, std::fabs(ref - C[size_t(i) * n + j]));
      }
      double gflops = 2.0 * n * n * n / sec / 1e9, peak = t == 1 ? peak1 : peakN;
      printf("threads=%d n=%d: %.1f GFLOP/s = %.0f%% of measured peak (%.3f ms, max abs err %.2e)\n", t, n, gflops,
             peak > 0 ? 100.0 * gflops / peak : 0.0, sec * 1e3, maxerr);
    }
    if (threads == 1) break;
  }
  return 0;
}
