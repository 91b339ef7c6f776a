// Test harness for the kernels-B files, kept out of the main build: a mock KernelContext, stub
// kernel registry and a tiny graph interpreter that runs converted ONNX conformance tests
// (see convert.py) and compares the outputs. Error cases carry the text the failure must
// contain ('*': any clean one-line error or success, for fuzzing). Build: see run.sh.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "fleetrt/kernel.h"

namespace fleetrt {

size_t dtype_bits(DType t) {
  switch (t) {
    case DType::kF32: case DType::kI32: case DType::kU32: return 32;
    case DType::kU8: case DType::kI8: case DType::kBool: case DType::kF8E4M3FN: case DType::kF8E4M3FNUZ:
    case DType::kF8E5M2: case DType::kF8E5M2FNUZ: case DType::kF8E8M0: return 8;
    case DType::kU16: case DType::kI16: case DType::kF16: case DType::kBF16: return 16;
    case DType::kI64: case DType::kU64: case DType::kF64: case DType::kC64: return 64;
    case DType::kC128: return 128;
    case DType::kString: return sizeof(std::string) * 8;
    case DType::kU4: case DType::kI4: case DType::kF4E2M1: return 4;
    case DType::kU2: case DType::kI2: return 2;
    default: return 0;
  }
}
const char* dtype_name(DType t) {
  static char buf[16];
  snprintf(buf, sizeof buf, "dtype%d", static_cast<int>(t));
  return buf;
}
size_t dtype_bytes(DType t, int64_t n) { return (dtype_bits(t) * static_cast<size_t>(n) + 7) / 8; }

static std::vector<KernelEntry>& table() {
  static std::vector<KernelEntry> t;
  return t;
}
bool register_kernel(const char* domain, const char* op_type, KernelFn fn) {
  table().push_back({domain, op_type, fn});
  return true;
}
KernelFn find_kernel(const std::string& domain, const std::string& op_type) {
  for (auto& e : table())
    if (domain == e.domain && op_type == e.op_type) return e.fn;
  return nullptr;
}
const std::vector<KernelEntry>& all_kernels() { return table(); }

}  // namespace fleetrt

using namespace fleetrt;

// ---------------------------------------------------------------------------------------------
// Reading the converted test file.
struct Reader {
  std::vector<char> buf;
  size_t pos = 0;
  bool bad = false;
  template <class T>
  T get() {
    T v{};
    if (pos + sizeof(T) > buf.size()) { bad = true; return v; }
    memcpy(&v, buf.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  std::string str() {
    uint32_t n = get<uint32_t>();
    if (pos + n > buf.size()) { bad = true; return {}; }
    std::string s(buf.data() + pos, n);
    pos += n;
    return s;
  }
};

static OwnedTensor alloc_tensor(DType dt, const std::vector<int64_t>& shape) {
  OwnedTensor o;
  o.view.dtype = dt;
  o.view.shape = shape;
  int64_t n = o.view.numel();
  if (dt == DType::kString) {
    std::string* p = new std::string[n > 0 ? n : 1];
    o.storage = std::shared_ptr<void>(p, [](void* q) { delete[] static_cast<std::string*>(q); });
  } else {
    size_t bytes = dtype_bytes(dt, n) + 16;
    char* p = new char[bytes];
    memset(p, 0xCD, bytes);  // poison, so that unwritten outputs show
    o.storage = std::shared_ptr<void>(p, [](void* q) { delete[] static_cast<char*>(q); });
  }
  o.view.data = o.storage.get();
  return o;
}

static OwnedTensor read_tensor(Reader& r) {
  DType dt = static_cast<DType>(r.get<int32_t>());
  uint32_t rank = r.get<uint32_t>();
  std::vector<int64_t> shape(rank);
  for (auto& d : shape) d = r.get<int64_t>();
  OwnedTensor o = alloc_tensor(dt, shape);
  if (dt == DType::kString) {
    uint32_t n = r.get<uint32_t>();
    for (uint32_t i = 0; i < n && i < o.view.numel(); ++i) o.view.as<std::string>()[i] = r.str();
  } else {
    int64_t nb = r.get<int64_t>();
    if (nb != static_cast<int64_t>(dtype_bytes(dt, o.view.numel())) || r.pos + nb > r.buf.size()) {
      r.bad = true;
      return o;
    }
    memcpy(o.view.data, r.buf.data() + r.pos, nb);
    r.pos += nb;
  }
  return o;
}

static Value read_value(Reader& r) {
  Value v;
  uint8_t k = r.get<uint8_t>();
  v.elem_dtype = static_cast<DType>(r.get<int32_t>());
  if (k == 0) {
    v.kind = Value::Kind::kTensor;
    v.tensor = read_tensor(r);
  } else if (k == 1) {
    v.kind = Value::Kind::kSequence;
    uint32_t n = r.get<uint32_t>();
    for (uint32_t i = 0; i < n; ++i) v.elements.push_back(read_tensor(r));
  } else {
    v.kind = Value::Kind::kOptionalNone;
  }
  return v;
}

struct Node {
  std::string op, domain, name;
  std::vector<std::string> inputs, outputs;
  Attributes attrs;
  std::vector<OwnedTensor> keep;  // owns attribute tensor data
};
struct TypeInfo {
  int kind;
  DType dtype;
};
struct Graph {
  std::vector<std::string> inputs, outputs;
  std::map<std::string, TypeInfo> types;
  std::vector<std::pair<std::string, OwnedTensor>> inits;
  std::vector<Node> nodes;
};
static std::vector<std::unique_ptr<Graph>> g_graphs;

static int read_graph(Reader& r) {
  auto g = std::make_unique<Graph>();
  int idx = static_cast<int>(g_graphs.size());
  g_graphs.push_back(nullptr);
  uint32_t n = r.get<uint32_t>();
  for (uint32_t i = 0; i < n; ++i) g->inputs.push_back(r.str());
  n = r.get<uint32_t>();
  for (uint32_t i = 0; i < n; ++i) g->outputs.push_back(r.str());
  n = r.get<uint32_t>();
  for (uint32_t i = 0; i < n; ++i) {
    std::string name = r.str();
    int k = r.get<uint8_t>();
    DType d = static_cast<DType>(r.get<int32_t>());
    g->types[name] = {k, d};
  }
  n = r.get<uint32_t>();
  for (uint32_t i = 0; i < n; ++i) {
    std::string name = r.str();
    g->inits.emplace_back(name, read_tensor(r));
  }
  n = r.get<uint32_t>();
  for (uint32_t i = 0; i < n && !r.bad; ++i) {
    Node nd;
    nd.op = r.str();
    nd.domain = r.str();
    nd.name = r.str();
    uint32_t m = r.get<uint32_t>();
    for (uint32_t j = 0; j < m; ++j) nd.inputs.push_back(r.str());
    m = r.get<uint32_t>();
    for (uint32_t j = 0; j < m; ++j) nd.outputs.push_back(r.str());
    m = r.get<uint32_t>();
    for (uint32_t j = 0; j < m && !r.bad; ++j) {
      std::string an = r.str();
      Attribute a;
      uint8_t k = r.get<uint8_t>();
      switch (k) {
        case 0: a.kind = Attribute::Kind::kInt; a.i = r.get<int64_t>(); break;
        case 1: a.kind = Attribute::Kind::kFloat; a.f = r.get<double>(); break;
        case 2: a.kind = Attribute::Kind::kString; a.s = r.str(); break;
        case 3: { a.kind = Attribute::Kind::kInts; uint32_t c = r.get<uint32_t>(); for (uint32_t q = 0; q < c; ++q) a.ints.push_back(r.get<int64_t>()); break; }
        case 4: { a.kind = Attribute::Kind::kFloats; uint32_t c = r.get<uint32_t>(); for (uint32_t q = 0; q < c; ++q) a.floats.push_back(r.get<double>()); break; }
        case 5: { a.kind = Attribute::Kind::kStrings; uint32_t c = r.get<uint32_t>(); for (uint32_t q = 0; q < c; ++q) a.strings.push_back(r.str()); break; }
        case 6: { a.kind = Attribute::Kind::kTensor; nd.keep.push_back(read_tensor(r)); a.tensor = nd.keep.back().view; break; }
        case 7: { a.kind = Attribute::Kind::kTensors; uint32_t c = r.get<uint32_t>(); for (uint32_t q = 0; q < c; ++q) { nd.keep.push_back(read_tensor(r)); a.tensors.push_back(nd.keep.back().view); } break; }
        case 8: a.kind = Attribute::Kind::kGraph; a.graph = read_graph(r); break;
        case 9: { a.kind = Attribute::Kind::kGraphs; uint32_t c = r.get<uint32_t>(); for (uint32_t q = 0; q < c; ++q) a.graphs.push_back(read_graph(r)); break; }
        default: r.bad = true;
      }
      nd.attrs.items.emplace_back(an, std::move(a));
    }
    g->nodes.push_back(std::move(nd));
  }
  g_graphs[idx] = std::move(g);
  return idx;
}

// ---------------------------------------------------------------------------------------------
// Execution.
struct Env {
  Env* parent = nullptr;
  std::map<std::string, std::shared_ptr<Value>> vals;
  const Value* find(const std::string& n) const {
    auto it = vals.find(n);
    if (it != vals.end()) return it->second.get();
    return parent ? parent->find(n) : nullptr;
  }
};

static int g_opset = 0;
static bool g_prealloc = false;  // hand kernels pre-allocated outputs of the expected shape
static std::map<std::string, std::vector<int64_t>> g_known_shapes;
Status run_graph(int gi, Env* parent, const std::vector<const Value*>& inputs, std::vector<Value>* outputs);
Status builtin(const Node& n, Env& env);

class MockCtx : public KernelContext {
 public:
  MockCtx(const Node& n, Env& env, const Graph& g) : n_(n), env_(env), g_(g) {
    outs_.resize(n.outputs.size());
  }
  const std::string& op_type() const override { return n_.op; }
  const std::string& op_name() const override { return n_.name; }
  int opset() const override { return g_opset; }
  const Attributes& attrs() const override { return n_.attrs; }
  int num_inputs() const override { return static_cast<int>(n_.inputs.size()); }
  const Tensor* input(int i) const override {
    const Value* v = input_value(i);
    if (!v || v->kind != Value::Kind::kTensor) return nullptr;
    return &v->tensor.view;
  }
  const Value* input_value(int i) const override {
    if (i < 0 || i >= num_inputs() || n_.inputs[i].empty()) return nullptr;
    return env_.find(n_.inputs[i]);
  }
  int num_outputs() const override { return static_cast<int>(n_.outputs.size()); }
  Tensor* output(int i) override {
    if (i < 0 || i >= num_outputs() || n_.outputs[i].empty()) return nullptr;
    if (outs_[i]) return &outs_[i]->tensor.view;
    if (!g_prealloc) return nullptr;
    auto it = g_known_shapes.find(n_.outputs[i]);
    if (it == g_known_shapes.end()) return nullptr;
    Tensor* t = nullptr;
    if (!output(i, it->second, &t).ok()) return nullptr;
    return t;
  }
  DType out_dtype(int i) const {
    auto it = g_.types.find(n_.outputs[i]);
    if (it != g_.types.end() && it->second.dtype != DType::kUndefined) return it->second.dtype;
    const Tensor* t = input(0);
    return t ? t->dtype : DType::kF32;
  }
  Status output(int i, const std::vector<int64_t>& shape, Tensor** out) override {
    *out = nullptr;
    if (i < 0 || i >= num_outputs()) return Status::Error("mock: output index out of range");
    if (n_.outputs[i].empty()) {
      // Like the runtime: an unused output gets scratch memory with no dtype.
      discard_.push_back(alloc_tensor(DType::kC128, {numel_shape(shape)}));
      discard_.back().view.shape = shape;
      discard_.back().view.dtype = DType::kUndefined;
      *out = &discard_.back().view;
      return Status::Ok();
    }
    if (outs_[i]) {
      if (outs_[i]->tensor.view.shape != shape) return Status::Error("mock: output shape differs from planned");
      *out = &outs_[i]->tensor.view;
      return Status::Ok();
    }
    for (int64_t d : shape)
      if (d < 0) return Status::Error("mock: negative dim in output shape");
    auto v = std::make_shared<Value>();
    v->tensor = alloc_tensor(out_dtype(i), shape);
    outs_[i] = v;
    *out = &v->tensor.view;
    return Status::Ok();
  }
  Status set_output_value(int i, Value v) override {
    if (i < 0 || i >= num_outputs()) return Status::Error("mock: output index out of range");
    outs_[i] = std::make_shared<Value>(std::move(v));
    return Status::Ok();
  }
  void* scratch(size_t bytes) override {
    scratch_.emplace_back(new char[bytes + 1]);
    return scratch_.back().get();
  }
  Status allocate(DType dtype, const std::vector<int64_t>& shape, OwnedTensor* out) override {
    *out = alloc_tensor(dtype, shape);
    return Status::Ok();
  }
  int num_threads() const override { return 2; }
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) override {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    // Exercise chunking even single-threaded.
    for (int64_t b = 0; b < n; b += grain) fn(b, std::min(n, b + grain));
  }
  Status run_subgraph(int graph, const std::vector<const Value*>& inputs, std::vector<Value>* outputs) override {
    return run_graph(graph, &env_, inputs, outputs);
  }
  void commit() {
    for (size_t i = 0; i < outs_.size(); ++i)
      if (outs_[i]) env_.vals[n_.outputs[i]] = outs_[i];
  }

 private:
  const Node& n_;
  Env& env_;
  const Graph& g_;
  std::vector<std::shared_ptr<Value>> outs_;
  std::vector<std::unique_ptr<char[]>> scratch_;
  std::deque<OwnedTensor> discard_;
  static int64_t numel_shape(const std::vector<int64_t>& s) {
    int64_t n = 1;
    for (int64_t d : s) n *= d < 0 ? 0 : d;
    return n;
  }
};

static std::string g_missing;

Status run_graph(int gi, Env* parent, const std::vector<const Value*>& inputs, std::vector<Value>* outputs) {
  const Graph& g = *g_graphs.at(gi);
  Env env;
  env.parent = parent;
  for (auto& kv : g.inits) {
    auto v = std::make_shared<Value>();
    v->tensor = kv.second;
    env.vals[kv.first] = v;
  }
  if (inputs.size() > g.inputs.size()) return Status::Error("mock: too many subgraph inputs");
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i]) env.vals[g.inputs[i]] = std::make_shared<Value>(*inputs[i]);
  for (const Node& n : g.nodes) {
    KernelFn fn = find_kernel(n.domain == "ai.onnx" ? "" : n.domain, n.op);
    if (!fn) {
      Status s = builtin(n, env);
      if (!s.ok()) return s;
      continue;
    }
    MockCtx ctx(n, env, g);
    Status s = fn(ctx);
    if (!s.ok()) return s;
    ctx.commit();
  }
  outputs->clear();
  for (auto& o : g.outputs) {
    const Value* v = env.find(o);
    if (!v) return Status::Error("mock: graph output '" + o + "' not produced");
    outputs->push_back(*v);
  }
  return Status::Ok();
}

// A few math ops that subgraph bodies use (kernels A owns the real ones).
template <class T>
static T bin(const std::string& op, T a, T b) {
  if (op == "Add") return a + b;
  if (op == "Sub") return a - b;
  if (op == "Mul") return a * b;
  if (op == "Div") return b == T(0) ? T(0) : a / b;
  if (op == "Less") return a < b;
  if (op == "Greater") return a > b;
  if (op == "Equal") return a == b;
  return T(0);
}
static double getd(const Tensor& t, int64_t i) {
  switch (t.dtype) {
    case DType::kF32: return t.as<float>()[i];
    case DType::kF64: return t.as<double>()[i];
    case DType::kI32: return t.as<int32_t>()[i];
    case DType::kI64: return static_cast<double>(t.as<int64_t>()[i]);
    case DType::kBool: case DType::kU8: return t.as<uint8_t>()[i];
    default: return 0;
  }
}
static void setd(Tensor& t, int64_t i, double v) {
  switch (t.dtype) {
    case DType::kF32: t.as<float>()[i] = static_cast<float>(v); break;
    case DType::kF64: t.as<double>()[i] = v; break;
    case DType::kI32: t.as<int32_t>()[i] = static_cast<int32_t>(v); break;
    case DType::kI64: t.as<int64_t>()[i] = static_cast<int64_t>(v); break;
    case DType::kBool: case DType::kU8: t.as<uint8_t>()[i] = static_cast<uint8_t>(v != 0); break;
    default: break;
  }
}

Status builtin(const Node& n, Env& env) {
  static const char* binops[] = {"Add", "Sub", "Mul", "Div", "Less", "Greater", "Equal"};
  bool is_bin = false;
  for (auto* b : binops) is_bin |= n.op == b;
  auto in = [&](int i) -> const Tensor* {
    if (i >= static_cast<int>(n.inputs.size())) return nullptr;
    const Value* v = env.find(n.inputs[i]);
    return v && v->kind == Value::Kind::kTensor ? &v->tensor.view : nullptr;
  };
  auto v = std::make_shared<Value>();
  if (is_bin) {
    const Tensor *a = in(0), *b = in(1);
    if (!a || !b) return Status::Error("mock builtin " + n.op + ": missing input");
    // numpy broadcasting
    size_t r = std::max(a->rank(), b->rank());
    std::vector<int64_t> sa(r, 1), sb(r, 1), so(r);
    for (size_t i = 0; i < a->rank(); ++i) sa[r - a->rank() + i] = a->shape[i];
    for (size_t i = 0; i < b->rank(); ++i) sb[r - b->rank() + i] = b->shape[i];
    for (size_t i = 0; i < r; ++i) so[i] = std::max(sa[i], sb[i]);
    bool cmp = n.op == "Less" || n.op == "Greater" || n.op == "Equal";
    v->tensor = alloc_tensor(cmp ? DType::kBool : a->dtype, so);
    int64_t total = v->tensor.view.numel();
    for (int64_t o = 0; o < total; ++o) {
      int64_t rem = o, ia = 0, ib = 0, st_a = 1, st_b = 1;
      for (int64_t d = static_cast<int64_t>(r) - 1; d >= 0; --d) {
        int64_t c = rem % so[d];
        rem /= so[d];
        if (sa[d] != 1) ia += c * st_a;
        if (sb[d] != 1) ib += c * st_b;
        st_a *= sa[d];
        st_b *= sb[d];
      }
      double x = getd(*a, ia), y = getd(*b, ib), res;
      if (a->dtype == DType::kF32 || a->dtype == DType::kF64) res = bin<double>(n.op, x, y);
      else res = static_cast<double>(bin<int64_t>(n.op, static_cast<int64_t>(x), static_cast<int64_t>(y)));
      setd(v->tensor.view, o, res);
    }
  } else if (n.op == "Cast" || n.op == "Ceil" || n.op == "Relu" || n.op == "Neg" || n.op == "Not") {
    const Tensor* a = in(0);
    if (!a) return Status::Error("mock builtin " + n.op + ": missing input");
    DType dt = n.op == "Cast" ? static_cast<DType>(n.attrs.get_int("to", 1)) : a->dtype;
    v->tensor = alloc_tensor(dt, a->shape);
    for (int64_t i = 0; i < a->numel(); ++i) {
      double x = getd(*a, i);
      if (n.op == "Ceil") x = std::ceil(x);
      if (n.op == "Relu") x = x < 0 ? 0 : x;
      if (n.op == "Neg") x = -x;
      if (n.op == "Not") x = x == 0;
      setd(v->tensor.view, i, x);
    }
  } else {
    g_missing = n.op;
    return Status::Error("missing kernel " + n.op);
  }
  env.vals[n.outputs.at(0)] = v;
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Comparison.
static bool is_random(const std::string& test) {
  for (const char* k : {"random", "bernoulli", "multinomial"})
    if (test.find(k) != std::string::npos) return true;
  return false;
}

static std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

static float half_to_float(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, f;
  if (exp == 0) {
    if (man == 0) f = sign;
    else {
      int e = -1;
      do { ++e; man <<= 1; } while (!(man & 0x400));
      f = sign | ((127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
    }
  } else if (exp == 31) f = sign | 0x7f800000u | (man << 13);
  else f = sign | ((exp + 127 - 15) << 23) | (man << 13);
  float r;
  memcpy(&r, &f, 4);
  return r;
}

static std::string compare_tensor(const Tensor& got, const Tensor& exp, bool shape_only) {
  if (got.dtype != exp.dtype)
    return "dtype " + std::to_string(static_cast<int>(got.dtype)) + " != expected " + std::to_string(static_cast<int>(exp.dtype));
  if (got.shape != exp.shape) return "shape " + shape_str(got.shape) + " != expected " + shape_str(exp.shape);
  if (shape_only) return "";
  int64_t n = exp.numel();
  if (exp.dtype == DType::kString) {
    for (int64_t i = 0; i < n; ++i)
      if (got.as<std::string>()[i] != exp.as<std::string>()[i])
        return "string[" + std::to_string(i) + "] '" + got.as<std::string>()[i] + "' != '" + exp.as<std::string>()[i] + "'";
    return "";
  }
  auto fl = [](const Tensor& t, int64_t i) -> double {
    switch (t.dtype) {
      case DType::kF32: return t.as<float>()[i];
      case DType::kF64: return t.as<double>()[i];
      case DType::kF16: return half_to_float(t.as<uint16_t>()[i]);
      case DType::kBF16: { uint32_t b = static_cast<uint32_t>(t.as<uint16_t>()[i]) << 16; float f; memcpy(&f, &b, 4); return f; }
      default: return NAN;
    }
  };
  bool isf = exp.dtype == DType::kF32 || exp.dtype == DType::kF64 || exp.dtype == DType::kF16 || exp.dtype == DType::kBF16;
  if (isf) {
    double rtol = exp.dtype == DType::kF16 || exp.dtype == DType::kBF16 ? 1e-2 : 1e-3, atol = 1e-5;
    for (int64_t i = 0; i < n; ++i) {
      double a = fl(got, i), b = fl(exp, i);
      if (std::isnan(a) && std::isnan(b)) continue;
      if (!(std::fabs(a - b) <= atol + rtol * std::fabs(b))) {
        std::ostringstream os;
        os << "value[" << i << "] " << a << " != expected " << b;
        return os.str();
      }
    }
    return "";
  }
  size_t eb = dtype_bytes(exp.dtype, n);
  if (memcmp(got.data, exp.data, eb) != 0) {
    size_t es = dtype_bits(exp.dtype) / 8;
    for (size_t i = 0; i < eb; ++i)
      if (static_cast<const char*>(got.data)[i] != static_cast<const char*>(exp.data)[i])
        return "bytes differ at element " + std::to_string(es ? i / es : i);
  }
  return "";
}

static std::string compare_value(const Value& got, const Value& exp, bool shape_only) {
  if (exp.kind != got.kind) return "value kind " + std::to_string(static_cast<int>(got.kind)) + " != expected " + std::to_string(static_cast<int>(exp.kind));
  if (exp.kind == Value::Kind::kTensor) return compare_tensor(got.tensor.view, exp.tensor.view, shape_only);
  if (exp.kind == Value::Kind::kSequence) {
    if (got.elements.size() != exp.elements.size())
      return "sequence length " + std::to_string(got.elements.size()) + " != " + std::to_string(exp.elements.size());
    for (size_t i = 0; i < exp.elements.size(); ++i) {
      std::string e = compare_tensor(got.elements[i].view, exp.elements[i].view, shape_only);
      if (!e.empty()) return "element " + std::to_string(i) + ": " + e;
    }
  }
  return "";
}

int main(int argc, char** argv) {
  int pass = 0, fail = 0, skip = 0;
  bool verbose = false;
  for (int ai = 1; ai < argc; ++ai) {
    std::string path = argv[ai];
    if (path == "-v") { verbose = true; continue; }
    if (path == "--prealloc") { g_prealloc = true; continue; }
    std::string test = path.substr(path.find_last_of('/') + 1);
    test = test.substr(0, test.size() - 4);
    Reader r;
    std::ifstream f(path, std::ios::binary);
    r.buf.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    g_graphs.clear();
    g_missing.clear();
    g_known_shapes.clear();
    if (r.buf.size() < 4 || memcmp(r.buf.data(), "FLT1", 4) != 0) { printf("BAD  %s: not a test file\n", test.c_str()); ++fail; continue; }
    r.pos = 4;
    g_opset = r.get<int32_t>();
    int gi = read_graph(r);
    std::vector<std::pair<std::string, Value>> ins, outs;
    uint32_t n = r.get<uint32_t>();
    for (uint32_t i = 0; i < n; ++i) { std::string nm = r.str(); ins.emplace_back(nm, read_value(r)); }
    n = r.get<uint32_t>();
    for (uint32_t i = 0; i < n; ++i) { std::string nm = r.str(); outs.emplace_back(nm, read_value(r)); }
    std::string expect_error;
    if (r.pos < r.buf.size()) expect_error = r.str();
    if (r.bad) { printf("BAD  %s: truncated test file\n", test.c_str()); ++fail; continue; }
    for (auto& o : outs)
      if (o.second.kind == Value::Kind::kTensor) g_known_shapes[o.first] = o.second.tensor.view.shape;
    // Graph inputs are bound by name (some graphs have more inputs than the data set).
    Env top;
    for (auto& kv : ins) top.vals[kv.first] = std::make_shared<Value>(kv.second);
    std::vector<Value> got;
    Status s = run_graph(gi, &top, {}, &got);
    if (expect_error == "*") {
      // Fuzz case: success or a clean one-line error are both fine; a crash is not.
      bool ok = s.ok() || (!s.message.empty() && s.message.find('\n') == std::string::npos);
      if (ok) { ++pass; if (verbose) printf("PASS %s: %s\n", test.c_str(), s.ok() ? "ran" : s.message.c_str()); }
      else { ++fail; printf("FAIL %s: unclean error '%s'\n", test.c_str(), s.message.c_str()); }
      continue;
    }
    if (!expect_error.empty()) {
      // Error case: the message must contain the expected text and be a single line.
      bool ok = !s.ok() && s.message.find(expect_error) != std::string::npos && s.message.find('\n') == std::string::npos;
      if (ok) { ++pass; if (verbose) printf("PASS %s: %s\n", test.c_str(), s.message.c_str()); }
      else { ++fail; printf("FAIL %s: expected error containing '%s', got %s\n", test.c_str(), expect_error.c_str(), s.ok() ? "success" : ("'" + s.message + "'").c_str()); }
      continue;
    }
    if (!s.ok()) {
      if (!g_missing.empty()) { ++skip; if (verbose) printf("SKIP %s: %s\n", test.c_str(), s.message.c_str()); continue; }
      printf("FAIL %s: %s\n", test.c_str(), s.message.c_str());
      ++fail;
      continue;
    }
    std::string err;
    for (size_t i = 0; i < outs.size() && i < got.size() && err.empty(); ++i) {
      err = compare_value(got[i], outs[i].second, is_random(test));
      if (!err.empty()) err = "output " + outs[i].first + ": " + err;
    }
    if (err.empty()) { ++pass; if (verbose) printf("PASS %s\n", test.c_str()); }
    else { ++fail; printf("FAIL %s: %s\n", test.c_str(), err.c_str()); }
  }
  printf("kernels_b conformance: %d passed, %d failed, %d skipped (missing kernels)\n", pass, fail, skip);
  return fail ? 1 : 0;
}
