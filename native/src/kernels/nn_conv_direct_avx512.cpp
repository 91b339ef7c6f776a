// AVX-512 direct 2-D convolution over phase planes (nn_conv_direct.h): 8 output channels × 32
// positions in 16 zmm registers (× 48 in 24 for wide planes). Compiled for AVX-512F by the pragma below; nn_conv.cpp calls it
// only after ku::use_avx512().
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#include <immintrin.h>

#include <algorithm>

#include "fused_epilogue_avx512.h"
#include "nn_conv_direct.h"

namespace fleetrt {
namespace convdirect {
namespace {

constexpr int kMB = 8;  // output channels per block
constexpr int kOV = 2;  // 16-float vectors of output positions per block

// The lanes of the 16 positions from q (Problem::row_width layout) that are stored (columns below
// out_cols, positions below out_limit), and where the first of them goes: they go to consecutive
// places, as the skipped columns of one row sit between its last stored one and the next row's first.
inline __mmask16 row_lanes(const Problem& p, int64_t q, int64_t* dst) {
  const int64_t Wq = p.row_width, OW = p.out_cols, c0 = q % Wq;
  uint32_t m = 0;
  for (int64_t start = -c0; start < 16; start += Wq) {  // lane of each row's column 0
    const int64_t lo = std::max<int64_t>(start, 0), hi = std::min<int64_t>(start + OW, 16);
    if (hi > lo) m |= ((1u << hi) - 1) & ~((1u << lo) - 1);
  }
  const int64_t left = p.out_limit - q;
  if (left < 16) m &= left <= 0 ? 0u : (1u << left) - 1;
  *dst = (q / Wq) * OW + std::min(c0, OW);
  return static_cast<__mmask16>(m);
}

// Stores a block's sums with row_lanes (Problem::row_width): each vector's stored lanes packed
// together, the epilogue e (or none) applied to them as block() applies it.
template <int MB, int OV>
__attribute__((always_inline)) inline void store_rows(const Problem& p, const StoreEpilogue* e, int64_t q,
                                                      __m512 (&acc)[MB][OV], float* out, int64_t m0) {
#pragma GCC unroll 4
  for (int v = 0; v < OV; ++v) {
    int64_t dst;
    const __mmask16 lanes = row_lanes(p, q + 16 * v, &dst);
    if (!lanes) continue;
    const __mmask16 packed = static_cast<__mmask16>((1u << _mm_popcnt_u32(lanes)) - 1);
#pragma GCC unroll 8
    for (int j = 0; j < MB; ++j) {
      __m512 x = _mm512_maskz_compress_ps(lanes, acc[j][v]);
      if (e) {
        const __m512 vbias = _mm512_set1_ps(e->bias ? e->bias[m0 + j] : 0.f);
        const float* zr = e->z ? e->z + (m0 + j) * p.out_stride + dst : nullptr;
        x = epilogue_avx512(x, zr ? _mm512_add_ps(vbias, _mm512_maskz_loadu_ps(packed, zr)) : vbias, *e);
      }
      _mm512_mask_storeu_ps(out + (m0 + j) * p.out_stride + dst, packed, x);
    }
  }
}

// kPacked: the block's weights as [k][MB] (Problem::packed_weights), else row m at m·weight_stride.
template <int MB, int OV, bool kPacked>
void block(const Problem& p, int64_t o0, int64_t o1, float* out, int64_t m0) {
  const float* w0 = p.weights + m0 * p.weight_stride;
  const int64_t js = kPacked ? 1 : p.weight_stride, ks = kPacked ? MB : 1;  // weight (j, k) at w0[j·js + k·ks]
  // The epilogue read from a copy: the stores to `out` might alias *p.epilogue, which would then
  // be read again after each of them.
  const StoreEpilogue copy = p.epilogue ? *p.epilogue : StoreEpilogue{};
  const StoreEpilogue* const e = p.epilogue ? &copy : nullptr;
  for (int64_t o = o0; o < o1; o += OV * 16) {
    __m512 acc[MB][OV];
    for (int j = 0; j < MB; ++j)
      for (int v = 0; v < OV; ++v) acc[j][v] = _mm512_setzero_ps();
    int64_t k = 0;
    if (p.ntaps == 1) {
      // 1×1: one tap, channels one after another. Each channel's run is a stream of its own,
      // a plane apart from the next, too many and too short for the hardware prefetchers: the
      // run four blocks on is fetched into L2 now, so that the first pass over a span of
      // positions does not wait on L3 line by line. MobileNetV2's memory-bound 1×1s with few
      // filters, in the model, 2 threads, the two builds alternated (medians of 10 rounds):
      // 112×112 c32→16 0.190 → 0.161 ms, 56×56 c96→24 0.120 → 0.108, c144→24 0.149 → 0.141
      // (0.235 → 0.192, 0.184 → 0.151, 0.237 → 0.211 with another process busy on one CPU);
      // ResNet-50's 1×1s (fleetrt_conv_bench, FLEETRT_BENCH_CMP) within 1%. Prefetches never
      // fault, so the last blocks' may point past the plane. Only the call's first block of
      // filters fetches them: for the others the runs are in L2 already, and the prefetches
      // took load slots from the multiply-adds (scripts/bench/ab.ts, 2 threads, 96 passes:
      // ResNet-50's 1×1s 7% faster, the net 3.6%; MobileNetV2 2.6%; ResNet-18 unchanged).
      // The first pass over positions also fetches the next block's packed weights into L2, a
      // line every other channel: they come from memory (a model's weights outgrow L3), late
      // where the host put the two threads' cores far apart (a round trip between them ~390 ns,
      // not ~100). ResNet-50, 2 threads, builds alternated, rounds split by that round trip:
      // 14×14 c256→1024 800 → 615 µs far apart (the model 43.8 → 42.5 ms), 503 → 492 µs near.
      const float* s = p.phases + o + p.tap_offsets[0];
      const int64_t cs = p.channel_stride;
      const float* next_w =
          kPacked && o == o0 && m0 + MB < p.out_channels ? p.weights + (m0 + MB) * p.weight_stride : nullptr;
      const bool fetch_runs = m0 == 0;
      for (int64_t c = 0; c < p.channels; ++c, s += cs) {
        __m512 x[OV];
        for (int v = 0; v < OV; ++v) x[v] = _mm512_loadu_ps(s + 16 * v);
        if (fetch_runs)
          for (int v = 0; v < OV; ++v)
            _mm_prefetch(reinterpret_cast<const char*>(s + 4 * OV * 16 + 16 * v), _MM_HINT_T1);
        if (next_w && (c & 1) == 0) _mm_prefetch(reinterpret_cast<const char*>(next_w + c * MB), _MM_HINT_T1);
        for (int j = 0; j < MB; ++j) {
          const __m512 wj = _mm512_set1_ps(w0[j * js + c * ks]);
          for (int v = 0; v < OV; ++v) acc[j][v] = _mm512_fmadd_ps(wj, x[v], acc[j][v]);
        }
      }
    } else
    for (int64_t c = 0; c < p.channels; ++c) {
      const float* base = p.phases + c * p.channel_stride + o;
      for (int64_t t = 0; t < p.ntaps; ++t, ++k) {
        const float* s = base + p.tap_offsets[t];
        __m512 x[OV];
        for (int v = 0; v < OV; ++v) x[v] = _mm512_loadu_ps(s + 16 * v);
        // The same tap's lines of the next channel into L1 (its phase planes lie a channel_stride
        // on, in L2; the prefetchers do not follow the jump), in the 48-position blocks of large
        // planes. fleetrt_conv_bench, 2 threads, FLEETRT_CONV_PATH=direct, best of 3 runs each:
        // ResNet-50's 56×56 c128 stride-2 3×3 1.254 → 1.166 ms, 28×28 c128 3×3 1.225 → 1.125,
        // ResNet-18's 56×56 c64 3×3 1.124 → 1.072; the 3-channel stems unchanged; two channels
        // ahead slower. The 32-position blocks of small planes gained nothing and lost ~5% on
        // 16×24 ones (unet_tiny's), where the prefetches crowd the loads of 16 multiply-adds.
        if constexpr (OV >= 3)
          for (int v = 0; v <= OV; ++v)
            _mm_prefetch(reinterpret_cast<const char*>(s + p.channel_stride + 16 * v), _MM_HINT_T0);
        for (int j = 0; j < MB; ++j) {
          const __m512 wj = _mm512_set1_ps(w0[j * js + k * ks]);
          for (int v = 0; v < OV; ++v) acc[j][v] = _mm512_fmadd_ps(wj, x[v], acc[j][v]);
        }
      }
    }
    if (p.row_width > 0) {
      store_rows<MB, OV>(p, e, o, acc, out, m0);  // row stores count positions from 0, not o0
      continue;
    }
    // Each output channel's sums through the epilogue and out. Every loop over the sums is unrolled
    // (here and in store_rows) so that they stay in registers: loops that indexed them at run time
    // kept all 24 on the stack, stored after the multiply-adds and loaded again for the epilogue
    // and the stores, in every block (in the model, 2 threads, alternated: ResNet-50 2.6% and
    // MobileNetV2 8.5% faster without; its 112×112 c16→96 1×1 0.285 → 0.207 ms).
    // Bias and residual go into every sum before the block's first store, so that its residual
    // loads all come before its stores rather than row by row between them (the output may lie
    // over the residual, so the compiler keeps them in the order written): in the model (2
    // threads, scripts/bench/ab.ts, 96 passes) ResNet-50's 28×28 and 14×14 1×1s with a residual
    // 9.2% faster, the net 2.0%; against the build before, process by process, 3–4%. Same
    // operations as ConvEpilogue::apply_to, same bits. (Prefetching the residual a block or more
    // ahead did nothing.)
    if (e) {
#pragma GCC unroll 8
      for (int j = 0; j < MB; ++j) {
        const __m512 vbias = _mm512_set1_ps(e->bias ? e->bias[m0 + j] : 0.f);
        const float* zr = e->z ? e->z + (m0 + j) * p.out_stride + (o - o0) : nullptr;
#pragma GCC unroll 4
        for (int v = 0; v < OV; ++v)
          acc[j][v] = _mm512_add_ps(acc[j][v], zr ? _mm512_add_ps(vbias, _mm512_loadu_ps(zr + 16 * v)) : vbias);
      }
    }
#pragma GCC unroll 8
    for (int j = 0; j < MB; ++j) {
      float* row = out + (m0 + j) * p.out_stride + (o - o0);
#pragma GCC unroll 4
      for (int v = 0; v < OV; ++v) _mm512_storeu_ps(row + 16 * v, e ? clamp_avx512(acc[j][v], *e) : acc[j][v]);
    }
  }
}

template <int OV, bool kP>
void run_blocks(const Problem& p, int64_t o0, int64_t o1, float* out) {
  for (int64_t m0 = 0; m0 < p.out_channels; m0 += kMB) {
    switch (std::min<int64_t>(kMB, p.out_channels - m0)) {
      case 8: block<8, OV, kP>(p, o0, o1, out, m0); break;
      case 7: block<7, OV, kP>(p, o0, o1, out, m0); break;
      case 6: block<6, OV, kP>(p, o0, o1, out, m0); break;
      case 5: block<5, OV, kP>(p, o0, o1, out, m0); break;
      case 4: block<4, OV, kP>(p, o0, o1, out, m0); break;
      case 3: block<3, OV, kP>(p, o0, o1, out, m0); break;
      case 2: block<2, OV, kP>(p, o0, o1, out, m0); break;
      default: block<1, OV, kP>(p, o0, o1, out, m0); break;
    }
  }
}

// Few positions (R) of a 1×1 conv, G blocks of 8 output channels at a time (independent sums to
// hide the multiply-add latency): per input channel c, the blocks' weights [c][8] times
// x[c][i] broadcast. The sums run over c in the order block() runs them, so that every output
// gets the same bits as there.
template <int R, int G>
void few_group(const Problem& p, int64_t m0, float* out) {
  const float* s = p.phases + p.tap_offsets[0];
  __m256 acc[G][R];
  __mmask8 wm[G];
  int64_t mbs[G];
  const float* w[G];
  for (int g = 0; g < G; ++g) {
    const int64_t mb = mbs[g] = std::min<int64_t>(kMB, p.out_channels - (m0 + g * kMB));
    wm[g] = static_cast<__mmask8>(mb > 0 ? (1u << mb) - 1 : 0);
    w[g] = p.weights + (m0 + g * kMB) * p.weight_stride;
    for (int i = 0; i < R; ++i) acc[g][i] = _mm256_setzero_ps();
  }
  for (int64_t c = 0; c < p.channels; ++c, s += p.channel_stride)
    for (int g = 0; g < G; ++g) {
      // packed block of mb channels: weight (j, c) at w[c·mb + j]
      const __m256 wv = _mm256_maskz_loadu_ps(wm[g], w[g] + c * mbs[g]);
      for (int i = 0; i < R; ++i) acc[g][i] = _mm256_fmadd_ps(wv, _mm256_set1_ps(s[i]), acc[g][i]);
    }
  for (int g = 0; g < G; ++g) {
    alignas(32) float t[8];
    for (int i = 0; i < R; ++i) {
      _mm256_store_ps(t, acc[g][i]);
      for (int64_t j = 0; j < 8 && m0 + g * kMB + j < p.out_channels; ++j) out[(m0 + g * kMB + j) * p.out_stride + i] = t[j];
    }
  }
}

// The same over P pairs of whole blocks, a pair's 16 weights of a channel in one vector (its two
// blocks' [c][8] rows side by side): half the multiply-adds of few_group for as many sums
// (ResNet-50's 14×14 1×1s, 192 + 4 positions, 2.6% faster in the model; scripts/bench/ab.ts).
template <int R, int P>
void few_pairs(const Problem& p, int64_t m0, float* out) {
  const float* s = p.phases + p.tap_offsets[0];
  __m512 acc[P][R];
  const float* w[2 * P];
  for (int q = 0; q < P; ++q)
    for (int i = 0; i < R; ++i) acc[q][i] = _mm512_setzero_ps();
  for (int b = 0; b < 2 * P; ++b) w[b] = p.weights + (m0 + b * kMB) * p.weight_stride;
  for (int64_t c = 0; c < p.channels; ++c, s += p.channel_stride)
    for (int q = 0; q < P; ++q) {
      const __m512 wv = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(w[2 * q] + c * kMB)),
                                           _mm256_loadu_ps(w[2 * q + 1] + c * kMB), 1);
      for (int i = 0; i < R; ++i) acc[q][i] = _mm512_fmadd_ps(wv, _mm512_set1_ps(s[i]), acc[q][i]);
    }
  for (int q = 0; q < P; ++q) {
    alignas(64) float t[16];
    for (int i = 0; i < R; ++i) {
      _mm512_store_ps(t, acc[q][i]);
      for (int64_t j = 0; j < 16; ++j) out[(m0 + 16 * q + j) * p.out_stride + i] = t[j];
    }
  }
}

template <int R>
void few_r(const Problem& p, float* out) {
  constexpr int G = R <= 2 ? 4 : R <= 4 ? 2 : 1, P = R <= 4 ? 2 : 1;
  int64_t m0 = 0;
  for (; m0 + 2 * P * kMB <= p.out_channels; m0 += 2 * P * kMB) few_pairs<R, P>(p, m0, out);
  for (; m0 + G * kMB <= p.out_channels; m0 += G * kMB) few_group<R, G>(p, m0, out);
  for (; m0 < p.out_channels; m0 += kMB) few_group<R, 1>(p, m0, out);
}

}  // namespace

void few_avx512(const Problem& p, int64_t r, float* out) {
  with_few_positions(r, [&](auto R) { few_r<decltype(R)::value>(p, out); });
}

void gather2_avx512(float* d, const float* s, int64_t n) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  int64_t j = 0;
  // whole steps read s[2j .. 2j + 31], all at or before s[2(n − 1)] while j + 16 < n
  for (; j + 16 < n; j += 16)
    _mm512_storeu_ps(d + j, _mm512_permutex2var_ps(_mm512_loadu_ps(s + 2 * j), even, _mm512_loadu_ps(s + 2 * j + 16)));
  if (j < n) {
    // the 1-16 left: the 2·left − 1 values s[2j .. 2(n − 1)] under masks (lanes past them not read)
    const int64_t vals = 2 * (n - j) - 1;
    const __mmask16 lo = static_cast<__mmask16>(vals >= 16 ? 0xFFFFu : (1u << vals) - 1);
    const __mmask16 hi = static_cast<__mmask16>(vals > 16 ? (1u << (vals - 16)) - 1 : 0u);
    const __m512 v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(lo, s + 2 * j), even,
                                            _mm512_maskz_loadu_ps(hi, s + 2 * j + 16));
    _mm512_mask_storeu_ps(d + j, static_cast<__mmask16>((1u << (n - j)) - 1), v);
  }
}

void run_avx512(const Problem& p, int64_t o0, int64_t o1, float* out) {
  if (p.packed_weights) run_blocks<kOV, true>(p, o0, o1, out);
  else run_blocks<kOV, false>(p, o0, o1, out);
}

// 48 positions per block: three input vectors per tap for the eight weight broadcasts (24 sums),
// 11 loads per 24 FMAs instead of 10 per 16.
void run_avx512_wide(const Problem& p, int64_t o0, int64_t o1, float* out) {
  if (p.packed_weights) run_blocks<kOV + 1, true>(p, o0, o1, out);
  else run_blocks<kOV + 1, false>(p, o0, o1, out);
}

}  // namespace convdirect
}  // namespace fleetrt
