#include "tool/batch.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "core/compare.h"
#include "core/json.h"
#include "core/tensor_io.h"
#include "engine/engine.h"

namespace fleetrt {

namespace {

std::string run_job(const Json& job, int threads) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string id = job.get_string("id");
  std::string out = "{\"id\":" + json_quote(id);
  auto finish = [&](const std::string& status, const std::string& message, const std::string& extra) {
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::string o = out + ",\"status\":\"" + status + "\"";
    if (!message.empty()) o += ",\"message\":" + json_quote(message);
    return o + extra + ",\"ms\":" + json_number(ms) + "}";
  };
  auto strings = [&](const char* key) {
    std::vector<std::string> v;
    const Json* a = job.get(key);
    if (a && a->is_array())
      for (const Json& x : a->arr)
        if (x.is_string()) v.push_back(x.str);
    return v;
  };
  std::string err;
  const int requests = static_cast<int>(job.get_number("requests", 1));
  Engine engine;
  EngineOptions opts;
  opts.plan_path = job.get_string("plan");
  opts.threads = threads;
  Status st = engine.open(std::move(opts));
  if (!st.ok()) return finish("error", st.message, "");
  std::vector<Value> inputs;
  st = engine.load_inputs({}, "", strings("inputs"), &inputs);
  if (!st.ok()) return finish("error", st.message, "");
  std::vector<PassSpec> passes(std::max(1, requests));
  for (PassSpec& p : passes) p.inputs = inputs;
  std::vector<std::vector<Value>> results;
  st = engine.run(passes, &results);
  if (!st.ok()) return finish("error", st.message, "");
  std::vector<Value>& outputs = results[0];
  const std::string out_dir = job.get_string("outputDir");
  if (!out_dir.empty() && !(st = engine.write_outputs(out_dir, outputs)).ok()) return finish("error", st.message, "");
  std::vector<const TensorDesc*> out_desc;
  for (size_t k = 0; k < outputs.size(); ++k) out_desc.push_back(engine.output_desc(k));
  // "expected": one item per graph output, in order: a file name, or an object
  // {"file"?: path, "output"?: index of another output to equal, "rtol"?, "atol"?, "ulp"?};
  // null skips that output.
  const Json* expected = job.get("expected");
  if (!expected || !expected->is_array()) return finish("error", "the job has no \"expected\" list", "");
  if (expected->arr.size() != outputs.size())
    return finish("error", "the model has " + std::to_string(outputs.size()) + " outputs, the test expects " + std::to_string(expected->arr.size()), "");
  const double rtol = job.get_number("rtol", 1e-3), atol = job.get_number("atol", 1e-5);
  double worst_abs = 0, worst_rel = 0;
  std::string worst_name, first_fail;
  for (size_t i = 0; i < expected->arr.size(); ++i) {
    const Json& item = expected->arr[i];
    if (item.is_null()) continue;
    if (!out_desc[i]) return finish("error", "output " + std::to_string(i) + " is not produced in this process", "");
    const TensorDesc& T = *out_desc[i];
    const std::string& name = T.name;
    std::string file = item.is_string() ? item.str : item.get_string("file");
    double r_tol = item.is_object() ? item.get_number("rtol", rtol) : rtol;
    double a_tol = item.is_object() ? item.get_number("atol", atol) : atol;
    double ulp = item.is_object() ? item.get_number("ulp", -1) : -1;
    Value want;
    const Value* ref = &want;
    if (!file.empty()) {
      if (!load_value(file, static_cast<int>(T.value_kind), &want, &err)) return finish("error", err, "");
    } else if (item.is_object() && item.get("output")) {
      double k = item.get_number("output", -1);
      if (k < 0 || k >= static_cast<double>(outputs.size())) return finish("error", "expected output index out of range", "");
      ref = &outputs[static_cast<size_t>(k)];
    } else {
      return finish("error", "expected item " + std::to_string(i) + " names neither a file nor an output", "");
    }
    CompareResult c = compare_values(outputs[i], *ref, r_tol, a_tol, ulp);
    if (c.worst_abs >= worst_abs) {
      worst_abs = c.worst_abs;
      worst_rel = c.worst_rel;
      worst_name = name;
    }
    if (!c.ok && first_fail.empty()) first_fail = "output '" + name + "': " + c.message;
  }
  std::string extra = ",\"worst\":{\"output\":" + json_quote(worst_name) + ",\"abs\":" + json_number(worst_abs) +
                      ",\"rel\":" + json_number(worst_rel) + "}";
  return finish(first_fail.empty() ? "pass" : "fail", first_fail, extra);
}

}  // namespace

int run_batch(const std::string& path, int threads) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (!path.empty() && path != "-") {
    file.open(path);
    if (!file) {
      std::fprintf(stderr, "fleetrt: error: %s: cannot open\n", path.c_str());
      return 1;
    }
    in = &file;
  }
  std::string line;
  while (std::getline(*in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json job;
    std::string err;
    std::string result;
    if (!Json::parse(line, &job, &err) || !job.is_object())
      result = "{\"id\":null,\"status\":\"error\",\"message\":" + json_quote("bad job line: " + err) + "}";
    else
      result = run_job(job, threads);
    std::fwrite(result.data(), 1, result.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace fleetrt
