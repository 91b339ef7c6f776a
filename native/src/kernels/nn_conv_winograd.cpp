// Winograd convs (nn_conv_winograd.h), F(4×4, 3×3) where the plane has enough 4×4 tiles, else
// F(2×2, 3×3). A task is one block of tiles of one image (for small planes, with the filters
// split between the threads as well): the block's inputs transformed into the products' packed
// column panels, the 36 (or 16) products on the SGEMM's microkernel, then the output transform
// with the epilogue, row by row of the output tensor.
#include "nn_conv_winograd.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "math_gemm_kernels.h"
#include "nn_conv_winograd_kernels.h"

namespace fleetrt {
namespace winograd {
namespace {

constexpr int64_t kKC = 256;  // channels per microkernel call

// Per instruction set: the products' microkernel and its register block (filters per row panel
// mr, tiles per column panel nr), the transforms, the tiles of 2×2 from which a plane runs by
// Winograd (else direct or the packed GEMM) and the tiles of 4×4 from which F(4×4) does (else
// F(2×2)). With AVX-512, F(4×4) from 48 tiles: fewer leave most of their one or two column panels
// empty. ResNet-50 (2 threads, caches flushed, input read back), F(2×2) → F(4×4): 56×56 c64
// (196 tiles) 0.78–0.79 → 0.57–0.59 ms, 28×28 c128 (49) 0.77 → 0.54–0.55; 14×14 c256 (16)
// 0.76 → 1.05–1.20. On the microkernel's 16-column form (half a panel's multiply-adds) those 16
// tiles ran 10–20% faster than F(2×2) warm, 7% slower cold, ResNet-50 in all 1.8% slower: F(4×4)
// keeps 48. With AVX2 one full panel, 16 tiles: ResNet's 14×14 c256 3×3s by
// F(4×4) against the direct kernel, 2 threads: 1.8–3.2 → 0.77–1.2 ms.
// F(4×4)'s sums carry larger constants: errors about 1e-5 of the output range against 1e-6
// (fleetrt's ResNet outputs against torch: unchanged).
// `first`: the microkernel for a block's first tile panel, which reads each transformed filter
// panel from memory (9–17 MB per ResNet-50 layer with AVX2): the one that prefetches them 8 KiB
// ahead (scripts/bench/ab.ts, 2 threads, 96 passes, three runs: those layers 2.6–5.6% faster,
// ResNet-50 0.9–2.5% in all, ResNet-18 1.7% and 4.4% in two, AVX2 on Zen 3; AVX-512 on Zen 5,
// 64 passes: ResNet-50 3.2%, ResNet-18 5.1%).
struct Isa {
  using Kernel = void (*)(int64_t, const float*, const float*, float*, int64_t, float, float, int, int);
  int64_t mr, nr;
  Kernel kernel, first;
  InputTiles *input_f2, *input_f4;
  OutputTiles *output_f2, *output_f4;
  int64_t min_tiles, f4_tiles;
  StoreTiles *store_f2, *store_f4;  // AVX-512: straight into the output, the epilogue applied
};
Isa isa() {
  if (ku::use_avx512())
    return {ku::gemm::kMR512,
            ku::gemm::kNR512,
            ku::gemm::kernel_12x32_avx512,
            ku::gemm::kernel_12x32_stream_a_avx512,
            input_tiles_avx512,
            input_tiles_f4_avx512,
            output_tiles_avx512,
            output_tiles_f4_avx512,
            16,
            48,
            store_tiles_avx512,
            store_tiles_f4_avx512};
  return {ku::gemm::kMR,    ku::gemm::kNR,       ku::gemm::kernel_6x16_avx2, ku::gemm::kernel_6x16_stream_a_avx2,
          input_tiles_avx2, input_tiles_f4_avx2, output_tiles_avx2,          output_tiles_f4_avx2,
          16,               16,                  nullptr,                    nullptr};
}
// A block's transformed inputs (36 or 16 × channels × tiles floats) at most, or one column panel
// of them: a quarter of L2, beside the block's products. ResNet-50's 3×3s by F(2×2) (2 threads,
// caches flushed, input read back): 56×56 c64 0.86–0.88 ms at 64–256 KiB, 1.02–1.05 at 512, 1.21
// at 1 MiB.
constexpr int64_t kBlockInputBytes = 256 * 1024;

// U = G·g·Gᵀ of every filter for tiles of m × m, as the microkernel's row panels:
// [ξ][panel][channel][mr], the filters past M zero.
struct Filters {
  const void* data;
  int64_t M, C, m, mr;
  ku::FloatBuf packed;  // on large pages (large_floats): 9–17 MB for each of ResNet-50's deeper 3×3s (AVX2)
};

// G of F(2×2, 3×3) and of F(4×4, 3×3): rows of 3.
constexpr float kG2[4][3] = {{1.f, 0.f, 0.f}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0.f, 0.f, 1.f}};
constexpr float kG4[6][3] = {{0.25f, 0.f, 0.f},
                             {-1.f / 6, -1.f / 6, -1.f / 6},
                             {-1.f / 6, 1.f / 6, -1.f / 6},
                             {1.f / 24, 1.f / 12, 1.f / 6},
                             {1.f / 24, -1.f / 12, 1.f / 6},
                             {0.f, 0.f, 1.f}};

// U = G·g·Gᵀ of every filter (a = 4 or 6 rows of G) into the row panels of kMR filters.
void transform_filters(const float* w, int64_t M, int64_t C, int a, int64_t kMR, float* dst) {
  const float(*G)[3] = a == 4 ? kG2 : kG4;
  const int64_t panels = (M + kMR - 1) / kMR;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t c = 0; c < C; ++c) {
      const float* g = w + (m * C + c) * 9;
      float t[6][3];
      for (int i = 0; i < a; ++i)  // G down the columns
        for (int j = 0; j < 3; ++j) t[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
      for (int i = 0; i < a; ++i)  // Gᵀ along the rows
        for (int j = 0; j < a; ++j) {
          const float u = G[j][0] * t[i][0] + G[j][1] * t[i][1] + G[j][2] * t[i][2];
          dst[(((i * a + j) * panels + m / kMR) * C + c) * kMR + m % kMR] = u;
        }
    }
}

// Output tiles of F(m×m, 3×3) over the plane.
int64_t tile_count(const ku::WindowGeom& g, int64_t m) { return (g.out[0] + m - 1) / m * ((g.out[1] + m - 1) / m); }

// 4×4 tiles where there are enough of them to fill the panels (AVX-512: 56×56, 196 in 7
// panels), else 2×2.
int64_t tile_size(const ku::WindowGeom& g) {
  if (const char* force = std::getenv("FLEETRT_WINOGRAD_TILE")) return std::atoi(force) == 4 ? 4 : 2;
  return tile_count(g, 4) >= isa().f4_tiles ? 4 : 2;
}

}  // namespace

bool fits(const ku::WindowGeom& g, int64_t Cg, int64_t Mg, int64_t group) {
  if (!ku::use_avx2() || g.in.size() != 2 || group != 1) return false;
  for (int d = 0; d < 2; ++d)
    if (g.kernel[d] != 3 || g.stride[d] != 1 || g.dil[d] != 1) return false;
  if (const char* force = std::getenv("FLEETRT_CONV_PATH")) return std::strcmp(force, "winograd") == 0;
  // From 64 channels in and out, and 16 tiles of 2×2 (7×7 planes). ResNet-50's 3×3s by F(2×2,
  // 3×3), 2 threads, caches flushed, input read back, against the direct kernel: 56×56 c64
  // 1.14–1.17 → 0.86–0.88 ms, 28×28 c128 1.15–1.24 → 0.83–0.88, 14×14 c256 1.23–1.34 →
  // 0.84–0.96. AVX-512, 7×7 c512 (16 tiles: the microkernel's 16-column form; 16.8 MB of
  // transformed filters against 9.4) against the packed GEMM, alternated per call: 0.95–1.21 →
  // 0.74–0.90 ms cold, 0.87–1.01 → 0.66–0.77 warm; ResNet-18 in all 6% faster, ResNet-50 2%
  // (each build in its own process, alternated). Before that form it took the whole 32-column
  // panel: 1.73–1.88 ms cold.
  return Cg >= 64 && Mg >= 64 && tile_count(g, 2) >= isa().min_tiles;
}

bool run(KernelContext& ctx, const float* x, const float* w, const float* bias, float* y, int64_t N, int64_t C,
         int64_t M, const ku::WindowGeom& g, const ConvEpilogue* ep) {
  const Tensor* wt = ctx.input(1);
  if (!wt || !ctx.input_is_constant(1)) return false;
  const Isa is = isa();
  const int64_t kMR = is.mr, kNR = is.nr;
  const int64_t mt = tile_size(g), a = mt + 2, XI = a * a;  // tile, patch, transformed elements
  const int64_t panels = (M + kMR - 1) / kMR;
  auto U = ku::prepared<Filters>(
      ctx,
      [&](const Filters& f) { return f.data == wt->data && f.M == M && f.C == C && f.m == mt && f.mr == kMR; },
      [&] {
        auto f = std::make_shared<Filters>(Filters{wt->data, M, C, mt, kMR, ku::large_floats(XI * panels * kMR * C)});
        if (!f->packed) return std::shared_ptr<const Filters>();
        std::fill_n(f->packed.get(), XI * panels * kMR * C, 0.f);
        transform_filters(w, M, C, static_cast<int>(a), kMR, f->packed.get());
        return std::shared_ptr<const Filters>(std::move(f));
      });
  if (!U) return false;
  const float* upk = U->packed.get();
  const auto input_tiles = mt == 4 ? is.input_f4 : is.input_f2;
  const auto output_tiles = mt == 4 ? is.output_f4 : is.output_f2;
  // With AVX-512 the output transform stores each tile row into the output with the epilogue
  // applied in its registers where the epilogue is a bias, residual and affine clamp (or none);
  // else into a row buffer, then the epilogue from there into the output (a pass over every
  // output in L1 and a call per row: scripts/bench/ab.ts, 2 threads, 96 passes, same bits:
  // ResNet-50's stride-1 3×3s 6.6% faster, the net 1.9%; ResNet-18 1.0%).
  TileRowStores st{};
  StoreTiles* const store_tiles = mt == 4 ? is.store_f4 : is.store_f2;
  const bool in_stores = store_tiles && (!ep || ep->in_stores(&st));

  const int64_t H = g.in[0], W = g.in[1], OH = g.out[0], OW = g.out[1], isz = H * W, osz = OH * OW;
  const int64_t pt = g.pad_begin[0], pl = g.pad_begin[1];
  const int64_t TW = (OW + mt - 1) / mt, T = tile_count(g, mt);
  // Blocks of column panels, as many as keep a block's inputs near kBlockInputBytes, in a count
  // the threads share evenly (block b: panels tpanels·b/nblocks up to tpanels·(b + 1)/nblocks).
  // The tiles are shared out in proportion to the panels (block_start), so that the last block
  // does not get what the others leave: 49 tiles in 2 blocks go as 24 and 25, not 32 and 17,
  // which left one thread nearly twice the transforms of the other, and 196 in 7 as 28 each, not
  // six of 32 and one of 4. ResNet-18 in the model, 2 threads, builds alternated (opab, 8
  // rounds, both orders): 56×56 c64 3×3s 555–588 → 507–535 µs, 28×28 c128 515–518 → 485–490.
  const int64_t threads = std::max(1, ctx.num_threads());
  const int64_t tpanels = (T + kNR - 1) / kNR;
  const int64_t most = std::max<int64_t>(1, kBlockInputBytes / (XI * C * kNR * int64_t{sizeof(float)}));
  int64_t nblocks = (tpanels + most - 1) / most;
  if (N * nblocks > 1 && threads > 1) nblocks = std::min(tpanels, (nblocks + threads - 1) / threads * threads);
  const int64_t per_block = (tpanels + nblocks - 1) / nblocks * kNR;  // tiles per block at most
  auto block_start = [&](int64_t b) { return T * (tpanels * b / nblocks) / tpanels; };
  // Tasks: a block of one image with a range of filter panels each. Fewer blocks than threads:
  // the threads share each block's filters too (each one transforms the block's inputs). Where
  // the blocks do not go evenly into the threads (a 56×56 plane's 7 on 2), the ones left over are
  // shared alike, placed mid-list, so that the calling thread (from the front) and a worker (from
  // the back) get one part each: fleetrt_conv_bench, 2 threads, ResNet's 56×56 c64 3×3, alternated in one
  // process, best of 3 runs: 0.560–0.564 → 0.505–0.516 ms (ResNet-18's), 0.528–0.540 →
  // 0.487–0.522 (ResNet-50's); whole models, builds alternated 12 rounds: ResNet-18 13.95 →
  // 13.67 ms, ResNet-50 36.75 → 36.39.
  struct Task {
    int64_t n, blk, p0, p1;
  };
  std::vector<Task> tasks;
  int64_t chunk_panels = 0;
  auto add_block = [&](int64_t i, int64_t parts) {
    parts = std::min(parts, panels);
    const int64_t per = (panels + parts - 1) / parts;
    for (int64_t p0 = 0; p0 < panels; p0 += per)
      tasks.push_back(Task{i / nblocks, i % nblocks, p0, std::min(panels, p0 + per)});
    chunk_panels = std::max(chunk_panels, per);
  };
  const int64_t blocks = N * nblocks;
  if (blocks < threads) {
    for (int64_t i = 0; i < blocks; ++i) add_block(i, (threads + blocks - 1) / blocks);
  } else {
    const int64_t left = blocks % threads, whole = blocks - left;
    const int64_t parts = left > 0 && threads % left == 0 ? threads / left : 1;
    for (int64_t i = 0; i < whole / 2; ++i) add_block(i, 1);
    for (int64_t i = whole; i < blocks; ++i) add_block(i, parts);
    for (int64_t i = whole / 2; i < whole; ++i) add_block(i, 1);
  }
  // The XI arrays of a block's inputs and products lie a line more than their size apart: at a
  // multiple of 4 KiB, the stores (and loads) of a tile would all fall in one set of L1.
  const int64_t vstride = C * per_block + 16, mstride_rows = (chunk_panels * kMR * per_block + 16);

  auto body = [&](int64_t t0, int64_t t1) {
    thread_local std::vector<float> vbuf, mat, out;
    // the microkernel reads the column panels with aligned loads: from a 64-byte boundary on
    if (vbuf.size() < static_cast<size_t>(XI * vstride + 16)) vbuf.resize(static_cast<size_t>(XI * vstride + 16));
    float* const vpk = vbuf.data() + (16 - reinterpret_cast<uintptr_t>(vbuf.data()) / sizeof(float) % 16) % 16;
    const size_t msize = static_cast<size_t>(XI * mstride_rows);
    if (mat.size() < msize) mat.resize(msize);
    const int64_t row_len = mt * TW + 64;  // an output row of tiles (the stores may pass it by up to 63)
    if (out.size() < static_cast<size_t>(mt * row_len)) out.resize(static_cast<size_t>(mt * row_len));
    float* rows[4];
    for (int64_t dy = 0; dy < mt; ++dy) rows[dy] = out.data() + dy * row_len;
    for (int64_t task = t0; task < t1; ++task) {
      const int64_t n = tasks[task].n, blk = tasks[task].blk, p0 = tasks[task].p0, p1 = tasks[task].p1;
      const int64_t ta = block_start(blk), tb = block_start(blk + 1), nt = tb - ta;
      if (nt <= 0 || p0 >= p1) continue;
      const int64_t bpanels = (nt + kNR - 1) / kNR;
      // input transform into [ξ][column panel][channel][32] (the last panel's spare lanes keep what
      // they held: the microkernel's columns past nr are never stored, nor read)
      for (int64_t c = 0; c < C; ++c) {
        const float* xc = x + (n * C + c) * isz;
        for (int64_t ty = ta / TW; ty * TW < tb; ++ty)
          // the row's tiles in runs that stay inside one column panel
          for (int64_t t = std::max(ta, ty * TW), t_end = std::min(tb, (ty + 1) * TW); t < t_end;) {
            const int64_t j = t - ta, run_end = std::min(t_end, ta + (j / kNR + 1) * kNR);
            float* dst = vpk + (j / kNR) * C * kNR + c * kNR + j % kNR;
            input_tiles(xc, H, W, mt * ty - pt, pl, t - ty * TW, run_end - ty * TW, dst, vstride);
            t = run_end;
          }
      }
      // the XI products: mat[ξ][filter − 12·p0][tile], per_block apart
      for (int64_t xi = 0; xi < XI; ++xi)
        for (int64_t q = 0; q < bpanels; ++q) {
          const float* vq = vpk + xi * vstride + q * C * kNR;
          const int64_t nr = std::min(kNR, nt - q * kNR);
          for (int64_t p = p0; p < p1; ++p) {
            const float* up = upk + (xi * panels + p) * C * kMR;
            float* cm = mat.data() + xi * mstride_rows + (p - p0) * kMR * per_block + q * kNR;
            for (int64_t k0 = 0; k0 < C; k0 += kKC)
              (q == 0 ? is.first : is.kernel)(std::min(kKC, C - k0), up + k0 * kMR, vq + k0 * kNR, cm, per_block, 1.f,
                                              k0 ? 1.f : 0.f, static_cast<int>(kMR), static_cast<int>(nr));
          }
        }
      // output transform, a tile row at a time, then the epilogue on each output row's run
      for (int64_t m = p0 * kMR; m < std::min(M, p1 * kMR); ++m) {
        const float* mm = mat.data() + (m - p0 * kMR) * per_block;
        const float* zm = ep && ep->residual ? ep->residual + (n * M + m) * osz : nullptr;
        float* ym = y + (n * M + m) * osz;
        const float b = bias ? bias[m] : 0.f;
        for (int64_t ty = ta / TW; ty * TW < tb; ++ty) {
          const int64_t t = std::max(ta, ty * TW), t_end = std::min(tb, (ty + 1) * TW);
          const int64_t ox0 = mt * (t - ty * TW), ox1 = std::min(OW, mt * (t_end - ty * TW));
          if (in_stores) {
            TileRowStores row = st;
            row.width = ox1 - ox0;
            row.bias = b;
            for (int64_t dy = 0; dy < mt; ++dy) {
              const int64_t at = (mt * ty + dy) * OW + ox0;
              const bool inside = mt * ty + dy < OH;
              row.rows[dy] = inside ? ym + at : nullptr;
              row.z[dy] = inside && zm ? zm + at : nullptr;
            }
            store_tiles(mm + (t - ta), mstride_rows, t_end - t, row);
            continue;
          }
          output_tiles(mm + (t - ta), mstride_rows, t_end - t, rows);
          for (int64_t dy = 0; dy < mt && mt * ty + dy < OH; ++dy) {
            const int64_t at = (mt * ty + dy) * OW + ox0;
            finish_conv_run(ep, ym + at, rows[dy], ox1 - ox0, b, zm ? zm + at : nullptr);
          }
        }
      }
    }
  };
  const int64_t count = static_cast<int64_t>(tasks.size());
  if (count > 1 && threads > 1) ctx.parallel_for(count, 1, body);
  else body(0, count);
  return true;
}

}  // namespace winograd
}  // namespace fleetrt
