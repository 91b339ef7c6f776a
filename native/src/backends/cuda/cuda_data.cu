// Data movement on the GPU: Reshape/Squeeze/Unsqueeze/Flatten/Identity (device copies),
// Transpose/Slice/Expand (one strided-copy kernel), Concat/Split (2-D async copies), Gather,
// Shape and ConstantOfShape (computed on the host, uploaded), and the helpers of cuda_ops.h.
// Shape-like inputs (Reshape's shape, Slice's starts …) are read through host_input().
#include <algorithm>
#include <cstring>

#include "backends/cuda/cuda_device.cuh"
#include "backends/cuda/cuda_ops.h"

namespace fleetrt {
namespace cuda {

namespace {

// dst[i] = src[base + Σ idx_k · stride_k] over the out dims of d.
__global__ void strided_copy_kernel(const char* src, Dims d, int64_t base, int64_t elem, char* dst, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t off = base + bcast_offset(d, i);
    switch (elem) {
      case 1: dst[i] = src[off]; break;
      case 2: reinterpret_cast<uint16_t*>(dst)[i] = reinterpret_cast<const uint16_t*>(src)[off]; break;
      case 4: reinterpret_cast<uint32_t*>(dst)[i] = reinterpret_cast<const uint32_t*>(src)[off]; break;
      default: reinterpret_cast<uint64_t*>(dst)[i] = reinterpret_cast<const uint64_t*>(src)[off]; break;
    }
  }
}

// Out-of-range indices read row 0 (memory-safe); k_Gather reports them from the host copy.
__global__ void gather_kernel(const char* data, const void* idx, int idx_dt, int64_t axis_dim, int64_t n_idx, int64_t inner,
                              int64_t elem, char* out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t in = i % inner, r = i / inner, j = r % n_idx, outer = r / n_idx;
    int64_t k = load_i(idx, idx_dt, j);
    if (k < 0) k += axis_dim;
    if (k < 0 || k >= axis_dim) k = 0;
    const int64_t off = (outer * axis_dim + k) * inner + in;
    switch (elem) {
      case 1: out[i] = data[off]; break;
      case 2: reinterpret_cast<uint16_t*>(out)[i] = reinterpret_cast<const uint16_t*>(data)[off]; break;
      case 4: reinterpret_cast<uint32_t*>(out)[i] = reinterpret_cast<const uint32_t*>(data)[off]; break;
      default: reinterpret_cast<uint64_t*>(out)[i] = reinterpret_cast<const uint64_t*>(data)[off]; break;
    }
  }
}

__global__ void fill_kernel(char* dst, uint64_t pattern, int64_t elem, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    for (int64_t b = 0; b < elem; ++b) dst[i * elem + b] = static_cast<char>((pattern >> (8 * b)) & 0xff);
}

Status strided_copy(CudaContext& c, const Tensor& src, const Dims& d, int64_t base, Tensor* dst) {
  const int64_t n = dst->numel();
  if (!n) return Status::Ok();
  const int64_t elem = static_cast<int64_t>(dtype_bytes(src.dtype, 1));
  if (elem != 1 && elem != 2 && elem != 4 && elem != 8) return Status::Error(std::string("cannot move ") + dtype_name(src.dtype) + " tensors");
  strided_copy_kernel<<<grid_for(n), 256, 0, c.stream>>>(static_cast<const char*>(src.data), d, base, elem, static_cast<char*>(dst->data), n);
  FLEETRT_CUDA_LAUNCHED();
  return Status::Ok();
}

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int k = static_cast<int>(shape.size()) - 2; k >= 0; --k) s[k] = s[k + 1] * shape[k + 1];
  return s;
}

Status same_bytes(KernelContext& ctx, const std::vector<int64_t>& shape) {
  CudaContext* c;
  FLEETRT_RETURN_IF_ERROR(get_context(ctx, &c));
  const Tensor* X = ctx.input(0);
  if (!X) return op_error(ctx, "needs an input");
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (n != X->numel()) return op_error(ctx, "cannot reshape " + std::to_string(X->numel()) + " elements to " + std::to_string(n));
  Tensor* Y;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, shape, X->dtype, &Y));
  FLEETRT_RETURN_IF_ERROR(copy_tensor(*c, *X, Y));
  // A small integer tensor keeps a host copy (shape arithmetic then reads it without a copy back).
  if ((X->dtype == DType::kI64 || X->dtype == DType::kI32) && X->numel() <= 64) {
    const Tensor* h = ctx.host_input(0);
    if (h) ctx.set_host_copy(0, Tensor{h->dtype, shape, h->data});
  }
  return Status::Ok();
}

Status axes_of(KernelContext& ctx, int input, const char* attr, std::vector<int64_t>* axes) {
  axes->clear();
  if (ctx.num_inputs() > input && ctx.input(input)) {
    if (!host_ints(ctx.host_input(input), axes)) return op_error(ctx, "axes must be int64");
  } else {
    *axes = ctx.attrs().get_ints(attr);
  }
  return Status::Ok();
}

Status k_Identity(KernelContext& ctx) {
  const Tensor* X = ctx.input(0);
  if (!X) return op_error(ctx, "needs an input");
  return same_bytes(ctx, X->shape);
}

Status k_Reshape(KernelContext& ctx) {
  const Tensor* X = ctx.input(0);
  std::vector<int64_t> spec;
  if (!X || !host_ints(ctx.host_input(1), &spec)) return op_error(ctx, "needs data and an int64 shape");
  const bool allowzero = ctx.attrs().get_int("allowzero", 0) != 0;
  int64_t known = 1;
  int infer = -1;
  for (size_t k = 0; k < spec.size(); ++k) {
    if (spec[k] == 0 && !allowzero) {
      if (k >= X->shape.size()) return op_error(ctx, "shape copies a dimension the input does not have");
      spec[k] = X->shape[k];
    }
    if (spec[k] == -1) {
      if (infer >= 0) return op_error(ctx, "more than one -1 in the shape");
      infer = static_cast<int>(k);
    } else if (spec[k] < 0) {
      return op_error(ctx, "negative dimension in the shape");
    } else {
      known *= spec[k];
    }
  }
  if (infer >= 0) {
    if (known == 0 || X->numel() % known != 0) return op_error(ctx, "cannot infer the -1 dimension");
    spec[infer] = X->numel() / known;
  }
  return same_bytes(ctx, spec);
}

Status k_Flatten(KernelContext& ctx) {
  const Tensor* X = ctx.input(0);
  if (!X) return op_error(ctx, "needs an input");
  int64_t axis = ctx.attrs().get_int("axis", 1);
  const int64_t r = static_cast<int64_t>(X->rank());
  if (axis < 0) axis += r;
  if (axis < 0 || axis > r) return op_error(ctx, "axis out of range");
  int64_t a = 1, b = 1;
  for (int64_t k = 0; k < r; ++k) (k < axis ? a : b) *= X->shape[k];
  return same_bytes(ctx, {a, b});
}

Status k_Squeeze(KernelContext& ctx) {
  const Tensor* X = ctx.input(0);
  if (!X) return op_error(ctx, "needs an input");
  std::vector<int64_t> axes;
  FLEETRT_RETURN_IF_ERROR(axes_of(ctx, 1, "axes", &axes));
  const int64_t r = static_cast<int64_t>(X->rank());
  std::vector<bool> drop(X->rank(), false);
  for (int64_t a : axes) {
    if (a < 0) a += r;
    if (a < 0 || a >= r || X->shape[a] != 1) return op_error(ctx, "cannot squeeze axis " + std::to_string(a));
    drop[a] = true;
  }
  std::vector<int64_t> shape;
  for (int64_t k = 0; k < r; ++k)
    if (!(axes.empty() ? X->shape[k] == 1 : drop[k])) shape.push_back(X->shape[k]);
  return same_bytes(ctx, shape);
}

Status k_Unsqueeze(KernelContext& ctx) {
  const Tensor* X = ctx.input(0);
  if (!X) return op_error(ctx, "needs an input");
  std::vector<int64_t> axes;
  FLEETRT_RETURN_IF_ERROR(axes_of(ctx, 1, "axes", &axes));
  const int64_t r = static_cast<int64_t>(X->rank() + axes.size());
  std::vector<bool> add(r, false);
  for (int64_t a : axes) {
    if (a < 0) a += r;
    if (a < 0 || a >= r || add[a]) return op_error(ctx, "bad axis " + std::to_string(a));
    add[a] = true;
  }
  std::vector<int64_t> shape;
  size_t j = 0;
  for (int64_t k = 0; k < r; ++k) shape.push_back(add[k] ? 1 : X->shape[j++]);
  return same_bytes(ctx, shape);
}

Status k_Transpose(KernelContext& ctx) {
  CudaContext* c;
  FLEETRT_RETURN_IF_ERROR(get_context(ctx, &c));
  const Tensor* X = ctx.input(0);
  if (!X) return op_error(ctx, "needs an input");
  const int r = static_cast<int>(X->rank());
  if (r > kMaxRank) return op_error(ctx, "rank above 8");
  std::vector<int64_t> perm = ctx.attrs().get_ints("perm");
  if (perm.empty())
    for (int k = r - 1; k >= 0; --k) perm.push_back(k);
  if (static_cast<int>(perm.size()) != r) return op_error(ctx, "perm has the wrong length");
  const std::vector<int64_t> in_strides = contiguous_strides(X->shape);
  std::vector<int64_t> shape(r);
  Dims d;
  d.rank = r;
  std::vector<bool> seen(r, false);
  for (int k = 0; k < r; ++k) {
    const int64_t p = perm[k] < 0 ? perm[k] + r : perm[k];
    if (p < 0 || p >= r || seen[p]) return op_error(ctx, "perm is not a permutation");
    seen[p] = true;
    shape[k] = X->shape[p];
    d.size[k] = shape[k];
    d.stride[k] = in_strides[p];
  }
  Tensor* Y;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, shape, X->dtype, &Y));
  return strided_copy(*c, *X, d, 0, Y);
}

Status k_Expand(KernelContext& ctx) {
  CudaContext* c;
  FLEETRT_RETURN_IF_ERROR(get_context(ctx, &c));
  const Tensor* X = ctx.input(0);
  std::vector<int64_t> spec, shape;
  if (!X || !host_ints(ctx.host_input(1), &spec)) return op_error(ctx, "needs data and an int64 shape");
  if (!broadcast_shape({X->shape, spec}, &shape)) return op_error(ctx, "shape does not broadcast with the input");
  if (shape.size() > static_cast<size_t>(kMaxRank)) return op_error(ctx, "rank above 8");
  Tensor* Y;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, shape, X->dtype, &Y));
  return broadcast_copy(*c, *X, Y);
}

Status k_Slice(KernelContext& ctx) {
  CudaContext* c;
  FLEETRT_RETURN_IF_ERROR(get_context(ctx, &c));
  const Tensor* X = ctx.input(0);
  if (!X) return op_error(ctx, "needs an input");
  const int64_t r = static_cast<int64_t>(X->rank());
  if (r > kMaxRank) return op_error(ctx, "rank above 8");
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.num_inputs() >= 3) {
    if (!host_ints(ctx.host_input(1), &starts) || !host_ints(ctx.host_input(2), &ends)) return op_error(ctx, "starts and ends must be integers");
    if (ctx.num_inputs() > 3 && ctx.input(3) && !host_ints(ctx.host_input(3), &axes)) return op_error(ctx, "axes must be integers");
    if (ctx.num_inputs() > 4 && ctx.input(4) && !host_ints(ctx.host_input(4), &steps)) return op_error(ctx, "steps must be integers");
  } else {
    starts = ctx.attrs().get_ints("starts");
    ends = ctx.attrs().get_ints("ends");
    axes = ctx.attrs().get_ints("axes");
  }
  if (starts.size() != ends.size()) return op_error(ctx, "starts and ends differ in length");
  if (axes.empty())
    for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size()) return op_error(ctx, "axes/steps differ in length from starts");
  std::vector<int64_t> begin(r, 0), step(r, 1), shape = X->shape;
  for (size_t k = 0; k < starts.size(); ++k) {
    int64_t a = axes[k] < 0 ? axes[k] + r : axes[k];
    if (a < 0 || a >= r) return op_error(ctx, "axis out of range");
    const int64_t dim = X->shape[a], s = steps[k];
    if (s == 0) return op_error(ctx, "step 0");
    int64_t b = starts[k], e = ends[k];
    if (b < 0) b += dim;
    if (e < 0) e += dim;
    if (s > 0) {
      b = std::max<int64_t>(0, std::min(b, dim));
      e = std::max<int64_t>(0, std::min(e, dim));
      shape[a] = e > b ? (e - b + s - 1) / s : 0;
    } else {
      b = std::max<int64_t>(0, std::min(b, dim - 1));
      e = std::max<int64_t>(-1, std::min(e, dim - 1));
      shape[a] = dim > 0 && b > e ? (b - e + (-s) - 1) / (-s) : 0;
    }
    begin[a] = b;
    step[a] = s;
  }
  const std::vector<int64_t> in_strides = contiguous_strides(X->shape);
  Dims d;
  d.rank = static_cast<int>(r);
  int64_t base = 0;
  for (int64_t k = 0; k < r; ++k) {
    d.size[k] = shape[k];
    d.stride[k] = in_strides[k] * step[k];
    base += begin[k] * in_strides[k];
  }
  Tensor* Y;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, shape, X->dtype, &Y));
  if (Y->numel() == 0) return Status::Ok();
  return strided_copy(*c, *X, d, base, Y);
}

Status k_Concat(KernelContext& ctx) {
  CudaContext* c;
  FLEETRT_RETURN_IF_ERROR(get_context(ctx, &c));
  const Tensor* first = nullptr;
  for (int i = 0; i < ctx.num_inputs() && !first; ++i) first = ctx.input(i);
  if (!first) return op_error(ctx, "needs inputs");
  const int64_t r = static_cast<int64_t>(first->rank());
  int64_t axis = ctx.attrs().get_int("axis", 0);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return op_error(ctx, "axis out of range");
  std::vector<int64_t> shape = first->shape;
  shape[axis] = 0;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor* t = ctx.input(i);
    if (!t) continue;
    if (t->dtype != first->dtype || static_cast<int64_t>(t->rank()) != r) return op_error(ctx, "inputs differ in element type or rank");
    for (int64_t k = 0; k < r; ++k)
      if (k != axis && t->shape[k] != first->shape[k]) return op_error(ctx, "inputs differ outside the axis");
    shape[axis] += t->shape[axis];
  }
  Tensor* Y;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, shape, first->dtype, &Y));
  if (Y->numel() == 0) return Status::Ok();
  const size_t es = dtype_bytes(first->dtype, 1);
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= shape[k];
  for (int64_t k = axis + 1; k < r; ++k) inner *= shape[k];
  const size_t row = static_cast<size_t>(shape[axis] * inner) * es;
  size_t at = 0;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor* t = ctx.input(i);
    if (!t || t->numel() == 0) continue;
    const size_t w = static_cast<size_t>(t->shape[axis] * inner) * es;
    FLEETRT_CUDA_CHECK(cudaMemcpy2DAsync(static_cast<char*>(Y->data) + at, row, t->data, w, w, static_cast<size_t>(outer),
                                         cudaMemcpyDeviceToDevice, c->stream));
    at += w;
  }
  return Status::Ok();
}

Status k_Split(KernelContext& ctx) {
  CudaContext* c;
  FLEETRT_RETURN_IF_ERROR(get_context(ctx, &c));
  const Tensor* X = ctx.input(0);
  if (!X) return op_error(ctx, "needs an input");
  const int64_t r = static_cast<int64_t>(X->rank());
  int64_t axis = ctx.attrs().get_int("axis", 0);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return op_error(ctx, "axis out of range");
  std::vector<int64_t> sizes;
  if (ctx.num_inputs() > 1 && ctx.input(1)) {
    if (!host_ints(ctx.host_input(1), &sizes)) return op_error(ctx, "split must be int64");
  } else {
    sizes = ctx.attrs().get_ints("split");
  }
  const int n = ctx.num_outputs();
  const int64_t dim = X->shape[axis];
  if (sizes.empty()) {
    const int64_t parts = ctx.attrs().get_int("num_outputs", n);
    const int64_t each = (dim + parts - 1) / parts;
    for (int64_t k = 0; k < parts; ++k) sizes.push_back(std::max<int64_t>(0, std::min(each, dim - k * each)));
  }
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  if (static_cast<int>(sizes.size()) != n || total != dim) return op_error(ctx, "split sizes do not add up to the axis");
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= X->shape[k];
  for (int64_t k = axis + 1; k < r; ++k) inner *= X->shape[k];
  const size_t es = dtype_bytes(X->dtype, 1), row = static_cast<size_t>(dim * inner) * es;
  size_t at = 0;
  for (int i = 0; i < n; ++i) {
    std::vector<int64_t> shape = X->shape;
    shape[axis] = sizes[i];
    Tensor* Y;
    FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, i, shape, X->dtype, &Y));
    const size_t w = static_cast<size_t>(sizes[i] * inner) * es;
    if (Y && w && outer)
      FLEETRT_CUDA_CHECK(cudaMemcpy2DAsync(Y->data, w, static_cast<const char*>(X->data) + at, row, w, static_cast<size_t>(outer),
                                           cudaMemcpyDeviceToDevice, c->stream));
    at += w;
  }
  return Status::Ok();
}

Status k_Gather(KernelContext& ctx) {
  CudaContext* c;
  FLEETRT_RETURN_IF_ERROR(get_context(ctx, &c));
  FLEETRT_RETURN_IF_ERROR(check_dtypes(ctx));
  const Tensor* X = ctx.input(0);
  const Tensor* I = ctx.input(1);
  if (!X || !I) return op_error(ctx, "needs data and indices");
  if (I->dtype != DType::kI64 && I->dtype != DType::kI32) return op_error(ctx, "indices must be int32 or int64");
  const int64_t r = static_cast<int64_t>(X->rank());
  int64_t axis = ctx.attrs().get_int("axis", 0);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return op_error(ctx, "axis out of range");
  std::vector<int64_t> shape(X->shape.begin(), X->shape.begin() + axis);
  shape.insert(shape.end(), I->shape.begin(), I->shape.end());
  shape.insert(shape.end(), X->shape.begin() + axis + 1, X->shape.end());
  Tensor* Y;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, shape, X->dtype, &Y));
  const int64_t n = Y->numel();
  if (!n) return Status::Ok();
  int64_t inner = 1;
  for (int64_t k = axis + 1; k < r; ++k) inner *= X->shape[k];
  const int64_t elem = static_cast<int64_t>(dtype_bytes(X->dtype, 1));
  gather_kernel<<<grid_for(n), 256, 0, c->stream>>>(static_cast<const char*>(X->data), I->data, static_cast<int>(I->dtype), X->shape[axis],
                                                     I->numel(), inner, elem, static_cast<char*>(Y->data), n);
  FLEETRT_CUDA_LAUNCHED();
  // Out-of-range indices are an error, as on the cpu: checked on the indices' host copy (kept
  // for uploaded indices such as token ids; device-made ones are copied back when small).
  std::vector<int64_t> idx;
  const Tensor* host = nullptr;
  if (I->numel() <= 4096 && (host = ctx.host_input(1)) && host_ints(host, &idx))
    for (int64_t k : idx)
      if (k < -X->shape[axis] || k >= X->shape[axis]) return op_error(ctx, "index " + std::to_string(k) + " is out of range");
  return Status::Ok();
}

Status k_Shape(KernelContext& ctx) {
  CudaContext* c;
  FLEETRT_RETURN_IF_ERROR(get_context(ctx, &c));
  const Tensor* X = ctx.input(0);
  if (!X) return op_error(ctx, "needs an input");
  const int64_t r = static_cast<int64_t>(X->rank());
  int64_t b = ctx.attrs().get_int("start", 0), e = ctx.attrs().get_int("end", r);
  if (b < 0) b += r;
  if (e < 0) e += r;
  b = std::max<int64_t>(0, std::min(b, r));
  e = std::max<int64_t>(b, std::min(e, r));
  std::vector<int64_t> dims(X->shape.begin() + b, X->shape.begin() + e);
  Tensor* Y;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, {static_cast<int64_t>(dims.size())}, DType::kI64, &Y));
  if (!dims.empty())
    FLEETRT_CUDA_CHECK(cudaMemcpyAsync(Y->data, dims.data(), dims.size() * sizeof(int64_t), cudaMemcpyHostToDevice, c->stream));
  Tensor host{DType::kI64, {static_cast<int64_t>(dims.size())}, dims.data()};
  ctx.set_host_copy(0, host);
  return Status::Ok();
}

Status k_ConstantOfShape(KernelContext& ctx) {
  CudaContext* c;
  FLEETRT_RETURN_IF_ERROR(get_context(ctx, &c));
  std::vector<int64_t> shape;
  if (!host_ints(ctx.host_input(0), &shape)) return op_error(ctx, "shape must be int64");
  const Tensor* value = ctx.attrs().get_tensor("value");
  DType dt = value ? value->dtype : DType::kF32;
  uint64_t pattern = 0;
  const size_t es = dtype_bytes(dt, 1);
  if (es > 8) return op_error(ctx, "value type too wide");
  if (value && value->numel() == 1) std::memcpy(&pattern, value->data, es);
  Tensor* Y;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, shape, dt, &Y));
  const int64_t n = Y->numel();
  if (!n) return Status::Ok();
  if (pattern == 0) return fill_zero(*c, Y);
  fill_kernel<<<grid_for(n), 256, 0, c->stream>>>(static_cast<char*>(Y->data), pattern, static_cast<int64_t>(es), n);
  FLEETRT_CUDA_LAUNCHED();
  return Status::Ok();
}

}  // namespace

Status alloc_output(KernelContext& ctx, int i, const std::vector<int64_t>& shape, DType dtype, Tensor** out) {
  FLEETRT_RETURN_IF_ERROR(ctx.output(i, shape, out));
  if (*out && (*out)->dtype != DType::kUndefined && (*out)->dtype != dtype)
    return op_error(ctx, "output " + std::to_string(i) + " is planned as " + dtype_name((*out)->dtype) + ", the kernel makes " + dtype_name(dtype));
  if (*out && (*out)->dtype == DType::kUndefined) *out = nullptr;  // an output the model does not use
  return Status::Ok();
}

Status fill_zero(CudaContext& c, Tensor* t) {
  if (t->bytes()) FLEETRT_CUDA_CHECK(cudaMemsetAsync(t->data, 0, t->bytes(), c.stream));
  return Status::Ok();
}

Status broadcast_copy(CudaContext& c, const Tensor& src, Tensor* dst) {
  if (dst->shape.size() > static_cast<size_t>(kMaxRank)) return Status::Error("rank above 8");
  return strided_copy(c, src, broadcast_dims(src.shape, dst->shape), 0, dst);
}

Status copy_tensor(CudaContext& c, const Tensor& src, Tensor* dst) {
  if (src.bytes() != dst->bytes()) return Status::Error("copy between tensors of different sizes");
  if (src.bytes() && src.data != dst->data)
    FLEETRT_CUDA_CHECK(cudaMemcpyAsync(dst->data, src.data, src.bytes(), cudaMemcpyDeviceToDevice, c.stream));
  return Status::Ok();
}

FLEETRT_CUDA_KERNEL("", "Identity", k_Identity, "float32,float16,bfloat16,float64,int32,int64,int8,uint8,bool");
FLEETRT_CUDA_KERNEL("", "Reshape", k_Reshape, "float32,float16,bfloat16,float64,int32,int64,int8,uint8,bool");
FLEETRT_CUDA_KERNEL("", "Flatten", k_Flatten, "float32,float16,bfloat16,float64,int32,int64,int8,uint8,bool");
FLEETRT_CUDA_KERNEL("", "Squeeze", k_Squeeze, "float32,float16,bfloat16,float64,int32,int64,int8,uint8,bool");
FLEETRT_CUDA_KERNEL("", "Unsqueeze", k_Unsqueeze, "float32,float16,bfloat16,float64,int32,int64,int8,uint8,bool");
FLEETRT_CUDA_KERNEL("", "Transpose", k_Transpose, "float32,float16,bfloat16,float64,int32,int64,int8,uint8,bool");
FLEETRT_CUDA_KERNEL("", "Expand", k_Expand, "float32,float16,bfloat16,float64,int32,int64,int8,uint8,bool");
FLEETRT_CUDA_KERNEL("", "Slice", k_Slice, "float32,float16,bfloat16,float64,int32,int64,int8,uint8,bool");
FLEETRT_CUDA_KERNEL("", "Concat", k_Concat, "float32,float16,bfloat16,float64,int32,int64,int8,uint8,bool");
FLEETRT_CUDA_KERNEL("", "Split", k_Split, "float32,float16,bfloat16,float64,int32,int64,int8,uint8,bool");
FLEETRT_CUDA_KERNEL("", "Gather", k_Gather, "float32,float16,bfloat16,float64,int32,int64,int8,uint8,bool");
FLEETRT_CUDA_KERNEL("", "Shape", k_Shape, "float32,float16,bfloat16,float64,int32,int64,int8,uint8,bool");
FLEETRT_CUDA_KERNEL("", "ConstantOfShape", k_ConstantOfShape, "float32,float16,bfloat16,float64,int32,int64,int8,uint8,bool");

}  // namespace cuda
}  // namespace fleetrt
