// The engine (docs/runtime.md): one object for a plan on 1..N devices. open() parses the plan once,
// verifies and loads every local device's bundle, opens each device on its backend, and connects
// the devices through a transport (in-process, or MPI with one device per rank). It then runs
// passes — one forward of the plan's graph each, several in flight at once — until it is closed.
// One-shot runs, the generation loop and the serving front end are all clients of run().
//
// Inside a pass a device runs an op as soon as its inputs are there (readiness-driven); values
// crossing devices travel on the plan's channels. Each device has its own thread pool, arena per
// pass in flight and memory budget. Every pass is recorded in one Telemetry (engine/telemetry.h).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/executor.h"
#include "core/plan.h"
#include "core/program.h"
#include "core/tensor_io.h"
#include "core/thread_pool.h"
#include "engine/backend.h"
#include "engine/floating.h"
#include "engine/telemetry.h"
#include "engine/transport.h"

namespace fleetrt {

struct EngineOptions {
  std::string plan_path;
  int threads = 0;                        // intra-op threads per device; <= 0: from the plan
  std::unique_ptr<Transport> transport;   // MPI; null: every device in this process
  bool trace = false;                     // record every op and transfer (Chrome trace)
};

// One forward of the graph.
struct PassSpec {
  std::vector<Value> inputs;  // graph inputs in plan order (entries for other ranks' devices stay empty)
  // Per local device index: the generation state its stateful kernels see (null: none).
  std::vector<StepState*> step;
  int kind = 0;      // PassKind, for telemetry
  int tokens = 0;    // generation: tokens computed by the pass
};

struct DeviceRuntime {
  int index = 0;
  const PlanDevice* desc = nullptr;
  bool local = true;
  Program program;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<Executor> exec;
  std::vector<int> input_of;   // per program input: index in the plan's graph inputs
  std::vector<int> output_of;  // per program output: index in the plan's graph outputs (-1: none)
  HeapAccount heap;
  uint64_t reserved = 0;       // bytes held for the device outside arenas (state pages)
};

class Engine {
 public:
  Engine();
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Errors name the plan file and what is wrong; *bad_plan tells a broken plan or bundle
  // (fleetrt exit 3) from a device this machine cannot open.
  Status open(EngineOptions options);

  const Plan& plan() const { return plan_; }
  Transport& transport() const { return *transport_; }
  // Test knob: from run `from` on, device `name` takes `factor` times its op time (1: off).
  Status set_slowdown(const std::string& name, double factor, int from = 0);

  // Ends the transport (under MPI: flush and finalize) before the process exits.
  void close_transport() { transport_.reset(); }
  const std::vector<std::unique_ptr<DeviceRuntime>>& devices() const { return devices_; }
  int home() const { return home_; }
  // The program tensor behind graph input/output k (null when its device is in another process).
  const TensorDesc* input_desc(size_t k) const { return io_desc(input_desc_, k); }
  const TensorDesc* output_desc(size_t k) const { return io_desc(output_desc_, k); }

  // Inputs in plan order: by name (NAME=FILE) or from a folder (input_N.pb / .npy), or pseudo-random
  // with the planned shapes. Only the inputs of local devices are loaded.
  Status load_inputs(const std::map<std::string, std::string>& named, const std::string& dir,
                     const std::vector<std::string>& files, std::vector<Value>* out) const;
  Status random_inputs(uint64_t seed, std::vector<Value>* out) const;

  // Runs the passes to completion, all in flight at once. (*outputs)[i]: the graph outputs of pass
  // i (plan order) that local devices produced. A failure caused by the inputs has code kStatusBadInput.
  Status run(std::vector<PassSpec>& passes, std::vector<std::vector<Value>>* outputs);

  // Writes graph outputs held in this process as DIR/<name>.npy.
  Status write_outputs(const std::string& dir, const std::vector<Value>& outputs) const;

  // Control messages between processes (generation under MPI: the step descriptors rank 0's
  // scheduler sends the other ranks). They travel on the transport beside channel values; one
  // that arrives while a pass runs waits here for the next wait_control().
  static constexpr uint32_t kControlChannel = 0xffffffffu;
  Status send_control(int device, const std::vector<int64_t>& data);
  Status wait_control(std::vector<int64_t>* data);

  // Floating ops and how often each device ran them (docs/floating.md).
  const FloatingOps& floating() const { return floating_; }

  Telemetry& telemetry() { return telemetry_; }
  const Telemetry& telemetry() const { return telemetry_; }
  // Forgets what was measured so far (after warm-up passes): op times, transfers, passes, bytes per
  // channel. Weights, state and the runs' outputs are untouched.
  void reset_telemetry();
  // Room in the telemetry for `passes` more passes of every local device's ops, its pages written
  // now: grown during the passes, it faults pages in inside the ops it times (tracing a 176-op
  // decoder made its passes 17% slower).
  void reserve_telemetry(int passes);

  // Channel wiring: endpoint index of `channel` on device d (direction 0 send, 1 receive), or -1;
  // the device receiving a channel, or -1.
  int endpoint(int device, uint32_t channel, int direction) const;
  int receiver(uint32_t channel) const;

 private:
  struct Run;
  const TensorDesc* io_desc(const std::vector<std::pair<int, int>>& where, size_t k) const;
  Status open_device(DeviceRuntime& d, int threads, int local_count);
  Status run_inline(PassSpec& pass, std::vector<Value>* outputs);
  void drive(Run& run, DeviceRuntime& dev);
  void stash_control(const Message& m);

  Plan plan_;
  std::vector<std::unique_ptr<DeviceRuntime>> devices_;
  std::vector<std::pair<int, int>> input_desc_, output_desc_;  // (device, program tensor) or (-1, -1) if remote
  std::map<uint32_t, int> receiver_;
  std::unique_ptr<Transport> transport_;
  Telemetry telemetry_;
  FloatingOps floating_;
  // Fault injection for tests (FLEETRT_FAULT=device=NAME,step=N,mode=crash|hang; off by default):
  // from run N on, that device crashes or stops answering.
  std::vector<std::pair<double, int>> slowdown_;  // per device: (factor, from run)
  double slowdown_of(const DeviceRuntime& d) const {
    const auto& s = slowdown_[static_cast<size_t>(d.index)];
    return telemetry_.runs >= s.second ? s.first : 1;
  }
  int fault_device_ = -1, fault_run_ = 0;
  bool fault_hangs_ = false;
  double watchdog_us_ = 2e6;  // a device silent this long with work to do is lost (FLEETRT_WATCHDOG_MS)
  Status parse_fault(const char* spec);
  bool faulted(const DeviceRuntime& d) const { return d.index == fault_device_ && telemetry_.runs >= fault_run_; }
  int home_ = 0;
  int next_pass_ = 0;
  std::mutex control_mu_;
  std::deque<std::vector<int64_t>> control_;
  bool trace_ = false;
};

}  // namespace fleetrt
