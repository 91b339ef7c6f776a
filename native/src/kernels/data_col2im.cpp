// Scatter-back ops: Col2Im (N-D, dilations/pads/strides) and TensorScatter (KV-cache style
// writes of an update window at per-batch positions, linear or circular).
#include "data_util.h"

namespace fleetrt {
namespace {
using namespace datak;

Status Col2Im(KernelContext& ctx) {
  const Tensor *in, *img_t, *blk_t;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &img_t));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 2, &blk_t));
  std::vector<int64_t> img, blk;
  FLEETRT_RETURN_IF_ERROR(read_ints(ctx, img_t, "image_shape", &img));
  FLEETRT_RETURN_IF_ERROR(read_ints(ctx, blk_t, "block_shape", &blk));
  const size_t r = img.size();
  if (r == 0 || blk.size() != r) return err(ctx, "image_shape and block_shape must have the same non-zero length");
  if (in->rank() != 3) return err(ctx, "input must be 3-D [N, C*prod(block), L], got " + shape_str(in->shape));
  std::vector<int64_t> dil = ctx.attrs().get_ints("dilations"), pads = ctx.attrs().get_ints("pads"), st = ctx.attrs().get_ints("strides");
  if (dil.empty()) dil.assign(r, 1);
  if (st.empty()) st.assign(r, 1);
  if (pads.empty()) pads.assign(2 * r, 0);
  if (dil.size() != r || st.size() != r || pads.size() != 2 * r) return err(ctx, "dilations/strides/pads have the wrong length");
  const int64_t kprod = numel_of(blk);
  if (kprod == 0 || in->shape[1] % kprod != 0) return err(ctx, "input channel dim is not a multiple of prod(block_shape)");
  const int64_t N = in->shape[0], C = in->shape[1] / kprod, L = in->shape[2];
  std::vector<int64_t> nblk(r);
  for (size_t k = 0; k < r; ++k) {
    int64_t span = dil[k] * (blk[k] - 1) + 1;
    nblk[k] = (img[k] + pads[k] + pads[r + k] - span) / st[k] + 1;
    if (nblk[k] < 0) nblk[k] = 0;
  }
  if (numel_of(nblk) != L) return err(ctx, "input has " + std::to_string(L) + " blocks but the image holds " + std::to_string(numel_of(nblk)));
  std::vector<int64_t> oshape = {N, C};
  oshape.insert(oshape.end(), img.begin(), img.end());
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, oshape, &out));
  if (!out) return Status::Ok();
  const int64_t P = numel_of(img);
  std::vector<double> acc(N * C * P, 0.0);
  const std::vector<int64_t> ist = strides_of(img);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t kk = 0; kk < kprod; ++kk)
        for (int64_t l = 0; l < L; ++l) {
          int64_t krem = kk, lrem = l, pos = 0;
          bool inside = true;
          for (int64_t k = static_cast<int64_t>(r) - 1; k >= 0; --k) {
            int64_t ko = krem % blk[k], lo = lrem % nblk[k];
            krem /= blk[k];
            lrem /= nblk[k];
            int64_t p = lo * st[k] - pads[k] + ko * dil[k];
            if (p < 0 || p >= img[k]) inside = false;
            pos += p * ist[k];
          }
          if (inside) acc[(n * C + c) * P + pos] += get_f64(*in, ((n * C + c) * kprod + kk) * L + l);
        }
  for (int64_t i = 0; i < N * C * P; ++i) set_f64(*out, i, acc[i]);
  return Status::Ok();
}

Status TensorScatter(KernelContext& ctx) {
  const Tensor *past, *upd;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &past));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &upd));
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, past->dtype));
  const int64_t r = static_cast<int64_t>(past->rank());
  if (r < 2 || upd->rank() != past->rank() || upd->dtype != past->dtype) return err(ctx, "update must match past_cache in rank and dtype");
  int64_t axis;
  FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, ctx.attrs().get_int("axis", -2), r, &axis));
  if (axis == 0) return err(ctx, "axis must not be the batch axis");
  for (int64_t k = 0; k < r; ++k)
    if (k != axis && upd->shape[k] != past->shape[k]) return err(ctx, "update shape " + shape_str(upd->shape) + " does not fit " + shape_str(past->shape));
  const int64_t B = past->shape[0], M = past->shape[axis], S = upd->shape[axis];
  if (S > M) return err(ctx, "update is longer than the cache");
  std::vector<int64_t> widx(B, 0);
  if (const Tensor* w = ctx.input(2)) {
    FLEETRT_RETURN_IF_ERROR(read_ints(ctx, w, "write_indices", &widx));
    if (static_cast<int64_t>(widx.size()) != B) return err(ctx, "write_indices must have one entry per batch");
  }
  const bool circular = ctx.attrs().get_string("mode", "linear") == "circular";
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, past->shape, &out));
  if (!out) return Status::Ok();
  copy_tensor_data(*past, out);
  int64_t mid = 1, inner = 1;
  for (int64_t k = 1; k < axis; ++k) mid *= past->shape[k];
  for (int64_t k = axis + 1; k < r; ++k) inner *= past->shape[k];
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s) {
      int64_t p = widx[b] + s;
      if (circular) p = ((p % M) + M) % M;
      if (p < 0 || p >= M) return err(ctx, "write position " + std::to_string(p) + " is outside the cache of " + std::to_string(M));
      for (int64_t m = 0; m < mid; ++m)
        copy_elems(past->dtype, out->data, ((b * mid + m) * M + p) * inner, upd->data, ((b * mid + m) * S + s) * inner, inner);
    }
  return Status::Ok();
}

FLEETRT_REGISTER_KERNEL("", "Col2Im", Col2Im);
FLEETRT_REGISTER_KERNEL("", "TensorScatter", TensorScatter);

}  // namespace
}  // namespace fleetrt
