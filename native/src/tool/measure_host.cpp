// The host measurements, each through the code a plan runs:
//   gemm       float32 MatMul of n×n by an n×n weight (the packed-weight path models take), by
//              intra-op threads: 2n³ / time;
//   bandwidth  Relu over a float32 tensor far larger than the caches, arena to arena: bytes read
//              and written / time, by threads;
//   dispatch   a chain of Relu ops on 16 floats through Executor::run: time per op;
//   message    a 64-byte value sent back and forth between two devices over the in-process
//              transport, each side waiting as the engine's device loop waits: half a round trip.
// Throughput (gemm, bandwidth) is the least disturbed of its runs, as the kernel benchmarks take it:
// other work on the cores only ever slows a run down, and the cached profile should describe the
// machine, not the load of the moment (the median is printed beside it). Dispatch and message costs
// are medians: the wake-up and scheduling they include vary from op to op in a real run too.
#include "tool/measure_host.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/executor.h"
#include "core/json.h"
#include "core/tensor_io.h"
#include "engine/backend.h"
#include "engine/transport.h"
#include "tool/measure_program.h"

namespace fleetrt {

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string temp_dir() {
  const char* t = std::getenv("TMPDIR");
  return t && *t ? t : "/tmp";
}

Status make_input(const std::vector<int64_t>& shape, uint32_t seed, Value* out) {
  std::string err;
  out->kind = Value::Kind::kTensor;
  if (!alloc_owned(DType::kF32, shape, &out->tensor, &err)) return Status::Error(err);
  // xorshift, not <random>: the bandwidth input has 32 M elements
  uint32_t r = seed * 2654435761u + 1;
  float* x = out->tensor.view.as<float>();
  for (int64_t i = 0; i < out->tensor.view.numel(); ++i) {
    r ^= r << 13;
    r ^= r >> 17;
    r ^= r << 5;
    x[i] = static_cast<float>(r >> 8) * (2.f / 16777216.f) - 1.f;
  }
  return Status::Ok();
}

// Times `runs` runs of the program on `threads` threads after one warm-up run (first touch of the
// arena, weights packed): the seconds of every run. `check` looks at the last run's output (a view
// of the executor's arena, valid only here).
using CheckFn = std::function<Status(const float* out)>;
Status time_program(const Program& program, int threads, int cores, const std::vector<Value>& inputs, int runs,
                    const CheckFn& check, std::vector<double>* times) {
  std::unique_ptr<Backend> backend;
  FLEETRT_RETURN_IF_ERROR(open_backend("cpu", BackendConfig{"measure", "cpu", 0, 0}, &backend));
  ThreadPool pool(threads, /*spin=*/threads <= cores);  // as the engine sets its pools up
  Executor ex(program, pool, *backend);
  FLEETRT_RETURN_IF_ERROR(ex.prepare());
  ExecStats stats;  // the engine always keeps per-op times
  times->clear();
  std::vector<Value> outputs;
  for (int r = 0; r <= runs; ++r) {
    PassContext pc{r, &stats, false, 0, nullptr, 1};
    const double t0 = now_s();
    FLEETRT_RETURN_IF_ERROR(ex.run(inputs, &outputs, pc));
    if (r > 0) times->push_back(now_s() - t0);
  }
  if (outputs.size() != 1 || outputs.front().tensor.view.dtype != DType::kF32)
    return Status::Error("the measurement program gave no float32 output");
  return check(outputs.front().tensor.view.as<float>());
  return Status::Ok();
}

struct Point {
  int threads;
  double value;   // from the least disturbed run
  double median;  // from the median run
};

Status measure_gemm(int n, const std::vector<int>& thread_counts, int cores, int runs, std::vector<Point>* out) {
  ProgramSketch s;
  std::vector<float> b(static_cast<size_t>(n) * n);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  for (float& v : b) v = d(rng);
  const int A = s.input("A", DType::kF32, {n, n});
  const int B = s.weight("B", b, {n, n});
  const int C = s.arena("C", DType::kF32, {n, n});
  s.op("MatMul", {A, B}, {C});
  s.output(C);
  Program p;
  FLEETRT_RETURN_IF_ERROR(s.build(temp_dir(), &p));
  std::vector<Value> in(1);
  FLEETRT_RETURN_IF_ERROR(make_input({n, n}, 5, &in[0]));
  const float* a = in[0].tensor.view.as<float>();
  for (int t : thread_counts) {
    // a figure for a wrong product would be worthless: spot-check entries against a double sum
    auto check = [&](const float* c) {
      for (int k = 0; k < 16; ++k) {
        const int i = static_cast<int>(rng() % n), j = static_cast<int>(rng() % n);
        double ref = 0;
        for (int q = 0; q < n; ++q) ref += double(a[size_t(i) * n + q]) * b[size_t(q) * n + j];
        if (std::fabs(ref - c[size_t(i) * n + j]) > 1e-3 * (1 + std::sqrt(double(n))))
          return Status::Error("MatMul " + std::to_string(n) + "x" + std::to_string(n) + " gave a wrong entry (" +
                               std::to_string(c[size_t(i) * n + j]) + ", expected " + std::to_string(ref) + ")");
      }
      return Status::Ok();
    };
    std::vector<double> times;
    FLEETRT_RETURN_IF_ERROR(time_program(p, t, cores, in, runs, check, &times));
    const double flop = 2.0 * n * n * n;
    out->push_back({t, flop / *std::min_element(times.begin(), times.end()), flop / median(times)});
  }
  return Status::Ok();
}

Status measure_bandwidth(int64_t elems, const std::vector<int>& thread_counts, int cores, int runs,
                         std::vector<Point>* out) {
  const int64_t cols = 1024, rows = elems / cols;
  ProgramSketch s;
  const int X = s.input("X", DType::kF32, {rows, cols});
  const int Y = s.arena("Y", DType::kF32, {rows, cols});
  s.op("Relu", {X}, {Y});
  s.output(Y);
  Program p;
  FLEETRT_RETURN_IF_ERROR(s.build(temp_dir(), &p));
  std::vector<Value> in(1);
  FLEETRT_RETURN_IF_ERROR(make_input({rows, cols}, 7, &in[0]));
  const float* x = in[0].tensor.view.as<float>();
  for (int t : thread_counts) {
    auto check = [&](const float* y) {
      for (int64_t i = 0; i < rows * cols; i += 4099)
        if (y[i] != std::max(x[i], 0.f)) return Status::Error("Relu gave a wrong element at " + std::to_string(i));
      return Status::Ok();
    };
    std::vector<double> times;
    FLEETRT_RETURN_IF_ERROR(time_program(p, t, cores, in, runs, check, &times));
    const double bytes = 2.0 * rows * cols * sizeof(float);
    out->push_back({t, bytes / *std::min_element(times.begin(), times.end()), bytes / median(times)});
  }
  return Status::Ok();
}

Status measure_dispatch(int ops, int cores, int runs, double* seconds) {
  ProgramSketch s;
  int x = s.input("x", DType::kF32, {16});
  for (int i = 0; i < ops; ++i) {
    const int y = s.arena("t" + std::to_string(i), DType::kF32, {16});
    s.op("Relu", {x}, {y});
    x = y;
  }
  s.output(x);
  Program p;
  FLEETRT_RETURN_IF_ERROR(s.build(temp_dir(), &p));
  std::vector<Value> in(1);
  FLEETRT_RETURN_IF_ERROR(make_input({16}, 3, &in[0]));
  const float* x0 = in[0].tensor.view.as<float>();
  auto check = [&](const float* y) {
    for (int i = 0; i < 16; ++i)
      if (y[i] != std::max(x0[i], 0.f)) return Status::Error("a chain of Relu gave a wrong element");
    return Status::Ok();
  };
  std::vector<double> times;
  FLEETRT_RETURN_IF_ERROR(time_program(p, 1, cores, in, runs, check, &times));
  *seconds = median(times) / ops;
  return Status::Ok();
}

// Waits for a message to `device` as the engine's device loop does (epoch read, poll, wait), until
// `stop` is set.
Status receive(Transport& tp, int device, const std::atomic<bool>& stop, Message* m) {
  while (!stop.load()) {
    const uint64_t epoch = tp.epoch();
    bool got = false;
    std::string err;
    if (!tp.poll(device, m, &got, &err)) return Status::Error(err);
    if (got) return Status::Ok();
    tp.wait(device, epoch, 200000);
  }
  return Status::Error("stopped");
}

Status measure_message(int round_trips, int batches, double* seconds) {
  std::unique_ptr<Transport> tp = make_inproc_transport(2);
  Value v;
  FLEETRT_RETURN_IF_ERROR(make_input({16}, 1, &v));
  const int total = round_trips * batches + round_trips;  // the first batch warms up
  Status echo_status;
  std::atomic<bool> stop{false};
  std::thread echo([&] {
    for (int i = 0; i < total && echo_status.ok(); ++i) {
      Message m;
      echo_status = receive(*tp, 1, stop, &m);
      std::string err;
      m.from = 1;
      if (echo_status.ok() && !tp->send(0, std::move(m), &err)) echo_status = Status::Error(err);
    }
    if (!echo_status.ok() && !stop.exchange(true)) tp->wake();  // the other side stops waiting too
  });
  Status st;
  std::vector<double> per_message;
  for (int b = 0; b <= batches && st.ok(); ++b) {
    const double t0 = now_s();
    for (int i = 0; i < round_trips && st.ok(); ++i) {
      Message m;
      m.value = v;
      m.bytes = value_bytes(v);
      std::string err;
      if (!tp->send(1, std::move(m), &err)) st = Status::Error(err);
      else st = receive(*tp, 0, stop, &m);
    }
    if (b > 0) per_message.push_back((now_s() - t0) / (2.0 * round_trips));
  }
  if (!st.ok() && !stop.exchange(true)) tp->wake();
  echo.join();
  FLEETRT_RETURN_IF_ERROR(echo_status);
  FLEETRT_RETURN_IF_ERROR(st);
  *seconds = median(per_message);
  return Status::Ok();
}

// 1, 2, 3, 4, then doubling, and the last count itself.
std::vector<int> thread_counts(int max) {
  std::vector<int> v;
  for (int t = 1; t <= max; t = t < 4 ? t + 1 : t * 2) v.push_back(t);
  if (v.back() != max) v.push_back(max);
  return v;
}

std::string points_json(const std::vector<Point>& pts, const char* key, const std::string& extra) {
  std::string o = "[";
  for (size_t i = 0; i < pts.size(); ++i)
    o += std::string(i ? "," : "") + "{\"threads\":" + std::to_string(pts[i].threads) + ",\"" + key +
         "\":" + json_number(pts[i].value) + ",\"" + key + "Median\":" + json_number(pts[i].median) + extra + "}";
  return o + "]";
}

}  // namespace

int run_measure_host(const MeasureHostArgs& args) {
  const double t0 = now_s();
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int max = args.threads_max > 0 ? args.threads_max : cores;
  const std::vector<int> counts = thread_counts(max);
  // Full: products large enough to be compute-bound and buffers far past the last-level cache.
  const int n = args.quick ? 256 : 1024;
  const int64_t elems = args.quick ? (int64_t{1} << 21) : (int64_t{1} << 25);
  const int runs = args.quick ? 3 : 7;
  std::vector<Point> gemm, bandwidth;
  double dispatch = 0, message = 0;
  Status st = measure_gemm(n, counts, cores, runs, &gemm);
  if (st.ok()) st = measure_bandwidth(elems, counts, cores, runs, &bandwidth);
  if (st.ok()) st = measure_dispatch(args.quick ? 64 : 256, cores, args.quick ? 9 : 51, &dispatch);
  if (st.ok()) st = measure_message(args.quick ? 100 : 500, args.quick ? 3 : 9, &message);
  if (!st.ok()) {
    std::fprintf(stderr, "fleetrt: error: measuring the host: %s\n", st.message.c_str());
    return 1;
  }
  std::string o = "{\"format\":\"fleetrt-host-measurement\",\"version\":1";
  o += ",\"simd\":" + json_quote(kernel_simd());
  o += ",\"cores\":" + std::to_string(cores);
  o += ",\"quick\":" + std::string(args.quick ? "true" : "false");
  o += ",\"gemm\":" + points_json(gemm, "flops", ",\"n\":" + std::to_string(n));
  o += ",\"bandwidth\":" +
       points_json(bandwidth, "bytesPerSecond", ",\"bytes\":" + std::to_string(elems * 2 * sizeof(float)));
  o += ",\"dispatch\":" + json_number(dispatch);
  o += ",\"message\":" + json_number(message);
  o += ",\"seconds\":" + json_number(now_s() - t0) + "}\n";
  std::fputs(o.c_str(), stdout);
  return 0;
}

}  // namespace fleetrt
