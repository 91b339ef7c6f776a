// The cuda backend: one NVIDIA GPU (plan device `ordinal` = CUDA device index). Memory is device
// memory from cudaMalloc (no managed memory), kept in a caching pool so that per-op allocations
// do not synchronise; all work of the device is queued on one stream in op order; host↔device
// copies go through pinned staging buffers; op times come from CUDA events (Backend::mark).
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

#include "backends/cuda/cuda_context.h"
#include "engine/backend.h"

namespace fleetrt {

namespace cuda {

Status cuda_status(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::Ok();
  return Status::Error(std::string("CUDA error ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ") in " + what);
}

Status blas_status(cublasStatus_t e, const char* what) {
  if (e == CUBLAS_STATUS_SUCCESS) return Status::Ok();
  std::string err;
  const BlasApi* api = blas_api(&err);
  return Status::Error(std::string("cuBLAS error ") + (api ? api->status_name(e) : std::to_string(static_cast<int>(e)).c_str()) + " in " + what);
}

Status get_context(KernelContext& ctx, CudaContext** out) {
  *out = static_cast<CudaContext*>(ctx.device_context());
  if (!*out) return op_error(ctx, "a cuda kernel ran on a device that is not a cuda device");
  return cuda_status(cudaSetDevice((*out)->device), "cudaSetDevice");
}

Status op_error(KernelContext& ctx, const std::string& msg) {
  return Status::Error(ctx.op_type() + " '" + ctx.op_name() + "' (cuda): " + msg);
}

}  // namespace cuda

namespace {

using cuda::CudaContext;
using cuda::cuda_status;

// Device memory in size classes: freed blocks wait in per-class lists for the next allocation of
// that class. Safe without synchronisation because every user of the memory is on the one stream.
class DevicePool {
 public:
  ~DevicePool() { trim(); }
  Status allocate(size_t bytes, void** out) {
    const size_t size = size_class(bytes);
    std::lock_guard<std::mutex> g(mu_);
    auto& list = free_[size];
    if (!list.empty()) {
      *out = list.back();
      list.pop_back();
      return Status::Ok();
    }
    cudaError_t e = cudaMalloc(out, size);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      trim_locked();
      e = cudaMalloc(out, size);
    }
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      return Status::Error("cannot allocate " + std::to_string(bytes) + " bytes of GPU memory (" + cudaGetErrorString(e) + ")");
    }
    sizes_[*out] = size;
    held_ += size;
    return Status::Ok();
  }
  void release(void* p) {
    if (!p) return;
    std::lock_guard<std::mutex> g(mu_);
    auto it = sizes_.find(p);
    if (it == sizes_.end()) return;
    free_[it->second].push_back(p);
  }
  void trim() {
    std::lock_guard<std::mutex> g(mu_);
    trim_locked();
  }

 private:
  static size_t size_class(size_t n) {
    if (n <= 512) return 512;
    if (n <= (size_t(1) << 26)) {  // powers of two up to 64 MiB
      size_t s = 1024;
      while (s < n) s <<= 1;
      return s;
    }
    const size_t grain = size_t(2) << 20;  // then 2 MiB steps
    return (n + grain - 1) / grain * grain;
  }
  void trim_locked() {
    for (auto& kv : free_)
      for (void* p : kv.second) {
        cudaFree(p);
        held_ -= kv.first;
        sizes_.erase(p);
      }
    free_.clear();
  }
  std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;
  std::unordered_map<void*, size_t> sizes_;
  size_t held_ = 0;
};

class CudaBackend final : public Backend {
 public:
  ~CudaBackend() override {
    cudaSetDevice(ctx_.device);
    if (ctx_.stream) cudaStreamSynchronize(ctx_.stream);
    for (cudaEvent_t e : events_) cudaEventDestroy(e);
    for (Staging& s : staging_) {
      if (s.done) cudaEventDestroy(s.done);
      if (s.host) cudaFreeHost(s.host);
    }
    if (ctx_.blas) ctx_.api->destroy(ctx_.blas);
    if (ctx_.blas_workspace) cudaFree(ctx_.blas_workspace);
    pool_.trim();
    if (ctx_.stream) cudaStreamDestroy(ctx_.stream);
  }

  Status open(const BackendConfig& config) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
      (void)cudaGetLastError();
      return Status::Error(std::string("no CUDA GPU is visible on this machine (") +
                           (e == cudaSuccess ? "0 devices" : cudaGetErrorString(e)) + ")");
    }
    if (config.ordinal < 0 || config.ordinal >= count)
      return Status::Error("cudaDevice " + std::to_string(config.ordinal) + " does not exist (this machine has " +
                           std::to_string(count) + " CUDA GPU" + (count == 1 ? "" : "s") + ")");
    ctx_.device = config.ordinal;
    FLEETRT_CUDA_CHECK(cudaSetDevice(ctx_.device));
    cudaDeviceProp props;
    FLEETRT_CUDA_CHECK(cudaGetDeviceProperties(&props, ctx_.device));
    ctx_.multiprocessors = props.multiProcessorCount;
    FLEETRT_CUDA_CHECK(cudaStreamCreateWithFlags(&ctx_.stream, cudaStreamNonBlocking));
    std::string err;
    ctx_.api = cuda::blas_api(&err);
    if (!ctx_.api) return Status::Error(err);
    const cuda::BlasApi& blas = *ctx_.api;
    FLEETRT_CUBLAS_CHECK(blas.create(&ctx_.blas));
    FLEETRT_CUBLAS_CHECK(blas.set_stream(ctx_.blas, ctx_.stream));
    // A fixed workspace keeps cuBLAS from allocating per call (and makes its calls capturable).
    ctx_.blas_workspace_bytes = size_t(32) << 20;
    FLEETRT_CUDA_CHECK(cudaMalloc(&ctx_.blas_workspace, ctx_.blas_workspace_bytes));
    FLEETRT_CUBLAS_CHECK(blas.set_workspace(ctx_.blas, ctx_.blas_workspace, ctx_.blas_workspace_bytes));
    const char* tf32 = std::getenv("FLEETRT_CUDA_TF32");
    ctx_.tf32 = tf32 && std::strcmp(tf32, "1") == 0;
    FLEETRT_CUBLAS_CHECK(blas.set_math_mode(ctx_.blas, ctx_.tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    for (Staging& s : staging_) {
      FLEETRT_CUDA_CHECK(cudaMallocHost(&s.host, kStagingBytes));
      FLEETRT_CUDA_CHECK(cudaEventCreateWithFlags(&s.done, cudaEventDisableTiming));
    }
    return Status::Ok();
  }

  const char* name() const override { return "cuda"; }
  const char* kernel_set() const override { return "cuda"; }
  bool host_visible() const override { return false; }
  void* kernel_context() override { return &ctx_; }

  Status allocate(size_t bytes, void** out) override {
    FLEETRT_CUDA_CHECK(cudaSetDevice(ctx_.device));
    return pool_.allocate(bytes ? bytes : 1, out);
  }
  void release(void* p) override { pool_.release(p); }

  // Host → device: through the pinned staging buffers in turn (each reused once its last copy is
  // done), so the caller's memory may change as soon as this returns and the copy overlaps the
  // host's next work.
  Status copy_to_device(void* dst, const void* src, size_t n) override {
    FLEETRT_CUDA_CHECK(cudaSetDevice(ctx_.device));
    std::lock_guard<std::mutex> g(copy_mu_);
    const char* s = static_cast<const char*>(src);
    char* d = static_cast<char*>(dst);
    while (n > 0) {
      Staging& st = staging_[next_];
      next_ = (next_ + 1) % staging_.size();
      FLEETRT_CUDA_CHECK(cudaEventSynchronize(st.done));
      const size_t k = n < kStagingBytes ? n : kStagingBytes;
      std::memcpy(st.host, s, k);
      FLEETRT_CUDA_CHECK(cudaMemcpyAsync(d, st.host, k, cudaMemcpyHostToDevice, ctx_.stream));
      FLEETRT_CUDA_CHECK(cudaEventRecord(st.done, ctx_.stream));
      s += k;
      d += k;
      n -= k;
    }
    return Status::Ok();
  }

  // Device → host: waits for the queued work that produces the value, then copies it out.
  Status copy_to_host(void* dst, const void* src, size_t n) override {
    FLEETRT_CUDA_CHECK(cudaSetDevice(ctx_.device));
    std::lock_guard<std::mutex> g(copy_mu_);
    const char* s = static_cast<const char*>(src);
    char* d = static_cast<char*>(dst);
    while (n > 0) {
      Staging& st = staging_[next_];
      next_ = (next_ + 1) % staging_.size();
      FLEETRT_CUDA_CHECK(cudaEventSynchronize(st.done));
      const size_t k = n < kStagingBytes ? n : kStagingBytes;
      FLEETRT_CUDA_CHECK(cudaMemcpyAsync(st.host, s, k, cudaMemcpyDeviceToHost, ctx_.stream));
      FLEETRT_CUDA_CHECK(cudaEventRecord(st.done, ctx_.stream));
      FLEETRT_CUDA_CHECK(cudaEventSynchronize(st.done));
      std::memcpy(d, st.host, k);
      s += k;
      d += k;
      n -= k;
    }
    return Status::Ok();
  }

  Status copy_on_device(void* dst, const void* src, size_t n) override {
    FLEETRT_CUDA_CHECK(cudaSetDevice(ctx_.device));
    if (n) FLEETRT_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, ctx_.stream));
    return Status::Ok();
  }

  Status synchronize() override {
    FLEETRT_CUDA_CHECK(cudaSetDevice(ctx_.device));
    return cuda_status(cudaStreamSynchronize(ctx_.stream), "cudaStreamSynchronize");
  }

  int mark() override {
    std::lock_guard<std::mutex> g(mark_mu_);
    int id;
    if (!free_marks_.empty()) {
      id = free_marks_.back();
      free_marks_.pop_back();
    } else {
      cudaEvent_t e;
      if (cudaEventCreate(&e) != cudaSuccess) return -1;
      id = static_cast<int>(events_.size());
      events_.push_back(e);
    }
    if (cudaEventRecord(events_[id], ctx_.stream) != cudaSuccess) {
      free_marks_.push_back(id);
      return -1;
    }
    return id;
  }
  double elapsed_us(int from, int to) override {
    float ms = 0;
    std::lock_guard<std::mutex> g(mark_mu_);
    if (from < 0 || to < 0 || cudaEventElapsedTime(&ms, events_[from], events_[to]) != cudaSuccess) {
      (void)cudaGetLastError();
      return 0;
    }
    return ms * 1000.0;
  }
  void release_mark(int id) override {
    std::lock_guard<std::mutex> g(mark_mu_);
    if (id >= 0) free_marks_.push_back(id);
  }

 private:
  static constexpr size_t kStagingBytes = size_t(4) << 20;
  struct Staging {
    void* host = nullptr;
    cudaEvent_t done = nullptr;
  };
  CudaContext ctx_;
  DevicePool pool_;
  std::mutex copy_mu_, mark_mu_;
  std::vector<Staging> staging_ = std::vector<Staging>(4);
  size_t next_ = 0;
  std::vector<cudaEvent_t> events_;
  std::vector<int> free_marks_;
};

}  // namespace

Status open_cuda_backend(const BackendConfig& config, std::unique_ptr<Backend>* out) {
  auto b = std::make_unique<CudaBackend>();
  FLEETRT_RETURN_IF_ERROR(b->open(config));
  *out = std::move(b);
  return Status::Ok();
}

// `fleetrt --list-devices`: one JSON line per CUDA GPU (index, name, memory, compute capability).
std::string list_cuda_devices() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return "";
  }
  std::string out;
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    std::string name;
    for (const char* c = p.name; *c; ++c)
      if (*c != '"' && *c != '\\') name += *c;
    out += "{\"backend\": \"cuda\", \"ordinal\": " + std::to_string(i) + ", \"name\": \"" + name + "\", \"memory\": " +
           std::to_string(p.totalGlobalMem) + ", \"capability\": \"" + std::to_string(p.major) + "." + std::to_string(p.minor) +
           "\", \"multiprocessors\": " + std::to_string(p.multiProcessorCount) + "}\n";
  }
  return out;
}

}  // namespace fleetrt
