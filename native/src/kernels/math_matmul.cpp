// MatMul (numpy semantics: 1-D promotion, broadcast batch dims), Gemm, MatMulInteger,
// QLinearMatMul. float32 goes through ku::sgemm; float16/bfloat16 weights are read in place by the
// few-row loops (math_gemm_skinny.h) and converted to float32 otherwise; constant weights that the
// SGEMM packs are packed once per op (ku::sgemm_pack_b, kept in the op's state);
// float64 and integer types use straightforward loops. fleetc FusedMatMul adds a bias, a residual
// and an activation to the float32 product as each block of it is finished (math_matmul_epilogue.h).
#include <algorithm>
#include <cmath>

#include "kernel_util.h"
#include "math_gemm_skinny.h"
#include "math_matmul_epilogue.h"

namespace fleetrt {
namespace {

// Shapes of a numpy matmul: batch broadcast and per-batch offsets into A and B.
struct MatMulPlan {
  int64_t M = 1, N = 1, K = 1;
  bool ta = false, tb = false;  // FusedMatMul: the last two dims of A / B are transposed
  std::vector<int64_t> out_shape;
  std::vector<int64_t> a_off, b_off;  // element offsets of each batch's matrix
  std::vector<int64_t> a_stride, b_stride;  // per batch dim, for the offsets (kept with the plan)
  bool b_shared = false;              // every batch uses the same B (B is 2-D)
};

// Fills p, reusing its vectors' storage (the kernels keep one plan per thread: planning a small
// model's matrix products allocated about a dozen blocks each).
Status plan_matmul(const KernelContext& ctx, const std::vector<int64_t>& as, const std::vector<int64_t>& bs,
                   MatMulPlan* p, bool ta = false, bool tb = false) {
  if (as.empty() || bs.empty()) return ku::op_error(ctx, "inputs must have rank >= 1");
  const bool a1 = as.size() == 1, b1 = bs.size() == 1;
  p->ta = ta && !a1;
  p->tb = tb && !b1;
  // The matrix dims of A (1-D: one row) and B (1-D: one column), and the batch dims before them.
  const size_t ra = a1 ? 0 : as.size() - 2, rb = b1 ? 0 : bs.size() - 2;
  const int64_t a_rows = a1 ? 1 : as[ra], a_cols = as.back();
  const int64_t b_rows = b1 ? bs[0] : bs[rb], b_cols = b1 ? 1 : bs.back();
  p->M = p->ta ? a_cols : a_rows;
  p->K = p->ta ? a_rows : a_cols;
  const int64_t bk = p->tb ? b_cols : b_rows;
  p->N = p->tb ? b_rows : b_cols;
  if (bk != p->K) return ku::op_error(ctx, "inner dimensions differ: " + ku::shape_str(as) + " × " + ku::shape_str(bs));
  // Batch dims: the two prefixes broadcast.
  const ku::ShapeSpan prefixes[2] = {{as.data(), ra}, {bs.data(), rb}};
  std::vector<int64_t>& batch = p->out_shape;
  if (!ku::broadcast_spans(prefixes, 2, &batch))
    return ku::op_error(ctx, "batch dimensions of " + ku::shape_str(as) + " and " + ku::shape_str(bs) +
                                 " cannot be broadcast");
  const size_t r = batch.size();
  // Strides of A's and B's matrices over the batch dims (0 where broadcast).
  p->a_stride.assign(r, 0);
  p->b_stride.assign(r, 0);
  int64_t sa = p->M * p->K, sb = p->K * p->N, b_matrices = 1;
  for (size_t i = ra; i-- > 0;) {
    if (as[i] != 1) p->a_stride[r - ra + i] = sa;
    sa *= as[i];
  }
  for (size_t i = rb; i-- > 0;) {
    if (bs[i] != 1) p->b_stride[r - rb + i] = sb;
    sb *= bs[i];
    b_matrices *= bs[i];
  }
  p->b_shared = b_matrices == 1;
  const int64_t nb = ku::numel_of(batch);
  p->a_off.assign(static_cast<size_t>(nb), 0);
  p->b_off.assign(static_cast<size_t>(nb), 0);
  for (int64_t n = 0; n < nb; ++n) {
    int64_t rem = n, oa = 0, ob = 0;
    for (size_t i = r; i-- > 0;) {
      const int64_t idx = rem % batch[i];
      rem /= batch[i];
      oa += idx * p->a_stride[i];
      ob += idx * p->b_stride[i];
    }
    p->a_off[static_cast<size_t>(n)] = oa;
    p->b_off[static_cast<size_t>(n)] = ob;
  }
  if (!a1) batch.push_back(p->M);
  if (!b1) batch.push_back(p->N);
  return Status::Ok();
}

template <class T, class Acc>
void naive_matmul(KernelContext& ctx, const MatMulPlan& p, const T* A, const T* B, T* C, Acc alpha = Acc(1)) {
  int64_t nb = static_cast<int64_t>(p.a_off.size());
  ku::parallel_elems(ctx, nb * p.M, p.N * p.K, [&](int64_t r0, int64_t r1) {
    std::vector<Acc> row(static_cast<size_t>(p.N));
    for (int64_t r = r0; r < r1; ++r) {
      int64_t b = r / p.M, i = r % p.M;
      const T* am = A + p.a_off[b];
      const T* bm = B + p.b_off[b];
      std::fill(row.begin(), row.end(), Acc(0));
      for (int64_t k = 0; k < p.K; ++k) {
        Acc av = static_cast<Acc>(p.ta ? am[k * p.M + i] : am[i * p.K + k]);
        if (p.tb)
          for (int64_t j = 0; j < p.N; ++j) row[j] += av * static_cast<Acc>(bm[j * p.K + k]);
        else
          for (int64_t j = 0; j < p.N; ++j) row[j] += av * static_cast<Acc>(bm[k * p.N + j]);
      }
      T* c = C + (b * p.M + i) * p.N;
      for (int64_t j = 0; j < p.N; ++j) c[j] = static_cast<T>(alpha * row[j]);
    }
  });
}

// Up to this many rows a constant B is read where it lies (the few-row loops split its depth over
// the threads and stream it at memory speed: one row 1.3–1.6× the bytes per second of the
// panels, fleetrt_stream_bench few-rows, 2 threads); more rows read it faster from the SGEMM's
// panels, packed once (7 rows: 2.7×).
constexpr int64_t kStreamRowsMax = 2;
// A float32 transB B (N×K) is read where it lies up to this many rows, by the few-row loops' dot
// products along its rows, which stream it faster than the SGEMM's panels (7 rows against
// BERT-base's weights, 2 threads, Zen 3: 19.3 against 14.4 GB/s). Every product of up to 8 rows
// of such a B then runs the same loops whether B is a weight or not, and so gives the same bits.
constexpr int64_t kRowsMaxAsIs = 8;
bool reads_b_as_is(bool tb, DType t, int64_t rows) { return tb && t == DType::kF32 && rows <= kRowsMaxAsIs; }

// op(B) of a constant B input, packed once for the SGEMM (as float32).
struct PackedWeight {
  const void* data;
  DType dtype;
  int64_t K, N, ldb;
  bool tb;
  std::shared_ptr<const ku::PackedB> panels;
};

// op(B) of constant input b (K×N, leading dimension ldb) packed for the SGEMM, kept in the op's
// state: made by the first caller (the engine's prepare, else the first product of more than
// kStreamRowsMax rows), reused while it fits.
std::shared_ptr<const PackedWeight> packed_weight(KernelContext& ctx, const Tensor& b, bool tb, int64_t K, int64_t N,
                                                  int64_t ldb) {
  auto fits = [&](const PackedWeight& p) {
    return p.data == b.data && p.dtype == b.dtype && p.K == K && p.N == N && p.ldb == ldb && p.tb == tb;
  };
  auto make = [&]() -> std::shared_ptr<const PackedWeight> {
    auto panels = ku::sgemm_pack_b(tb, K, N, ku::as_float_buffer(ctx, b), ldb, &ctx);
    if (!panels) return nullptr;
    return std::make_shared<const PackedWeight>(PackedWeight{b.data, b.dtype, K, N, ldb, tb, std::move(panels)});
  };
  return ku::prepared<PackedWeight>(ctx, fits, make);
}

// The epilogue over rows [0, M) of C (products that do not run it block by block), split over
// the threads when there is enough of it.
void apply_epilogue(KernelContext& ctx, const MatMulEpilogue& ep, float* C, int64_t ldc, int64_t M, int64_t N) {
  const int64_t cost = ep.act == MatMulEpilogue::Act::kNone || ep.act == MatMulEpilogue::Act::kRelu ? N : 8 * N;
  ku::parallel_elems(ctx, M, cost, [&](int64_t r0, int64_t r1) { ep.apply(C + r0 * ldc, ldc, r0, 0, r1 - r0, N); });
}

// C = alpha·op(A)·op(B) + beta·C with B float32, float16 or bfloat16, then the epilogue when
// given. Few-row products read a half-precision B where it lies (half the bytes); the others
// convert it to float32 first. A B that is input 1 and constant (b_off 0) is packed for the SGEMM
// once, by the first call of more than kStreamRowsMax rows (a float32 transB one up to
// kRowsMaxAsIs rows stays where it lies).
void gemm_b(KernelContext& ctx, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
            int64_t lda, const Tensor& b, int64_t b_off, int64_t ldb, float beta, float* C, int64_t ldc,
            const MatMulEpilogue* ep = nullptr) {
  const ku::GemmEpilogue gep = ep ? ep->gemm() : ku::GemmEpilogue{};
  const ku::GemmEpilogue* g = ep ? &gep : nullptr;
  if (b_off == 0 && ctx.input(1) == &b && ctx.input_is_constant(1) && K > 0 && !reads_b_as_is(tb, b.dtype, M) &&
      (M > kStreamRowsMax || !ku::skinny_gemm_fits(M, N, K, tb))) {
    if (auto p = packed_weight(ctx, b, tb, K, N, ldb)) {
      ku::sgemm_packed(ta, M, alpha, A, lda, *p->panels, beta, C, ldc, &ctx, g);
      return;
    }
  }
  if (b.dtype == DType::kF32) {
    ku::sgemm(ta, tb, M, N, K, alpha, A, lda, b.as<float>() + b_off, ldb, beta, C, ldc, &ctx, g);
  } else if (ku::skinny_gemm_fits(M, N, K, tb)) {
    const auto bt = b.dtype == DType::kF16 ? ku::WeightType::kF16 : ku::WeightType::kBF16;
    ku::skinny_gemm(ta, tb, M, N, K, alpha, A, lda, b.as<uint16_t>() + b_off, bt, ldb, beta, C, ldc, &ctx);
    if (ep) apply_epilogue(ctx, *ep, C, ldc, M, N);
  } else {
    ku::sgemm(ta, tb, M, N, K, alpha, A, lda, ku::as_float_buffer(ctx, b) + b_off, ldb, beta, C, ldc, &ctx, g);
  }
}

// A and C are float32 buffers; B is the input tensor (float32, float16 or bfloat16).
// ep: FusedMatMul's epilogue over the output (rows: every batch's, one after another), or nullptr.
void float_matmul(KernelContext& ctx, const MatMulPlan& p, const float* A, const Tensor& b, float* C,
                  float alpha = 1.f, const MatMulEpilogue* ep = nullptr) {
  int64_t nb = static_cast<int64_t>(p.a_off.size());
  if (nb == 0) return;
  const int64_t lda = p.ta ? p.M : p.K, ldb = p.tb ? p.K : p.N;
  // shared B and A batches laid out back to back: one big GEMM
  bool a_contig = !p.ta;
  for (int64_t i = 0; i < nb; ++i)
    if (p.a_off[i] != i * p.M * p.K) a_contig = false;
  if (p.b_shared && a_contig) {
    gemm_b(ctx, false, p.tb, nb * p.M, p.N, p.K, alpha, A, lda, b, 0, ldb, 0.f, C, p.N, ep);
    return;
  }
  const float* B = ku::as_float_buffer(ctx, b);
  // Each batch's product runs the epilogue on its blocks, its rows offset to the output's.
  struct BatchRows {
    const MatMulEpilogue* ep;
    int64_t row0;
  };
  auto batch_ep = [](const BatchRows& r) {
    return ku::GemmEpilogue{[](const void* self, float* c, int64_t ldc, int64_t i0, int64_t j0, int64_t m, int64_t n) {
                              const auto* br = static_cast<const BatchRows*>(self);
                              br->ep->apply(c, ldc, br->row0 + i0, j0, m, n);
                            },
                            &r};
  };
  auto one = [&](int64_t i, KernelContext* c) {
    const BatchRows rows{ep, i * p.M};
    const ku::GemmEpilogue g = batch_ep(rows);
    ku::sgemm(p.ta, p.tb, p.M, p.N, p.K, alpha, A + p.a_off[i], lda, B + p.b_off[i], ldb, 0.f, C + i * p.M * p.N,
              p.N, c, ep ? &g : nullptr);
  };
  bool big = p.M * p.N * p.K >= ku::kParallelMinMacs;
  if (big) {
    for (int64_t i = 0; i < nb; ++i) one(i, &ctx);
  } else {
    ku::parallel_elems(ctx, nb, p.M * p.N * p.K, [&](int64_t b0, int64_t b1) {
      for (int64_t i = b0; i < b1; ++i) one(i, nullptr);
    });
  }
}

Status k_MatMul(KernelContext& ctx) {
  const Tensor *a, *b;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &a));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &b));
  if (a->dtype != b->dtype)
    return ku::op_error(ctx, std::string("input types differ: ") + dtype_name(a->dtype) + ", " + dtype_name(b->dtype));
  MatMulPlan& p = ku::thread_kept<MatMulPlan>();
  FLEETRT_RETURN_IF_ERROR(plan_matmul(ctx, a->shape, b->shape, &p));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, p.out_shape, a->dtype, &y));
  if (y->numel() == 0) return Status::Ok();
  switch (a->dtype) {
    case DType::kF32: float_matmul(ctx, p, a->as<float>(), *b, y->as<float>()); break;
    case DType::kF16: case DType::kBF16: {
      const float* fa = ku::as_float_buffer(ctx, *a);
      float* fy = static_cast<float*>(ctx.scratch(static_cast<size_t>(y->numel()) * sizeof(float)));
      float_matmul(ctx, p, fa, *b, fy);
      ku::store_float_buffer(fy, *y);
      break;
    }
    case DType::kF64: naive_matmul<double, double>(ctx, p, a->as<double>(), b->as<double>(), y->as<double>()); break;
    case DType::kI32: naive_matmul<int32_t, int64_t>(ctx, p, a->as<int32_t>(), b->as<int32_t>(), y->as<int32_t>()); break;
    case DType::kI64: naive_matmul<int64_t, int64_t>(ctx, p, a->as<int64_t>(), b->as<int64_t>(), y->as<int64_t>()); break;
    case DType::kU32: naive_matmul<uint32_t, uint64_t>(ctx, p, a->as<uint32_t>(), b->as<uint32_t>(), y->as<uint32_t>()); break;
    case DType::kU64: naive_matmul<uint64_t, uint64_t>(ctx, p, a->as<uint64_t>(), b->as<uint64_t>(), y->as<uint64_t>()); break;
    default: return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(a->dtype));
  }
  return Status::Ok();
}

Status k_Gemm(KernelContext& ctx) {
  const Tensor *a, *b;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &a));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &b));
  const Tensor* c = ctx.num_inputs() > 2 ? ctx.input(2) : nullptr;
  if (a->rank() != 2 || b->rank() != 2)
    return ku::op_error(ctx, "A and B must be 2-D, got " + ku::shape_str(a->shape) + " and " + ku::shape_str(b->shape));
  bool ta = ctx.attrs().get_int("transA", 0) != 0, tb = ctx.attrs().get_int("transB", 0) != 0;
  float alpha = static_cast<float>(ctx.attrs().get_float("alpha", 1.0));
  float beta = static_cast<float>(ctx.attrs().get_float("beta", 1.0));
  int64_t M = ta ? a->shape[1] : a->shape[0], K = ta ? a->shape[0] : a->shape[1];
  int64_t Kb = tb ? b->shape[1] : b->shape[0], N = tb ? b->shape[0] : b->shape[1];
  if (K != Kb) return ku::op_error(ctx, "inner dimensions differ: " + ku::shape_str(a->shape) + " × " + ku::shape_str(b->shape));
  if (a->dtype != b->dtype) return ku::op_error(ctx, "A and B types differ");
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, {M, N}, a->dtype, &y));
  if (M * N == 0) return Status::Ok();
  bool fl = a->dtype == DType::kF32 || a->dtype == DType::kF16 || a->dtype == DType::kBF16;
  if (!fl && a->dtype != DType::kF64 && !ku::is_int(a->dtype))
    return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(a->dtype));
  if (c && c->numel() > 0) {
    std::vector<int64_t> bs;
    if (!ku::broadcast_shapes({c->shape, {M, N}}, &bs) || bs != std::vector<int64_t>{M, N})
      return ku::op_error(ctx, "C " + ku::shape_str(c->shape) + " does not broadcast to " + ku::shape_str({M, N}));
  } else {
    c = nullptr;
  }
  if (fl) {
    const float* fa = ku::as_float_buffer(ctx, *a);
    float* fy = a->dtype == DType::kF32 ? y->as<float>()
                                        : static_cast<float*>(ctx.scratch(static_cast<size_t>(M * N) * sizeof(float)));
    float beta_eff = 0.f;
    if (c && beta != 0.f) {
      const float* fc = ku::as_float_buffer(ctx, *c);
      int64_t cm = c->rank() == 2 ? c->shape[0] : 1, cn = c->rank() >= 1 ? c->shape[c->rank() - 1] : 1;
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) fy[i * N + j] = fc[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
      beta_eff = beta;
    }
    gemm_b(ctx, ta, tb, M, N, K, alpha, fa, a->shape[1], *b, 0, b->shape[1], beta_eff, fy, N);
    if (a->dtype != DType::kF32) ku::store_float_buffer(fy, *y);
    return Status::Ok();
  }
  // double / integer: reference loops in double or int64
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += ku::load_as_double(*a, ta ? k * M + i : i * K + k) * ku::load_as_double(*b, tb ? j * K + k : k * N + j);
      double v = alpha * s;
      if (c) {
        int64_t cm = c->rank() == 2 ? c->shape[0] : 1, cn = c->rank() >= 1 ? c->shape[c->rank() - 1] : 1;
        v += beta * ku::load_as_double(*c, (cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j));
      }
      ku::store_from_double(*y, i * N + j, v);
    }
  return Status::Ok();
}

// com.microsoft FusedMatMul: alpha · MatMul(A, B) with the last two dims of A (transA) and/or B
// (transB) transposed where they lie. The StableHLO frontend lowers dot_generals whose operands
// are stored transposed to it.
Status k_FusedMatMul(KernelContext& ctx) {
  const Tensor *a, *b;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &a));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &b));
  if (a->dtype != b->dtype)
    return ku::op_error(ctx, std::string("input types differ: ") + dtype_name(a->dtype) + ", " + dtype_name(b->dtype));
  const Attributes& at = ctx.attrs();
  if (at.get_int("transBatchA", 0) != 0 || at.get_int("transBatchB", 0) != 0)
    return ku::op_error(ctx, "transBatchA / transBatchB are not supported (only transA, transB, alpha)");
  const bool ta = at.get_int("transA", 0) != 0, tb = at.get_int("transB", 0) != 0;
  const double alpha = at.get_float("alpha", 1.0);
  MatMulPlan& p = ku::thread_kept<MatMulPlan>();
  FLEETRT_RETURN_IF_ERROR(plan_matmul(ctx, a->shape, b->shape, &p, ta, tb));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, p.out_shape, a->dtype, &y));
  if (y->numel() == 0) return Status::Ok();
  switch (a->dtype) {
    case DType::kF32: float_matmul(ctx, p, a->as<float>(), *b, y->as<float>(), static_cast<float>(alpha)); break;
    case DType::kF16: case DType::kBF16: {
      const float* fa = ku::as_float_buffer(ctx, *a);
      float* fy = static_cast<float*>(ctx.scratch(static_cast<size_t>(y->numel()) * sizeof(float)));
      float_matmul(ctx, p, fa, *b, fy, static_cast<float>(alpha));
      ku::store_float_buffer(fy, *y);
      break;
    }
    case DType::kF64: naive_matmul<double, double>(ctx, p, a->as<double>(), b->as<double>(), y->as<double>(), alpha); break;
    default: return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(a->dtype));
  }
  return Status::Ok();
}

// Whether a bias of shape `bs` suits an output of shape `out` (rows: all dims but the last, one
// after another): its last dim the output's, then aligned to the right, its leading dims equal to
// the output's and those after them (the rows dim included) 1. *period: the output rows that share
// one bias row, 0 when one row serves all.
bool bias_rows(const std::vector<int64_t>& bs, const std::vector<int64_t>& out, int64_t* period) {
  *period = 0;
  if (bs.empty() || out.empty() || bs.size() > out.size() || bs.back() != out.back()) return false;
  const size_t off = out.size() - bs.size();
  size_t k = 0;  // bs[0, k): the output's dims
  while (k + 1 < bs.size() && bs[k] == out[off + k] && bs[k] != 1) ++k;
  for (size_t i = k; i + 1 < bs.size(); ++i)
    if (bs[i] != 1) return false;
  if (k == 0) return true;
  if (k + 1 == bs.size()) return false;  // the rows dim would be the output's: a residual, not a bias
  for (size_t i = 0; i < off; ++i)
    if (out[i] != 1) return false;  // the bias rows would repeat over the output's first dims
  *period = 1;
  for (size_t i = off + k; i + 1 < out.size(); ++i) *period *= out[i];
  return true;
}

// fleetc FusedMatMul(A, B, bias, Z): act(alpha·MatMul(A, B) + bias + Z), float32, written once. bias
// (optional, may be empty) holds one value per column of the output (N values, any leading dims
// of size 1), one such row per index of the output's leading dims (bias_rows: an attention mask
// [batch, 1, 1, N] over scores [batch, heads, M, N]) or one value; Z (optional) has the output's
// shape. passes/fuse/matmul.ts makes it.
Status k_FleetcFusedMatMul(KernelContext& ctx) {
  const Tensor *a, *b;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &a));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &b));
  if (a->dtype != DType::kF32 || b->dtype != DType::kF32)
    return ku::op_error(ctx, std::string("A and B must be float32, got ") + dtype_name(a->dtype) + ", " +
                                 dtype_name(b->dtype));
  MatMulEpilogue ep;
  std::string err;
  if (!ep.parse(ctx.attrs(), &err)) return ku::op_error(ctx, err);
  MatMulPlan& p = ku::thread_kept<MatMulPlan>();
  FLEETRT_RETURN_IF_ERROR(plan_matmul(ctx, a->shape, b->shape, &p));
  const int64_t n_out = p.out_shape.empty() ? 1 : p.out_shape.back();
  const Tensor* bias = ctx.num_inputs() > 2 ? ctx.input(2) : nullptr;
  if (bias) {
    if (bias->dtype != DType::kF32) return ku::op_error(ctx, "bias must be float32");
    if (bias->numel() == 1) ep.bias_scalar = true;
    else if (!bias_rows(bias->shape, p.out_shape, &ep.bias_period))
      return ku::op_error(ctx, "bias " + ku::shape_str(bias->shape) +
                                   " must hold one value per column of the output " + ku::shape_str(p.out_shape) +
                                   ", or one such row per index of its leading dims (the dims after them 1)");
    ep.bias = bias->as<float>();
    ep.bias_ld = n_out;
  }
  const Tensor* z = ctx.num_inputs() > 3 ? ctx.input(3) : nullptr;
  if (z) {
    if (z->dtype != DType::kF32) return ku::op_error(ctx, "residual Z must be float32");
    if (z->shape != p.out_shape)
      return ku::op_error(ctx, "residual Z " + ku::shape_str(z->shape) + " must have the output's shape " +
                                   ku::shape_str(p.out_shape));
    ep.z = z->as<float>();
    ep.ldz = n_out;
  }
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, p.out_shape, DType::kF32, &y));
  if (y->numel() == 0) return Status::Ok();
  float_matmul(ctx, p, a->as<float>(), *b, y->as<float>(), static_cast<float>(ctx.attrs().get_float("alpha", 1.0)),
               &ep);
  return Status::Ok();
}

// The engine opens the plan: a constant 2-D float B of MatMul, Gemm or FusedMatMul packed now, as
// gemm_b packs it on the first product of more than kStreamRowsMax rows (products of fewer rows
// read B where it lies and leave the copy unused; plan.json memory.prepared counts it anyway).
// `rows`: the rows of the products when the plan fixes A's shape (a decode step's one row, or up
// to kRowsMaxAsIs against a float32 transB B: then B is read where it lies and nothing is
// packed), else -1.
Status prepare_packed_b(KernelContext& ctx, bool tb, int64_t rows) {
  const Tensor* b = ctx.input(1);
  if (!b || !ctx.input_is_constant(1) || b->rank() != 2 ||
      !(b->dtype == DType::kF32 || b->dtype == DType::kF16 || b->dtype == DType::kBF16))
    return Status::Ok();
  const int64_t K = tb ? b->shape[1] : b->shape[0], N = tb ? b->shape[0] : b->shape[1];
  if (K <= 0 || N <= 0) return Status::Ok();
  if (rows >= 0 && rows <= kStreamRowsMax) return Status::Ok();  // packed on first use, if at all
  if (rows >= 0 && reads_b_as_is(tb, b->dtype, rows)) return Status::Ok();
  packed_weight(ctx, *b, tb, K, N, b->shape[1]);
  return Status::Ok();
}

// Rows of A's shape, known to the plan, all dims but the last (MatMul runs batches of a shared B
// as one product), else -1.
int64_t fixed_rows(const KernelContext& ctx, bool trans_a) {
  const Tensor* a = ctx.input(0);
  if (!a || a->rank() < 1) return -1;
  if (a->rank() == 1) return 1;
  if (trans_a) return a->shape[a->rank() - 1] * (a->numel() / std::max<int64_t>(1, a->shape[a->rank() - 1] * a->shape[a->rank() - 2]));
  return a->numel() / std::max<int64_t>(1, a->shape[a->rank() - 1]);
}

Status prepare_MatMul(KernelContext& ctx) { return prepare_packed_b(ctx, false, fixed_rows(ctx, false)); }
// Gemm and FusedMatMul: both transpose their operands by transA / transB.
Status prepare_transposing(KernelContext& ctx) {
  return prepare_packed_b(ctx, ctx.attrs().get_int("transB", 0) != 0,
                          fixed_rows(ctx, ctx.attrs().get_int("transA", 0) != 0));
}

// Zero point for row/column `idx`: scalar, or per-row (A) / per-column (B) 1-D tensor.
Status int8_values(const KernelContext& ctx, const Tensor& t, std::vector<int32_t>* out) {
  int64_t n = t.numel();
  out->resize(static_cast<size_t>(n));
  if (t.dtype == DType::kU8) for (int64_t i = 0; i < n; ++i) (*out)[i] = t.as<uint8_t>()[i];
  else if (t.dtype == DType::kI8) for (int64_t i = 0; i < n; ++i) (*out)[i] = t.as<int8_t>()[i];
  else return ku::op_error(ctx, std::string("expected int8 or uint8, got ") + dtype_name(t.dtype));
  return Status::Ok();
}

// int32 accumulation of (A - a_zp)(B - b_zp) with numpy batch broadcasting.
Status int_matmul(KernelContext& ctx, const Tensor& a, const Tensor& b, const Tensor* azp, const Tensor* bzp,
                  MatMulPlan* p, std::vector<int32_t>* acc) {
  FLEETRT_RETURN_IF_ERROR(plan_matmul(ctx, a.shape, b.shape, p));
  std::vector<int32_t> av, bv, za{0}, zb{0};
  FLEETRT_RETURN_IF_ERROR(int8_values(ctx, a, &av));
  FLEETRT_RETURN_IF_ERROR(int8_values(ctx, b, &bv));
  if (azp && azp->numel() > 0) FLEETRT_RETURN_IF_ERROR(int8_values(ctx, *azp, &za));
  if (bzp && bzp->numel() > 0) FLEETRT_RETURN_IF_ERROR(int8_values(ctx, *bzp, &zb));
  if (za.size() != 1 && static_cast<int64_t>(za.size()) != p->M)
    return ku::op_error(ctx, "a_zero_point must be a scalar or have M elements");
  if (zb.size() != 1 && static_cast<int64_t>(zb.size()) != p->N)
    return ku::op_error(ctx, "b_zero_point must be a scalar or have N elements");
  int64_t nb = static_cast<int64_t>(p->a_off.size());
  acc->assign(static_cast<size_t>(nb * p->M * p->N), 0);
  const int64_t M = p->M, N = p->N, K = p->K;
  ku::parallel_elems(ctx, nb * M, N * K, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t bi = r / M, i = r % M;
      const int32_t* arow = av.data() + p->a_off[bi] + i * K;
      const int32_t* bm = bv.data() + p->b_off[bi];
      int32_t zai = za.size() == 1 ? za[0] : za[i];
      int32_t* c = acc->data() + r * N;
      for (int64_t k = 0; k < K; ++k) {
        int32_t x = arow[k] - zai;
        const int32_t* brow = bm + k * N;
        if (zb.size() == 1)
          for (int64_t j = 0; j < N; ++j) c[j] += x * (brow[j] - zb[0]);
        else
          for (int64_t j = 0; j < N; ++j) c[j] += x * (brow[j] - zb[j]);
      }
    }
  });
  return Status::Ok();
}

Status k_MatMulInteger(KernelContext& ctx) {
  const Tensor *a, *b;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &a));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &b));
  const Tensor* azp = ctx.num_inputs() > 2 ? ctx.input(2) : nullptr;
  const Tensor* bzp = ctx.num_inputs() > 3 ? ctx.input(3) : nullptr;
  MatMulPlan& p = ku::thread_kept<MatMulPlan>();
  std::vector<int32_t> acc;
  FLEETRT_RETURN_IF_ERROR(int_matmul(ctx, *a, *b, azp, bzp, &p, &acc));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, p.out_shape, DType::kI32, &y));
  std::copy(acc.begin(), acc.end(), y->as<int32_t>());
  return Status::Ok();
}

Status k_QLinearMatMul(KernelContext& ctx) {
  const Tensor* in[8];
  for (int i = 0; i < 8; ++i) FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, i, &in[i]));
  MatMulPlan& p = ku::thread_kept<MatMulPlan>();
  std::vector<int32_t> acc;
  FLEETRT_RETURN_IF_ERROR(int_matmul(ctx, *in[0], *in[3], in[2], in[5], &p, &acc));
  double sa, sy;
  FLEETRT_RETURN_IF_ERROR(ku::read_scalar(ctx, *in[1], &sa));
  FLEETRT_RETURN_IF_ERROR(ku::read_scalar(ctx, *in[6], &sy));
  std::vector<double> sb(static_cast<size_t>(in[4]->numel()));
  for (size_t i = 0; i < sb.size(); ++i) sb[i] = ku::load_as_double(*in[4], static_cast<int64_t>(i));
  if (sb.empty()) return ku::op_error(ctx, "b_scale is empty");
  if (sb.size() != 1 && static_cast<int64_t>(sb.size()) != p.N) return ku::op_error(ctx, "b_scale must be a scalar or have N elements");
  std::vector<int32_t> zy;
  FLEETRT_RETURN_IF_ERROR(int8_values(ctx, *in[7], &zy));
  DType od = in[7]->dtype;
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, p.out_shape, od, &y));
  int lo = od == DType::kU8 ? 0 : -128, hi = od == DType::kU8 ? 255 : 127;
  for (size_t i = 0; i < acc.size(); ++i) {
    int64_t j = static_cast<int64_t>(i) % p.N;
    // scale product rounded to float as the reference does
    float scale = static_cast<float>(sa) * static_cast<float>(sb.size() == 1 ? sb[0] : sb[j]) / static_cast<float>(sy);
    double v = std::nearbyint(static_cast<double>(static_cast<float>(acc[i]) * scale)) + zy[0];
    int q = static_cast<int>(std::min<double>(hi, std::max<double>(lo, v)));
    if (od == DType::kU8) y->as<uint8_t>()[i] = static_cast<uint8_t>(q);
    else y->as<int8_t>()[i] = static_cast<int8_t>(q);
  }
  return Status::Ok();
}

}  // namespace

FLEETRT_REGISTER_KERNEL("", "MatMul", k_MatMul);
FLEETRT_REGISTER_KERNEL("", "Gemm", k_Gemm);
FLEETRT_REGISTER_KERNEL("com.microsoft", "FusedMatMul", k_FusedMatMul);
FLEETRT_REGISTER_KERNEL_PREPARE("", "MatMul", prepare_MatMul);
FLEETRT_REGISTER_KERNEL_PREPARE("", "Gemm", prepare_transposing);
FLEETRT_REGISTER_KERNEL_PREPARE("com.microsoft", "FusedMatMul", prepare_transposing);
FLEETRT_REGISTER_KERNEL("fleetc", "FusedMatMul", k_FleetcFusedMatMul);
FLEETRT_REGISTER_KERNEL_PREPARE("fleetc", "FusedMatMul", prepare_MatMul);
FLEETRT_REGISTER_KERNEL("", "MatMulInteger", k_MatMulInteger);
FLEETRT_REGISTER_KERNEL("", "QLinearMatMul", k_QLinearMatMul);

}  // namespace fleetrt
