#include "tool/measure_program.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

namespace fleetrt {

namespace {

uint64_t align64(uint64_t n) { return (n + 63) / 64 * 64; }

uint64_t bytes_of(DType dtype, const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return dtype_bytes(dtype, n);
}

}  // namespace

int ProgramSketch::input(const std::string& name, DType dtype, const std::vector<int64_t>& shape) {
  tensors_.push_back({name, dtype, shape, Storage::kInput, 0});
  inputs_.push_back(static_cast<int>(tensors_.size()) - 1);
  return inputs_.back();
}

int ProgramSketch::weight(const std::string& name, const std::vector<float>& data, const std::vector<int64_t>& shape) {
  weights_.push_back(data);
  tensors_.push_back({name, DType::kF32, shape, Storage::kWeight, weights_.size() - 1});
  return static_cast<int>(tensors_.size()) - 1;
}

int ProgramSketch::arena(const std::string& name, DType dtype, const std::vector<int64_t>& shape) {
  tensors_.push_back({name, dtype, shape, Storage::kArena, 0});
  return static_cast<int>(tensors_.size()) - 1;
}

void ProgramSketch::op(const std::string& op_type, const std::vector<int>& inputs, const std::vector<int>& outputs) {
  ops_.push_back({op_type, inputs, outputs});
}

void ProgramSketch::output(int tensor) { outputs_.push_back(tensor); }

Status ProgramSketch::build(const std::string& dir, Program* out) const {
  // Weights: one file laid out like weights.bin (64-byte aligned), mapped, then unlinked.
  std::vector<uint64_t> weight_offset(weights_.size(), 0);
  std::string blob;
  for (size_t w = 0; w < weights_.size(); ++w) {
    weight_offset[w] = align64(blob.size());
    blob.resize(weight_offset[w], '\0');
    blob.append(reinterpret_cast<const char*>(weights_[w].data()), weights_[w].size() * sizeof(float));
  }
  if (!blob.empty()) {
    std::string path = dir + "/fleetrt-measure-XXXXXX";
    std::vector<char> name(path.begin(), path.end());
    name.push_back('\0');
    const int fd = mkstemp(name.data());
    if (fd < 0) return Status::Error("cannot create a temporary file in " + dir + ": " + std::strerror(errno));
    FILE* f = fdopen(fd, "wb");
    const bool wrote = f && std::fwrite(blob.data(), 1, blob.size(), f) == blob.size();
    if (f) std::fclose(f);
    std::string err;
    const bool mapped = wrote && out->weights.open(name.data(), &err);
    unlink(name.data());
    if (!wrote) return Status::Error(std::string("cannot write ") + name.data());
    if (!mapped) return Status::Error(err);
  }

  std::map<int64_t, uint32_t> constants;
  auto expr = [&](int64_t v) {
    auto it = constants.find(v);
    if (it != constants.end()) return it->second;
    out->exprs.push_back({ExprCode{kPushConst, v}});
    const uint32_t id = static_cast<uint32_t>(out->exprs.size() - 1);
    constants[v] = id;
    return id;
  };

  out->programs.assign(1, ProgramDesc{});
  ProgramDesc& D = out->programs[0];
  D.name = "main";
  uint64_t arena_end = 0;
  for (const Tensor& t : tensors_) {
    TensorDesc T;
    T.name = t.name;
    T.dtype = t.dtype;
    T.storage = t.storage;
    T.rank = static_cast<int32_t>(t.shape.size());
    for (int64_t d : t.shape) T.shape.push_back(expr(d));
    const uint64_t bytes = bytes_of(t.dtype, t.shape);
    if (t.storage == Storage::kWeight) {
      T.a = weight_offset[t.weight];
      T.b = bytes;
    } else if (t.storage == Storage::kArena) {
      // each its own planned space: the sketches are chains, reuse would save nothing worth it
      T.a = arena_end;
      T.b = align64(bytes);
      arena_end += T.b;
    }
    D.tensors.push_back(std::move(T));
  }
  for (size_t i = 0; i < inputs_.size(); ++i) D.tensors[inputs_[i]].a = i;
  D.arena_bytes = arena_end;
  for (size_t o = 0; o < ops_.size(); ++o) {
    OpDesc op;
    op.name = ops_[o].type + "_" + std::to_string(o);
    op.op_type = ops_[o].type;
    op.opset = 13;
    for (int t : ops_[o].inputs) {
      op.inputs.push_back(t);
      D.tensors[t].last = std::max(D.tensors[t].last, static_cast<int32_t>(o));
    }
    for (int t : ops_[o].outputs) {
      op.outputs.push_back(t);
      D.tensors[t].first = static_cast<int32_t>(o);
    }
    D.ops.push_back(std::move(op));
  }
  for (int t : inputs_) D.inputs.push_back(static_cast<uint32_t>(t));
  for (int t : outputs_) {
    D.outputs.push_back(static_cast<uint32_t>(t));
    D.tensors[t].last = static_cast<int32_t>(ops_.size());  // alive to the end of the run
  }
  return Status::Ok();
}

}  // namespace fleetrt
