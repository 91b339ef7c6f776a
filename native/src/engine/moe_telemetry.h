// Routing telemetry of MoE plans (docs/moe.md): plan.json "experts" names, per device, the op
// whose first input's rows are the tokens routed to an expert there, the expert's ops and the
// values its rows travel in and out on. From the executor's per-op times and input rows this
// writes the metrics' "moe" section: routed tokens per (layer, expert, device), the experts'
// time per device next to the prediction, and dispatch/combine bytes per link.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/program.h"

namespace fleetrt {

struct MoeUnit {  // one expert instance on one device
  int layer = 0, expert = 0;
  std::string device, entry, input, output;
  std::vector<std::string> ops;
  double predicted_tokens = 0, predicted_seconds = 0;
  // The cost model's terms: seconds for n tokens = max(n·compute, stream) + n·transfer + fixed, of
  // which n·transfer and `latency` (part of `fixed`) are the messages to and from home.
  double compute = 0, stream = 0, transfer = 0, fixed = 0, latency = 0;
  // The expert's own ops only: what the measured time of `ops` (op time, not waiting, not the
  // messages) is compared with.
  double ops_seconds_for(double n) const;
};

// Reads plan.json "experts" (empty when the plan has none).
bool read_moe_units(const std::string& plan_path, std::vector<MoeUnit>* units, std::string* error);

// {"op name": [microseconds, rows, median and fastest microseconds per pass], …} for the ops of
// `device`'s units, from per-op totals and samples of the main program.
std::string moe_op_totals(const std::vector<MoeUnit>& units, const std::string& device, const ProgramDesc& main,
                          const std::vector<double>& op_us, const std::vector<int64_t>& op_rows,
                          const std::vector<std::vector<float>>& op_samples);

// The metrics' "moe" section. `ops`: per device, the parsed moe_op_totals; `link_bytes`: bytes
// of the units' input and output values per link over the run; `requests`: requests × repeats.
std::string moe_metrics(const std::vector<MoeUnit>& units, const std::map<std::string, const Json*>& ops,
                        const std::map<std::string, double>& link_bytes, double requests);

}  // namespace fleetrt
