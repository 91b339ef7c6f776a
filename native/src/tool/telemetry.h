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

}  // namespace fleetrt
