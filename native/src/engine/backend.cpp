#include "engine/backend.h"

#include <cstdlib>
#include <cstring>

#include "kernels/large_pages.h"

namespace fleetrt {

Status open_cpu_backend(const BackendConfig& config, std::unique_ptr<Backend>* out);
Status open_emulated_backend(const BackendConfig& config, std::unique_ptr<Backend>* out);
#ifdef FLEETRT_HAVE_CUDA
Status open_cuda_backend(const BackendConfig& config, std::unique_ptr<Backend>* out);
#endif

const std::vector<BackendEntry>& backend_table() {
  static const std::vector<BackendEntry> table = {
      {"cpu", "host kernels on this machine's cores", open_cpu_backend},
      {"emulated", "host kernels standing in for another device class (its capacity and op support enforced, time from the cost model)",
       open_emulated_backend},
#ifdef FLEETRT_HAVE_CUDA
      {"cuda", "NVIDIA GPUs through the CUDA runtime and cuBLAS", open_cuda_backend},
#endif
  };
  return table;
}

Status open_backend(const std::string& name, const BackendConfig& config, std::unique_ptr<Backend>* out) {
  std::string known;
  for (const BackendEntry& e : backend_table()) {
    if (name == e.name) {
      Status st = e.open(config, out);
      if (!st.ok()) return Status::Error("device '" + config.device + "': backend '" + name + "': " + st.message);
      return st;
    }
    known += (known.empty() ? "" : ", ") + std::string(e.name);
  }
  std::string hint = name == "cuda" ? " (this fleetrt was built without CUDA)" : "";
  return Status::Error("device '" + config.device + "' needs backend '" + name + "', which this fleetrt does not have" + hint +
                       " (it has: " + known + ")");
}

// On large pages from 4 MiB up (a run's arena: ResNet-50's 56×56 planes, which the conv kernels
// read a plane apart per channel).
Status host_allocate(size_t bytes, void** out) {
  *out = ku::alloc_large(bytes);
  if (!*out) return Status::Error("cannot allocate " + std::to_string(bytes) + " bytes of host memory");
  return Status::Ok();
}

void host_release(void* p) { std::free(p); }

}  // namespace fleetrt
