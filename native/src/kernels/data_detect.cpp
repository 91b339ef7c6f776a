// Detection ops: NonMaxSuppression, RoiAlign (avg/max, half_pixel/output_half_pixel) and
// MaxRoiPool.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "data_util.h"

namespace fleetrt {
namespace {
using namespace datak;

struct Box {
  double y1, x1, y2, x2;
};

Box read_box(const Tensor& t, int64_t base, bool center) {
  double a = get_f64(t, base), b = get_f64(t, base + 1), c = get_f64(t, base + 2), d = get_f64(t, base + 3);
  if (center) return {b - d / 2, a - c / 2, b + d / 2, a + c / 2};  // [xc, yc, w, h]
  return {std::min(a, c), std::min(b, d), std::max(a, c), std::max(b, d)};
}

bool suppresses(const Box& p, const Box& q, double thr) {
  double iy1 = std::max(p.y1, q.y1), ix1 = std::max(p.x1, q.x1), iy2 = std::min(p.y2, q.y2), ix2 = std::min(p.x2, q.x2);
  double inter = std::max(0.0, iy2 - iy1) * std::max(0.0, ix2 - ix1);
  if (inter <= 0) return false;
  double ap = (p.y2 - p.y1) * (p.x2 - p.x1), aq = (q.y2 - q.y1) * (q.x2 - q.x1);
  double uni = ap + aq - inter;
  if (ap <= 0 || aq <= 0 || uni <= 0) return false;
  return inter / uni > thr;
}

Status NonMaxSuppression(KernelContext& ctx) {
  const Tensor *boxes, *scores;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &boxes));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &scores));
  if (boxes->rank() != 3 || boxes->shape[2] != 4) return err(ctx, "boxes must have shape [batch, boxes, 4], got " + shape_str(boxes->shape));
  if (scores->rank() != 3 || scores->shape[0] != boxes->shape[0] || scores->shape[2] != boxes->shape[1])
    return err(ctx, "scores must have shape [batch, classes, boxes], got " + shape_str(scores->shape));
  int64_t max_out = 0;
  double iou_thr = 0, score_thr = 0;
  bool has_score_thr = false;
  if (const Tensor* t = ctx.input(2)) {
    if (t->numel() > 0) max_out = get_int(*t, 0);
  }
  if (const Tensor* t = ctx.input(3)) {
    if (t->numel() > 0) iou_thr = get_f64(*t, 0);
  }
  if (const Tensor* t = ctx.input(4)) {
    if (t->numel() > 0) {
      score_thr = get_f64(*t, 0);
      has_score_thr = true;
    }
  }
  if (iou_thr < 0 || iou_thr > 1) return err(ctx, "iou_threshold must be in [0, 1]");
  const bool center = ctx.attrs().get_int("center_point_box", 0) != 0;
  const int64_t B = boxes->shape[0], NB = boxes->shape[1], C = scores->shape[1];
  std::vector<int64_t> sel;  // triples
  std::vector<Box> bx(NB);
  std::vector<int64_t> cand, kept;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t i = 0; i < NB; ++i) bx[i] = read_box(*boxes, (b * NB + i) * 4, center);
    for (int64_t c = 0; c < C; ++c) {
      const int64_t sb = (b * C + c) * NB;
      cand.clear();
      for (int64_t i = 0; i < NB; ++i)
        if (!has_score_thr || get_f64(*scores, sb + i) > score_thr) cand.push_back(i);
      std::stable_sort(cand.begin(), cand.end(),
                       [&](int64_t p, int64_t q) { return get_f64(*scores, sb + p) > get_f64(*scores, sb + q); });
      kept.clear();
      for (int64_t i : cand) {
        if (static_cast<int64_t>(kept.size()) >= max_out) break;
        bool ok = true;
        for (int64_t k : kept)
          if (suppresses(bx[k], bx[i], iou_thr)) {
            ok = false;
            break;
          }
        if (!ok) continue;
        kept.push_back(i);
        sel.insert(sel.end(), {b, c, i});
      }
    }
  }
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, {static_cast<int64_t>(sel.size() / 3), 3}, &out));
  if (!out) return Status::Ok();
  if (out->dtype != DType::kI64) return err(ctx, "output must be int64");
  if (!sel.empty()) std::memcpy(out->data, sel.data(), sel.size() * sizeof(int64_t));
  return Status::Ok();
}

Status RoiAlign(KernelContext& ctx) {
  const Tensor *x, *rois, *bidx;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &rois));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 2, &bidx));
  if (x->rank() != 4) return err(ctx, "X must be 4-D [N, C, H, W]");
  if (rois->rank() != 2 || rois->shape[1] != 4) return err(ctx, "rois must have shape [R, 4]");
  const int64_t R = rois->shape[0];
  if (bidx->numel() != R) return err(ctx, "batch_indices must have one entry per roi");
  const Attributes& a = ctx.attrs();
  const int64_t oh = a.get_int("output_height", 1), ow = a.get_int("output_width", 1);
  const int64_t sr = a.get_int("sampling_ratio", 0);
  const double scale = a.get_float("spatial_scale", 1.0);
  const bool avg = a.get_string("mode", "avg") == "avg";
  const bool half = ctx.opset() >= 16 && a.get_string("coordinate_transformation_mode", "half_pixel") == "half_pixel";
  const int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  if (oh < 1 || ow < 1) return err(ctx, "output_height and output_width must be positive");
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, {R, C, oh, ow}, &out));
  if (!out || out->numel() == 0) return Status::Ok();
  if (H < 1 || W < 1) return err(ctx, "cannot pool from an empty image " + shape_str(x->shape));
  const double off = half ? 0.5 : 0.0;
  for (int64_t r = 0; r < R; ++r) {
    int64_t n = get_int(*bidx, r);
    if (n < 0 || n >= N) return err(ctx, "batch index " + std::to_string(n) + " out of range");
    double x1 = get_f64(*rois, r * 4) * scale - off, y1 = get_f64(*rois, r * 4 + 1) * scale - off;
    double x2 = get_f64(*rois, r * 4 + 2) * scale - off, y2 = get_f64(*rois, r * 4 + 3) * scale - off;
    double rw = x2 - x1, rh = y2 - y1;
    if (!half) {
      rw = std::max(rw, 1.0);
      rh = std::max(rh, 1.0);
    }
    const double bh = rh / static_cast<double>(oh), bw = rw / static_cast<double>(ow);
    const int64_t gh = sr > 0 ? sr : static_cast<int64_t>(std::ceil(rh / static_cast<double>(oh)));
    const int64_t gw = sr > 0 ? sr : static_cast<int64_t>(std::ceil(rw / static_cast<double>(ow)));
    const double count = static_cast<double>(std::max<int64_t>(gh * gw, 1));
    // Bilinear sample positions and weights of one output bin.
    struct Tap {
      int64_t i[4];
      double w[4];
    };
    for (int64_t ph = 0; ph < oh; ++ph)
      for (int64_t pw = 0; pw < ow; ++pw) {
        std::vector<Tap> taps;
        for (int64_t iy = 0; iy < gh; ++iy) {
          double y = y1 + static_cast<double>(ph) * bh + (static_cast<double>(iy) + 0.5) * bh / static_cast<double>(gh);
          for (int64_t ix = 0; ix < gw; ++ix) {
            double xx = x1 + static_cast<double>(pw) * bw + (static_cast<double>(ix) + 0.5) * bw / static_cast<double>(gw);
            Tap t{{0, 0, 0, 0}, {0, 0, 0, 0}};
            if (!(y < -1.0 || y > static_cast<double>(H) || xx < -1.0 || xx > static_cast<double>(W))) {
              double yy = std::max(y, 0.0), xc = std::max(xx, 0.0);
              int64_t yl = static_cast<int64_t>(yy), xl = static_cast<int64_t>(xc), yh, xh;
              if (yl >= H - 1) yh = yl = H - 1, yy = static_cast<double>(yl);
              else yh = yl + 1;
              if (xl >= W - 1) xh = xl = W - 1, xc = static_cast<double>(xl);
              else xh = xl + 1;
              double ly = yy - static_cast<double>(yl), lx = xc - static_cast<double>(xl), hy = 1 - ly, hx = 1 - lx;
              t = Tap{{yl * W + xl, yl * W + xh, yh * W + xl, yh * W + xh}, {hy * hx, hy * lx, ly * hx, ly * lx}};
            }
            taps.push_back(t);
          }
        }
        for (int64_t c = 0; c < C; ++c) {
          const int64_t base = (n * C + c) * H * W;
          double acc = 0;
          bool first = true;
          for (const Tap& t : taps) {
            if (avg) {
              for (int q = 0; q < 4; ++q) acc += t.w[q] * get_f64(*x, base + t.i[q]);
            } else {
              double m = t.w[0] * get_f64(*x, base + t.i[0]);
              for (int q = 1; q < 4; ++q) m = std::max(m, t.w[q] * get_f64(*x, base + t.i[q]));
              acc = first ? m : std::max(acc, m);
              first = false;
            }
          }
          set_f64(*out, ((r * C + c) * oh + ph) * ow + pw, avg ? acc / count : acc);
        }
      }
  }
  return Status::Ok();
}

Status MaxRoiPool(KernelContext& ctx) {
  const Tensor *x, *rois;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &rois));
  if (x->rank() != 4) return err(ctx, "X must be 4-D [N, C, H, W]");
  if (rois->rank() != 2 || rois->shape[1] != 5) return err(ctx, "rois must have shape [R, 5]");
  std::vector<int64_t> ps = ctx.attrs().get_ints("pooled_shape");
  if (ps.size() != 2) return err(ctx, "pooled_shape must have 2 values");
  const double scale = ctx.attrs().get_float("spatial_scale", 1.0);
  const int64_t R = rois->shape[0], N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
  const int64_t PH = ps[0], PW = ps[1];
  if (PH < 1 || PW < 1) return err(ctx, "pooled_shape must be positive");
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, {R, C, PH, PW}, &out));
  if (!out) return Status::Ok();
  for (int64_t r = 0; r < R; ++r) {
    int64_t n = static_cast<int64_t>(get_f64(*rois, r * 5));
    if (n < 0 || n >= N) return err(ctx, "roi batch index out of range");
    int64_t xs = static_cast<int64_t>(std::round(get_f64(*rois, r * 5 + 1) * scale));
    int64_t ys = static_cast<int64_t>(std::round(get_f64(*rois, r * 5 + 2) * scale));
    int64_t xe = static_cast<int64_t>(std::round(get_f64(*rois, r * 5 + 3) * scale));
    int64_t ye = static_cast<int64_t>(std::round(get_f64(*rois, r * 5 + 4) * scale));
    double rh = static_cast<double>(std::max<int64_t>(ye - ys + 1, 1)), rw = static_cast<double>(std::max<int64_t>(xe - xs + 1, 1));
    double bh = rh / static_cast<double>(PH), bw = rw / static_cast<double>(PW);
    for (int64_t c = 0; c < C; ++c)
      for (int64_t ph = 0; ph < PH; ++ph)
        for (int64_t pw = 0; pw < PW; ++pw) {
          int64_t h0 = std::min(std::max<int64_t>(static_cast<int64_t>(std::floor(ph * bh)) + ys, 0), H);
          int64_t h1 = std::min(std::max<int64_t>(static_cast<int64_t>(std::ceil((ph + 1) * bh)) + ys, 0), H);
          int64_t w0 = std::min(std::max<int64_t>(static_cast<int64_t>(std::floor(pw * bw)) + xs, 0), W);
          int64_t w1 = std::min(std::max<int64_t>(static_cast<int64_t>(std::ceil((pw + 1) * bw)) + xs, 0), W);
          double m = 0;
          bool any = false;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) {
              double v = get_f64(*x, ((n * C + c) * H + h) * W + w);
              if (!any || v > m) m = v;
              any = true;
            }
          set_f64(*out, ((r * C + c) * PH + ph) * PW + pw, any ? m : 0.0);
        }
  }
  return Status::Ok();
}

FLEETRT_REGISTER_KERNEL("", "NonMaxSuppression", NonMaxSuppression);
FLEETRT_REGISTER_KERNEL("", "RoiAlign", RoiAlign);
FLEETRT_REGISTER_KERNEL("", "MaxRoiPool", MaxRoiPool);

}  // namespace
}  // namespace fleetrt
