// Indexing reads: Gather, GatherElements, GatherND. Indices may be int32/int64 and negative;
// every index is bounds-checked.
#include <algorithm>
#include <atomic>

#include "data_util.h"

namespace fleetrt {
namespace {
using namespace datak;

Status read_index_tensor(KernelContext& ctx, int i, const Tensor** t) {
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, i, t));
  if ((*t)->dtype != DType::kI32 && (*t)->dtype != DType::kI64)
    return err(ctx, std::string("indices must be int32 or int64, got ") + dtype_name((*t)->dtype));
  return Status::Ok();
}

inline int64_t idx_at(const Tensor& t, int64_t i) {
  return t.dtype == DType::kI64 ? t.as<int64_t>()[i] : t.as<int32_t>()[i];
}

Status bad_index(KernelContext& ctx, int64_t v, int64_t dim) {
  return err(ctx, "index " + std::to_string(v) + " is out of range for axis size " + std::to_string(dim));
}

Status Gather(KernelContext& ctx) {
  const Tensor *data, *ind;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &data));
  FLEETRT_RETURN_IF_ERROR(read_index_tensor(ctx, 1, &ind));
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, data->dtype));
  int64_t r = static_cast<int64_t>(data->rank()), axis = 0;
  if (r == 0) return err(ctx, "data must have rank >= 1");
  FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, ctx.attrs().get_int("axis", 0), r, &axis));
  const int64_t dim = data->shape[axis];
  const int64_t n = ind->numel();
  std::vector<int64_t> idx(n);
  for (int64_t i = 0; i < n; ++i) {
    int64_t v = idx_at(*ind, i);
    int64_t w = v < 0 ? v + dim : v;
    if (w < 0 || w >= dim) return bad_index(ctx, v, dim);
    idx[i] = w;
  }
  std::vector<int64_t> shape(data->shape.begin(), data->shape.begin() + axis);
  shape.insert(shape.end(), ind->shape.begin(), ind->shape.end());
  shape.insert(shape.end(), data->shape.begin() + axis + 1, data->shape.end());
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &out));
  if (!out) return Status::Ok();
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= data->shape[k];
  for (int64_t k = axis + 1; k < r; ++k) inner *= data->shape[k];
  const DType t = data->dtype;
  const int64_t es = static_cast<int64_t>(elem_size(t));
  const int64_t total = outer * n;
  if (inner == 1 && t != DType::kString && (es == 4 || es == 8 || es == 2 || es == 1)) {
    ctx.parallel_for(total, grain_for(total, es * 8), [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k) {
        int64_t o = k / n, j = k % n;
        std::memcpy(static_cast<char*>(out->data) + k * es, static_cast<const char*>(data->data) + (o * dim + idx[j]) * es, es);
      }
    });
    return Status::Ok();
  }
  ctx.parallel_for(total, grain_for(total, inner * es), [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      int64_t o = k / n, j = k % n;
      copy_elems(t, out->data, k * inner, data->data, (o * dim + idx[j]) * inner, inner);
    }
  });
  return Status::Ok();
}

Status GatherElements(KernelContext& ctx) {
  const Tensor *data, *ind;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &data));
  FLEETRT_RETURN_IF_ERROR(read_index_tensor(ctx, 1, &ind));
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, data->dtype));
  int64_t r = static_cast<int64_t>(data->rank()), axis = 0;
  if (r == 0) return err(ctx, "data must have rank >= 1");
  if (static_cast<int64_t>(ind->rank()) != r) return err(ctx, "indices rank differs from data rank");
  FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, ctx.attrs().get_int("axis", 0), r, &axis));
  for (int64_t k = 0; k < r; ++k)
    if (k != axis && ind->shape[k] > data->shape[k])
      return err(ctx, "indices shape " + shape_str(ind->shape) + " exceeds data shape " + shape_str(data->shape));
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, ind->shape, &out));
  if (!out) return Status::Ok();
  std::vector<int64_t> dst = strides_of(data->shape);
  const int64_t n = ind->numel(), dim = data->shape[axis];
  std::atomic<int64_t> bad{-1};
  ctx.parallel_for(n, 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      int64_t rem = i, off = 0;
      for (int64_t k = r - 1; k >= 0; --k) {
        int64_t c = rem % ind->shape[k];
        rem /= ind->shape[k];
        if (k == axis) {
          int64_t v = idx_at(*ind, i);
          if (v < 0) v += dim;
          if (v < 0 || v >= dim) {
            bad = i;
            return;
          }
          c = v;
        }
        off += c * dst[k];
      }
      copy_elems(data->dtype, out->data, i, data->data, off, 1);
    }
  });
  if (bad >= 0) return bad_index(ctx, idx_at(*ind, bad), dim);
  return Status::Ok();
}

Status GatherND(KernelContext& ctx) {
  const Tensor *data, *ind;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &data));
  FLEETRT_RETURN_IF_ERROR(read_index_tensor(ctx, 1, &ind));
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, data->dtype));
  const int64_t r = static_cast<int64_t>(data->rank()), q = static_cast<int64_t>(ind->rank());
  const int64_t b = ctx.attrs().get_int("batch_dims", 0);
  if (q < 1 || r < 1) return err(ctx, "data and indices must have rank >= 1");
  if (b < 0 || b >= std::min(r, q)) return err(ctx, "batch_dims out of range");
  for (int64_t k = 0; k < b; ++k)
    if (data->shape[k] != ind->shape[k]) return err(ctx, "batch dims of data and indices differ");
  const int64_t kk = ind->shape[q - 1];
  if (kk < 1 || kk > r - b) return err(ctx, "indices last dim " + std::to_string(kk) + " is out of range");
  std::vector<int64_t> shape(ind->shape.begin(), ind->shape.end() - 1);
  shape.insert(shape.end(), data->shape.begin() + b + kk, data->shape.end());
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &out));
  if (!out) return Status::Ok();
  int64_t batch = 1, slice = 1, per_batch_data = 1;
  for (int64_t k = 0; k < b; ++k) batch *= data->shape[k];
  for (int64_t k = b + kk; k < r; ++k) slice *= data->shape[k];
  for (int64_t k = b; k < r; ++k) per_batch_data *= data->shape[k];
  const int64_t tuples = ind->numel() / kk, per_batch_tuples = batch ? tuples / batch : 0;
  std::vector<int64_t> dst = strides_of(data->shape);
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t bi = per_batch_tuples ? t / per_batch_tuples : 0, off = bi * per_batch_data;
    for (int64_t j = 0; j < kk; ++j) {
      int64_t dim = data->shape[b + j], v = idx_at(*ind, t * kk + j);
      int64_t w = v < 0 ? v + dim : v;
      if (w < 0 || w >= dim) return bad_index(ctx, v, dim);
      off += w * dst[b + j];
    }
    copy_elems(data->dtype, out->data, t * slice, data->data, off, slice);
  }
  return Status::Ok();
}

}  // namespace

FLEETRT_REGISTER_KERNEL("", "Gather", Gather);
FLEETRT_REGISTER_KERNEL("", "GatherElements", GatherElements);
FLEETRT_REGISTER_KERNEL("", "GatherND", GatherND);

}  // namespace fleetrt
