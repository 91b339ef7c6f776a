// MPI transport: one device per rank; a value is one MPI message (a small header, then the tensor
// bytes), sent with MPI_Isend and received by polling with MPI_Iprobe. Compiled with MPI only into
// the fleetrt tool (CMake defines FLEETRT_HAVE_MPI when it finds MPI), so the engine library needs
// none; without it make_mpi_transport explains why.
#include "engine/transport.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <thread>
#include <vector>

#include "core/tensor_io.h"

#ifdef FLEETRT_HAVE_MPI
#include <mpi.h>
#endif

namespace fleetrt {

#ifndef FLEETRT_HAVE_MPI

std::unique_ptr<Transport> make_mpi_transport(int*, char***, std::string* error) {
  *error = "this fleetrt was built without MPI (install Open MPI, e.g. apt-get install openmpi-bin libopenmpi-dev, and rebuild)";
  return nullptr;
}

#else

namespace {

constexpr int kTag = 7301;

template <class T>
void put(std::string* b, T v) {
  b->append(reinterpret_cast<const char*>(&v), sizeof(T));
}

struct In {
  const char* p;
  size_t n, pos = 0;
  template <class T>
  bool get(T* v) {
    if (n - pos < sizeof(T)) return false;
    std::memcpy(v, p + pos, sizeof(T));
    pos += sizeof(T);
    return true;
  }
};

bool encode(const Message& m, std::string* out, std::string* error) {
  if (m.value.kind != Value::Kind::kTensor) {
    *error = "only tensors can cross ranks (channel " + std::to_string(m.channel) + " carries a sequence or optional)";
    return false;
  }
  const Tensor& t = m.value.tensor.view;
  put<int32_t>(out, m.pass);
  put<uint32_t>(out, m.channel);
  put<int32_t>(out, m.from);
  put<double>(out, m.sent_us);
  put<int32_t>(out, static_cast<int32_t>(t.dtype));
  put<int32_t>(out, static_cast<int32_t>(t.shape.size()));
  for (int64_t d : t.shape) put<int64_t>(out, d);
  if (t.dtype == DType::kString) {
    for (int64_t i = 0; i < t.numel(); ++i) {
      const std::string& s = t.as<std::string>()[i];
      put<uint32_t>(out, static_cast<uint32_t>(s.size()));
      out->append(s);
    }
  } else {
    out->append(static_cast<const char*>(t.data), t.bytes());
  }
  return true;
}

bool decode(const std::vector<char>& buf, Message* m, std::string* error) {
  In in{buf.data(), buf.size()};
  int32_t dtype = 0, rank = 0;
  if (!in.get(&m->pass) || !in.get(&m->channel) || !in.get(&m->from) || !in.get(&m->sent_us) || !in.get(&dtype) ||
      !in.get(&rank) || rank < 0 || rank > 64 || dtype < 1 || dtype > 24) {
    *error = "malformed MPI message header";
    return false;
  }
  std::vector<int64_t> shape(rank);
  for (int32_t k = 0; k < rank; ++k)
    if (!in.get(&shape[k]) || shape[k] < 0) {
      *error = "malformed MPI message shape";
      return false;
    }
  m->value = Value();
  m->value.kind = Value::Kind::kTensor;
  if (!alloc_owned(static_cast<DType>(dtype), shape, &m->value.tensor, error)) return false;
  Tensor& t = m->value.tensor.view;
  if (t.dtype == DType::kString) {
    for (int64_t i = 0; i < t.numel(); ++i) {
      uint32_t len;
      if (!in.get(&len) || in.n - in.pos < len) {
        *error = "malformed MPI string message";
        return false;
      }
      t.as<std::string>()[i].assign(in.p + in.pos, len);
      in.pos += len;
    }
  } else {
    if (in.n - in.pos != t.bytes()) {
      *error = "MPI message has " + std::to_string(in.n - in.pos) + " data bytes, its shape needs " + std::to_string(t.bytes());
      return false;
    }
    if (t.bytes()) std::memcpy(t.data, in.p + in.pos, t.bytes());
  }
  m->bytes = value_bytes(m->value);
  return true;
}

class MpiTransport final : public Transport {
 public:
  MpiTransport() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiTransport() override {
    std::string e;
    flush(&e);
    MPI_Finalize();
  }
  const char* kind() const override { return "mpi"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  bool local(int device) const override { return device == rank_; }
  uint64_t epoch() const override { return 0; }
  // Nothing can interrupt a wait across processes: poll again shortly.
  void wait(int, uint64_t, int timeout_us) override {
    std::this_thread::sleep_for(std::chrono::microseconds(std::min(timeout_us, 50)));
  }
  void wake() override {}
  int in_flight() const override { return -1; }

  bool send(int to, Message m, std::string* error) override {
    pending_.emplace_back();
    Pending& p = pending_.back();
    if (!encode(m, &p.buf, error)) return false;
    if (p.buf.size() > static_cast<size_t>(INT32_MAX)) {
      *error = "a tensor of " + std::to_string(p.buf.size()) + " bytes is too large for one MPI message";
      return false;
    }
    if (MPI_Isend(p.buf.data(), static_cast<int>(p.buf.size()), MPI_BYTE, to, kTag, MPI_COMM_WORLD, &p.req) != MPI_SUCCESS) {
      *error = "MPI_Isend to rank " + std::to_string(to) + " failed";
      return false;
    }
    reap();
    return true;
  }

  bool poll(int, Message* m, bool* got, std::string* error) override {
    *got = false;
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, kTag, MPI_COMM_WORLD, &flag, &st);
    if (!flag) {
      reap();
      return true;
    }
    int count = 0;
    MPI_Get_count(&st, MPI_BYTE, &count);
    std::vector<char> buf(static_cast<size_t>(count));
    MPI_Recv(buf.data(), count, MPI_BYTE, st.MPI_SOURCE, kTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (!decode(buf, m, error)) return false;
    *got = true;
    return true;
  }

  bool flush(std::string*) override {
    for (Pending& p : pending_) MPI_Wait(&p.req, MPI_STATUS_IGNORE);
    pending_.clear();
    return true;
  }

  bool gather(const std::string& mine, std::vector<std::string>* all, std::string*) override {
    int len = static_cast<int>(mine.size());
    std::vector<int> lens(size_);
    MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
    std::vector<int> offs(size_, 0);
    int total = 0;
    for (int r = 0; r < size_; ++r) {
      offs[r] = total;
      total += lens[r];
    }
    std::vector<char> buf(rank_ == 0 ? static_cast<size_t>(total) + 1 : 1);
    MPI_Gatherv(mine.data(), len, MPI_CHAR, buf.data(), lens.data(), offs.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
    all->clear();
    if (rank_ == 0)
      for (int r = 0; r < size_; ++r) all->emplace_back(buf.data() + offs[r], lens[r]);
    return true;
  }

  [[noreturn]] void abort(int code) override {
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);
  }

  bool all_ok(bool ok) override {
    int in = ok ? 1 : 0, out = 0;
    MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return out == 1;
  }

 private:
  struct Pending {
    std::string buf;
    MPI_Request req;
  };
  void reap() {
    while (!pending_.empty()) {
      int done = 0;
      MPI_Test(&pending_.front().req, &done, MPI_STATUS_IGNORE);
      if (!done) break;
      pending_.pop_front();
    }
  }
  int rank_ = 0, size_ = 1;
  std::deque<Pending> pending_;  // deque: buffers must not move while a send is in flight
};

}  // namespace

std::unique_ptr<Transport> make_mpi_transport(int* argc, char*** argv, std::string* error) {
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    *error = "MPI_Init failed";
    return nullptr;
  }
  return std::make_unique<MpiTransport>();
}

#endif

}  // namespace fleetrt
