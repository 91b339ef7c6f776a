// Floating ops at run time (docs/floating.md). The compiler puts a floating op in the program of
// every device of its group (real cpu devices of one host); whichever of them first has it ready
// claims it for the pass and runs it, the others skip it and take its outputs from the one that
// ran it — handed over in this process as shared references, not copied. When the group's
// devices are not all in this process (MPI), the op runs where the partitioner placed it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/plan.h"
#include "core/executor.h"
#include "core/program.h"
#include "fleetrt/kernel.h"

namespace fleetrt {

class FloatingOps {
 public:
  // `programs[d]`: device d's program, null where the device runs in another process.
  // `one_process`: every device runs here, so values can be shared and claims decided at run time.
  Status init(const Plan& plan, const std::vector<const Program*>& programs, bool one_process);

  bool any() const { return !ops_.empty(); }
  // Per main-program op of device d: the floating op it is (index in the plan's list), or -1.
  const std::vector<int>& marks(int device) const { return marks_[static_cast<size_t>(device)]; }
  // Whether `device` runs its main-program op `op` in pass `pass` (mode: Executor::ClaimMode).
  // The first candidate to ask to run it (kClaimRun), or to make its last input (kClaimEarly:
  // asked before that input leaves the device), takes it; kClaimPeek only looks.
  bool claim(int pass, int device, int op, int mode);
  // Whether the shared value on `channel` is worth handing to its device in `pass`: kNeeded when
  // a placed op there reads it; kMaybe when only floating ops there read it and one of them is not
  // another device's (the receiver may take it, but waits for no such value); else kNotNeeded.
  enum Need { kNotNeeded = 0, kMaybe = 1, kNeeded = 2 };
  Need needed(int pass, uint32_t channel);
  // Before the passes of one Engine::run start (claims are then taken without locks) and after they end.
  void begin(const std::vector<int>& passes);
  void forget(const std::vector<int>& passes);
  // Whether a channel number is a shared value's (numbered after the plan's channels).
  bool shared_endpoint(uint32_t channel) const { return channel >= first_shared_; }
  // How many times `device` ran each floating op (this process's devices), since the last reset.
  const std::vector<std::vector<int64_t>>& runs() const { return runs_; }
  void reset_runs();
  // A shared value that `device` handed to another device of its group.
  void count_shared(int device, uint64_t bytes);
  uint64_t shared_messages(int device) const { return shared_[static_cast<size_t>(device)].first; }
  uint64_t shared_bytes(int device) const { return shared_[static_cast<size_t>(device)].second; }
  // The JSON of device d's figures for its metrics fragment: [[floating op, runs], …] and shared values.
  std::string fragment(int device) const;
  const std::vector<PlanFloatingOp>& ops() const { return ops_; }

 private:
  std::vector<PlanFloatingOp> ops_;
  std::vector<int> placed_;               // per floating op: the device it runs on without claims
  std::vector<int> sources_;              // floating ops that read only graph inputs and weights
  std::vector<std::vector<int>> marks_;   // per device, per main-program op
  struct Shared {
    int to = -1;
    bool placed_reader = true;     // a placed op reads it on `to` (or it cannot be known here)
    std::vector<int> readers;      // floating ops that read it on `to`
  };
  std::vector<Shared> shared_values_;   // per shared endpoint (channel - first_shared_)
  bool one_process_ = true;
  uint32_t first_shared_ = UINT32_MAX;
  std::mutex mu_;  // shared-value counts
  // Per pass in flight: per floating op, the device that took it (-1: none yet). The map changes
  // only between runs; the entries are taken by compare-and-swap.
  std::map<int, std::unique_ptr<std::atomic<int>[]>> owner_;
  std::vector<std::vector<int64_t>> runs_;  // per floating op, per device (written by that device's thread)
  std::vector<std::pair<uint64_t, uint64_t>> shared_;  // per device: messages, bytes
};

}  // namespace fleetrt
