// Paged attention over one KV head of one sequence (fleetc_state.cpp's PagedAttention drives it):
// the scores of a group of query heads against the K rows of a key range, the softmax, and the
// probability-weighted sum of the V rows, a page's block of contiguous rows at a time. A long
// context can be split into key ranges that run on different threads (flash-decoding): each range
// returns its unnormalised sums with their running max and exp-sum, and `merge` combines them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fleetrt/kernel.h"

namespace fleetrt {
namespace ku {
namespace paged {

// KV heads of one sequence in the state's pages: the row (D elements of `dtype`) of position j of
// head g starts at element pages[j / page_size] * page_elems + head_offset + (g·page_size + j %
// page_size) * D of the K pool `k` and of the V pool `v` (a page holds [heads][page_size][D]).
struct HeadPages {
  DType dtype = DType::kF32;
  const void* k = nullptr;
  const void* v = nullptr;
  const int32_t* pages = nullptr;
  int64_t page_size = 0, page_elems = 0, head_offset = 0, D = 0;
};

// Floats of scratch `attend` needs for `heads` × `group` query heads over up to `keys` keys.
size_t attend_scratch_floats(const HeadPages& h, int64_t heads, int64_t group, int64_t keys);

// Attention of the KV heads g < heads of h, each with `group` query heads (q: heads × group × D
// floats, query head r of KV head g at row g·group + r), over the keys [j0, j1), j1 > j0. A
// page's heads are read one after another, so that the pass over a page range reads one run of
// memory per page. With m and l null: out (same rows as q) = softmax_j(scale · q·k_j) · V,
// normalised over the range. Otherwise the range's part for a later merge: per row, m = max_j s_j,
// l = Σ_j exp(s_j − m) and out = Σ_j exp(s_j − m) · v_j.
// scratch: attend_scratch_floats(h, heads, group, j1 − j0) floats.
void attend(const HeadPages& h, int64_t heads, const float* q, int64_t group, int64_t j0, int64_t j1, float scale,
            float* scratch, float* out, float* m, float* l);

// Combines `parts` parts of `rows` query heads (part p: m[p·rows + r], l[p·rows + r] and
// acc[(p·rows + r) · D …]) into out[r · D …] for r < rows.
void merge(int64_t parts, int64_t rows, int64_t D, const float* m, const float* l, const float* acc, float* out);

// n elements of a float type (f32, f16, bf16) from src[at …] as float32, and back.
void to_floats(DType t, const void* src, size_t at, float* dst, int64_t n);
void from_floats(DType t, const float* src, void* dst, size_t at, int64_t n);

// The blocks `attend` runs, one set per kernel-code level (the best one for this CPU is chosen at
// run time: AVX2+FMA, portable).
// qk: scores[r * stride + j] = scale · (q[r] · k[j]) for r < group, j < rows (rows of D floats).
// pv: acc[r] += Σ_j p[r * stride + j] · v[j] for r < group.
void qk_block(const float* q, int64_t group, int64_t D, const float* k, int64_t rows, float scale, float* scores, int64_t stride);
void pv_block(const float* p, int64_t group, int64_t stride, int64_t D, const float* v, int64_t rows, float* acc);
void qk_block_avx2(const float* q, int64_t group, int64_t D, const float* k, int64_t rows, float scale, float* scores,
                   int64_t stride);
void pv_block_avx2(const float* p, int64_t group, int64_t stride, int64_t D, const float* v, int64_t rows, float* acc);

}  // namespace paged
}  // namespace ku
}  // namespace fleetrt
