// Internal: the instruction set of fleetc FusedElementwise (fused_elementwise.cpp; the compiler's
// passes/fuse/elementwise.ts writes the same numbers) and its AVX-512 loops.
#pragma once
#include <cstdint>

namespace fleetrt {
namespace fused {

enum Opcode : int64_t {
  kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kPow = 4, kMax = 5, kMin = 6,
  kRelu = 20, kSigmoid = 21, kTanh = 22, kErf = 23, kNeg = 24, kAbs = 25, kExp = 26, kSqrt = 27, kLog = 28,
  kReciprocal = 29, kSquare = 30,
};

// o[0..n) = op(a, b) (b nullptr for unary ops) with AVX-512 for the exactly rounded arithmetic
// (add, sub, mul, div, reciprocal, square, neg, abs, relu: the same bits as the scalar loops);
// false, with nothing written, for the other ops. Only called after ku::use_avx512()
// (fused_elementwise_avx512.cpp).
bool run_instr_avx512(int64_t op, const float* a, const float* b, float* o, int64_t n);

}  // namespace fused
}  // namespace fleetrt
