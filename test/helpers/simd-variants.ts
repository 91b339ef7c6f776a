/** The kernel code a test runs fleetrt with: the best this CPU has, the AVX2 code, the portable code. */
export const SIMD_VARIANTS: [string, Record<string, string>][] = [
  ['the best code this CPU has', {}],
  ['AVX2 code (FLEETRT_SIMD=avx2)', { FLEETRT_SIMD: 'avx2' }],
  ['portable code (FLEETRT_PORTABLE=1)', { FLEETRT_PORTABLE: '1' }],
];
