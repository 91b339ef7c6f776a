// The in-process transport: one inbox per device, a condition variable to wake waiting devices.
// A received value is copied into the receiver's memory (on the receiving thread, so the bytes are
// charged to the receiving device), as after a real transfer.
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>

#include "core/tensor_io.h"
#include "engine/transport.h"

namespace fleetrt {

namespace {

bool copy_tensor(const OwnedTensor& in, OwnedTensor* out, std::string* error) {
  OwnedTensor c;
  if (!alloc_owned(in.view.dtype, in.view.shape, &c, error)) return false;
  if (in.view.dtype == DType::kString) {
    for (int64_t k = 0; k < c.view.numel(); ++k) c.view.as<std::string>()[k] = in.view.as<std::string>()[k];
  } else if (c.view.bytes()) {
    std::memcpy(c.view.data, in.view.data, c.view.bytes());
  }
  *out = std::move(c);
  return true;
}

class InprocTransport final : public Transport {
 public:
  explicit InprocTransport(int devices) : inbox_(static_cast<size_t>(devices)) {}
  const char* kind() const override { return "inproc"; }
  int rank() const override { return 0; }
  int size() const override { return 1; }
  bool local(int) const override { return true; }

  bool send(int to, Message m, std::string* error) override {
    if (to < 0 || to >= static_cast<int>(inbox_.size())) {
      *error = "no device #" + std::to_string(to);
      return false;
    }
    std::lock_guard<std::mutex> g(mu_);
    const bool lazy = m.lazy;
    inbox_[to].push_back(std::move(m));
    ++in_flight_;
    ++epoch_;
    if (!lazy) cv_.notify_all();
    return true;
  }

  bool poll(int device, Message* m, bool* got, std::string* error) override {
    {
      std::lock_guard<std::mutex> g(mu_);
      std::deque<Message>& q = inbox_[device];
      *got = !q.empty();
      if (!*got) return true;
      *m = std::move(q.front());
      q.pop_front();
      --in_flight_;
    }
    if (m->shared) return true;
    Value own;
    if (!copy_value(m->value, &own, error)) {
      *error = "out of memory receiving channel " + std::to_string(m->channel) + ": " + *error;
      return false;
    }
    m->value = std::move(own);
    return true;
  }

  uint64_t epoch() const override {
    std::lock_guard<std::mutex> g(mu_);
    return epoch_;
  }

  void wait(int, uint64_t seen, int timeout_us) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::microseconds(timeout_us), [&] { return epoch_ != seen; });
  }

  void wake() override {
    std::lock_guard<std::mutex> g(mu_);
    ++epoch_;
    cv_.notify_all();
  }

  int in_flight() const override {
    std::lock_guard<std::mutex> g(mu_);
    return in_flight_;
  }
  bool flush(std::string*) override { return true; }
  bool gather(const std::string& mine, std::vector<std::string>* all, std::string*) override {
    *all = {mine};
    return true;
  }
  bool all_ok(bool ok) override { return ok; }
  [[noreturn]] void abort(int code) override { std::exit(code); }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::deque<Message>> inbox_;
  int in_flight_ = 0;
  uint64_t epoch_ = 0;
};

}  // namespace

std::unique_ptr<Transport> make_inproc_transport(int devices) { return std::make_unique<InprocTransport>(devices); }

uint64_t value_bytes(const Value& v) {
  if (v.kind == Value::Kind::kTensor) return v.tensor.view.dtype == DType::kString ? 0 : v.tensor.view.bytes();
  uint64_t n = 0;
  for (const OwnedTensor& t : v.elements) n += t.view.dtype == DType::kString ? 0 : t.view.bytes();
  return n;
}

bool copy_value(const Value& in, Value* out, std::string* error) {
  Value v;
  v.kind = in.kind;
  v.elem_dtype = in.elem_dtype;
  if (in.kind == Value::Kind::kTensor && !copy_tensor(in.tensor, &v.tensor, error)) return false;
  for (const OwnedTensor& t : in.elements) {
    v.elements.emplace_back();
    if (!copy_tensor(t, &v.elements.back(), error)) return false;
  }
  *out = std::move(v);
  return true;
}

}  // namespace fleetrt
