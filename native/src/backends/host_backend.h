// What the cpu and emulated backends share: host memory, memcpy copies, synchronous kernels.
#pragma once

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "engine/backend.h"

namespace fleetrt {

// FLEETRT_DEVICE_MEMORY=1 makes them act as a device whose memory the host may not read: the
// executor then takes its device-memory path (weights uploaded, values copied in and out, host
// copies of integer inputs, op times from marks) on host memory, so that path is tested on
// machines without a GPU (test/runtime/device-memory.test.ts).
class HostBackend : public Backend {
 public:
  HostBackend() {
    const char* e = std::getenv("FLEETRT_DEVICE_MEMORY");
    device_memory_ = e && std::strcmp(e, "1") == 0;
  }
  const char* kernel_set() const override { return "cpu"; }
  bool host_visible() const override { return !device_memory_; }
  int mark() override {
    if (!device_memory_) return -1;
    std::lock_guard<std::mutex> g(mu_);
    const double t = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             std::chrono::steady_clock::now().time_since_epoch())
                                             .count()) /
                     1e3;
    if (!free_.empty()) {
      const int id = free_.back();
      free_.pop_back();
      marks_[id] = t;
      return id;
    }
    marks_.push_back(t);
    return static_cast<int>(marks_.size()) - 1;
  }
  double elapsed_us(int from, int to) override {
    std::lock_guard<std::mutex> g(mu_);
    return marks_[to] - marks_[from];
  }
  void release_mark(int id) override {
    std::lock_guard<std::mutex> g(mu_);
    free_.push_back(id);
  }
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
  bool device_memory_ = false;
  std::mutex mu_;
  std::vector<double> marks_;
  std::vector<int> free_;
};

}  // namespace fleetrt
