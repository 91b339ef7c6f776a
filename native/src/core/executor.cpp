#include "core/executor.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <exception>
#include <cstring>

#include "core/tensor_io.h"

namespace fleetrt {

namespace {

double now_us() {
  using namespace std::chrono;
  return duration<double, std::micro>(steady_clock::now().time_since_epoch()).count();
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
};

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
    s->v.kind = Value::Kind::kTensor;
    Tensor& view = s->v.tensor.view;
    if (T.storage == Storage::kArena && !parent && T.dtype != DType::kString) {
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
    std::string err;
    if (!alloc_owned(T.dtype, shape, &s->v.tensor, &err)) return error("allocating '" + T.name + "': " + err);
    s->ready = true;
    *out = &view;
    return Status::Ok();
  }

  Status set_weight(int t) {
    const TensorDesc& T = D.tensors[t];
    std::vector<int64_t> shape;
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
    if (size > ex.arena_capacity_) {
      void* p = std::aligned_alloc(64, align64(size));
      if (!p) return error("cannot allocate an arena of " + std::to_string(size) + " bytes");
      ex.arena_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
      ex.arena_capacity_ = size;
    }
    arena = static_cast<uint8_t*>(ex.arena_.get());
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
      slots[t]->v = std::move(v);
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
  uint8_t* arena = nullptr;
  std::vector<uint64_t> offsets, capacity;
  uint64_t arena_used = 0;
  bool replanned = false;
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
    std::vector<int64_t> shape;
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
        OwnedTensor copy;
        std::string err;
        if (!alloc_owned(v.tensor.view.dtype, v.tensor.view.shape, &copy, &err)) return Status::Error(err);
        if (v.tensor.view.dtype == DType::kString) {
          for (int64_t k = 0; k < copy.view.numel(); ++k) copy.view.as<std::string>()[k] = v.tensor.view.as<std::string>()[k];
        } else if (copy.view.bytes()) {
          std::memcpy(copy.view.data, v.tensor.view.data, copy.view.bytes());
        }
        v.tensor = std::move(copy);
      }
    }
    Slot* s = f_.slots[t];
    s->v = std::move(v);
    s->ready = true;
    return Status::Ok();
  }

  void* scratch(size_t bytes) override {
    size_t rounded = align64(bytes ? bytes : 1);
    void* p = std::aligned_alloc(64, rounded);
    if (p) scratch_.emplace_back(p, [](void* q) { std::free(q); });
    return p;
  }

  Status allocate(DType dtype, const std::vector<int64_t>& shape, OwnedTensor* out) override {
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
      Value v = s->v;
      if (v.kind == Value::Kind::kTensor && !v.tensor.storage) {
        OwnedTensor copy;
        std::string err;
        if (!alloc_owned(v.tensor.view.dtype, v.tensor.view.shape, &copy, &err)) return Status::Error(err);
        if (v.tensor.view.dtype == DType::kString) {
          for (int64_t k = 0; k < copy.view.numel(); ++k) copy.view.as<std::string>()[k] = v.tensor.view.as<std::string>()[k];
        } else if (copy.view.bytes()) {
          std::memcpy(copy.view.data, v.tensor.view.data, copy.view.bytes());
        }
        v.tensor = std::move(copy);
      }
      outputs->push_back(std::move(v));
    }
    return Status::Ok();
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

Status Frame::execute() {
  for (size_t t = 0; t < D.tensors.size(); ++t)
    if (D.tensors[t].storage == Storage::kWeight) FLEETRT_RETURN_IF_ERROR(set_weight(static_cast<int>(t)));
  RunStats* stats = ex.stats_;
  for (size_t o = 0; o < D.ops.size(); ++o) {
    const OpDesc& op = D.ops[o];
    for (size_t i = 0; i < op.inputs.size(); ++i) {
      int t = op.inputs[i];
      if (t >= 0 && !slots[t]->ready && D.tensors[t].storage != Storage::kNone)
        return error(where_op(static_cast<int>(o)) + ": input " + std::to_string(i) + " '" + D.tensors[t].name +
                     "' is not available (never produced, or freed too early)");
    }
    double start = now_us();
    Status st;
    {
      OpContext ctx(*this, static_cast<int>(o));
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
    if (!st.ok()) return error(where_op(static_cast<int>(o)) + ": " + st.message);
    for (size_t i = 0; i < op.outputs.size(); ++i) {
      int t = op.outputs[i];
      if (t >= 0 && !slots[t]->ready)
        return error(where_op(static_cast<int>(o)) + ": the kernel did not produce output " + std::to_string(i) + " '" +
                     D.tensors[t].name + "'");
    }
    if (stats) {
      if (ex.trace_ && stats->events.size() < 2000000)
        stats->events.push_back(OpEvent{index, static_cast<int>(o), depth, start - ex.t0_us_, dur});
      if (!parent) stats->op_us[o] += dur;
    }
    for (int t : ex.frees_[index][o]) {
      Slot* s = slots[t];
      s->v = Value();
      s->ready = false;
    }
  }
  return Status::Ok();
}

Executor::Executor(const Program& program, ThreadPool& pool) : program_(program), pool_(pool) {}
Executor::~Executor() = default;

Status Executor::prepare() {
  frees_.assign(program_.programs.size(), {});
  for (size_t p = 0; p < program_.programs.size(); ++p) {
    ProgramDesc& D = const_cast<ProgramDesc&>(program_.programs[p]);
    for (OpDesc& op : D.ops) {
      op.fn = find_kernel(op.domain, op.op_type);
      if (!op.fn)
        return Status::Error("no kernel for op '" + op.name + "' (" + (op.domain.empty() ? "ai.onnx" : op.domain) + "." +
                             op.op_type + ", opset " + std::to_string(op.opset) + ")");
    }
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

Status Executor::run(std::vector<Value> inputs, std::vector<Value>* outputs, RunStats* stats, bool trace) {
  stats_ = stats;
  trace_ = trace;
  t0_us_ = now_us();
  heap_reset_peak();
  if (stats) stats->op_us.assign(program_.programs[0].ops.size(), 0.0);
  Frame main(*this, 0, nullptr, 0);
  FLEETRT_RETURN_IF_ERROR(main.bind_inputs(inputs, true));
  FLEETRT_RETURN_IF_ERROR(main.layout_arena());
  FLEETRT_RETURN_IF_ERROR(main.execute());
  outputs->clear();
  for (uint32_t t : main.D.outputs) {
    Slot* s = main.slots[t];
    if (!s->ready) return Status::Error("output '" + main.D.tensors[t].name + "' was not produced");
    outputs->push_back(s->v);
  }
  if (stats) {
    stats->total_us = now_us() - t0_us_;
    stats->arena_bytes = main.arena_used;
    stats->replanned = main.replanned;
    stats->heap_peak = heap_bytes_peak();
  }
  stats_ = nullptr;
  return Status::Ok();
}

}  // namespace fleetrt
