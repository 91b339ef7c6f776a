// Special functions of the CHLO dialect in double precision, with CHLO's conventions at poles
// and domain edges (which differ from C's and scipy's in places, noted per function). The
// chlo_* kernels evaluate float16/bfloat16/float32 through these and round the result once.
#pragma once

namespace fleetrt {
namespace chlo {

// ln|Γ(x)|; +inf at the poles (0, -1, -2, …) and at ±inf.
double log_abs_gamma(double x);

// ψ(x) = Γ'(x)/Γ(x); NaN at the poles x ∈ {0, -1, -2, …} (scipy gives ∓inf at ±0).
double digamma(double x);

// The inverse of erf on [-1, 1]: ±inf at ±1, NaN outside.
double erf_inv(double x);

// exp(-|x|)·I₁(x), the exponentially scaled modified Bessel function of order one (odd in x).
double bessel_i1e(double x);

// Hurwitz ζ(s, q) = Σₖ (q + k)^-s. NaN for s < 1, +inf at s = 1. For q ≤ 0: NaN unless s is an
// integer; at the poles q ∈ {0, -1, …} +inf for even s and NaN otherwise (scipy: +inf).
double hurwitz_zeta(double s, double q);

// ψ⁽ⁿ⁾(x) for a natural number n (NaN otherwise): digamma at n = 0, else (-1)ⁿ⁺¹ n! ζ(n + 1, x).
double polygamma(double n, double x);

}  // namespace chlo
}  // namespace fleetrt
