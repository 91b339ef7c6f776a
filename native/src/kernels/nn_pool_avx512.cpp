// AVX-512 max pooling of interior output rows (nn_pool.cpp): full 2×2 and 3×3 windows, stride 1 or
// 2, undilated columns, 16 outputs per step. The window rows are first reduced column by column,
// then the columns of each window picked from that (stride 2: the even and odd lanes split by
// permutes). Every max keeps the value so far unless the new one is greater, as the scalar loop
// does (so NaNs are passed over alike): the same values, in a grouping that can differ only in
// which of a +0 and a −0 it keeps. Compiled for AVX-512F by the pragma below; nn_pool.cpp calls it
// only after ku::use_avx512().
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "simd_lanes_avx512.h"

namespace fleetrt {
namespace pool_detail {
namespace {

using ku::first_lanes;

// x > so_far ? x : so_far, lane by lane (MAXPS returns its second operand on ties and NaNs).
inline __m512 later_max(__m512 x, __m512 so_far) { return _mm512_max_ps(x, so_far); }

// Max over the K window rows of 16 columns starting at column c; lanes outside m are -inf.
template <int K>
inline __m512 rows_max(const float* const* row, int64_t c, __mmask16 m) {
  const __m512 low = _mm512_set1_ps(-__builtin_inff());
  __m512 v = low;
  for (int k = 0; k < K; ++k) v = later_max(_mm512_mask_loadu_ps(low, m, row[k] + c), v);
  return v;
}

template <int K, int S>
void max_row(const float* const* row, int64_t lo, int64_t hi, float* y, int64_t next_row) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512i even2 = _mm512_add_epi32(even, _mm512_set1_epi32(2));  // lane 15 (32) comes from the third vector
  for (int64_t ow = lo; ow < hi; ow += 16) {
    const int64_t n = std::min<int64_t>(16, hi - ow);
    const int64_t c = ow * S, span = (n - 1) * S + K;  // columns [c, c + span) are read
    // the same columns of the next output row's window rows (past the plane on its last row:
    // prefetches do not fault)
    for (int k = 0; k < K; ++k)
      for (int q = 0; q < S; ++q)
        _mm_prefetch(reinterpret_cast<const char*>(row[k] + next_row + c + 16 * q), _MM_HINT_T0);
    __m512 r;
    if (S == 1) {
      r = rows_max<K>(row, c, first_lanes(span));
      const __m512 r1 = rows_max<K>(row, c + 1, first_lanes(span - 1));
      r = later_max(r1, r);
      if (K == 3) r = later_max(rows_max<K>(row, c + 2, first_lanes(span - 2)), r);
    } else {
      const __m512 a = rows_max<K>(row, c, first_lanes(span)), b = rows_max<K>(row, c + 16, first_lanes(span - 16));
      r = later_max(_mm512_permutex2var_ps(a, odd, b), _mm512_permutex2var_ps(a, even, b));
      if (K == 3) {
        __m512 e2 = _mm512_permutex2var_ps(a, even2, b);
        if (span > 32) e2 = _mm512_mask_broadcastss_ps(e2, 0x8000, _mm512_castps512_ps128(rows_max<K>(row, c + 32, 1)));
        r = later_max(e2, r);
      }
    }
    _mm512_mask_storeu_ps(y + ow, first_lanes(n), r);
  }
}

}  // namespace

// yr[ow] for ow in [lo, hi) = max of the k×k window (k 2 or 3, stride 1 or 2) whose rows start at
// row[0..k) + ow·stride; the next output row's window rows start next_row floats further.
void max_row_avx512(const float* const* row, int64_t k, int64_t stride, int64_t lo, int64_t hi, float* yr,
                    int64_t next_row) {
  if (k == 2) (stride == 1 ? max_row<2, 1> : max_row<2, 2>)(row, lo, hi, yr, next_row);
  else (stride == 1 ? max_row<3, 1> : max_row<3, 2>)(row, lo, hi, yr, next_row);
}

}  // namespace pool_detail
}  // namespace fleetrt
