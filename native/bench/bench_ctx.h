// A KernelContext for the kernel microbenchmarks: the runtime's own thread pool (so parallel_for
// costs what it costs in fleetrt), its threads on a CPU each, no inputs or outputs.
#pragma once
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_pool.h"
#include "fleetrt/kernel.h"

namespace fleetrt {
namespace bench {

// Each of the pool's threads on a CPU of its own, the first ones the process may use, in order.
// Left to the OS, a freshly woken worker often stayed on the calling thread's CPU for a whole
// run: ResNet-50's 14×14 c256→1024 on 2 threads took 0.93 ms (the 1-thread time) in 7 runs of 10,
// 0.466 pinned in 10 of 10. FLEETRT_BENCH_NO_PIN=1 leaves them to the OS.
inline void pin_threads(ThreadPool& pool) {
  const int n = pool.size();
  cpu_set_t allowed;
  if (n < 2 || std::getenv("FLEETRT_BENCH_NO_PIN") || sched_getaffinity(0, sizeof allowed, &allowed) != 0) return;
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
  if (static_cast<int>(cpus.size()) < n) return;
  std::atomic<int> arrived{0};
  pool.parallel_for(n, 1, [&](int64_t i, int64_t) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpus[static_cast<size_t>(i)], &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
    arrived.fetch_add(1);
    while (arrived.load() < n) std::this_thread::yield();  // so that no thread takes two parts
  });
}

class PoolContext : public KernelContext {
 public:
  explicit PoolContext(int threads) : pool_(threads, true) { pin_threads(pool_); }
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
