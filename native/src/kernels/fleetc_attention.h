// Blocks of paged attention over one page's contiguous rows of one KV head (fleetc_state.cpp):
// scores of a group of query heads against K rows, and probability-weighted sums of V rows.
#pragma once

#include <cstdint>

namespace fleetrt {
namespace ku {
namespace paged {

// scores[r * stride + j] = scale · (q[r] · k[j]) for r < group, j < rows (rows of D floats).
void qk_block(const float* q, int64_t group, int64_t D, const float* k, int64_t rows, float scale, float* scores, int64_t stride);
// acc[r] += Σ_j p[r * stride + j] · v[j] for r < group.
void pv_block(const float* p, int64_t group, int64_t stride, int64_t D, const float* v, int64_t rows, float* acc);

void qk_block_avx2(const float* q, int64_t group, int64_t D, const float* k, int64_t rows, float scale, float* scores,
                   int64_t stride);
void pv_block_avx2(const float* p, int64_t group, int64_t stride, int64_t D, const float* v, int64_t rows, float* acc);

}  // namespace paged
}  // namespace ku
}  // namespace fleetrt
