// Executes a loaded program: binds symbols from input shapes, allocates tensors from the
// compiler's shape expressions (planned arena, output buffers, heap for data-dependent shapes),
// runs kernels in schedule order and runs subgraphs as nested frames.
#pragma once

#include <algorithm>
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
// Status code of errors in the plan or a bundle (schema, sha256, bounds, wiring).
constexpr int kStatusBadPlan = 3;
// Status code of a device that failed or stopped answering (its message names it).
constexpr int kStatusDeviceLost = 5;

// Where one pass's op times and events go (the engine's per-device telemetry).
struct OpEvent {
  int pass = 0, program = 0, op = 0, depth = 0;
  double start_us = 0, dur_us = 0;  // since the engine's epoch
};

// An op's time is its kernel and the executor's work for it on the device's thread (readiness,
// sends, releases, values received since the previous op), never time spent waiting for a value;
// on device-timed backends (cuda) it is the kernel's device time.
struct ExecStats {
  std::vector<double> op_us;     // per main-program op, summed over passes
  // Robust figures (the metrics' medians): each op's time in its first kMaxSamples passes, and the
  // device's op time per pass for as many passes.
  static constexpr size_t kMaxSamples = 1024;
  std::vector<std::vector<float>> op_samples;
  std::map<int, double> pass_us;
  void account(int op, int pass, double us) {
    const size_t o = static_cast<size_t>(op);
    if (o < op_us.size()) op_us[o] += us;
    if (op_samples.size() < op_us.size()) op_samples.resize(op_us.size());
    if (o < op_samples.size() && op_samples[o].size() < kMaxSamples) op_samples[o].push_back(static_cast<float>(us));
    auto it = pass_us.find(pass);
    if (it != pass_us.end()) it->second += us;
    else if (pass_us.size() < kMaxSamples) pass_us[pass] = us;
  }
  std::vector<int64_t> op_rows;  // per main-program op: rows (dim 0) of its first input, summed (MoE routing counts)
  static constexpr size_t kMaxEvents = 2000000;
  std::vector<OpEvent> events;   // every op executed (when tracing), up to kMaxEvents
  // Storage for `passes` more passes of `ops` ops, its pages written now rather than in the ops
  // timed (Engine::reserve_telemetry).
  void reserve(size_t ops, size_t passes, bool with_events) {
    if (op_samples.size() < ops) op_samples.resize(ops);
    for (std::vector<float>& v : op_samples) prefault(v, std::min(passes, kMaxSamples - std::min(v.size(), kMaxSamples)));
    if (with_events) prefault(events, std::min(ops * passes, kMaxEvents - std::min(events.size(), kMaxEvents)));
  }
  template <class T>
  static void prefault(std::vector<T>& v, size_t more) {
    const size_t n = v.size();
    if (v.capacity() >= n + more) return;
    v.resize(n + more);  // writes every element: the pages are faulted in here
    v.resize(n);         // the capacity stays
  }
  uint64_t arena_bytes = 0;      // largest arena laid out for one pass
  bool replanned = false;        // an arena had to be re-planned for larger actual shapes
};

// What an executor needs to know about the pass it runs.
struct PassContext {
  int pass = 0;
  ExecStats* stats = nullptr;    // null: no telemetry
  bool trace = false;
  double t0_us = 0;              // the engine's epoch, for event times
  StepState* step = nullptr;     // generation state, null for one-shot passes
  double slowdown = 1;           // test knob: every op takes this many times its time
};

// A request in flight on one executor (multi-device runs): a main-program frame executed op by
// op as inputs become available, with its own arena so that several requests can overlap.
class Request {
 public:
  virtual ~Request() = default;
  virtual bool done() const = 0;
  virtual int request_id() const = 0;
};

// Called when a tensor that leaves this device (a send endpoint) is ready. On a host-memory
// executor `v` may view memory the frame reuses (its arena): copy it with Executor::to_host
// before keeping it; otherwise it is already the sender's own host copy.
using SendFn = std::function<Status(uint32_t endpoint, const Value& v)>;

class Backend;

class Executor {
 public:
  Executor(const Program& program, ThreadPool& pool, Backend& backend);
  ~Executor();

  // Resolves every op's kernel in the backend's kernel set; a missing one is an error naming the op.
  Status prepare();
  // Runs the main program in schedule order. `inputs` in program input order; `outputs` in output order.
  Status run(std::vector<Value> inputs, std::vector<Value>* outputs, const PassContext& pc);

  const Program& program() const { return program_; }
  // Whether this device's memory is the host's (false: values are uploaded on entry and copied
  // back when they leave, weights live on the device from prepare() on).
  bool host_memory() const { return !device_; }

  // Readiness-driven execution. begin() binds this program's inputs (checked as in run()) and
  // sends any input that leaves the device; deliver() hands in a received channel value; step()
  // runs the lowest-numbered ready op, if any (*ran says whether it did); finish() takes the
  // outputs once done().
  // `known`: symbol values (by name) already bound elsewhere, e.g. from the graph inputs on the
  // home device, so that a device fed only by channels can still lay out its arena up front.
  Status begin(std::vector<Value> inputs, const PassContext& pc, const SendFn& send, std::unique_ptr<Request>* out,
               const std::map<std::string, int64_t>* known = nullptr);
  Status deliver(Request& r, uint32_t endpoint, Value v, const SendFn& send);
  Status step(Request& r, bool* ran, const SendFn& send);
  // The device is about to wait for a value (idle): the wait is nobody's op time; it woke up
  // (resume): what it does from now until its next op (taking in values) is that op's.
  void idle() { since_us_ = -1; }
  void resume();
  Status finish(Request& r, std::vector<Value>* outputs);
  // Floating ops (engine/floating.h): marks[o] >= 0 says main-program op o floats. claim(pass,
  // op, kClaimRun) before one runs readiness-driven: whether this device runs it (if not, step()
  // skips it and its outputs arrive from the device that did); kClaimEarly when this device just
  // made its last input; kClaimPeek: whether this device has taken it. A request is done here when
  // the floating ops it did not run are not this device's.
  enum ClaimMode { kClaimRun = 0, kClaimEarly = 1, kClaimPeek = 2 };
  using ClaimFn = std::function<bool(int pass, int op, int mode)>;
  void set_floating(std::vector<int> marks, ClaimFn claim) {
    floating_ = std::move(marks);
    floating_count_ = 0;
    for (int k : floating_) floating_count_ += k >= 0 ? 1 : 0;
    claim_ = std::move(claim);
  }
  // Bytes of the arena of one request (after begin()).
  static uint64_t arena_bytes(const Request& r);

  // Values entering (upload), staying on (own_copy) and leaving (to_host) this device's memory;
  // on host-memory devices upload is not used and the others copy host memory.
  Status device_alloc(DType dtype, const std::vector<int64_t>& shape, OwnedTensor* out);
  Status upload(const Value& host, Value* out);
  Status to_host(const Value& v, Value* out);
  Status own_copy(const Value& v, Value* out);

 private:
  friend class Frame;
  friend class OpContext;
  friend class RequestImpl;
  const Program& program_;
  ThreadPool& pool_;
  Backend& backend_;
  std::vector<std::vector<std::vector<int>>> frees_;  // per program, per op: dynamic tensors to release
  std::shared_ptr<void> arena_;
  uint64_t arena_capacity_ = 0;
  const PassContext* pc_ = nullptr;  // the pass whose op is running
  double since_us_ = -1;              // when the previous step's work ended (-1: the device waited since)
  std::vector<int> floating_;         // per main-program op: >= 0 when it floats
  int floating_count_ = 0;
  ClaimFn claim_;

  // Device memory (backends whose memory is not host-visible): the weights uploaded once.
  bool device_ = false;
  std::shared_ptr<void> device_weights_;
};

}  // namespace fleetrt
