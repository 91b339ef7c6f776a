#include "engine/floating.h"

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
  return Status::Ok();
}

bool FloatingOps::claim(int pass, int device, int op, bool early) {
  const std::vector<int>& m = marks_[static_cast<size_t>(device)];
  const int k = op >= 0 && static_cast<size_t>(op) < m.size() ? m[static_cast<size_t>(op)] : -1;
  if (k < 0) return true;
  std::lock_guard<std::mutex> g(mu_);
  if (!one_process_) {
    const bool mine = placed_[static_cast<size_t>(k)] == device;
    if (mine && !early) ++runs_[static_cast<size_t>(k)][static_cast<size_t>(device)];
    return mine;
  }
  std::vector<int>& owner = owner_[pass];
  if (owner.empty()) owner.assign(ops_.size(), -1);
  int& o = owner[static_cast<size_t>(k)];
  if (o >= 0) return o == device;
  o = device;
  ++runs_[static_cast<size_t>(k)][static_cast<size_t>(device)];
  return true;
}

void FloatingOps::forget(int pass) {
  std::lock_guard<std::mutex> g(mu_);
  owner_.erase(pass);
}

void FloatingOps::reset_runs() {
  std::lock_guard<std::mutex> g(mu_);
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
