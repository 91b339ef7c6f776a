#include "engine/engine.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace fleetrt {

double now_us() {
  using namespace std::chrono;
  return duration<double, std::micro>(steady_clock::now().time_since_epoch()).count();
}

void Telemetry::reset(size_t devices_count, double epoch) {
  std::lock_guard<std::mutex> g(mu);
  epoch_us = epoch;
  devices.assign(devices_count, DeviceTelemetry());
  transfers.clear();
  passes.clear();
  steps.clear();
  runs = 0;
}

Engine::Engine() = default;
Engine::~Engine() = default;

int Engine::endpoint(int device, uint32_t channel, int direction) const {
  const ProgramDesc& D = devices_[device]->program.programs[0];
  for (size_t k = 0; k < D.channels.size(); ++k)
    if (D.channels[k].channel == channel && D.channels[k].direction == direction) return static_cast<int>(k);
  return -1;
}

int Engine::receiver(uint32_t channel) const {
  auto it = receiver_.find(channel);
  return it == receiver_.end() ? -1 : it->second;
}

const TensorDesc* Engine::io_desc(const std::vector<std::pair<int, int>>& where, size_t k) const {
  if (k >= where.size() || where[k].first < 0) return nullptr;
  return &devices_[where[k].first]->program.programs[0].tensors[where[k].second];
}

Status Engine::open_device(DeviceRuntime& d, int threads, int local_count) {
  const PlanDevice& pd = *d.desc;
  std::string err;
  if (!d.program.load(pd.bundle_dir + "/program.bin", pd.bundle_dir + "/weights.bin", &err)) return Status::Error(err);
  BackendConfig bc{pd.name, pd.device_class, pd.capacity, pd.ordinal};
  FLEETRT_RETURN_IF_ERROR(open_backend(pd.backend, bc, &d.backend));
  // Devices in one process share this host's cores: unless --threads says otherwise, each gets at
  // most its share, so that emulated devices do not oversubscribe the machine. Workers poll
  // between ops only when every local device's pool fits on its own cores.
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int nthreads = threads > 0 ? threads : pd.threads;
  if (threads <= 0 && local_count > 1) nthreads = std::max(1, std::min(nthreads, cores / local_count));
  d.pool = std::make_unique<ThreadPool>(nthreads, /*spin=*/nthreads * local_count <= cores);
  d.exec = std::make_unique<Executor>(d.program, *d.pool, *d.backend);
  Status st = d.exec->prepare();
  if (!st.ok()) return Status::Error("device '" + pd.name + "': " + st.message);
  const ProgramDesc& D = d.program.programs[0];
  const uint64_t need = d.program.weights.size() + D.arena_bytes;
  if (pd.capacity && need > pd.capacity)
    return Status::Error("device '" + pd.name + "' needs " + std::to_string(need) + " bytes (weights " +
                         std::to_string(d.program.weights.size()) + " + arena " + std::to_string(D.arena_bytes) +
                         ") but its memory budget is " + std::to_string(pd.capacity));
  return Status::Ok();
}

Status Engine::open(EngineOptions o) {
  std::string err;
  auto bad = [&](const std::string& m) { return Status{kStatusBadPlan, plan_.path + ": " + m}; };
  if (!load_plan(o.plan_path, &plan_, &err)) return Status{kStatusBadPlan, err};
  if (!verify_bundles(plan_, &err)) return Status{kStatusBadPlan, err};
  const int ndev = static_cast<int>(plan_.devices.size());
  transport_ = o.transport ? std::move(o.transport) : make_inproc_transport(ndev);
  trace_ = o.trace;
  if (std::strcmp(transport_->kind(), "inproc") != 0 && transport_->size() != ndev)
    return bad("the plan has " + std::to_string(ndev) + " devices but mpirun started " + std::to_string(transport_->size()) +
               " ranks (use -np " + std::to_string(ndev) + ")");
  auto device_index = [&](const std::string& name) {
    for (int i = 0; i < ndev; ++i)
      if (plan_.devices[i].name == name) return i;
    return -1;
  };
  for (size_t c = 0; c < plan_.channels.size(); ++c) {
    int to = device_index(plan_.channels[c].to);
    if (to >= 0) receiver_[static_cast<uint32_t>(c)] = to;
  }
  for (const PlanFloatingValue& v : plan_.floating_values) {
    int to = device_index(v.to);
    if (to >= 0) receiver_[v.endpoint] = to;
  }
  home_ = 0;
  for (int i = 0; i < ndev; ++i)
    if (plan_.devices[i].home) home_ = i;
  int local_count = 0;
  for (int i = 0; i < ndev; ++i) local_count += transport_->local(i) ? 1 : 0;
  input_desc_.assign(plan_.inputs.size(), {-1, -1});
  output_desc_.assign(plan_.outputs.size(), {-1, -1});
  for (int i = 0; i < ndev; ++i) {
    auto d = std::make_unique<DeviceRuntime>();
    d->index = i;
    d->desc = &plan_.devices[i];
    d->local = transport_->local(i);
    if (d->local) {
      Status st = open_device(*d, o.threads, local_count);
      if (!st.ok()) return bad(st.message);
      const ProgramDesc& D = d->program.programs[0];
      for (uint32_t t : D.inputs) {
        const std::string& name = D.tensors[t].name;
        int k = -1;
        for (size_t g = 0; g < plan_.inputs.size(); ++g)
          if (plan_.inputs[g].name == name) k = static_cast<int>(g);
        if (k < 0) return bad("device '" + d->desc->name + "' takes input '" + name + "', which the plan does not list as a graph input");
        d->input_of.push_back(k);
        input_desc_[k] = {i, static_cast<int>(t)};
      }
      for (uint32_t t : D.outputs) {
        const std::string& name = D.tensors[t].name;
        int k = -1;
        for (size_t g = 0; g < plan_.outputs.size(); ++g)
          if (plan_.outputs[g].name == name) k = static_cast<int>(g);
        d->output_of.push_back(k);
        if (k >= 0) output_desc_[k] = {i, static_cast<int>(t)};
      }
      for (const ChannelEndpoint& c : D.channels)
        if (c.direction == 1) receiver_[c.channel] = i;
    }
    devices_.push_back(std::move(d));
  }
  for (const auto& d : devices_) {
    if (!d->local) continue;
    for (const ChannelEndpoint& c : d->program.programs[0].channels)
      if (c.direction == 0 && receiver(c.channel) < 0)
        return bad("device '" + d->desc->name + "' sends on channel " + std::to_string(c.channel) + ", which no device receives");
  }
  if (local_count == ndev)
    for (size_t k = 0; k < plan_.inputs.size(); ++k)
      if (input_desc_[k].first < 0) return bad("graph input '" + plan_.inputs[k].name + "' is read by no device");
  {
    std::vector<const Program*> programs;
    for (const auto& d : devices_) programs.push_back(d->local ? &d->program : nullptr);
    Status st = floating_.init(plan_, programs, local_count == ndev);
    if (!st.ok()) return bad(st.message);
    for (const auto& d : devices_)
      if (d->local && floating_.any())
        d->exec->set_floating(floating_.marks(d->index), [this, i = d->index](int pass, int op, int mode) { return floating_.claim(pass, i, op, mode); });
  }
  telemetry_.reset(devices_.size(), now_us());
  telemetry_.channel_bytes.assign(plan_.channels.size(), 0);
  if (const char* ms = std::getenv("FLEETRT_WATCHDOG_MS")) watchdog_us_ = std::max(1.0, std::atof(ms)) * 1000;
  if (const char* f = std::getenv("FLEETRT_FAULT")) FLEETRT_RETURN_IF_ERROR(parse_fault(f));
  slowdown_.assign(devices_.size(), {1.0, 0});
  return Status::Ok();
}

void Engine::reset_telemetry() {
  floating_.reset_runs();
  telemetry_.reset(devices_.size(), now_us());
  std::lock_guard<std::mutex> g(telemetry_.mu);
  telemetry_.channel_bytes.assign(plan_.channels.size(), 0);
}

void Engine::reserve_telemetry(int passes) {
  if (passes <= 0) return;
  std::lock_guard<std::mutex> g(telemetry_.mu);
  for (const auto& d : devices_)
    if (d->local && static_cast<size_t>(d->index) < telemetry_.devices.size())
      telemetry_.devices[static_cast<size_t>(d->index)].exec.reserve(d->program.programs[0].ops.size(),
                                                                        static_cast<size_t>(passes), trace_);
}

Status Engine::set_slowdown(const std::string& name, double factor, int from) {
  for (const auto& d : devices_)
    if (d->desc->name == name) {
      if (!(factor >= 1)) return Status::Error("a slowdown factor must be at least 1, not " + std::to_string(factor));
      slowdown_[static_cast<size_t>(d->index)] = {factor, telemetry_.runs + from};
      return Status::Ok();
    }
  return Status::Error("the plan has no device '" + name + "' to slow down");
}

Status Engine::parse_fault(const char* spec) {
  std::string device, mode = "crash";
  int run = 0;
  std::string s = spec;
  for (size_t i = 0; i < s.size();) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    const std::string kv = s.substr(i, j - i);
    const size_t eq = kv.find('=');
    const std::string k = kv.substr(0, eq), v = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (k == "device") device = v;
    else if (k == "step") run = std::atoi(v.c_str());
    else if (k == "mode") mode = v;
    else return Status::Error("FLEETRT_FAULT: unknown key '" + k + "' (device=NAME,step=N,mode=crash|hang)");
    i = j + 1;
  }
  for (const auto& d : devices_)
    if (d->desc->name == device) fault_device_ = d->index;
  if (fault_device_ < 0 || (mode != "crash" && mode != "hang"))
    return Status::Error("FLEETRT_FAULT '" + s + "': needs device=<a device of the plan>,step=N,mode=crash|hang");
  fault_run_ = run;
  fault_hangs_ = mode == "hang";
  return Status::Ok();
}

Status Engine::load_inputs(const std::map<std::string, std::string>& named, const std::string& dir,
                           const std::vector<std::string>& files, std::vector<Value>* out) const {
  out->assign(plan_.inputs.size(), Value());
  for (const auto& kv : named) {
    bool found = false;
    for (const PlanIO& io : plan_.inputs) found = found || io.name == kv.first;
    if (!found) {
      std::string names;
      for (const PlanIO& io : plan_.inputs) names += (names.empty() ? "" : ", ") + io.name;
      return Status{kStatusBadInput, "the model has no input '" + kv.first + "' (inputs: " + names + ")"};
    }
  }
  for (size_t k = 0; k < plan_.inputs.size(); ++k) {
    const TensorDesc* T = input_desc(k);
    if (!T) continue;  // read by a device in another process
    std::string path;
    auto it = named.find(plan_.inputs[k].name);
    if (it != named.end()) path = it->second;
    else if (k < files.size()) path = files[k];
    std::string looked_for;
    if (path.empty()) path = input_file_in(dir, k, plan_.inputs[k].name, &looked_for);
    if (path.empty())
      return Status{kStatusBadInput, "no value for input '" + plan_.inputs[k].name + "' (#" + std::to_string(k) + ")" +
                                         (looked_for.empty() ? "" : ": " + dir + " has none of " + looked_for)};
    std::string err;
    if (!load_value(path, static_cast<int>(T->value_kind), &(*out)[k], &err)) return Status{kStatusBadInput, err};
  }
  return Status::Ok();
}

Status Engine::random_inputs(uint64_t seed, std::vector<Value>* out) const {
  out->assign(plan_.inputs.size(), Value());
  uint64_t state = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (size_t k = 0; k < plan_.inputs.size(); ++k) {
    const TensorDesc* T = input_desc(k);
    if (!T) continue;
    const Program& P = devices_[input_desc_[k].first]->program;
    if (T->value_kind != ValueKind::kTensor || T->rank < 0)
      return Status{kStatusBadInput, "cannot make a random value for input '" + T->name + "' (not a ranked tensor)"};
    std::vector<int64_t> vals(P.symbols.size());
    std::vector<uint8_t> bound(P.symbols.size(), 1);
    for (size_t s = 0; s < vals.size(); ++s) vals[s] = P.symbols[s].planned >= 0 ? P.symbols[s].planned : 1;
    std::vector<int64_t> shape;
    for (uint32_t e : T->shape) {
      int64_t v;
      if (!P.eval(e, vals.data(), bound.data(), &v) || v < 0) v = 1;
      shape.push_back(v);
    }
    Value& v = (*out)[k];
    v.kind = Value::Kind::kTensor;
    std::string err;
    if (!alloc_owned(T->dtype, shape, &v.tensor, &err)) return Status::Error(err);
    fill_random(v.tensor.view, &state);
  }
  return Status::Ok();
}

Status Engine::write_outputs(const std::string& dir, const std::vector<Value>& outputs) const {
  ::mkdir(dir.c_str(), 0777);
  for (size_t k = 0; k < outputs.size() && k < plan_.outputs.size(); ++k) {
    if (output_desc_[k].first < 0) continue;
    std::string err;
    if (!write_value(dir + "/" + safe_file_name(plan_.outputs[k].name), outputs[k], &err)) return Status::Error(err);
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Running passes.

// A pass with one device and no channels runs on the calling thread in schedule order (no
// readiness bookkeeping: the fastest path for small one-shot models).
Status Engine::run_inline(PassSpec& pass, std::vector<Value>* outputs) {
  DeviceRuntime& dev = *devices_[home_];
  DeviceTelemetry& dt = telemetry_.devices[dev.index];
  if (faulted(dev)) {
    // A device that stops answering is lost once the watchdog's time has passed.
    if (fault_hangs_) std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(watchdog_us_)));
    return Status{kStatusDeviceLost, "device '" + dev.desc->name + "' failed: " + (fault_hangs_ ? "stopped answering" : "injected fault")};
  }
  const int id = next_pass_++;
  std::vector<Value> in;
  for (int k : dev.input_of) in.push_back(std::move(pass.inputs[k]));
  set_thread_heap_account(&dev.heap);
  dev.heap.peak.store(dev.heap.now.load());
  const double start = now_us();
  PassContext pc{id, &dt.exec, trace_, telemetry_.epoch_us, pass.step.empty() ? nullptr : pass.step[dev.index], slowdown_of(dev)};
  std::vector<Value> outs;
  Status st = dev.exec->run(std::move(in), &outs, pc);
  const double end = now_us();
  dt.heap_peak = std::max(dt.heap_peak, dev.heap.peak.load());
  set_thread_heap_account(nullptr);
  if (!st.ok()) return st;
  outputs->assign(plan_.outputs.size(), Value());
  for (size_t i = 0; i < outs.size(); ++i)
    if (dev.output_of[i] >= 0) (*outputs)[dev.output_of[i]] = std::move(outs[i]);
  keep_recent(telemetry_.passes, PassRecord{id, telemetry_.runs, pass.kind, pass.tokens, start - telemetry_.epoch_us});
  keep_recent(dt.finished, {id, end - telemetry_.epoch_us});
  dt.ops += static_cast<int64_t>(dev.program.programs[0].ops.size());
  dt.passes++;
  dt.arena_peak = std::max<uint64_t>(dt.arena_peak, dt.exec.arena_bytes);
  return Status::Ok();
}

// The state of one run() call shared by the device threads.
struct Engine::Run {
  std::vector<PassSpec>* passes = nullptr;
  std::vector<int> ids;                       // engine pass id of passes[i]
  std::map<int, int> index;                   // pass id → i
  std::vector<std::vector<Value>>* outputs = nullptr;
  std::vector<std::map<std::string, int64_t>> known;  // per pass: symbols bound by its graph inputs
  std::mutex mu;
  int running = 0;                            // local devices with passes left
  int waiting = 0;                            // of those, idle with nothing to do
  std::vector<double> heard;                  // per device: when it last made progress (µs)
  std::vector<uint8_t> busy;                  // per device: it has passes unfinished
  bool failed = false;
  Status error;
  void fail(const Status& s, Transport& t) {
    {
      std::lock_guard<std::mutex> g(mu);
      if (!failed) {
        failed = true;
        error = s;
      }
    }
    t.wake();
  }
  bool has_failed() {
    std::lock_guard<std::mutex> g(mu);
    return failed;
  }
};

namespace {
std::vector<int64_t> control_data(const Message& m) {
  const Tensor& t = m.value.tensor.view;
  return std::vector<int64_t>(t.as<int64_t>(), t.as<int64_t>() + t.numel());
}
}  // namespace

void Engine::stash_control(const Message& m) {
  std::lock_guard<std::mutex> g(control_mu_);
  control_.push_back(control_data(m));
}

Status Engine::send_control(int device, const std::vector<int64_t>& data) {
  Message m;
  m.pass = -1;
  m.channel = kControlChannel;
  m.from = transport_->rank();
  m.value.kind = Value::Kind::kTensor;
  std::string err;
  if (!alloc_owned(DType::kI64, {static_cast<int64_t>(data.size())}, &m.value.tensor, &err)) return Status::Error(err);
  std::memcpy(m.value.tensor.view.data, data.data(), data.size() * sizeof(int64_t));
  m.bytes = data.size() * sizeof(int64_t);
  if (!transport_->send(device, std::move(m), &err)) return Status::Error(err);
  return Status::Ok();
}

Status Engine::wait_control(std::vector<int64_t>* data) {
  DeviceRuntime* mine = nullptr;
  for (auto& d : devices_)
    if (d->local) mine = d.get();
  if (!mine) return Status::Error("this process runs no device");
  for (;;) {
    {
      std::lock_guard<std::mutex> g(control_mu_);
      if (!control_.empty()) {
        *data = std::move(control_.front());
        control_.pop_front();
        return Status::Ok();
      }
    }
    const uint64_t epoch = transport_->epoch();
    Message m;
    bool got = false;
    std::string err;
    if (!transport_->poll(mine->index, &m, &got, &err)) return Status::Error(err);
    if (got && m.channel == kControlChannel) {
      *data = control_data(m);
      return Status::Ok();
    }
    if (got) return Status::Error("a value for pass " + std::to_string(m.pass) + " arrived outside any pass");
    transport_->wait(mine->index, epoch, 200000);
  }
}

void Engine::drive(Run& run, DeviceRuntime& dev) {
  Transport& tp = *transport_;
  Telemetry& tel = telemetry_;
  set_thread_heap_account(&dev.heap);
  dev.heap.peak.store(dev.heap.now.load());
  const ProgramDesc& D = dev.program.programs[0];
  DeviceTelemetry& dt = tel.devices[dev.index];
  const std::string who = "device '" + dev.desc->name + "': ";
  const int n = static_cast<int>(run.passes->size());
  std::map<int, std::unique_ptr<Request>> active;
  std::map<int, PassContext> contexts;
  std::map<int, uint64_t> arenas;
  uint64_t arena_now = 0;
  int current = 0, finished = 0;
  const uint64_t fixed = dev.program.weights.size() + dev.reserved;

  auto fail = [&](const Status& s) {
    run.fail(s.code == kStatusBadInput ? s : Status::Error(who + s.message), tp);
  };
  bool relaying = false;  // sends made while taking in a received value
  std::vector<std::pair<int, Message>> deferred;  // shared values held back (kMaybe), with their device
  // Hands over the held-back values still wanted; whether it sent any.
  auto flush_deferred = [&]() -> bool {
    bool sent = false;
    for (auto& d : deferred) {
      if (floating_.needed(d.second.pass, d.second.channel) == FloatingOps::kNotNeeded) continue;
      floating_.count_shared(dev.index, d.second.bytes);
      std::string err;
      if (!tp.send(d.first, std::move(d.second), &err)) {
        fail(Status::Error(err));
        break;
      }
      sent = true;
    }
    deferred.clear();
    return sent;
  };
  SendFn send = [&](uint32_t ep, const Value& v) -> Status {
    const uint32_t ch = D.channels[ep].channel;
    FloatingOps::Need need = FloatingOps::kNeeded;
    if (floating_.shared_endpoint(ch)) {
      // A floating op's value for another device of its group: shared, not a channel transfer.
      // Its maker hands it to every device that reads it, so a device that received it does not pass it on.
      need = relaying ? FloatingOps::kNotNeeded : floating_.needed(current, ch);
      if (need == FloatingOps::kNotNeeded) return Status::Ok();
    }
    const int to = receiver(ch);
    if (to < 0) return Status::Error("no device receives channel " + std::to_string(ch));
    Value own;
    if (dev.exec->host_memory()) FLEETRT_RETURN_IF_ERROR(dev.exec->to_host(v, &own));
    else own = v;
    Message m{current, ch, dev.index, std::move(own), 0, now_us() - tel.epoch_us};
    m.bytes = value_bytes(m.value);
    if (floating_.shared_endpoint(ch)) {
      m.shared = true;
      if (need == FloatingOps::kMaybe) {
        // Only a floating op nobody took yet reads it there: this device will likely take that op
        // itself; hand the value over when it pauses, if still wanted.
        deferred.push_back({to, std::move(m)});
        return Status::Ok();
      }
      floating_.count_shared(dev.index, m.bytes);
      std::string err;
      if (!tp.send(to, std::move(m), &err)) return Status::Error(err);
      return Status::Ok();
    }
    {
      std::lock_guard<std::mutex> g(tel.mu);
      keep_recent(tel.transfers, TransferEvent{current, ch, dev.index, to, m.bytes, m.sent_us, -1});
      if (ch < tel.channel_bytes.size()) tel.channel_bytes[ch] += m.bytes;
    }
    std::string err;
    if (!tp.send(to, std::move(m), &err)) return Status::Error(err);
    return Status::Ok();
  };
  auto record_recv = [&](const Message& m) {
    const double t = now_us() - tel.epoch_us;
    std::lock_guard<std::mutex> g(tel.mu);
    // The receiver completes the sender's record (in one process), or adds its own (MPI).
    for (auto it = tel.transfers.rbegin(); it != tel.transfers.rend(); ++it)
      if (it->pass == m.pass && it->channel == m.channel && it->recv_us < 0) {
        it->recv_us = t;
        return;
      }
    keep_recent(tel.transfers, TransferEvent{m.pass, m.channel, m.from, dev.index, m.bytes, m.sent_us, t});
  };
  auto check_budget = [&]() -> bool {
    const uint64_t cap = dev.desc->capacity;
    const int64_t heap = dev.heap.peak.load();
    if (!cap || fixed + arena_now + static_cast<uint64_t>(std::max<int64_t>(0, heap)) <= cap) return true;
    fail(Status::Error("exceeded its memory budget of " + std::to_string(cap) + " bytes (weights and state " + std::to_string(fixed) +
                       " + arenas " + std::to_string(arena_now) + " + heap " + std::to_string(heap) + ")"));
    return false;
  };

  auto heard = [&](bool busy) {
    std::lock_guard<std::mutex> g(run.mu);
    run.heard[dev.index] = now_us();
    run.busy[dev.index] = busy;
  };
  // Another local device with work that has been silent longer than the watchdog allows is lost.
  auto watchdog = [&]() {
    std::lock_guard<std::mutex> g(run.mu);
    const double now = now_us();
    for (size_t d = 0; d < run.heard.size(); ++d)
      if (run.busy[d] && now - run.heard[d] > watchdog_us_ && !run.failed) {
        run.failed = true;
        run.error = Status{kStatusDeviceLost, "device '" + devices_[d]->desc->name + "' failed: stopped answering for " +
                                                  std::to_string(static_cast<int>(watchdog_us_ / 1000)) + " ms"};
      }
  };
  heard(true);
  dev.exec->idle();
  for (int i = 0; i < n && !run.has_failed(); ++i) {
    PassSpec& spec = (*run.passes)[i];
    std::vector<Value> in;
    for (int k : dev.input_of) in.push_back(spec.inputs[k]);
    current = run.ids[i];
    PassContext pc{current, &dt.exec, trace_, tel.epoch_us, spec.step.empty() ? nullptr : spec.step[dev.index], slowdown_of(dev)};
    contexts[current] = pc;
    std::unique_ptr<Request> req;
    Status st = dev.exec->begin(std::move(in), contexts[current], send, &req, &run.known[i]);
    if (!st.ok()) {
      fail(st);
      break;
    }
    arenas[current] = Executor::arena_bytes(*req);
    arena_now += arenas[current];
    dt.arena_peak = std::max(dt.arena_peak, arena_now);
    active[current] = std::move(req);
    if (!check_budget()) break;
  }
  while (finished < n && !run.has_failed()) {
    if (faulted(dev)) {
      if (!fault_hangs_) {
        run.fail(Status{kStatusDeviceLost, "device '" + dev.desc->name + "' failed: injected fault"}, tp);
        break;
      }
      // Stops answering: does nothing until the run is given up.
      tp.wait(dev.index, tp.epoch(), 50000);
      continue;
    }
    const uint64_t epoch = tp.epoch();
    bool progress = false;
    for (;;) {
      Message m;
      bool got = false;
      std::string err;
      if (!tp.poll(dev.index, &m, &got, &err)) {
        fail(Status::Error(err));
        break;
      }
      if (!got) break;
      progress = true;
      if (m.channel == kControlChannel) {
        stash_control(m);
        continue;
      }
      if (!floating_.shared_endpoint(m.channel)) record_recv(m);
      auto it = active.find(m.pass);
      if (it == active.end()) continue;  // pass already finished here
      int ep = endpoint(dev.index, m.channel, 1);
      current = m.pass;
      Status st = ep < 0 ? Status::Error("received channel " + std::to_string(m.channel) + ", which this device does not read")
                         : (relaying = true, dev.exec->deliver(*it->second, static_cast<uint32_t>(ep), std::move(m.value), send));
      relaying = false;
      if (!st.ok()) {
        fail(st);
        break;
      }
    }
    if (run.has_failed()) break;
    for (auto& kv : active) {
      bool ran = false;
      current = kv.first;
      Status st = dev.exec->step(*kv.second, &ran, send);
      if (!st.ok()) {
        fail(st);
        break;
      }
      if (ran) {
        progress = true;
        break;
      }
    }
    if (run.has_failed() || !check_budget()) break;
    for (auto it = active.begin(); it != active.end();) {
      if (!it->second->done()) {
        ++it;
        continue;
      }
      std::vector<Value> outs;
      Status st = dev.exec->finish(*it->second, &outs);
      if (!st.ok()) {
        fail(st);
        break;
      }
      const int i = run.index[it->first];
      for (size_t k = 0; k < outs.size(); ++k)
        if (dev.output_of[k] >= 0) (*run.outputs)[i][dev.output_of[k]] = std::move(outs[k]);
      keep_recent(dt.finished, {it->first, now_us() - tel.epoch_us});
      // A device that waits for a floating op's value handed over lazily (no wake-up) looks again.
      if (floating_.any()) tp.wake();
      dt.ops += static_cast<int64_t>(D.ops.size());
      dt.passes++;
      arena_now -= arenas[it->first];
      it = active.erase(it);
      ++finished;
      progress = true;
    }
    heard(true);  // making progress, or alive and waiting for another device
    if (!deferred.empty() && (!progress || finished >= n) && flush_deferred()) progress = true;
    if (progress || finished >= n) continue;
    watchdog();
    // Nothing to do: wait for a message. In one process, if every device waits and nothing is in
    // flight, the passes can never finish.
    {
      std::lock_guard<std::mutex> g(run.mu);
      ++run.waiting;
      if (run.waiting == run.running && tp.in_flight() == 0 && !run.failed) {
        std::string what;
        for (auto& kv : active) what += (what.empty() ? "" : ", ") + std::to_string(kv.first);
        run.failed = true;
        run.error = Status::Error(who + "deadlock: every device waits and no value is in flight (passes " + what + " unfinished)");
      }
    }
    dev.exec->idle();
    if (!run.has_failed()) tp.wait(dev.index, epoch, static_cast<int>(std::min(200000.0, watchdog_us_ / 4)));
    dev.exec->resume();
    std::lock_guard<std::mutex> g(run.mu);
    --run.waiting;
  }
  dt.heap_peak = std::max(dt.heap_peak, dev.heap.peak.load());
  set_thread_heap_account(nullptr);
  {
    std::lock_guard<std::mutex> g(run.mu);
    --run.running;
    run.busy[dev.index] = 0;
  }
  tp.wake();
}

Status Engine::run(std::vector<PassSpec>& passes, std::vector<std::vector<Value>>* outputs) {
  outputs->assign(passes.size(), std::vector<Value>(plan_.outputs.size()));
  if (passes.empty()) return Status::Ok();
  std::vector<DeviceRuntime*> local;
  for (auto& d : devices_)
    if (d->local) local.push_back(d.get());
  const bool alone = devices_.size() == 1 && local.size() == 1 && local[0]->program.programs[0].channels.empty();
  if (alone && passes.size() == 1) {
    Status st = run_inline(passes[0], &(*outputs)[0]);
    telemetry_.runs++;
    return st;
  }
  Run run;
  run.passes = &passes;
  run.outputs = outputs;
  const double start = now_us() - telemetry_.epoch_us;
  for (size_t i = 0; i < passes.size(); ++i) {
    const int id = next_pass_++;
    run.ids.push_back(id);
    run.index[id] = static_cast<int>(i);
    keep_recent(telemetry_.passes, PassRecord{id, telemetry_.runs, passes[i].kind, passes[i].tokens, start});
  }
  // Symbols bound by the graph inputs (by name), for devices that only receive channel values.
  run.known.resize(passes.size());
  for (size_t i = 0; i < passes.size(); ++i) {
    const std::vector<Value>& inputs = passes[i].inputs;
    for (size_t k = 0; k < inputs.size() && k < input_desc_.size(); ++k) {
      const TensorDesc* T = input_desc(k);
      const Value& v = inputs[k];
      if (!T || v.kind != Value::Kind::kTensor || T->rank != static_cast<int32_t>(v.tensor.view.shape.size())) continue;
      const Program& P = devices_[input_desc_[k].first]->program;
      for (int32_t d = 0; d < T->rank; ++d) {
        int64_t s = P.single_symbol(T->shape[d]);
        if (s >= 0) run.known[i].emplace(P.symbols[s].name, v.tensor.view.shape[d]);
      }
    }
  }
  floating_.begin(run.ids);
  run.running = static_cast<int>(local.size());
  run.heard.assign(devices_.size(), now_us());
  run.busy.assign(devices_.size(), 0);
  if (local.size() == 1) {
    drive(run, *local[0]);
  } else {
    std::vector<std::thread> threads;
    for (size_t i = 1; i < local.size(); ++i) threads.emplace_back([&, d = local[i]] { drive(run, *d); });
    drive(run, *local[0]);
    for (std::thread& t : threads) t.join();
  }
  telemetry_.runs++;
  floating_.forget(run.ids);
  if (!run.failed) {
    std::string err;
    if (!transport_->flush(&err)) return Status::Error(err);
  }
  return run.failed ? run.error : Status::Ok();
}

}  // namespace fleetrt
