// A program built in memory for the host measurements (fleetrt --measure-host): the same Program
// the executor runs for a bundle's program.bin (inputs, weights mapped from a file, planned arena
// tensors, ops resolved to the registered kernels), without a bundle on disk.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/program.h"

namespace fleetrt {

class ProgramSketch {
 public:
  // Tensors of the main program, by index. Shapes are constant.
  int input(const std::string& name, DType dtype, const std::vector<int64_t>& shape);
  int weight(const std::string& name, const std::vector<float>& data, const std::vector<int64_t>& shape);
  int arena(const std::string& name, DType dtype, const std::vector<int64_t>& shape);
  void op(const std::string& op_type, const std::vector<int>& inputs, const std::vector<int>& outputs);
  void output(int tensor);

  // Fills *out (a fresh Program): expressions, liveness, arena offsets, and the weights written to
  // a temporary file in `dir` and mapped as weights.bin is (the file is removed once mapped).
  Status build(const std::string& dir, Program* out) const;

 private:
  struct Tensor {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    Storage storage;
    size_t weight = 0;  // index in weights_
  };
  struct Op {
    std::string type;
    std::vector<int> inputs, outputs;
  };
  std::vector<Tensor> tensors_;
  std::vector<Op> ops_;
  std::vector<int> inputs_, outputs_;
  std::vector<std::vector<float>> weights_;
};

}  // namespace fleetrt
