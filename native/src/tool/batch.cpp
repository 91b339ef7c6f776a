#include "tool/batch.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "core/compare.h"
#include "core/json.h"
#include "core/session.h"
#include "core/tensor_io.h"

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
  Session s;
  if (!s.open(job.get_string("plan"), threads, &err)) return finish("error", err, "");
  std::vector<Value> inputs, outputs;
  if (!s.load_inputs({}, "", strings("inputs"), &inputs, &err)) return finish("error", err, "");
  if (!s.run(inputs, &outputs, nullptr, false, &err)) return finish("error", err, "");
  const std::string out_dir = job.get_string("outputDir");
  if (!out_dir.empty() && !s.write_outputs(out_dir, outputs, &err)) return finish("error", err, "");
  const std::vector<std::string> expected = strings("expected");
  if (expected.size() != outputs.size())
    return finish("error", "the model has " + std::to_string(outputs.size()) + " outputs, the test expects " + std::to_string(expected.size()), "");
  const double rtol = job.get_number("rtol", 1e-3), atol = job.get_number("atol", 1e-5);
  double worst_abs = 0, worst_rel = 0;
  std::string worst_name, first_fail;
  const ProgramDesc& D = s.main();
  for (size_t i = 0; i < expected.size(); ++i) {
    const std::string& name = D.tensors[D.outputs[i]].name;
    const TensorDesc& T = D.tensors[D.outputs[i]];
    Value want;
    if (!load_value(expected[i], static_cast<int>(T.value_kind), &want, &err)) return finish("error", err, "");
    CompareResult c = compare_values(outputs[i], want, rtol, atol);
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
