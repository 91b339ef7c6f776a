// Conv as a packed GEMM with the output positions as the row side (see nn_conv_gemm.h). Per
// (image, group), two passes split over the threads: by input channels, the input zero-padded
// (unpadded convs read it as it lies) and, where tasks share them, the window values of every
// panel of positions gathered into the microkernel's row panels; then tasks of (position panels ×
// filter panels) that run every depth block against the filter panels prepared once per op, then
// transpose their [position][filter] tile into the output with the epilogue applied.
#include "nn_conv_gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "math_gemm_kernels.h"

namespace fleetrt {
namespace convgemm {
namespace {

using ku::WindowGeom;

constexpr int64_t kKC = 256;           // depth block
constexpr int64_t kTaskFilters = 512;  // filters per task at most: kKC × this many floats in L2
constexpr int64_t kTaskPanels = 24;    // position panels per task at most (14×14 in one)
constexpr int64_t kMaxSharedPanelBytes = 512 * 1024;  // position panels shared by the tasks: half of L2

struct Micro {
  int64_t mr, nr;
  using Kernel = void (*)(int64_t, const float*, const float*, float*, int64_t, float, float, int, int);
  Kernel kernel;
  // for a task's first position panel, which reads each filter panel of a depth block from
  // memory: prefetching it far ahead (scripts/bench/ab.ts, 2 threads: AVX2 on Zen 3, the
  // 7×7-output layers of ResNet-50 7% faster, the whole net 2.7%, MobileNetV2's 7×7 1×1s 3.6%;
  // AVX-512 on Zen 5, ResNet-50 1.3%, ResNet-18's layer3 and layer4 3.2%)
  Kernel first;
};

Micro micro() {
  if (ku::use_avx512())
    return Micro{ku::gemm::kMR512, ku::gemm::kNR512, ku::gemm::kernel_12x32_avx512,
                 ku::gemm::kernel_12x32_stream_avx512};
  return Micro{ku::gemm::kMR, ku::gemm::kNR, ku::gemm::kernel_6x16_avx2, ku::gemm::kernel_6x16_stream_avx2};
}

using ku::FloatBuf;
using ku::grow;

// Wᵀ of every group in column panels of nr filters: group gi at gi·Mq·K (Mq = Mg rounded up to
// nr); within it depth block pc at Mq·pc, panel j (filters from j) at j·kc, laid out [kc][nr]
// with filters past Mg zero.
void pack_filters(const float* w, int64_t group, int64_t Mg, int64_t K, int64_t nr, float* dst) {
  const int64_t Mq = (Mg + nr - 1) / nr * nr;
  for (int64_t gi = 0; gi < group; ++gi) {
    const float* wg = w + gi * Mg * K;
    float* dg = dst + gi * Mq * K;
    for (int64_t pc = 0; pc < K; pc += kKC) {
      const int64_t kc = std::min(kKC, K - pc);
      for (int64_t j = 0; j < Mq; j += nr) {
        float* d = dg + Mq * pc + j * kc;
        // 16 depth steps at a time: 16 rows of the panel (in L1) from a line of each filter
        for (int64_t k0 = 0; k0 < kc; k0 += 16) {
          const int64_t k1 = std::min(kc, k0 + 16);
          for (int64_t c = 0; c < nr; ++c) {
            const float* src = wg + (j + c) * K + pc;
            const bool in = j + c < Mg;
            for (int64_t k = k0; k < k1; ++k) d[k * nr + c] = in ? src[k] : 0.f;
          }
        }
      }
    }
  }
}

// The packed filters, kept in the op's state while W is constant.
struct PackedFilters {
  const void* data;
  DType dtype;
  int64_t M, group, K, nr;
  FloatBuf panels;
};

// Filter panels for this call: prepared once per op where W is constant (*keep holds them), else
// packed into a buffer of this thread's.
const float* filters(KernelContext& ctx, const float* w, int64_t M, int64_t group, int64_t K, int64_t nr,
                     std::shared_ptr<const PackedFilters>* keep) {
  const int64_t Mg = M / group, Mq = (Mg + nr - 1) / nr * nr;
  const Tensor* wt = ctx.input(1);
  if (wt && ctx.input_is_constant(1)) {
    auto fits = [&](const PackedFilters& p) {
      return p.data == wt->data && p.dtype == wt->dtype && p.M == M && p.group == group && p.K == K && p.nr == nr;
    };
    *keep = ku::prepared<PackedFilters>(ctx, fits, [&]() -> std::shared_ptr<const PackedFilters> {
      auto p = std::make_shared<PackedFilters>();
      p->data = wt->data, p->dtype = wt->dtype, p->M = M, p->group = group, p->K = K, p->nr = nr;
      p->panels = ku::large_floats(group * Mq * K);
      if (!p->panels) return nullptr;
      pack_filters(w, group, Mg, K, nr, p->panels.get());
      return p;
    });
    if (*keep) return (*keep)->panels.get();
  }
  // per call: a buffer kept by the thread (a fresh one would page-fault in every call)
  thread_local FloatBuf buf;
  thread_local int64_t cap = 0;
  float* dst = grow(buf, cap, group * Mq * K);
  if (dst) pack_filters(w, group, Mg, K, nr, dst);
  return dst;
}

// Where a window value lies: im2col row k = (c, t), column p at
// img[c·plane + taps[t] + offset(p)], in the zero-padded input (or the input itself).
struct Windows {
  const float* img;
  int64_t plane, ntaps;
  std::vector<int64_t> taps;
  int64_t Wp, sh, sw, OW;  // offset(p) = (p / OW)·sh·Wp + (p % OW)·sw
  int64_t offset(int64_t p) const { return (p / OW) * sh * Wp + (p % OW) * sw; }
};

// Row panel of positions [p0, p0 + mr) (mr <= MR; the other rows repeat position p0) over
// im2col rows [k0, k0 + kc), into dst[kc][MR].
void pack_positions(const Windows& win, int64_t k0, int64_t kc, int64_t p0, int64_t mr, int64_t MR, float* dst) {
  int64_t off[16];
  for (int64_t r = 0; r < MR; ++r) off[r] = win.offset(r < mr ? p0 + r : p0);
  if (MR <= 16 && ku::use_avx512()) {
    // runs of positions that read the input contiguously (rows past mr stay zero)
    PanelRuns pr;
    pr.rows = static_cast<int>(MR);
    bool fits = true;
    for (int64_t r = 0; r < mr && fits; ++r) {
      if (r == 0 || off[r] != off[r - 1] + 1) {
        if (pr.count == 4) fits = false;
        else pr.shift[pr.count] = off[r] - r, pr.mask[pr.count++] = 0;
      }
      if (fits) pr.mask[pr.count - 1] |= 1u << r;
    }
    if (fits) return pack_runs_avx512(pr, win.img, win.plane, win.taps.data(), win.ntaps, k0, kc, dst);
  }
  int64_t c = k0 / win.ntaps, t = k0 % win.ntaps;
  for (int64_t k = 0; k < kc; ++k, dst += MR) {
    const float* base = win.img + c * win.plane + win.taps[t];
    for (int64_t r = 0; r < MR; ++r) dst[r] = base[off[r]];
    if (++t == win.ntaps) t = 0, ++c;
  }
}

void run_on(KernelContext& ctx, bool parallel, int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (parallel && n > 1) ctx.parallel_for(n, 1, fn);
  else fn(0, n);
}

}  // namespace

bool available() { return ku::use_avx2(); }

bool run(KernelContext& ctx, const float* x, const float* w, const float* bias, float* y, int64_t N, int64_t C,
         int64_t M, int64_t group, const WindowGeom& g, const ConvEpilogue* ep) {
  if (!available()) return false;
  const size_t nsp = g.in.size();
  const int64_t ksz = g.kernel_size(), Cg = C / group, Mg = M / group, K = Cg * ksz;
  const int64_t isz = g.in_size(), osz = g.out_size();
  bool flat = ksz == 1, padded = false;
  for (size_t d = 0; d < nsp; ++d) {
    flat = flat && g.stride[d] == 1 && g.pad_begin[d] == 0 && g.pad_end[d] == 0 && g.in[d] == g.out[d];
    padded = padded || g.pad_begin[d] != 0 || g.pad_end[d] != 0;
  }
  if (!flat && nsp != 2) return false;
  // the memory planner may place the output over the residual (passes/memory/device.ts)
  const bool over_residual = ep && ep->residual == y;
  const Micro mk = micro();
  const bool avx512 = ku::use_avx512();  // mk is the 12×32 kernel
  const int64_t MR = mk.mr, NR = mk.nr;
  const int64_t Mq = (Mg + NR - 1) / NR * NR, Pp = (osz + MR - 1) / MR, Pf = Mq / NR;
  std::shared_ptr<const PackedFilters> keep;
  const float* Wp = filters(ctx, w, M, group, K, NR, &keep);
  if (!Wp) return false;

  // the window geometry over the padded input
  Windows win;
  int64_t Hp = 1, Wd = isz;
  if (flat) {
    win.plane = isz, win.ntaps = 1, win.taps = {0}, win.Wp = isz, win.sh = 0, win.sw = 1, win.OW = osz;
  } else {
    Hp = g.in[0] + g.pad_begin[0] + g.pad_end[0], Wd = g.in[1] + g.pad_begin[1] + g.pad_end[1];
    win.plane = Hp * Wd, win.ntaps = ksz, win.Wp = Wd, win.sh = g.stride[0], win.sw = g.stride[1], win.OW = g.out[1];
    for (int64_t t = 0; t < ksz; ++t)
      win.taps.push_back((t / g.kernel[1]) * g.dil[0] * Wd + (t % g.kernel[1]) * g.dil[1]);
  }
  const int threads = std::max(1, ctx.num_threads());
  const bool parallel = threads > 1 && Mg * osz * K >= ku::kParallelMinMacs;
  // Tasks: tp position chunks × tf filter chunks, at least `want` of them. A task reads its
  // filters once (in a model, from memory) and its position panels once. With one filter chunk
  // each task gathers its own position panels (no sharing); with more, the panels are gathered
  // once in a pass of their own and every filter chunk reads them (from the other core's cache
  // for half of them: counted twice). The split that reads the least.
  // Strided convs with a window (3×3 stride 2) ask for one task per thread rather than three:
  // their filters (9 × the input channels deep: 2.4–9.4 MB in ResNet-50) pass L2, and each
  // task rereads them all (in the model, 2 threads, scripts/bench/ab.ts: ResNet-50's 28→14 c256
  // 8.6% faster, 14→7 c512 3.5%, ResNet-18's 14→7 c256 unchanged; the other convs by the GEMM
  // within ±1%, so they keep three).
  const bool windowed_strided = ksz > 1 && (g.stride[0] > 1 || g.stride[1] > 1);
  const int64_t want = parallel ? (windowed_strided ? 1 : 3) * threads : 1;
  const int64_t A = Pp * MR * K, Wsz = Mq * K;
  const int64_t tp_min = (Pp + kTaskPanels - 1) / kTaskPanels, tf_min = (Mq + kTaskFilters - 1) / kTaskFilters;
  int64_t tp = tp_min, tf = Pf, best = -1;
  for (int64_t p = tp_min; p <= Pp; ++p) {
    const int64_t f = std::min(Pf, std::max(tf_min, (want + p - 1) / p));
    const int64_t cost = (f > 1 ? 2 * f * A : 0) + p * Wsz;
    if (best < 0 || cost < best) best = cost, tp = p, tf = f;
    if (p * f >= want && f == tf_min) break;  // more position chunks only add reads
  }
  // Shared panels past half of L2 come from L3 (or the other core's cache) for every filter chunk
  // that reads them: 1.1 MiB for a 3×3 c512 conv over 7×7 outputs, read whole by each of 6 chunks.
  // Where a panel packs from runs of contiguous inputs (stride 1 along the width: pack_runs), each
  // thread's chunk of filters gathers its own panels into L1 from the padded input (9× smaller)
  // instead, one chunk per thread: 2 threads, ResNet-18's 7×7 c512 3×3, best 4 of 20 runs
  // 1.03–1.11 → 0.91–0.92 ms (1 thread: 1.33–1.40 either way; fleetrt_conv_bench, cold caches,
  // old and new binaries alternated on a loaded 2-core machine). Stride-2 panels gather value by
  // value, and packing them twice cost as much as sharing them (14×14 → 7×7 c512).
  bool shared = tf > 1;
  if (shared && A * int64_t{sizeof(float)} > kMaxSharedPanelBytes && (flat || g.stride[1] == 1) && avx512) {
    tf = std::min(Pf, static_cast<int64_t>(threads));
    shared = false;
  }

  // per call (this thread's, used by every task): the padded input, the [position][filter] tile
  // and (shared) the position panels
  thread_local FloatBuf pad_buf, tile_buf, pos_buf;
  thread_local int64_t pad_cap = 0, tile_cap = 0, pos_cap = 0;
  float* const padimg = padded ? grow(pad_buf, pad_cap, Cg * win.plane) : nullptr;
  // tile block (position panel i, filter panel j): [MR][NR] at (i·Pf + j)·MR·NR
  float* const tile = grow(tile_buf, tile_cap, Pp * Pf * MR * NR);
  // position panel i: [K][MR] at i·K·MR
  float* const apanels = shared ? grow(pos_buf, pos_cap, A) : nullptr;
  if ((padded && !padimg) || !tile || (shared && !apanels)) return false;

  for (int64_t n = 0; n < N; ++n)
    for (int64_t gi = 0; gi < group; ++gi) {
      const float* xg = x + (n * C + gi * Cg) * isz;
      win.img = padded ? padimg : xg;
      // input channels [c0, c1): their planes zero-padded; (shared) their rows of every panel
      auto prepare = [&](int64_t c0, int64_t c1) {
        if (padded) {
          const int64_t H = g.in[0], W = g.in[1], pt = g.pad_begin[0], pl = g.pad_begin[1];
          for (int64_t c = c0; c < c1; ++c) {
            float* d = padimg + c * win.plane;
            std::memset(d, 0, static_cast<size_t>(pt * Wd) * sizeof(float));
            for (int64_t h = 0; h < H; ++h) {
              float* row = d + (pt + h) * Wd;
              std::fill(row, row + pl, 0.f);
              std::memcpy(row + pl, xg + (c * H + h) * W, static_cast<size_t>(W) * sizeof(float));
              std::fill(row + pl + W, row + Wd, 0.f);
            }
            std::memset(d + (pt + H) * Wd, 0, static_cast<size_t>((Hp - pt - H) * Wd) * sizeof(float));
          }
        }
        if (shared)
          for (int64_t i = 0; i < Pp; ++i)
            pack_positions(win, c0 * ksz, (c1 - c0) * ksz, i * MR, std::min(MR, osz - i * MR), MR,
                           apanels + (i * K + c0 * ksz) * MR);
      };
      if (padded || shared) run_on(ctx, parallel, Cg, prepare);
      const float* Wg = Wp + gi * Mq * K;
      float* yg = y + (n * M + gi * Mg) * osz;
      const float* zg = ep && ep->residual ? ep->residual + (n * M + gi * Mg) * osz : nullptr;
      const float* bg = bias ? bias + gi * Mg : nullptr;
      run_on(ctx, parallel, tp * tf, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t ip = t / tf, jf = t % tf;
          const int64_t i0 = Pp * ip / tp, i1 = Pp * (ip + 1) / tp, j0 = Pf * jf / tf, j1 = Pf * (jf + 1) / tf;
          // unshared: each position panel's depth block gathered right before its use, into L1
          alignas(64) thread_local float block[16 * kKC];
          // The next depth block's filter panels, streamed from memory over the calls of this
          // one's position panels past the first (each call a share of them, one line or two a
          // step), so that its first position panel finds them in L2 rather than waiting on
          // memory alone: with AVX-512 (Zen 5 guest, 2 threads, scripts/bench/ab.ts 64 passes)
          // ResNet-18's layer4 7.3% faster, the net 2.7%; ResNet-50's layer4 2.2%. Every depth
          // block but the first then finds its panels fetched.
          const int64_t later = (i1 - i0 - 1) * (j1 - j0);
          const bool fetch_ahead = avx512 && later > 0;
          for (int64_t pc = 0; pc < K; pc += kKC) {
            const int64_t kc = std::min(kKC, K - pc);
            const float beta = pc == 0 ? 0.f : 1.f;
            const int64_t kc_next = std::min(kKC, K - pc - kc);
            const bool spread = fetch_ahead && kc_next > 0;
            const float* next = Wg + Mq * (pc + kc) + j0 * NR * kc_next;
            const int64_t next_lines = (j1 - j0) * NR * kc_next / 16;
            const int64_t share = spread ? std::min(2 * kc, (next_lines + later - 1) / later) : 0;
            int64_t fetched = 0;
            // a position panel (in L1) against each filter panel (in L2: the kernel prefetches it)
            for (int64_t i = i0; i < i1; ++i) {
              const int mr = static_cast<int>(std::min(MR, osz - i * MR));
              const float* apanel = block;
              if (shared) apanel = apanels + (i * K + pc) * MR;
              else pack_positions(win, pc, kc, i * MR, mr, MR, block);
              for (int64_t j = j0; j < j1; ++j) {
                const int nr = static_cast<int>(std::min(NR, Mg - j * NR));
                const float* b = Wg + Mq * pc + j * NR * kc;
                float* c = tile + (i * Pf + j) * MR * NR;
                if (spread && i > i0) {
                  const int64_t n = std::min(share, next_lines - fetched);
                  ku::gemm::kernel_12x32_side_avx512(kc, apanel, b, c, NR, 1.f, beta, mr, nr, next + 16 * fetched, n);
                  fetched += n;
                } else {
                  const auto kernel = i == i0 && !(fetch_ahead && pc > 0) ? mk.first : mk.kernel;
                  kernel(kc, apanel, b, c, NR, 1.f, beta, mr, nr);
                }
              }
            }
          }
          // the task's tile into the output rows (register transposes: 16×16 with AVX-512, 6×8
          // with AVX2; scalar, they took 15% of the time at K = 256), then bias, residual and
          // activation on each row.
          // Where the output lies over the residual (in place), each filter panel's rows go through
          // a buffer, so that every residual value is read before the output value over it is written.
          const int64_t p0 = i0 * MR, p1 = std::min(osz, i1 * MR), len = p1 - p0;
          thread_local std::vector<float> rows;
          if (over_residual && rows.size() < static_cast<size_t>(NR * len)) rows.resize(static_cast<size_t>(NR * len));
          for (int64_t j = j0; j < j1; ++j) {
            const int64_t nr = std::min(NR, Mg - j * NR);
            float* const dst = over_residual ? rows.data() : yg + j * NR * osz + p0;
            const int64_t ld = over_residual ? len : osz;
            for (int64_t i = i0; i < i1; ++i) {
              const float* blk = tile + (i * Pf + j) * MR * NR;
              const int64_t mr = std::min(MR, osz - i * MR);
              float* d = dst + (i * MR - p0);
              if (avx512) transpose_tile_avx512(blk, NR, mr, nr, d, ld);
              else if (mr == MR) ku::gemm::transpose6_avx2(blk, NR, nr, d, ld);
              else
                for (int64_t c = 0; c < nr; ++c)
                  for (int64_t r = 0; r < mr; ++r) d[c * ld + r] = blk[r * NR + c];
            }
            for (int64_t c = 0; c < nr; ++c) {
              const int64_t m = j * NR + c;
              finish_conv_run(ep, yg + m * osz + p0, dst + c * ld, len, bg ? bg[m] : 0.f,
                              zg ? zg + m * osz + p0 : nullptr);
            }
          }
        }
      });
    }
  return true;
}

}  // namespace convgemm
}  // namespace fleetrt
