// Writes the engine's telemetry. Each local device's figures are first a JSON fragment (under MPI a
// rank knows only its own device; rank 0 gathers the fragments), then merged into the Chrome/Perfetto
// trace (a track per device, a flow arrow per transfer), the metrics file (measured next to the
// plan's predictions, per device, op, link and channel; generation figures when there were steps)
// and the summary line fleetc prints.
#pragma once

#include <string>
#include <vector>

#include "core/json.h"
#include "engine/engine.h"

namespace fleetrt {

// The fragment of local device `device`. `outputs`: the graph outputs of the last pass.
std::string device_fragment(const Engine& engine, int device, const std::vector<Value>& outputs, const std::string& output_dir);

struct EngineReport {
  std::string trace, metrics, summary;
};

// Merges the fragments of every device. `generation`: the JSON of the generation figures, or empty.
bool engine_report(const Plan& plan, const std::vector<Json>& fragments, const std::string& launcher, const std::string& generation,
                   EngineReport* out, std::string* error);

std::string latency_json(std::vector<double> ms);

}  // namespace fleetrt
