// Heap thresholds for repeated runs (host_heap.h).
#include "core/host_heap.h"

#include <cstdlib>  // defines __GLIBC__ where the C library is glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace fleetrt {

void keep_freed_host_memory() {
#if defined(__GLIBC__)
  // Fixed values also stop glibc's own adjustment of the thresholds (which depends on the order
  // buffers happen to be freed in).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

}  // namespace fleetrt
