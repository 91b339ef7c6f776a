// AVX2+FMA direct 2-D convolution over phase planes (this file is compiled with -mavx2 -mfma;
// nn_conv.cpp calls it only after the CPU check). See nn_conv_direct.h for the layout.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "nn_conv_direct.h"

namespace fleetrt {
namespace convdirect {
namespace {

constexpr int kMB = 4;   // output channels per block
constexpr int kOV = 3;   // 8-float vectors of output positions per block

// acc (the sums of output rows m0.. at positions rel..rel + 24 of `out`) with the epilogue, stored.
template <int MB>
__attribute__((always_inline)) inline void store_block(const Problem& p, __m256 (&acc)[MB][kOV], float* out,
                                                       int64_t m0, int64_t rel) {
  if (const StoreEpilogue* e = p.epilogue) {
    const __m256 va = _mm256_set1_ps(e->a), vb = _mm256_set1_ps(e->b), vlo = _mm256_set1_ps(e->lo),
                 vhi = _mm256_set1_ps(e->hi);
    for (int j = 0; j < MB; ++j) {
      const __m256 vbias = _mm256_set1_ps(e->bias ? e->bias[m0 + j] : 0.f);
      const float* zr = e->z ? e->z + (m0 + j) * p.out_stride + rel : nullptr;
      for (int v = 0; v < kOV; ++v) {
        __m256 x = _mm256_add_ps(acc[j][v], zr ? _mm256_add_ps(vbias, _mm256_loadu_ps(zr + 8 * v)) : vbias);
        if (e->clamp) x = _mm256_min_ps(vhi, _mm256_max_ps(vlo, _mm256_add_ps(_mm256_mul_ps(x, va), vb)));
        acc[j][v] = x;
      }
    }
  }
  for (int j = 0; j < MB; ++j) {
    float* row = out + (m0 + j) * p.out_stride + rel;
    for (int v = 0; v < kOV; ++v) _mm256_storeu_ps(row + 8 * v, acc[j][v]);
  }
}

// 1×1: acc[j] += weight (j, c) · the 24 values at s + c·stride, for c < n; weight (j, c) at
// w[j·js + c·ks].
template <int MB>
__attribute__((always_inline)) inline void sum_1x1(const float* s, int64_t stride, const float* w, int64_t js,
                                                   int64_t ks, int64_t n, __m256 (&acc)[MB][kOV]) {
  for (int64_t c = 0; c < n; ++c, s += stride) {
    const __m256 x0 = _mm256_loadu_ps(s), x1 = _mm256_loadu_ps(s + 8), x2 = _mm256_loadu_ps(s + 16);
    for (int j = 0; j < MB; ++j) {
      const __m256 wj = _mm256_broadcast_ss(w + j * js + c * ks);
      acc[j][0] = _mm256_fmadd_ps(wj, x0, acc[j][0]);
      acc[j][1] = _mm256_fmadd_ps(wj, x1, acc[j][1]);
      acc[j][2] = _mm256_fmadd_ps(wj, x2, acc[j][2]);
    }
  }
}

// out rows [m0, m0 + MB) over positions [o0, o1) (o1 − o0 a multiple of 24).
// kPacked: the block's weights as [k][MB] (Problem::packed_weights), else row m at m·weight_stride.
template <int MB, bool kPacked>
void block(const Problem& p, int64_t o0, int64_t o1, float* out, int64_t m0) {
  const float* w0 = p.weights + m0 * p.weight_stride;
  const int64_t js = kPacked ? 1 : p.weight_stride, ks = kPacked ? MB : 1;  // weight (j, k) at w0[j·js + k·ks]
  for (int64_t o = o0; o < o1; o += kOV * 8) {
    __m256 acc[MB][kOV];
    for (int j = 0; j < MB; ++j)
      for (int v = 0; v < kOV; ++v) acc[j][v] = _mm256_setzero_ps();
    int64_t k = 0;
    if (p.ntaps == 1)  // 1×1: one tap, channels one after another
      sum_1x1<MB>(p.phases + o + p.tap_offsets[0], p.channel_stride, w0, js, ks, p.channels, acc);
    else
    for (int64_t c = 0; c < p.channels; ++c) {
      const float* base = p.phases + c * p.channel_stride + o;
      for (int64_t t = 0; t < p.ntaps; ++t, ++k) {
        const float* s = base + p.tap_offsets[t];
        const __m256 x0 = _mm256_loadu_ps(s), x1 = _mm256_loadu_ps(s + 8), x2 = _mm256_loadu_ps(s + 16);
        // the next channel's first and last line of these values into L1, as the AVX-512 kernel
        // does (same layers, FLEETRT_SIMD=avx2 on the Zen 4 guest: 3–12% faster)
        _mm_prefetch(reinterpret_cast<const char*>(s + p.channel_stride), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(s + p.channel_stride + 23), _MM_HINT_T0);
        for (int j = 0; j < MB; ++j) {
          const __m256 wj = _mm256_broadcast_ss(w0 + j * js + k * ks);
          acc[j][0] = _mm256_fmadd_ps(wj, x0, acc[j][0]);
          acc[j][1] = _mm256_fmadd_ps(wj, x1, acc[j][1]);
          acc[j][2] = _mm256_fmadd_ps(wj, x2, acc[j][2]);
        }
      }
    }
    store_block<MB>(p, acc, out, m0, o - o0);
  }
}

// 1×1, packed weights: channels [c0, c1) of output rows [m0, m1) (whole blocks of MB) at the 24
// positions from o, on the sums so far in part (rows of 24; from 0 where c0 is 0), stored back
// there, or with the epilogue to `out` (at rel) after the last channel: the same multiply-adds in
// the same order as block's, so the same bits.
template <int MB>
void chunk_blocks(const Problem& p, int64_t o, int64_t rel, int64_t c0, int64_t c1, float* part, float* out,
                  int64_t m0, int64_t m1) {
  for (int64_t m = m0; m < m1; m += MB) {
    const float* w = p.weights + m * p.weight_stride + c0 * MB;
    float* pm = part + m * kOV * 8;
    __m256 acc[MB][kOV];
    for (int j = 0; j < MB; ++j)
      for (int v = 0; v < kOV; ++v)
        acc[j][v] = c0 > 0 ? _mm256_loadu_ps(pm + j * kOV * 8 + 8 * v) : _mm256_setzero_ps();
    sum_1x1<MB>(p.phases + o + p.tap_offsets[0] + c0 * p.channel_stride, p.channel_stride, w, 1, MB, c1 - c0, acc);
    if (c1 == p.channels) store_block<MB>(p, acc, out, m, rel);
    else
      for (int j = 0; j < MB; ++j)
        for (int v = 0; v < kOV; ++v) _mm256_storeu_ps(pm + j * kOV * 8 + 8 * v, acc[j][v]);
  }
}

// 1×1 with packed weights over more than kChunk input channels: a block of positions' runs of
// up to kChunk channels at a time, which stay in L1 while every block of output channels reads
// them (otherwise each block reads all the channels' runs from L2). fleetrt_conv_bench, 2 threads,
// against whole blocks: ResNet-50's 28×28 c512→256 1.36 → 1.17 ms, 14×14 c1024→512 1.24 → 1.14,
// MobileNetV2's 14×14 c576→96 0.143 → 0.132, 7×7 c960→320 0.211 → 0.198 (chunks of 32: less
// gain, as the sums go through `part` more often; 48–128 about alike).
constexpr int64_t kChunk = 96;
void run_chunked(const Problem& p, int64_t o0, int64_t o1, float* out) {
  thread_local std::vector<float> part;
  const size_t need = static_cast<size_t>(p.out_channels * kOV * 8);
  if (part.size() < need) part.resize(need);
  const int64_t chunks = (p.channels + kChunk - 1) / kChunk, per = (p.channels + chunks - 1) / chunks;
  const int64_t whole = p.out_channels / kMB * kMB, left = p.out_channels - whole;
  for (int64_t o = o0; o < o1; o += kOV * 8)
    for (int64_t c0 = 0; c0 < p.channels; c0 += per) {
      const int64_t c1 = std::min(p.channels, c0 + per);
      chunk_blocks<kMB>(p, o, o - o0, c0, c1, part.data(), out, 0, whole);
      if (left == 3) chunk_blocks<3>(p, o, o - o0, c0, c1, part.data(), out, whole, p.out_channels);
      if (left == 2) chunk_blocks<2>(p, o, o - o0, c0, c1, part.data(), out, whole, p.out_channels);
      if (left == 1) chunk_blocks<1>(p, o, o - o0, c0, c1, part.data(), out, whole, p.out_channels);
    }
}

template <bool kPacked>
void run_blocks(const Problem& p, int64_t o0, int64_t o1, float* out) {
  for (int64_t m0 = 0; m0 < p.out_channels; m0 += kMB) {
    switch (std::min<int64_t>(kMB, p.out_channels - m0)) {
      case 4: block<4, kPacked>(p, o0, o1, out, m0); break;
      case 3: block<3, kPacked>(p, o0, o1, out, m0); break;
      case 2: block<2, kPacked>(p, o0, o1, out, m0); break;
      default: block<1, kPacked>(p, o0, o1, out, m0); break;
    }
  }
}

// Few positions (1×1 convs, packed weights, ntaps 1): R positions × G vectors of 8 output
// channels (two packed blocks of 4 per vector), the channels' weights loaded and each input value
// broadcast, as few_group in the AVX-512 file.
template <int R, int G>
void few_group(const Problem& p, int64_t m0, float* out) {
  const float* s = p.phases + p.tap_offsets[0];
  __m256 acc[G][R];
  // each half's packed block of mb channels (the last one may hold fewer than 4, or none): weight
  // (j, c) at w[c·mb + j], the lanes past mb masked
  struct Half {
    const float* w;
    int64_t mb;
    __m128i lanes;
    __m128 at(int64_t c) const { return mb == kMB ? _mm_loadu_ps(w + c * kMB) : _mm_maskload_ps(w + c * mb, lanes); }
  } half[G][2];
  for (int g = 0; g < G; ++g) {
    for (int h = 0; h < 2; ++h) {
      const int64_t mfirst = m0 + 8 * g + kMB * h, mb = std::clamp<int64_t>(p.out_channels - mfirst, 0, kMB);
      half[g][h] = {p.weights + std::min(mfirst, p.out_channels - 1) * p.weight_stride, mb,
                    _mm_cmpgt_epi32(_mm_set1_epi32(static_cast<int>(mb)), _mm_setr_epi32(0, 1, 2, 3))};
    }
    for (int i = 0; i < R; ++i) acc[g][i] = _mm256_setzero_ps();
  }
  for (int64_t c = 0; c < p.channels; ++c, s += p.channel_stride) {
    __m256 xs[R];
    for (int i = 0; i < R; ++i) xs[i] = _mm256_broadcast_ss(s + i);
    for (int g = 0; g < G; ++g) {
      const __m256 wv = _mm256_insertf128_ps(_mm256_castps128_ps256(half[g][0].at(c)), half[g][1].at(c), 1);
      for (int i = 0; i < R; ++i) acc[g][i] = _mm256_fmadd_ps(wv, xs[i], acc[g][i]);
    }
  }
  for (int g = 0; g < G; ++g) {
    alignas(32) float t[8];
    for (int i = 0; i < R; ++i) {
      _mm256_store_ps(t, acc[g][i]);
      for (int64_t j = 0; j < 8 && m0 + 8 * g + j < p.out_channels; ++j) out[(m0 + 8 * g + j) * p.out_stride + i] = t[j];
    }
  }
}

template <int R>
void few_r(const Problem& p, float* out) {
  constexpr int G = R <= 1 ? 8 : R <= 2 ? 4 : R <= 4 ? 2 : 1;
  int64_t m0 = 0;
  for (; m0 + G * 8 <= p.out_channels; m0 += G * 8) few_group<R, G>(p, m0, out);
  for (; m0 < p.out_channels; m0 += 8) few_group<R, 1>(p, m0, out);
}

}  // namespace

void few_avx2(const Problem& p, int64_t r, float* out) {
  with_few_positions(r, [&](auto R) { few_r<decltype(R)::value>(p, out); });
}

void run_avx2(const Problem& p, int64_t o0, int64_t o1, float* out) {
  if (p.packed_weights && p.ntaps == 1 && p.channels > kChunk) run_chunked(p, o0, o1, out);
  else if (p.packed_weights) run_blocks<true>(p, o0, o1, out);
  else run_blocks<false>(p, o0, o1, out);
}

}  // namespace convdirect
}  // namespace fleetrt
