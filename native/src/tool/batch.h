// Batch mode: many (plan, inputs, expected outputs) jobs in one process, one JSON line each.
#pragma once

#include <string>

namespace fleetrt {

// Reads jobs from `path` (stdin when empty or "-") and prints one result line per job.
// Job: {"id", "plan", "inputs": [files], "expected": [file | {"file"|"output", "rtol"?, "atol"?, "ulp"?} | null],
//       "outputDir"?, "rtol"?, "atol"?}
// Result: {"id", "status": "pass"|"fail"|"error", "message"?, "worst": {...}?, "ms"}
int run_batch(const std::string& path, int threads);

}  // namespace fleetrt
