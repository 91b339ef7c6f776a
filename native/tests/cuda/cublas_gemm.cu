// cuBLAS called directly, for device-check.sh's GEMM comparison: the median time of an N³ GEMM
// (row-major A·B as fleetrt issues it) per dtype, fp32 without TF32 (default math mode, compute
// type 32F: cuBLAS uses TF32 only when asked).  Prints "dtype milliseconds".
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CHECK(x)                                                          \
  do {                                                                    \
    if ((x) != 0) {                                                       \
      std::fprintf(stderr, "%s failed at line %d\n", #x, __LINE__);      \
      return 1;                                                           \
    }                                                                     \
  } while (0)

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 4096;
  cublasHandle_t h;
  CHECK(cublasCreate(&h));
  CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
  void *a, *b, *c;
  const size_t bytes = static_cast<size_t>(n) * n * 4;
  CHECK(cudaMalloc(&a, bytes));
  CHECK(cudaMalloc(&b, bytes));
  CHECK(cudaMalloc(&c, bytes));
  CHECK(cudaMemset(a, 0x3c, bytes));  // small non-zero values in every dtype
  CHECK(cudaMemset(b, 0x3c, bytes));
  const struct {
    const char* name;
    cudaDataType t;
  } types[] = {{"f32", CUDA_R_32F}, {"f16", CUDA_R_16F}, {"bf16", CUDA_R_16BF}};
  cudaEvent_t s, e;
  CHECK(cudaEventCreate(&s));
  CHECK(cudaEventCreate(&e));
  const float alpha = 1.f, beta = 0.f;
  for (const auto& ty : types) {
    std::vector<float> ms;
    for (int r = 0; r < 12; ++r) {
      CHECK(cudaEventRecord(s));
      CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, b, ty.t, n, a, ty.t, n, &beta, c, ty.t, n,
                         CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
      CHECK(cudaEventRecord(e));
      CHECK(cudaEventSynchronize(e));
      float t;
      CHECK(cudaEventElapsedTime(&t, s, e));
      if (r >= 2) ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%s %.4f\n", ty.name, ms[ms.size() / 2]);
  }
  return 0;
}
