// cuBLAS, loaded when the first cuda device opens (dlopen), not when fleetrt starts: the library
// is several hundred megabytes and every fleetrt run without a GPU would pay for loading it.
// The functions keep the types of cublas_v2.h's declarations.
#pragma once

#include <cublas_v2.h>

#include <string>

namespace fleetrt {
namespace cuda {

struct BlasApi {
  decltype(&cublasCreate) create;
  decltype(&cublasDestroy) destroy;
  decltype(&cublasSetStream) set_stream;
  decltype(&cublasSetWorkspace) set_workspace;
  decltype(&cublasSetMathMode) set_math_mode;
  // cublasGemmEx and cublasGemmStridedBatchedEx as exported (C++ adds inline overloads).
  cublasStatus_t (*gemm)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*, const void*,
                         cudaDataType, int, const void*, cudaDataType, int, const void*, void*, cudaDataType, int,
                         cublasComputeType_t, cublasGemmAlgo_t);
  cublasStatus_t (*gemm_strided_batched)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*,
                                         const void*, cudaDataType, int, long long, const void*, cudaDataType, int, long long,
                                         const void*, void*, cudaDataType, int, long long, int, cublasComputeType_t,
                                         cublasGemmAlgo_t);
  decltype(&cublasGetStatusName) status_name;
};

// The loaded library (FLEETRT_CUBLAS names a file to load instead); null with *error set when it
// cannot be loaded.
const BlasApi* blas_api(std::string* error);

}  // namespace cuda
}  // namespace fleetrt
