// Normalisation, reductions and attention on the GPU: Softmax, LayerNormalization,
// SimplifiedLayerNormalization / RMSNormalization, ReduceMean/Sum/Max, and fleetc.PagedAttention
// (docs/state-ops.md: append the step's K/V into the paged cache, then causal GQA attention over
// the pages, prefill and decode alike). Rows are reduced by one warp each; floats accumulate in fp32.
#include <climits>
#include <cmath>

#include "backends/cuda/cuda_device.cuh"
#include "backends/cuda/cuda_ops.h"

namespace fleetrt {
namespace cuda {
namespace {

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

constexpr int kWarpsPerBlock = 8;

unsigned warp_blocks(int64_t rows) { return static_cast<unsigned>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock); }

// Softmax over n elements with stride `inner`, one warp per (outer, inner) row.
__global__ void softmax_kernel(const void* x, int dt, void* y, int64_t rows, int64_t n, int64_t inner, bool log) {
  const int64_t row = blockIdx.x * int64_t(kWarpsPerBlock) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  const int64_t base = (row / inner) * n * inner + row % inner;
  float m = -INFINITY;
  for (int64_t j = lane; j < n; j += 32) m = fmaxf(m, load_f(x, dt, base + j * inner));
  m = warp_max(m);
  float s = 0.f;
  for (int64_t j = lane; j < n; j += 32) s += expf(load_f(x, dt, base + j * inner) - m);
  s = warp_sum(s);
  const float inv = 1.f / s, ls = logf(s);
  for (int64_t j = lane; j < n; j += 32) {
    const float v = load_f(x, dt, base + j * inner) - m;
    store_f(y, dt, base + j * inner, log ? v - ls : expf(v) * inv);
  }
}

// Layer norm (rms = false: (x − mean) / √(var + ε)) or RMS norm (x / √(mean(x²) + ε)) of each row
// of n elements, times scale (+ bias). mean/inv_std: optional per-row outputs (float).
__global__ void norm_kernel(const void* x, int dt, const void* scale, int sdt, const void* bias, int bdt, void* y, int64_t rows,
                            int64_t n, float eps, bool rms, float* mean_out, float* inv_out) {
  const int64_t row = blockIdx.x * int64_t(kWarpsPerBlock) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  const int64_t base = row * n;
  float mean = 0.f;
  if (!rms) {
    float s = 0.f;
    for (int64_t j = lane; j < n; j += 32) s += load_f(x, dt, base + j);
    mean = warp_sum(s) / static_cast<float>(n);
  }
  float v = 0.f;
  for (int64_t j = lane; j < n; j += 32) {
    const float d = load_f(x, dt, base + j) - mean;
    v += d * d;
  }
  const float inv = rsqrtf(warp_sum(v) / static_cast<float>(n) + eps);
  for (int64_t j = lane; j < n; j += 32) {
    float o = (load_f(x, dt, base + j) - mean) * inv * load_f(scale, sdt, j);
    if (bias) o += load_f(bias, bdt, j);
    store_f(y, dt, base + j, o);
  }
  if (lane == 0) {
    if (mean_out) mean_out[row] = mean;
    if (inv_out) inv_out[row] = inv;
  }
}

// One warp per output element: reduces the elements at base(kept index) + offset(reduced index).
// op: 0 sum, 1 mean, 2 max. Floats accumulate in fp32, integers in int64.
__global__ void reduce_kernel(const void* x, int dt, Dims kept, Dims red, int64_t count, int op, void* y, int64_t outs) {
  const int64_t o = blockIdx.x * int64_t(kWarpsPerBlock) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (o >= outs) return;
  const int64_t base = bcast_offset(kept, o);
  if (!is_float_code(dt)) {
    long long acc = op == 2 ? LLONG_MIN : 0;
    for (int64_t j = lane; j < count; j += 32) {
      const long long v = load_i(x, dt, base + bcast_offset(red, j));
      acc = op == 2 ? (v > acc ? v : acc) : acc + v;
    }
    for (int s = 16; s > 0; s >>= 1) {
      const long long other = __shfl_xor_sync(0xffffffffu, acc, s);
      acc = op == 2 ? (other > acc ? other : acc) : acc + other;
    }
    if (lane == 0) store_i(y, dt, o, op == 1 ? (count ? acc / count : 0) : acc);
    return;
  }
  float acc = op == 2 ? -INFINITY : 0.f;
  for (int64_t j = lane; j < count; j += 32) {
    const float v = load_f(x, dt, base + bcast_offset(red, j));
    acc = op == 2 ? (isnan(v) || isnan(acc) ? NAN : fmaxf(acc, v)) : acc + v;
  }
  acc = op == 2 ? warp_max(acc) : warp_sum(acc);
  if (lane == 0) store_f(y, dt, o, op == 1 ? acc / static_cast<float>(count) : acc);
}

Status k_Softmax_impl(KernelContext& ctx, bool log) {
  CudaContext* c;
  FLEETRT_RETURN_IF_ERROR(get_context(ctx, &c));
  FLEETRT_RETURN_IF_ERROR(check_dtypes(ctx));
  const Tensor* X = ctx.input(0);
  if (!X) return op_error(ctx, "needs an input");
  const int64_t r = static_cast<int64_t>(X->rank());
  int64_t axis = ctx.attrs().get_int("axis", ctx.opset() >= 13 ? -1 : 1);
  if (axis < 0) axis += r;
  if (r == 0 || axis < 0 || axis >= r) return op_error(ctx, "axis out of range");
  Tensor* Y;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, X->shape, X->dtype, &Y));
  if (!Y->numel()) return Status::Ok();
  int64_t n = X->shape[axis], inner = 1, outer = 1;
  if (ctx.opset() >= 13) {
    for (int64_t k = 0; k < axis; ++k) outer *= X->shape[k];
    for (int64_t k = axis + 1; k < r; ++k) inner *= X->shape[k];
  } else {  // opset < 13: the input is coerced to 2-D at axis
    n = 1;
    for (int64_t k = 0; k < axis; ++k) outer *= X->shape[k];
    for (int64_t k = axis; k < r; ++k) n *= X->shape[k];
  }
  const int64_t rows = outer * inner;
  softmax_kernel<<<warp_blocks(rows), 32 * kWarpsPerBlock, 0, c->stream>>>(X->data, static_cast<int>(X->dtype), Y->data, rows, n, inner, log);
  FLEETRT_CUDA_LAUNCHED();
  return Status::Ok();
}

Status k_Softmax(KernelContext& ctx) { return k_Softmax_impl(ctx, false); }
Status k_LogSoftmax(KernelContext& ctx) { return k_Softmax_impl(ctx, true); }

Status run_norm(KernelContext& ctx, bool rms, int bias_input) {
  CudaContext* c;
  FLEETRT_RETURN_IF_ERROR(get_context(ctx, &c));
  FLEETRT_RETURN_IF_ERROR(check_dtypes(ctx));
  const Tensor* X = ctx.input(0);
  const Tensor* S = ctx.input(1);
  const Tensor* B = bias_input >= 0 && ctx.num_inputs() > bias_input ? ctx.input(bias_input) : nullptr;
  if (!X || !S) return op_error(ctx, "needs X and scale");
  const int64_t r = static_cast<int64_t>(X->rank());
  int64_t axis = ctx.attrs().get_int("axis", -1);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return op_error(ctx, "axis out of range");
  int64_t rows = 1, n = 1;
  for (int64_t k = 0; k < r; ++k) (k < axis ? rows : n) *= X->shape[k];
  if (S->numel() != n || (B && B->numel() != n)) return op_error(ctx, "scale and bias must have the normalized shape");
  Tensor* Y;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, X->shape, X->dtype, &Y));
  std::vector<int64_t> stat_shape(X->shape.begin(), X->shape.begin() + axis);
  stat_shape.resize(r, 1);
  float* stats[2] = {nullptr, nullptr};
  for (int k = 1; k <= 2 && k < ctx.num_outputs(); ++k) {
    Tensor* t = nullptr;
    const int slot = rms ? k + 1 : k;  // SimplifiedLayerNormalization: output 1 is inv_std_var
    if (slot > 2) break;
    FLEETRT_RETURN_IF_ERROR(ctx.output(k, stat_shape, &t));
    if (t && t->dtype != DType::kUndefined) {
      if (t->dtype != DType::kF32) return op_error(ctx, "mean / inv_std_dev outputs must be float32 here");
      stats[slot - 1] = t->as<float>();
    }
  }
  if (!rows || !n) return Status::Ok();
  const float eps = static_cast<float>(ctx.attrs().get_float("epsilon", 1e-5));
  norm_kernel<<<warp_blocks(rows), 32 * kWarpsPerBlock, 0, c->stream>>>(
      X->data, static_cast<int>(X->dtype), S->data, static_cast<int>(S->dtype), B ? B->data : nullptr, B ? static_cast<int>(B->dtype) : 0,
      Y->data, rows, n, eps, rms, stats[0], stats[1]);
  FLEETRT_CUDA_LAUNCHED();
  return Status::Ok();
}

Status k_LayerNormalization(KernelContext& ctx) { return run_norm(ctx, false, 2); }
Status k_SimplifiedLayerNormalization(KernelContext& ctx) { return run_norm(ctx, true, -1); }
Status k_RMSNormalization(KernelContext& ctx) { return run_norm(ctx, true, -1); }

Status run_reduce(KernelContext& ctx, int op) {
  CudaContext* c;
  FLEETRT_RETURN_IF_ERROR(get_context(ctx, &c));
  FLEETRT_RETURN_IF_ERROR(check_dtypes(ctx));
  const Tensor* X = ctx.input(0);
  if (!X) return op_error(ctx, "needs an input");
  if (X->dtype != DType::kF32 && X->dtype != DType::kF16 && X->dtype != DType::kBF16 && X->dtype != DType::kI64 && X->dtype != DType::kI32)
    return op_error(ctx, std::string("cannot reduce ") + dtype_name(X->dtype));
  const int64_t r = static_cast<int64_t>(X->rank());
  if (r > kMaxRank) return op_error(ctx, "rank above 8");
  std::vector<int64_t> axes;
  if (ctx.num_inputs() > 1 && ctx.input(1)) {
    if (!host_ints(ctx.host_input(1), &axes)) return op_error(ctx, "axes must be int64");
  } else {
    axes = ctx.attrs().get_ints("axes");
  }
  const bool keep = ctx.attrs().get_int("keepdims", 1) != 0;
  const bool noop = ctx.attrs().get_int("noop_with_empty_axes", 0) != 0;
  std::vector<bool> reduce(r, axes.empty() && !noop);
  for (int64_t a : axes) {
    if (a < 0) a += r;
    if (a < 0 || a >= r) return op_error(ctx, "axis out of range");
    reduce[a] = true;
  }
  std::vector<int64_t> strides(r, 1), shape;
  for (int64_t k = r - 2; k >= 0; --k) strides[k] = strides[k + 1] * X->shape[k + 1];
  Dims kept, red;
  int64_t count = 1, outs = 1;
  for (int64_t k = 0; k < r; ++k) {
    Dims& d = reduce[k] ? red : kept;
    d.size[d.rank] = X->shape[k];
    d.stride[d.rank] = strides[k];
    ++d.rank;
    (reduce[k] ? count : outs) *= X->shape[k];
    if (!reduce[k]) shape.push_back(X->shape[k]);
    else if (keep) shape.push_back(1);
  }
  Tensor* Y;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, shape, X->dtype, &Y));
  if (!outs) return Status::Ok();
  // An empty reduction gives the identity: 0 for sums, -inf (or the lowest integer) for max.
  reduce_kernel<<<warp_blocks(outs), 32 * kWarpsPerBlock, 0, c->stream>>>(X->data, static_cast<int>(X->dtype), kept, red, count, op, Y->data, outs);
  FLEETRT_CUDA_LAUNCHED();
  return Status::Ok();
}

Status k_ReduceSum(KernelContext& ctx) { return run_reduce(ctx, 0); }
Status k_ReduceMean(KernelContext& ctx) { return run_reduce(ctx, 1); }
Status k_ReduceMax(KernelContext& ctx) { return run_reduce(ctx, 2); }

// ---------------------------------------------------------------------------------------------
// fleetc.PagedAttention

// Element offsets of head h of token t in the query/key/value/output tensors: tok·t + head·h (+ base).
struct AttnGeom {
  int64_t q_tok, q_head, k_tok, k_head, k_base, v_base, o_tok, o_head;
  int H, KVH, D, page_size;
  int64_t page_elems;
  float scale;
};

// Per token of the step: [0] offset of its sequence's page table in `tables`, [1] its position.
__device__ __forceinline__ int64_t page_at(const int32_t* tables, int table, int64_t pos, const AttnGeom& g, int head) {
  return static_cast<int64_t>(tables[table + pos / g.page_size]) * g.page_elems + (static_cast<int64_t>(head) * g.page_size + pos % g.page_size) * g.D;
}

__global__ void kv_append_kernel(const void* k, const void* v, int dt, const int32_t* meta, const int32_t* tables, AttnGeom g,
                                 void* kc, void* vc, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int d = static_cast<int>(i % g.D);
    const int head = static_cast<int>((i / g.D) % g.KVH);
    const int64_t t = i / (int64_t(g.D) * g.KVH);
    const int64_t src = t * g.k_tok + head * g.k_head + d;
    const int64_t dst = page_at(tables, meta[2 * t], meta[2 * t + 1], g, head) + d;
    store_f(kc, dt, dst, load_f(k, dt, g.k_base + src));
    store_f(vc, dt, dst, load_f(v, dt, g.v_base + src));
  }
}

constexpr int kAttnThreads = 128;
constexpr int kMaxHeadSize = 512;

// One block per (token, query head): keys in chunks of kAttnThreads (one per thread), an online
// softmax across chunks, the weighted values accumulated per head dimension.
__global__ void paged_attention_kernel(const void* q, int dt, const int32_t* meta, const int32_t* tables, AttnGeom g, const void* kc,
                                       const void* vc, void* out) {
  const int64_t t = blockIdx.x;
  const int h = blockIdx.y, head = h / (g.H / g.KVH), tid = threadIdx.x;
  __shared__ float qs[kMaxHeadSize];
  __shared__ float p[kAttnThreads];
  __shared__ float red[kAttnThreads / 32];
  for (int d = tid; d < g.D; d += kAttnThreads) qs[d] = load_f(q, dt, t * g.q_tok + h * g.q_head + d);
  __syncthreads();
  const int table = meta[2 * t];
  const int64_t n = static_cast<int64_t>(meta[2 * t + 1]) + 1;  // keys 0 … position
  constexpr int kPer = kMaxHeadSize / kAttnThreads;
  float acc[kPer];
  for (int k = 0; k < kPer; ++k) acc[k] = 0.f;
  float m = -INFINITY, l = 0.f;
  for (int64_t j0 = 0; j0 < n; j0 += kAttnThreads) {
    const int64_t j = j0 + tid;
    float s = -INFINITY;
    if (j < n) {
      const int64_t at = page_at(tables, table, j, g, head);
      float dot = 0.f;
      for (int d = 0; d < g.D; ++d) dot += qs[d] * load_f(kc, dt, at + d);
      s = dot * g.scale;
    }
    float cm = warp_max(s);
    if (tid % 32 == 0) red[tid / 32] = cm;
    __syncthreads();
    cm = red[0];
    for (int w = 1; w < kAttnThreads / 32; ++w) cm = fmaxf(cm, red[w]);
    __syncthreads();
    const float nm = fmaxf(m, cm), factor = expf(m - nm);
    const float e = j < n ? expf(s - nm) : 0.f;
    p[tid] = e;
    float cs = warp_sum(e);
    if (tid % 32 == 0) red[tid / 32] = cs;
    __syncthreads();
    cs = 0.f;
    for (int w = 0; w < kAttnThreads / 32; ++w) cs += red[w];
    l = l * factor + cs;
    m = nm;
    const int64_t cnt = n - j0 < kAttnThreads ? n - j0 : kAttnThreads;
    for (int k = 0; k < kPer; ++k) {
      const int d = tid + k * kAttnThreads;
      if (d >= g.D) break;
      float a = acc[k] * factor;
      for (int64_t jj = 0; jj < cnt; ++jj) a += p[jj] * load_f(vc, dt, page_at(tables, table, j0 + jj, g, head) + d);
      acc[k] = a;
    }
    __syncthreads();
  }
  const float inv = 1.f / l;
  for (int k = 0; k < kPer; ++k) {
    const int d = tid + k * kAttnThreads;
    if (d < g.D) store_f(out, dt, t * g.o_tok + h * g.o_head + d, acc[k] * inv);
  }
}

Status k_PagedAttention(KernelContext& ctx) {
  CudaContext* c;
  FLEETRT_RETURN_IF_ERROR(get_context(ctx, &c));
  FLEETRT_RETURN_IF_ERROR(check_dtypes(ctx));
  StepState* step = ctx.step_state();
  if (!step) return op_error(ctx, "runs only inside a generation step (the KV cache is engine state)");
  const Attributes& a = ctx.attrs();
  const std::string layout = a.get_string("layout", "bhsd");
  if (layout != "bhsd" && layout != "bsd" && layout != "packed") return op_error(ctx, "unknown layout '" + layout + "'");
  const int64_t H = a.get_int("num_heads", 0), KVH = a.get_int("kv_num_heads", H), D = a.get_int("head_size", 0);
  if (H <= 0 || KVH <= 0 || D <= 0 || H % KVH != 0)
    return op_error(ctx, "num_heads, kv_num_heads and head_size must be positive with num_heads a multiple of kv_num_heads");
  if (D > kMaxHeadSize) return op_error(ctx, "head_size above 512");
  const float scale = a.get_float("scale", 0) != 0 ? static_cast<float>(a.get_float("scale", 0)) : 1.0f / std::sqrt(static_cast<float>(D));
  const Tensor* q = ctx.input(0);
  const Tensor* kn = q;
  const Tensor* vn = q;
  if (layout != "packed") {
    kn = ctx.input(1);
    vn = ctx.input(2);
  }
  if (!q || !kn || !vn) return op_error(ctx, "needs query, key and value");
  const int64_t T = step->num_tokens();
  const DType dt = q->dtype;
  if (kn->dtype != dt || vn->dtype != dt) return op_error(ctx, "query, key and value must share one float type");
  AttnGeom g{};
  std::vector<int64_t> qs, ks_shape, out_shape;
  if (layout == "bhsd") {
    qs = {1, H, T, D};
    ks_shape = {1, KVH, T, D};
    out_shape = qs;
    g.q_tok = D, g.q_head = T * D, g.k_tok = D, g.k_head = T * D, g.o_tok = D, g.o_head = T * D;
  } else if (layout == "bsd") {
    qs = {1, T, H * D};
    ks_shape = {1, T, KVH * D};
    out_shape = qs;
    g.q_tok = H * D, g.q_head = D, g.k_tok = KVH * D, g.k_head = D, g.o_tok = H * D, g.o_head = D;
  } else {
    qs = {1, T, (H + 2 * KVH) * D};
    ks_shape = qs;
    out_shape = {1, T, H * D};
    g.q_tok = (H + 2 * KVH) * D, g.q_head = D, g.k_tok = g.q_tok, g.k_head = D, g.o_tok = H * D, g.o_head = D;
    g.k_base = H * D;
    g.v_base = (H + KVH) * D;
  }
  if (q->shape != qs || kn->shape != ks_shape || vn->shape != ks_shape) return op_error(ctx, "query/key/value shapes do not match the layout and the step");
  StateStorage kst, vst;
  FLEETRT_RETURN_IF_ERROR(step->storage(static_cast<int>(a.get_int("k_state", -1)), &kst));
  FLEETRT_RETURN_IF_ERROR(step->storage(static_cast<int>(a.get_int("v_state", -1)), &vst));
  if (kst.dtype != dt || vst.dtype != dt || kst.outer != KVH || kst.inner != D || vst.outer != KVH || vst.inner != D ||
      kst.page_size != vst.page_size)
    return op_error(ctx, "the state's pages do not hold [kv_num_heads, head_size] of the query's type");
  g.H = static_cast<int>(H), g.KVH = static_cast<int>(KVH), g.D = static_cast<int>(D), g.page_size = kst.page_size;
  g.page_elems = static_cast<int64_t>(kst.page_elems());
  g.scale = scale;
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, out_shape, dt, &out));
  // Token → (page table, position) and the page tables, uploaded for the kernels.
  std::vector<int32_t> meta(static_cast<size_t>(2 * T), -1), tables;
  const uint64_t elem = dtype_bytes(dt, 1);
  uint64_t read = 0;
  for (int s = 0; s < step->num_sequences(); ++s) {
    const StepSequence& sq = step->sequence(s);
    if (sq.first_token < 0 || sq.first_token + sq.tokens > T) return op_error(ctx, "a sequence's tokens lie outside the step");
    const int64_t need = (static_cast<int64_t>(sq.past) + sq.tokens + kst.page_size - 1) / kst.page_size;
    if (sq.num_pages < need) return op_error(ctx, "a sequence has fewer pages than its tokens need");
    for (int32_t i = 0; i < sq.num_pages; ++i)
      if (sq.pages[i] < 0 || sq.pages[i] >= kst.pages) return op_error(ctx, "a page table names a page outside the state");
    const int32_t at = static_cast<int32_t>(tables.size());
    tables.insert(tables.end(), sq.pages, sq.pages + sq.num_pages);
    for (int32_t i = 0; i < sq.tokens; ++i) {
      meta[2 * (sq.first_token + i)] = at;
      meta[2 * (sq.first_token + i) + 1] = sq.past + i;
      read += 2 * elem * static_cast<uint64_t>((sq.past + i + 1) * KVH * D);
    }
  }
  for (int64_t t = 0; t < T; ++t)
    if (meta[2 * t] < 0) return op_error(ctx, "token " + std::to_string(t) + " of the step belongs to no sequence");
  if (T == 0) return Status::Ok();
  const size_t meta_bytes = meta.size() * sizeof(int32_t), table_bytes = tables.size() * sizeof(int32_t);
  int32_t* dev = static_cast<int32_t*>(ctx.scratch(meta_bytes + table_bytes));
  if (!dev) return op_error(ctx, "out of GPU memory");
  FLEETRT_CUDA_CHECK(cudaMemcpyAsync(dev, meta.data(), meta_bytes, cudaMemcpyHostToDevice, c->stream));
  if (table_bytes)
    FLEETRT_CUDA_CHECK(cudaMemcpyAsync(dev + meta.size(), tables.data(), table_bytes, cudaMemcpyHostToDevice, c->stream));
  const int64_t n = T * KVH * D;
  kv_append_kernel<<<grid_for(n), 256, 0, c->stream>>>(kn->data, vn->data, static_cast<int>(dt), dev, dev + meta.size(), g, kst.data, vst.data, n);
  FLEETRT_CUDA_LAUNCHED();
  dim3 grid(static_cast<unsigned>(T), static_cast<unsigned>(H));
  paged_attention_kernel<<<grid, kAttnThreads, 0, c->stream>>>(q->data, static_cast<int>(dt), dev, dev + meta.size(), g, kst.data, vst.data,
                                                                out->data);
  FLEETRT_CUDA_LAUNCHED();
  step->count(2 * elem * static_cast<uint64_t>(T * KVH * D), read);
  return Status::Ok();
}

}  // namespace

FLEETRT_CUDA_KERNEL("", "Softmax", k_Softmax, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "LogSoftmax", k_LogSoftmax, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "LayerNormalization", k_LayerNormalization, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "SimplifiedLayerNormalization", k_SimplifiedLayerNormalization, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("com.microsoft", "SimplifiedLayerNormalization", k_SimplifiedLayerNormalization, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "RMSNormalization", k_RMSNormalization, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "ReduceSum", k_ReduceSum, "float32,float16,bfloat16,int32,int64");
FLEETRT_CUDA_KERNEL("", "ReduceMean", k_ReduceMean, "float32,float16,bfloat16,int32,int64");
FLEETRT_CUDA_KERNEL("", "ReduceMax", k_ReduceMax, "float32,float16,bfloat16,int32,int64");
FLEETRT_CUDA_KERNEL("fleetc", "PagedAttention", k_PagedAttention, "float32,float16,bfloat16");

}  // namespace cuda
}  // namespace fleetrt
