// Checks fleetc.PagedAttention (the registered kernel, as the engine calls it) against a float64
// reference: steps of several sequences with different past lengths (decode steps, whose long
// contexts the kernel splits over the threads and merges, and prefill chunks), shuffled page
// tables, the three layouts, grouped query heads, head sizes with and without vector tails, and
// float32 / float16 / bfloat16 caches. Also checks that each step's new K/V rows land in the pages.
// usage: fleetrt_paged_check [threads]   One JSON line per case; exit status 1 when one fails.
// test/runtime/paged-attention.test.ts runs it with each kernel-code variant and thread count.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "../src/kernels/kernel_util.h"
#include "core/thread_pool.h"
#include "fleetrt/kernel.h"

using namespace fleetrt;

namespace {

struct Sequence {
  int32_t past = 0, tokens = 0;
};

struct Case {
  std::string name;
  std::string layout;
  int64_t H, KVH, D, page_size;
  DType dtype;
  std::vector<Sequence> seqs;
};

class CheckState : public StepState {
 public:
  std::vector<StepSequence> seqs;
  std::vector<StateStorage> stores;
  int tokens = 0;
  int num_sequences() const override { return static_cast<int>(seqs.size()); }
  const StepSequence& sequence(int i) const override { return seqs[i]; }
  int num_tokens() const override { return tokens; }
  Status storage(int id, StateStorage* out) override {
    if (id < 0 || id >= static_cast<int>(stores.size())) return Status::Error("no state " + std::to_string(id));
    *out = stores[id];
    return Status::Ok();
  }
  void count(uint64_t, uint64_t, uint64_t) override {}
};

class CheckContext : public KernelContext {
 public:
  CheckContext(int threads, CheckState* step) : pool_(threads), step_(step) {}
  const std::string& op_type() const override { return type_; }
  const std::string& op_name() const override { return type_; }
  int opset() const override { return 1; }
  const Attributes& attrs() const override { return attrs_; }
  int num_inputs() const override { return static_cast<int>(inputs_.size()); }
  const Tensor* input(int i) const override { return i < num_inputs() ? &inputs_[i] : nullptr; }
  const Value* input_value(int) const override { return nullptr; }
  int num_outputs() const override { return 1; }
  Tensor* output(int) override { return nullptr; }
  Status output(int i, const std::vector<int64_t>& shape, Tensor** out) override {
    if (i != 0) return Status::Error("one output");
    out_.dtype = out_dtype_;
    out_.shape = shape;
    out_mem_.assign(out_.bytes(), 0);
    out_.data = out_mem_.data();
    *out = &out_;
    return Status::Ok();
  }
  Status set_output_value(int, Value) override { return Status::Error("n/a"); }
  void* scratch(size_t bytes) override {
    scratch_.emplace_back(bytes);
    return scratch_.back().data();
  }
  Status allocate(DType, const std::vector<int64_t>&, OwnedTensor*) override { return Status::Error("n/a"); }
  int num_threads() const override { return pool_.size(); }
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) override {
    pool_.parallel_for(n, grain, fn);
  }
  Status run_subgraph(int, const std::vector<const Value*>&, std::vector<Value>*) override { return Status::Error("n/a"); }
  StepState* step_state() override { return step_; }

  Attributes attrs_;
  std::vector<Tensor> inputs_;
  DType out_dtype_ = DType::kF32;
  Tensor out_;

 private:
  ThreadPool pool_;
  CheckState* step_;
  std::string type_ = "PagedAttention";
  std::vector<char> out_mem_;
  std::vector<std::vector<char>> scratch_;
};

Attribute int_attr(int64_t v) {
  Attribute a;
  a.kind = Attribute::Kind::kInt;
  a.i = v;
  return a;
}

// Values the cache's type holds exactly, so that the reference sees what the kernel reads.
float rounded(DType t, float v) {
  if (t == DType::kF16) return ku::half_to_float(ku::float_to_half(v));
  if (t == DType::kBF16) return ku::bf16_to_float(ku::float_to_bf16(v));
  return v;
}

void store(DType t, void* base, size_t at, float v) {
  if (t == DType::kF32) static_cast<float*>(base)[at] = v;
  else if (t == DType::kF16) static_cast<uint16_t*>(base)[at] = ku::float_to_half(v);
  else static_cast<uint16_t*>(base)[at] = ku::float_to_bf16(v);
}

float load(DType t, const void* base, size_t at) {
  if (t == DType::kF32) return static_cast<const float*>(base)[at];
  if (t == DType::kF16) return ku::half_to_float(static_cast<const uint16_t*>(base)[at]);
  return ku::bf16_to_float(static_cast<const uint16_t*>(base)[at]);
}

// Runs one case; returns the largest error relative to the output's scale (−1: the kernel failed).
double run_case(const Case& c, int threads, std::mt19937& rng, std::string* error) {
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  const int64_t H = c.H, KVH = c.KVH, D = c.D, ps = c.page_size, group = H / KVH;
  const DType dt = c.dtype;
  const size_t es = dtype_bytes(dt, 1);
  // every sequence's K/V rows by position, [seq][kv head][position][D], the past ones in the pages
  std::vector<std::vector<float>> K(c.seqs.size()), V(c.seqs.size());
  int64_t pages_needed = 0, T = 0;
  for (size_t s = 0; s < c.seqs.size(); ++s) {
    const int64_t n = c.seqs[s].past + c.seqs[s].tokens;
    pages_needed += (n + ps - 1) / ps;
    T += c.seqs[s].tokens;
    K[s].resize(static_cast<size_t>(KVH * n * D));
    V[s].resize(K[s].size());
    for (auto& x : K[s]) x = rounded(dt, dist(rng));
    for (auto& x : V[s]) x = rounded(dt, dist(rng));
  }
  const int64_t pool_pages = pages_needed + 3;
  std::vector<int32_t> order(static_cast<size_t>(pool_pages));
  for (int64_t p = 0; p < pool_pages; ++p) order[p] = static_cast<int32_t>(p);
  std::shuffle(order.begin(), order.end(), rng);
  CheckState step;
  step.tokens = static_cast<int>(T);
  const size_t page_elems = static_cast<size_t>(KVH * ps * D);
  std::vector<std::vector<char>> pools(2, std::vector<char>(page_elems * pool_pages * es));
  for (int i = 0; i < 2; ++i) {
    StateStorage st;
    st.data = pools[i].data();
    st.dtype = dt;
    st.page_size = static_cast<int32_t>(ps);
    st.outer = static_cast<int32_t>(KVH);
    st.inner = static_cast<int32_t>(D);
    st.pages = static_cast<int32_t>(pool_pages);
    step.stores.push_back(st);
  }
  std::vector<std::vector<int32_t>> tables(c.seqs.size());
  size_t next_page = 0;
  int32_t first = 0;
  auto slot = [&](size_t s, int64_t g, int64_t j) {
    return static_cast<size_t>(tables[s][j / ps]) * page_elems + static_cast<size_t>((g * ps + j % ps) * D);
  };
  for (size_t s = 0; s < c.seqs.size(); ++s) {
    const int64_t n = c.seqs[s].past + c.seqs[s].tokens;
    for (int64_t p = 0; p < (n + ps - 1) / ps; ++p) tables[s].push_back(order[next_page++]);
    for (int64_t g = 0; g < KVH; ++g)
      for (int64_t j = 0; j < c.seqs[s].past; ++j)
        for (int64_t d = 0; d < D; ++d) {
          const size_t src = static_cast<size_t>((g * n + j) * D + d);
          store(dt, pools[0].data(), slot(s, g, j) + d, K[s][src]);
          store(dt, pools[1].data(), slot(s, g, j) + d, V[s][src]);
        }
    StepSequence sq;
    sq.pages = tables[s].data();
    sq.num_pages = static_cast<int32_t>(tables[s].size());
    sq.past = c.seqs[s].past;
    sq.tokens = c.seqs[s].tokens;
    sq.first_token = first;
    first += c.seqs[s].tokens;
    step.seqs.push_back(sq);
  }
  // the step's inputs: queries and the new tokens' K/V in the layout
  const bool bhsd = c.layout == "bhsd", packed = c.layout == "packed";
  std::vector<float> Q(static_cast<size_t>(T * H * D));
  for (auto& x : Q) x = rounded(dt, dist(rng));
  auto q_at = [&](int64_t t, int64_t h) -> size_t {
    if (bhsd) return static_cast<size_t>((h * T + t) * D);
    return static_cast<size_t>((t * (packed ? H + 2 * KVH : H) + h) * D);
  };
  auto kv_at = [&](int64_t t, int64_t g, bool v) -> size_t {
    if (bhsd) return static_cast<size_t>((g * T + t) * D);
    if (packed) return static_cast<size_t>((t * (H + 2 * KVH) + H + (v ? KVH : 0) + g) * D);
    return static_cast<size_t>((t * KVH + g) * D);
  };
  const int64_t qn = packed ? T * (H + 2 * KVH) * D : T * H * D, kn = T * KVH * D;
  std::vector<char> qbuf(static_cast<size_t>(qn) * es), kbuf(static_cast<size_t>(kn) * es), vbuf(kbuf.size());
  for (size_t s = 0, t0 = 0; s < c.seqs.size(); t0 += c.seqs[s].tokens, ++s) {
    const int64_t n = c.seqs[s].past + c.seqs[s].tokens;
    for (int64_t i = 0; i < c.seqs[s].tokens; ++i) {
      const int64_t t = static_cast<int64_t>(t0) + i, j = c.seqs[s].past + i;
      for (int64_t h = 0; h < H; ++h)
        for (int64_t d = 0; d < D; ++d) store(dt, qbuf.data(), q_at(t, h) + d, Q[static_cast<size_t>((t * H + h) * D + d)]);
      for (int64_t g = 0; g < KVH; ++g)
        for (int64_t d = 0; d < D; ++d) {
          const size_t src = static_cast<size_t>((g * n + j) * D + d);
          store(dt, packed ? qbuf.data() : kbuf.data(), kv_at(t, g, false) + d, K[s][src]);
          store(dt, packed ? qbuf.data() : vbuf.data(), kv_at(t, g, true) + d, V[s][src]);
        }
    }
  }
  CheckContext ctx(threads, &step);
  ctx.out_dtype_ = dt;
  Attribute layout;
  layout.kind = Attribute::Kind::kString;
  layout.s = c.layout;
  ctx.attrs_.items = {{"layout", layout},      {"num_heads", int_attr(H)}, {"kv_num_heads", int_attr(KVH)},
                      {"head_size", int_attr(D)}, {"k_state", int_attr(0)},  {"v_state", int_attr(1)}};
  auto tensor = [&](std::vector<char>& buf, std::vector<int64_t> shape) {
    Tensor t;
    t.dtype = dt;
    t.shape = std::move(shape);
    t.data = buf.data();
    return t;
  };
  if (bhsd) {
    ctx.inputs_ = {tensor(qbuf, {1, H, T, D}), tensor(kbuf, {1, KVH, T, D}), tensor(vbuf, {1, KVH, T, D})};
  } else if (packed) {
    ctx.inputs_ = {tensor(qbuf, {1, T, (H + 2 * KVH) * D})};
  } else {
    ctx.inputs_ = {tensor(qbuf, {1, T, H * D}), tensor(kbuf, {1, T, KVH * D}), tensor(vbuf, {1, T, KVH * D})};
  }
  KernelFn fn = find_kernel("fleetc", "PagedAttention");
  if (!fn) {
    *error = "fleetc.PagedAttention is not registered";
    return -1;
  }
  Status st = fn(ctx);
  if (!st.ok()) {
    *error = st.message;
    return -1;
  }
  // reference: causal softmax over positions 0 … past + i, in float64
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  double worst = 0;
  for (size_t s = 0, t0 = 0; s < c.seqs.size(); t0 += c.seqs[s].tokens, ++s) {
    const int64_t n = c.seqs[s].past + c.seqs[s].tokens;
    for (int64_t g = 0; g < KVH; ++g)  // the new rows are in the pages
      for (int64_t j = c.seqs[s].past; j < n; ++j)
        for (int64_t d = 0; d < D; ++d) {
          const size_t src = static_cast<size_t>((g * n + j) * D + d);
          if (load(dt, pools[0].data(), slot(s, g, j) + d) != K[s][src] || load(dt, pools[1].data(), slot(s, g, j) + d) != V[s][src]) {
            *error = "a new token's K/V row is not in its page";
            return -1;
          }
        }
    for (int64_t i = 0; i < c.seqs[s].tokens; ++i) {
      const int64_t t = static_cast<int64_t>(t0) + i, keys = c.seqs[s].past + i + 1;
      for (int64_t h = 0; h < H; ++h) {
        const int64_t g = h / group;
        std::vector<double> p(static_cast<size_t>(keys));
        double mx = -1e300, sum = 0;
        for (int64_t j = 0; j < keys; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < D; ++d)
            dot += double(Q[static_cast<size_t>((t * H + h) * D + d)]) * K[s][static_cast<size_t>((g * n + j) * D + d)];
          p[j] = dot * scale;
          mx = std::max(mx, p[j]);
        }
        for (auto& x : p) sum += (x = std::exp(x - mx));
        for (int64_t d = 0; d < D; ++d) {
          double o = 0;
          for (int64_t j = 0; j < keys; ++j) o += p[j] / sum * V[s][static_cast<size_t>((g * n + j) * D + d)];
          const size_t at = bhsd ? static_cast<size_t>((h * T + t) * D + d) : static_cast<size_t>((t * H + h) * D + d);
          // outputs are averages of values in [−1, 1]: an absolute error is relative to their scale
          worst = std::max(worst, std::abs(o - load(dt, ctx.out_.data, at)));
        }
      }
    }
  }
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::max(1, atoi(argv[1])) : 2;
  std::mt19937 rng(11);
  // decode steps: one token per sequence, contexts long enough to be split (≥ 512 keys a range)
  // next to short ones whose later ranges are empty; prefill chunks: many tokens of one sequence
  const std::vector<Sequence> decode = {{2500, 1}, {700, 1}, {4, 1}};
  const std::vector<Sequence> one_long = {{1900, 1}};
  const std::vector<Sequence> short_ones = {{100, 1}, {30, 1}};  // too short to split: KV heads in groups
  const std::vector<Sequence> chunks = {{300, 37}, {0, 9}};
  const std::vector<Case> cases = {
      {"decode f32 bhsd D=64 group 2", "bhsd", 8, 4, 64, 16, DType::kF32, decode},
      {"decode f32 bsd D=64 one sequence, group 1", "bsd", 4, 4, 64, 16, DType::kF32, one_long},
      {"decode f32 packed D=20 group 4 pages of 7", "packed", 8, 2, 20, 7, DType::kF32, decode},
      {"decode f16 bhsd D=40 group 2", "bhsd", 4, 2, 40, 16, DType::kF16, decode},
      {"decode bf16 bsd D=64 group 3", "bsd", 6, 2, 64, 16, DType::kBF16, one_long},
      {"decode short contexts f32 bhsd D=32 group 2", "bhsd", 6, 3, 32, 16, DType::kF32, short_ones},
      {"prefill chunks f32 bsd D=64 group 2", "bsd", 4, 2, 64, 16, DType::kF32, chunks},
      {"prefill chunks f16 packed D=13 group 1", "packed", 3, 3, 13, 5, DType::kF16, chunks},
  };
  bool ok = true;
  for (const Case& c : cases) {
    std::string error;
    const double err = run_case(c, threads, rng, &error);
    // float32 sums of ≤ 2500 terms; half-precision outputs round to 2^-11 / 2^-8 of their scale
    const double tol = c.dtype == DType::kF32 ? 1e-6 : c.dtype == DType::kF16 ? 2e-3 : 1.6e-2;
    const bool pass = err >= 0 && err <= tol;
    ok = ok && pass;
    printf("{\"case\":\"%s\",\"threads\":%d,\"simd\":\"%s\",\"max_abs_err\":%.3e,\"tolerance\":%.1e,\"ok\":%s%s%s%s}\n",
           c.name.c_str(), threads, kernel_simd(), err, tol, pass ? "true" : "false", error.empty() ? "" : ",\"error\":\"",
           error.c_str(), error.empty() ? "" : "\"");
  }
  return ok ? 0 : 1;
}
