// Backends: what runs a device's ops. A plain table keyed by name (backend_table()); each entry
// opens a Backend for one device of the plan. A backend owns the device's memory (allocate/free,
// copies host↔device and device↔device), names the kernel set its ops run with (kernels are
// registered per (kernel set, domain, op), see fleetrt/kernel.h), and waits for its queued work.
//
// Built here: `cpu` (host kernels on this machine's cores) and `emulated` (host kernels standing in
// for another device class: the plan's capacity and op support are enforced, its time is the cost
// model's). Adding one: native/src/backends/README.md.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "fleetrt/kernel.h"

namespace fleetrt {

struct BackendConfig {
  std::string device;        // the plan's device name (for messages)
  std::string device_class;  // cpu, gpu, ipu, …
  uint64_t capacity = 0;     // memory budget in bytes (0: unlimited)
  int ordinal = 0;           // which physical device of the backend (e.g. cudaDevice)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // The kernel set this backend runs ("cpu" for host kernels).
  virtual const char* kernel_set() const = 0;
  // Whether its memory is ordinary host memory that host code may read and write directly.
  virtual bool host_visible() const = 0;
  // Host kernels standing in for another device: times are the cost model's, not measured.
  virtual bool emulated() const { return false; }

  virtual Status allocate(size_t bytes, void** out) = 0;
  virtual void release(void* p) = 0;
  virtual Status copy_to_device(void* dst, const void* host_src, size_t n) = 0;
  virtual Status copy_to_host(void* host_dst, const void* src, size_t n) = 0;
  virtual Status copy_on_device(void* dst, const void* src, size_t n) = 0;
  // Waits until every operation queued on this device has finished.
  virtual Status synchronize() = 0;

  // What this backend's kernels receive through KernelContext::device_context() (e.g. the cuda
  // backend's stream and library handles); null for host backends.
  virtual void* kernel_context() { return nullptr; }
  // Device-timed backends (work queued asynchronously): mark() queues a timestamp and returns its
  // id (-1: no device timing; the executor then times ops on the host); elapsed_us() reads the
  // time between two marks once synchronize() has returned; release_mark() recycles an id.
  virtual int mark() { return -1; }
  virtual double elapsed_us(int /*from*/, int /*to*/) { return 0; }
  virtual void release_mark(int /*id*/) {}

  KernelFn find_kernel(const std::string& domain, const std::string& op_type) const {
    return find_backend_kernel(kernel_set(), domain, op_type);
  }
};

struct BackendEntry {
  const char* name;
  const char* summary;
  // Opens the backend for one device; fails with a one-line reason when this machine or build
  // cannot run it (e.g. no GPU).
  Status (*open)(const BackendConfig& config, std::unique_ptr<Backend>* out);
};

// Every backend of this build, in a fixed order.
const std::vector<BackendEntry>& backend_table();
// Opens backend `name` for a device; an unknown name is an error listing the known ones.
Status open_backend(const std::string& name, const BackendConfig& config, std::unique_ptr<Backend>* out);

// Host memory, 64-byte aligned (what the cpu and emulated backends hand out).
Status host_allocate(size_t bytes, void** out);
void host_release(void* p);

}  // namespace fleetrt
