#include "core/thread_pool.h"

#include <algorithm>

namespace fleetrt {

namespace {
thread_local bool t_in_pool = false;
}

ThreadPool::ThreadPool(int threads) {
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

// Takes the next chunk, if any, and runs it with the lock released.
bool ThreadPool::run_one(std::unique_lock<std::mutex>& lock) {
  if (!fn_ || next_ >= n_) return false;
  int64_t b = next_;
  int64_t e = std::min(n_, b + chunk_);
  next_ = e;
  const auto* fn = fn_;
  lock.unlock();
  (*fn)(b, e);
  lock.lock();
  if (--pending_ == 0) done_cv_.notify_all();
  return true;
}

void ThreadPool::worker() {
  t_in_pool = true;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&] { return stop_ || (fn_ && next_ < n_); });
    if (stop_) return;
    run_one(lock);
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  if (workers_.empty() || n <= grain || t_in_pool) {
    fn(0, n);
    return;
  }
  int64_t chunks = std::min<int64_t>((n + grain - 1) / grain, 4 * size());
  int64_t chunk = (n + chunks - 1) / chunks;
  std::unique_lock<std::mutex> lock(mu_);
  fn_ = &fn;
  n_ = n;
  chunk_ = chunk;
  next_ = 0;
  pending_ = (n + chunk - 1) / chunk;
  ++generation_;
  work_cv_.notify_all();
  t_in_pool = true;
  while (run_one(lock)) {
  }
  t_in_pool = false;
  done_cv_.wait(lock, [&] { return pending_ == 0; });
  fn_ = nullptr;
}

}  // namespace fleetrt
