#include "core/session.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "core/tensor_io.h"

namespace fleetrt {

bool Session::open(const std::string& plan_path, int threads, std::string* error) {
  if (!load_plan(plan_path, &plan_, error)) return false;
  if (plan_.devices.size() != 1) {
    *error = plan_path + ": the plan has " + std::to_string(plan_.devices.size()) +
             " devices; this fleetrt executes single-device plans only";
    return false;
  }
  if (!verify_bundles(plan_, error)) return false;
  const PlanDevice& dev = plan_.devices[0];
  if (!program_.load(dev.bundle_dir + "/program.bin", dev.bundle_dir + "/weights.bin", error)) return false;
  const uint64_t need = program_.weights.size() + program_.programs[0].arena_bytes;
  if (dev.capacity && need > dev.capacity) {
    *error = plan_path + ": device '" + dev.name + "' needs " + std::to_string(need) + " bytes (weights + arena) but its memory budget is " +
             std::to_string(dev.capacity);
    return false;
  }
  const int nthreads = threads > 0 ? threads : dev.threads;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  pool_ = std::make_unique<ThreadPool>(nthreads, /*spin=*/nthreads <= cores);
  exec_ = std::make_unique<Executor>(program_, *pool_);
  Status st = exec_->prepare();
  if (!st.ok()) {
    *error = plan_path + ": " + st.message;
    return false;
  }
  return true;
}

bool Session::load_inputs(const std::map<std::string, std::string>& named, const std::string& dir,
                          const std::vector<std::string>& files, std::vector<Value>* out, std::string* error) const {
  const ProgramDesc& D = main();
  out->assign(D.inputs.size(), Value());
  std::vector<bool> have(D.inputs.size(), false);
  for (const auto& kv : named) {
    size_t k = 0;
    while (k < D.inputs.size() && D.tensors[D.inputs[k]].name != kv.first) ++k;
    if (k == D.inputs.size()) {
      std::string names;
      for (uint32_t t : D.inputs) names += (names.empty() ? "" : ", ") + D.tensors[t].name;
      *error = "the model has no input '" + kv.first + "' (inputs: " + names + ")";
      return false;
    }
    if (!load_value(kv.second, static_cast<int>(D.tensors[D.inputs[k]].value_kind), &(*out)[k], error)) return false;
    have[k] = true;
  }
  for (size_t k = 0; k < D.inputs.size(); ++k) {
    if (have[k]) continue;
    std::string path;
    if (k < files.size()) {
      path = files[k];
    } else {
      path = input_file_in(dir, k);
    }
    if (path.empty()) {
      *error = "no value for input '" + D.tensors[D.inputs[k]].name + "' (#" + std::to_string(k) + ")";
      return false;
    }
    if (!load_value(path, static_cast<int>(D.tensors[D.inputs[k]].value_kind), &(*out)[k], error)) return false;
  }
  return true;
}

bool Session::random_inputs(uint64_t seed, std::vector<Value>* out, std::string* error) const {
  const ProgramDesc& D = main();
  std::vector<int64_t> vals(program_.symbols.size());
  std::vector<uint8_t> bound(program_.symbols.size());
  for (size_t s = 0; s < vals.size(); ++s) {
    vals[s] = program_.symbols[s].planned >= 0 ? program_.symbols[s].planned : 1;
    bound[s] = 1;
  }
  uint64_t state = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  out->clear();
  for (uint32_t t : D.inputs) {
    const TensorDesc& T = D.tensors[t];
    if (T.value_kind != ValueKind::kTensor || T.rank < 0) {
      *error = "cannot make a random value for input '" + T.name + "' (not a ranked tensor)";
      return false;
    }
    std::vector<int64_t> shape;
    for (uint32_t e : T.shape) {
      int64_t v;
      if (!program_.eval(e, vals.data(), bound.data(), &v) || v < 0) v = 1;
      shape.push_back(v);
    }
    Value v;
    v.kind = Value::Kind::kTensor;
    if (!alloc_owned(T.dtype, shape, &v.tensor, error)) return false;
    fill_random(v.tensor.view, &state);
    out->push_back(std::move(v));
  }
  return true;
}

bool Session::run(const std::vector<Value>& inputs, std::vector<Value>* outputs, RunStats* stats, bool trace, std::string* error,
                  bool* bad_input) {
  Status st = exec_->run(inputs, outputs, stats, trace);
  if (!st.ok()) *error = st.message;
  if (bad_input) *bad_input = st.code == kStatusBadInput;
  return st.ok();
}

bool Session::write_outputs(const std::string& dir, const std::vector<Value>& outputs, std::string* error) const {
  ::mkdir(dir.c_str(), 0777);
  const ProgramDesc& D = main();
  for (size_t i = 0; i < outputs.size() && i < D.outputs.size(); ++i) {
    if (!write_value(dir + "/" + safe_file_name(D.tensors[D.outputs[i]].name), outputs[i], error)) return false;
  }
  return true;
}

}  // namespace fleetrt
