// The pages of one device's state objects (docs/state-ops.md). Every state object the device owns
// gets one allocation of `pages` pages from the device's backend; page ids are shared by all of
// them, so one page table per sequence serves every layer on the device. Pages carry reference
// counts, so that sequences with a common prefix can share full pages.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/plan.h"
#include "engine/backend.h"

namespace fleetrt {

class StatePool {
 public:
  StatePool() = default;
  ~StatePool();
  StatePool(const StatePool&) = delete;
  StatePool& operator=(const StatePool&) = delete;

  // Pages of every state object in `states`. Without a backend the pool only hands out page ids
  // (the device runs in another process, which holds the memory).
  Status open(Backend* backend, const std::vector<const PlanState*>& states, int page_size, int64_t pages);

  bool empty() const { return slots_.empty(); }
  int page_size() const { return page_size_; }
  int64_t pages() const { return static_cast<int64_t>(refs_.size()); }
  int64_t free_pages() const { return static_cast<int64_t>(free_.size()); }
  uint64_t bytes() const { return bytes_; }
  // Bytes one token takes across every state object of the device.
  uint64_t bytes_per_token() const { return bytes_per_token_; }

  // Appends n fresh pages to *table; false (nothing taken) when fewer than n are free.
  bool allocate(int64_t n, std::vector<int32_t>* table);
  // Another holder of `page` (prefix sharing).
  void retain(int32_t page) { ++refs_[page]; }
  // Drops one reference to each page of *table (freeing those nobody holds) and clears it.
  void release(std::vector<int32_t>* table);
  int32_t refs(int32_t page) const { return refs_[page]; }

  // The storage of state object `id` (plan.json id), or an error when this device does not own it.
  Status storage(int id, StateStorage* out) const;

 private:
  struct Slot {
    StateStorage storage;
    size_t page_bytes = 0;
  };
  Backend* backend_ = nullptr;
  std::map<int, Slot> slots_;  // state id → its storage
  std::vector<int32_t> refs_;
  std::vector<int32_t> free_;  // free page ids, popped from the back
  int page_size_ = 16;
  uint64_t bytes_ = 0, bytes_per_token_ = 0;
};

// DType of a numpy dtype name as plan.json writes it ("float32", "float16", …).
DType dtype_from_name(const std::string& name);

}  // namespace fleetrt
