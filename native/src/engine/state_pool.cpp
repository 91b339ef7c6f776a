#include "engine/state_pool.h"

#include <algorithm>

namespace fleetrt {

DType dtype_from_name(const std::string& name) {
  for (int t = 1; t <= 26; ++t)
    if (name == dtype_name(static_cast<DType>(t))) return static_cast<DType>(t);
  if (name == "bool_") return DType::kBool;
  return DType::kUndefined;
}

StatePool::~StatePool() {
  for (auto& kv : slots_)
    if (kv.second.storage.data) backend_->release(kv.second.storage.data);
}

Status StatePool::open(Backend* backend, const std::vector<const PlanState*>& states, int page_size, int64_t pages) {
  backend_ = backend;
  page_size_ = page_size;
  if (pages < 0 || pages > INT32_MAX) return Status::Error("a pool of " + std::to_string(pages) + " pages is out of range");
  for (const PlanState* s : states) {
    Slot slot;
    StateStorage& st = slot.storage;
    st.dtype = dtype_from_name(s->dtype);
    if (st.dtype == DType::kUndefined || dtype_bits(st.dtype) % 8 != 0)
      return Status::Error("state '" + s->input + "' has dtype '" + s->dtype + "', which pages cannot hold");
    st.page_size = page_size;
    st.outer = s->outer;
    st.inner = s->inner;
    st.pages = static_cast<int32_t>(pages);
    slot.page_bytes = dtype_bytes(st.dtype, static_cast<int64_t>(st.page_elems()));
    const size_t total = slot.page_bytes * static_cast<size_t>(pages);
    if (backend) {
      FLEETRT_RETURN_IF_ERROR(backend->allocate(std::max<size_t>(total, 64), &st.data));
      bytes_ += total;
    }
    bytes_per_token_ += slot.page_bytes / static_cast<size_t>(page_size);
    slots_[s->id] = slot;
  }
  refs_.assign(static_cast<size_t>(pages), 0);
  free_.clear();
  for (int64_t p = pages - 1; p >= 0; --p) free_.push_back(static_cast<int32_t>(p));
  return Status::Ok();
}

bool StatePool::allocate(int64_t n, std::vector<int32_t>* table) {
  if (n <= 0) return true;
  if (static_cast<int64_t>(free_.size()) < n) return false;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t p = free_.back();
    free_.pop_back();
    refs_[p] = 1;
    table->push_back(p);
  }
  return true;
}

void StatePool::release(std::vector<int32_t>* table) {
  for (int32_t p : *table)
    if (--refs_[p] == 0) free_.push_back(p);
  table->clear();
}

Status StatePool::storage(int id, StateStorage* out) const {
  auto it = slots_.find(id);
  if (it == slots_.end() || !it->second.storage.data) return Status::Error("state " + std::to_string(id) + " is not kept on this device");
  *out = it->second.storage;
  return Status::Ok();
}

}  // namespace fleetrt
