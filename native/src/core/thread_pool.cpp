#include "core/thread_pool.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FLEETRT_CPU_RELAX() _mm_pause()
#else
#define FLEETRT_CPU_RELAX() std::this_thread::yield()
#endif

namespace fleetrt {

namespace {
thread_local bool t_in_pool = false;

constexpr int kIndexBits = 20;
constexpr uint64_t kIndexMask = (uint64_t{1} << kIndexBits) - 1;
constexpr int64_t kMaxChunks = int64_t{1} << kIndexBits;
// How long an idle worker polls before it sleeps: covers the gap between consecutive ops.
constexpr auto kSpinFor = std::chrono::microseconds(300);

// Contention: each thread reads how long it has waited for a CPU at most every kWaitCheckEvery;
// two such intervals in a row with more than kWaitedTooLongNs of waiting stop the polling for
// kNoPollingFor. A lone long wait happens on an idle host too (a wake-up queued behind the
// waker for a moment: ~1 interval in 200 on MobileNetV2's runs); a process sharing the core
// makes them run on. ResNet-50 on 2 threads, another process on one CPU (a spinning one, then one
// spinning 3 ms of every 6), alternated 12 rounds: 68.5 → 60.5 ms and 69.1 → 61.5 ms, where the
// workers never polling gives 61.5 and 63.1; MobileNetV2 under the second 6.71 → 6.35 ms; idle
// host unchanged (ResNet-50 37.9 / 38.0 ms, MobileNetV2 4.22 / 4.16, never polling 5.03).
constexpr auto kWaitCheckEvery = std::chrono::milliseconds(2);
constexpr int64_t kWaitedTooLongNs = 200 * 1000;
constexpr auto kNoPollingFor = std::chrono::milliseconds(100);

// Nanoseconds this thread has spent runnable but waiting for a CPU (Linux's schedstat); -1
// where the system does not say.
int64_t cpu_wait_ns() {
  struct SchedStat {
    int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    ~SchedStat() {
      if (fd >= 0) close(fd);
    }
  };
  thread_local const SchedStat stat;
  if (stat.fd < 0) return -1;
  char buf[96];
  const ssize_t n = pread(stat.fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return -1;
  buf[n] = 0;
  char* rest;
  std::strtoll(buf, &rest, 10);  // time on a CPU, then time waiting for one
  return std::strtoll(rest, nullptr, 10);
}

int64_t ticks(std::chrono::steady_clock::duration d) { return d.count(); }

uint64_t front_index(uint64_t t) { return t & kIndexMask; }
uint64_t back_end(uint64_t t) { return (t >> kIndexBits) & kIndexMask; }
uint64_t generation(uint64_t t) { return t >> (2 * kIndexBits); }
bool has_work(uint64_t t) { return front_index(t) < back_end(t); }
}  // namespace

ThreadPool::ThreadPool(int threads, bool spin) : spin_(spin) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

bool ThreadPool::contended(std::chrono::steady_clock::time_point now) {
  thread_local std::chrono::steady_clock::time_point checked{};
  thread_local int64_t waited = -1;
  thread_local bool waited_long = false;
  const int64_t t = ticks(now.time_since_epoch());
  if (now - checked >= kWaitCheckEvery) {
    checked = now;
    const int64_t w = cpu_wait_ns();
    const bool long_wait = w >= 0 && waited >= 0 && w - waited > kWaitedTooLongNs;
    if (long_wait && waited_long && no_polling_until_.exchange(t + ticks(kNoPollingFor)) <= t)
      spells_.fetch_add(1, std::memory_order_relaxed);
    waited = w, waited_long = long_wait;
  }
  return t < no_polling_until_.load(std::memory_order_relaxed);
}

bool ThreadPool::claim(bool from_back, int64_t* chunk_index) {
  uint64_t t = ticket_.load(std::memory_order_acquire);
  while (has_work(t)) {
    const uint64_t next = from_back ? t - (uint64_t{1} << kIndexBits) : t + 1;
    if (ticket_.compare_exchange_weak(t, next, std::memory_order_acq_rel, std::memory_order_acquire)) {
      *chunk_index = static_cast<int64_t>(from_back ? back_end(t) - 1 : front_index(t));
      return true;
    }
  }
  return false;
}

void ThreadPool::run_chunk(int64_t c) {
  const int64_t b = c * chunk_, e = std::min(n_, b + chunk_);
  (*fn_)(b, e);
  pending_.fetch_sub(1, std::memory_order_acq_rel);
}

void ThreadPool::worker() {
  t_in_pool = true;
  while (true) {
    int64_t c;
    while (claim(true, &c)) run_chunk(c);
    const auto now = std::chrono::steady_clock::now();
    if (spin_ && !contended(now)) {
      const auto until = now + kSpinFor;
      bool found = false;
      for (int i = 0; !found; ++i) {
        found = has_work(ticket_.load(std::memory_order_acquire));
        // Every 64 polls, give the core away if another thread wants it: where the pool's threads
        // share cores (another process busy on one of them), a worker polling here held up the
        // thread it shared a core with by up to kSpinFor per op (MobileNetV2, 2 threads, one CPU
        // busy: 15.5 → 8.2 ms, where 1 thread takes 8.2; no change on idle cores).
        if (!found && (i & 63) == 63) {
          if (std::chrono::steady_clock::now() > until) break;
          std::this_thread::yield();
        }
        if (!found) FLEETRT_CPU_RELAX();
      }
      if (found) continue;
    }
    std::unique_lock<std::mutex> lock(mu_);
    // seq_cst pairs with parallel_for's publish-then-read of sleepers_: either it sees this
    // sleeper and notifies, or this predicate sees its job.
    sleepers_.fetch_add(1);
    work_cv_.wait(lock, [&] { return stop_ || has_work(ticket_.load()); });
    sleepers_.fetch_sub(1);
    if (stop_) return;
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  if (workers_.empty() || n <= grain || t_in_pool) {
    fn(0, n);
    return;
  }
  const int64_t chunks = std::min<int64_t>({(n + grain - 1) / grain, 4 * int64_t{size()}, kMaxChunks - 1});
  chunk_ = (n + chunks - 1) / chunks;
  n_ = n;
  fn_ = &fn;
  const int64_t count = (n + chunk_ - 1) / chunk_;
  pending_.store(count, std::memory_order_relaxed);
  const uint64_t gen = generation(ticket_.load(std::memory_order_relaxed)) + 1;
  ticket_.store((gen << (2 * kIndexBits)) | (static_cast<uint64_t>(count) << kIndexBits));
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> g(mu_);
    work_cv_.notify_all();
  }
  t_in_pool = true;
  int64_t c;
  while (claim(false, &c)) run_chunk(c);
  // the last chunks may still be running on workers: they are short, so poll
  for (int i = 0; pending_.load(std::memory_order_acquire) != 0; ++i) {
    if (i < 4096) FLEETRT_CPU_RELAX();
    else std::this_thread::yield();
  }
  if (spin_) contended(std::chrono::steady_clock::now());
  t_in_pool = false;
}

}  // namespace fleetrt
