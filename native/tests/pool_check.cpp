// Checks the intra-op ThreadPool: every index of a parallel_for runs exactly once (chunk counts
// that divide evenly and that do not, more threads than indices, nested calls), and a polling
// pool whose threads share one CPU stops polling (ThreadPool::contention_spells). The second pins
// this process to one CPU, so that the caller and the worker must wait for each other's slices.
// usage: fleetrt_pool_check   One JSON line per case; exit status 1 when one fails.
// test/runtime/thread-pool.test.ts runs it.
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "core/thread_pool.h"

using namespace fleetrt;

namespace {

bool all_ok = true;

void report(const std::string& name, bool ok, const std::string& detail) {
  all_ok = all_ok && ok;
  std::printf("{\"case\":\"%s\",\"ok\":%s,\"detail\":\"%s\"}\n", name.c_str(), ok ? "true" : "false", detail.c_str());
}

// Each index of [0, n) visited exactly once, on `threads` threads with this grain.
void coverage(int threads, int64_t n, int64_t grain, bool nested) {
  ThreadPool pool(threads, /*spin=*/true);
  std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
  for (auto& s : seen) s.store(0);
  pool.parallel_for(n, grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      if (nested) pool.parallel_for(1, 1, [&](int64_t, int64_t) { seen[static_cast<size_t>(i)]++; });
      else seen[static_cast<size_t>(i)]++;
    }
  });
  int64_t bad = 0;
  for (auto& s : seen) bad += s.load() != 1;
  report("coverage " + std::to_string(threads) + " threads n=" + std::to_string(n) + " grain=" + std::to_string(grain) +
             (nested ? " nested" : ""),
         bad == 0, std::to_string(bad) + " indices not run exactly once");
}

void spin_for(std::chrono::microseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

void contention() {
  if (!std::ifstream("/proc/thread-self/schedstat")) {
    report("contention", true, "skipped: this system does not report the time threads wait for a CPU");
    return;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) {
    report("contention", false, "sched_getaffinity failed");
    return;
  }
  int cpu = 0;
  while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &set)) ++cpu;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {  // the pool's workers inherit it
    report("contention", false, "sched_setaffinity failed");
    return;
  }
  ThreadPool pool(2, /*spin=*/true);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  int ops = 0;
  while (pool.contention_spells() == 0 && std::chrono::steady_clock::now() < until) {
    pool.parallel_for(8, 1, [](int64_t b, int64_t e) { spin_for(std::chrono::microseconds(500) * (e - b)); });
    ++ops;
  }
  report("contention", pool.contention_spells() > 0,
         std::to_string(pool.contention_spells()) + " spells after " + std::to_string(ops) + " ops on one CPU");
}

}  // namespace

int main() {
  for (int threads : {1, 2, 4})
    for (int64_t n : {1, 7, 8, 1000, 100003}) coverage(threads, n, 1, false);
  coverage(2, 1000, 64, false);
  coverage(4, 50, 1, true);
  contention();  // last: it pins the process to one CPU
  return all_ok ? 0 : 1;
}
