// Conv kernel microbenchmark: the layer shapes of torchvision ResNet-18, ResNet-50 and MobileNetV2
// at 224×224 (batch 1), each run through fleetrt's Conv kernel; GFLOP/s per layer (best of the
// repetitions, so that other load on the machine shows less) and per network (layers × count).
// usage: fleetrt_conv_bench [threads] [filter]     (filter: only layers whose name contains it)
// FLEETRT_BENCH_CMP=1: each layer by the direct kernels and by the packed GEMM in alternate
// repetitions of one process (both see the same load); with FLEETRT_BENCH_CMP_VAR=NAME instead,
// with the environment variable NAME unset and set to 1 (an experiment's switch, read per call).
// Prints the best time of each and its lower quartile and median. FLEETRT_BENCH_COLD=1 flushes the
// caches before each repetition; =input then reads the input back into them.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_ctx.h"
#include "kernels/nn_conv_blocked.h"

using namespace fleetrt;

namespace {

// The Conv kernel's view of one call: X, W, B in, Y out, attributes.
class ConvContext : public bench::PoolContext {
 public:
  ConvContext(int threads) : PoolContext(threads) {}
  std::vector<Tensor> in;
  Tensor out;
  Attributes at;
  const Attributes& attrs() const override { return at; }
  int num_inputs() const override { return static_cast<int>(in.size()); }
  const Tensor* input(int i) const override { return i < num_inputs() ? &in[i] : nullptr; }
  int num_outputs() const override { return 1; }
  Tensor* output(int i) override { return i == 0 ? &out : nullptr; }
  int opset() const override { return 17; }
  // W is the same on every repetition, as a model's weights are: the kernel may prepare it once
  // (FLEETRT_BENCH_NO_PREPARE=1: not, to compare).
  bool input_is_constant(int i) const override { return i == 1 && !std::getenv("FLEETRT_BENCH_NO_PREPARE"); }
  std::shared_ptr<void>* op_state() override { return &states[slot]; }
  std::shared_ptr<void> states[2];  // FLEETRT_BENCH_CMP: one per path
  int slot = 0;
};

struct Layer {
  const char* net;
  int count;  // how many times the network has this shape
  int64_t C, H, M, k, stride, group;
};

// torchvision at 224×224: (input channels, input size, output channels, kernel, stride, groups)
const std::vector<Layer> kLayers = {
    {"resnet18", 1, 3, 224, 64, 7, 2, 1},     {"resnet18", 4, 64, 56, 64, 3, 1, 1},
    {"resnet18", 1, 64, 56, 128, 3, 2, 1},    {"resnet18", 3, 128, 28, 128, 3, 1, 1},
    {"resnet18", 1, 64, 56, 128, 1, 2, 1},    {"resnet18", 1, 128, 28, 256, 3, 2, 1},
    {"resnet18", 3, 256, 14, 256, 3, 1, 1},   {"resnet18", 1, 128, 28, 256, 1, 2, 1},
    {"resnet18", 1, 256, 14, 512, 3, 2, 1},   {"resnet18", 3, 512, 7, 512, 3, 1, 1},
    {"resnet18", 1, 256, 14, 512, 1, 2, 1},
    {"resnet50", 1, 3, 224, 64, 7, 2, 1},     {"resnet50", 1, 64, 56, 64, 1, 1, 1},
    {"resnet50", 3, 64, 56, 64, 3, 1, 1},     {"resnet50", 4, 64, 56, 256, 1, 1, 1},
    {"resnet50", 2, 256, 56, 64, 1, 1, 1},    {"resnet50", 1, 256, 56, 128, 1, 1, 1},
    {"resnet50", 1, 128, 56, 128, 3, 2, 1},   {"resnet50", 4, 128, 28, 512, 1, 1, 1},
    {"resnet50", 1, 256, 56, 512, 1, 2, 1},   {"resnet50", 3, 512, 28, 128, 1, 1, 1},
    {"resnet50", 3, 128, 28, 128, 3, 1, 1},   {"resnet50", 1, 512, 28, 256, 1, 1, 1},
    {"resnet50", 1, 256, 28, 256, 3, 2, 1},   {"resnet50", 6, 256, 14, 1024, 1, 1, 1},
    {"resnet50", 1, 512, 28, 1024, 1, 2, 1},  {"resnet50", 5, 1024, 14, 256, 1, 1, 1},
    {"resnet50", 5, 256, 14, 256, 3, 1, 1},   {"resnet50", 1, 1024, 14, 512, 1, 1, 1},
    {"resnet50", 1, 512, 14, 512, 3, 2, 1},   {"resnet50", 3, 512, 7, 2048, 1, 1, 1},
    {"resnet50", 1, 1024, 14, 2048, 1, 2, 1}, {"resnet50", 2, 2048, 7, 512, 1, 1, 1},
    {"resnet50", 2, 512, 7, 512, 3, 1, 1},
    {"mobilenet_v2", 1, 3, 224, 32, 3, 2, 1},     {"mobilenet_v2", 1, 32, 112, 32, 3, 1, 32},
    {"mobilenet_v2", 1, 32, 112, 16, 1, 1, 1},    {"mobilenet_v2", 1, 16, 112, 96, 1, 1, 1},
    {"mobilenet_v2", 1, 96, 112, 96, 3, 2, 96},   {"mobilenet_v2", 1, 96, 56, 24, 1, 1, 1},
    {"mobilenet_v2", 2, 24, 56, 144, 1, 1, 1},    {"mobilenet_v2", 1, 144, 56, 144, 3, 1, 144},
    {"mobilenet_v2", 1, 144, 56, 24, 1, 1, 1},    {"mobilenet_v2", 1, 144, 56, 144, 3, 2, 144},
    {"mobilenet_v2", 1, 144, 28, 32, 1, 1, 1},    {"mobilenet_v2", 3, 32, 28, 192, 1, 1, 1},
    {"mobilenet_v2", 2, 192, 28, 192, 3, 1, 192}, {"mobilenet_v2", 2, 192, 28, 32, 1, 1, 1},
    {"mobilenet_v2", 1, 192, 28, 192, 3, 2, 192}, {"mobilenet_v2", 1, 192, 14, 64, 1, 1, 1},
    {"mobilenet_v2", 4, 64, 14, 384, 1, 1, 1},    {"mobilenet_v2", 4, 384, 14, 384, 3, 1, 384},
    {"mobilenet_v2", 3, 384, 14, 64, 1, 1, 1},    {"mobilenet_v2", 1, 384, 14, 96, 1, 1, 1},
    {"mobilenet_v2", 3, 96, 14, 576, 1, 1, 1},    {"mobilenet_v2", 2, 576, 14, 576, 3, 1, 576},
    {"mobilenet_v2", 2, 576, 14, 96, 1, 1, 1},    {"mobilenet_v2", 1, 576, 14, 576, 3, 2, 576},
    {"mobilenet_v2", 1, 576, 7, 160, 1, 1, 1},    {"mobilenet_v2", 3, 160, 7, 960, 1, 1, 1},
    {"mobilenet_v2", 3, 960, 7, 960, 3, 1, 960},  {"mobilenet_v2", 2, 960, 7, 160, 1, 1, 1},
    {"mobilenet_v2", 1, 960, 7, 320, 1, 1, 1},    {"mobilenet_v2", 1, 320, 7, 1280, 1, 1, 1},
};

// FLEETRT_BENCH_BLOCKED=1: the layer as a plain Conv and as a FusedConv with layout NCHW8c (its
// input and output blocked) in alternate repetitions; the outputs compared.
template <class Flush>
void compare_blocked(ConvContext& ctx, KernelFn conv, const char* name, double flops, int reps, std::vector<float>& x,
                     std::vector<float>& y, int64_t ysize, Flush&& flush_caches) {
  static const KernelFn fused = find_kernel("fleetc", "FusedConv");
  const int64_t C = ctx.in[0].shape[1], P = static_cast<int64_t>(x.size()) / C, M = ctx.out.shape[1];
  // 64-byte aligned, as the runtime's arena gives them (a misaligned vector store splits lines)
  auto aligned = [](size_t n) {
    return std::unique_ptr<float, decltype(&std::free)>(
        static_cast<float*>(std::aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64)), &std::free);
  };
  auto xb_buf = aligned(x.size()), yb_buf = aligned(ysize);
  float *xb = xb_buf.get(), *yb = yb_buf.get();
  std::vector<float> back(ysize);
  // a stem (C not a multiple of 8) reads its input plain
  const bool x_plain = C % 8 != 0;
  if (x_plain) std::copy(x.begin(), x.end(), xb);
  else blocked::to_blocked(x.data(), xb, P, 0, C / blocked::kBlock);
  Attribute layout, input_layout;
  layout.kind = input_layout.kind = Attribute::Kind::kString;
  layout.s = "NCHW8c";
  input_layout.s = "NCHW";
  std::vector<double> times[2];
  for (int r = 0; r < 3 * reps + 2; ++r) {
    const bool blocked = r % 2;
    ctx.slot = r % 2;
    ctx.in[0].data = blocked ? xb : x.data();
    ctx.out.data = blocked ? yb : y.data();
    if (blocked) ctx.at.items.push_back({"layout", layout});
    if (blocked && x_plain) ctx.at.items.push_back({"input_layout", input_layout});
    flush_caches();
    const double t0 = bench::now_s();
    const Status st = (blocked ? fused : conv)(ctx);
    const double t = bench::now_s() - t0;
    if (blocked) ctx.at.items.resize(ctx.at.items.size() - (x_plain ? 2 : 1));
    ctx.clear_scratch();
    if (!st.ok()) {
      fprintf(stderr, "%s: %s\n", name, st.message.c_str());
      std::exit(1);
    }
    if (r >= 2) times[r % 2].push_back(t);
  }
  ctx.in[0].data = x.data();
  ctx.out.data = y.data();
  blocked::to_plain(yb, back.data(), ysize / M, 0, M / blocked::kBlock);
  double err = 0;
  for (int64_t i = 0; i < ysize; ++i) err = std::max(err, static_cast<double>(std::fabs(back[i] - y[i])));
  for (auto& t : times) std::sort(t.begin(), t.end());
  printf("BLOCKED %-40s plain %6.3f ms (med %6.3f)  NCHW8c %6.3f ms (med %6.3f)  %5.2fx  %.1f GFLOP/s  max|diff| %.1e\n",
         name, times[0][0] * 1e3, times[0][times[0].size() / 2] * 1e3, times[1][0] * 1e3,
         times[1][times[1].size() / 2] * 1e3, times[0][times[0].size() / 2] / times[1][times[1].size() / 2],
         flops / times[1][0] / 1e9, err);
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::max(1, atoi(argv[1])) : 1;
  const std::string filter = argc > 2 ? argv[2] : "";
  KernelFn conv = find_kernel("", "Conv");
  if (!conv) {
    fprintf(stderr, "no Conv kernel\n");
    return 1;
  }
  ConvContext ctx(threads);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  printf("%d threads, kernels: %s; GFLOP/s = best of the repetitions\n", threads, kernel_simd());
  std::string net;
  double net_flops = 0, net_sec = 0;
  auto close_net = [&] {
    if (!net.empty() && net_sec > 0)
      printf("%-14s all conv layers: %.2f ms, %.1f GFLOP/s\n", net.c_str(), net_sec * 1e3, net_flops / net_sec / 1e9);
  };
  for (const Layer& L : kLayers) {
    char name[96];
    snprintf(name, sizeof name, "%s %lldx%lld c%lld->%lld k%lld s%lld g%lld", L.net, (long long)L.H, (long long)L.H,
             (long long)L.C, (long long)L.M, (long long)L.k, (long long)L.stride, (long long)L.group);
    if (!filter.empty() && std::string(name).find(filter) == std::string::npos) continue;
    if (net != L.net) {
      close_net();
      net = L.net;
      net_flops = net_sec = 0;
    }
    const int64_t pad = L.k / 2, OH = (L.H + 2 * pad - L.k) / L.stride + 1;
    std::vector<float> x(L.C * L.H * L.H), w(L.M * (L.C / L.group) * L.k * L.k), b(L.M), y(L.M * OH * OH);
    for (auto& v : x) v = d(rng);
    for (auto& v : w) v = d(rng) * 0.1f;
    for (auto& v : b) v = d(rng);
    ctx.in = {Tensor{DType::kF32, {1, L.C, L.H, L.H}, x.data()},
              Tensor{DType::kF32, {L.M, L.C / L.group, L.k, L.k}, w.data()}, Tensor{DType::kF32, {L.M}, b.data()}};
    ctx.out = Tensor{DType::kF32, {1, L.M, OH, OH}, y.data()};
    ctx.states[0].reset();
    ctx.states[1].reset();
    ctx.slot = 0;  // a new layer: what the last one prepared does not apply
    ctx.at.items.clear();
    Attribute a;
    a.kind = Attribute::Kind::kInts;
    a.ints = {L.stride, L.stride};
    ctx.at.items.push_back({"strides", a});
    a.ints = {pad, pad, pad, pad};
    ctx.at.items.push_back({"pads", a});
    a.ints = {L.k, L.k};
    ctx.at.items.push_back({"kernel_shape", a});
    Attribute gr;
    gr.i = L.group;
    ctx.at.items.push_back({"group", gr});
    const double flops = 2.0 * L.M * OH * OH * (L.C / L.group) * L.k * L.k;
    Status st = conv(ctx);
    if (!st.ok()) {
      fprintf(stderr, "%s: %s\n", name, st.message.c_str());
      return 1;
    }
    const char* reps_env = std::getenv("FLEETRT_BENCH_REPS");
    const int reps = reps_env ? std::max(1, atoi(reps_env)) : std::max(3, std::min(50, static_cast<int>(2e8 / flops)));
    double best = 1e9;
    // FLEETRT_BENCH_COLD=1: caches flushed before each repetition (the filters come from
    // memory, as in a model whose weights exceed the last-level cache)
    static std::vector<char> flush(std::getenv("FLEETRT_BENCH_COLD") ? size_t{64} << 20 : 0);
    // FLEETRT_BENCH_COLD=input: flushed, then the input read back (as in a model, where the layer
    // before has just written it and the output buffer was last touched a run ago)
    // =input,output: the output too (which part of the cold cost the output's lines are)
    static const char* cold = std::getenv("FLEETRT_BENCH_COLD");
    static const bool warm_input = cold && !std::strncmp(cold, "input", 5);
    static const bool warm_output = cold && std::strstr(cold, "output");
    auto flush_caches = [&] {
      for (size_t i = 0; i < flush.size(); i += 64) flush[i] = static_cast<char>(flush[i] + 1);
      volatile float sink = 0.f;
      float acc = 0.f;
      if (warm_input)
        for (size_t i = 0; i < x.size(); i += 16) acc += x[i];
      if (warm_output)
        for (size_t i = 0; i < y.size(); i += 16) acc += y[i];
      sink = acc;
      (void)sink;
    };
    if (std::getenv("FLEETRT_BENCH_BLOCKED")) {
      if ((L.C % 8 && (L.C > 8 || L.group != 1)) || L.M % 8) continue;
      compare_blocked(ctx, conv, name, flops, reps, x, y, L.M * OH * OH, flush_caches);
      continue;
    }
    if (const char* cmp = std::getenv("FLEETRT_BENCH_CMP")) {
      (void)cmp;
      const char* var = std::getenv("FLEETRT_BENCH_CMP_VAR");
      std::vector<double> times[2];
      for (int r = 0; r < 3 * reps; ++r) {
        if (!var) setenv("FLEETRT_CONV_PATH", r % 2 ? "gemm" : "direct", 1);
        else if (r % 2) setenv(var, "1", 1);
        else unsetenv(var);
        ctx.slot = r % 2;
        if (r < 2) (void)conv(ctx);
        flush_caches();
        double t0 = bench::now_s();
        (void)conv(ctx);
        times[r % 2].push_back(bench::now_s() - t0);
        ctx.clear_scratch();
      }
      if (var) unsetenv(var);
      for (auto& t : times) std::sort(t.begin(), t.end());
      const char* label[2] = {var ? "unset" : "direct", var ? "set" : "gemm"};
      printf("CMP %-44s", name);
      for (int i = 0; i < 2; ++i)
        printf(" %s %6.1f GFLOP/s (ms: min %.3f q25 %.3f med %.3f)", label[i], flops / times[i][0] / 1e9,
               times[i][0] * 1e3, times[i][times[i].size() / 4] * 1e3, times[i][times[i].size() / 2] * 1e3);
      printf("%s\n", times[1][0] < times[0][0] * 0.97 ? (var ? "  SET" : "  GEMM") : "");
      continue;
    }
    for (int r = 0; r < reps; ++r) {
      flush_caches();
      double t0 = bench::now_s();
      (void)conv(ctx);
      best = std::min(best, bench::now_s() - t0);
      ctx.clear_scratch();
    }
    printf("%-44s x%d  %8.3f ms  %6.1f GFLOP/s\n", name, L.count, best * 1e3, flops / best / 1e9);
    net_flops += L.count * flops;
    net_sec += L.count * best;
  }
  close_net();
  return 0;
}
