// The constants of the vector exp and erf (math_vexp_avx2.cpp, math_verf_avx512.cpp): one set for
// every instruction width, so that the AVX2 and AVX-512 kernels give the same bits.
#pragma once

namespace fleetrt {
namespace ku {
namespace vexp_coeffs {

// exp(x) = 2^n · e^r, n = round(x·log2 e), r = x − n·ln 2 (ln 2 in two parts), e^r by a degree-6
// polynomial; inputs clamped to [kExpLo, kExpHi].
constexpr float kExpLo = -103.9f, kExpHi = 88.72283f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kExpPoly[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                               4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};

// erf: 1 − poly(t)·exp(−x²), t = 1/(1 + kErfT·|x|) (Abramowitz–Stegun 7.1.26) for |x| ≥ kErfSmallBelow;
// below it the odd Taylor series 2/√π · x · (1 − x²/3 + x⁴/10 − x⁶/42 + x⁸/216).
constexpr float kErfT = 0.3275911f;
constexpr float kErfPoly[5] = {1.061405429f, -1.453152027f, 1.421413741f, -0.284496736f, 0.254829592f};
constexpr float kErfTaylor[5] = {1.f / 216.f, -1.f / 42.f, 1.f / 10.f, -1.f / 3.f, 1.f};
constexpr float kTwoOverSqrtPi = 1.1283791670955126f;
constexpr float kErfSmallBelow = 0.5f;
// From here up the first form gives 1 exactly (poly·exp(−x²) < 2⁻²⁵): the kernels evaluate it at
// min(|x|, this), so that exp(−x²) never goes subnormal (GELU over values beyond ±13: 70 cycles
// per 8 lanes on Zen 3, against 32).
constexpr float kErfOneFrom = 4.f;

}  // namespace vexp_coeffs
}  // namespace ku
}  // namespace fleetrt
