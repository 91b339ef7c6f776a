// Axis permutation (data_transpose.h): coalesce, then either copy runs (the innermost axis stays
// innermost) or transpose 2-D tiles between the output's innermost axis and the source's.
// Measured with fleetrt_stream_bench (2 threads, against a memcpy of the same bytes between
// buffers of its own, builds alternated run by run; Zen 4 guest, 32 MiB L3): 4096×4096 (67 MB,
// streamed) 34–36 GB/s = 101–109% of memcpy; 768×3072 and 3072×768 (9.4 MB) 52–62 GB/s = 80–94%
// since they stay in cache, streamed before: 48–52 GB/s = 44–55% (70–80 GB/s, still ~50%, while
// the memory was less busy). Runs of 64 floats [0,2,1,3]: 31 → 45–48 GB/s with the runs ahead
// prefetched and the stores streamed, 52 GB/s (106–121% of memcpy) reading the source in order.
// Where the 16 source lines of a block share one L1 set (rows a multiple of 4 KiB apart, as
// 768×3072's), their loads take twice as long as with rows 3088 floats apart; staging rows
// through a padded buffer, 8-row half blocks and other block orders did not win it back, but
// reading each source line by two 8×8s in a row (data_transpose_avx2.cpp) wins back 30%: on a
// Zen 3 host where a memcpy of those 9.4 MB runs from L3 at ~100 GB/s, 29–31 → 38–40 GB/s
// (38–40% of it; 3072×768, rows of d 12 KiB apart, 41–42 GB/s).
#include "data_transpose.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "kernel_util.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace fleetrt {
namespace ku {
namespace {

constexpr int64_t kTaskBytes = 64 * 1024;  // bytes moved per parallel task
// Tiles: kTA rows of the output (columns of the source) × kTB of its columns (rows of the source).
// Consecutive tiles continue along the same output rows, so that they are written in order.
constexpr int64_t kTA = 128, kTB = 512;
// From this size on (bytes of the output) 4-byte tiles and runs of whole lines are written with
// non-temporal stores: half the last-level cache, at least 4 MiB. A larger output does not stay in
// cache anyway, and they save reading each output line before writing it. A smaller one stays
// cached for the op that reads it next, as memcpy keeps it (glibc streams only from 3/4 of the
// cache it sees). FLEETRT_STREAM_BYTES sets it (tests cover both paths with it).
int64_t stream_bytes() {
  static const int64_t bytes = [] {
    const char* v = std::getenv("FLEETRT_STREAM_BYTES");
    if (v && *v) return std::max<int64_t>(0, std::atoll(v));
    return std::max(int64_t{4} << 20, last_level_cache_bytes() / 2);
  }();
  return bytes;
}

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

// Offset on one side of run `r` of a walk in the other side's order: the walk's dims od (the last
// is the run's own) with this side's strides os. Kept as an index per dim so that the next run
// costs a carry, not a division.
struct Odometer {
  const std::vector<int64_t>& od;
  const std::vector<int64_t>& os;
  std::vector<int64_t> idx;
  int64_t off = 0;
  Odometer(const std::vector<int64_t>& dims, const std::vector<int64_t>& strides, int64_t r)
      : od(dims), os(strides), idx(dims.size(), 0) {
    for (size_t k = od.size() - 1; k-- > 0;) {
      idx[k] = r % od[k];
      r /= od[k];
      off += idx[k] * os[k];
    }
  }
  void advance() {
    for (size_t k = od.size() - 1; k-- > 0;) {
      off += os[k];
      if (++idx[k] < od[k]) return;
      off -= os[k] * od[k];
      idx[k] = 0;
    }
  }
};

// n bytes; streamed: non-temporal stores (d and n whole 64-byte lines), the caller fences.
void copy_run(char* d, const char* s, int64_t n, bool stream) {
#if defined(__SSE2__)
  if (stream) {
    for (int64_t i = 0; i < n; i += 16)
      _mm_stream_si128(reinterpret_cast<__m128i*>(d + i), _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i)));
    return;
  }
#else
  (void)stream;
#endif
  std::memcpy(d, s, static_cast<size_t>(n));
}

void store_fence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

void run(KernelContext* ctx, int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (ctx && ctx->num_threads() > 1 && n > grain) ctx->parallel_for(n, grain, fn);
  else fn(0, n);
}

}  // namespace

namespace {
// permute's working vectors (ku::thread_kept: a decoder step transposes small tensors in every layer).
struct PermuteScratch {
  std::vector<int64_t> st, od, os, ost, wd, ws, order, odims, osrc, odst;
};
}  // namespace

void permute(KernelContext* ctx, size_t es, const void* src, const std::vector<int64_t>& shape,
             const std::vector<int64_t>& perm, void* dst) {
  const size_t rank = shape.size();
  PermuteScratch& kept = thread_kept<PermuteScratch>();
  std::vector<int64_t>& st = kept.st;
  st.assign(rank, 1);
  for (size_t i = rank; i-- > 1;) st[i - 1] = st[i] * shape[i];
  // Output dims with their source strides; size-1 dims dropped, neighbours contiguous in the source merged.
  std::vector<int64_t>& od = kept.od;
  std::vector<int64_t>& os = kept.os;
  od.clear();
  os.clear();
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
  std::vector<int64_t>& ost = kept.ost;  // output strides
  ost.assign(static_cast<size_t>(R), 1);
  for (int64_t k = R - 1; k > 0; --k) ost[k - 1] = ost[k] * od[k];

  if (inner_st == 1) {
    // The innermost axis stays innermost: copy runs of `inner` elements.
    const int64_t run_bytes = inner * esz, rows = total / inner, grain = std::max<int64_t>(1, kTaskBytes / run_bytes);
    // Runs of whole aligned lines are streamed as the tiles below are.
    const bool stream = R > 1 && total * esz >= stream_bytes() && run_bytes % 64 == 0 &&
                        reinterpret_cast<uintptr_t>(d) % 64 == 0;
    // One side is walked in order and the other's runs lie apart. Reading the source in order
    // and scattering whole lines wins (64x128x12x64 [0,2,1,3]: 1.17 → 0.96 ms; runs of 64 B
    // 2.5x), unless the output's runs lie within two lines of each other in the source, or
    // runs shorter than a line would be written apart, a piece of a line at a time.
    const bool by_source = R > 1 && run_bytes >= 64 && os[R - 2] * esz > 128;
    // The walk's dims (the run's last) with the other side's strides: the output's dims with the
    // source's strides, or the output's dims in the source's order with the output's strides.
    std::vector<int64_t>& wd = kept.wd;
    std::vector<int64_t>& ws = kept.ws;
    wd = od;
    ws = os;
    if (by_source) {
      std::vector<int64_t>& order = kept.order;
      order.resize(static_cast<size_t>(R - 1));
      for (int64_t k = 0; k < R - 1; ++k) order[k] = k;
      std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return os[a] > os[b]; });
      for (int64_t i = 0; i < R - 1; ++i) {
        wd[i] = od[order[i]];
        ws[i] = ost[order[i]];
      }
      ws[R - 1] = 1;
    }
    // Walking the output, runs of 64 B to 4 KiB lie apart in the source, where the hardware does
    // not prefetch: the runs ~4 KiB ahead are. The two walks are compiled apart: runs of 64 B by
    // the source took 0.23 ms with one loop for both, 0.28 (64x128x12x16).
    const int64_t ahead = run_bytes >= 64 && run_bytes <= 4096 ? std::min<int64_t>(16, 4096 / run_bytes) : 0;
    auto walk = [&](auto source_order) {
      constexpr bool kBySource = decltype(source_order)::value;
      run(ctx, rows, grain, [&](int64_t r0, int64_t r1) {
        Odometer at(wd, ws, r0), next(wd, ws, kBySource ? r0 : std::min(r1, r0 + ahead));
        for (int64_t r = r0; r < r1; ++r) {
          if constexpr (kBySource) {
            copy_run(d + at.off * esz, s + r * run_bytes, run_bytes, stream);
          } else {
            if (ahead && r + ahead < r1) {
              for (int64_t b = 0; b < run_bytes; b += 64) __builtin_prefetch(s + next.off * esz + b, 0, 3);
              next.advance();
            }
            copy_run(d + r * run_bytes, s + at.off * esz, run_bytes, stream);
          }
          at.advance();
        }
        if (stream) store_fence();  // the stores are weakly ordered: visible before the task ends
      });
    };
    if (by_source) walk(std::true_type{});
    else walk(std::false_type{});
    return;
  }

  // The source's innermost axis (stride 1) is output axis q: transpose (q, last) tiles for every
  // index of the other axes.
  int64_t q = 0;
  while (os[q] != 1) ++q;
  std::vector<int64_t>& odims = kept.odims;  // the other axes
  std::vector<int64_t>& osrc = kept.osrc;
  std::vector<int64_t>& odst = kept.odst;
  odims.clear();
  osrc.clear();
  odst.clear();
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
  // Two parts per thread, each a run of whole tiles, rather than the pool's finest split (4 per
  // thread): 3072×768 on 2 threads 0.26–0.27 → 0.22 ms where the host put the two cores far
  // apart (likely fewer tiles changing threads from one run to the next, their lines in the other
  // thread's cache); the other cases within noise.
  // And at least kTaskBytes a part, as the runs above: a small tensor split into many small tiles
  // paid the pool's wake-up for each (a decoder's K cache [2,4,7,8] → [0,1,3,2], 8 tiles of 7×8:
  // 7.5 µs on 2 threads against 0.8 µs for a Transpose of its size in one piece).
  const int64_t threads = ctx ? std::max(1, ctx->num_threads()) : 1;
  const int64_t items = outer * ti * tj, item_bytes = std::max<int64_t>(1, total * esz / items);
  const int64_t grain = std::max({int64_t{1}, (items + 2 * threads - 1) / (2 * threads), kTaskBytes / item_bytes});
  const bool stream = total * esz >= stream_bytes();
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
