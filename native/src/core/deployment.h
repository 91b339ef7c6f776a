// A whole plan in one run: every device's bundle on its own executor (own thread pool, arena and
// memory budget), values crossing devices on channels, steps starting when their inputs arrive,
// several requests in flight. Devices run in this process (one thread each) or, under MPI, one
// device per rank with tensors moving by point-to-point messages (see transport.h).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/executor.h"
#include "core/plan.h"
#include "core/program.h"
#include "core/tensor_io.h"
#include "core/thread_pool.h"
#include "core/transport.h"

namespace fleetrt {

struct DeviceEvent {  // one op executed on a device
  int request = 0, program = 0, op = 0, depth = 0;
  double start_us = 0, dur_us = 0;  // since the run's start
};

struct TransferEvent {  // one value sent from one device to another
  int request = 0;
  uint32_t channel = 0;
  int from = 0, to = 0;
  uint64_t bytes = 0;
  double send_us = 0, recv_us = -1;  // since the run's start (recv: when the consumer took it)
};

struct DeviceRunStats {
  double busy_us = 0;  // sum of op times
  int64_t ops = 0;
  uint64_t arena_bytes = 0;  // sum of the arenas of all requests that were in flight at once (peak)
  int64_t heap_peak = 0;
  double first_us = -1, last_us = 0;
  std::vector<DeviceEvent> events;
  std::vector<double> op_us;     // per main-program op: time summed over requests
  std::vector<int64_t> op_rows;  // per main-program op: rows of its first input summed over requests
};

struct DeploymentStats {
  int requests = 0;
  double wall_us = 0;
  std::vector<double> request_us;  // per request: start of the run → its last output
  std::vector<DeviceRunStats> devices;
  std::vector<TransferEvent> transfers;
};

struct DeviceRuntime {
  int index = 0;
  const PlanDevice* desc = nullptr;
  Program program;
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<Executor> exec;
  std::vector<int> input_of;   // per program input: index in the plan's graph inputs
  std::vector<int> output_of;  // per program output: index in the plan's graph outputs (-1: none)
  HeapAccount heap;
  bool local = true;
};

class Deployment {
 public:
  ~Deployment();
  // Loads plan.json and the bundles of the devices this process runs (all, or only `only_device`
  // when >= 0, as under MPI). threads <= 0: from the plan.
  bool open(const std::string& plan_path, int threads, int only_device, std::string* error);

  const Plan& plan() const { return plan_; }
  const std::vector<std::unique_ptr<DeviceRuntime>>& devices() const { return devices_; }
  // Graph inputs and outputs (plan order) with the program tensor that describes each.
  size_t num_inputs() const { return input_desc_.size(); }
  // The program tensor behind graph output k (null when its device is in another process).
  const TensorDesc* output_desc(size_t k) const { return io_desc(output_desc_, k); }

  // Inputs of the graph in plan order, as Session::load_inputs does for one device. Only the
  // inputs of local devices are loaded (others stay empty).
  bool load_inputs(const std::map<std::string, std::string>& named, const std::string& dir, std::vector<Value>* out,
                   std::string* error) const;
  bool random_inputs(uint64_t seed, std::vector<Value>* out, std::string* error) const;

  // Runs `requests` requests with the same inputs, all in flight at once. `outputs`: the graph
  // outputs (plan order) of request 0 that local devices produced.
  bool run(int requests, const std::vector<Value>& inputs, std::vector<Value>* outputs, DeploymentStats* stats, bool trace,
           std::string* error, bool* bad_input);

  // Writes the local outputs as OUT/<name>.npy.
  bool write_outputs(const std::string& dir, const std::vector<Value>& outputs, std::string* error) const;

  void set_transport(std::unique_ptr<Transport> t) { transport_ = std::move(t); }
  Transport* transport() const { return transport_.get(); }

  // Endpoint of channel `id` on device d in the given direction (0 send, 1 recv), or -1.
  int endpoint(int device, uint32_t channel, int direction) const;
  // Device that receives channel `id` (-1 if none).
  int receiver(uint32_t channel) const;

 private:
  const TensorDesc* io_desc(const std::vector<std::pair<int, int>>& where, size_t k) const;
  Plan plan_;
  std::vector<std::unique_ptr<DeviceRuntime>> devices_;
  std::vector<std::pair<int, int>> input_desc_, output_desc_;  // (device, program tensor) or (-1, -1) if remote
  std::map<uint32_t, int> receiver_;
  std::unique_ptr<Transport> transport_;
};

}  // namespace fleetrt
