// Internal: 3×3 stride-1 convs by Winograd's minimal filtering F(m×m, 3×3), m = 2 or 4
// (nn_conv.cpp calls it).
//
// Each m×m block of outputs (a tile) comes from the (m + 2)² input patch under it: the patch and
// the 3×3 filter are transformed into (m + 2)² arrays (V = Bᵀ·d·B, U = G·g·Gᵀ), multiplied
// element by element and summed over the input channels, which for each element ξ is one matrix
// product Mξ[filter][tile] = Uξ[filter][channel] · Vξ[channel][tile]; the output transform
// Y = Aᵀ·M·A gives the tile. Per output and channel pair, 4 multiply-adds (m = 2) or 2.25 (m = 4)
// instead of 9. The transformed filters are made once per op; the products run on the SGEMM's
// microkernel (12×32 with AVX-512, 6×16 with AVX2).
#pragma once

#include <cstdint>

#include "fused_epilogue.h"
#include "kernel_util.h"

namespace fleetrt {
namespace winograd {

// Whether the conv is one Winograd computes: 2-D, 3×3, stride 1, no dilation, one group, enough
// channels and tiles for the products to pay for the transforms, on a CPU with AVX2.
bool fits(const ku::WindowGeom& g, int64_t Cg, int64_t Mg, int64_t group);

// The conv into y with bias and epilogue; false (nothing written) where its filters are not a
// constant input (the transformed ones are kept in the op's state).
bool run(KernelContext& ctx, const float* x, const float* w, const float* bias, float* y, int64_t N, int64_t C,
         int64_t M, const ku::WindowGeom& g, const ConvEpilogue* ep);

}  // namespace winograd
}  // namespace fleetrt
