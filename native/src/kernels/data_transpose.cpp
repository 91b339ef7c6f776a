// Axis permutation (data_transpose.h): coalesce, then either copy runs (the innermost axis stays
// innermost) or transpose 2-D tiles between the output's innermost axis and the source's.
// Measured with fleetrt_stream_bench (2 threads, against memcpy of the same bytes; medians of 4
// and of 5 runs alternating with the previous code on the shared, loaded 2-vCPU Zen 5 guest):
// 3072×768 went from 50–58% to 66–67% of memcpy, 768×3072 from 36–40% to 44–54%, the 4-D
// permutations that move the innermost axis from 54–78% to 52–80%; 4096×4096 from 30% to 27–36%
// (source rows 16 KiB apart: the 16 source lines of a block share one L1 set; 768×3072's 12 KiB
// apart too). Those runs had the buffers of std::vectors, not 64-byte aligned, so the stores were
// never streamed; with aligned ones, as the runtime allocates tensors (2 threads, Zen 4 guest):
// 4096×4096 35–40 GB/s = 101–116% of memcpy, the 4-D ones 85–118%, 768×3072 and 3072×768 47–61
// GB/s = 47–53% of a memcpy that keeps their 9.4 MB in L3 (the streamed stores go to memory).
#include "data_transpose.h"

#include <algorithm>
#include <cstring>

#include "kernel_util.h"

namespace fleetrt {
namespace ku {
namespace {

constexpr int64_t kTaskBytes = 64 * 1024;  // bytes moved per parallel task
// Tiles: kTA rows of the output (columns of the source) × kTB of its columns (rows of the source).
// Consecutive tiles continue along the same output rows, so that they are written in order.
constexpr int64_t kTA = 128, kTB = 512;
// From this size on (bytes of the output) 4-byte transposes write with non-temporal stores: the
// output does not fit in cache anyway, and they save reading each output line before writing it.
constexpr int64_t kStreamBytes = int64_t{4} << 20;

template <class T>
void tile_generic(const T* s, int64_t ss, T* d, int64_t ds, int64_t rows, int64_t cols) {
  for (int64_t i0 = 0; i0 < rows; i0 += 8)
    for (int64_t j = 0; j < cols; ++j)
      for (int64_t i = i0; i < std::min(rows, i0 + 8); ++i) d[i * ds + j] = s[j * ss + i];
}

void tile_bytes(size_t es, const char* s, int64_t ss, char* d, int64_t ds, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) std::memcpy(d + (i * ds + j) * es, s + (j * ss + i) * es, es);
}

void tile(size_t es, const void* s, int64_t ss, void* d, int64_t ds, int64_t rows, int64_t cols, bool stream) {
  switch (es) {
    case 1: return tile_generic(static_cast<const uint8_t*>(s), ss, static_cast<uint8_t*>(d), ds, rows, cols);
    case 2: return tile_generic(static_cast<const uint16_t*>(s), ss, static_cast<uint16_t*>(d), ds, rows, cols);
    case 4: {
      const float* sf = static_cast<const float*>(s);
      float* df = static_cast<float*>(d);
      // non-temporal stores need whole aligned lines
      stream = stream && ds % 16 == 0 && reinterpret_cast<uintptr_t>(df) % 64 == 0;
      if (use_avx512()) return transpose_detail::tile_f32_avx512(sf, ss, df, ds, rows, cols, stream);
      if (use_avx2()) return transpose_detail::tile_f32_avx2(sf, ss, df, ds, rows, cols, stream);
      return tile_generic(static_cast<const uint32_t*>(s), ss, static_cast<uint32_t*>(d), ds, rows, cols);
    }
    case 8: return tile_generic(static_cast<const uint64_t*>(s), ss, static_cast<uint64_t*>(d), ds, rows, cols);
    default: return tile_bytes(es, static_cast<const char*>(s), ss, static_cast<char*>(d), ds, rows, cols);
  }
}

void run(KernelContext* ctx, int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (ctx && ctx->num_threads() > 1 && n > grain) ctx->parallel_for(n, grain, fn);
  else fn(0, n);
}

}  // namespace

void permute(KernelContext* ctx, size_t es, const void* src, const std::vector<int64_t>& shape,
             const std::vector<int64_t>& perm, void* dst) {
  const size_t rank = shape.size();
  std::vector<int64_t> st(rank, 1);
  for (size_t i = rank; i-- > 1;) st[i - 1] = st[i] * shape[i];
  // Output dims with their source strides; size-1 dims dropped, neighbours contiguous in the source merged.
  std::vector<int64_t> od, os;
  for (size_t i = 0; i < rank; ++i) {
    const int64_t n = shape[perm[i]], s = st[perm[i]];
    if (n == 0) return;
    if (n == 1) continue;
    if (!od.empty() && os.back() == s * n) {
      od.back() *= n;
      os.back() = s;
    } else {
      od.push_back(n);
      os.push_back(s);
    }
  }
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  if (od.empty()) {
    std::memcpy(d, s, es);
    return;
  }
  const int64_t R = static_cast<int64_t>(od.size()), inner = od[R - 1], inner_st = os[R - 1];
  int64_t total = 1;
  for (int64_t n : od) total *= n;
  const int64_t esz = static_cast<int64_t>(es);

  if (inner_st == 1) {
    // The innermost axis stays innermost: copy runs of `inner` elements.
    const int64_t rows = total / inner, grain = std::max<int64_t>(1, kTaskBytes / (inner * esz));
    run(ctx, rows, grain, [&](int64_t r0, int64_t r1) {
      std::vector<int64_t> idx(static_cast<size_t>(R), 0);
      int64_t off = 0, rem = r0;
      for (int64_t k = R - 2; k >= 0; --k) {
        idx[k] = rem % od[k];
        rem /= od[k];
        off += idx[k] * os[k];
      }
      for (int64_t r = r0; r < r1; ++r) {
        std::memcpy(d + r * inner * esz, s + off * esz, static_cast<size_t>(inner * esz));
        for (int64_t k = R - 2; k >= 0; --k) {
          off += os[k];
          if (++idx[k] < od[k]) break;
          off -= os[k] * od[k];
          idx[k] = 0;
        }
      }
    });
    return;
  }

  // The source's innermost axis (stride 1) is output axis q: transpose (q, last) tiles for every
  // index of the other axes.
  int64_t q = 0;
  while (os[q] != 1) ++q;
  std::vector<int64_t> ost(static_cast<size_t>(R), 1);  // output strides
  for (int64_t k = R - 1; k > 0; --k) ost[k - 1] = ost[k] * od[k];
  std::vector<int64_t> odims, osrc, odst;  // the other axes
  for (int64_t k = 0; k < R - 1; ++k)
    if (k != q) {
      odims.push_back(od[k]);
      osrc.push_back(os[k]);
      odst.push_back(ost[k]);
    }
  const int64_t rows = od[q], ds = ost[q];
  const int64_t ti = (rows + kTA - 1) / kTA, tj = (inner + kTB - 1) / kTB;
  int64_t outer = 1;
  for (int64_t n : odims) outer *= n;
  const int64_t items = outer * ti * tj, grain = std::max<int64_t>(1, kTaskBytes / (kTA * kTB * esz));
  const bool stream = total * esz >= kStreamBytes;
  run(ctx, items, grain, [&](int64_t i0, int64_t i1) {
    for (int64_t it = i0; it < i1; ++it) {
      int64_t rem = it / (ti * tj), so = 0, dof = 0;
      for (size_t k = odims.size(); k-- > 0;) {
        const int64_t x = rem % odims[k];
        rem /= odims[k];
        so += x * osrc[k];
        dof += x * odst[k];
      }
      const int64_t a = (it / tj) % ti * kTA, b = it % tj * kTB;
      tile(es, s + (so + b * inner_st + a) * esz, inner_st, d + (dof + a * ds + b) * esz, ds, std::min(kTA, rows - a),
           std::min(kTB, inner - b), stream);
    }
  });
}

}  // namespace ku
}  // namespace fleetrt
