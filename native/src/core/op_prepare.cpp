#include "core/op_prepare.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace fleetrt {
namespace {

// The context of a prepare function: attributes, the op's weights, the other inputs whose shape
// the plan fixes (at the planned values of its symbols) as shapes without data (input(i)->data nullptr, input_is_constant false), its
// state slot, scratch and the pool; no outputs.
class PrepareContext final : public KernelContext {
 public:
  PrepareContext(const OpDesc& op, std::vector<Value> inputs, std::vector<bool> constant, ThreadPool& pool)
      : op_(op), inputs_(std::move(inputs)), constant_(std::move(constant)), pool_(pool) {}

  const std::string& op_type() const override { return op_.op_type; }
  const std::string& op_name() const override { return op_.name; }
  int opset() const override { return op_.opset; }
  const Attributes& attrs() const override { return op_.attrs; }
  int num_inputs() const override { return static_cast<int>(inputs_.size()); }
  const Value* input_value(int i) const override {
    if (i < 0 || i >= num_inputs() || inputs_[i].kind != Value::Kind::kTensor) return nullptr;
    return &inputs_[i];
  }
  const Tensor* input(int i) const override {
    const Value* v = input_value(i);
    return v ? &v->tensor.view : nullptr;
  }
  bool input_is_constant(int i) const override { return input_value(i) && constant_[i]; }
  int num_outputs() const override { return 0; }
  Tensor* output(int) override { return nullptr; }
  Status output(int, const std::vector<int64_t>&, Tensor**) override {
    return Status::Error("op '" + op_.name + "': no outputs while preparing constant inputs");
  }
  Status set_output_value(int, Value) override {
    return Status::Error("op '" + op_.name + "': no outputs while preparing constant inputs");
  }
  void* scratch(size_t bytes) override {
    scratch_.emplace_back(std::malloc(bytes ? bytes : 1), std::free);
    return scratch_.back().get();
  }
  Status allocate(DType, const std::vector<int64_t>&, OwnedTensor*) override {
    return Status::Error("op '" + op_.name + "': no allocation while preparing constant inputs");
  }
  int num_threads() const override { return pool_.size(); }
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) override {
    pool_.parallel_for(n, grain, fn);
  }
  Status run_subgraph(int, const std::vector<const Value*>&, std::vector<Value>*) override {
    return Status::Error("op '" + op_.name + "': no subgraphs while preparing constant inputs");
  }
  std::shared_ptr<void>* op_state() override { return &const_cast<OpDesc&>(op_).state; }

 private:
  const OpDesc& op_;
  std::vector<Value> inputs_;
  std::vector<bool> constant_;
  ThreadPool& pool_;
  std::vector<std::unique_ptr<void, void (*)(void*)>> scratch_;
};

// The program's symbols at their planned values (a decode step's plan: one row), where it has them.
struct PlannedSymbols {
  std::vector<int64_t> values;
  std::vector<uint8_t> bound;
  explicit PlannedSymbols(const Program& P) : values(P.symbols.size(), 0), bound(P.symbols.size(), 0) {
    for (size_t i = 0; i < P.symbols.size(); ++i)
      if (P.symbols[i].planned >= 0) values[i] = P.symbols[i].planned, bound[i] = 1;
  }
};

// The shape of tensor T as the plan fixes it at the planned symbol values, when it does.
bool static_shape(const Program& P, const PlannedSymbols& S, const TensorDesc& T, std::vector<int64_t>* shape) {
  if (T.rank < 0) return false;
  shape->assign(static_cast<size_t>(T.rank), 0);
  for (int k = 0; k < T.rank; ++k)
    if (!P.eval(T.shape[k], S.values.data(), S.bound.data(), &(*shape)[k]) || (*shape)[k] < 0) return false;
  return true;
}

// Input tensor t of D: a weight as a view into the mapped weights (true); another tensor whose
// shape the plan fixes as a view with that shape and no data (false); else nothing (false).
bool input_view(const Program& P, const PlannedSymbols& S, const ProgramDesc& D, int t, Value* out) {
  const TensorDesc& T = D.tensors[t];
  std::vector<int64_t> shape;
  if (T.dtype == DType::kString || !static_shape(P, S, T, &shape)) return false;
  Tensor view;
  view.dtype = T.dtype;
  view.shape = std::move(shape);
  if (T.storage == Storage::kWeight) {
    if (view.bytes() != T.b || !view.bytes()) return false;
    view.data = const_cast<uint8_t*>(P.weights.data() + T.a);
  }
  out->kind = Value::Kind::kTensor;
  out->tensor.view = std::move(view);
  return T.storage == Storage::kWeight;
}

}  // namespace

Status prepare_constant_inputs(const Program& P, ProgramDesc& D, ThreadPool& pool) {
  const PlannedSymbols planned(P);
  for (OpDesc& op : D.ops) {
    const PrepareFn fn = find_kernel_prepare(op.domain, op.op_type);
    if (!fn) continue;
    std::vector<Value> inputs(op.inputs.size());
    std::vector<bool> constant(op.inputs.size(), false);
    bool any = false;
    for (size_t i = 0; i < op.inputs.size(); ++i)
      if (op.inputs[i] >= 0 && input_view(P, planned, D, op.inputs[i], &inputs[i])) any = constant[i] = true;
    if (!any) continue;
    PrepareContext ctx(op, std::move(inputs), std::move(constant), pool);
    Status s = fn(ctx);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace fleetrt
