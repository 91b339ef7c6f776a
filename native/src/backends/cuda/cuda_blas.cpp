#include "backends/cuda/cuda_blas.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <type_traits>
#include <vector>

namespace fleetrt {
namespace cuda {

namespace {
#define FLEETRT_STR_INNER(x) #x
#define FLEETRT_STR(x) FLEETRT_STR_INNER(x)  // the exported name after cublas_v2.h's renames (cublasCreate → cublasCreate_v2)

std::string load(BlasApi* api) {
  std::string tried;
  void* lib = nullptr;
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("FLEETRT_CUBLAS")) candidates.push_back(env);
#ifdef FLEETRT_CUBLAS_DIR
  if (*FLEETRT_CUBLAS_DIR) candidates.push_back(std::string(FLEETRT_CUBLAS_DIR) + "/libcublas.so." FLEETRT_STR(CUBLAS_VER_MAJOR));
#endif
  candidates.push_back("libcublas.so." FLEETRT_STR(CUBLAS_VER_MAJOR));
  for (const std::string& c : candidates) {
    lib = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib) break;
    const char* e = dlerror();
    tried += (tried.empty() ? "" : "; ") + std::string(e ? e : c);
  }
  if (!lib) return "cannot load cuBLAS (" + tried + "; set FLEETRT_CUBLAS to the library's path)";
  bool ok = true;
  auto sym = [&](auto* fn, const char* name) {
    *fn = reinterpret_cast<std::remove_pointer_t<decltype(fn)>>(dlsym(lib, name));
    ok = ok && *fn;
  };
  sym(&api->create, FLEETRT_STR(cublasCreate));
  sym(&api->destroy, FLEETRT_STR(cublasDestroy));
  sym(&api->set_stream, FLEETRT_STR(cublasSetStream));
  sym(&api->set_workspace, FLEETRT_STR(cublasSetWorkspace));
  sym(&api->set_math_mode, FLEETRT_STR(cublasSetMathMode));
  sym(&api->gemm, FLEETRT_STR(cublasGemmEx));
  sym(&api->gemm_strided_batched, FLEETRT_STR(cublasGemmStridedBatchedEx));
  sym(&api->status_name, FLEETRT_STR(cublasGetStatusName));
  if (!ok) return "the cuBLAS library lacks functions fleetrt needs (too old?)";
  return "";
}
}  // namespace

const BlasApi* blas_api(std::string* error) {
  static BlasApi api;
  static std::string failure;
  static std::once_flag once;
  std::call_once(once, [] { failure = load(&api); });
  if (!failure.empty()) {
    *error = failure;
    return nullptr;
  }
  return &api;
}

}  // namespace cuda
}  // namespace fleetrt
