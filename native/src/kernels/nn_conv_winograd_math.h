// The arithmetic of the Winograd transforms over vectors of tiles, shared by the AVX2 and AVX-512
// files (nn_conv_winograd_kernels.h). V is the file's vector: V::T and V::add, sub, mul, set1,
// fmadd(a, b, c) = a·b + c, fmsub = a·b − c, fnmadd = c − a·b. Included by files compiled for
// different instruction sets, so it lives in an unnamed namespace: every file gets its own copy.
#pragma once

namespace fleetrt {
namespace winograd {
namespace {

// F(2×2, 3×3), Bᵀ down the columns of a 4-row patch p, row i: P0 − P2, P1 + P2, P2 − P1, P1 − P3.
template <class V>
inline typename V::T bt4_row(int i, const typename V::T* p) {
  switch (i) {
    case 0: return V::sub(p[0], p[2]);
    case 1: return V::add(p[1], p[2]);
    case 2: return V::sub(p[2], p[1]);
    default: return V::sub(p[1], p[3]);
  }
}

// F(2×2, 3×3), B along a row from its even and odd values at the tile (e0, o0) and two columns on
// (e1, o1): E0 − E1, O0 + E1, E1 − O0, O0 − O1.
template <class V>
inline void b4_along(typename V::T e0, typename V::T o0, typename V::T e1, typename V::T o1, typename V::T* out) {
  out[0] = V::sub(e0, e1);
  out[1] = V::add(o0, e1);
  out[2] = V::sub(e1, o0);
  out[3] = V::sub(o0, o1);
}

// F(2×2, 3×3), Aᵀ·m of four vectors into two: M0 + M1 + M2, M1 − M2 − M3.
template <class V>
inline void at4(const typename V::T* m, typename V::T* y) {
  y[0] = V::add(V::add(m[0], m[1]), m[2]);
  y[1] = V::sub(V::sub(m[1], m[2]), m[3]);
}

// F(4×4, 3×3) (interpolation points 0, ±1, ±2 and ∞): Bᵀ·d of six vectors into t.
template <class V>
inline void bt6(const typename V::T* d, typename V::T* t) {
  using T = typename V::T;
  const T four = V::set1(4.f), five = V::set1(5.f), two = V::set1(2.f);
  // t0 = 4d0 − 5d2 + d4;  t5 = 4d1 − 5d3 + d5
  t[0] = V::add(V::fmsub(four, d[0], V::mul(five, d[2])), d[4]);
  t[5] = V::add(V::fmsub(four, d[1], V::mul(five, d[3])), d[5]);
  // t1 = −4(d1 + d2) + (d3 + d4);  t2 = 4(d1 − d2) + (d4 − d3)
  const T s12 = V::add(d[1], d[2]), s34 = V::add(d[3], d[4]);
  const T m12 = V::sub(d[1], d[2]), m43 = V::sub(d[4], d[3]);
  t[1] = V::fnmadd(four, s12, s34);
  t[2] = V::fmadd(four, m12, m43);
  // t3 = 2(d3 − d1) + (d4 − d2);  t4 = 2(d1 − d3) + (d4 − d2)
  const T m31 = V::sub(d[3], d[1]), m42 = V::sub(d[4], d[2]);
  t[3] = V::fmadd(two, m31, m42);
  t[4] = V::fnmadd(two, m31, m42);
}

// F(4×4, 3×3), Aᵀ·m of six vectors into four: y0 = m0 + m1 + m2 + m3 + m4,
// y1 = (m1 − m2) + 2(m3 − m4), y2 = (m1 + m2) + 4(m3 + m4), y3 = (m1 − m2) + 8(m3 − m4) + m5.
template <class V>
inline void at6(const typename V::T* m, typename V::T* y) {
  using T = typename V::T;
  const T s12 = V::add(m[1], m[2]), d12 = V::sub(m[1], m[2]);
  const T s34 = V::add(m[3], m[4]), d34 = V::sub(m[3], m[4]);
  y[0] = V::add(V::add(m[0], s12), s34);
  y[1] = V::fmadd(V::set1(2.f), d34, d12);
  y[2] = V::fmadd(V::set1(4.f), s34, s12);
  y[3] = V::add(V::fmadd(V::set1(8.f), d34, d12), m[5]);
}

}  // namespace
}  // namespace winograd
}  // namespace fleetrt
