// Memory-bound kernels against memcpy, in one run on the same thread pool:
//   - memcpy bandwidth (bytes read + written per second, all threads),
//   - matrix products with 1–64 rows over the 72 weight matrices of a BERT-base encoder (every run
//     reads all of them from memory, as a decode step or a short-sequence encoder does), B as K×N
//     (MatMul) and N×K (Gemm transB, dot_general), float32 (ku::sgemm, as MatMul/Gemm call it) and
//     float16 weights (where the few-row loops read them in place): bytes of B per second,
//   - Transpose of large 2-D and 4-D tensors: bytes read + written per second,
//   - paged attention of one decode step (fleetc.PagedAttention's per-head code) over the KV
//     pages of a Llama-style decoder (8 layers, 8 query heads on 4 KV heads of 64, pages of 16
//     tokens) at 2048 and 8192 tokens of context: K and V bytes read per second.
// Every figure is the best of several runs, alternated run by run with its memcpy reference, so
// that other work on the machine weighs on both alike.
// usage: fleetrt_stream_bench [threads] [--json] [few-rows|transpose|paged|memcpy]   (--json: one JSON
// object per line; a section name runs that section alone, memcpy the reference alone)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../src/kernels/data_transpose.h"
#include "../src/kernels/fleetc_attention.h"
#include "../src/kernels/kernel_util.h"
#include "../src/kernels/math_gemm_skinny.h"
#include "bench_ctx.h"

using namespace fleetrt;

namespace {

bool g_json = false;

void report(const std::string& kind, const std::string& name, double gbps, double ref_gbps, const std::string& extra) {
  if (g_json)
    printf("{\"kind\":\"%s\",\"name\":\"%s\",\"gbps\":%.3f,\"memcpy_gbps\":%.3f,\"ratio\":%.4f%s}\n", kind.c_str(),
           name.c_str(), gbps, ref_gbps, gbps / ref_gbps, extra.c_str());
  else
    printf("%-10s %-34s %7.2f GB/s = %5.1f%% of memcpy%s\n", kind.c_str(), name.c_str(), gbps, 100 * gbps / ref_gbps,
           extra.c_str());
}

// memcpy of `bytes` split over the pool like a kernel would be, with its own buffers.
struct Copier {
  bench::PoolContext& ctx;
  std::vector<char> src, dst;
  Copier(bench::PoolContext& c, size_t bytes) : ctx(c), src(bytes, 1), dst(bytes, 0) {}
  void operator()() {
    const int64_t parts = 4 * ctx.num_threads();
    const size_t bytes = src.size();
    ctx.parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
      size_t b = bytes * p0 / parts, e = bytes * p1 / parts;
      std::memcpy(dst.data() + b, src.data() + b, e - b);
    });
  }
};

// Best times of a kernel and of a reference, alternated run by run, so that load from other work
// on the machine, which comes and goes, weighs on both alike.
template <class K, class R>
std::pair<double, double> best_interleaved(int reps, K&& kernel, R&& ref) {
  double bk = 1e30, br = 1e30;
  kernel();
  ref();
  for (int r = 0; r < reps; ++r) {
    double t0 = bench::now_s();
    kernel();
    double t1 = bench::now_s();
    ref();
    double t2 = bench::now_s();
    bk = std::min(bk, t1 - t0);
    br = std::min(br, t2 - t1);
  }
  return {bk, br};
}

uint16_t to_half(float f) { return ku::float_to_half(f); }

// The 72 weight matrices of BERT-base (12 × Q, K, V, O 768×768, FFN 768×3072 and 3072×768).
struct Weights {
  std::vector<int64_t> K, N;
  std::vector<std::vector<float>> f32;
  std::vector<std::vector<uint16_t>> f16;
  size_t bytes(bool half) const {
    size_t b = 0;
    for (size_t i = 0; i < K.size(); ++i) b += K[i] * N[i] * (half ? 2 : 4);
    return b;
  }
};

Weights bert_weights(std::mt19937& rng) {
  Weights w;
  std::uniform_real_distribution<float> d(-0.05f, 0.05f);
  for (int l = 0; l < 12; ++l)
    for (auto kn : {std::pair<int64_t, int64_t>{768, 768}, {768, 768}, {768, 768}, {768, 768}, {768, 3072}, {3072, 768}}) {
      w.K.push_back(kn.first);
      w.N.push_back(kn.second);
      std::vector<float> m(kn.first * kn.second);
      for (auto& v : m) v = d(rng);
      std::vector<uint16_t> h(m.size());
      for (size_t i = 0; i < m.size(); ++i) {
        h[i] = to_half(m[i]);
        m[i] = ku::half_to_float(h[i]);  // same values in both precisions
      }
      w.f32.push_back(std::move(m));
      w.f16.push_back(std::move(h));
    }
  return w;
}

// Max relative error of C against the reference over the whole matrix.
double check(int64_t M, int64_t N, int64_t K, bool trans_b, const float* A, const float* B, const float* C) {
  std::vector<float> ref(M * N);
  ku::sgemm_ref(false, trans_b, M, N, K, 1.f, A, K, B, trans_b ? K : N, 0.f, ref.data(), N);
  double worst = 0;
  for (int64_t i = 0; i < M * N; ++i) worst = std::max(worst, std::fabs(ref[i] - C[i]) / (std::fabs(ref[i]) + 1e-3));
  return worst;
}

void few_rows(bench::PoolContext& ctx, std::mt19937& rng) {
  Copier copy(ctx, size_t{256} << 20);
  Weights w = bert_weights(rng);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  for (int pass = 0; pass < 3; ++pass)
    for (bool trans_b : {false, true})
      for (int64_t M : {1, 7, 32, 64}) {
        const bool half = pass == 1, prepacked = pass == 2;
        // what MatMul / Gemm do: float32 through ku::sgemm (few rows stream B, more rows pack),
        // float16 weights read in place where the few-row loops take them
        if (half && !ku::skinny_gemm_fits(M, 768, 768, trans_b)) continue;
        std::vector<float> A(M * 3072), C(M * 3072);
        for (auto& v : A) v = d(rng);
        const ku::WeightType bt = half ? ku::WeightType::kF16 : ku::WeightType::kF32;
        // K and N of product i: B^T reads the K×N bytes as an N×K matrix
        auto dims = [&](size_t i) {
          return trans_b ? std::pair<int64_t, int64_t>{w.N[i], w.K[i]} : std::pair<int64_t, int64_t>{w.K[i], w.N[i]};
        };
        // constant weights as MatMul/Gemm hold them: packed once into the SGEMM's panels
        std::vector<std::shared_ptr<const ku::PackedB>> packs;
        if (prepacked)
          for (size_t i = 0; i < w.K.size(); ++i)
            packs.push_back(ku::sgemm_pack_b(trans_b, dims(i).first, dims(i).second, w.f32[i].data(),
                                             trans_b ? dims(i).first : dims(i).second, &ctx));
        auto product = [&](int64_t K, int64_t N, size_t i) {
          // trans_b reads the same bytes as an N×K matrix
          if (prepacked)
            ku::sgemm_packed(false, M, 1.f, A.data(), K, *packs[i], 0.f, C.data(), N, &ctx);
          else if (half)
            ku::skinny_gemm(false, trans_b, M, N, K, 1.f, A.data(), K, w.f16[i].data(), bt, trans_b ? K : N, 0.f,
                            C.data(), N, &ctx);
          else
            ku::sgemm(false, trans_b, M, N, K, 1.f, A.data(), K, w.f32[i].data(), trans_b ? K : N, 0.f, C.data(), N,
                      &ctx);
        };
        auto run_all = [&] {
          for (size_t i = 0; i < w.K.size(); ++i) product(dims(i).first, dims(i).second, i);
        };
        const auto [sec, csec] = best_interleaved(9, run_all, copy);
        const double ref = 2.0 * copy.src.size() / csec / 1e9;
        const size_t bytes = w.bytes(half);
        // correctness on the last matrix (3072×768 as K×N, or 768×3072 as N×K)
        const auto [K, N] = dims(w.K.size() - 1);
        product(K, N, w.K.size() - 1);
        const double err = check(M, N, K, trans_b, A.data(), w.f32.back().data(), C.data());
        char name[96], extra[160];
        snprintf(name, sizeof name, "M=%lld %s %s%s", static_cast<long long>(M), trans_b ? "B^T(NxK)" : "B(KxN)",
                 half ? "fp16" : "fp32",
                 prepacked ? " prepacked" : ku::skinny_gemm_fits(M, 768, 768, trans_b) ? "" : " packed");
        const double gflops = 2.0 * M * (bytes / (half ? 2 : 4)) / sec / 1e9;
        if (g_json)
          snprintf(extra, sizeof extra, ",\"m\":%lld,\"trans_b\":%s,\"dtype\":\"%s\",\"gflops\":%.2f,\"ms\":%.3f,\"max_rel_err\":%.2e",
                   static_cast<long long>(M), trans_b ? "true" : "false", half ? "float16" : "float32", gflops, sec * 1e3, err);
        else
          snprintf(extra, sizeof extra, "  (%.1f MB in %.2f ms, %.1f GFLOP/s, max rel err %.1e)", bytes / 1e6, sec * 1e3,
                   gflops, err);
        report("few-rows", name, bytes / sec / 1e9, ref, extra);
      }
}

void transposes(bench::PoolContext& ctx, std::mt19937& rng) {
  struct Case {
    const char* name;
    std::vector<int64_t> shape, perm;
  };
  const std::vector<Case> cases = {
      {"2-D 4096x4096 [1,0]", {4096, 4096}, {1, 0}},
      {"2-D 768x3072 [1,0]", {768, 3072}, {1, 0}},
      {"2-D 3072x768 [1,0]", {3072, 768}, {1, 0}},
      {"4-D 64x128x12x64 [0,2,1,3]", {64, 128, 12, 64}, {0, 2, 1, 3}},
      {"4-D 64x128x12x64 [0,2,3,1]", {64, 128, 12, 64}, {0, 2, 3, 1}},
      {"4-D 32x64x56x56 [0,2,3,1]", {32, 64, 56, 56}, {0, 2, 3, 1}},
      {"4-D 32x56x56x64 [0,3,1,2]", {32, 56, 56, 64}, {0, 3, 1, 2}},
  };
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  for (const auto& c : cases) {
    int64_t n = 1;
    for (int64_t s : c.shape) n *= s;
    // 64-byte aligned as the runtime's tensors (a large std::vector's is not, and the kernel
    // streams its stores only to whole aligned lines)
    const ku::FloatBuf xb = ku::aligned_floats(n), yb = ku::aligned_floats(n);
    float *x = xb.get(), *y = yb.get();
    for (int64_t i = 0; i < n; ++i) x[i] = d(rng);
    auto run = [&] { ku::permute(&ctx, sizeof(float), x, c.shape, c.perm, y); };
    Copier copy(ctx, static_cast<size_t>(n) * sizeof(float));  // memcpy of the same bytes
    run();
    // spot check: y is x with its axes permuted
    std::vector<int64_t> st(c.shape.size(), 1);
    for (size_t i = c.shape.size() - 1; i > 0; --i) st[i - 1] = st[i] * c.shape[i];
    bool ok = true;
    for (int s = 0; s < 1000 && ok; ++s) {
      int64_t o = rng() % n, rem = o, src = 0;
      for (size_t i = c.perm.size(); i-- > 0;) {
        int64_t dim = c.shape[c.perm[i]];
        src += (rem % dim) * st[c.perm[i]];
        rem /= dim;
      }
      ok = y[o] == x[src];
    }
    const auto [sec, csec] = best_interleaved(15, run, copy);
    const double ref = 2.0 * n * 4 / csec / 1e9;
    char extra[96];
    if (g_json) snprintf(extra, sizeof extra, ",\"ms\":%.3f,\"ok\":%s", sec * 1e3, ok ? "true" : "false");
    else snprintf(extra, sizeof extra, "  (%.1f MB in %.2f ms%s)", n * 4 / 1e6, sec * 1e3, ok ? "" : ", WRONG RESULT");
    report("transpose", c.name, 2.0 * n * 4 / sec / 1e9, ref, extra);
  }
}

// One decode step's attention: per layer, the token's query heads over the context's pages (one
// sequence, its pages in order as a fresh pool hands them out).
void paged_attention(bench::PoolContext& ctx, std::mt19937& rng) {
  const int64_t layers = 8, kvh = 4, group = 2, D = 64, ps = 16;
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (const int64_t n : {int64_t{2048}, int64_t{8192}}) {
    const int64_t pages = n / ps, page_elems = kvh * ps * D;
    std::vector<std::vector<float>> k(layers), v(layers);
    for (int64_t l = 0; l < layers; ++l) {
      k[l].resize(static_cast<size_t>(pages * page_elems));
      v[l].resize(k[l].size());
      for (auto& x : k[l]) x = dist(rng);
      for (auto& x : v[l]) x = dist(rng);
    }
    std::vector<int32_t> table(static_cast<size_t>(pages));
    for (int64_t p = 0; p < pages; ++p) table[p] = static_cast<int32_t>(p);
    std::vector<float> q(static_cast<size_t>(layers * kvh * group * D)), out(q.size());
    for (auto& x : q) x = dist(rng);
    const float scale = 0.125f;
    // The step's one token per layer, its context split into `threads` × 2 ranges of whole pages,
    // each over all the heads, as PagedAttention runs a decode step.
    const int64_t splits = std::min<int64_t>(2 * ctx.num_threads(), n / 512), span = n / splits;
    const int64_t rows = kvh * group;
    std::vector<float> parts(static_cast<size_t>(splits * rows * (D + 2)));
    auto run = [&] {
      for (int64_t l = 0; l < layers; ++l) {
        ku::paged::HeadPages h;
        h.k = k[l].data();
        h.v = v[l].data();
        h.pages = table.data();
        h.page_size = ps;
        h.page_elems = page_elems;
        h.D = D;
        const float* ql = &q[static_cast<size_t>(l * rows * D)];
        ctx.parallel_for(splits, 1, [&](int64_t b, int64_t e) {
          std::vector<float> scratch(ku::paged::attend_scratch_floats(h, kvh, group, span));
          for (int64_t s = b; s < e; ++s) {
            float* pm = &parts[static_cast<size_t>(s * rows * (D + 2))];
            ku::paged::attend(h, kvh, ql, group, s * span, (s + 1) * span, scale, scratch.data(), pm + 2 * rows, pm, pm + rows);
          }
        });
        std::vector<float> m(static_cast<size_t>(splits * rows)), lsum(m.size()), acc(static_cast<size_t>(splits * rows * D));
        for (int64_t s = 0; s < splits; ++s) {
          const float* pm = &parts[static_cast<size_t>(s * rows * (D + 2))];
          std::copy(pm, pm + rows, &m[s * rows]);
          std::copy(pm + rows, pm + 2 * rows, &lsum[s * rows]);
          std::copy(pm + 2 * rows, pm + rows * (D + 2), &acc[s * rows * D]);
        }
        ku::paged::merge(splits, rows, D, m.data(), lsum.data(), acc.data(), &out[static_cast<size_t>(l * rows * D)]);
      }
    };
    const double bytes = 2.0 * layers * pages * page_elems * 4;
    Copier copy(ctx, static_cast<size_t>(bytes));
    run();
    // check the last layer's first query head against a float64 softmax
    double err = 0;
    {
      const int64_t l = layers - 1;
      std::vector<double> s(static_cast<size_t>(n));
      const float* q0 = &q[static_cast<size_t>(l * kvh * group * D)];  // query head 0 of KV head 0
      double mx = -1e300, sum = 0;
      for (int64_t j = 0; j < n; ++j) {
        double d = 0;
        for (int64_t i = 0; i < D; ++i) d += double(q0[i]) * k[l][static_cast<size_t>(j * D + (j / ps) * (page_elems - ps * D) + i)];
        s[j] = d * scale;
        mx = std::max(mx, s[j]);
      }
      for (auto& x : s) sum += (x = std::exp(x - mx));
      for (int64_t i = 0; i < D; ++i) {
        double o = 0;
        for (int64_t j = 0; j < n; ++j) o += s[j] / sum * v[l][static_cast<size_t>(j * D + (j / ps) * (page_elems - ps * D) + i)];
        err = std::max(err, std::abs(o - out[static_cast<size_t>(l * kvh * group * D + i)]));
      }
    }
    const auto [sec, csec] = best_interleaved(15, run, copy);
    const double ref = 2.0 * bytes / csec / 1e9;
    char name[64], extra[128];
    snprintf(name, sizeof name, "decode step, context %lld", static_cast<long long>(n));
    if (g_json) snprintf(extra, sizeof extra, ",\"context\":%lld,\"ms\":%.3f,\"max_abs_err\":%.2e", static_cast<long long>(n), sec * 1e3, err);
    else snprintf(extra, sizeof extra, "  (%.1f MB of K and V in %.3f ms, max abs err %.1e)", bytes / 1e6, sec * 1e3, err);
    report("paged", name, bytes / sec / 1e9, ref, extra);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json") g_json = true;
    else if (a == "few-rows" || a == "transpose" || a == "paged" || a == "memcpy") only = a;
    else threads = std::max(1, atoi(argv[i]));
  }
  bench::PoolContext ctx(threads);
  std::mt19937 rng(7);
  Copier big(ctx, size_t{256} << 20);
  const double ref = 2.0 * big.src.size() / bench::best_time(15, big) / 1e9;
  if (g_json)
    printf("{\"kind\":\"memcpy\",\"threads\":%d,\"simd\":\"%s\",\"gbps\":%.3f}\n", threads, kernel_simd(), ref);
  else
    printf("%d threads, kernels: %s; memcpy of 256 MiB: %.2f GB/s moved (read + written); each figure below is\n"
           "against a memcpy timed alternately with it (256 MiB for the products, the same bytes for Transpose)\n",
           threads, kernel_simd(), ref);
  if (only.empty() || only == "few-rows") few_rows(ctx, rng);
  if (only.empty() || only == "transpose") transposes(ctx, rng);
  if (only.empty() || only == "paged") paged_attention(ctx, rng);
  return 0;
}
