// Chrome trace and metrics files for `fleetrt --trace/--metrics`.
#pragma once

#include <string>
#include <vector>

#include "core/executor.h"
#include "core/session.h"

namespace fleetrt {

// Chrome/Perfetto trace JSON ("traceEvents", complete events, one per op executed).
std::string trace_json(const Session& s, const std::vector<RunStats>& runs);
// Metrics JSON: per-op times, per-repeat latency, peak memory, totals.
std::string metrics_json(const Session& s, const std::vector<RunStats>& runs);

std::string latency_json(std::vector<double> ms);
std::string outputs_json(const std::vector<std::string>& names, const std::vector<Value>& outputs, const std::string& dir);
// One JSON line {"summary": {...}} for fleetc: devices, output files, latency.
std::string summary_json(const Session& s, const std::vector<RunStats>& runs, const std::vector<Value>& outputs,
                         const std::string& output_dir);

}  // namespace fleetrt
