// Det (batched determinant by LU with partial pivoting, in double) and BitCast
// (reinterpreting element bits as another type of the same width).
#include <cmath>

#include "data_util.h"

namespace fleetrt {
namespace {
using namespace datak;

Status Det(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  const int64_t r = static_cast<int64_t>(x->rank());
  if (r < 2 || x->shape[r - 1] != x->shape[r - 2]) return err(ctx, "input must be [..., M, M], got " + shape_str(x->shape));
  if (!is_float_dtype(x->dtype)) return err(ctx, "input must be a float tensor");
  const int64_t M = x->shape[r - 1];
  std::vector<int64_t> oshape(x->shape.begin(), x->shape.end() - 2);
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, oshape, &out));
  if (!out) return Status::Ok();
  const int64_t B = numel_of(oshape);
  std::vector<double> a(M * M);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t i = 0; i < M * M; ++i) a[i] = get_f64(*x, b * M * M + i);
    double det = 1;
    for (int64_t c = 0; c < M && det != 0; ++c) {
      int64_t piv = c;
      for (int64_t i = c + 1; i < M; ++i)
        if (std::fabs(a[i * M + c]) > std::fabs(a[piv * M + c])) piv = i;
      if (a[piv * M + c] == 0) {
        det = 0;
        break;
      }
      if (piv != c) {
        for (int64_t j = 0; j < M; ++j) std::swap(a[c * M + j], a[piv * M + j]);
        det = -det;
      }
      det *= a[c * M + c];
      for (int64_t i = c + 1; i < M; ++i) {
        double f = a[i * M + c] / a[c * M + c];
        for (int64_t j = c; j < M; ++j) a[i * M + j] -= f * a[c * M + j];
      }
    }
    set_f64(*out, b, det);
  }
  return Status::Ok();
}

Status BitCast(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  const DType to = static_cast<DType>(ctx.attrs().get_int("to", 0));
  if (!ctx.attrs().has("to")) return err(ctx, "missing attribute 'to'");
  if (x->dtype == DType::kString || to == DType::kString) return err(ctx, "strings cannot be bit-cast");
  if (dtype_bits(x->dtype) != dtype_bits(to) || dtype_bits(to) == 0)
    return err(ctx, std::string("cannot bit-cast ") + dtype_name(x->dtype) + " to " + dtype_name(to) + ": widths differ");
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, x->shape, &out));
  if (!out) return Status::Ok();
  if (out->dtype != to) return err(ctx, "planned output dtype differs from 'to'");
  if (out->data != x->data) std::memcpy(out->data, x->data, x->bytes());
  return Status::Ok();
}

FLEETRT_REGISTER_KERNEL("", "Det", Det);
FLEETRT_REGISTER_KERNEL("", "BitCast", BitCast);

}  // namespace
}  // namespace fleetrt
