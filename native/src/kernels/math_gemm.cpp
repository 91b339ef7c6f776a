// SGEMM driver: cache blocking (NC columns of B × KC depth in L3/L2, MC rows of A in L2), packing
// of A into MR-row panels and B into NR-column panels, and a register-blocked microkernel: 12×32
// with AVX-512 (math_gemm_avx512.cpp), 6×16 with AVX2+FMA (math_gemm_avx2.cpp), a portable 6×16
// here otherwise.
// Work is split over (MC row block × column block) tiles with ctx.parallel_for. B may come packed
// already (sgemm_pack_b: constant weights, packed once by MatMul/Gemm).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>

#include "kernel_util.h"
#include "large_pages.h"
#include "math_gemm_kernels.h"
#include "math_gemm_skinny.h"

namespace fleetrt {
namespace ku {
namespace {

constexpr int64_t kMR = gemm::kMR;
constexpr int64_t kNR = gemm::kNR;
constexpr int64_t kKC = 256;
constexpr int64_t kNC = 3072;
constexpr int64_t kMCMax = 120;
// Largest packed A that the column split shares between threads when it packs B itself: every
// task reads all of it for each depth block, so it must stay in L2.
constexpr int64_t kMaxSharedA = int64_t{512} << 10;
// Largest depth block (Mp rows × kKC) of A that the column split shares when B came packed: a
// task goes through the depth blocks one after another, reading the current one for each of its
// panels, so that block must stay in L2 (512 rows).
constexpr int64_t kMaxSharedABlock = int64_t{512} << 10;
// Up to this many rows, a product with B packed already is worth splitting once B is large
// (bound by reading B), whatever its multiply-adds.
constexpr int64_t kFewRowsPacked = 64;

// Packing buffers live per thread and only grow: a fresh allocation per call returns pages to
// the OS on free and page-faults them back on every run. sgemm never nests on one thread (the
// pool runs nested parallel_for inline), so one A and one B buffer per thread suffice.
enum PackSlot { kPackA, kPackB, kPackAllA };
float* pack_buffer(PackSlot slot, int64_t n) {
  thread_local FloatBuf bufs[3];
  thread_local int64_t caps[3] = {0, 0, 0};
  return grow(bufs[slot], caps[slot], n);
}

// Offset in a PackedB's panels (sgemm_pack_b) of the nr-column panel at column j, depth block pc
// (kc deep): column blocks of kNC columns one after another, in each the depth blocks, in each
// the panels.
int64_t packed_panel_offset(int64_t N, int64_t K, int64_t nr, int64_t j, int64_t pc, int64_t kc) {
  const int64_t jc = j / kNC * kNC, npanels = (std::min(kNC, N - jc) + nr - 1) / nr;
  return jc * K + npanels * nr * pc + (j - jc) * kc;
}

// One full MR-row panel of A (not transposed) from p0, kc deep: the rows read in order.
template <int64_t MR>
void pack_a_rows(const float* A, int64_t lda, int64_t kc, float* dst) {
  const float* rows[MR];
  for (int64_t r = 0; r < MR; ++r) rows[r] = A + r * lda;
  for (int64_t k = 0; k < kc; ++k, dst += MR)
#pragma GCC unroll 12
    for (int64_t r = 0; r < MR; ++r) dst[r] = rows[r][k];
}

// Packs op(A)[i0:i0+mc, p0:p0+kc] into MR-row panels: panel r holds, for each k, MR values.
void pack_a(bool trans, const float* A, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int64_t MR,
            float* dst) {
  for (int64_t ir = 0; ir < mc; ir += MR) {
    if (!trans && mc - ir >= MR && (MR == gemm::kMR512 || MR == kMR)) {
      const float* a = A + (i0 + ir) * lda + p0;
      if (MR == gemm::kMR512) gemm::pack_a12_avx512(a, lda, kc, dst);  // MR 12: the AVX-512 kernel
      else if (use_avx2()) gemm::transpose6_avx2(a, lda, kc, dst, kMR);
      else pack_a_rows<kMR>(a, lda, kc, dst);
      dst += MR * kc;
      continue;
    }
    int64_t mr = std::min(MR, mc - ir);
    for (int64_t k = 0; k < kc; ++k) {
      for (int64_t r = 0; r < mr; ++r) {
        int64_t i = i0 + ir + r, kk = p0 + k;
        dst[r] = trans ? A[kk * lda + i] : A[i * lda + kk];
      }
      for (int64_t r = mr; r < MR; ++r) dst[r] = 0.f;
      dst += MR;
    }
  }
}

// Packs op(B)[p0:p0+kc, j0+jp*NR : …] — one NR-column panel.
template <int64_t NR>
void pack_b_panel(bool trans, const float* B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nr,
                  float* dst) {
  if (!trans && nr == NR) {
    for (int64_t k = 0; k < kc; ++k) {
      // fixed-size memcpy: inlined as vector moves (the -O2 build does not vectorize the loop form)
      std::memcpy(dst, B + (p0 + k) * ldb + j0, NR * sizeof(float));
      dst += NR;
    }
    return;
  }
  for (int64_t k = 0; k < kc; ++k) {
    for (int64_t c = 0; c < nr; ++c) {
      int64_t kk = p0 + k, j = j0 + c;
      dst[c] = trans ? B[j * ldb + kk] : B[kk * ldb + j];
    }
    for (int64_t c = nr; c < NR; ++c) dst[c] = 0.f;
    dst += NR;
  }
}

// AVX2: whole panels of a transposed B by register transposes, the others as pack_b_panel.
void pack_b_panel_avx2(bool trans, const float* B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nr,
                       float* dst) {
  if (trans && nr == kNR) return gemm::pack_b16_trans_avx2(B + j0 * ldb + p0, ldb, kc, dst);
  pack_b_panel<kNR>(trans, B, ldb, p0, kc, j0, nr, dst);
}

using Kernel = void (*)(int64_t, const float*, const float*, float*, int64_t, float, float, int, int);
// A microkernel with a bias per column to add as it stores (nullptr: none).
using BiasKernel = void (*)(int64_t, const float*, const float*, float*, int64_t, float, float, int, int, const float*);

// The microkernel this CPU runs and its register block.
struct Micro {
  int64_t mr, nr;
  BiasKernel kernel;
  // the kernel for B streamed from memory (few rows against panels packed once: a panel's first
  // row panel), which prefetches it far ahead
  BiasKernel stream_kernel;
  void (*pack_b)(bool, const float*, int64_t, int64_t, int64_t, int64_t, int64_t, float*);
  bool adds_bias;  // false: the kernels ignore the bias (the epilogue adds it)
  // the two kernels adding the bias and then GELU (full-width blocks), or nullptr
  BiasKernel gelu_kernel = nullptr, gelu_stream_kernel = nullptr;
};

template <Kernel F>
void ignoring_bias(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha, float beta, int mr,
                   int nr, const float*) {
  F(kc, A, B, C, ldc, alpha, beta, mr, nr);
}

// Portable 6×16 microkernel over packed panels.
void kernel_generic(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, float alpha, float beta,
                    int mr, int nr, const float* bias) {
  float acc[kMR][kNR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int r = 0; r < kMR; ++r) {
      float a = A[r];
      for (int c = 0; c < kNR; ++c) acc[r][c] += a * B[c];
    }
    A += kMR;
    B += kNR;
  }
  for (int r = 0; r < mr; ++r)
    for (int c = 0; c < nr; ++c) {
      const float v = alpha * acc[r][c];
      const float out = beta == 0.f ? v : v + beta * C[r * ldc + c];
      C[r * ldc + c] = bias ? out + bias[c] : out;
    }
}

// The microkernel this CPU runs (fixed for the process: the CPU checks are cached).
Micro micro() {
  if (use_avx512())
    return Micro{gemm::kMR512, gemm::kNR512, ignoring_bias<gemm::kernel_12x32_avx512>,
                 ignoring_bias<gemm::kernel_12x32_avx512>, pack_b_panel<gemm::kNR512>, false};
  if (use_avx2())
    return Micro{kMR,
                 kNR,
                 gemm::kernel_6x16_bias_avx2,
                 gemm::kernel_6x16_stream_bias_avx2,
                 pack_b_panel_avx2,
                 true,
                 gemm::kernel_6x16_bias_gelu_avx2,
                 gemm::kernel_6x16_stream_bias_gelu_avx2};
  return Micro{kMR, kNR, kernel_generic, kernel_generic, pack_b_panel<kNR>, true};
}

// Where the column panels of op(B) come from: packed here per (column block, depth block), or
// read from a PackedB (sgemm_pack_b: the same panels, laid out one block after another).
struct BSource {
  bool trans = false;
  const float* B = nullptr;
  int64_t ldb = 0;
  const float* packed = nullptr;  // PackedB::panels, or nullptr
};

void gemm_driver(bool trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const BSource& src, float beta, float* C, int64_t ldc, KernelContext* ctx, const GemmEpilogue* ep);

// Empty C, or nothing to add to beta·C (which it then writes, the epilogue after): true when done.
bool no_product(int64_t M, int64_t N, int64_t K, float alpha, float beta, float* C, int64_t ldc,
                const GemmEpilogue* ep) {
  if (M <= 0 || N <= 0) return true;
  if (K > 0 && alpha != 0.f) return false;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.f ? 0.f : beta * C[i * ldc + j];
  if (ep) (*ep)(C, ldc, 0, 0, M, N);
  return true;
}

}  // namespace

struct PackedB {
  int64_t K = 0, N = 0, nr = 0;
  FloatBuf panels;  // column block jc (every kNC columns), depth block pc: at jc·K + npanels(jc)·nr·pc
};

std::shared_ptr<const PackedB> sgemm_pack_b(bool trans_b, int64_t K, int64_t N, const float* B, int64_t ldb,
                                            KernelContext* ctx) {
  const Micro mk = micro();
  auto p = std::make_shared<PackedB>();
  p->K = K, p->N = N, p->nr = mk.nr;
  const int64_t npanels_all = (N + mk.nr - 1) / mk.nr;
  const size_t bytes = (static_cast<size_t>(npanels_all * mk.nr * std::max<int64_t>(K, 1)) * sizeof(float) + 63) / 64 * 64;
  // a few-row product streams every byte of the panels per run (large_pages.h)
  p->panels.reset(static_cast<float*>(alloc_large(bytes)));
  if (!p->panels) return nullptr;
  float* const base = p->panels.get();
  // one task per (column block, panel): every depth block of that panel
  auto pack = [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t jp = q * mk.nr;
      for (int64_t pc = 0; pc < K; pc += kKC) {
        const int64_t kc = std::min(kKC, K - pc);
        float* dst = base + packed_panel_offset(N, K, mk.nr, jp, pc, kc);
        mk.pack_b(trans_b, B, ldb, pc, kc, jp, std::min(mk.nr, N - jp), dst);
      }
    }
  };
  if (ctx && ctx->num_threads() > 1 && npanels_all > 1) ctx->parallel_for(npanels_all, 8, pack);
  else pack(0, npanels_all);
  return p;
}

void sgemm_packed(bool trans_a, int64_t M, float alpha, const float* A, int64_t lda, const PackedB& b, float beta,
                  float* C, int64_t ldc, KernelContext* ctx, const GemmEpilogue* ep) {
  if (no_product(M, b.N, b.K, alpha, beta, C, ldc, ep)) return;
  BSource src;
  src.packed = b.panels.get();
  gemm_driver(trans_a, M, b.N, b.K, alpha, A, lda, src, beta, C, ldc, ctx, ep);
}

void sgemm_ref(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += static_cast<double>(trans_a ? A[k * lda + i] : A[i * lda + k]) *
             (trans_b ? B[j * ldb + k] : B[k * ldb + j]);
      float v = alpha * static_cast<float>(s);
      C[i * ldc + j] = beta == 0.f ? v : v + beta * C[i * ldc + j];
    }
}

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc, KernelContext* ctx,
           const GemmEpilogue* ep) {
  if (no_product(M, N, K, alpha, beta, C, ldc, ep)) return;
  // Few rows: bound by reading B, which the skinny loops stream once, split over N.
  if (skinny_gemm_fits(M, N, K, trans_b)) {
    skinny_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, WeightType::kF32, ldb, beta, C, ldc, ctx);
    if (ep) (*ep)(C, ldc, 0, 0, M, N);  // few rows: one pass over them, while they are in cache
    return;
  }

  BSource src;
  src.trans = trans_b, src.B = B, src.ldb = ldb;
  gemm_driver(trans_a, M, N, K, alpha, A, lda, src, beta, C, ldc, ctx, ep);
}

namespace {

// How many sets of a 32 KiB 8-way L1 (64 sets of 64-byte lines, one every 4 KiB) the rows of a
// row-major float matrix with leading dimension ld cycle through.
int64_t l1_sets_apart(int64_t ld) {
  const int64_t step = (ld * int64_t{sizeof(float)}) % 4096;
  return step == 0 ? 1 : 4096 / std::gcd(step, int64_t{4096});
}

// One panel of a PackedB to pull into L2 ahead of use, a slice at a time.
struct NextPanel {
  const char* base = nullptr;
  int64_t lines = 0, per_slice = 0;
  void fetch_slice(int64_t s) const {
    const int64_t l1 = std::min(lines, (s + 1) * per_slice);
    for (int64_t l = s * per_slice; l < l1; ++l) __builtin_prefetch(base + l * 64, 0, 2);
  }
};

// Panel p (nr columns) of depth block pc of a PackedB, in `slices` slices; none past the depth.
NextPanel next_panel(const float* packed, int64_t N, int64_t K, int64_t nr, int64_t p, int64_t pc, int64_t slices) {
  if (pc >= K) return {};
  const int64_t kc = std::min(kKC, K - pc), lines = nr * kc * int64_t{sizeof(float)} / 64;
  return {reinterpret_cast<const char*>(packed + packed_panel_offset(N, K, nr, p * nr, pc, kc)), lines,
          (lines + slices - 1) / slices};
}

void gemm_driver(bool trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const BSource& src, float beta, float* C, int64_t ldc, KernelContext* ctx, const GemmEpilogue* ep) {
  const int threads = ctx ? std::max(1, ctx->num_threads()) : 1;
  auto run = [&](int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (ctx && threads > 1 && n > 1) ctx->parallel_for(n, grain, fn);
    else fn(0, n);
  };
  const Micro mk = micro();
  const int64_t kMR = mk.mr, kNR = mk.nr;
  // Few rows against panels packed once read each panel from memory for its first row panel: there
  // the kernel that prefetches it from far ahead (for the other row panels it is in L1). Against
  // the kernel without prefetching on every row panel, fleetrt_gemm_bench --layer, 2 threads,
  // alternated: 7 rows 6–22% faster, 48 rows 1–3%, 32 and 64 rows alike.
  const bool streams = src.packed && M <= kFewRowsPacked;
  // The epilogue's bias per column, added by the kernel as it stores a block's final values.
  const float* const kbias = ep && ep->col_bias && mk.adds_bias ? ep->col_bias : nullptr;
  // The kernel for a block (bias: the block's, where the kernel adds it), and what it does of the
  // epilogue: GELU as well where that is all the rest and the block is full-width (the epilogue's
  // pass over the stored block instead, a call per row of 16 values: BERT-base's 128×768·768×3072
  // 3–5% slower, fleetrt_gemm_bench --layer 128 with FLEETRT_BENCH_GELU, 2 threads, alternated).
  using Done = GemmEpilogue::Done;
  auto kernel_for = [&](bool first_row_panel, const float* bias, int nr, Done* done) {
    const bool gelu = bias && ep->col_gelu && nr == kNR && mk.gelu_kernel;
    *done = gelu ? Done::kAll : bias ? Done::kBias : Done::kNothing;
    const bool far = first_row_panel && streams;
    if (gelu) return far ? mk.gelu_stream_kernel : mk.gelu_kernel;
    return far ? mk.stream_kernel : mk.kernel;
  };
  const int64_t nc_max = std::min(kNC, (N + kNR - 1) / kNR * kNR);
  const int64_t kc_max = std::min(kKC, K);
  // A few rows against a packed B are bound by reading it: worth splitting once B is large.
  const bool parallel = ctx && threads > 1 &&
                        (M * N * K >= kParallelMinMacs ||
                         (src.packed && M <= kFewRowsPacked && N * K * int64_t{sizeof(float)} >= kStreamSplitMinBytes));
  const int64_t Mp = (M + kMR - 1) / kMR * kMR;
  // With B packed once already, the column split is the better one up to the rows whose depth
  // block of A stays in L2: no wake-up per depth block, no row block left alone on one thread, A
  // packed once. (Measured, 2 threads, the 72 constant products of BERT-base at 128 rows with B
  // cold: 320 GFLOP/s with the per-depth-block split below, 348 with this one.)
  const bool split_columns = src.packed ? Mp * kKC * int64_t{sizeof(float)} <= kMaxSharedABlock
                                        : Mp * K * int64_t{sizeof(float)} <= kMaxSharedA;
  if (parallel && split_columns) {
    // A small: split over the columns only. A is packed once (every depth block, every row panel),
    // or read where it lies (below), and shared by the tasks; each task takes a range of column
    // panels through all depth blocks, packing each B panel it uses right before using it (unless
    // B came packed). Two parallel_for per product instead of two per depth block. (Measured, 2
    // threads: 128×768 · 768×768 and ·768×3072 went from 230–256 / 272–276 to 305–315 / 293–301
    // GFLOP/s.)
    const int64_t panels = (N + kNR - 1) / kNR;
    // With AVX-512 and up to 48 panels, the kernel reads A where it lies instead: packing A costs
    // a pass and a wait for both threads, shared by few panels (2 threads, B cold: 128×768·768×768
    // 0.508 → 0.469 ms, ·3072×768 3.3% faster; with 96 panels, ·768×3072, 1–2% slower). Not
    // where the 12 rows it reads at once fall into fewer than 4 sets of L1 (rows a multiple of
    // 2 KiB apart): they evict each other there. BERT-base's 128×3072·3072×768 (rows 12 KiB
    // apart), 2 threads, fleetrt_gemm_bench --layer 128, alternated: 3.16–3.24 → 2.81–3.06 ms.
    const bool direct_a = !trans_a && kMR == gemm::kMR512 && panels <= 48 && l1_sets_apart(lda) >= 4;
    float* const aall = direct_a ? nullptr : pack_buffer(kPackAllA, Mp * K);
    // one unit per (depth block, row panel): the threads share the packing evenly
    const int64_t nq = (K + kKC - 1) / kKC, row_panels = Mp / kMR;
    if (!direct_a) run(nq * row_panels, 4, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t pc = u / row_panels * kKC, ir = u % row_panels * kMR, kc = std::min(kKC, K - pc);
        pack_a(trans_a, A, lda, ir, std::min(kMR, M - ir), pc, kc, kMR, aall + Mp * pc + ir * kc);
      }
    });
    // Each task reads all of A once per panel range: where A is past L2, one range per thread,
    // so that A comes from L3 once per thread, not once per task (BERT-base's 3072-deep output
    // products, 2 threads, in the model: 24.4 → 23.2 ms per 12 layers; where A fits L2, the four
    // ranges per thread, which even out the threads, stay faster: 24.4 against 25.0 ms).
    const bool a_past_l2 = Mp * K * int64_t{sizeof(float)} > kMaxSharedA;
    const int64_t tasks = std::min<int64_t>(panels, (a_past_l2 ? 1 : 4) * threads);
    // Each panel of a packed B comes from memory for its first row panel, then from L1 for the
    // others: the next one is pulled into L2 in slices, one per row panel, while they run.
    // (2 threads, BERT-base's products at 128 rows, 12 layers' Bs cold, fleetrt_gemm_bench
    // alternated: medians 2–6% faster, best times 4–12%.) Not with few rows (the stream kernel):
    // there fewer row panels share the slices (32 rows, 768×768: 8% slower).
    const bool prefetch_next = src.packed && !streams;
    run(tasks, 1, [&](int64_t t0, int64_t t1) {
      float* const bown = src.packed ? nullptr : pack_buffer(kPackB, kNR * std::min(kKC, K));
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t p0 = panels * t / tasks, p1 = panels * (t + 1) / tasks;
        for (int64_t pc = 0; pc < K; pc += kKC) {
          const int64_t kc = std::min(kKC, K - pc);
          const float beta_eff = pc == 0 ? beta : 1.f;
          for (int64_t p = p0; p < p1; ++p) {
            const int64_t j = p * kNR;
            const int nr = static_cast<int>(std::min(kNR, N - j));
            const float* bpanel = bown;
            if (src.packed) bpanel = src.packed + packed_panel_offset(N, K, kNR, j, pc, kc);
            else mk.pack_b(src.trans, src.B, src.ldb, pc, kc, j, nr, bown);
            const bool last = ep && pc + kc >= K;
            // next: the task's next panel, or its first one in the next depth block
            const bool more = p + 1 < p1;
            const NextPanel next =
                prefetch_next ? next_panel(src.packed, N, K, kNR, more ? p + 1 : p0, more ? pc : pc + kKC, row_panels)
                              : NextPanel{};
            const float* const bias = last && kbias ? kbias + j : nullptr;  // no bias kernel with direct_a
            for (int64_t ir = 0; ir < M; ir += kMR) {
              const int mr = static_cast<int>(std::min(kMR, M - ir));
              next.fetch_slice(ir / kMR);
              Done done;
              const BiasKernel kernel = kernel_for(ir == 0, bias, nr, &done);
              if (direct_a)
                gemm::kernel_12x32_rowmajor_a_avx512(kc, A + ir * lda + pc, lda, bpanel, C + ir * ldc + j, ldc, alpha,
                                                     beta_eff, mr, nr);
              else
                kernel(kc, aall + Mp * pc + ir * kc, bpanel, C + ir * ldc + j, ldc, alpha, beta_eff, mr, nr, bias);
              if (last) ep->finish(done, C + ir * ldc + j, ldc, ir, j, mr, nr);
            }
          }
        }
      }
    });
    return;
  }

  float* const bpack = src.packed ? nullptr : pack_buffer(kPackB, nc_max * kc_max);
  for (int64_t jc = 0; jc < N; jc += kNC) {
    const int64_t nc = std::min(kNC, N - jc);
    const int64_t npanels = (nc + kNR - 1) / kNR;
    // column tiles per task: about 4 tasks per thread overall
    for (int64_t pc = 0; pc < K; pc += kKC) {
      const int64_t kc = std::min(kKC, K - pc);
      const float beta_eff = pc == 0 ? beta : 1.f;
      const float* bp = src.packed ? src.packed + packed_panel_offset(N, K, kNR, jc, pc, kc) : bpack;
      auto pack_b = [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
          int64_t j = p * kNR;
          mk.pack_b(src.trans, src.B, src.ldb, pc, kc, jc + j, std::min(kNR, nc - j), bpack + p * kNR * kc);
        }
      };
      if (!src.packed) {
        if (parallel) run(npanels, 8, pack_b);
        else pack_b(0, npanels);
      }

      // MC: at most kMCMax rows, smaller when M is short so every thread has blocks.
      int64_t mc = kMCMax;
      if (parallel) {
        int64_t want = (M + 2 * threads - 1) / (2 * threads);
        mc = std::min(kMCMax, std::max<int64_t>(kMR, (want + kMR - 1) / kMR * kMR));
      }
      const int64_t mblocks = (M + mc - 1) / mc;
      int64_t nsplit = 1;
      if (parallel && mblocks < 4 * threads) nsplit = std::min<int64_t>(npanels, (4 * threads + mblocks - 1) / mblocks);
      const int64_t panels_per = (npanels + nsplit - 1) / nsplit;
      const int64_t tasks = mblocks * nsplit;

      auto body = [&](int64_t t0, int64_t t1) {
        float* const apack = pack_buffer(kPackA, ((mc + kMR - 1) / kMR) * kMR * kc);
        int64_t packed_mb = -1;
        for (int64_t t = t0; t < t1; ++t) {
          int64_t mb = t / nsplit, ns = t % nsplit;
          int64_t i0 = mb * mc, mcur = std::min(mc, M - i0);
          if (packed_mb != mb) {
            pack_a(trans_a, A, lda, i0, mcur, pc, kc, kMR, apack);
            packed_mb = mb;
          }
          int64_t p_begin = ns * panels_per, p_end = std::min(npanels, p_begin + panels_per);
          for (int64_t p = p_begin; p < p_end; ++p) {
            int64_t j = p * kNR;
            int nr = static_cast<int>(std::min(kNR, nc - j));
            const float* bpanel = bp + p * kNR * kc;
            const bool last = ep && pc + kc >= K;
            const float* const bias = last && kbias ? kbias + jc + j : nullptr;
            for (int64_t ir = 0; ir < mcur; ir += kMR) {
              int mr = static_cast<int>(std::min(kMR, mcur - ir));
              float* const c = C + (i0 + ir) * ldc + jc + j;
              Done done;
              kernel_for(i0 + ir == 0, bias, nr, &done)(kc, apack + ir * kc, bpanel, c, ldc, alpha, beta_eff, mr, nr,
                                                        bias);
              if (last) ep->finish(done, c, ldc, i0 + ir, jc + j, mr, nr);
            }
          }
        }
      };
      if (parallel) run(tasks, 1, body);
      else body(0, tasks);
    }
  }
}

}  // namespace

}  // namespace ku
}  // namespace fleetrt
