// A loaded plan ready to run: plan.json checked, bundle verified, program loaded, kernels
// resolved, thread pool started. Used by the command line and by batch mode.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/executor.h"
#include "core/plan.h"
#include "core/program.h"
#include "core/thread_pool.h"

namespace fleetrt {

class Session {
 public:
  // threads <= 0: from the plan.
  bool open(const std::string& plan_path, int threads, std::string* error);

  const Plan& plan() const { return plan_; }
  const ProgramDesc& main() const { return program_.programs[0]; }
  const Program& program() const { return program_; }
  int threads() const { return pool_->size(); }

  // Loads inputs: by name (NAME=FILE) and/or from a folder (input_N.pb / .npy in graph-input
  // order); the result is in graph-input order. Missing inputs are an error.
  bool load_inputs(const std::map<std::string, std::string>& named, const std::string& dir,
                   const std::vector<std::string>& files, std::vector<Value>* out, std::string* error) const;
  // Deterministic pseudo-random inputs with the planned shapes (symbols at their planned values).
  bool random_inputs(uint64_t seed, std::vector<Value>* out, std::string* error) const;

  // *bad_input (optional) tells whether a failure was the inputs' fault (name, dtype, shape).
  bool run(const std::vector<Value>& inputs, std::vector<Value>* outputs, RunStats* stats, bool trace, std::string* error,
           bool* bad_input = nullptr);

  // Writes outputs as OUT/<name>.npy (sequences as <name>.<i>.npy).
  bool write_outputs(const std::string& dir, const std::vector<Value>& outputs, std::string* error) const;

 private:
  Plan plan_;
  Program program_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<Executor> exec_;
};

}  // namespace fleetrt
