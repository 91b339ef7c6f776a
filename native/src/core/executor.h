// Executes a loaded program: binds symbols from input shapes, allocates tensors from the
// compiler's shape expressions (planned arena, output buffers, heap for data-dependent shapes),
// runs kernels in schedule order and runs subgraphs as nested frames.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/program.h"
#include "core/thread_pool.h"
#include "fleetrt/kernel.h"

namespace fleetrt {

// Status code of errors caused by the caller's inputs (name, dtype, shape), as opposed to
// failures inside the run.
constexpr int kStatusBadInput = 2;

struct OpEvent {
  int program = 0;
  int op = 0;
  int depth = 0;
  double start_us = 0, dur_us = 0;
};

struct RunStats {
  std::vector<OpEvent> events;          // every op executed (when tracing), in order
  std::vector<double> op_us;            // main-program op times of this run
  std::vector<int64_t> op_rows;         // main-program ops: rows (dim 0) of input 0, summed (MoE routing counts)
  double total_us = 0;
  uint64_t arena_bytes = 0;             // arena used this run (after any re-plan)
  bool replanned = false;
  size_t heap_peak = 0;
};

// A request in flight on one executor (multi-device runs): a main-program frame executed op by
// op as inputs become available, with its own arena so that several requests can overlap.
class Request {
 public:
  virtual ~Request() = default;
  virtual bool done() const = 0;
  virtual int request_id() const = 0;
};

// Called when a tensor that leaves this device (a send endpoint) is ready.
using SendFn = std::function<Status(uint32_t endpoint, const Value& v)>;

class Executor {
 public:
  Executor(const Program& program, ThreadPool& pool);
  ~Executor();

  // Resolves every op's kernel; a missing one is an error naming the op.
  Status prepare();
  // Runs the main program. `inputs` in program input order; `outputs` in output order.
  Status run(std::vector<Value> inputs, std::vector<Value>* outputs, RunStats* stats, bool trace);

  const Program& program() const { return program_; }

  // Readiness-driven execution. begin() binds this program's inputs (checked as in run()) and
  // sends any input that leaves the device; deliver() hands in a received channel value; step()
  // runs the lowest-numbered ready op, if any (*ran says whether it did); finish() takes the
  // outputs once done(). `stats` collects op times and events for this request.
  // `known`: symbol values (by name) already bound elsewhere, e.g. from the graph inputs on the
  // home device, so that a device fed only by channels can still lay out its arena up front.
  Status begin(int id, std::vector<Value> inputs, RunStats* stats, bool trace, double t0_us, const SendFn& send,
               std::unique_ptr<Request>* out, const std::map<std::string, int64_t>* known = nullptr);
  Status deliver(Request& r, uint32_t endpoint, Value v, const SendFn& send);
  Status step(Request& r, bool* ran, const SendFn& send);
  Status finish(Request& r, std::vector<Value>* outputs);
  // Bytes of the arena of one request (after begin()).
  static uint64_t arena_bytes(const Request& r);

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
