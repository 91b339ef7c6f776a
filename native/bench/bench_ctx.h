// A KernelContext for the kernel microbenchmarks: the runtime's own thread pool (so parallel_for
// costs what it costs in fleetrt), no inputs or outputs.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "fleetrt/kernel.h"

namespace fleetrt {
namespace bench {

class PoolContext : public KernelContext {
 public:
  explicit PoolContext(int threads) : pool_(threads, true) {}
  const std::string& op_type() const override { return name_; }
  const std::string& op_name() const override { return name_; }
  int opset() const override { return 0; }
  const Attributes& attrs() const override { return attrs_; }
  int num_inputs() const override { return 0; }
  const Tensor* input(int) const override { return nullptr; }
  const Value* input_value(int) const override { return nullptr; }
  int num_outputs() const override { return 0; }
  Tensor* output(int) override { return nullptr; }
  Status output(int, const std::vector<int64_t>&, Tensor**) override { return Status::Error("n/a"); }
  Status set_output_value(int, Value) override { return Status::Error("n/a"); }
  void* scratch(size_t bytes) override {
    scratch_.emplace_back(std::malloc(bytes), std::free);
    return scratch_.back().get();
  }
  Status allocate(DType, const std::vector<int64_t>&, OwnedTensor*) override { return Status::Error("n/a"); }
  int num_threads() const override { return pool_.size(); }
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) override {
    pool_.parallel_for(n, grain, fn);
  }
  Status run_subgraph(int, const std::vector<const Value*>&, std::vector<Value>*) override {
    return Status::Error("n/a");
  }
  void clear_scratch() { scratch_.clear(); }

 private:
  ThreadPool pool_;
  std::string name_ = "bench";
  Attributes attrs_;
  std::vector<std::unique_ptr<void, void (*)(void*)>> scratch_;
};

inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Best of `reps` timings of fn() in seconds: on a machine shared with other work, the fastest run
// is the one least disturbed by it (compare kernels with references timed the same way).
template <class F>
double best_time(int reps, F&& fn) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    double t0 = now_s();
    fn();
    best = std::min(best, now_s() - t0);
  }
  return best;
}

}  // namespace bench
}  // namespace fleetrt
