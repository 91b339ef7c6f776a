// Epilogue of fleetc FusedMatMul: y = act(alpha·A·B + bias + Z) (alpha: the SGEMM's), applied by
// the SGEMM to each block of the product once it is final (ku::GemmEpilogue), so that the output
// is written once. The compiler's fuse-matmul pass (passes/fuse/matmul.ts) builds the op from
// MatMul, a scalar Mul, Add of a bias over the last dim, Add of a residual of the output's shape
// and an activation.
#pragma once

#include <cstdint>
#include <string>

#include "kernel_util.h"

namespace fleetrt {

struct MatMulEpilogue {
  enum class Act { kNone, kRelu, kGelu, kTanh, kSigmoid };
  Act act = Act::kNone;
  const float* bias = nullptr;  // N values (one per column), or nullptr
  bool bias_scalar = false;     // bias holds one value for every column
  // > 0: a row of N bias values for every bias_period rows of the output, one after another (an
  // attention mask [batch, 1, 1, N] over scores [batch, heads, rows, N]); 0: one row for all.
  int64_t bias_period = 0;
  int64_t bias_ld = 0;  // values per bias row (N) when bias_period > 0
  const float* z = nullptr;     // residual, the output's layout (rows ldz apart), or nullptr
  int64_t ldz = 0;

  // Parses the `activation` attribute; false (with *err) on names it does not know.
  bool parse(const Attributes& attrs, std::string* err);
  // Rows i0..i0+m, columns j0..j0+n of the product, at c (rows ldc apart): in place,
  // c = act((c + bias) + z), in that order (the unfused graph's); without the bias when
  // with_bias is false (added already).
  void apply(float* c, int64_t ldc, int64_t i0, int64_t j0, int64_t m, int64_t n, bool with_bias = true) const;
  // As the SGEMM's per-block callback, a bias per column given to its kernel.
  ku::GemmEpilogue gemm() const {
    ku::GemmEpilogue g{[](const void* self, float* c, int64_t ldc, int64_t i0, int64_t j0, int64_t m, int64_t n) {
                         static_cast<const MatMulEpilogue*>(self)->apply(c, ldc, i0, j0, m, n);
                       },
                       this};
    if (bias && !bias_scalar && bias_period == 0) {
      g.col_bias = bias;
      g.col_gelu = act == Act::kGelu && !z;
      if (z || act != Act::kNone)
        g.rest = [](const void* self, float* c, int64_t ldc, int64_t i0, int64_t j0, int64_t m, int64_t n) {
          static_cast<const MatMulEpilogue*>(self)->apply(c, ldc, i0, j0, m, n, false);
        };
    }
    return g;
  }
};

}  // namespace fleetrt
