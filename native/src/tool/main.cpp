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
#include "tool/batch.h"
#include "tool/telemetry.h"

using namespace fleetrt;

namespace {

const char* kUsage =
    "usage: fleetrt PLAN.json [--input NAME=FILE ...] [--inputs-dir DIR] [--random-inputs]\n"
    "                         --output-dir OUT [--trace FILE] [--metrics FILE] [--repeat N] [--threads N]\n"
    "       fleetrt --batch [JOBS.jsonl|-] [--threads N]   (one JSON job per line; one JSON result per line)\n"
    "       fleetrt --list-kernels\n"
    "inputs: .npy or ONNX TensorProto .pb; --inputs-dir reads input_0.pb, input_1.pb ... in graph-input order.\n"
    "outputs: OUT/<name>.npy (characters outside [A-Za-z0-9._-] become '_').\n";

int fail(const std::string& msg) {
  std::fprintf(stderr, "fleetrt: error: %s\n", msg.c_str());
  return 1;
}

bool parse_int(const char* s, int* out) {
  char* end;
  long v = std::strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < 0 || v > 1000000) return false;
  *out = static_cast<int>(v);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string plan_path, inputs_dir, output_dir, trace_path, metrics_path, batch_path;
  std::map<std::string, std::string> named;
  bool random = false, batch = false, list = false;
  int repeat = 1, threads = 0;
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
      std::puts("fleetrt 0.1.0 (plan schema 1, program format 1)");
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
  Session s;
  if (!s.open(plan_path, threads, &err)) return fail(err);
  std::vector<Value> inputs;
  if (random) {
    if (!s.random_inputs(1, &inputs, &err)) return fail(err);
  } else if (!s.load_inputs(named, inputs_dir, {}, &inputs, &err)) {
    return fail(err);
  }
  std::vector<RunStats> runs(repeat);
  std::vector<Value> outputs;
  const bool trace = !trace_path.empty();
  for (int r = 0; r < repeat; ++r)
    if (!s.run(inputs, &outputs, &runs[r], trace, &err)) return fail(err);
  if (!s.write_outputs(output_dir, outputs, &err)) return fail(err);
  if (trace) {
    std::string t = trace_json(s, runs);
    if (!write_file(trace_path, t.data(), t.size(), &err)) return fail(err);
  }
  if (!metrics_path.empty()) {
    std::string m = metrics_json(s, runs);
    if (!write_file(metrics_path, m.data(), m.size(), &err)) return fail(err);
  }
  return 0;
}
