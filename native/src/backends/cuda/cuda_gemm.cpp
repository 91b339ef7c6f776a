// MatMul and Gemm on cuBLAS. Row-major C = A·B is computed as the column-major Cᵀ = Bᵀ·Aᵀ, so no
// operand is transposed in memory. float32 runs in fp32 (TF32 tensor cores only when
// FLEETRT_CUDA_TF32=1), float16 and bfloat16 on tensor cores with fp32 accumulation.
#include <algorithm>

#include "backends/cuda/cuda_context.h"
#include "backends/cuda/cuda_ops.h"

namespace fleetrt {
namespace cuda {
namespace {

bool blas_type(DType t, cudaDataType* out) {
  switch (t) {
    case DType::kF32: *out = CUDA_R_32F; return true;
    case DType::kF16: *out = CUDA_R_16F; return true;
    case DType::kBF16: *out = CUDA_R_16BF; return true;
    default: return false;
  }
}

// Row-major C[batch][m][n] = alpha · op(A)[m][k] · op(B)[k][n] + beta · C, strided batches
// (stride 0: the operand is shared by every batch).
Status gemm(CudaContext& c, DType dt, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
            const void* a, int64_t stride_a, const void* b, int64_t stride_b, float beta, void* out, int64_t stride_c,
            int64_t batch) {
  cudaDataType t;
  if (!blas_type(dt, &t)) return Status::Error(std::string("cuBLAS GEMM does not take ") + dtype_name(dt));
  const cublasComputeType_t compute = dt == DType::kF32 && c.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  const int64_t lda = trans_a ? m : k, ldb = trans_b ? k : n;
  const cublasOperation_t opa = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, opb = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX || batch > INT32_MAX)
    return Status::Error("GEMM dimensions exceed cuBLAS's 32-bit sizes");
  if (batch == 1)
    return blas_status(c.api->gemm(c.blas, opb, opa, static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, b, t,
                                    static_cast<int>(ldb), a, t, static_cast<int>(lda), &beta, out, t, static_cast<int>(n), compute,
                                    CUBLAS_GEMM_DEFAULT),
                       "cublasGemmEx");
  return blas_status(c.api->gemm_strided_batched(c.blas, opb, opa, static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha,
                                                b, t, static_cast<int>(ldb), stride_b, a, t, static_cast<int>(lda), stride_a, &beta,
                                                out, t, static_cast<int>(n), stride_c, static_cast<int>(batch), compute,
                                                CUBLAS_GEMM_DEFAULT),
                     "cublasGemmStridedBatchedEx");
}

Status k_MatMul(KernelContext& ctx) {
  CudaContext* c;
  FLEETRT_RETURN_IF_ERROR(get_context(ctx, &c));
  FLEETRT_RETURN_IF_ERROR(check_dtypes(ctx));
  const Tensor* A = ctx.input(0);
  const Tensor* B = ctx.input(1);
  if (!A || !B) return op_error(ctx, "needs two inputs");
  if (A->dtype != B->dtype) return op_error(ctx, "inputs have different element types");
  if (A->rank() == 0 || B->rank() == 0) return op_error(ctx, "inputs must have rank ≥ 1");
  std::vector<int64_t> as = A->shape, bs = B->shape;
  const bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  const int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  if (bs[bs.size() - 2] != K) return op_error(ctx, "inner dimensions differ (" + std::to_string(K) + " vs " + std::to_string(bs[bs.size() - 2]) + ")");
  std::vector<int64_t> abatch(as.begin(), as.end() - 2), bbatch(bs.begin(), bs.end() - 2), batch;
  if (!broadcast_shape({abatch, bbatch}, &batch)) return op_error(ctx, "batch dimensions do not broadcast");
  std::vector<int64_t> oshape = batch;
  if (!a_vec) oshape.push_back(M);
  if (!b_vec) oshape.push_back(N);
  Tensor* Y;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, oshape, A->dtype, &Y));
  int64_t nb = 1;
  for (int64_t d : batch) nb *= d;
  if (Y->numel() == 0) return Status::Ok();
  if (K == 0) return fill_zero(*c, Y);
  int64_t na = 1, nbb = 1;
  for (int64_t d : abatch) na *= d;
  for (int64_t d : bbatch) nbb *= d;
  // B shared by every batch: one GEMM with the batches stacked as rows.
  if (nbb == 1 && na == nb) return gemm(*c, A->dtype, false, false, nb * M, N, K, 1.f, A->data, 0, B->data, 0, 0.f, Y->data, 0, 1);
  const bool same = abatch == bbatch || (na == nb && nbb == nb);
  if (same || na == 1 || nbb == 1)
    return gemm(*c, A->dtype, false, false, M, N, K, 1.f, A->data, na == 1 ? 0 : M * K, B->data, nbb == 1 ? 0 : K * N, 0.f, Y->data, M * N, nb);
  // General broadcast: one GEMM per output batch.
  const size_t es = dtype_bytes(A->dtype, 1);
  const Dims da = broadcast_dims(abatch, batch), db = broadcast_dims(bbatch, batch);
  for (int64_t i = 0; i < nb; ++i) {
    int64_t oa = 0, ob = 0, r = i;
    for (int d = static_cast<int>(batch.size()) - 1; d >= 0; --d) {
      const int64_t idx = r % batch[d];
      r /= batch[d];
      oa += idx * da.stride[d];
      ob += idx * db.stride[d];
    }
    FLEETRT_RETURN_IF_ERROR(gemm(*c, A->dtype, false, false, M, N, K, 1.f, static_cast<const char*>(A->data) + oa * M * K * es, 0,
                                 static_cast<const char*>(B->data) + ob * K * N * es, 0, 0.f,
                                 static_cast<char*>(Y->data) + i * M * N * es, 0, 1));
  }
  return Status::Ok();
}

Status k_Gemm(KernelContext& ctx) {
  CudaContext* c;
  FLEETRT_RETURN_IF_ERROR(get_context(ctx, &c));
  FLEETRT_RETURN_IF_ERROR(check_dtypes(ctx));
  const Tensor* A = ctx.input(0);
  const Tensor* B = ctx.input(1);
  const Tensor* C = ctx.input(2);
  if (!A || !B || A->rank() != 2 || B->rank() != 2) return op_error(ctx, "A and B must be 2-D");
  if (A->dtype != B->dtype) return op_error(ctx, "A and B have different element types");
  const bool ta = ctx.attrs().get_int("transA", 0) != 0, tb = ctx.attrs().get_int("transB", 0) != 0;
  const float alpha = static_cast<float>(ctx.attrs().get_float("alpha", 1.0));
  float beta = static_cast<float>(ctx.attrs().get_float("beta", 1.0));
  const int64_t M = ta ? A->shape[1] : A->shape[0], K = ta ? A->shape[0] : A->shape[1];
  const int64_t KB = tb ? B->shape[1] : B->shape[0], N = tb ? B->shape[0] : B->shape[1];
  if (K != KB) return op_error(ctx, "inner dimensions differ (" + std::to_string(K) + " vs " + std::to_string(KB) + ")");
  Tensor* Y;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, {M, N}, A->dtype, &Y));
  if (Y->numel() == 0) return Status::Ok();
  if (C && C->numel() > 0 && beta != 0.f) {
    if (C->dtype != A->dtype) return op_error(ctx, "C has another element type than A");
    std::vector<int64_t> bs;
    if (!broadcast_shape({C->shape, Y->shape}, &bs) || bs != Y->shape) return op_error(ctx, "C does not broadcast to [M, N]");
    FLEETRT_RETURN_IF_ERROR(broadcast_copy(*c, *C, Y));
  } else {
    beta = 0.f;
  }
  if (K == 0) return beta == 0.f ? fill_zero(*c, Y) : Status::Ok();
  return gemm(*c, A->dtype, ta, tb, M, N, K, alpha, A->data, 0, B->data, 0, beta, Y->data, 0, 1);
}

}  // namespace

FLEETRT_CUDA_KERNEL("", "MatMul", k_MatMul, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "Gemm", k_Gemm, "float32,float16,bfloat16");

}  // namespace cuda
}  // namespace fleetrt
