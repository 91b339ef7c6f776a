// The kernel calling convention of fleetrt: every op kernel is a function
//   Status fn(KernelContext& ctx)
// that reads inputs and attributes from the context and writes its outputs. No exceptions
// cross this interface; errors come back as Status. Kernels register themselves in a table by
// (domain, op type) with FLEETRT_REGISTER_KERNEL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace fleetrt {

// ONNX TensorProto.DataType codes; the bundle format uses the same numbers.
enum class DType : int32_t {
  kUndefined = 0,
  kF32 = 1,
  kU8 = 2,
  kI8 = 3,
  kU16 = 4,
  kI16 = 5,
  kI32 = 6,
  kI64 = 7,
  kString = 8,
  kBool = 9,
  kF16 = 10,
  kF64 = 11,
  kU32 = 12,
  kU64 = 13,
  kC64 = 14,
  kC128 = 15,
  kBF16 = 16,
  kF8E4M3FN = 17,
  kF8E4M3FNUZ = 18,
  kF8E5M2 = 19,
  kF8E5M2FNUZ = 20,
  kU4 = 21,
  kI4 = 22,
  kF4E2M1 = 23,
  kF8E8M0 = 24,
  kU2 = 25,
  kI2 = 26,
};

// Storage bits of one element (4 / 2 for the packed 4-bit / 2-bit types; string is sizeof(std::string)*8).
size_t dtype_bits(DType t);
const char* dtype_name(DType t);
// Bytes for n elements of t (packed sub-byte types round up).
size_t dtype_bytes(DType t, int64_t n);

struct Status {
  int code = 0;
  std::string message;
  static Status Ok() { return Status{}; }
  static Status Error(std::string msg) { return Status{1, std::move(msg)}; }
  bool ok() const { return code == 0; }
};

#define FLEETRT_RETURN_IF_ERROR(expr)          \
  do {                                         \
    ::fleetrt::Status _fleetrt_s = (expr);     \
    if (!_fleetrt_s.ok()) return _fleetrt_s;   \
  } while (0)

// A view of tensor memory owned by the runtime (arena, mapped weights, or a heap buffer).
// String tensors hold std::string objects.
struct Tensor {
  DType dtype = DType::kUndefined;
  std::vector<int64_t> shape;
  void* data = nullptr;

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  size_t bytes() const { return dtype_bytes(dtype, numel()); }
  size_t rank() const { return shape.size(); }
  template <class T>
  T* as() {
    return static_cast<T*>(data);
  }
  template <class T>
  const T* as() const {
    return static_cast<const T*>(data);
  }
};

// A tensor that owns its memory (subgraph results, sequence elements, kernel temporaries).
struct OwnedTensor {
  Tensor view;
  std::shared_ptr<void> storage;
};

// Non-tensor values of ONNX: sequences of tensors and optionals.
struct Value {
  enum class Kind { kTensor, kSequence, kOptionalNone };
  Kind kind = Kind::kTensor;
  OwnedTensor tensor;                // kTensor
  std::vector<OwnedTensor> elements;  // kSequence
  DType elem_dtype = DType::kUndefined;  // element type of an empty sequence / none optional
};

struct Attribute {
  enum class Kind { kInt, kFloat, kString, kInts, kFloats, kStrings, kTensor, kTensors, kGraph, kGraphs };
  Kind kind = Kind::kInt;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
  Tensor tensor;                 // kTensor: a view of constant data in the bundle
  std::vector<Tensor> tensors;   // kTensors
  int graph = -1;                // kGraph: index for KernelContext::run_subgraph
  std::vector<int> graphs;       // kGraphs
};

class Attributes {
 public:
  std::vector<std::pair<std::string, Attribute>> items;

  const Attribute* find(const char* name) const {
    for (const auto& kv : items)
      if (kv.first == name) return &kv.second;
    return nullptr;
  }
  bool has(const char* name) const { return find(name) != nullptr; }
  int64_t get_int(const char* name, int64_t def) const {
    const Attribute* a = find(name);
    return a ? a->i : def;
  }
  double get_float(const char* name, double def) const {
    const Attribute* a = find(name);
    return a ? a->f : def;
  }
  std::string get_string(const char* name, const std::string& def) const {
    const Attribute* a = find(name);
    return a ? a->s : def;
  }
  std::vector<int64_t> get_ints(const char* name) const {
    const Attribute* a = find(name);
    return a ? a->ints : std::vector<int64_t>{};
  }
  std::vector<double> get_floats(const char* name) const {
    const Attribute* a = find(name);
    return a ? a->floats : std::vector<double>{};
  }
  std::vector<std::string> get_strings(const char* name) const {
    const Attribute* a = find(name);
    return a ? a->strings : std::vector<std::string>{};
  }
  const Tensor* get_tensor(const char* name) const {
    const Attribute* a = find(name);
    return a && a->kind == Attribute::Kind::kTensor ? &a->tensor : nullptr;
  }
};

// Engine-owned state (docs/runtime.md, "State"). During a generation step the stateful ops of the
// fleetc domain (PagedAttention, KvGather, KvAppend) reach the KV cache through a StepState: the
// pages of each state object on this device and, per sequence of the step, its page table.
//
// Storage of one state object on one device: `pages` pages, each [outer][page_size][inner] elements
// of `dtype` (for attention caches outer = KV heads and inner = head size), so that one head's
// tokens of a page are contiguous.
struct StateStorage {
  void* data = nullptr;
  DType dtype = DType::kUndefined;
  int32_t page_size = 0, outer = 0, inner = 0;
  int32_t pages = 0;
  size_t page_elems() const { return static_cast<size_t>(page_size) * outer * inner; }
};

// One sequence of the step: its tokens are contiguous in the step's token order.
struct StepSequence {
  const int32_t* pages = nullptr;  // this device's page table for the sequence
  int32_t num_pages = 0;
  int32_t past = 0;         // tokens in the cache before this step (= position of its first new token)
  int32_t tokens = 0;       // new tokens of this sequence in the step
  int32_t first_token = 0;  // index of its first new token among the step's tokens
};

class StepState {
 public:
  virtual ~StepState() = default;
  virtual int num_sequences() const = 0;
  virtual const StepSequence& sequence(int i) const = 0;
  virtual int num_tokens() const = 0;
  // The storage of state object `id` (plan.json state[id]) on this device.
  virtual Status storage(int id, StateStorage* out) = 0;
  // Telemetry: bytes of state a kernel appended, read in place, and copied out of the pages
  // (KvGather: a layer that cannot read the pages where they lie).
  virtual void count(uint64_t written, uint64_t read, uint64_t copied = 0) = 0;
};

class KernelContext {
 public:
  virtual ~KernelContext() = default;

  virtual const std::string& op_type() const = 0;
  virtual const std::string& op_name() const = 0;
  virtual int opset() const = 0;
  virtual const Attributes& attrs() const = 0;

  virtual int num_inputs() const = 0;
  // Tensor input i, or nullptr when the optional input is absent (or is not a tensor).
  virtual const Tensor* input(int i) const = 0;
  // Any input as a Value (sequences, optionals); nullptr when absent.
  virtual const Value* input_value(int i) const = 0;

  virtual int num_outputs() const = 0;
  // Output i, allocated by the runtime from the compiler's shape expressions. Returns nullptr
  // when the output slot is unused, or when its shape depends on data this op computes (then
  // the kernel must call output(i, shape, &t)).
  virtual Tensor* output(int i) = 0;
  // Output i with a shape the kernel computed (data-dependent ops: NonZero, Unique, Reshape of a
  // runtime shape, Loop results …). When the compiler planned the shape, it is checked against
  // `shape`; otherwise the output is allocated and the shape's fresh symbols are bound.
  virtual Status output(int i, const std::vector<int64_t>& shape, Tensor** out) = 0;
  // Sets a non-tensor output (sequence, optional), or a tensor the kernel already owns.
  virtual Status set_output_value(int i, Value v) = 0;

  // Memory that lives as long as the kernel call.
  virtual void* scratch(size_t bytes) = 0;
  // Memory that the caller owns (for sequence elements, subgraph plumbing).
  virtual Status allocate(DType dtype, const std::vector<int64_t>& shape, OwnedTensor* out) = 0;

  virtual int num_threads() const = 0;
  // Runs fn(begin, end) over chunks of [0, n) on the intra-op pool; inline when n <= grain.
  virtual void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) = 0;

  // Runs subgraph `graph` (an index from a kGraph/kGraphs attribute) with the given inputs (in
  // the subgraph's input order); outer-scope values it reads are bound by the runtime.
  virtual Status run_subgraph(int graph, const std::vector<const Value*>& inputs, std::vector<Value>* outputs) = 0;

  // The engine state of the current generation step; nullptr outside one (one-shot runs).
  virtual StepState* step_state() { return nullptr; }

  // Whether input i is a weight of the bundle: the same bytes at the same address on every run,
  // so that a kernel may prepare it once (pack a GEMM operand, reorder conv filters).
  virtual bool input_is_constant(int /*i*/) const { return false; }
  // A slot that lives as long as the op's program and that the op's kernel alone uses (what it
  // prepared from its constant inputs); nullptr where the context keeps none. Runs that share a
  // program may call the op at the same time, so the slot is read and written with
  // std::atomic_load / std::atomic_store (ku::prepared in kernel_util.h does it).
  virtual std::shared_ptr<void>* op_state() { return nullptr; }

  // Device backends (memory the host cannot read: cuda). Their kernels get the backend's context
  // (stream, library handles) here; tensors, scratch and allocate() are device memory.
  virtual void* device_context() { return nullptr; }
  // A host copy of tensor input i, for the small integer inputs that kernels read on the host
  // (shapes, axes, pads). Host backends: input(i) itself. Device backends: the copy the executor
  // kept when it uploaded the value (graph inputs, weights, received values, set_host_copy), else
  // one copied back now (a synchronisation).
  virtual const Tensor* host_input(int i) { return input(i); }
  // Device kernels that compute an output on the host (Shape) give the executor its host copy.
  virtual void set_host_copy(int /*output*/, const Tensor& /*host*/) {}
};

using KernelFn = Status (*)(KernelContext& ctx);

struct KernelEntry {
  const char* domain;  // "" for ai.onnx, "com.microsoft", "stablehlo", "fleetc"
  const char* op_type;
  KernelFn fn;
  // The kernel set: "cpu" (host kernels: the cpu and emulated backends run them), "cuda", …
  const char* backend = "cpu";
};

// Adds a host kernel to the table; used through FLEETRT_REGISTER_KERNEL at namespace scope.
bool register_kernel(const char* domain, const char* op_type, KernelFn fn);
// Adds a kernel of another kernel set (FLEETRT_REGISTER_BACKEND_KERNEL).
bool register_backend_kernel(const char* backend, const char* domain, const char* op_type, KernelFn fn);
// The host kernel for (domain, op_type), or nullptr.
KernelFn find_kernel(const std::string& domain, const std::string& op_type);
// The kernel of kernel set `backend` for (domain, op_type), or nullptr.
KernelFn find_backend_kernel(const std::string& backend, const std::string& domain, const std::string& op_type);
// What a host kernel may do once when the engine opens the plan, before any request: make from
// the op's constant inputs what it would otherwise make on its first call and keep in op_state()
// (packed GEMM weights), so that no request pays for it. The context holds the op's attributes,
// its constant inputs (input_is_constant), the other inputs whose shape the plan fixes as tensors
// with that shape and data nullptr (input(i) is nullptr for the rest), op_state(), scratch and the
// device's threads; it has no outputs. Called only on the cpu backend (whose memory plan counts these
// copies, plan.json memory.prepared). Registered with FLEETRT_REGISTER_KERNEL_PREPARE.
using PrepareFn = Status (*)(KernelContext& ctx);
bool register_kernel_prepare(const char* domain, const char* op_type, PrepareFn fn);
// The prepare function of host kernel (domain, op_type), or nullptr.
PrepareFn find_kernel_prepare(const std::string& domain, const std::string& op_type);
// Every registered kernel (for `fleetrt --list-kernels` and the compiler's support check).
const std::vector<KernelEntry>& all_kernels();
// Which kernel code runs on this machine: "avx2" (AVX2+FMA found, FLEETRT_PORTABLE unset) or
// "portable". Reported in the metrics so that timings can be compared like for like.
const char* kernel_simd();

#define FLEETRT_CONCAT_INNER(a, b) a##b
#define FLEETRT_CONCAT(a, b) FLEETRT_CONCAT_INNER(a, b)
#define FLEETRT_REGISTER_KERNEL(domain, op_type, fn) \
  static const bool FLEETRT_CONCAT(fleetrt_kernel_reg_, __COUNTER__) = ::fleetrt::register_kernel(domain, op_type, fn)
#define FLEETRT_REGISTER_KERNEL_PREPARE(domain, op_type, fn)                   \
  static const bool FLEETRT_CONCAT(fleetrt_kernel_prep_, __COUNTER__) = \
      ::fleetrt::register_kernel_prepare(domain, op_type, fn)
#define FLEETRT_REGISTER_BACKEND_KERNEL(backend, domain, op_type, fn) \
  static const bool FLEETRT_CONCAT(fleetrt_kernel_reg_, __COUNTER__) =   \
      ::fleetrt::register_backend_kernel(backend, domain, op_type, fn)

}  // namespace fleetrt
