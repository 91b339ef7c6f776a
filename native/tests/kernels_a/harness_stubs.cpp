// Stub kernel registry and dtype helpers for the kernels-A harness and benches (the real ones
// belong to the fleetrt core).
#include <string>
#include <vector>

#include "fleetrt/kernel.h"

namespace fleetrt {

static std::vector<KernelEntry>& table() {
  static std::vector<KernelEntry> t;
  return t;
}
bool register_kernel(const char* domain, const char* op_type, KernelFn fn) {
  table().push_back({domain, op_type, fn});
  return true;
}
KernelFn find_kernel(const std::string& domain, const std::string& op_type) {
  std::string d = domain == "ai.onnx" ? "" : domain;
  for (auto& e : table())
    if (d == e.domain && op_type == e.op_type) return e.fn;
  return nullptr;
}
const std::vector<KernelEntry>& all_kernels() { return table(); }

size_t dtype_bits(DType t) {
  switch (t) {
    case DType::kF32: case DType::kI32: case DType::kU32: return 32;
    case DType::kU8: case DType::kI8: case DType::kBool: return 8;
    case DType::kF8E4M3FN: case DType::kF8E4M3FNUZ: case DType::kF8E5M2: case DType::kF8E5M2FNUZ:
    case DType::kF8E8M0: return 8;
    case DType::kU16: case DType::kI16: case DType::kF16: case DType::kBF16: return 16;
    case DType::kI64: case DType::kU64: case DType::kF64: case DType::kC64: return 64;
    case DType::kC128: return 128;
    case DType::kString: return sizeof(std::string) * 8;
    case DType::kU4: case DType::kI4: case DType::kF4E2M1: return 4;
    case DType::kU2: case DType::kI2: return 2;
    default: return 0;
  }
}
const char* dtype_name(DType t) {
  static const char* names[] = {"undefined", "float32", "uint8", "int8", "uint16", "int16", "int32", "int64",
                                "string", "bool", "float16", "float64", "uint32", "uint64", "complex64",
                                "complex128", "bfloat16", "float8e4m3fn", "float8e4m3fnuz", "float8e5m2",
                                "float8e5m2fnuz", "uint4", "int4", "float4e2m1", "float8e8m0"};
  int i = static_cast<int>(t);
  return i >= 0 && i <= 24 ? names[i] : "?";
}
size_t dtype_bytes(DType t, int64_t n) { return (dtype_bits(t) * static_cast<size_t>(n) + 7) / 8; }

}  // namespace fleetrt
