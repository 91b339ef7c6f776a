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

#include "core/mapped_file.h"
#include "core/session.h"
#include "core/deployment.h"
#include "core/json.h"
#include "tool/batch.h"
#include "tool/fleet_telemetry.h"
#include "tool/telemetry.h"

using namespace fleetrt;

namespace {

const char* kUsage =
    "usage: fleetrt PLAN.json [--input NAME=FILE ...] [--inputs-dir DIR] [--random-inputs]\n"
    "                         --output-dir OUT [--trace FILE] [--metrics FILE] [--repeat N] [--threads N]\n"
    "                         [--requests N] [--mpi]   (N requests in flight; --mpi: one device per rank under mpirun)\n"
    "                         [--summary-json]   (one JSON line on stdout: outputs, latency)\n"
    "       fleetrt --batch [JOBS.jsonl|-] [--threads N]   (one JSON job per line; one JSON result per line)\n"
    "       fleetrt --list-kernels\n"
    "inputs: .npy or ONNX TensorProto .pb; --inputs-dir reads input_0.pb, input_1.pb ... in graph-input order.\n"
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

struct FleetArgs {
  std::string plan_path, inputs_dir, output_dir, trace_path, metrics_path;
  std::map<std::string, std::string> named;
  bool random = false, summary = false, mpi = false;
  int repeat = 1, threads = 0, requests = 1;
};

// Multi-device plans, several requests in flight, or one rank of an MPI run.
int run_fleet(const FleetArgs& a, std::unique_ptr<Transport> tp) {
  std::string err;
  Deployment dep;
  Transport* t = tp.get();
  const int only = t ? t->rank() : -1;
  // Under MPI every rank checks; one rank's failure ends all of them with its message.
  auto sync = [&](bool ok, const std::string& e, int code) -> int {
    if (!t) return ok ? 0 : fail(e, code);
    if (!ok) {
      fail("rank " + std::to_string(t->rank()) + ": " + e, code);
      t->abort(code);
    }
    return t->all_ok(true) ? 0 : code;
  };
  bool ok = dep.open(a.plan_path, a.threads, only, &err);
  if (ok && t && t->size() != static_cast<int>(dep.plan().devices.size())) {
    ok = false;
    err = a.plan_path + ": the plan has " + std::to_string(dep.plan().devices.size()) + " devices but mpirun started " +
          std::to_string(t->size()) + " ranks (use -np " + std::to_string(dep.plan().devices.size()) + ")";
  }
  if (int rc = sync(ok, err, kExitPlan)) return rc;
  dep.set_transport(std::move(tp));
  std::vector<Value> inputs;
  ok = a.random ? dep.random_inputs(1, &inputs, &err) : dep.load_inputs(a.named, a.inputs_dir, &inputs, &err);
  if (int rc = sync(ok, err, kExitInput)) return rc;
  std::vector<DeploymentStats> runs(a.repeat);
  std::vector<Value> outputs;
  const bool trace = !a.trace_path.empty();
  for (int r = 0; r < a.repeat; ++r) {
    if (t) t->all_ok(true);  // start together: timestamps are compared across ranks
    bool bad_input = false;
    ok = dep.run(a.requests, inputs, &outputs, &runs[r], trace, &err, &bad_input);
    if (int rc = sync(ok, err, bad_input ? kExitInput : kExitRun)) return rc;
  }
  ok = dep.write_outputs(a.output_dir, outputs, &err);
  if (int rc = sync(ok, err, kExitRun)) return rc;
  std::string mine = "[";
  for (const auto& d : dep.devices())
    if (d->local) mine += (mine.size() > 1 ? "," : "") + device_fragment(dep, runs, d->index, outputs, a.output_dir, trace);
  mine += "]";
  std::vector<std::string> all{mine};
  if (t && !t->gather(mine, &all, &err)) return fail(err, kExitRun);
  if (t && t->rank() != 0) return 0;
  std::vector<Json> frags;
  for (const std::string& text : all) {
    Json j;
    if (!Json::parse(text, &j, &err)) return fail("device report: " + err, kExitRun);
    for (Json& f : j.arr) frags.push_back(std::move(f));
  }
  FleetReport rep;
  if (!fleet_report(dep.plan(), frags, a.requests, a.repeat, t ? "mpi" : "inproc", &rep, &err)) return fail(err, kExitRun);
  if (trace && !write_file(a.trace_path, rep.trace.data(), rep.trace.size(), &err)) return fail(err, kExitRun);
  if (!a.metrics_path.empty() && !write_file(a.metrics_path, rep.metrics.data(), rep.metrics.size(), &err)) return fail(err, kExitRun);
  if (a.summary) std::fwrite(rep.summary.data(), 1, rep.summary.size(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::unique_ptr<Transport> transport;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--mpi") == 0) {
      std::string err;
      transport = make_mpi_transport(&argc, &argv, &err);
      if (!transport) return fail(err, kExitUsage);
      break;
    }
  std::string plan_path, inputs_dir, output_dir, trace_path, metrics_path, batch_path;
  std::map<std::string, std::string> named;
  bool random = false, batch = false, list = false, summary = false;
  int repeat = 1, threads = 0, requests = 1;
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
#ifdef FLEETRT_HAVE_MPI
      std::puts("fleetrt 0.1.0 (plan schema 1, program format 1, mpi)");
#else
      std::puts("fleetrt 0.1.0 (plan schema 1, program format 1)");
#endif
      return 0;
    } else if (a == "--list-kernels") {
      list = true;
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
  if (list) {
    std::vector<std::string> names;
    for (const KernelEntry& e : all_kernels()) names.push_back(std::string(*e.domain ? e.domain : "ai.onnx") + "." + e.op_type);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) std::puts(n.c_str());
    return 0;
  }
  if (batch) return run_batch(batch_path, threads);
  if (plan_path.empty()) return fail(std::string("no plan given\n") + kUsage);
  if (output_dir.empty()) return fail("--output-dir is required");

  std::string err;
  Plan head;
  if (!load_plan(plan_path, &head, &err)) return fail(err, kExitPlan);
  if (head.devices.size() > 1 || requests > 1 || transport) {
    FleetArgs fa{plan_path, inputs_dir, output_dir, trace_path, metrics_path, named, random, summary, transport != nullptr,
                 repeat, threads, requests};
    return run_fleet(fa, std::move(transport));
  }
  Session s;
  if (!s.open(plan_path, threads, &err)) return fail(err, kExitPlan);
  std::vector<Value> inputs;
  if (random) {
    if (!s.random_inputs(1, &inputs, &err)) return fail(err, kExitInput);
  } else if (!s.load_inputs(named, inputs_dir, {}, &inputs, &err)) {
    return fail(err, kExitInput);
  }
  std::vector<RunStats> runs(repeat);
  std::vector<Value> outputs;
  const bool trace = !trace_path.empty();
  for (int r = 0; r < repeat; ++r) {
    bool bad_input = false;
    if (!s.run(inputs, &outputs, &runs[r], trace, &err, &bad_input)) return fail(err, bad_input ? kExitInput : kExitRun);
  }
  if (!s.write_outputs(output_dir, outputs, &err)) return fail(err, kExitRun);
  if (trace) {
    std::string t = trace_json(s, runs);
    if (!write_file(trace_path, t.data(), t.size(), &err)) return fail(err, kExitRun);
  }
  if (!metrics_path.empty()) {
    std::string m = metrics_json(s, runs);
    if (!write_file(metrics_path, m.data(), m.size(), &err)) return fail(err, kExitRun);
  }
  if (summary) {
    std::string o = summary_json(s, runs, outputs, output_dir);
    std::fwrite(o.data(), 1, o.size(), stdout);
  }
  return 0;
}
