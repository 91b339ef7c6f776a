// The cpu backend: host kernels on this machine's cores.
#include "backends/host_backend.h"

namespace fleetrt {

namespace {
class CpuBackend final : public HostBackend {
 public:
  const char* name() const override { return "cpu"; }
};
}  // namespace

Status open_cpu_backend(const BackendConfig&, std::unique_ptr<Backend>* out) {
  *out = std::make_unique<CpuBackend>();
  return Status::Ok();
}

}  // namespace fleetrt
