// `fleetrt PLAN --engine`: generation driven by JSON lines on stdin/stdout (engine_server.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/transport.h"

namespace fleetrt {

struct EngineServerArgs {
  std::string plan_path, trace_path, metrics_path;
  int threads = 0;
  int64_t kv_pages = -1;    // pages per device pool (-1: the plan's capacity)
  int max_step_tokens = 0;  // token budget per step (0: the plan's)
  bool prefix_cache = true;
  std::vector<std::string> slowdown;  // NAME=FACTOR[@STEP] (test knob)
};

// `transport`: MPI (rank 0 serves the protocol, the other ranks run their device), or null.
int run_engine_server(const EngineServerArgs& args, std::unique_ptr<Transport> transport);

}  // namespace fleetrt
