#include "core/deployment.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace fleetrt {

namespace {

double now_us() {
  using namespace std::chrono;
  return duration<double, std::micro>(steady_clock::now().time_since_epoch()).count();
}

bool copy_tensor(const OwnedTensor& in, OwnedTensor* out) {
  std::string err;
  OwnedTensor c;
  if (!alloc_owned(in.view.dtype, in.view.shape, &c, &err)) return false;
  if (in.view.dtype == DType::kString) {
    for (int64_t k = 0; k < c.view.numel(); ++k) c.view.as<std::string>()[k] = in.view.as<std::string>()[k];
  } else if (c.view.bytes()) {
    std::memcpy(c.view.data, in.view.data, c.view.bytes());
  }
  *out = std::move(c);
  return true;
}

bool copy_value(const Value& in, Value* out) {
  Value v;
  v.kind = in.kind;
  v.elem_dtype = in.elem_dtype;
  if (in.kind == Value::Kind::kTensor && !copy_tensor(in.tensor, &v.tensor)) return false;
  for (const OwnedTensor& t : in.elements) {
    v.elements.emplace_back();
    if (!copy_tensor(t, &v.elements.back())) return false;
  }
  *out = std::move(v);
  return true;
}

}  // namespace

uint64_t value_bytes(const Value& v) {
  if (v.kind == Value::Kind::kTensor) return v.tensor.view.dtype == DType::kString ? 0 : v.tensor.view.bytes();
  uint64_t n = 0;
  for (const OwnedTensor& t : v.elements) n += t.view.dtype == DType::kString ? 0 : t.view.bytes();
  return n;
}

Deployment::~Deployment() = default;

int Deployment::endpoint(int device, uint32_t channel, int direction) const {
  const DeviceRuntime& d = *devices_[device];
  const ProgramDesc& D = d.program.programs[0];
  for (size_t k = 0; k < D.channels.size(); ++k)
    if (D.channels[k].channel == channel && D.channels[k].direction == direction) return static_cast<int>(k);
  return -1;
}

int Deployment::receiver(uint32_t channel) const {
  auto it = receiver_.find(channel);
  return it == receiver_.end() ? -1 : it->second;
}

bool Deployment::open(const std::string& plan_path, int threads, int only_device, std::string* error) {
  if (!load_plan(plan_path, &plan_, error)) return false;
  if (!verify_bundles(plan_, error)) return false;
  auto bad = [&](const std::string& m) {
    *error = plan_path + ": " + m;
    return false;
  };
  if (only_device >= static_cast<int>(plan_.devices.size()))
    return bad("this process should run device #" + std::to_string(only_device) + " but the plan has " +
               std::to_string(plan_.devices.size()) + " devices");
  auto device_index = [&](const std::string& name) {
    for (size_t i = 0; i < plan_.devices.size(); ++i)
      if (plan_.devices[i].name == name) return static_cast<int>(i);
    return -1;
  };
  for (size_t c = 0; c < plan_.channels.size(); ++c) {
    int to = device_index(plan_.channels[c].to);
    if (to >= 0) receiver_[static_cast<uint32_t>(c)] = to;
  }
  input_desc_.assign(plan_.inputs.size(), {-1, -1});
  output_desc_.assign(plan_.outputs.size(), {-1, -1});
  for (size_t i = 0; i < plan_.devices.size(); ++i) {
    auto d = std::make_unique<DeviceRuntime>();
    d->index = static_cast<int>(i);
    d->desc = &plan_.devices[i];
    d->local = only_device < 0 || only_device == static_cast<int>(i);
    if (d->local) {
      const PlanDevice& pd = plan_.devices[i];
      if (!d->program.load(pd.bundle_dir + "/program.bin", pd.bundle_dir + "/weights.bin", error)) return false;
      // Devices in one process share this host's cores: unless --threads says otherwise, each
      // gets at most its share, so that emulated devices do not oversubscribe the machine.
      // Workers poll between ops only when every local device's pool fits on its own cores.
      const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      const int local = only_device < 0 ? static_cast<int>(plan_.devices.size()) : 1;
      int nthreads = threads > 0 ? threads : pd.threads;
      if (threads <= 0 && local > 1) nthreads = std::max(1, std::min(nthreads, cores / local));
      d->pool = std::make_unique<ThreadPool>(nthreads, /*spin=*/nthreads * local <= cores);
      d->exec = std::make_unique<Executor>(d->program, *d->pool);
      Status st = d->exec->prepare();
      if (!st.ok()) return bad("device '" + pd.name + "': " + st.message);
      const ProgramDesc& D = d->program.programs[0];
      const uint64_t need = d->program.weights.size() + D.arena_bytes;
      if (pd.capacity && need > pd.capacity)
        return bad("device '" + pd.name + "' needs " + std::to_string(need) + " bytes (weights " +
                   std::to_string(d->program.weights.size()) + " + arena " + std::to_string(D.arena_bytes) +
                   ") but its memory budget is " + std::to_string(pd.capacity));
      for (uint32_t t : D.inputs) {
        const std::string& name = D.tensors[t].name;
        int k = -1;
        for (size_t g = 0; g < plan_.inputs.size(); ++g)
          if (plan_.inputs[g].name == name) k = static_cast<int>(g);
        if (k < 0) return bad("device '" + pd.name + "' takes input '" + name + "', which the plan does not list as a graph input");
        d->input_of.push_back(k);
        input_desc_[k] = {static_cast<int>(i), static_cast<int>(t)};
      }
      for (uint32_t t : D.outputs) {
        const std::string& name = D.tensors[t].name;
        int k = -1;
        for (size_t g = 0; g < plan_.outputs.size(); ++g)
          if (plan_.outputs[g].name == name) k = static_cast<int>(g);
        d->output_of.push_back(k);
        if (k >= 0) output_desc_[k] = {static_cast<int>(i), static_cast<int>(t)};
      }
      for (const ChannelEndpoint& c : D.channels)
        if (c.direction == 1) receiver_[c.channel] = static_cast<int>(i);
    }
    devices_.push_back(std::move(d));
  }
  // Every channel a local device sends must have a receiver.
  for (const auto& d : devices_) {
    if (!d->local) continue;
    for (const ChannelEndpoint& c : d->program.programs[0].channels)
      if (c.direction == 0 && receiver(c.channel) < 0)
        return bad("device '" + d->desc->name + "' sends on channel " + std::to_string(c.channel) + ", which no device receives");
  }
  if (only_device < 0)
    for (size_t k = 0; k < plan_.inputs.size(); ++k)
      if (input_desc_[k].first < 0) return bad("graph input '" + plan_.inputs[k].name + "' is read by no device");
  return true;
}

const TensorDesc* Deployment::io_desc(const std::vector<std::pair<int, int>>& where, size_t k) const {
  if (where[k].first < 0) return nullptr;
  return &devices_[where[k].first]->program.programs[0].tensors[where[k].second];
}

bool Deployment::load_inputs(const std::map<std::string, std::string>& named, const std::string& dir, std::vector<Value>* out,
                             std::string* error) const {
  out->assign(plan_.inputs.size(), Value());
  for (const auto& kv : named) {
    bool found = false;
    for (const PlanIO& io : plan_.inputs) found = found || io.name == kv.first;
    if (!found) {
      std::string names;
      for (const PlanIO& io : plan_.inputs) names += (names.empty() ? "" : ", ") + io.name;
      *error = "the model has no input '" + kv.first + "' (inputs: " + names + ")";
      return false;
    }
  }
  for (size_t k = 0; k < plan_.inputs.size(); ++k) {
    const TensorDesc* T = io_desc(input_desc_, k);
    if (!T) continue;  // read by a device in another process
    std::string path;
    auto it = named.find(plan_.inputs[k].name);
    if (it != named.end()) {
      path = it->second;
    } else {
      path = input_file_in(dir, k);
    }
    if (path.empty()) {
      *error = "no value for input '" + plan_.inputs[k].name + "' (#" + std::to_string(k) + ")";
      return false;
    }
    if (!load_value(path, static_cast<int>(T->value_kind), &(*out)[k], error)) return false;
  }
  return true;
}

bool Deployment::random_inputs(uint64_t seed, std::vector<Value>* out, std::string* error) const {
  out->assign(plan_.inputs.size(), Value());
  uint64_t state = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (size_t k = 0; k < plan_.inputs.size(); ++k) {
    const TensorDesc* T = io_desc(input_desc_, k);
    if (!T) continue;
    const Program& P = devices_[input_desc_[k].first]->program;
    if (T->value_kind != ValueKind::kTensor || T->rank < 0) {
      *error = "cannot make a random value for input '" + T->name + "' (not a ranked tensor)";
      return false;
    }
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
    if (!alloc_owned(T->dtype, shape, &v.tensor, error)) return false;
    fill_random(v.tensor.view, &state);
  }
  return true;
}

bool Deployment::write_outputs(const std::string& dir, const std::vector<Value>& outputs, std::string* error) const {
  ::mkdir(dir.c_str(), 0777);
  for (size_t k = 0; k < outputs.size() && k < plan_.outputs.size(); ++k) {
    if (output_desc_[k].first < 0) continue;
    if (!write_value(dir + "/" + safe_file_name(plan_.outputs[k].name), outputs[k], error)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The run: one thread per local device.

namespace {

struct Shared {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::deque<Message>> inbox;
  int in_flight = 0;  // sent in this process, not yet taken
  int running = 0;    // local devices with requests left
  int waiting = 0;    // of those, blocked with nothing to do
  bool failed = false, bad_input = false;
  std::string error;
  double t0 = 0;

  void fail(const std::string& m, bool input = false) {
    std::lock_guard<std::mutex> g(mu);
    if (!failed) {
      failed = true;
      error = m;
      bad_input = input;
    }
    cv.notify_all();
  }
};

}  // namespace

bool Deployment::run(int requests, const std::vector<Value>& inputs, std::vector<Value>* outputs, DeploymentStats* stats,
                     bool trace, std::string* error, bool* bad_input) {
  const int n = std::max(1, requests);
  const bool remote = transport_ != nullptr;
  Shared sh;
  sh.inbox.resize(devices_.size());
  sh.t0 = now_us();
  outputs->assign(plan_.outputs.size(), Value());
  stats->requests = n;
  stats->devices.assign(devices_.size(), DeviceRunStats());
  stats->request_us.assign(n, 0);
  stats->transfers.clear();
  std::mutex stats_mu;
  std::map<std::pair<int, uint32_t>, size_t> transfer_index;  // (request, channel) → transfers[i]

  // Symbols bound by the graph inputs (by name), for devices that only receive channel values.
  std::map<std::string, int64_t> known;
  for (size_t k = 0; k < inputs.size() && k < input_desc_.size(); ++k) {
    const TensorDesc* T = io_desc(input_desc_, k);
    const Value& v = inputs[k];
    if (!T || v.kind != Value::Kind::kTensor || T->rank != static_cast<int32_t>(v.tensor.view.shape.size())) continue;
    const Program& P = devices_[input_desc_[k].first]->program;
    for (int32_t d = 0; d < T->rank; ++d) {
      int64_t s = P.single_symbol(T->shape[d]);
      if (s >= 0) known.emplace(P.symbols[s].name, v.tensor.view.shape[d]);
    }
  }

  auto worker = [&](DeviceRuntime& dev) {
    set_thread_heap_account(&dev.heap);
    dev.heap.peak.store(dev.heap.now.load());
    const ProgramDesc& D = dev.program.programs[0];
    DeviceRunStats& ds = stats->devices[dev.index];
    std::map<int, std::unique_ptr<Request>> active;
    std::map<int, RunStats> rstats;
    std::map<int, uint64_t> arenas;
    uint64_t arena_now = 0;
    int current = 0, finished = 0;
    const uint64_t weights = dev.program.weights.size();
    const std::string who = "device '" + dev.desc->name + "': ";

    SendFn send = [&](uint32_t ep, const Value& v) -> Status {
      const uint32_t ch = D.channels[ep].channel;
      const int to = receiver(ch);
      if (to < 0) return Status::Error("no device receives channel " + std::to_string(ch));
      Message m{current, ch, dev.index, v, value_bytes(v), now_us() - sh.t0};
      {
        std::lock_guard<std::mutex> g(stats_mu);
        auto key = std::make_pair(current, ch);
        auto it = transfer_index.find(key);
        if (it == transfer_index.end()) {
          transfer_index[key] = stats->transfers.size();
          stats->transfers.push_back(TransferEvent{current, ch, dev.index, to, m.bytes, m.sent_us, -1});
        } else {
          TransferEvent& t = stats->transfers[it->second];
          t.from = dev.index;
          t.to = to;
          t.bytes = m.bytes;
          t.send_us = m.sent_us;
        }
      }
      if (devices_[to]->local) {
        std::lock_guard<std::mutex> g(sh.mu);
        sh.inbox[to].push_back(std::move(m));
        ++sh.in_flight;
        sh.cv.notify_all();
        return Status::Ok();
      }
      std::string err;
      if (!transport_->send(to, m, &err)) return Status::Error(err);
      return Status::Ok();
    };
    auto record_recv = [&](const Message& m) {
      std::lock_guard<std::mutex> g(stats_mu);
      auto key = std::make_pair(m.request, m.channel);
      auto it = transfer_index.find(key);
      double t = now_us() - sh.t0;
      if (it == transfer_index.end()) {
        transfer_index[key] = stats->transfers.size();
        stats->transfers.push_back(TransferEvent{m.request, m.channel, m.from, dev.index, m.bytes, m.sent_us, t});
      } else {
        stats->transfers[it->second].recv_us = t;
      }
    };
    auto check_budget = [&]() -> bool {
      const uint64_t cap = dev.desc->capacity;
      const int64_t heap = dev.heap.peak.load();
      if (!cap || weights + arena_now + static_cast<uint64_t>(std::max<int64_t>(0, heap)) <= cap) return true;
      sh.fail(who + "exceeded its memory budget of " + std::to_string(cap) + " bytes (weights " + std::to_string(weights) +
              " + arenas " + std::to_string(arena_now) + " + heap " + std::to_string(heap) + ")");
      return false;
    };

    // Admit every request: bind this device's inputs (the same for all requests).
    for (int r = 0; r < n && !sh.failed; ++r) {
      std::vector<Value> in;
      for (int k : dev.input_of) in.push_back(inputs[k]);
      current = r;
      std::unique_ptr<Request> req;
      RunStats& rs = rstats[r];
      Status st = dev.exec->begin(r, std::move(in), &rs, trace, sh.t0, send, &req, &known);
      if (!st.ok()) {
        sh.fail(st.code == kStatusBadInput ? st.message : who + st.message, st.code == kStatusBadInput);
        break;
      }
      arenas[r] = Executor::arena_bytes(*req);
      arena_now += arenas[r];
      ds.arena_bytes = std::max(ds.arena_bytes, arena_now);
      active[r] = std::move(req);
      if (!check_budget()) break;
    }
    while (finished < n && !sh.failed) {
      std::deque<Message> msgs;
      {
        std::lock_guard<std::mutex> g(sh.mu);
        msgs.swap(sh.inbox[dev.index]);
        sh.in_flight -= static_cast<int>(msgs.size());
      }
      if (remote) {
        Message m;
        bool got = true;
        std::string err;
        while (got) {
          if (!transport_->poll(&m, &got, &err)) {
            sh.fail(who + err);
            break;
          }
          if (got) msgs.push_back(std::move(m));
        }
      }
      bool progress = !msgs.empty();
      for (Message& m : msgs) {
        record_recv(m);
        auto it = active.find(m.request);
        if (it == active.end()) continue;  // request already finished here
        int ep = endpoint(dev.index, m.channel, 1);
        current = m.request;
        // The receiver holds its own copy (charged to its memory), as after a real transfer.
        if (!remote && !copy_value(m.value, &m.value)) {
          sh.fail(who + "out of memory receiving channel " + std::to_string(m.channel));
          break;
        }
        Status st = ep < 0 ? Status::Error("received channel " + std::to_string(m.channel) + ", which this device does not read")
                           : dev.exec->deliver(*it->second, static_cast<uint32_t>(ep), std::move(m.value), send);
        if (!st.ok()) {
          sh.fail(who + st.message);
          break;
        }
      }
      if (sh.failed) break;
      for (auto& kv : active) {
        bool ran = false;
        current = kv.first;
        Status st = dev.exec->step(*kv.second, &ran, send);
        if (!st.ok()) {
          sh.fail(who + st.message);
          break;
        }
        if (ran) {
          progress = true;
          break;
        }
      }
      if (sh.failed || !check_budget()) break;
      for (auto it = active.begin(); it != active.end();) {
        if (!it->second->done()) {
          ++it;
          continue;
        }
        std::vector<Value> outs;
        Status st = dev.exec->finish(*it->second, &outs);
        if (!st.ok()) {
          sh.fail(who + st.message);
          break;
        }
        if (it->first == 0)
          for (size_t i = 0; i < outs.size(); ++i)
            if (dev.output_of[i] >= 0) (*outputs)[dev.output_of[i]] = std::move(outs[i]);
        double t = now_us() - sh.t0;
        {
          std::lock_guard<std::mutex> g(stats_mu);
          stats->request_us[it->first] = std::max(stats->request_us[it->first], t);
        }
        ds.last_us = std::max(ds.last_us, t);
        arena_now -= arenas[it->first];
        it = active.erase(it);
        ++finished;
        progress = true;
      }
      if (progress || finished >= n) continue;
      // Nothing to do: wait for a message (in-process), or poll again shortly (MPI).
      if (remote) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        continue;
      }
      std::unique_lock<std::mutex> lock(sh.mu);
      if (!sh.inbox[dev.index].empty() || sh.failed) continue;
      ++sh.waiting;
      if (sh.waiting == sh.running && sh.in_flight == 0) {
        std::string what;
        for (auto& kv : active) what += (what.empty() ? "" : ", ") + std::to_string(kv.first);
        lock.unlock();
        sh.fail(who + "deadlock: every device waits and no value is in flight (requests " + what + " unfinished)");
        lock.lock();
      } else {
        sh.cv.wait_for(lock, std::chrono::milliseconds(200));
      }
      --sh.waiting;
    }
    ds.op_us.assign(D.ops.size(), 0.0);
    ds.op_rows.assign(D.ops.size(), 0);
    for (auto& kv : rstats) {
      for (double us : kv.second.op_us) ds.busy_us += us;
      for (size_t o = 0; o < kv.second.op_us.size() && o < ds.op_us.size(); ++o) ds.op_us[o] += kv.second.op_us[o];
      for (size_t o = 0; o < kv.second.op_rows.size() && o < ds.op_rows.size(); ++o) ds.op_rows[o] += kv.second.op_rows[o];
      ds.ops += static_cast<int64_t>(D.ops.size());
      for (const OpEvent& e : kv.second.events) {
        ds.events.push_back(DeviceEvent{kv.first, e.program, e.op, e.depth, e.start_us, e.dur_us});
        if (ds.first_us < 0 || e.start_us < ds.first_us) ds.first_us = e.start_us;
      }
    }
    ds.heap_peak = dev.heap.peak.load();
    set_thread_heap_account(nullptr);
    std::lock_guard<std::mutex> g(sh.mu);
    --sh.running;
    sh.cv.notify_all();
  };

  std::vector<DeviceRuntime*> local;
  for (auto& d : devices_)
    if (d->local) local.push_back(d.get());
  sh.running = static_cast<int>(local.size());
  if (local.size() == 1) {
    worker(*local[0]);
  } else {
    std::vector<std::thread> threads;
    for (DeviceRuntime* d : local) threads.emplace_back([&, d] { worker(*d); });
    for (std::thread& t : threads) t.join();
  }
  if (remote && !sh.failed) {
    std::string err;
    if (!transport_->flush(&err)) sh.fail(err);
  }
  stats->wall_us = now_us() - sh.t0;
  std::sort(stats->transfers.begin(), stats->transfers.end(), [](const TransferEvent& a, const TransferEvent& b) {
    return a.request != b.request ? a.request < b.request : a.channel < b.channel;
  });
  if (sh.failed) {
    *error = sh.error;
    if (bad_input) *bad_input = sh.bad_input;
    return false;
  }
  return true;
}

}  // namespace fleetrt
