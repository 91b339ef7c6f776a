// The in-memory form of a bundle's program.bin (see docs/bundle-format.md), loaded with every
// offset, index and count bounds-checked so that a damaged or hostile file gives an error,
// never a crash.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "fleetrt/kernel.h"

namespace fleetrt {

enum class Storage : uint8_t {
  kNone = 0,     // a value no op reads (kept for names only)
  kArena = 1,    // a = offset in the planned arena, b = planned bytes
  kWeight = 2,   // a = offset in weights.bin, b = bytes
  kInput = 3,    // a = index in the program's inputs
  kOutput = 4,   // a = index in the program's outputs; its own buffer, valid after the run
  kDynamic = 5,  // heap, allocated when produced, freed after its last reader
  kOuter = 6,    // subgraphs: a = tensor id in the enclosing program
  kChannel = 7,  // a = channel endpoint index (multi-device plans)
};

enum class ValueKind : uint8_t { kTensor = 0, kSequence = 1, kOptional = 2 };

enum ExprOp : uint8_t {
  kPushConst = 1, kPushSym = 2, kAdd = 3, kSub = 4, kMul = 5, kFloorDiv = 6, kMod = 7, kMax = 8, kMin = 9,
};

struct ExprCode {
  uint8_t op;
  int64_t arg;  // constant, or symbol id
};

struct SymbolDesc {
  std::string name;
  uint8_t kind = 0;  // 0: bound from graph input shapes, 1: bound at run time by kernels
  int64_t planned = -1;
};

struct TensorDesc {
  std::string name;
  DType dtype = DType::kUndefined;
  ValueKind value_kind = ValueKind::kTensor;
  Storage storage = Storage::kNone;
  uint16_t flags = 0;
  int32_t rank = -1;            // -1: unknown
  std::vector<uint32_t> shape;  // expression ids
  uint64_t a = 0, b = 0;
  int32_t first = -1, last = -1;  // liveness: op indices (-1 = before the first op)
  // Weights and constants materialised at load time (string tensors only).
  std::shared_ptr<void> owned;
};

struct ConstDesc {
  Tensor view;  // points into weights.bin (or into `owned`)
  std::shared_ptr<void> owned;
};

struct OpDesc {
  std::string name, domain, op_type;
  int opset = 0;
  std::vector<int32_t> inputs, outputs;
  Attributes attrs;
  KernelFn fn = nullptr;
  // What the op's kernel prepared from its constant inputs (KernelContext::op_state).
  std::shared_ptr<void> state;
};

struct ChannelEndpoint {
  uint32_t tensor = 0, channel = 0;
  uint8_t direction = 0;
};

struct ProgramDesc {
  std::string name;
  std::vector<uint32_t> local_symbols;
  uint64_t arena_bytes = 0;
  std::vector<TensorDesc> tensors;
  std::vector<uint32_t> inputs, outputs;
  std::vector<OpDesc> ops;
  std::vector<ChannelEndpoint> channels;
  int parent = -1;  // enclosing program (-1 for the main program)
};

class Program {
 public:
  // Loads program.bin and maps weights.bin. Errors name the file and what is wrong.
  bool load(const std::string& program_path, const std::string& weights_path, std::string* error);

  std::vector<std::string> strings;
  std::vector<SymbolDesc> symbols;
  std::vector<std::vector<ExprCode>> exprs;
  std::vector<ProgramDesc> programs;
  MappedFile weights;

  // Evaluates expression `id` with the bindings; false if a symbol is unbound or it is invalid.
  bool eval(uint32_t id, const int64_t* values, const uint8_t* bound, int64_t* out) const;
  // If expression `id` is exactly one symbol, its id; else -1.
  int64_t single_symbol(uint32_t id) const;

 private:
  std::string program_bytes_;
  std::vector<std::shared_ptr<void>> keep_;  // decoded string constants
};

}  // namespace fleetrt
