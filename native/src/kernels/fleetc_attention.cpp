// Paged attention over one KV head (fleetc_attention.h): the K pass, the softmax, the V pass, the
// merge of split key ranges, and the portable blocks.
#include "fleetc_attention.h"

#include <algorithm>
#include <cstring>

#include "kernel_util.h"

namespace fleetrt {
namespace ku {
namespace paged {

namespace {

struct Blocks {
  void (*qk)(const float*, int64_t, int64_t, const float*, int64_t, float, float*, int64_t);
  void (*pv)(const float*, int64_t, int64_t, int64_t, const float*, int64_t, float*);
};

const Blocks& blocks() {
  static const Blocks portable{qk_block, pv_block}, avx2{qk_block_avx2, pv_block_avx2};
  return use_avx2() ? avx2 : portable;
}

inline size_t row_at(const HeadPages& h, int64_t j) {
  return static_cast<size_t>(h.pages[j / h.page_size] * h.page_elems + h.head_offset + (j % h.page_size) * h.D);
}

// Asks for the rows [j, j + rows) of `heads` consecutive heads of one page of a pool (one
// contiguous run of memory) to be brought into the cache.
inline void prefetch_rows(const HeadPages& h, int64_t heads, const void* pool, size_t elem, int64_t j, int64_t rows) {
  const char* at = static_cast<const char*>(pool) + row_at(h, j) * elem;
  const size_t bytes = static_cast<size_t>(((heads - 1) * h.page_size + rows) * h.D) * elem;
  for (size_t o = 0; o < bytes; o += 64) __builtin_prefetch(at + o, 0, 3);
}

}  // namespace

void to_floats(DType t, const void* src, size_t at, float* dst, int64_t n) {
  switch (t) {
    case DType::kF32:
      std::memcpy(dst, static_cast<const float*>(src) + at, static_cast<size_t>(n) * 4);
      return;
    case DType::kF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = half_to_float(static_cast<const uint16_t*>(src)[at + i]);
      return;
    default:  // bf16
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_float(static_cast<const uint16_t*>(src)[at + i]);
  }
}

void from_floats(DType t, const float* src, void* dst, size_t at, int64_t n) {
  switch (t) {
    case DType::kF32:
      std::memcpy(static_cast<float*>(dst) + at, src, static_cast<size_t>(n) * 4);
      return;
    case DType::kF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[at + i] = float_to_half(src[i]);
      return;
    default:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[at + i] = float_to_bf16(src[i]);
  }
}

size_t attend_scratch_floats(const HeadPages& h, int64_t heads, int64_t group, int64_t keys) {
  return static_cast<size_t>(heads * group * keys + (h.dtype == DType::kF32 ? 0 : h.page_size * h.D));
}

void attend(const HeadPages& h, int64_t heads, const float* q, int64_t group, int64_t j0, int64_t j1, float scale,
            float* scratch, float* out, float* m, float* l) {
  const Blocks& code = blocks();
  const int64_t n = j1 - j0, D = h.D, ps = h.page_size, rows_q = heads * group;
  const size_t elem = dtype_bytes(h.dtype, 1);
  float* scores = scratch;  // [head][r][key]
  float* block = scratch + rows_q * n;
  // Rows [j, j + rows) of head i of one page of a pool, as floats (converted into `block` unless f32).
  auto rows_of = [&](const void* pool, int64_t i, int64_t j, int64_t rows) -> const float* {
    const size_t at = row_at(h, j) + static_cast<size_t>(i * ps * D);
    if (h.dtype == DType::kF32) return static_cast<const float*>(pool) + at;
    to_floats(h.dtype, pool, at, block, rows * D);
    return block;
  };
  // One pass over a pool's rows of [j0, j1), a page at a time (the heads' blocks of a page lie
  // one after another), the next page asked for while this one is read: a page is a short run of
  // memory and the next one lies elsewhere, where the hardware's prefetchers do not follow.
  auto pagewise = [&](const void* pool, auto&& fn) {
    prefetch_rows(h, heads, pool, elem, j0, std::min(j1 - j0, ps - j0 % ps));
    for (int64_t j = j0; j < j1;) {
      const int64_t rows = std::min(j1 - j, ps - j % ps);
      if (j + rows < j1) prefetch_rows(h, heads, pool, elem, j + rows, std::min(j1 - j - rows, ps));
      for (int64_t i = 0; i < heads; ++i) fn(i, j, rows, rows_of(pool, i, j, rows));
      j += rows;
    }
  };
  pagewise(h.k, [&](int64_t i, int64_t j, int64_t rows, const float* k) {
    code.qk(q + i * group * D, group, D, k, rows, scale, scores + i * group * n + (j - j0), n);
  });
  for (int64_t r = 0; r < rows_q; ++r) {
    float* sc = scores + r * n;
    const float mx = *std::max_element(sc, sc + n);
    const float sum = static_cast<float>(vexp_shift_sum(sc, 1.0f, mx, sc, n));
    if (m) {
      m[r] = mx;
      l[r] = sum;
    } else {
      const float inv = 1.0f / sum;
      for (int64_t j = 0; j < n; ++j) sc[j] *= inv;
    }
  }
  std::fill(out, out + rows_q * D, 0.0f);
  pagewise(h.v, [&](int64_t i, int64_t j, int64_t rows, const float* v) {
    code.pv(scores + i * group * n + (j - j0), group, n, D, v, rows, out + i * group * D);
  });
}

void merge(int64_t parts, int64_t rows, int64_t D, const float* m, const float* l, const float* acc, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    float mx = m[r];
    for (int64_t p = 1; p < parts; ++p) mx = std::max(mx, m[p * rows + r]);
    float total = 0;
    float* o = out + r * D;
    std::fill(o, o + D, 0.0f);
    for (int64_t p = 0; p < parts; ++p) {
      const float w = std::exp(m[p * rows + r] - mx);
      total += w * l[p * rows + r];
      const float* a = acc + (p * rows + r) * D;
      for (int64_t d = 0; d < D; ++d) o[d] += w * a[d];
    }
    const float inv = 1.0f / total;
    for (int64_t d = 0; d < D; ++d) o[d] *= inv;
  }
}

void qk_block(const float* q, int64_t group, int64_t D, const float* k, int64_t rows, float scale, float* scores, int64_t stride) {
  for (int64_t j = 0; j < rows; ++j)
    for (int64_t r = 0; r < group; ++r) {
      float dot = 0;
      for (int64_t d = 0; d < D; ++d) dot += q[r * D + d] * k[j * D + d];
      scores[r * stride + j] = dot * scale;
    }
}

void pv_block(const float* p, int64_t group, int64_t stride, int64_t D, const float* v, int64_t rows, float* acc) {
  for (int64_t r = 0; r < group; ++r)
    for (int64_t j = 0; j < rows; ++j) {
      const float w = p[r * stride + j];
      for (int64_t d = 0; d < D; ++d) acc[r * D + d] += w * v[j * D + d];
    }
}

}  // namespace paged
}  // namespace ku
}  // namespace fleetrt
