// fleetrt: runs a fleetc plan. See `fleetrt --help` and docs/plan-format.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "core/host_heap.h"
#include "core/json.h"
#include "core/mapped_file.h"
#include "engine/engine.h"
#include "engine/telemetry_writer.h"
#include "tool/batch.h"
#include "tool/engine_server.h"
#include "tool/measure_host.h"

#ifdef FLEETRT_HAVE_CUDA
namespace fleetrt {
std::string list_cuda_devices();  // backends/cuda/cuda_backend.cpp
namespace cuda {
const std::vector<std::string>* kernel_dtypes(const std::string& domain, const std::string& op_type);
}
}  // namespace fleetrt
#endif

using namespace fleetrt;

namespace {

const char* kUsage =
    "usage: fleetrt PLAN.json [--input NAME=FILE ...] [--inputs-dir DIR] [--random-inputs]\n"
    "                         --output-dir OUT [--trace FILE] [--metrics FILE] [--repeat N] [--warmup N] [--threads N]\n"
    "                         [--requests N] [--mpi]   (N requests in flight; --mpi: one device per rank under mpirun)\n"
    "                         [--summary-json]   (one JSON line on stdout: outputs, latency)\n"
    "       fleetrt PLAN.json --engine [--threads N] [--kv-pages N] [--max-batch-tokens N] [--no-prefix-cache]\n"
    "                         [--slowdown DEVICE=FACTOR[@STEP]] (test knob: a device takes FACTOR times its op time)\n"
    "                         [--signals] (a step event per step: busy per device, queue, routing)\n"
    "                         [--metrics FILE] [--trace FILE]\n"
    "                         (generation: JSON commands on stdin, one JSON event per line on stdout; docs/runtime.md)\n"
    "       fleetrt --batch [JOBS.jsonl|-] [--threads N]   (one JSON job per line; one JSON result per line)\n"
    "       fleetrt --list-backends | --list-devices | --list-kernels [--backend NAME]\n"
    "       fleetrt --measure-host [--threads-max N] [--quick]   (this machine's GEMM FLOP/s and bandwidth by threads,\n"
    "                         per-op dispatch and per-message seconds, through fleetrt's own kernels: one JSON line)\n"
    "inputs: .npy or ONNX TensorProto .pb; --inputs-dir reads input_0.npy|.pb, input_1... in graph-input order,\n"
    "        or <input name>.npy|.pb (as --output-dir writes outputs).\n"
    "outputs: OUT/<name>.npy (characters outside [A-Za-z0-9._-] become '_').\n";

// Exit codes (fleetc maps them to its diagnostics): 1 the run failed, 2 bad usage, 3 the plan or
// a bundle is invalid, 4 the inputs do not fit the model.
enum Exit { kExitRun = 1, kExitUsage = 2, kExitPlan = 3, kExitInput = 4 };

int fail(const std::string& msg, int code = kExitUsage) {
  std::fprintf(stderr, "fleetrt: error: %s\n", msg.c_str());
  return code;
}

bool parse_int(const char* s, int* out) {
  char* end;
  long v = std::strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < 0 || v > 1000000) return false;
  *out = static_cast<int>(v);
  return true;
}

struct RunArgs {
  std::string plan_path, inputs_dir, output_dir, trace_path, metrics_path;
  std::map<std::string, std::string> named;
  bool random = false, summary = false;
  int repeat = 1, threads = 0, requests = 1;
  int warmup = 0;  // runs before the measured ones, left out of the telemetry
};

int exit_code(const Status& st, int otherwise) {
  return st.code == kStatusBadInput ? kExitInput : st.code == kStatusBadPlan ? kExitPlan : otherwise;
}

// One-shot runs: the plan's graph on its inputs, `requests` passes in flight, `repeat` times. Under
// MPI this process runs one device; rank 0 gathers the figures and writes the telemetry.
int run_plan(const RunArgs& a, std::unique_ptr<Transport> tp) {
  Transport* t = tp.get();
  // Every rank checks; one rank's failure ends all of them with its message.
  auto sync = [&](const Status& st, int code) -> int {
    if (!t) return st.ok() ? 0 : fail(st.message, code);
    if (!st.ok()) {
      fail("rank " + std::to_string(t->rank()) + ": " + st.message, code);
      t->abort(code);
    }
    return t->all_ok(true) ? 0 : code;
  };
  {
    // A plan every rank can read the same way fails on every rank alike, without an abort.
    Plan head;
    std::string err;
    if (!load_plan(a.plan_path, &head, &err)) return fail(err, kExitPlan);
  }
  Engine engine;
  EngineOptions opts;
  opts.plan_path = a.plan_path;
  opts.threads = a.threads;
  opts.transport = std::move(tp);
  opts.trace = !a.trace_path.empty();
  Status st = engine.open(std::move(opts));
  if (int rc = sync(st, exit_code(st, kExitPlan))) return rc;
  std::vector<Value> inputs;
  st = a.random ? engine.random_inputs(1, &inputs) : engine.load_inputs(a.named, a.inputs_dir, {}, &inputs);
  if (int rc = sync(st, kExitInput)) return rc;
  std::vector<std::vector<Value>> outputs;
  // Warm-up runs (first-touch page faults, cold caches, pools waking) are run and then forgotten.
  for (int r = 0; r < a.warmup; ++r) {
    if (t) t->all_ok(true);
    std::vector<PassSpec> passes(a.requests);
    for (PassSpec& p : passes) p.inputs = inputs;
    st = engine.run(passes, &outputs);
    if (int rc = sync(st, exit_code(st, kExitRun))) return rc;
  }
  if (a.warmup > 0) engine.reset_telemetry();
  engine.reserve_telemetry(a.repeat * a.requests);
  // A benchmarking aid (scripts/bench/ab.ts): an experiment's switch, the environment variable
  // named here, unset and set to 1 in passes ordered unset, set, set, unset (repeating), so that
  // both arms of a change run in one process, in the model's own cache state, and neither is
  // always the first or second of a pair.
  const char* ab_var = std::getenv("FLEETRT_BENCH_AB_VAR");
  for (int r = 0; r < a.repeat; ++r) {
    if (ab_var && *ab_var) {
      if (r % 4 == 1 || r % 4 == 2) setenv(ab_var, "1", 1);
      else unsetenv(ab_var);
    }
    if (t) t->all_ok(true);  // start together: timestamps are compared across ranks
    std::vector<PassSpec> passes(a.requests);
    for (PassSpec& p : passes) p.inputs = inputs;
    st = engine.run(passes, &outputs);
    if (int rc = sync(st, exit_code(st, kExitRun))) return rc;
  }
  st = engine.write_outputs(a.output_dir, outputs[0]);
  if (int rc = sync(st, kExitRun)) return rc;
  std::string mine = "[";
  for (const auto& d : engine.devices())
    if (d->local) mine += (mine.size() > 1 ? "," : "") + device_fragment(engine, d->index, outputs[0], a.output_dir);
  mine += "]";
  std::string err;
  std::vector<std::string> all;
  if (!engine.transport().gather(mine, &all, &err)) return fail(err, kExitRun);
  if (engine.transport().rank() != 0) return 0;
  std::vector<Json> frags;
  for (const std::string& text : all) {
    Json j;
    if (!Json::parse(text, &j, &err)) return fail("device report: " + err, kExitRun);
    for (Json& f : j.arr) frags.push_back(std::move(f));
  }
  EngineReport rep;
  if (!engine_report(engine.plan(), frags, engine.transport().kind(), "", &rep, &err)) return fail(err, kExitRun);
  if (!a.trace_path.empty() && !write_file(a.trace_path, rep.trace.data(), rep.trace.size(), &err)) return fail(err, kExitRun);
  if (!a.metrics_path.empty() && !write_file(a.metrics_path, rep.metrics.data(), rep.metrics.size(), &err)) return fail(err, kExitRun);
  if (a.summary) std::fwrite(rep.summary.data(), 1, rep.summary.size(), stdout);
  return 0;
}

int list_backends() {
  for (const BackendEntry& e : backend_table()) std::printf("%-9s %s\n", e.name, e.summary);
  return 0;
}

// One JSON line per accelerator this fleetrt can run (fleetc's `--fleet local` reads them).
int list_devices() {
#ifdef FLEETRT_HAVE_CUDA
  std::fputs(list_cuda_devices().c_str(), stdout);
#endif
  return 0;
}

int list_kernels(const std::string& backend) {
  std::vector<std::string> names;
  for (const KernelEntry& e : all_kernels()) {
    if (!backend.empty() && backend != e.backend) continue;
    std::string name = std::string(*e.domain ? e.domain : "ai.onnx") + "." + e.op_type;
#ifdef FLEETRT_HAVE_CUDA
    // cuda kernels name the element types they take.
    if (std::string(e.backend) == "cuda")
      if (const std::vector<std::string>* dts = cuda::kernel_dtypes(e.domain, e.op_type)) {
        std::string list;
        for (const std::string& d : *dts) list += (list.empty() ? " " : ",") + d;
        name += list;
      }
#endif
    names.push_back(backend.empty() && std::string(e.backend) != "cpu" ? std::string(e.backend) + ":" + name : name);
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) std::puts(n.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  keep_freed_host_memory();
  std::unique_ptr<Transport> transport;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--mpi") == 0) {
      std::string err;
      transport = make_mpi_transport(&argc, &argv, &err);
      if (!transport) return fail(err, kExitUsage);
      break;
    }
  std::string plan_path, inputs_dir, output_dir, trace_path, metrics_path, batch_path, backend;
  std::map<std::string, std::string> named;
  bool random = false, batch = false, list = false, list_back = false, summary = false, engine = false;
  int repeat = 1, warmup = 0, threads = 0, requests = 1, kv_pages = -1, max_batch_tokens = 0;
  bool prefix_cache = true, signals = false;
  bool measure = false;
  MeasureHostArgs measure_args;
  std::vector<std::string> slowdown;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      std::string extras;
#ifdef FLEETRT_HAVE_MPI
      extras += ", mpi";
#endif
#ifdef FLEETRT_HAVE_CUDA
      extras += ", cuda";
#endif
      std::printf("fleetrt 0.2.0 (plan schema %d, program format 1%s)\n", kPlanSchemaVersion, extras.c_str());
      return 0;
    } else if (a == "--list-kernels") {
      list = true;
    } else if (a == "--engine") {
      engine = true;
    } else if (a == "--kv-pages") {
      if (!value(&v) || !parse_int(v.c_str(), &kv_pages) || kv_pages < 1) return fail("--kv-pages needs a positive integer");
    } else if (a == "--max-batch-tokens") {
      if (!value(&v) || !parse_int(v.c_str(), &max_batch_tokens) || max_batch_tokens < 1)
        return fail("--max-batch-tokens needs a positive integer");
    } else if (a == "--slowdown") {
      if (!value(&v)) return fail("--slowdown needs NAME=FACTOR[@STEP]");
      slowdown.push_back(v);
    } else if (a == "--signals") {
      signals = true;
    } else if (a == "--no-prefix-cache") {
      prefix_cache = false;
    } else if (a == "--measure-host") {
      measure = true;
    } else if (a == "--threads-max") {
      if (!value(&v) || !parse_int(v.c_str(), &measure_args.threads_max) || measure_args.threads_max < 1 ||
          measure_args.threads_max > 1024)
        return fail("--threads-max needs a positive integer");
    } else if (a == "--quick") {
      measure_args.quick = true;
    } else if (a == "--list-backends") {
      list_back = true;
    } else if (a == "--list-devices") {
      return list_devices();
    } else if (a == "--backend") {
      if (!value(&backend)) return fail("--backend needs a backend name");
    } else if (a == "--input") {
      if (!value(&v)) return fail("--input needs NAME=FILE");
      size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0) return fail("--input needs NAME=FILE, got '" + v + "'");
      named[v.substr(0, eq)] = v.substr(eq + 1);
    } else if (a == "--inputs-dir") {
      if (!value(&inputs_dir)) return fail("--inputs-dir needs a folder");
    } else if (a == "--mpi") {
      // handled above
    } else if (a == "--requests") {
      if (!value(&v) || !parse_int(v.c_str(), &requests) || requests < 1 || requests > 4096) return fail("--requests needs a positive integer");
    } else if (a == "--summary-json") {
      summary = true;
    } else if (a == "--random-inputs") {
      random = true;
    } else if (a == "--output-dir") {
      if (!value(&output_dir)) return fail("--output-dir needs a folder");
    } else if (a == "--trace") {
      if (!value(&trace_path)) return fail("--trace needs a file");
    } else if (a == "--metrics") {
      if (!value(&metrics_path)) return fail("--metrics needs a file");
    } else if (a == "--repeat") {
      if (!value(&v) || !parse_int(v.c_str(), &repeat) || repeat < 1) return fail("--repeat needs a positive integer");
    } else if (a == "--warmup") {
      if (!value(&v) || !parse_int(v.c_str(), &warmup) || warmup < 0) return fail("--warmup needs a non-negative integer");
    } else if (a == "--threads") {
      if (!value(&v) || !parse_int(v.c_str(), &threads) || threads < 1 || threads > 1024) return fail("--threads needs a positive integer");
    } else if (a == "--batch") {
      batch = true;
      if (i + 1 < argc && argv[i + 1][0] != '-') batch_path = argv[++i];
      else if (i + 1 < argc && std::strcmp(argv[i + 1], "-") == 0) ++i;
    } else if (!a.empty() && a[0] == '-') {
      return fail("unknown option '" + a + "'\n" + kUsage);
    } else if (plan_path.empty()) {
      plan_path = a;
    } else {
      return fail("unexpected argument '" + a + "'");
    }
  }
  if (measure) return run_measure_host(measure_args);
  if (list_back) return list_backends();
  if (list) return list_kernels(backend);
  if (batch) return run_batch(batch_path, threads);
  if (plan_path.empty()) return fail(std::string("no plan given\n") + kUsage);
  if (engine)
    return run_engine_server(
        EngineServerArgs{plan_path, trace_path, metrics_path, threads, kv_pages, max_batch_tokens, prefix_cache, slowdown, signals},
        std::move(transport));
  if (output_dir.empty()) return fail("--output-dir is required");
  RunArgs ra{plan_path, inputs_dir, output_dir, trace_path, metrics_path, named, random, summary, repeat, threads, requests, warmup};
  return run_plan(ra, std::move(transport));
}
