// Double-precision special functions for the CHLO kernels (see chlo_special.h for the
// conventions). Methods: reflection, recurrence and the asymptotic series for ψ, with a Taylor
// series around its positive zero; Euler–Maclaurin summation for Hurwitz ζ; the power series and
// the large-argument expansion for I₁; Halley iteration on erf/erfc for erf⁻¹.
#include "chlo_special.h"

#include <cmath>
#include <limits>

namespace fleetrt {
namespace chlo {
namespace {

constexpr double kPi = 3.14159265358979323846264338327950288;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool is_integer(double x) { return std::isfinite(x) && x == std::floor(x); }

// Bernoulli numbers B₂, B₄, …, B₂₄ (exact rationals).
constexpr int kBernoulliTerms = 12;
constexpr double kBernoulli[kBernoulliTerms] = {
    1.0 / 6,        -1.0 / 30,     1.0 / 42,         -1.0 / 30,      5.0 / 66,
    -691.0 / 2730,  7.0 / 6,       -3617.0 / 510,    43867.0 / 798,  -174611.0 / 330,
    854513.0 / 138, -236364091.0 / 2730,
};

// B₂ⱼ / (2j)! for j = 1 … kBernoulliTerms.
struct BernoulliOverFactorial {
  double v[kBernoulliTerms];
  BernoulliOverFactorial() {
    double fact = 1;
    for (int j = 1; j <= kBernoulliTerms; ++j) {
      fact *= (2.0 * j - 1) * (2.0 * j);
      v[j - 1] = kBernoulli[j - 1] / fact;
    }
  }
};
const BernoulliOverFactorial& bernoulli_over_factorial() {
  static const BernoulliOverFactorial t;
  return t;
}

// ψ(x) for x ≥ 10: ln x − 1/(2x) − Σⱼ B₂ⱼ / (2j x²ʲ).
double digamma_asymptotic(double x) {
  const double z = 1 / (x * x);
  double s = 0;
  for (int j = 8; j >= 1; --j) s = s * z + kBernoulli[j - 1] / (2.0 * j);
  return std::log(x) - 0.5 / x - s * z;
}

// The positive zero of ψ as a sum of two doubles (1.46163214496836234126265954232572…).
constexpr double kRootHi = 1.4616321449683622;
constexpr double kRootLo = 9.549995429965697e-17;
// Around the zero ψ(x₀ + d) = Σₖ (−1)ᵏ⁺¹ ζ(k + 1, x₀) dᵏ (radius of convergence x₀, the
// distance to the pole at 0); used for |d| < kRootRadius, where the recurrence would cancel.
constexpr double kRootRadius = 0.45;
constexpr int kRootTerms = 44;

struct RootSeries {
  double c[kRootTerms + 1];
  RootSeries() {
    c[0] = 0;
    for (int k = 1; k <= kRootTerms; ++k) c[k] = (k % 2 ? 1.0 : -1.0) * hurwitz_zeta(k + 1.0, kRootHi + kRootLo);
  }
};

double digamma_near_root(double d) {
  static const RootSeries s;
  double r = 0;
  for (int k = kRootTerms; k >= 1; --k) r = r * d + s.c[k];
  return r * d;
}

// I₁(x)·e^-x for 0 ≤ x ≤ kBesselSeriesMax: Σₖ (x/2)²ᵏ⁺¹ / (k! (k+1)!), every term positive.
constexpr double kBesselSeriesMax = 25;
double i1e_series(double x) {
  const double q = 0.25 * x * x;
  double term = 0.5 * x, sum = 0;
  for (int k = 0; k < 200; ++k) {
    sum += term;
    if (term <= sum * 1e-18) break;
    term *= q / ((k + 1.0) * (k + 2.0));
  }
  return sum * std::exp(-x);
}

// I₁(x)·e^-x for large x: (2πx)^-½ Σₖ (−1)ᵏ aₖ / xᵏ, aₖ = Πᵢ₌₁..ₖ (4 − (2i−1)²) / (k! 8ᵏ).
double i1e_asymptotic(double x) {
  double term = 1, sum = 1;
  for (int k = 1; k < 200; ++k) {
    const double odd = 2.0 * k - 1;
    const double next = -term * (4 - odd * odd) / (8.0 * k * x);
    if (std::fabs(next) >= std::fabs(term)) break;  // the series starts to diverge
    term = next;
    sum += term;
    if (std::fabs(term) <= std::fabs(sum) * 1e-18) break;
  }
  return sum / std::sqrt(2 * kPi * x);
}

}  // namespace

double log_abs_gamma(double x) {
  if (std::isinf(x)) return kInf;
#if defined(__GLIBC__)
  int sign;
  return ::lgamma_r(x, &sign);  // std::lgamma writes the global signgam (a data race across threads)
#else
  return std::lgamma(x);
#endif
}

double digamma(double x) {
  if (std::isnan(x)) return x;
  if (x <= 0 && x == std::floor(x)) return kNaN;  // the poles, and −inf
  if (x == kInf) return kInf;
  double result = 0;
  if (x < 0.5) {
    // Reflection ψ(x) = ψ(1 − x) − π cot(πx); cot has period 1, so reduce x exactly first.
    const double r = x - std::nearbyint(x);
    result = -kPi / std::tan(kPi * r);
    x = 1 - x;
  }
  const double d = (x - kRootHi) - kRootLo;
  if (std::fabs(d) < kRootRadius) return result + digamma_near_root(d);
  double harmonic = 0;
  while (x < 10) {
    harmonic += 1 / x;
    x += 1;
  }
  return result + (digamma_asymptotic(x) - harmonic);
}

double erf_inv(double x) {
  if (std::isnan(x)) return x;
  const double a = std::fabs(x);
  if (a > 1) return kNaN;
  if (a == 1) return std::copysign(kInf, x);
  if (a == 0) return x;
  // First guess: a closed-form approximation (relative error ~2e-3), or the series for small x.
  double y;
  if (a < 1e-4) {
    y = 0.5 * std::sqrt(kPi) * a * (1 + kPi * a * a / 12);
  } else {
    const double k = 0.147;
    const double l = std::log((1 - a) * (1 + a));
    const double b = 2 / (kPi * k) + 0.5 * l;
    y = std::sqrt(std::sqrt(b * b - l / k) - b);
  }
  // Halley on f(y) = erf(y) − a, or on erfc(y) − (1 − a) (exact for a ≥ ½) where erf is flat;
  // for both f''/f' = −2y, so one step is y −= u / (1 + y u) with u = f / f'.
  const bool tail = a >= 0.5;
  const double c = 1 - a;
  for (int i = 0; i < 6; ++i) {
    const double dfdy = 2 / std::sqrt(kPi) * std::exp(-y * y);
    const double u = tail ? -(std::erfc(y) - c) / dfdy : (std::erf(y) - a) / dfdy;
    const double step = u / (1 + y * u);
    y -= step;
    if (std::fabs(step) <= 1e-17 * y) break;
  }
  return std::copysign(y, x);
}

double bessel_i1e(double x) {
  if (std::isnan(x)) return x;
  const double a = std::fabs(x);
  if (a == kInf) return std::copysign(0.0, x);
  const double r = a <= kBesselSeriesMax ? i1e_series(a) : i1e_asymptotic(a);
  return std::copysign(r, x);
}

double hurwitz_zeta(double s, double q) {
  if (std::isnan(s) || std::isnan(q)) return kNaN;
  if (s == 1) return kInf;
  if (s < 1) return kNaN;
  if (q <= 0) {
    if (q == std::floor(q)) return is_integer(s) && std::fmod(s, 2) == 0 ? kInf : kNaN;
    if (!is_integer(s) && s != kInf) return kNaN;
  }
  if (s == kInf) return q > 1 ? 0 : (q == 1 ? 1 : kInf);
  if (q < 0) {
    // Integer s: with m = ⌈−q⌉ and f = q + m ∈ (0, 1), the m terms below zero are
    // (−1)ˢ Σᵢ<ₘ (1 − f + i)^-s = (−1)ˢ (ζ(s, 1 − f) − ζ(s, 1 − f + m)).
    const double m = std::ceil(-q);
    const double f = q + m;
    const double below = hurwitz_zeta(s, 1 - f) - hurwitz_zeta(s, 1 - f + m);
    return (std::fmod(s, 2) == 0 ? below : -below) + hurwitz_zeta(s, f);
  }
  // Σ_{k<N} (q + k)^-s directly, until q + N ≥ 12 + s (where the Euler–Maclaurin corrections
  // shrink fast) or until the terms no longer count (then the rest is smaller still).
  const double a_min = 12 + s;
  double sum = 0;
  double a = q;
  for (;;) {
    if (a >= a_min) break;
    const double term = std::pow(a, -s);
    sum += term;
    a += 1;
    if (a > 1 && a < s - 1 && std::fabs(term) <= 1e-18 * std::fabs(sum)) return sum;
  }
  // Σ_{k≥N} (q + k)^-s ≈ a^(1−s)/(s−1) + a^-s/2 + Σⱼ B₂ⱼ/(2j)! · s(s+1)…(s+2j−2) · a^(1−s−2j).
  const double w = std::pow(a, -s);
  double tail = a * w / (s - 1) + 0.5 * w;
  const BernoulliOverFactorial& bf = bernoulli_over_factorial();
  double rising = s;    // s(s+1)…(s+2j−2)
  double power = w / a;  // a^(1−s−2j)
  for (int j = 1; j <= kBernoulliTerms; ++j) {
    const double t = bf.v[j - 1] * rising * power;
    tail += t;
    if (std::fabs(t) <= 1e-18 * std::fabs(sum + tail)) break;
    rising *= (s + 2.0 * j - 1) * (s + 2.0 * j);
    power /= a * a;
  }
  return sum + tail;
}

double polygamma(double n, double x) {
  if (std::isnan(n) || std::isnan(x)) return kNaN;
  if (!is_integer(n) || n < 0) return kNaN;
  if (n == 0) return digamma(x);
  const double sign = std::fmod(n, 2) == 1 ? 1 : -1;
  return sign * std::tgamma(n + 1) * hurwitz_zeta(n + 1, x);
}

}  // namespace chlo
}  // namespace fleetrt
