// What the cpu and emulated backends share: host memory, memcpy copies, synchronous kernels.
#pragma once

#include <cstring>

#include "engine/backend.h"

namespace fleetrt {

class HostBackend : public Backend {
 public:
  const char* kernel_set() const override { return "cpu"; }
  bool host_visible() const override { return true; }
  Status allocate(size_t bytes, void** out) override { return host_allocate(bytes, out); }
  void release(void* p) override { host_release(p); }
  Status copy_to_device(void* dst, const void* src, size_t n) override { return copy(dst, src, n); }
  Status copy_to_host(void* dst, const void* src, size_t n) override { return copy(dst, src, n); }
  Status copy_on_device(void* dst, const void* src, size_t n) override { return copy(dst, src, n); }
  Status synchronize() override { return Status::Ok(); }

 private:
  static Status copy(void* dst, const void* src, size_t n) {
    if (n) std::memcpy(dst, src, n);
    return Status::Ok();
  }
};

}  // namespace fleetrt
