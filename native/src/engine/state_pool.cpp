#include "engine/state_pool.h"

#include <algorithm>
#include <cstring>

namespace fleetrt {

DType dtype_from_name(const std::string& name) {
  for (int t = 1; t <= 26; ++t)
    if (name == dtype_name(static_cast<DType>(t))) return static_cast<DType>(t);
  if (name == "bool_") return DType::kBool;
  return DType::kUndefined;
}

void PageAllocator::reset(int page_size, int64_t pages) {
  page_size_ = page_size;
  refs_.assign(static_cast<size_t>(std::max<int64_t>(pages, 0)), 0);
  free_.clear();
  for (int64_t p = pages - 1; p >= 0; --p) free_.push_back(static_cast<int32_t>(p));
}

bool PageAllocator::allocate(int64_t n, std::vector<int32_t>* table) {
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

void PageAllocator::release(std::vector<int32_t>* table) {
  for (int32_t p : *table)
    if (--refs_[p] == 0) free_.push_back(p);
  table->clear();
}

DeviceState::~DeviceState() {
  for (auto& kv : slots_)
    if (kv.second.storage.data) backend_->release(kv.second.storage.data);
}

Status DeviceState::open(Backend& backend, const std::vector<const PlanState*>& states, int page_size, int64_t pages) {
  backend_ = &backend;
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
    FLEETRT_RETURN_IF_ERROR(backend.allocate(std::max<size_t>(total, 64), &st.data));
    bytes_ += total;
    bytes_per_token_ += slot.page_bytes / static_cast<size_t>(page_size);
    slots_[s->id] = slot;
  }
  return Status::Ok();
}

Status DeviceState::storage(int id, StateStorage* out) const {
  auto it = slots_.find(id);
  if (it == slots_.end()) return Status::Error("state " + std::to_string(id) + " is not kept on this device");
  *out = it->second.storage;
  return Status::Ok();
}

Status DeviceState::take(int id, DeviceState& from) {
  auto src = from.slots_.find(id);
  auto dst = slots_.find(id);
  if (src == from.slots_.end() || dst == slots_.end() || src->second.page_bytes != dst->second.page_bytes)
    return Status::Error("state " + std::to_string(id) + " is not the same on both plans");
  std::swap(src->second.storage.data, dst->second.storage.data);
  return Status::Ok();
}

Status DeviceState::copy(int id, DeviceState& from, const std::vector<int32_t>& used, uint64_t* moved) {
  auto src = from.slots_.find(id);
  auto dst = slots_.find(id);
  if (src == from.slots_.end() || dst == slots_.end()) return Status::Error("state " + std::to_string(id) + " is not on both devices");
  const size_t n = src->second.page_bytes;
  uint8_t* out = static_cast<uint8_t*>(dst->second.storage.data);
  const uint8_t* in = static_cast<const uint8_t*>(src->second.storage.data);
  // Host memory to host memory; a device backend copies through the host.
  std::vector<uint8_t> staging(backend_->host_visible() && from.backend_->host_visible() ? 0 : n);
  for (int32_t p : used) {
    const size_t at = static_cast<size_t>(p) * n;
    if (staging.empty()) {
      std::memcpy(out + at, in + at, n);
    } else {
      FLEETRT_RETURN_IF_ERROR(from.backend_->copy_to_host(staging.data(), in + at, n));
      FLEETRT_RETURN_IF_ERROR(backend_->copy_to_device(out + at, staging.data(), n));
    }
    *moved += n;
  }
  return Status::Ok();
}

}  // namespace fleetrt
