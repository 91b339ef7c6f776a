// Per-step signals of a generation engine (docs/runtime.md, "Live re-placement"): after every
// step, what a controller needs to see a device slow down or the workload shift — the step's
// duration, kind and tokens, the queue (running and waiting sequences, pages), per local device
// the op time it spent in the step (busy) and its share of the step (utilisation), the bytes
// that crossed devices, and per MoE layer the tokens routed to each expert in the step. Counted
// as differences of the engine's running totals, so a step costs one pass over the op times.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace fleetrt {

class Generator;

class StepSignals {
 public:
  // Starts counting on `engine` (again after a replan: a new engine's totals start at zero).
  void attach(const Engine& engine);
  // The `step` event of the step that just ran (`index`: steps since the engine process started),
  // or an empty string when no step ran since the last call.
  std::string event(const Engine& engine, const Generator& gen, int64_t index);

 private:
  struct Entry {  // one expert instance: the op whose input rows are its routed tokens
    int layer = 0, expert = 0, device = -1, op = -1;
    int64_t rows = 0;
  };
  std::vector<double> busy_;  // per device: op time counted so far (µs)
  std::vector<Entry> entries_;
  int layers_ = 0, experts_ = 0;
  double last_start_ = -1;
};

}  // namespace fleetrt
