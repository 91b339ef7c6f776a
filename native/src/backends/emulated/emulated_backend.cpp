// The emulated backend: a device of another class (gpu, ipu, …) run on host kernels so that plans
// for fleets this machine does not have still execute. The engine enforces the device's memory
// capacity from the plan, the compiler its op support; telemetry reports its host times beside the
// cost model's prediction and marks them emulated.
#include "backends/host_backend.h"

namespace fleetrt {

namespace {
class EmulatedBackend final : public HostBackend {
 public:
  const char* name() const override { return "emulated"; }
  bool emulated() const override { return true; }
};
}  // namespace

Status open_emulated_backend(const BackendConfig&, std::unique_ptr<Backend>* out) {
  *out = std::make_unique<EmulatedBackend>();
  return Status::Ok();
}

}  // namespace fleetrt
