// Large-page buffers (large_pages.h).
#include "large_pages.h"

#include <algorithm>
#include <cstdlib>

#include "kernel_util.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace fleetrt {
namespace ku {

void* alloc_large(size_t bytes) {
  constexpr size_t kHuge = size_t{2} << 20;
  const bool huge = bytes >= 2 * kHuge;
  const size_t align = huge ? kHuge : 64;
  const size_t rounded = ((bytes ? bytes : 1) + align - 1) / align * align;
  void* p = std::aligned_alloc(align, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (p && huge) madvise(p, rounded, MADV_HUGEPAGE);  // advice only: without it, 4 KiB pages
#endif
  return p;
}

FloatBuf large_floats(int64_t n) {
  return FloatBuf(static_cast<float*>(alloc_large(static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(float))));
}

}  // namespace ku
}  // namespace fleetrt
