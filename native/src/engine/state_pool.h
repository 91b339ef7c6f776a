// Engine-owned state in pages (docs/state-ops.md). Page ids are handed out once for every device
// (PageAllocator): a sequence holds one page table that serves every layer on every device, and
// pages carry reference counts so that sequences with a common prefix can share full pages. Each
// device keeps the memory of the state objects it owns (DeviceState): one allocation of `pages`
// pages per state object, from that device's backend.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/plan.h"
#include "engine/backend.h"

namespace fleetrt {

class PageAllocator {
 public:
  void reset(int page_size, int64_t pages);
  int page_size() const { return page_size_; }
  int64_t pages() const { return static_cast<int64_t>(refs_.size()); }
  int64_t free_pages() const { return static_cast<int64_t>(free_.size()); }

  // Appends n fresh pages to *table; false (nothing taken) when fewer than n are free.
  bool allocate(int64_t n, std::vector<int32_t>* table);
  // Another holder of `page` (prefix sharing).
  void retain(int32_t page) { ++refs_[page]; }
  // Drops one reference to each page of *table (freeing those nobody holds) and clears it.
  void release(std::vector<int32_t>* table);
  int32_t refs(int32_t page) const { return refs_[page]; }

 private:
  std::vector<int32_t> refs_;
  std::vector<int32_t> free_;  // free page ids, popped from the back
  int page_size_ = 16;
};

class DeviceState {
 public:
  DeviceState() = default;
  ~DeviceState();
  DeviceState(const DeviceState&) = delete;
  DeviceState& operator=(const DeviceState&) = delete;

  Status open(Backend& backend, const std::vector<const PlanState*>& states, int page_size, int64_t pages);

  bool empty() const { return slots_.empty(); }
  uint64_t bytes() const { return bytes_; }
  // Bytes one token takes across every state object of the device.
  uint64_t bytes_per_token() const { return bytes_per_token_; }
  // The storage of state object `id` (plan.json id), or an error when this device does not own it.
  Status storage(int id, StateStorage* out) const;
  bool has(int id) const { return slots_.count(id) != 0; }

  // State `id` as `from` holds it, for a new plan: on the same device its memory changes hands
  // (`from` keeps this one's, to free); from another device the pages in use (`used`) are copied
  // and *moved counts their bytes.
  Status take(int id, DeviceState& from);
  Status copy(int id, DeviceState& from, const std::vector<int32_t>& used, uint64_t* moved);

 private:
  struct Slot {
    StateStorage storage;
    size_t page_bytes = 0;
  };
  Backend* backend_ = nullptr;
  std::map<int, Slot> slots_;  // state id → its storage
  uint64_t bytes_ = 0, bytes_per_token_ = 0;
};

// DType of a numpy dtype name as plan.json writes it ("float32", "float16", …).
DType dtype_from_name(const std::string& name);

}  // namespace fleetrt
