// A fixed intra-op thread pool: parallel_for splits [0, n) into chunks, runs them on the
// workers and the calling thread, and returns when all are done. Nested calls run inline.
//
// The calling thread takes chunks from the front, the workers from the back: consecutive ops
// that split the same axis alike leave each thread the part it wrote (still in its core's L2),
// and the same part of the weights run after run; where one thread falls behind, the others take
// what it left.
//
// Ops are short (often tens of microseconds), so a futex wake-up per op costs as much as the op.
// With `spin` set, idle workers poll for the next job for a short while before sleeping; use it
// only when the pool's threads have cores to themselves (they yield while they poll, so that a
// thread sharing their core still runs). Where another process comes to share their cores after
// all, polling costs more than it saves: a worker that never sleeps competes with that process
// for its whole time slice, and keeps the other core busy while the thread it waits for sits
// queued behind the neighbour, instead of letting the scheduler move it there. So the threads
// watch how long they wait for a CPU (see contended()) and stop polling while they do.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fleetrt {

class ThreadPool {
 public:
  explicit ThreadPool(int threads, bool spin = false);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
  // Times the workers stopped polling because the pool's threads were kept waiting for a CPU.
  int64_t contention_spells() const { return spells_.load(std::memory_order_relaxed); }

 private:
  void worker();
  // Claims a chunk of the current job, the first one left or (from_back) the last; false when
  // none is left.
  bool claim(bool from_back, int64_t* chunk_index);
  void run_chunk(int64_t chunk_index);
  // Whether idle workers should sleep at once rather than poll: true for a while after a pool
  // thread, checking at an op boundary, found that it had been kept waiting for a CPU.
  bool contended(std::chrono::steady_clock::time_point now);

  std::vector<std::thread> workers_;
  const bool spin_;
  // The job: written by the caller before `ticket_` publishes it, read-only while it runs.
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0, chunk_ = 0;
  // generation (24 bits) | end of the chunks left (20 bits) | first chunk left (20 bits): claims
  // are one CAS on this word, so a worker can never claim a chunk of a job other than the one it
  // inspected.
  std::atomic<uint64_t> ticket_{0};
  std::atomic<int64_t> pending_{0};  // chunks of the current job not yet finished
  std::atomic<int> sleepers_{0};
  std::atomic<int64_t> no_polling_until_{0};  // steady_clock ticks
  std::atomic<int64_t> spells_{0};
  std::mutex mu_;
  std::condition_variable work_cv_;
  bool stop_ = false;
};

}  // namespace fleetrt
