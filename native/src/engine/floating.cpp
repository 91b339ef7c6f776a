#include "engine/floating.h"

#include <set>

namespace fleetrt {

Status FloatingOps::init(const Plan& plan, const std::vector<const Program*>& programs, bool one_process) {
  ops_ = plan.floating;
  one_process_ = one_process;
  first_shared_ = static_cast<uint32_t>(plan.channels.size());
  const size_t ndev = plan.devices.size();
  auto index = [&](const std::string& name) {
    for (size_t d = 0; d < ndev; ++d)
      if (plan.devices[d].name == name) return static_cast<int>(d);
    return -1;
  };
  marks_.assign(ndev, {});
  placed_.clear();
  runs_.assign(ops_.size(), std::vector<int64_t>(ndev, 0));
  shared_.assign(ndev, {0, 0});
  std::map<std::string, int> by_name;
  for (size_t k = 0; k < ops_.size(); ++k) {
    if (!by_name.emplace(ops_[k].name, static_cast<int>(k)).second)
      return Status::Error("floating op '" + ops_[k].name + "' is listed twice");
    placed_.push_back(index(ops_[k].placed));
  }
  for (size_t d = 0; d < ndev && d < programs.size(); ++d) {
    if (!programs[d]) continue;
    const ProgramDesc& D = programs[d]->programs[0];
    marks_[d].assign(D.ops.size(), -1);
    std::vector<int> seen(ops_.size(), 0);
    for (size_t o = 0; o < D.ops.size(); ++o) {
      auto it = by_name.find(D.ops[o].name);
      if (it == by_name.end()) continue;
      if (seen[it->second]++) return Status::Error("device '" + plan.devices[d].name + "' runs floating op '" + it->first + "' twice");
      marks_[d][o] = it->second;
    }
    for (size_t k = 0; k < ops_.size(); ++k) {
      bool candidate = false;
      for (const std::string& n : ops_[k].devices) candidate = candidate || n == plan.devices[d].name;
      if (candidate != (seen[k] > 0))
        return Status::Error("device '" + plan.devices[d].name + "' " + (candidate ? "lacks" : "has") + " floating op '" + ops_[k].name +
                             "', which " + (candidate ? "names it" : "does not name it") + " among its devices");
    }
  }
  // Ops ready as soon as a pass begins are ready on every candidate at once, so readiness cannot
  // choose: they go to the partitioner's device (begin()).
  sources_.clear();
  std::set<std::string> graph_inputs;
  for (const PlanIO& io : plan.inputs) graph_inputs.insert(io.name);
  for (size_t k = 0; k < ops_.size(); ++k) {
    const int d = placed_[k];
    const Program* p = d >= 0 && static_cast<size_t>(d) < programs.size() ? programs[static_cast<size_t>(d)] : nullptr;
    if (!p) continue;
    const ProgramDesc& D = p->programs[0];
    bool source = false;
    for (size_t o = 0; o < D.ops.size(); ++o) {
      if (marks_[static_cast<size_t>(d)][o] != static_cast<int>(k)) continue;
      source = true;
      for (int in : D.ops[o].inputs) {
        if (in < 0) continue;
        const TensorDesc& T = D.tensors[static_cast<size_t>(in)];
        if (T.storage != Storage::kWeight && T.storage != Storage::kNone && !graph_inputs.count(T.name)) source = false;
      }
    }
    if (source) sources_.push_back(static_cast<int>(k));
  }
  // Who reads each shared value where it is delivered (known for this process's devices).
  shared_values_.clear();
  for (const PlanFloatingValue& v : plan.floating_values) {
    if (v.endpoint < first_shared_) return Status::Error("floating value '" + v.value + "' has a channel's number");
    const size_t i = v.endpoint - first_shared_;
    if (shared_values_.size() <= i) shared_values_.resize(i + 1);
    Shared& s = shared_values_[i];
    s.to = index(v.to);
    if (s.to < 0) return Status::Error("floating value '" + v.value + "' goes to '" + v.to + "', which the plan does not list");
    const Program* p = static_cast<size_t>(s.to) < programs.size() ? programs[static_cast<size_t>(s.to)] : nullptr;
    if (!p || p->programs.size() != 1) continue;  // another process's device, or subgraphs that may capture it
    const ProgramDesc& D = p->programs[0];
    int t = -1;
    for (const ChannelEndpoint& c : D.channels)
      if (c.direction == 1 && c.channel == v.endpoint) t = static_cast<int>(c.tensor);
    if (t < 0) return Status::Error("device '" + v.to + "' does not receive floating value '" + v.value + "'");
    bool read = false, placed = false;
    for (uint32_t o : D.outputs) placed = placed || static_cast<int>(o) == t;
    for (size_t o = 0; o < D.ops.size(); ++o)
      for (int in : D.ops[o].inputs)
        if (in == t) {
          read = true;
          const int k = marks_[static_cast<size_t>(s.to)][o];
          if (k < 0) placed = true;
          else s.readers.push_back(k);
        }
    s.placed_reader = placed || !read;
  }
  return Status::Ok();
}

bool FloatingOps::claim(int pass, int device, int op, int mode) {
  const std::vector<int>& m = marks_[static_cast<size_t>(device)];
  const int k = op >= 0 && static_cast<size_t>(op) < m.size() ? m[static_cast<size_t>(op)] : -1;
  if (k < 0) return true;
  int64_t& runs = runs_[static_cast<size_t>(k)][static_cast<size_t>(device)];
  auto it = one_process_ ? owner_.find(pass) : owner_.end();
  if (it == owner_.end()) {
    const bool mine = placed_[static_cast<size_t>(k)] == device;
    if (mine && mode == Executor::kClaimRun) ++runs;
    return mine;
  }
  std::atomic<int>& o = it->second[static_cast<size_t>(k)];
  int cur = o.load(std::memory_order_acquire);
  if (cur >= 0 || mode == Executor::kClaimPeek) return cur == device;
  if (!o.compare_exchange_strong(cur, device, std::memory_order_acq_rel)) return cur == device;
  ++runs;
  return true;
}

FloatingOps::Need FloatingOps::needed(int pass, uint32_t channel) {
  if (channel < first_shared_ || channel - first_shared_ >= shared_values_.size()) return kNeeded;
  const Shared& s = shared_values_[channel - first_shared_];
  if (s.placed_reader) return kNeeded;
  auto it = one_process_ ? owner_.find(pass) : owner_.end();
  for (int k : s.readers) {
    const int o = it != owner_.end() ? it->second[static_cast<size_t>(k)].load(std::memory_order_acquire) : placed_[static_cast<size_t>(k)];
    if (o == s.to) return kNeeded;
    if (o < 0) return kMaybe;
  }
  return kNotNeeded;
}

void FloatingOps::begin(const std::vector<int>& passes) {
  if (!one_process_ || ops_.empty()) return;
  for (int p : passes) {
    auto& a = owner_[p];
    a.reset(new std::atomic<int>[ops_.size()]);
    for (size_t k = 0; k < ops_.size(); ++k) a[k].store(-1, std::memory_order_relaxed);
    for (int k : sources_) {
      a[static_cast<size_t>(k)].store(placed_[static_cast<size_t>(k)], std::memory_order_relaxed);
      ++runs_[static_cast<size_t>(k)][static_cast<size_t>(placed_[static_cast<size_t>(k)])];
    }
  }
}

void FloatingOps::forget(const std::vector<int>& passes) {
  for (int p : passes) owner_.erase(p);
}

void FloatingOps::reset_runs() {
  for (auto& r : runs_) std::fill(r.begin(), r.end(), 0);
  std::fill(shared_.begin(), shared_.end(), std::make_pair(uint64_t{0}, uint64_t{0}));
}

void FloatingOps::count_shared(int device, uint64_t bytes) {
  std::lock_guard<std::mutex> g(mu_);
  auto& s = shared_[static_cast<size_t>(device)];
  ++s.first;
  s.second += bytes;
}

std::string FloatingOps::fragment(int device) const {
  const size_t d = static_cast<size_t>(device);
  std::string runs = "[";
  for (size_t k = 0; k < runs_.size(); ++k)
    if (d < runs_[k].size() && runs_[k][d]) runs += std::string(runs.size() > 1 ? "," : "") + "[" + std::to_string(k) + "," + std::to_string(runs_[k][d]) + "]";
  runs += "]";
  const auto s = d < shared_.size() ? shared_[d] : std::make_pair(uint64_t{0}, uint64_t{0});
  return "{\"runs\":" + runs + ",\"sharedMessages\":" + std::to_string(s.first) + ",\"sharedBytes\":" + std::to_string(s.second) + "}";
}

}  // namespace fleetrt
