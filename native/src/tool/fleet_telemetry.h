// Telemetry of multi-device runs. Each device's figures are first written as a JSON fragment
// (under MPI a rank knows only its own device; rank 0 gathers the fragments), then merged into
// the trace (a track per device, a flow per transfer), the metrics (measured next to the plan's
// predictions) and the summary line.
#pragma once

#include <string>
#include <vector>

#include "core/deployment.h"
#include "core/json.h"

namespace fleetrt {

// The fragment of one local device: its runs (one DeploymentStats per repeat), its outputs.
std::string device_fragment(const Deployment& dep, const std::vector<DeploymentStats>& runs, int device,
                            const std::vector<Value>& outputs, const std::string& output_dir, bool trace);

struct FleetReport {
  std::string trace, metrics, summary;
};

// Merges the fragments (parsed) of every device.
bool fleet_report(const Plan& plan, const std::vector<Json>& fragments, int requests, int repeats, const std::string& launcher,
                  FleetReport* out, std::string* error);

}  // namespace fleetrt
