// AVX2+FMA loops of the NCHW8c convs (nn_conv_blocked.h); compiled with -mavx2 -mfma, called
// only after the CPU check.
#include <immintrin.h>

#include <algorithm>

#include "nn_conv_blocked.h"
#include "simd_transpose8_avx2.h"

namespace fleetrt {
namespace blocked {
namespace {

struct Finish {
  __m256 a, b, lo, hi;
  bool clamp, times_x;
  explicit Finish(const Epilogue& e)
      : a(_mm256_set1_ps(e.a)), b(_mm256_set1_ps(e.b)), lo(_mm256_set1_ps(e.lo)), hi(_mm256_set1_ps(e.hi)),
        clamp(e.clamp), times_x(e.times_x) {}
  // x (the sums with the bias) plus the residual at z, with the clamp, stored to y
  __attribute__((always_inline)) void store(float* y, __m256 x, const float* z) const {
    if (z) x = _mm256_add_ps(x, _mm256_loadu_ps(z));
    if (clamp) {
      const __m256 v = _mm256_min_ps(hi, _mm256_max_ps(lo, _mm256_fmadd_ps(x, a, b)));
      x = times_x ? _mm256_mul_ps(v, x) : v;
    }
    _mm256_storeu_ps(y, x);
  }
};

inline __m256 bias8(const float* bias, int64_t m) { return bias ? _mm256_loadu_ps(bias + m) : _mm256_setzero_ps(); }

// NB blocks of output channels × R positions from p (the last group's blocks, the positions
// past the last whole 3): the group's packed weights wg ([C][8·NB]), every input block's 8
// channels at those positions.
template <int NB, int R>
__attribute__((always_inline)) inline void pointwise_block(const Pointwise& q, const Finish& fin, int64_t n,
                                                           const float* wg, int64_t m0, int64_t p) {
  __m256 acc[NB][R];
  for (int b = 0; b < NB; ++b) {
    const __m256 bv = bias8(q.ep.bias, m0 + 8 * b);
    for (int r = 0; r < R; ++r) acc[b][r] = bv;
  }
  const int64_t cblocks = q.C / kBlock;
  const float* xb = q.x + (n * cblocks * q.P + p) * kBlock;
  for (int64_t cb = 0; cb < cblocks; ++cb, xb += q.P * kBlock) {
    const float* wc = wg + cb * kBlock * NB * kBlock;
    for (int c = 0; c < kBlock; ++c) {
      __m256 xv[R];
      for (int r = 0; r < R; ++r) xv[r] = _mm256_broadcast_ss(xb + r * kBlock + c);
      for (int b = 0; b < NB; ++b) {
        const __m256 wv = _mm256_loadu_ps(wc + (c * NB + b) * kBlock);
        for (int r = 0; r < R; ++r) acc[b][r] = _mm256_fmadd_ps(wv, xv[r], acc[b][r]);
      }
    }
  }
  for (int b = 0; b < NB; ++b) {
    const int64_t at = ((n * (q.M / kBlock) + m0 / kBlock + b) * q.P + p) * kBlock;
    for (int r = 0; r < R; ++r)
      fin.store(q.y + at + r * kBlock, acc[b][r], q.ep.z ? q.ep.z + at + r * kBlock : nullptr);
  }
}

// 4 blocks of output channels × 3 positions of sums, the hot loops' register block (1×1 and
// stem), kept in 12 named locals a00 … a32 of the function using these macros: as an array
// (pointwise_block<4, 3>, stem_block<4, 3>) or as members of a struct, GCC 12 spilled them to the
// stack inside the loop over channels (1×1 ~70 GFLOP/s on one Zen 3 core against ~88 so; the
// stem ~33 against ~80: fleetrt_conv_bench, FLEETRT_BENCH_BLOCKED=1). Each function stores them
// with its own loop: a shared store (a helper, or a macro over the 12) made the 1×1s 10–20% slower.
#define FLEETRT_SUMS4X3_INIT(bias, m0)                                                                          \
  __m256 a00, a01, a02, a10, a11, a12, a20, a21, a22, a30, a31, a32;                                           \
  {                                                                                                            \
    const __m256 b0 = bias8(bias, m0), b1 = bias8(bias, (m0) + 8), b2 = bias8(bias, (m0) + 16),               \
                 b3 = bias8(bias, (m0) + 24);                                                                  \
    a00 = a01 = a02 = b0, a10 = a11 = a12 = b1, a20 = a21 = a22 = b2, a30 = a31 = a32 = b3;                    \
  }
// the 3 positions' input values x[0], x[dx], x[2·dx] times the 4 weight vectors at w
#define FLEETRT_SUMS4X3_ADD(x, dx, w)                                                                           \
  {                                                                                                            \
    const __m256 x0 = _mm256_broadcast_ss(x), x1 = _mm256_broadcast_ss((x) + (dx)),                            \
                 x2 = _mm256_broadcast_ss((x) + 2 * (dx));                                                     \
    __m256 v = _mm256_loadu_ps(w);                                                                             \
    a00 = _mm256_fmadd_ps(v, x0, a00), a01 = _mm256_fmadd_ps(v, x1, a01), a02 = _mm256_fmadd_ps(v, x2, a02);   \
    v = _mm256_loadu_ps((w) + 8);                                                                              \
    a10 = _mm256_fmadd_ps(v, x0, a10), a11 = _mm256_fmadd_ps(v, x1, a11), a12 = _mm256_fmadd_ps(v, x2, a12);   \
    v = _mm256_loadu_ps((w) + 16);                                                                             \
    a20 = _mm256_fmadd_ps(v, x0, a20), a21 = _mm256_fmadd_ps(v, x1, a21), a22 = _mm256_fmadd_ps(v, x2, a22);   \
    v = _mm256_loadu_ps((w) + 24);                                                                             \
    a30 = _mm256_fmadd_ps(v, x0, a30), a31 = _mm256_fmadd_ps(v, x1, a31), a32 = _mm256_fmadd_ps(v, x2, a32);   \
  }
__attribute__((always_inline)) inline void pointwise_4x3(const Pointwise& q, const Finish& fin, int64_t n,
                                                         const float* wg, int64_t m0, int64_t p) {
  FLEETRT_SUMS4X3_INIT(q.ep.bias, m0)
  const int64_t cblocks = q.C / kBlock, step = q.P * kBlock;
  const float* xb = q.x + (n * cblocks * q.P + p) * kBlock;
  const float* wc = wg;
  for (int64_t cb = 0; cb < cblocks; ++cb, xb += step, wc += kGroupChannels * kBlock) {
    FLEETRT_SUMS4X3_ADD(xb + 0, kBlock, wc + 0 * kGroupChannels)
    FLEETRT_SUMS4X3_ADD(xb + 1, kBlock, wc + 1 * kGroupChannels)
    FLEETRT_SUMS4X3_ADD(xb + 2, kBlock, wc + 2 * kGroupChannels)
    FLEETRT_SUMS4X3_ADD(xb + 3, kBlock, wc + 3 * kGroupChannels)
    FLEETRT_SUMS4X3_ADD(xb + 4, kBlock, wc + 4 * kGroupChannels)
    FLEETRT_SUMS4X3_ADD(xb + 5, kBlock, wc + 5 * kGroupChannels)
    FLEETRT_SUMS4X3_ADD(xb + 6, kBlock, wc + 6 * kGroupChannels)
    FLEETRT_SUMS4X3_ADD(xb + 7, kBlock, wc + 7 * kGroupChannels)
  }
  const __m256 sums[4][3] = {{a00, a01, a02}, {a10, a11, a12}, {a20, a21, a22}, {a30, a31, a32}};
  for (int b = 0; b < 4; ++b) {
    const int64_t at = ((n * (q.M / kBlock) + m0 / kBlock + b) * q.P + p) * kBlock;
    for (int r = 0; r < 3; ++r)
      fin.store(q.y + at + r * kBlock, sums[b][r], q.ep.z ? q.ep.z + at + r * kBlock : nullptr);
  }
}

// One group of NB output blocks over positions [p0, p1): 3 at a time, then one at a time.
template <int NB>
void pointwise_group(const Pointwise& q, const Finish& fin, int64_t n, const float* wg, int64_t m0, int64_t p0,
                     int64_t p1) {
  int64_t p = p0;
  for (; p + 3 <= p1; p += 3) {
    if (NB == 4) pointwise_4x3(q, fin, n, wg, m0, p);
    else pointwise_block<NB, 3>(q, fin, n, wg, m0, p);
  }
  for (; p < p1; ++p) pointwise_block<NB, 1>(q, fin, n, wg, m0, p);
}

}  // namespace

void pointwise_item_avx2(const Pointwise& q, int64_t n, int64_t p0, int64_t p1, int64_t g0, int64_t g1) {
  const Finish fin(q.ep);
  for (int64_t g = g0; g < g1; ++g) {
    const int64_t m0 = g * kGroupChannels;
    const float* wg = q.w + m0 * q.C;
    switch (std::min(kGroupChannels, q.M - m0) / kBlock) {
      case 4: pointwise_group<4>(q, fin, n, wg, m0, p0, p1); break;
      case 3: pointwise_group<3>(q, fin, n, wg, m0, p0, p1); break;
      case 2: pointwise_group<2>(q, fin, n, wg, m0, p0, p1); break;
      default: pointwise_group<1>(q, fin, n, wg, m0, p0, p1); break;
    }
  }
}

namespace {

// Stem: NB blocks of the group's output channels at R output positions of row oh from column ow,
// every (channel, tap) value of their windows broadcast from the plain planes. kChecked: taps in
// the padding skipped (R = 1), else all inside.
template <int NB, int R, bool kChecked>
__attribute__((always_inline)) inline void stem_block(const Stem& q, const Finish& fin, int64_t n, const float* wg,
                                                      int64_t m0, int64_t oh, int64_t ow) {
  __m256 acc[NB][R];
  for (int b = 0; b < NB; ++b) {
    const __m256 bv = bias8(q.ep.bias, m0 + 8 * b);
    for (int r = 0; r < R; ++r) acc[b][r] = bv;
  }
  const float* wt = wg;  // weights of tap (c, kh, kw): NB·8 of them, one tap after another
  for (int64_t c = 0; c < q.C; ++c)
    for (int64_t kh = 0; kh < q.KH; ++kh) {
      const int64_t ih = oh * q.sh - q.pt + kh;
      if (kChecked && (ih < 0 || ih >= q.H)) {
        wt += q.KW * NB * kBlock;
        continue;
      }
      const float* row = q.x + ((n * q.C + c) * q.H + ih) * q.W + ow * q.sw - q.pl;
      for (int64_t kw = 0; kw < q.KW; ++kw, wt += NB * kBlock) {
        if (kChecked) {
          const int64_t iw = ow * q.sw - q.pl + kw;
          if (iw < 0 || iw >= q.W) continue;
        }
        __m256 xv[R];
        for (int r = 0; r < R; ++r) xv[r] = _mm256_broadcast_ss(row + r * q.sw + kw);
        for (int b = 0; b < NB; ++b) {
          const __m256 wv = _mm256_loadu_ps(wt + b * kBlock);
          for (int r = 0; r < R; ++r) acc[b][r] = _mm256_fmadd_ps(wv, xv[r], acc[b][r]);
        }
      }
    }
  for (int b = 0; b < NB; ++b) {
    const int64_t at = (((n * (q.M / kBlock) + m0 / kBlock + b) * q.OH + oh) * q.OW + ow) * kBlock;
    for (int r = 0; r < R; ++r)
      fin.store(q.y + at + r * kBlock, acc[b][r], q.ep.z ? q.ep.z + at + r * kBlock : nullptr);
  }
}

__attribute__((always_inline)) inline void stem_4x3(const Stem& q, const Finish& fin, int64_t n, const float* wg,
                                                    int64_t m0, int64_t oh, int64_t ow) {
  FLEETRT_SUMS4X3_INIT(q.ep.bias, m0)
  const float* wt = wg;
  for (int64_t c = 0; c < q.C; ++c)
    for (int64_t kh = 0; kh < q.KH; ++kh) {
      const float* row = q.x + ((n * q.C + c) * q.H + oh * q.sh - q.pt + kh) * q.W + ow * q.sw - q.pl;
      for (int64_t kw = 0; kw < q.KW; ++kw, wt += kGroupChannels) FLEETRT_SUMS4X3_ADD(row + kw, q.sw, wt)
    }
  const __m256 sums[4][3] = {{a00, a01, a02}, {a10, a11, a12}, {a20, a21, a22}, {a30, a31, a32}};
  for (int b = 0; b < 4; ++b) {
    const int64_t at = (((n * (q.M / kBlock) + m0 / kBlock + b) * q.OH + oh) * q.OW + ow) * kBlock;
    for (int r = 0; r < 3; ++r)
      fin.store(q.y + at + r * kBlock, sums[b][r], q.ep.z ? q.ep.z + at + r * kBlock : nullptr);
  }
}

#undef FLEETRT_SUMS4X3_INIT
#undef FLEETRT_SUMS4X3_ADD

// Output rows [r0, r1) of one group: columns whose windows lie inside the plane 3 at a time, the
// others (and rows whose windows cross the top or bottom edge) one at a time, checked.
template <int NB>
void stem_rows(const Stem& q, const Finish& fin, int64_t n, const float* wg, int64_t m0, int64_t r0, int64_t r1) {
  // columns ow with 0 <= ow·sw − pl and ow·sw − pl + KW − 1 < W
  const int64_t lo = (q.pl + q.sw - 1) / q.sw, hi = q.W - q.KW + q.pl >= 0 ? (q.W - q.KW + q.pl) / q.sw + 1 : 0;
  for (int64_t oh = r0; oh < r1; ++oh) {
    const bool rows_inside = oh * q.sh - q.pt >= 0 && oh * q.sh - q.pt + q.KH <= q.H;
    int64_t ow = 0;
    if (rows_inside) {
      for (; ow < std::min(lo, q.OW); ++ow) stem_block<NB, 1, true>(q, fin, n, wg, m0, oh, ow);
      for (; ow + 3 <= std::min(hi, q.OW); ow += 3) {
        if (NB == 4) stem_4x3(q, fin, n, wg, m0, oh, ow);
        else stem_block<NB, 3, false>(q, fin, n, wg, m0, oh, ow);
      }
    }
    for (; ow < q.OW; ++ow) stem_block<NB, 1, true>(q, fin, n, wg, m0, oh, ow);
  }
}

}  // namespace

void stem_item_avx2(const Stem& q, int64_t n, int64_t g, int64_t r0, int64_t r1) {
  const Finish fin(q.ep);
  const int64_t m0 = g * kGroupChannels, K = q.C * q.KH * q.KW;
  const float* wg = q.w + m0 * K;
  switch (std::min(kGroupChannels, q.M - m0) / kBlock) {
    case 4: return stem_rows<4>(q, fin, n, wg, m0, r0, r1);
    case 3: return stem_rows<3>(q, fin, n, wg, m0, r0, r1);
    case 2: return stem_rows<2>(q, fin, n, wg, m0, r0, r1);
    default: return stem_rows<1>(q, fin, n, wg, m0, r0, r1);
  }
}

namespace {

// Output columns [ow, ow + 4) of one output row (S: the stride): each of the three input rows
// read as whole vectors, columns 2 + 3·S of them; past the row's ends zero where `edge`.
template <int S, bool kEdge>
__attribute__((always_inline)) inline void depthwise_quad(const Depthwise& d, const float* plane, int64_t oh,
                                                          int64_t ow, const __m256 (&wv)[9], __m256 bias,
                                                          __m256 (&acc)[4]) {
  constexpr int kCols = 3 * S + 3;  // input columns S·ow − 1 … S·(ow + 3) + 1
  for (int i = 0; i < 4; ++i) acc[i] = bias;
  for (int kh = 0; kh < 3; ++kh) {
    const int64_t ih = oh * S + kh - 1;
    if (ih < 0 || ih >= d.H) continue;
    const float* row = plane + ih * d.W * kBlock;
    // one input vector at a time into every sum that reads it (the nine weights, four sums and
    // it fit the registers)
    for (int j = 0; j < kCols; ++j) {
      const int64_t iw = S * ow - 1 + j;
      const __m256 v = !kEdge || (iw >= 0 && iw < d.W) ? _mm256_loadu_ps(row + iw * kBlock) : _mm256_setzero_ps();
      for (int i = 0; i < 4; ++i) {
        const int kw = j - S * i;
        if (kw >= 0 && kw < 3) acc[i] = _mm256_fmadd_ps(wv[kh * 3 + kw], v, acc[i]);
      }
    }
  }
}

template <int S>
void depthwise_rows(const Depthwise& d, int64_t plane_index, int64_t r0, int64_t r1) {
  const int64_t cb = plane_index % (d.C / kBlock);
  const float* plane = d.x + plane_index * d.H * d.W * kBlock;
  float* out = d.y + plane_index * d.OH * d.OW * kBlock;
  const float* z = d.ep.z ? d.ep.z + plane_index * d.OH * d.OW * kBlock : nullptr;
  __m256 wv[9];
  for (int t = 0; t < 9; ++t) wv[t] = _mm256_loadu_ps(d.w + (cb * 9 + t) * kBlock);
  const __m256 bias = bias8(d.ep.bias, cb * kBlock);
  const Finish fin(d.ep);
  // columns whose four outputs read inside the row: S·ow − 1 >= 0 and S·(ow + 3) + 1 < W
  const int64_t first = 1, last = (d.W - 2) / S - 3;  // interior quads start in [first, last]
  for (int64_t oh = r0; oh < r1; ++oh) {
    __m256 acc[4];
    for (int64_t ow = 0; ow < d.OW; ow += 4) {
      const bool inside = ow >= first && ow <= last;
      if (inside) depthwise_quad<S, false>(d, plane, oh, ow, wv, bias, acc);
      else depthwise_quad<S, true>(d, plane, oh, ow, wv, bias, acc);
      const int cnt = static_cast<int>(std::min<int64_t>(4, d.OW - ow));
      const int64_t at = (oh * d.OW + ow) * kBlock;
      for (int i = 0; i < cnt; ++i) fin.store(out + at + i * kBlock, acc[i], z ? z + at + i * kBlock : nullptr);
    }
  }
}

}  // namespace

void depthwise_item_avx2(const Depthwise& d, int64_t plane, int64_t r0, int64_t r1) {
  if (d.stride == 2) depthwise_rows<2>(d, plane, r0, r1);
  else depthwise_rows<1>(d, plane, r0, r1);
}

void to_blocked_avx2(const float* src, float* dst, int64_t P, int64_t b0, int64_t b1) {
  const int64_t whole = P / 8 * 8;
  for (int64_t blk = b0; blk < b1; ++blk) {
    const float* s = src + blk * kBlock * P;  // the block's 8 channel planes, one after another
    float* d = dst + blk * kBlock * P;
    for (int64_t p = 0; p < whole; p += 8) ku::t8x8(s + p, P, d + p * kBlock, kBlock);
    for (int64_t p = whole; p < P; ++p)
      for (int64_t c = 0; c < kBlock; ++c) d[p * kBlock + c] = s[c * P + p];
  }
}

void to_plain_avx2(const float* src, float* dst, int64_t P, int64_t b0, int64_t b1) {
  const int64_t whole = P / 8 * 8;
  for (int64_t blk = b0; blk < b1; ++blk) {
    const float* s = src + blk * kBlock * P;
    float* d = dst + blk * kBlock * P;
    for (int64_t p = 0; p < whole; p += 8) ku::t8x8(s + p * kBlock, kBlock, d + p, P);
    for (int64_t p = whole; p < P; ++p)
      for (int64_t c = 0; c < kBlock; ++c) d[c * P + p] = s[p * kBlock + c];
  }
}

}  // namespace blocked
}  // namespace fleetrt
