// Heap thresholds for repeated runs (host_heap.h).
#include "core/host_heap.h"

#include <cstdlib>  // defines __GLIBC__ where the C library is glibc
#include <map>
#include <mutex>

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

namespace {
constexpr size_t kKeepFromBytes = size_t{64} << 10;
constexpr size_t kKeepAtMostBytes = size_t{256} << 20;

struct FreedBuffers {
  std::mutex mu;
  std::multimap<size_t, void*> by_size;
  size_t bytes = 0;
};
FreedBuffers& freed() {
  static FreedBuffers* f = new FreedBuffers();  // never destroyed: buffers may be released at exit
  return *f;
}
}  // namespace

void* take_host_buffer(size_t bytes) {
  if (bytes >= kKeepFromBytes) {
    FreedBuffers& f = freed();
    std::lock_guard<std::mutex> g(f.mu);
    auto it = f.by_size.find(bytes);
    if (it != f.by_size.end()) {
      void* p = it->second;
      f.by_size.erase(it);
      f.bytes -= bytes;
      return p;
    }
  }
  return std::aligned_alloc(64, bytes);
}

void give_host_buffer(void* p, size_t bytes) {
  if (p && bytes >= kKeepFromBytes) {
    FreedBuffers& f = freed();
    std::lock_guard<std::mutex> g(f.mu);
    if (f.bytes + bytes <= kKeepAtMostBytes) {
      f.by_size.emplace(bytes, p);
      f.bytes += bytes;
      return;
    }
  }
  std::free(p);
}

}  // namespace fleetrt
