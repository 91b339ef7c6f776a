// AVX2+FMA direct 2-D convolution over phase planes (this file is compiled with -mavx2 -mfma;
// nn_conv.cpp calls it only after the CPU check). See nn_conv_direct.h for the layout.
#include <immintrin.h>

#include <algorithm>

#include "nn_conv_direct.h"

namespace fleetrt {
namespace convdirect {
namespace {

constexpr int kMB = 4;   // output channels per block
constexpr int kOV = 3;   // 8-float vectors of output positions per block

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
    if (p.ntaps == 1) {
      // 1×1: one tap, channels one after another
      const float* s = p.phases + o + p.tap_offsets[0];
      for (int64_t c = 0; c < p.channels; ++c, s += p.channel_stride) {
        const __m256 x0 = _mm256_loadu_ps(s), x1 = _mm256_loadu_ps(s + 8), x2 = _mm256_loadu_ps(s + 16);
        for (int j = 0; j < MB; ++j) {
          const __m256 wj = _mm256_broadcast_ss(w0 + j * js + c * ks);
          acc[j][0] = _mm256_fmadd_ps(wj, x0, acc[j][0]);
          acc[j][1] = _mm256_fmadd_ps(wj, x1, acc[j][1]);
          acc[j][2] = _mm256_fmadd_ps(wj, x2, acc[j][2]);
        }
      }
    } else
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
    if (const StoreEpilogue* e = p.epilogue) {
      const __m256 va = _mm256_set1_ps(e->a), vb = _mm256_set1_ps(e->b), vlo = _mm256_set1_ps(e->lo),
                   vhi = _mm256_set1_ps(e->hi);
      for (int j = 0; j < MB; ++j) {
        const __m256 vbias = _mm256_set1_ps(e->bias ? e->bias[m0 + j] : 0.f);
        const float* zr = e->z ? e->z + (m0 + j) * p.out_stride + (o - o0) : nullptr;
        for (int v = 0; v < kOV; ++v) {
          __m256 x = _mm256_add_ps(acc[j][v], zr ? _mm256_add_ps(vbias, _mm256_loadu_ps(zr + 8 * v)) : vbias);
          if (e->clamp) x = _mm256_min_ps(vhi, _mm256_max_ps(vlo, _mm256_add_ps(_mm256_mul_ps(x, va), vb)));
          acc[j][v] = x;
        }
      }
    }
    for (int j = 0; j < MB; ++j) {
      float* row = out + (m0 + j) * p.out_stride + (o - o0);
      for (int v = 0; v < kOV; ++v) _mm256_storeu_ps(row + 8 * v, acc[j][v]);
    }
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
  if (p.packed_weights) run_blocks<true>(p, o0, o1, out);
  else run_blocks<false>(p, o0, o1, out);
}

}  // namespace convdirect
}  // namespace fleetrt
