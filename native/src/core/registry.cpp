// The kernel table and the dtype helpers declared in fleetrt/kernel.h.
#include <string>
#include <vector>

#include "fleetrt/kernel.h"

namespace fleetrt {

namespace {
// Function-local static: registrations run during static initialisation of other translation
// units, in an order we do not control.
std::vector<KernelEntry>& table() {
  static std::vector<KernelEntry> t;
  return t;
}
}  // namespace

bool register_kernel(const char* domain, const char* op_type, KernelFn fn) {
  return register_backend_kernel("cpu", domain, op_type, fn);
}

bool register_backend_kernel(const char* backend, const char* domain, const char* op_type, KernelFn fn) {
  table().push_back(KernelEntry{domain, op_type, fn, backend});
  return true;
}

KernelFn find_backend_kernel(const std::string& backend, const std::string& domain, const std::string& op_type) {
  // ONNX spells the default domain both '' and 'ai.onnx'.
  const std::string d = domain == "ai.onnx" ? std::string() : domain;
  for (const KernelEntry& e : table())
    if (backend == e.backend && d == e.domain && op_type == e.op_type) return e.fn;
  return nullptr;
}

KernelFn find_kernel(const std::string& domain, const std::string& op_type) { return find_backend_kernel("cpu", domain, op_type); }

namespace {
struct PrepareEntry {
  const char* domain;
  const char* op_type;
  PrepareFn fn;
};
std::vector<PrepareEntry>& prepare_table() {
  static std::vector<PrepareEntry> t;
  return t;
}
}  // namespace

bool register_kernel_prepare(const char* domain, const char* op_type, PrepareFn fn) {
  prepare_table().push_back(PrepareEntry{domain, op_type, fn});
  return true;
}

PrepareFn find_kernel_prepare(const std::string& domain, const std::string& op_type) {
  const std::string d = domain == "ai.onnx" ? std::string() : domain;
  for (const PrepareEntry& e : prepare_table())
    if (d == e.domain && op_type == e.op_type) return e.fn;
  return nullptr;
}

const std::vector<KernelEntry>& all_kernels() { return table(); }

size_t dtype_bits(DType t) {
  switch (t) {
    case DType::kF32: case DType::kI32: case DType::kU32: return 32;
    case DType::kU8: case DType::kI8: case DType::kBool:
    case DType::kF8E4M3FN: case DType::kF8E4M3FNUZ: case DType::kF8E5M2: case DType::kF8E5M2FNUZ:
    case DType::kF8E8M0: return 8;
    case DType::kU16: case DType::kI16: case DType::kF16: case DType::kBF16: return 16;
    case DType::kI64: case DType::kU64: case DType::kF64: case DType::kC64: return 64;
    case DType::kC128: return 128;
    case DType::kU4: case DType::kI4: case DType::kF4E2M1: return 4;
    case DType::kU2: case DType::kI2: return 2;
    case DType::kString: return sizeof(std::string) * 8;
    case DType::kUndefined: return 0;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::kF32: return "float32";
    case DType::kU8: return "uint8";
    case DType::kI8: return "int8";
    case DType::kU16: return "uint16";
    case DType::kI16: return "int16";
    case DType::kI32: return "int32";
    case DType::kI64: return "int64";
    case DType::kString: return "string";
    case DType::kBool: return "bool";
    case DType::kF16: return "float16";
    case DType::kF64: return "float64";
    case DType::kU32: return "uint32";
    case DType::kU64: return "uint64";
    case DType::kC64: return "complex64";
    case DType::kC128: return "complex128";
    case DType::kBF16: return "bfloat16";
    case DType::kF8E4M3FN: return "float8e4m3fn";
    case DType::kF8E4M3FNUZ: return "float8e4m3fnuz";
    case DType::kF8E5M2: return "float8e5m2";
    case DType::kF8E5M2FNUZ: return "float8e5m2fnuz";
    case DType::kU4: return "uint4";
    case DType::kI4: return "int4";
    case DType::kF4E2M1: return "float4e2m1";
    case DType::kF8E8M0: return "float8e8m0";
    case DType::kU2: return "uint2";
    case DType::kI2: return "int2";
    case DType::kUndefined: return "undefined";
  }
  return "undefined";
}

size_t dtype_bytes(DType t, int64_t n) {
  if (n <= 0) return 0;
  return (dtype_bits(t) * static_cast<size_t>(n) + 7) / 8;
}

}  // namespace fleetrt
