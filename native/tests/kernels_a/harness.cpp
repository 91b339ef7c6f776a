// Stand-alone test driver for kernels A (not part of the fleetrt build): a mock KernelContext,
// stub registry/dtype functions, and a runner for .case files made by export_cases.py from the
// ONNX conformance tests. Usage: harness [-v] [-dyn] [-only OP] CASE...
//   -dyn: outputs are not pre-allocated (kernels must compute shapes themselves).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../../src/kernels/kernel_util.h"


using namespace fleetrt;

struct Buf {
  Tensor t;
  std::shared_ptr<void> mem;
};

static Buf make_buf(DType dt, const std::vector<int64_t>& shape) {
  Buf b;
  b.t.dtype = dt;
  b.t.shape = shape;
  size_t n = static_cast<size_t>(b.t.numel());
  if (dt == DType::kString) {
    auto* s = new std::string[n ? n : 1];
    b.mem = std::shared_ptr<void>(s, [](void* p) { delete[] static_cast<std::string*>(p); });
  } else {
    size_t bytes = dtype_bytes(dt, static_cast<int64_t>(n)) + 64;
    b.mem = std::shared_ptr<void>(::operator new(bytes), [](void* p) { ::operator delete(p); });
    std::memset(b.mem.get(), 0xCD, bytes);  // poison: kernels must write every output element
  }
  b.t.data = b.mem.get();
  return b;
}

class MockContext : public KernelContext {
 public:
  std::string op, name = "node0";
  int ver = 0;
  Attributes at;
  std::vector<std::unique_ptr<Buf>> ins;   // null = absent
  std::vector<std::unique_ptr<Buf>> outs;  // planned outputs (null = not planned)
  std::vector<Buf> owned;
  std::vector<std::shared_ptr<void>> scratch_mem;
  std::vector<std::unique_ptr<Value>> in_values;

  const std::string& op_type() const override { return op; }
  const std::string& op_name() const override { return name; }
  int opset() const override { return ver; }
  const Attributes& attrs() const override { return at; }
  int num_inputs() const override { return static_cast<int>(ins.size()); }
  const Tensor* input(int i) const override {
    return i < static_cast<int>(ins.size()) && ins[i] ? &ins[i]->t : nullptr;
  }
  const Value* input_value(int i) const override {
    return i < static_cast<int>(in_values.size()) ? in_values[i].get() : nullptr;
  }
  int num_outputs() const override { return static_cast<int>(outs.size()); }
  Tensor* output(int i) override { return i < static_cast<int>(outs.size()) && outs[i] ? &outs[i]->t : nullptr; }
  Status output(int i, const std::vector<int64_t>& shape, Tensor** out) override {
    if (i >= static_cast<int>(outs.size())) return Status::Error("output index out of range");
    if (outs[i]) {
      if (outs[i]->t.shape != shape) return Status::Error("shape mismatch with plan");
      *out = &outs[i]->t;
      return Status::Ok();
    }
    outs[i].reset(new Buf(make_buf(expected_dtypes[i], shape)));
    *out = &outs[i]->t;
    return Status::Ok();
  }
  Status set_output_value(int i, Value v) override {
    if (i >= static_cast<int>(outs.size())) return Status::Error("output index out of range");
    outs[i].reset(new Buf{v.tensor.view, v.tensor.storage});
    return Status::Ok();
  }
  void* scratch(size_t bytes) override {
    std::shared_ptr<void> p(::operator new(bytes + 64), [](void* q) { ::operator delete(q); });
    scratch_mem.push_back(p);
    return p.get();
  }
  Status allocate(DType dtype, const std::vector<int64_t>& shape, OwnedTensor* out) override {
    Buf b = make_buf(dtype, shape);
    out->view = b.t;
    out->storage = b.mem;
    return Status::Ok();
  }
  int threads = 2;
  int num_threads() const override { return threads; }
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) override {
    if (n <= grain || threads <= 1) {
      fn(0, n);
      return;
    }
    int64_t chunks = std::min<int64_t>(threads * 4, (n + grain - 1) / grain);
    std::vector<std::thread> th;
    std::atomic<int64_t> next{0};
    for (int t = 0; t < threads; ++t)
      th.emplace_back([&] {
        for (;;) {
          int64_t c = next++;
          if (c >= chunks) break;
          fn(n * c / chunks, n * (c + 1) / chunks);
        }
      });
    for (auto& x : th) x.join();
  }
  Status run_subgraph(int, const std::vector<const Value*>&, std::vector<Value>*) override {
    return Status::Error("no subgraphs in harness");
  }
  std::vector<DType> expected_dtypes;
};

// ------------------------------------------------------------ case file reading
struct Reader {
  std::vector<char> d;
  size_t p = 0;
  bool ok = true;
  template <class T>
  T get() {
    T v{};
    if (p + sizeof(T) > d.size()) {
      ok = false;
      return v;
    }
    std::memcpy(&v, &d[p], sizeof(T));
    p += sizeof(T);
    return v;
  }
  std::string str() {
    int64_t n = get<int64_t>();
    if (n < 0 || p + n > d.size()) {
      ok = false;
      return {};
    }
    std::string s(&d[p], static_cast<size_t>(n));
    p += n;
    return s;
  }
  Buf tensor() {
    DType dt = static_cast<DType>(get<int32_t>());
    int64_t r = get<int64_t>();
    std::vector<int64_t> shape;
    for (int64_t i = 0; i < r; ++i) shape.push_back(get<int64_t>());
    Buf b = make_buf(dt, shape);
    if (dt == DType::kString) {
      for (int64_t i = 0; i < b.t.numel(); ++i) b.t.as<std::string>()[i] = str();
    } else {
      std::string raw = str();
      if (raw.size() != b.t.bytes()) ok = false;
      else std::memcpy(b.t.data, raw.data(), raw.size());
    }
    return b;
  }
};

static double elem(const Tensor& t, int64_t i) { return ku::load_as_double(t, i); }

static bool compare(const Tensor& got, const Tensor& exp, std::string* why, const std::string& op) {
  if (got.dtype != exp.dtype) {
    *why = std::string("dtype ") + dtype_name(got.dtype) + " vs expected " + dtype_name(exp.dtype);
    return false;
  }
  if (got.shape != exp.shape) {
    *why = "shape " + ku::shape_str(got.shape) + " vs expected " + ku::shape_str(exp.shape);
    return false;
  }
  int64_t n = exp.numel();
  if (exp.dtype == DType::kString) {
    for (int64_t i = 0; i < n; ++i)
      if (got.as<std::string>()[i] != exp.as<std::string>()[i]) {
        *why = "string mismatch at " + std::to_string(i) + ": '" + got.as<std::string>()[i] + "' vs '" +
               exp.as<std::string>()[i] + "'";
        return false;
      }
    return true;
  }
  bool fl = ku::is_float(exp.dtype);
  // the project metric: rtol 1e-3, atol 1e-5 (f16/bf16 looser)
  double rtol = exp.dtype == DType::kF16 || exp.dtype == DType::kBF16 ? 2e-3 : 1e-3;
  double atol = exp.dtype == DType::kF16 || exp.dtype == DType::kBF16 ? 2e-3 : 1e-5;
  if (op == "RNN" || op == "GRU" || op == "LSTM" || op == "Einsum" || op == "Attention") atol = 1e-4, rtol = 1e-3;
  for (int64_t i = 0; i < n; ++i) {
    if (fl) {
      double a = elem(got, i), b = elem(exp, i);
      if (std::isnan(b) && std::isnan(a)) continue;
      if (std::isinf(b) && a == b) continue;
      if (!(std::fabs(a - b) <= atol + rtol * std::fabs(b))) {
        char buf[200];
        snprintf(buf, sizeof buf, "value at %lld: got %.9g expected %.9g", (long long)i, a, b);
        *why = buf;
        return false;
      }
    } else {
      size_t eb = dtype_bytes(exp.dtype, 1);
      if (std::memcmp(static_cast<const char*>(got.data) + i * eb, static_cast<const char*>(exp.data) + i * eb, eb)) {
        char buf[200];
        snprintf(buf, sizeof buf, "value at %lld: got %.9g expected %.9g", (long long)i, elem(got, i), elem(exp, i));
        *why = buf;
        return false;
      }
    }
  }
  return true;
}

int main(int argc, char** argv) {
  bool verbose = false, dyn = false;
  std::string only;
  int pass = 0, fail = 0, nokernel = 0;
  std::map<std::string, int> missing;
  for (int a = 1; a < argc; ++a) {
    std::string arg = argv[a];
    if (arg == "-v") { verbose = true; continue; }
    if (arg == "-dyn") { dyn = true; continue; }
    if (arg == "-only" && a + 1 < argc) { only = argv[++a]; continue; }
    std::ifstream f(arg, std::ios::binary);
    Reader r;
    r.d.assign(std::istreambuf_iterator<char>(f), {});
    if (r.d.size() < 8 || std::memcmp(r.d.data(), "FLCASE01", 8)) {
      fprintf(stderr, "%s: not a case file\n", arg.c_str());
      return 2;
    }
    r.p = 8;
    MockContext ctx;
    ctx.op = r.str();
    std::string domain = r.str();
    ctx.ver = r.get<int32_t>();
    if (!only.empty() && ctx.op != only) continue;
    int na = r.get<int32_t>();
    std::vector<Buf> keep;
    for (int i = 0; i < na; ++i) {
      Attribute at;
      std::string nm = r.str();
      int ty = r.get<int32_t>();
      switch (ty) {
        case 2: at.kind = Attribute::Kind::kInt; at.i = r.get<int64_t>(); break;
        case 1: at.kind = Attribute::Kind::kFloat; at.f = r.get<double>(); break;
        case 3: at.kind = Attribute::Kind::kString; at.s = r.str(); break;
        case 7: { at.kind = Attribute::Kind::kInts; int64_t n = r.get<int64_t>(); for (int64_t k = 0; k < n; ++k) at.ints.push_back(r.get<int64_t>()); break; }
        case 6: { at.kind = Attribute::Kind::kFloats; int64_t n = r.get<int64_t>(); for (int64_t k = 0; k < n; ++k) at.floats.push_back(r.get<double>()); break; }
        case 8: { at.kind = Attribute::Kind::kStrings; int64_t n = r.get<int64_t>(); for (int64_t k = 0; k < n; ++k) at.strings.push_back(r.str()); break; }
        case 4: { at.kind = Attribute::Kind::kTensor; keep.push_back(r.tensor()); at.tensor = keep.back().t; break; }
        default: r.ok = false;
      }
      ctx.at.items.emplace_back(nm, at);
    }
    int ni = r.get<int32_t>();
    for (int i = 0; i < ni; ++i) {
      if (r.get<int32_t>()) ctx.ins.emplace_back(new Buf(r.tensor()));
      else ctx.ins.emplace_back(nullptr);
    }
    for (auto& in : ctx.ins) {
      auto v = std::make_unique<Value>();
      if (in) { v->tensor.view = in->t; v->tensor.storage = in->mem; } else v.reset();
      ctx.in_values.push_back(std::move(v));
    }
    int no = r.get<int32_t>();
    std::vector<std::unique_ptr<Buf>> expected;
    for (int i = 0; i < no; ++i) {
      if (r.get<int32_t>()) expected.emplace_back(new Buf(r.tensor()));
      else expected.emplace_back(nullptr);
    }
    if (!r.ok) {
      fprintf(stderr, "%s: truncated case file\n", arg.c_str());
      return 2;
    }
    KernelFn fn = find_kernel(domain, ctx.op);
    std::string base = arg.substr(arg.find_last_of('/') + 1);
    if (!fn) {
      ++nokernel;
      missing[ctx.op]++;
      continue;
    }
    for (int i = 0; i < no; ++i) {
      ctx.expected_dtypes.push_back(expected[i] ? expected[i]->t.dtype : DType::kF32);
      if (expected[i] && !dyn) {
        ctx.outs.emplace_back(new Buf(make_buf(expected[i]->t.dtype, expected[i]->t.shape)));
      } else {
        ctx.outs.emplace_back(nullptr);
      }
    }
    // outputs not in the graph are unused: planned none; kernel may skip them
    Status st = fn(ctx);
    bool ok = st.ok();
    std::string why = st.message;
    for (int i = 0; ok && i < no; ++i) {
      if (!expected[i]) continue;
      if (!ctx.outs[i]) {
        ok = false;
        why = "output " + std::to_string(i) + " not produced";
        break;
      }
      if (!compare(ctx.outs[i]->t, expected[i]->t, &why, ctx.op)) {
        why = "output " + std::to_string(i) + ": " + why;
        ok = false;
      }
    }
    if (ok) {
      ++pass;
      if (verbose) printf("PASS %s\n", base.c_str());
    } else {
      ++fail;
      printf("FAIL %s (%s opset %d): %s\n", base.c_str(), ctx.op.c_str(), ctx.ver, why.c_str());
    }
  }
  printf("passed %d, failed %d, no kernel %d\n", pass, fail, nokernel);
  if (verbose)
    for (auto& m : missing) printf("  missing kernel %s (%d cases)\n", m.first.c_str(), m.second);
  return fail ? 1 : 0;
}
