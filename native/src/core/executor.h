// Executes a loaded program: binds symbols from input shapes, allocates tensors from the
// compiler's shape expressions (planned arena, output buffers, heap for data-dependent shapes),
// runs kernels in schedule order and runs subgraphs as nested frames.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/program.h"
#include "core/thread_pool.h"
#include "fleetrt/kernel.h"

namespace fleetrt {

struct OpEvent {
  int program = 0;
  int op = 0;
  int depth = 0;
  double start_us = 0, dur_us = 0;
};

struct RunStats {
  std::vector<OpEvent> events;          // every op executed (when tracing), in order
  std::vector<double> op_us;            // main-program op times of this run
  double total_us = 0;
  uint64_t arena_bytes = 0;             // arena used this run (after any re-plan)
  bool replanned = false;
  size_t heap_peak = 0;
};

class Executor {
 public:
  Executor(const Program& program, ThreadPool& pool);
  ~Executor();

  // Resolves every op's kernel; a missing one is an error naming the op.
  Status prepare();
  // Runs the main program. `inputs` in program input order; `outputs` in output order.
  Status run(std::vector<Value> inputs, std::vector<Value>* outputs, RunStats* stats, bool trace);

  const Program& program() const { return program_; }

 private:
  friend class Frame;
  friend class OpContext;
  const Program& program_;
  ThreadPool& pool_;
  std::vector<std::vector<std::vector<int>>> frees_;  // per program, per op: dynamic tensors to release
  std::shared_ptr<void> arena_;
  uint64_t arena_capacity_ = 0;
  RunStats* stats_ = nullptr;
  bool trace_ = false;
  double t0_us_ = 0;
};

}  // namespace fleetrt
