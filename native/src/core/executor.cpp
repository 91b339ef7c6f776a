#include "core/executor.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <cstdlib>
#include <deque>
#include <set>
#include <exception>
#include <cstring>

#include "core/op_prepare.h"
#include "core/tensor_io.h"
#include "engine/backend.h"

namespace fleetrt {

namespace {

// Copies a value whose memory the frame may reuse (arena, weights, inputs); shares owned storage.
Status detach(const Value& v, Value* out) {
  *out = v;
  if (v.kind != Value::Kind::kTensor || v.tensor.storage) return Status::Ok();
  OwnedTensor copy;
  std::string err;
  if (!alloc_owned(v.tensor.view.dtype, v.tensor.view.shape, &copy, &err)) return Status::Error(err);
  if (v.tensor.view.dtype == DType::kString) {
    for (int64_t k = 0; k < copy.view.numel(); ++k) copy.view.as<std::string>()[k] = v.tensor.view.as<std::string>()[k];
  } else if (copy.view.bytes()) {
    std::memcpy(copy.view.data, v.tensor.view.data, copy.view.bytes());
  }
  out->tensor = std::move(copy);
  return Status::Ok();
}

double now_us() {
  using namespace std::chrono;
  return duration<double, std::micro>(steady_clock::now().time_since_epoch()).count();
}

// A slower device (fleetrt --slowdown): it takes FACTOR × the time since its last op was
// accounted, the op and the dispatch around it, so the extra time is waited out here (asleep while
// more than 1.5 ms is left, then spinning); returns the end of the slowed op.
double slow_down(const PassContext* pc, double since_us) {
  double now = now_us();
  if (!pc || !(pc->slowdown > 1)) return now;
  const double until = since_us + (now - since_us) * pc->slowdown;
  for (double left = until - now; left > 0; left = until - now) {
    if (left > 1500) std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(left - 1000)));
    now = now_us();
  }
  return now;
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string o = "[";
  for (size_t i = 0; i < s.size(); ++i) o += (i ? ", " : "") + std::to_string(s[i]);
  return o + "]";
}

uint64_t align64(uint64_t n) { return (n + 63) / 64 * 64; }

// A tensor's runtime state in one frame.
struct Slot {
  Value v;
  bool ready = false;
  // Device executors: a host copy of the tensor, for kernels that read it on the host.
  OwnedTensor host;
  bool has_host = false;
};

bool is_integer(DType t) {
  return t == DType::kI64 || t == DType::kI32 || t == DType::kI16 || t == DType::kI8 || t == DType::kU8 ||
         t == DType::kU16 || t == DType::kU32 || t == DType::kU64 || t == DType::kBool;
}

// Empty tensors get a valid, aligned, never-written pointer.
alignas(64) uint8_t g_empty[64];

}  // namespace

// One activation of a program: the main program once per run, a subgraph once per call.
class Frame {
 public:
  Frame(Executor& ex, int program, Frame* parent, int depth)
      : ex(ex), P(ex.program_), D(P.programs[program]), index(program), parent(parent), depth(depth) {
    own.resize(D.tensors.size());
    slots.resize(D.tensors.size());
    const size_t nsym = P.symbols.size();
    if (parent) {
      symv = parent->symv;
      bound = parent->bound;
      for (uint32_t s : D.local_symbols) bound[s] = 0;
    } else {
      symv.assign(nsym, 0);
      bound.assign(nsym, 0);
    }
    for (size_t t = 0; t < D.tensors.size(); ++t) {
      const TensorDesc& T = D.tensors[t];
      if (T.storage == Storage::kOuter && parent) slots[t] = parent->slots[T.a];
      else slots[t] = &own[t];
    }
  }

  Status error(const std::string& m) const { return Status::Error(m); }
  std::string where_op(int op) const {
    const OpDesc& o = D.ops[op];
    return "op '" + o.name + "' (" + (o.domain.empty() ? "" : o.domain + ".") + o.op_type + ")";
  }

  std::string planned_shape(const TensorDesc& T) const {
    std::string o = "[";
    for (size_t k = 0; k < T.shape.size(); ++k) {
      int64_t v;
      if (k) o += ", ";
      if (P.eval(T.shape[k], symv.data(), bound.data(), &v)) o += std::to_string(v);
      else {
        int64_t s = P.single_symbol(T.shape[k]);
        o += s >= 0 ? P.symbols[s].name : "?";
      }
    }
    return o + "]";
  }

  // Checks `shape` against the compiler's expressions for tensor t, binding unbound symbols.
  Status check_shape(int t, const std::vector<int64_t>& shape, const std::string& who) {
    const TensorDesc& T = D.tensors[t];
    if (T.rank < 0) return Status::Ok();
    if (static_cast<size_t>(T.rank) != shape.size())
      return error(who + " '" + T.name + "' has shape " + shape_str(shape) + " but the plan says " + planned_shape(T));
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t k = 0; k < shape.size(); ++k) {
        int64_t s = P.single_symbol(T.shape[k]);
        if (pass == 0) {
          if (s >= 0 && !bound[s]) {
            bound[s] = 1;
            symv[s] = shape[k];
          }
          continue;
        }
        int64_t v;
        if (P.eval(T.shape[k], symv.data(), bound.data(), &v) && v != shape[k])
          return error(who + " '" + T.name + "' has shape " + shape_str(shape) + " but the plan says " + planned_shape(T));
      }
    }
    return Status::Ok();
  }

  // The planned shape of t, when every expression can be evaluated now.
  bool eval_shape(int t, std::vector<int64_t>* out) const {
    const TensorDesc& T = D.tensors[t];
    if (T.rank < 0) return false;
    out->resize(T.rank);
    for (int k = 0; k < T.rank; ++k)
      if (!P.eval(T.shape[k], symv.data(), bound.data(), &(*out)[k]) || (*out)[k] < 0) return false;
    return true;
  }

  // Allocates output tensor t with `shape` (already checked).
  Status allocate(int t, const std::vector<int64_t>& shape, Tensor** out) {
    const TensorDesc& T = D.tensors[t];
    Slot* s = slots[t];
    if (s->ready) {
      if (s->v.kind == Value::Kind::kTensor && s->v.tensor.view.shape == shape) {
        *out = &s->v.tensor.view;
        return Status::Ok();
      }
      return error("tensor '" + T.name + "' is produced twice");
    }
    if (T.dtype == DType::kUndefined) return error("tensor '" + T.name + "' has no known element type");
    s->v = Value();
    s->has_host = false;
    s->v.kind = Value::Kind::kTensor;
    Tensor& view = s->v.tensor.view;
    if (T.storage == Storage::kArena && !parent && !force_heap && T.dtype != DType::kString) {
      int64_t n = 1;
      for (int64_t d : shape) n *= d;
      uint64_t bytes = dtype_bytes(T.dtype, n);
      if (bytes <= capacity[t]) {
        view.dtype = T.dtype;
        view.shape = shape;
        view.data = bytes ? arena + offsets[t] : g_empty;
        s->ready = true;
        *out = &view;
        return Status::Ok();
      }
    }
    if (ex.device_) {
      Status st = ex.device_alloc(T.dtype, shape, &s->v.tensor);
      if (!st.ok()) return error("allocating '" + T.name + "': " + st.message);
    } else {
      std::string err;
      if (!alloc_owned(T.dtype, shape, &s->v.tensor, &err)) return error("allocating '" + T.name + "': " + err);
    }
    s->ready = true;
    *out = &view;
    return Status::Ok();
  }

  Status set_weight(int t) {
    const TensorDesc& T = D.tensors[t];
    std::vector<int64_t>& shape = shape_scratch;
    if (!eval_shape(t, &shape)) return error("weight '" + T.name + "' has a non-constant shape");
    Slot* s = slots[t];
    s->v = Value();
    s->v.kind = Value::Kind::kTensor;
    Tensor& view = s->v.tensor.view;
    view.dtype = T.dtype;
    view.shape = shape;
    if (T.dtype == DType::kString) {
      if (!T.owned) return error("string weight '" + T.name + "' was not decoded");
      view.data = T.owned.get();
    } else {
      if (view.bytes() != T.b) return error("weight '" + T.name + "' has " + std::to_string(T.b) + " bytes but its shape needs " + std::to_string(view.bytes()));
      view.data = view.bytes() ? const_cast<uint8_t*>(P.weights.data() + T.a) : g_empty;
      if (ex.device_) {
        if (is_integer(T.dtype)) {
          s->host.view = view;  // the mapped weights stay: the host copy is free
          s->has_host = true;
        }
        if (view.bytes()) view.data = static_cast<uint8_t*>(ex.device_weights_.get()) + T.a;
      }
    }
    s->ready = true;
    return Status::Ok();
  }

  // Lays out the arena for this run: the compiler's offsets when every tensor fits, else a
  // re-plan (same intervals, greedy best-fit by size) for the actual sizes.
  Status layout_arena() {
    const size_t nt = D.tensors.size();
    offsets.assign(nt, 0);
    capacity.assign(nt, 0);
    std::vector<uint64_t> need(nt, 0);
    bool fits = true;
    std::vector<int64_t> shape;
    for (size_t t = 0; t < nt; ++t) {
      const TensorDesc& T = D.tensors[t];
      if (T.storage != Storage::kArena) continue;
      if (!eval_shape(static_cast<int>(t), &shape)) continue;  // not knowable yet: heap when produced
      int64_t n = 1;
      for (int64_t d : shape) n *= d;
      need[t] = align64(dtype_bytes(T.dtype, n));
      if (need[t] > T.b) fits = false;
    }
    uint64_t size = D.arena_bytes;
    if (fits) {
      for (size_t t = 0; t < nt; ++t)
        if (D.tensors[t].storage == Storage::kArena) {
          offsets[t] = D.tensors[t].a;
          capacity[t] = D.tensors[t].b;
        }
    } else {
      replanned = true;
      std::vector<int> order;
      for (size_t t = 0; t < nt; ++t)
        if (need[t] > 0) order.push_back(static_cast<int>(t));
      std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
        if (need[x] != need[y]) return need[x] > need[y];
        if (D.tensors[x].first != D.tensors[y].first) return D.tensors[x].first < D.tensors[y].first;
        return x < y;
      });
      std::vector<int> placed;
      size = 0;
      for (int t : order) {
        const TensorDesc& T = D.tensors[t];
        std::vector<int> conflicts;
        for (int q : placed)
          if (!(D.tensors[q].last < T.first || T.last < D.tensors[q].first)) conflicts.push_back(q);
        std::sort(conflicts.begin(), conflicts.end(), [&](int x, int y) { return offsets[x] < offsets[y]; });
        uint64_t prev_end = 0, best = UINT64_MAX, best_gap = UINT64_MAX;
        for (int q : conflicts) {
          if (offsets[q] > prev_end) {
            uint64_t gap = offsets[q] - prev_end;
            if (gap >= need[t] && gap < best_gap) {
              best = prev_end;
              best_gap = gap;
            }
          }
          prev_end = std::max(prev_end, offsets[q] + need[q]);
        }
        offsets[t] = best == UINT64_MAX ? prev_end : best;
        capacity[t] = need[t];
        size = std::max(size, offsets[t] + need[t]);
        placed.push_back(t);
      }
    }
    std::shared_ptr<void>& store = arena_store ? *arena_store : ex.arena_;
    uint64_t& cap = arena_store ? *arena_cap : ex.arena_capacity_;
    if (size > cap) {
      void* p = nullptr;
      Backend* b = &ex.backend_;
      if (!b->allocate(align64(size), &p).ok()) return error("cannot allocate an arena of " + std::to_string(size) + " bytes");
      store = std::shared_ptr<void>(p, [b](void* q) { b->release(q); });
      cap = size;
    }
    arena = static_cast<uint8_t*>(store.get());
    arena_used = size;
    return Status::Ok();
  }

  // Binds the frame's inputs. Graph inputs are checked strictly; subgraph inputs (loop-carried
  // values whose shapes change between iterations) only bind symbols.
  Status bind_inputs(std::vector<Value>& in, bool strict) {
    if (in.size() != D.inputs.size())
      return error("program '" + D.name + "' takes " + std::to_string(D.inputs.size()) + " inputs, got " + std::to_string(in.size()));
    for (size_t i = 0; i < in.size(); ++i) {
      int t = static_cast<int>(D.inputs[i]);
      const TensorDesc& T = D.tensors[t];
      Value& v = in[i];
      if (strict) {
        if (T.value_kind == ValueKind::kTensor && v.kind != Value::Kind::kTensor)
          return error("input '" + T.name + "' must be a tensor");
        if (T.value_kind == ValueKind::kSequence && v.kind != Value::Kind::kSequence)
          return error("input '" + T.name + "' must be a sequence");
      }
      if (v.kind == Value::Kind::kTensor) {
        const Tensor& x = v.tensor.view;
        if (T.dtype != DType::kUndefined && x.dtype != T.dtype && T.value_kind == ValueKind::kTensor)
          return error("input '" + T.name + "' must be " + dtype_name(T.dtype) + ", got " + dtype_name(x.dtype));
        if (strict) {
          FLEETRT_RETURN_IF_ERROR(check_shape(t, x.shape, "input"));
        } else if (T.rank >= 0 && static_cast<size_t>(T.rank) == x.shape.size()) {
          for (size_t k = 0; k < x.shape.size(); ++k) {
            int64_t s = P.single_symbol(T.shape[k]);
            if (s >= 0 && !bound[s]) {
              bound[s] = 1;
              symv[s] = x.shape[k];
            }
          }
        }
      }
      if (ex.device_ && strict) {
        FLEETRT_RETURN_IF_ERROR(ex.upload(v, &slots[t]->v));
        slots[t]->has_host = v.kind == Value::Kind::kTensor && is_integer(v.tensor.view.dtype);
        if (slots[t]->has_host) slots[t]->host = std::move(v.tensor);
      } else {
        slots[t]->v = std::move(v);
      }
      slots[t]->ready = true;
    }
    return Status::Ok();
  }

  Status execute();

  Executor& ex;
  const Program& P;
  const ProgramDesc& D;
  int index;
  Frame* parent;
  int depth;
  std::vector<Slot> own;
  std::vector<Slot*> slots;
  std::vector<int64_t> symv;
  std::vector<uint8_t> bound;
  // A planned shape being evaluated (weights, outputs sized by the plan): one buffer for the
  // frame rather than a vector per op.
  std::vector<int64_t> shape_scratch;
  uint8_t* arena = nullptr;
  std::vector<uint64_t> offsets, capacity;
  uint64_t arena_used = 0;
  bool replanned = false;
  // A request's own arena (several requests in flight on one executor); null: the executor's.
  std::shared_ptr<void>* arena_store = nullptr;
  uint64_t* arena_cap = nullptr;
  // Set while an op runs ahead of schedule order: its outputs must not take planned arena space
  // that an earlier, still pending op's tensors may be using.
  bool force_heap = false;

  // Readiness-driven execution (multi-device): per op, inputs not yet available; per tensor, the
  // ops that read it and the reads still to come.
  std::vector<int> missing;
  std::vector<std::vector<int>> readers;
  std::vector<int> uses_left;
  std::vector<uint8_t> executed, is_output, is_sent;
  std::vector<std::vector<int>> implicit_inputs;  // per op: tensors its subgraphs read
  std::set<int> ready;
  int frontier = 0, executed_count = 0;

  // Ops whose time the device measures (marks resolved after synchronize()).
  struct TimedOp {
    int op, mark0, mark1;
    double host_start;
  };
  std::vector<TimedOp> timed;

  bool host_timed = false;  // the last op run was timed on the host (its time is accounted by the caller)

  Status run_op(int o);
  void record_time(const PassContext& pc, int o, double start, double dur, bool account);
  void collect_device_times(const PassContext& pc);
  void init_readiness();
  void became_ready(int t);
  void release_after(int o);
};

class OpContext final : public KernelContext {
 public:
  OpContext(Frame& f, int op) : f_(f), op_(op), d_(f.D.ops[op]) {}

  const std::string& op_type() const override { return d_.op_type; }
  const std::string& op_name() const override { return d_.name; }
  int opset() const override { return d_.opset; }
  const Attributes& attrs() const override { return d_.attrs; }

  int num_inputs() const override { return static_cast<int>(d_.inputs.size()); }
  const Value* input_value(int i) const override {
    if (i < 0 || i >= num_inputs() || d_.inputs[i] < 0) return nullptr;
    const Slot* s = f_.slots[d_.inputs[i]];
    return s->ready ? &s->v : nullptr;
  }
  const Tensor* input(int i) const override {
    const Value* v = input_value(i);
    return v && v->kind == Value::Kind::kTensor ? &v->tensor.view : nullptr;
  }

  int num_outputs() const override { return static_cast<int>(d_.outputs.size()); }

  Tensor* output(int i) override {
    if (i < 0 || i >= num_outputs() || d_.outputs[i] < 0) return nullptr;
    int t = d_.outputs[i];
    std::vector<int64_t>& shape = f_.shape_scratch;
    if (!f_.eval_shape(t, &shape)) return nullptr;
    Tensor* out = nullptr;
    Status s = f_.allocate(t, shape, &out);
    if (!s.ok()) {
      if (deferred_.ok()) deferred_ = s;
      return nullptr;
    }
    return out;
  }

  Status output(int i, const std::vector<int64_t>& shape, Tensor** out) override {
    *out = nullptr;
    if (i < 0 || i >= num_outputs()) return Status::Error("output index " + std::to_string(i) + " out of range");
    int t = d_.outputs[i];
    if (t < 0) {
      // The model does not use this output; give the kernel scratch memory to write into, sized
      // for the widest element type since the plan has no type for it.
      discard_.emplace_back();
      OwnedTensor& o = discard_.back();
      std::string err;
      int64_t n = 1;
      for (int64_t d : shape) n *= d < 0 ? 0 : d;
      if (!alloc_owned(DType::kC128, {n}, &o, &err)) return Status::Error(err);
      o.view.shape = shape;
      o.view.dtype = DType::kUndefined;
      *out = &o.view;
      return Status::Ok();
    }
    for (int64_t d : shape)
      if (d < 0) return Status::Error("output " + std::to_string(i) + " has negative dimension " + std::to_string(d));
    FLEETRT_RETURN_IF_ERROR(f_.check_shape(t, shape, "output " + std::to_string(i)));
    return f_.allocate(t, shape, out);
  }

  Status set_output_value(int i, Value v) override {
    if (i < 0 || i >= num_outputs()) return Status::Error("output index " + std::to_string(i) + " out of range");
    int t = d_.outputs[i];
    if (t < 0) return Status::Ok();
    const TensorDesc& T = f_.D.tensors[t];
    if (v.kind == Value::Kind::kTensor) {
      if (T.dtype != DType::kUndefined && v.tensor.view.dtype != T.dtype && T.value_kind == ValueKind::kTensor)
        return Status::Error("output " + std::to_string(i) + " '" + T.name + "' must be " + dtype_name(T.dtype) + ", kernel gave " +
                             dtype_name(v.tensor.view.dtype));
      if (T.value_kind == ValueKind::kTensor)
        FLEETRT_RETURN_IF_ERROR(f_.check_shape(t, v.tensor.view.shape, "output " + std::to_string(i)));
      if (!v.tensor.storage && v.tensor.view.data) {
        // A view of memory the kernel does not own (an input, a weight): copy it.
        Value owned;
        FLEETRT_RETURN_IF_ERROR(f_.ex.own_copy(v, &owned));
        v = std::move(owned);
      }
    }
    Slot* s = f_.slots[t];
    s->v = std::move(v);
    s->ready = true;
    return Status::Ok();
  }

  void* scratch(size_t bytes) override {
    size_t rounded = align64(bytes ? bytes : 1);
    if (f_.ex.device_) {
      Backend* b = &f_.ex.backend_;
      void* p = nullptr;
      if (!b->allocate(rounded, &p).ok()) return nullptr;
      scratch_.emplace_back(p, [b](void* q) { b->release(q); });
      return p;
    }
    void* p = std::aligned_alloc(64, rounded);
    if (p) scratch_.emplace_back(p, [](void* q) { std::free(q); });
    return p;
  }

  Status allocate(DType dtype, const std::vector<int64_t>& shape, OwnedTensor* out) override {
    if (f_.ex.device_) return f_.ex.device_alloc(dtype, shape, out);
    std::string err;
    if (!alloc_owned(dtype, shape, out, &err)) return Status::Error(err);
    return Status::Ok();
  }

  int num_threads() const override { return f_.ex.pool_.size(); }
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) override {
    f_.ex.pool_.parallel_for(n, grain, fn);
  }

  Status run_subgraph(int graph, const std::vector<const Value*>& inputs, std::vector<Value>* outputs) override {
    const Program& P = f_.P;
    if (graph <= 0 || graph >= static_cast<int>(P.programs.size()) || P.programs[graph].parent != f_.index)
      return Status::Error("subgraph " + std::to_string(graph) + " does not belong to this op");
    if (f_.depth > 64) return Status::Error("subgraphs nest too deeply");
    Frame sub(f_.ex, graph, &f_, f_.depth + 1);
    std::vector<Value> in;
    in.reserve(inputs.size());
    for (const Value* v : inputs) {
      if (!v) return Status::Error("subgraph input is null");
      in.push_back(*v);  // shares storage
    }
    FLEETRT_RETURN_IF_ERROR(sub.bind_inputs(in, false));
    Status st = sub.execute();
    if (!st.ok()) return Status::Error("in subgraph '" + sub.D.name + "': " + st.message);
    outputs->clear();
    for (uint32_t t : sub.D.outputs) {
      Slot* s = sub.slots[t];
      if (!s->ready) return Status::Error("subgraph '" + sub.D.name + "' did not produce output '" + sub.D.tensors[t].name + "'");
      Value v;
      FLEETRT_RETURN_IF_ERROR(f_.ex.own_copy(s->v, &v));
      outputs->push_back(std::move(v));
    }
    return Status::Ok();
  }

  StepState* step_state() override { return f_.ex.pc_ ? f_.ex.pc_->step : nullptr; }

  bool input_is_constant(int i) const override {
    return i >= 0 && i < num_inputs() && d_.inputs[i] >= 0 && f_.D.tensors[d_.inputs[i]].storage == Storage::kWeight;
  }
  std::shared_ptr<void>* op_state() override { return &const_cast<OpDesc&>(d_).state; }

  void* device_context() override { return f_.ex.backend_.kernel_context(); }

  const Tensor* host_input(int i) override {
    const Tensor* x = input(i);
    if (!x || !f_.ex.device_) return x;
    Slot* s = f_.slots[d_.inputs[i]];
    if (!s->has_host) {
      std::string err;
      if (!alloc_owned(x->dtype, x->shape, &s->host, &err)) return nullptr;
      if (x->bytes() && !f_.ex.backend_.copy_to_host(s->host.view.data, x->data, x->bytes()).ok()) return nullptr;
      s->has_host = true;
    }
    return &s->host.view;
  }

  void set_host_copy(int i, const Tensor& host) override {
    if (!f_.ex.device_ || i < 0 || i >= num_outputs() || d_.outputs[i] < 0) return;
    Slot* s = f_.slots[d_.outputs[i]];
    std::string err;
    if (!alloc_owned(host.dtype, host.shape, &s->host, &err)) return;
    if (host.bytes()) std::memcpy(s->host.view.data, host.data, host.bytes());
    s->has_host = true;
  }

  Status deferred() const { return deferred_; }

 private:
  Frame& f_;
  int op_;
  const OpDesc& d_;
  std::vector<std::shared_ptr<void>> scratch_;
  std::deque<OwnedTensor> discard_;  // stable addresses
  Status deferred_;
};

Status Frame::run_op(int o) {
  const OpDesc& op = D.ops[o];
  const PassContext* pc = ex.pc_;
  double start = now_us();
  // Device-timed backends: the op's time is read from the device's marks when the pass ends.
  const int mark0 = pc && pc->stats ? ex.backend_.mark() : -1;
  host_timed = mark0 < 0;
  Status st;
  {
    OpContext ctx(*this, o);
    // Kernels must not throw; a stray exception (bad_alloc, a bug) still becomes an error.
    try {
      st = op.fn(ctx);
    } catch (const std::exception& e) {
      st = Status::Error(std::string("kernel threw: ") + e.what());
    } catch (...) {
      st = Status::Error("kernel threw an exception");
    }
    if (st.ok()) st = ctx.deferred();
  }
  double dur = now_us() - start;
  // the trace shows the slowed device's time (slow_down waits it out where the op is accounted)
  if (pc && pc->slowdown > 1) dur *= pc->slowdown;
  if (mark0 >= 0) {
    const int mark1 = ex.backend_.mark();
    if (mark1 >= 0) timed.push_back(TimedOp{o, mark0, mark1, start});
    else ex.backend_.release_mark(mark0);
  }
  if (!st.ok()) return error(where_op(o) + ": " + st.message);
  for (size_t i = 0; i < op.outputs.size(); ++i) {
    int t = op.outputs[i];
    if (t >= 0 && !slots[t]->ready)
      return error(where_op(o) + ": the kernel did not produce output " + std::to_string(i) + " '" + D.tensors[t].name + "'");
  }
  if (pc && pc->stats) {
    // Host-timed: the caller accounts the op with the executor's work around it; else the op's
    // time comes from the device's marks when the pass ends.
    if (mark0 < 0) record_time(*pc, o, start, dur, false);
    ExecStats& stats = *pc->stats;
    if (!parent && static_cast<size_t>(o) < stats.op_rows.size() && !op.inputs.empty() && op.inputs[0] >= 0) {
      const Value& in = slots[op.inputs[0]]->v;
      if (in.kind == Value::Kind::kTensor && !in.tensor.view.shape.empty()) stats.op_rows[o] += in.tensor.view.shape[0];
    }
  }
  return Status::Ok();
}

void Frame::record_time(const PassContext& pc, int o, double start, double dur, bool account) {
  ExecStats& stats = *pc.stats;
  if (pc.trace && stats.events.size() < ExecStats::kMaxEvents) stats.events.push_back(OpEvent{pc.pass, index, o, depth, start - pc.t0_us, dur});
  if (account && !parent) stats.account(o, pc.pass, dur);
}

// After the device has finished the pass's work: op times from the device's marks (the event's
// start is when the host queued the op).
void Frame::collect_device_times(const PassContext& pc) {
  for (const TimedOp& t : timed) {
    if (pc.stats) record_time(pc, t.op, t.host_start, ex.backend_.elapsed_us(t.mark0, t.mark1), true);
    ex.backend_.release_mark(t.mark0);
    ex.backend_.release_mark(t.mark1);
  }
  timed.clear();
}

Status Frame::execute() {
  for (size_t t = 0; t < D.tensors.size(); ++t)
    if (D.tensors[t].storage == Storage::kWeight) FLEETRT_RETURN_IF_ERROR(set_weight(static_cast<int>(t)));
  const PassContext* pc = ex.pc_;
  double prev = now_us();
  for (size_t o = 0; o < D.ops.size(); ++o) {
    const OpDesc& op = D.ops[o];
    for (size_t i = 0; i < op.inputs.size(); ++i) {
      int t = op.inputs[i];
      if (t >= 0 && !slots[t]->ready && D.tensors[t].storage != Storage::kNone)
        return error(where_op(static_cast<int>(o)) + ": input " + std::to_string(i) + " '" + D.tensors[t].name +
                     "' is not available (never produced, or freed too early)");
    }
    FLEETRT_RETURN_IF_ERROR(run_op(static_cast<int>(o)));
    for (int t : ex.frees_[index][o]) {
      Slot* s = slots[t];
      s->v = Value();
      s->ready = false;
      s->has_host = false;
      s->host = OwnedTensor();
    }
    if (!parent && pc && pc->stats && host_timed) {
      const double end = slow_down(pc, prev);
      pc->stats->account(static_cast<int>(o), pc->pass, end - prev);
      prev = end;
    }
  }
  return Status::Ok();
}

void Frame::init_readiness() {
  const size_t nt = D.tensors.size(), no = D.ops.size();
  missing.assign(no, 0);
  readers.assign(nt, {});
  uses_left.assign(nt, 0);
  executed.assign(no, 0);
  is_output.assign(nt, 0);
  is_sent.assign(nt, 0);
  for (uint32_t t : D.outputs) is_output[t] = 1;
  for (const ChannelEndpoint& c : D.channels)
    if (c.direction == 0) is_sent[c.tensor] = 1;
  // Subgraphs (If/Loop/Scan bodies) read tensors of this program implicitly, through outer
  // references: those count as inputs of the op that owns the subgraph.
  std::vector<std::vector<int>> implicit(no);
  {
    const auto& progs = P.programs;
    std::vector<std::pair<int, int>> owner(progs.size(), {-1, -1});  // program → (program, op) owning it
    for (size_t pi = 0; pi < progs.size(); ++pi)
      for (size_t o = 0; o < progs[pi].ops.size(); ++o)
        for (const auto& kv : progs[pi].ops[o].attrs.items) {
          if (kv.second.kind == Attribute::Kind::kGraph && kv.second.graph > 0) owner[kv.second.graph] = {static_cast<int>(pi), static_cast<int>(o)};
          for (int g : kv.second.graphs)
            if (g > 0) owner[g] = {static_cast<int>(pi), static_cast<int>(o)};
        }
    for (size_t pi = 1; pi < progs.size(); ++pi)
      for (const TensorDesc& T : progs[pi].tensors) {
        if (T.storage != Storage::kOuter) continue;
        int prog = static_cast<int>(pi), t = static_cast<int>(T.a);
        int top = prog;  // the main program's child on the chain
        prog = progs[prog].parent;
        while (prog > 0 && t >= 0 && progs[prog].tensors[t].storage == Storage::kOuter) {
          top = prog;
          t = static_cast<int>(progs[prog].tensors[t].a);
          prog = progs[prog].parent;
        }
        while (top > 0 && progs[top].parent > 0) top = progs[top].parent;
        if (prog != 0 || top <= 0 || owner[top].first != 0 || t < 0 || t >= static_cast<int>(nt)) continue;
        implicit[owner[top].second].push_back(t);
      }
  }
  for (size_t o = 0; o < no; ++o) {
    std::set<int> seen;
    std::vector<int> all(D.ops[o].inputs.begin(), D.ops[o].inputs.end());
    all.insert(all.end(), implicit[o].begin(), implicit[o].end());
    implicit_inputs.push_back(implicit[o]);
    for (int t : all) {
      if (t < 0 || D.tensors[t].storage == Storage::kNone) continue;
      if (!seen.insert(t).second) continue;
      ++uses_left[t];
      readers[t].push_back(static_cast<int>(o));
      if (!slots[t]->ready) ++missing[o];
    }
  }
  for (size_t o = 0; o < no; ++o)
    if (missing[o] == 0) ready.insert(static_cast<int>(o));
}

void Frame::became_ready(int t) {
  for (int o : readers[t])
    if (--missing[o] == 0 && !executed[o]) ready.insert(o);
}

// Releases what op o was the last reader of (counted reads, so ops running out of order are safe).
void Frame::release_after(int o) {
  std::set<int> seen;
  std::vector<int> all(D.ops[o].inputs.begin(), D.ops[o].inputs.end());
  all.insert(all.end(), implicit_inputs[o].begin(), implicit_inputs[o].end());
  for (int t : all) {
    if (t < 0 || D.tensors[t].storage == Storage::kNone || !seen.insert(t).second) continue;
    if (--uses_left[t] > 0 || is_output[t]) continue;
    const Storage st = D.tensors[t].storage;
    if (st == Storage::kDynamic || st == Storage::kArena || st == Storage::kChannel) {
      slots[t]->v = Value();
      slots[t]->ready = false;
      slots[t]->has_host = false;
      slots[t]->host = OwnedTensor();
    }
  }
}

Executor::Executor(const Program& program, ThreadPool& pool, Backend& backend)
    : program_(program), pool_(pool), backend_(backend) {}
Executor::~Executor() = default;

Status Executor::prepare() {
  device_ = !backend_.host_visible();
  if (device_ && program_.weights.size() && !device_weights_) {
    void* p = nullptr;
    Backend* b = &backend_;
    FLEETRT_RETURN_IF_ERROR(b->allocate(program_.weights.size(), &p));
    device_weights_ = std::shared_ptr<void>(p, [b](void* q) { b->release(q); });
    FLEETRT_RETURN_IF_ERROR(b->copy_to_device(p, program_.weights.data(), program_.weights.size()));
  }
  frees_.assign(program_.programs.size(), {});
  for (size_t p = 0; p < program_.programs.size(); ++p) {
    ProgramDesc& D = const_cast<ProgramDesc&>(program_.programs[p]);
    for (OpDesc& op : D.ops) {
      op.fn = backend_.find_kernel(op.domain, op.op_type);
      if (!op.fn)
        return Status::Error("no " + std::string(backend_.kernel_set()) + " kernel for op '" + op.name + "' (" +
                             (op.domain.empty() ? "ai.onnx" : op.domain) + "." + op.op_type + ", opset " +
                             std::to_string(op.opset) + ")");
    }
    // The cpu backend's kernels make their copies of constant weights (packed GEMM panels) now,
    // before any request (the memory plan counts them: plan.json memory.prepared).
    if (std::string(backend_.name()) == "cpu") FLEETRT_RETURN_IF_ERROR(prepare_constant_inputs(program_, D, pool_));
    frees_[p].assign(D.ops.size(), {});
    std::vector<bool> is_output(D.tensors.size(), false);
    for (uint32_t t : D.outputs) is_output[t] = true;
    for (size_t t = 0; t < D.tensors.size(); ++t) {
      const TensorDesc& T = D.tensors[t];
      if ((T.storage == Storage::kDynamic || T.storage == Storage::kArena) && !is_output[t] && T.last >= 0 &&
          T.last < static_cast<int32_t>(D.ops.size()))
        frees_[p][T.last].push_back(static_cast<int>(t));
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Device memory (backends whose memory the host cannot read)

Status Executor::device_alloc(DType dtype, const std::vector<int64_t>& shape, OwnedTensor* out) {
  if (dtype == DType::kString) return Status::Error("string tensors cannot live in " + std::string(backend_.name()) + " memory");
  out->view.dtype = dtype;
  out->view.shape = shape;
  const size_t bytes = out->view.bytes();
  if (!bytes) {
    out->view.data = g_empty;
    out->storage.reset();
    return Status::Ok();
  }
  void* p = nullptr;
  Backend* b = &backend_;
  FLEETRT_RETURN_IF_ERROR(b->allocate(bytes, &p));
  out->storage = std::shared_ptr<void>(p, [b](void* q) { b->release(q); });
  out->view.data = p;
  return Status::Ok();
}

Status Executor::upload(const Value& host, Value* out) {
  if (host.kind == Value::Kind::kOptionalNone) {
    *out = host;
    return Status::Ok();
  }
  if (host.kind != Value::Kind::kTensor)
    return Status::Error("sequences cannot be moved into " + std::string(backend_.name()) + " memory");
  *out = Value();
  out->kind = Value::Kind::kTensor;
  FLEETRT_RETURN_IF_ERROR(device_alloc(host.tensor.view.dtype, host.tensor.view.shape, &out->tensor));
  const size_t n = host.tensor.view.bytes();
  return n ? backend_.copy_to_device(out->tensor.view.data, host.tensor.view.data, n) : Status::Ok();
}

Status Executor::to_host(const Value& v, Value* out) {
  if (!device_ || v.kind != Value::Kind::kTensor) return detach(v, out);
  *out = Value();
  out->kind = Value::Kind::kTensor;
  std::string err;
  if (!alloc_owned(v.tensor.view.dtype, v.tensor.view.shape, &out->tensor, &err)) return Status::Error(err);
  const size_t n = v.tensor.view.bytes();
  return n ? backend_.copy_to_host(out->tensor.view.data, v.tensor.view.data, n) : Status::Ok();
}

Status Executor::own_copy(const Value& v, Value* out) {
  if (!device_ || v.kind != Value::Kind::kTensor) return detach(v, out);
  *out = Value();
  out->kind = Value::Kind::kTensor;
  FLEETRT_RETURN_IF_ERROR(device_alloc(v.tensor.view.dtype, v.tensor.view.shape, &out->tensor));
  const size_t n = v.tensor.view.bytes();
  return n ? backend_.copy_on_device(out->tensor.view.data, v.tensor.view.data, n) : Status::Ok();
}

Status Executor::run(std::vector<Value> inputs, std::vector<Value>* outputs, const PassContext& pc) {
  pc_ = &pc;
  struct Reset {
    const PassContext*& p;
    ~Reset() { p = nullptr; }
  } reset{pc_};
  if (pc.stats) pc.stats->op_us.resize(program_.programs[0].ops.size(), 0.0);
  if (pc.stats) pc.stats->op_rows.resize(program_.programs[0].ops.size(), 0);
  if (pc.stats) pc.stats->op_samples.resize(program_.programs[0].ops.size());
  Frame main(*this, 0, nullptr, 0);
  {
    Status st = main.bind_inputs(inputs, true);
    if (!st.ok()) return Status{kStatusBadInput, st.message};
  }
  FLEETRT_RETURN_IF_ERROR(main.layout_arena());
  FLEETRT_RETURN_IF_ERROR(main.execute());
  if (device_) {
    FLEETRT_RETURN_IF_ERROR(backend_.synchronize());
    main.collect_device_times(pc);
  }
  outputs->clear();
  for (uint32_t t : main.D.outputs) {
    Slot* s = main.slots[t];
    if (!s->ready) return Status::Error("output '" + main.D.tensors[t].name + "' was not produced");
    if (device_) {
      Value v;
      FLEETRT_RETURN_IF_ERROR(to_host(s->v, &v));
      outputs->push_back(std::move(v));
    } else {
      outputs->push_back(s->v);
    }
  }
  if (pc.stats) {
    pc.stats->arena_bytes = std::max(pc.stats->arena_bytes, main.arena_used);
    pc.stats->replanned = pc.stats->replanned || main.replanned;
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Readiness-driven requests

class RequestImpl final : public Request {
 public:
  RequestImpl(Executor& ex, const PassContext& pc) : id(pc.pass), frame(ex, 0, nullptr, 0), pc(pc) {
    frame.arena_store = &arena;
    frame.arena_cap = &arena_cap;
  }
  bool done() const override {
    const int n = static_cast<int>(frame.D.ops.size());
    for (uint32_t t : frame.D.outputs)
      if (!frame.slots[t]->ready) return false;
    if (frame.executed_count < n) {
      const Executor& ex = frame.ex;
      if (frame.executed_count + ex.floating_count_ < n) return false;
      // Floating ops not run here: another device's, or nobody's yet (a device that needs their values takes them).
      for (int q = 0; q < n; ++q)
        if (!frame.executed[q] && (ex.floating_[q] < 0 || ex.claim_(id, q, Executor::kClaimPeek))) return false;
    }
    return true;
  }
  int request_id() const override { return id; }

  int id;
  std::shared_ptr<void> arena;
  uint64_t arena_cap = 0;
  Frame frame;
  PassContext pc;
};

namespace {
Status send_if_needed(Frame& f, int t, const SendFn& send) {
  if (!f.is_sent[t]) return Status::Ok();
  for (size_t k = 0; k < f.D.channels.size(); ++k) {
    const ChannelEndpoint& c = f.D.channels[k];
    if (c.direction != 0 || static_cast<int>(c.tensor) != t) continue;
    Value v;
    // A device value with a host copy (shapes, token ids) leaves without a copy back.
    const Slot* s = f.slots[t];
    if (f.ex.host_memory()) {
      // Host memory: the sender copies what it sends (Executor::to_host), so that a value it
      // decides not to send (a floating op's, engine/floating.h) costs nothing.
      FLEETRT_RETURN_IF_ERROR(send(static_cast<uint32_t>(k), s->v));
      continue;
    }
    if (s->has_host) {
      v.kind = Value::Kind::kTensor;
      FLEETRT_RETURN_IF_ERROR(detach(Value{Value::Kind::kTensor, s->host, {}, DType::kUndefined}, &v));
    } else {
      FLEETRT_RETURN_IF_ERROR(f.ex.to_host(s->v, &v));
    }
    FLEETRT_RETURN_IF_ERROR(send(static_cast<uint32_t>(k), v));
  }
  return Status::Ok();
}
}  // namespace

uint64_t Executor::arena_bytes(const Request& r) { return static_cast<const RequestImpl&>(r).arena_cap; }

Status Executor::begin(std::vector<Value> inputs, const PassContext& pc, const SendFn& send, std::unique_ptr<Request>* out,
                       const std::map<std::string, int64_t>* known) {
  auto r = std::make_unique<RequestImpl>(*this, pc);
  if (pc.stats) pc.stats->op_us.resize(program_.programs[0].ops.size(), 0.0);
  if (pc.stats) pc.stats->op_rows.resize(program_.programs[0].ops.size(), 0);
  if (pc.stats) pc.stats->op_samples.resize(program_.programs[0].ops.size());
  Frame& f = r->frame;
  if (known)
    for (size_t k = 0; k < program_.symbols.size(); ++k) {
      auto it = known->find(program_.symbols[k].name);
      if (it != known->end() && program_.symbols[k].kind == 0) {
        f.bound[k] = 1;
        f.symv[k] = it->second;
      }
    }
  {
    Status st = f.bind_inputs(inputs, true);
    if (!st.ok()) return Status{kStatusBadInput, st.message};
  }
  FLEETRT_RETURN_IF_ERROR(f.layout_arena());
  for (size_t t = 0; t < f.D.tensors.size(); ++t)
    if (f.D.tensors[t].storage == Storage::kWeight) FLEETRT_RETURN_IF_ERROR(f.set_weight(static_cast<int>(t)));
  f.init_readiness();
  for (uint32_t t : f.D.inputs) FLEETRT_RETURN_IF_ERROR(send_if_needed(f, static_cast<int>(t), send));
  *out = std::move(r);
  return Status::Ok();
}

Status Executor::deliver(Request& req, uint32_t endpoint, Value v, const SendFn& send) {
  Frame& f = static_cast<RequestImpl&>(req).frame;
  if (endpoint >= f.D.channels.size() || f.D.channels[endpoint].direction != 1)
    return Status::Error("a message arrived for endpoint " + std::to_string(endpoint) + ", which does not receive");
  const int t = static_cast<int>(f.D.channels[endpoint].tensor);
  const TensorDesc& T = f.D.tensors[t];
  if (f.slots[t]->ready) return Status::Error("tensor '" + T.name + "' arrived twice");
  if (v.kind == Value::Kind::kTensor) {
    if (T.dtype != DType::kUndefined && v.tensor.view.dtype != T.dtype)
      return Status::Error("received '" + T.name + "' as " + dtype_name(v.tensor.view.dtype) + ", the program expects " + dtype_name(T.dtype));
    FLEETRT_RETURN_IF_ERROR(f.check_shape(t, v.tensor.view.shape, "received tensor"));
  }
  if (device_) {
    FLEETRT_RETURN_IF_ERROR(upload(v, &f.slots[t]->v));
    f.slots[t]->has_host = v.kind == Value::Kind::kTensor && is_integer(v.tensor.view.dtype);
    if (f.slots[t]->has_host) f.slots[t]->host = std::move(v.tensor);
  } else {
    f.slots[t]->v = std::move(v);
  }
  f.slots[t]->ready = true;
  f.became_ready(t);
  return send_if_needed(f, t, send);
}

void Executor::resume() { since_us_ = now_us(); }

Status Executor::step(Request& req, bool* ran, const SendFn& send) {
  RequestImpl& r = static_cast<RequestImpl&>(req);
  Frame& f = r.frame;
  *ran = false;
  if (f.ready.empty()) return Status::Ok();
  const double t0 = since_us_ >= 0 ? since_us_ : now_us();
  int o = *f.ready.begin();
  f.ready.erase(f.ready.begin());
  while (static_cast<size_t>(o) < floating_.size() && floating_[o] >= 0 && !claim_(r.id, o, kClaimRun)) {
    // Another device runs this floating op; its outputs arrive like received values.
    *ran = true;
    f.executed[o] = 1;
    ++f.executed_count;
    while (f.frontier < static_cast<int>(f.D.ops.size()) && f.executed[f.frontier]) ++f.frontier;
    f.release_after(o);
    if (f.ready.empty()) return Status::Ok();
    o = *f.ready.begin();
    f.ready.erase(f.ready.begin());
  }
  pc_ = &r.pc;
  f.force_heap = o != f.frontier;
  Status st = f.run_op(o);
  f.force_heap = false;
  pc_ = nullptr;
  if (!st.ok()) return st;
  *ran = true;
  f.executed[o] = 1;
  ++f.executed_count;
  while (f.frontier < static_cast<int>(f.D.ops.size()) && f.executed[f.frontier]) ++f.frontier;
  for (int t : f.D.ops[o].outputs) {
    if (t < 0) continue;
    f.became_ready(t);
    // A floating op whose last input this device just made is this device's (claimed before
    // the input leaves, so that it does not travel to another device and back).
    if (!floating_.empty())
      for (int q : f.readers[t])
        if (floating_[q] >= 0 && f.missing[q] == 0 && !f.executed[q]) claim_(r.id, q, kClaimEarly);
    FLEETRT_RETURN_IF_ERROR(send_if_needed(f, t, send));
  }
  f.release_after(o);
  if (r.pc.stats && f.host_timed) {
    since_us_ = slow_down(&r.pc, t0);
    r.pc.stats->account(o, r.pc.pass, since_us_ - t0);
  }
  return Status::Ok();
}

Status Executor::finish(Request& req, std::vector<Value>* outputs) {
  RequestImpl& r = static_cast<RequestImpl&>(req);
  Frame& f = r.frame;
  if (device_) {
    FLEETRT_RETURN_IF_ERROR(backend_.synchronize());
    f.collect_device_times(r.pc);
  }
  outputs->clear();
  for (uint32_t t : f.D.outputs) {
    Slot* s = f.slots[t];
    if (!s->ready) return Status::Error("output '" + f.D.tensors[t].name + "' was not produced");
    Value v;
    FLEETRT_RETURN_IF_ERROR(to_host(s->v, &v));  // the request's arena goes away with it
    outputs->push_back(std::move(v));
  }
  if (r.pc.stats) {
    r.pc.stats->arena_bytes = std::max(r.pc.stats->arena_bytes, f.arena_used);
    r.pc.stats->replanned = r.pc.stats->replanned || f.replanned;
  }
  return Status::Ok();
}

}  // namespace fleetrt
