// The depthwise loops (nn_conv_depthwise.h) over a vector type V: V::kLanes floats, masks M of
// lanes (from the low bits of an integer), plain and masked (zero-filling, never faulting) loads,
// stores, broadcast, arithmetic, and the even/odd split of two vectors. Included by the *_avx2 /
// *_avx512 files, each with its own V.
#pragma once
#include <algorithm>
#include <vector>

#include "nn_conv_depthwise.h"

namespace fleetrt {
namespace depthwise {

// The first n of kLanes values at p (zero past them).
template <class V>
inline typename V::T get(const float* p, int n) {
  return n == V::kLanes ? V::load(p) : V::load_n(p, n);
}

// The sums of lanes [0, n) with the epilogue (Epilogue) applied; o is the output index of lane 0.
template <class V>
inline typename V::T finish(typename V::T acc, const Epilogue& e, int64_t o, int n) {
  using T = typename V::T;
  T x = acc;
  if (e.add == 1) x = V::add(acc, V::set1(e.bias));
  else if (e.add == 2)
    x = V::add(acc, V::add(V::set1(e.bias), get<V>(e.z + o, n)));
  if (!e.clamp) return x;
  const T v = V::min(V::set1(e.hi), V::max(V::set1(e.lo), V::add(V::mul(x, V::set1(e.a)), V::set1(e.b))));
  return e.times_x ? V::mul(v, x) : v;
}

template <class V>
inline void put(float* y, typename V::T v, int n) {
  if (n == V::kLanes) V::store(y, v);
  else V::store_n(y, v, n);
}

// Nine taps: the weights in registers, one multiply and eight FMAs per vector of outputs. Other
// tap counts: zero, then one FMA per tap (as the phase-plane loops sum).
template <class V>
void plane_any(const Plane& p) {
  using T = typename V::T;
  const bool nine = p.ntaps == 9;
  T w9[9];
  if (nine)
    for (int t = 0; t < 9; ++t) w9[t] = V::set1(p.w[t]);
  for (int64_t oh = 0; oh < p.OH; ++oh) {
    const float* s = p.ph + oh * p.Wq;
    float* y = p.y + oh * p.OW;
    for (int64_t ow = 0; ow < p.OW; ow += V::kLanes) {
      const int n = static_cast<int>(std::min<int64_t>(V::kLanes, p.OW - ow));
      T a;
      if (nine) {
        a = V::mul(w9[0], get<V>(s + p.taps[0] + ow, n));
        for (int t = 1; t < 9; ++t) a = V::fmadd(w9[t], get<V>(s + p.taps[t] + ow, n), a);
      } else {
        a = V::zero();
        for (int64_t t = 0; t < p.ntaps; ++t) a = V::fmadd(V::set1(p.w[t]), get<V>(s + p.taps[t] + ow, n), a);
      }
      put<V>(y + ow, finish<V>(a, p.ep, oh * p.OW + ow, n), n);
    }
  }
}

// Bits of the lanes l with 0 <= s + l < n.
template <class V>
inline uint32_t range_bits(int64_t s, int64_t n) {
  constexpr uint32_t kAll = (1u << V::kLanes) - 1;
  uint32_t in = kAll;
  if (s < 0) in = s <= -V::kLanes ? 0u : (kAll << (-s)) & kAll;
  if (s + V::kLanes > n) in &= s >= n ? 0u : kAll >> (s + V::kLanes - n);
  return in;
}

// kTaps: the kernel's taps when known at compile time (3×3: 9), else 0 (read from pl).
template <class V, int kTaps>
void flat_impl(const Flat& f, const Planes& pl, int64_t p0, int64_t p1) {
  using T = typename V::T;
  using I = typename V::I;
  const int64_t n = f.H * f.W, W = f.W, KW = f.kw;
  const int64_t nt = kTaps ? kTaps : pl.ntaps;
  const int64_t blocks = (n + V::kLanes - 1) / V::kLanes;
  // Per block of lanes and tap, the lanes whose input is inside the plane (its column and its
  // row): the same for every plane. The input column of each lane is kept as the block advances.
  thread_local std::vector<uint32_t> masks;
  if (masks.size() < static_cast<size_t>(blocks * nt)) masks.resize(static_cast<size_t>(blocks * nt));
  {
    I col = V::iota_mod(W);
    const int step = static_cast<int>(V::kLanes % W);
    uint32_t cols[kMaxKernelWidth];
    for (int64_t b = 0; b < blocks; ++b) {
      for (int64_t k = 0; k < KW; ++k)
        cols[k] = V::in_range(col, static_cast<int>(-f.col_offset[k]), static_cast<int>(W - f.col_offset[k]));
      col = V::step_mod(col, step, static_cast<int>(W));
      for (int64_t t = 0, k = 0; t < nt; ++t, k = k + 1 == KW ? 0 : k + 1)
        masks[b * nt + t] = cols[k] & range_bits<V>(b * V::kLanes + f.offsets[t], n);
    }
  }
  int64_t off[kTaps ? kTaps : 1];
  if (kTaps)
    for (int t = 0; t < kTaps; ++t) off[t] = f.offsets[t];
  const bool nine = nt == 9;
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t m = p % pl.M;
    const float* x = pl.x + ((p / pl.M) * pl.C + m / pl.mult) * n;
    const float* w = pl.w + m * nt;
    float* y = pl.y + p * n;
    const Epilogue ep = pl.epilogue(p, n);
    T wv[kTaps ? kTaps : 1];
    if (kTaps)
      for (int t = 0; t < kTaps; ++t) wv[t] = V::set1(w[t]);
    const uint32_t* mb = masks.data();
    for (int64_t o = 0; o < n; o += V::kLanes, mb += nt) {
      const int cnt = static_cast<int>(std::min<int64_t>(V::kLanes, n - o));
      const float* xo = x + o;
      T a;
      if (kTaps) {
        a = V::mul(wv[0], V::load_mask(xo + off[0], mb[0]));
        for (int t = 1; t < kTaps; ++t) a = V::fmadd(wv[t], V::load_mask(xo + off[t], mb[t]), a);
      } else {
        a = V::zero();
        for (int64_t t = 0; t < nt; ++t) {
          const T v = V::load_mask(xo + f.offsets[t], mb[t]);
          a = t == 0 && nine ? V::mul(V::set1(w[0]), v) : V::fmadd(V::set1(w[t]), v, a);
        }
      }
      put<V>(y + o, finish<V>(a, ep, o, cnt), cnt);
    }
  }
}

// A same-size 3×3 with pads 1 (Flat::pad1_3x3), R output rows at a time: each input row loaded
// once (at columns −1, 0, +1: plain loads inside the row, masked at its ends) for the up to three
// output rows that read it, 3·(R + 2) loads for R vectors of outputs where the flat loop makes 9
// per vector and reads 9 masks besides. The flat loop is bound by its loads: with AVX-512,
// MobileNetV2's 56×56 c144, 1 thread, 45.7 → 61.4 GFLOP/s (2 threads 79.7 → 119); 112×112 c32
// against one row at a time (the form before on rows of 64 and more) 101.6 → 130.8 (2 threads);
// R = 6 and 8 ran as 4. The same sums, in the same order, as flat_impl: per output, tap 0
// multiplied, then one FMA per tap.
//
// Where rows3x3 reads the three taps of input row ih (columns ow − 1, ow, ow + 1, zero outside
// the plane) for the block of columns from ow (set by at):
//   - PlaneTaps: the plane where it lies, plain loads inside the row, masked at its ends;
//   - PaddedTaps: a copy of the plane with a zero border (plane row i, column j at buffer row
//     i + 1, column j + 1; rows Wp wide, padded to whole vectors and two columns more): plain
//     loads only (AVX2 on narrow planes, whose rows' ends are most of the flat loop's loads).
template <class V>
struct PlaneTaps {
  using T = typename V::T;
  const float* x;
  int64_t H, W;
  int64_t ow = 0;
  bool inside = false;  // all three taps' lanes inside the row: plain loads
  uint32_t ml = 0, mc = 0, mr = 0;
  void at(int64_t o) {
    ow = o;
    inside = ow >= 1 && ow + V::kLanes + 1 <= W;
    ml = range_bits<V>(ow - 1, W), mc = range_bits<V>(ow, W), mr = range_bits<V>(ow + 1, W);
  }
  void load(int64_t ih, T& l, T& c, T& rt) const {
    l = c = rt = V::zero();
    if (ih < 0 || ih >= H) return;
    const float* row = x + ih * W + ow;
    if (inside) {
      l = V::load(row - 1), c = V::load(row), rt = V::load(row + 1);
    } else {
      l = V::load_mask(row - 1, ml), c = V::load_mask(row, mc), rt = V::load_mask(row + 1, mr);
    }
  }
};
template <class V>
struct PaddedTaps {
  using T = typename V::T;
  const float* xp;
  int64_t Wp;
  int64_t ow = 0;
  void at(int64_t o) { ow = o; }
  void load(int64_t ih, T& l, T& c, T& rt) const {
    const float* row = xp + (ih + 1) * Wp + ow;
    l = V::load(row), c = V::load(row + 1), rt = V::load(row + 2);
  }
};

template <class V, int R, class Taps>
inline void rows3x3(const Taps& taps, int64_t oh, const typename V::T wv[9], typename V::T a[R]) {
  using T = typename V::T;
#pragma GCC unroll 8
  for (int k = 0; k < R + 2; ++k) {  // input row oh − 1 + k: kernel row k − i of output row oh + i
    T l, c, rt;
    taps.load(oh - 1 + k, l, c, rt);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const int r = k - i;
      if (r < 0 || r > 2) continue;
      a[i] = r == 0 ? V::mul(wv[0], l) : V::fmadd(wv[3 * r], l, a[i]);
      a[i] = V::fmadd(wv[3 * r + 1], c, a[i]);
      a[i] = V::fmadd(wv[3 * r + 2], rt, a[i]);
    }
  }
}

// Output rows [oh, oh + R) of one H × W plane. A row's partial last vector is stored by parts:
// masked stores are slow on AMD (padded planes, 14×14 c384 and c576, 1 thread: 0.080 →
// 0.057–0.066 ms, 0.119 → 0.087–0.099; rows 28 wide read in place, MobileNetV2's 28×28 c192,
// scripts/bench/ab.ts, 64 passes: 3.5% faster on 2 threads, 2.5% on 1).
template <class V, int R, class Taps>
void rows3x3_block(Taps taps, int64_t W, int64_t oh, const typename V::T wv[9], const Epilogue& ep, float* y) {
  for (int64_t ow = 0; ow < W; ow += V::kLanes) {
    const int cnt = static_cast<int>(std::min<int64_t>(V::kLanes, W - ow));
    typename V::T a[R];
    taps.at(ow);
    rows3x3<V, R>(taps, oh, wv, a);
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      const int64_t o = (oh + i) * W + ow;
      const typename V::T v = finish<V>(a[i], ep, o, cnt);
      if (cnt == V::kLanes) V::store(y + o, v);
      else V::store_parts(y + o, v, cnt);
    }
  }
}

// All the rows of one plane, four at a time.
template <class V, class Taps>
void rows3x3_plane(const Taps& taps, int64_t H, int64_t W, const typename V::T wv[9], const Epilogue& ep,
                   float* y) {
  constexpr int R = 4;
  int64_t oh = 0;
  for (; oh + R <= H; oh += R) rows3x3_block<V, R>(taps, W, oh, wv, ep, y);
  switch (H - oh) {
    case 3: rows3x3_block<V, 3>(taps, W, oh, wv, ep, y); break;
    case 2: rows3x3_block<V, 2>(taps, W, oh, wv, ep, y); break;
    case 1: rows3x3_block<V, 1>(taps, W, oh, wv, ep, y); break;
    default: break;
  }
}

// The padded planes' loop, out of line: inlined beside the other, its stores by parts changed how
// GCC compiled the loop over wide planes (AVX2, 1 thread, 56×56 c144: 0.21 → 0.25–0.27 ms).
template <class V>
__attribute__((noinline)) void rows3x3_padded_plane(const PaddedTaps<V>& taps, int64_t H, int64_t W,
                                                    const typename V::T wv[9], const Epilogue& ep, float* y) {
  rows3x3_plane<V>(taps, H, W, wv, ep, y);
}

// padded: each plane copied first into a buffer with a zero border (PaddedTaps), else read where
// it lies (PlaneTaps).
template <class V>
void rows3x3_any(const Flat& f, const Planes& pl, int64_t p0, int64_t p1, bool padded) {
  const int64_t H = f.H, W = f.W, n = H * W;
  const int64_t Wp = (W + V::kLanes - 1) / V::kLanes * V::kLanes + 2;
  thread_local std::vector<float> buf;
  thread_local int64_t shaped_h = -1, shaped_w = -1;  // the geometry whose border buf holds
  if (padded && (shaped_h != H || shaped_w != W)) {
    buf.assign(static_cast<size_t>((H + 2) * Wp), 0.f);
    shaped_h = H, shaped_w = W;
  }
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t m = p % pl.M;
    const float* x = pl.x + ((p / pl.M) * pl.C + m / pl.mult) * n;
    const float* w = pl.w + m * 9;
    float* y = pl.y + p * n;
    const Epilogue ep = pl.epilogue(p, n);
    typename V::T wv[9];
    for (int t = 0; t < 9; ++t) wv[t] = V::set1(w[t]);
    if (padded) {
      for (int64_t i = 0; i < H; ++i) std::copy(x + i * W, x + (i + 1) * W, buf.data() + (i + 1) * Wp + 1);
      rows3x3_padded_plane<V>(PaddedTaps<V>{buf.data(), Wp}, H, W, wv, ep, y);
    } else {
      rows3x3_plane<V>(PlaneTaps<V>{x, H, W}, H, W, wv, ep, y);
    }
  }
}

template <class V>
void flat_any(const Flat& f, const Planes& pl, int64_t p0, int64_t p1) {
  if (pl.ntaps == 9) return flat_impl<V, 9>(f, pl, p0, p1);
  flat_impl<V, 0>(f, pl, p0, p1);
}

// The same-size form: by rows (rows3x3_any) on rows 28 wide and more (a row's last vector partly
// empty: 28 of 32 lanes, 56 of 64), else flat. Smaller planes stay flat, in full vectors: by
// rows, with AVX-512, MobileNetV2's 14×14 c384 and c576 took 12 and 18 µs alone against the flat
// loop's 18 and 26 (2 threads), but 31 and 39 µs in the model against 25 and 33; 7×7 c960
// 0.023 ms against 0.020. With AVX2 (8 lanes, the flat loop's masks built per load), 2 threads:
// 112×112 c32 0.176 → 0.067 ms, 56×56 c144 0.161 → 0.082, 28×28 c192 0.054 → 0.040; rows of 9
// to 27 by rows from a zero-bordered copy of each plane (PaddedTaps): 14×14 c384 0.080 →
// 0.060–0.063 ms, c576 0.087–0.128 → 0.067–0.094 (fleetrt_conv_bench, alternated); 7×7 (one
// vector a row) stays flat, 0.050–0.058 against 0.060–0.066.
template <class V>
void flat_rows_or_any(const Flat& f, const Planes& pl, int64_t p0, int64_t p1) {
  if (f.pad1_3x3 && f.W >= 28) return rows3x3_any<V>(f, pl, p0, p1, false);
  if (V::kLanes == 8 && f.pad1_3x3 && f.W > V::kLanes) return rows3x3_any<V>(f, pl, p0, p1, true);
  flat_any<V>(f, pl, p0, p1);
}

// Output columns [ow, ow + kLanes) of one input row r (W wide): the values at input columns
// 2·ow' − 1, 2·ow', 2·ow' + 1 (zero outside the row).
template <class V>
inline void stride2_row(const float* r, int64_t W, int64_t ow, typename V::T* left, typename V::T* mid,
                        typename V::T* right) {
  const int64_t c = 2 * ow;  // first input column of the block
  auto part = [&](int64_t c0) {
    const int64_t avail = W - c0;
    if (avail >= V::kLanes) return V::load(r + c0);
    if (avail <= 0) return V::zero();
    return V::load_n(r + c0, static_cast<int>(avail));
  };
  typename V::T even, odd;
  V::split(part(c), part(c + V::kLanes), &even, &odd);
  *mid = even;
  *right = odd;
  *left = V::shift_in(odd, c > 0 ? r[c - 1] : 0.f);
}

template <class V>
void stride2_any(const Stride2& f, const Planes& pl, int64_t p0, int64_t p1) {
  using T = typename V::T;
  const int64_t KH = f.KH, isz = f.H * f.W, osz = f.OH * f.OW;
  const bool nine = KH == 3;
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t m = p % pl.M;
    const float* x = pl.x + ((p / pl.M) * pl.C + m / pl.mult) * isz;
    const float* w = pl.w + m * KH * 3;
    const Epilogue ep = pl.epilogue(p, osz);
    for (int64_t oh = 0; oh < f.OH; ++oh) {
      float* y = pl.y + p * osz + oh * f.OW;
      for (int64_t ow = 0; ow < f.OW; ow += V::kLanes) {
        const int n = static_cast<int>(std::min<int64_t>(V::kLanes, f.OW - ow));
        T a = V::zero();
        for (int64_t kh = 0; kh < KH; ++kh) {
          const int64_t ih = 2 * oh + kh * f.dh - f.pad_top;
          T l = V::zero(), c = V::zero(), r = V::zero();
          if (ih >= 0 && ih < f.H) stride2_row<V>(x + ih * f.W, f.W, ow, &l, &c, &r);
          const float* wr = w + kh * 3;
          a = kh == 0 && nine ? V::mul(V::set1(wr[0]), l) : V::fmadd(V::set1(wr[0]), l, a);
          a = V::fmadd(V::set1(wr[1]), c, a);
          a = V::fmadd(V::set1(wr[2]), r, a);
        }
        put<V>(y + ow, finish<V>(a, ep, oh * f.OW + ow, n), n);
      }
    }
  }
}

// One vector of a 3×3 window's sums from the taps of its three input rows (left, middle, right
// of kernel rows 0, 1, 2): tap 0 multiplied, then one FMA per tap, as stride2_any sums them.
template <class V>
inline typename V::T sum3x3(const typename V::T (&w)[9], typename V::T l0, typename V::T m0, typename V::T r0,
                            typename V::T l1, typename V::T m1, typename V::T r1, typename V::T l2,
                            typename V::T m2, typename V::T r2) {
  typename V::T a = V::mul(w[0], l0);
  a = V::fmadd(w[1], m0, a);
  a = V::fmadd(w[2], r0, a);
  a = V::fmadd(w[3], l1, a);
  a = V::fmadd(w[4], m1, a);
  a = V::fmadd(w[5], r1, a);
  a = V::fmadd(w[6], l2, a);
  a = V::fmadd(w[7], m2, a);
  return V::fmadd(w[8], r2, a);
}

// Stride-2 3×3 (undilated) over planes [p0, p1): each plane's weights broadcast and epilogue set up
// once, then Blocks::template run<NB>(f, x, wv, ep, ow0, y) (each instruction set's loop over NB
// vectors of outputs from column ow0, every output row) across up to 4 vectors at a time, output
// rows in order (a block's column down all rows, then the next one's, missed the cache on 112×112
// planes that came from memory; with AVX2, 2 vectors across ran MobileNetV2's 112×112 c96 ~10%
// slower, 1 its 56×56 c144 ~20% slower).
template <class V, class Blocks>
void stride2_3x3_planes(const Stride2& f, const Planes& pl, int64_t p0, int64_t p1) {
  constexpr int64_t L = V::kLanes;
  const int64_t isz = f.H * f.W, osz = f.OH * f.OW;
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t m = p % pl.M;
    const float* x = pl.x + ((p / pl.M) * pl.C + m / pl.mult) * isz;
    const float* w = pl.w + m * 9;
    float* y = pl.y + p * osz;
    const Epilogue ep = pl.epilogue(p, osz);
    typename V::T wv[9];
    for (int t = 0; t < 9; ++t) wv[t] = V::set1(w[t]);
    for (int64_t ow0 = 0; ow0 < f.OW; ow0 += 4 * L) {
      switch (std::min<int64_t>(4, (f.OW - ow0 + L - 1) / L)) {
        case 4: Blocks::template run<4>(f, x, wv, ep, ow0, y); break;
        case 3: Blocks::template run<3>(f, x, wv, ep, ow0, y); break;
        case 2: Blocks::template run<2>(f, x, wv, ep, ow0, y); break;
        default: Blocks::template run<1>(f, x, wv, ep, ow0, y); break;
      }
    }
  }
}

}  // namespace depthwise
}  // namespace fleetrt
