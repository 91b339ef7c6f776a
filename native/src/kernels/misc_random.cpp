// Random ops: Dropout (inference and training), Bernoulli, RandomUniform(Like),
// RandomNormal(Like), Multinomial. The generator is MT19937 with numpy's legacy sampling
// (53-bit doubles, polar Gaussian), so with a `seed` attribute the results are reproducible
// and equal to numpy's for the same seed. Without a seed, each call draws the next seed
// from a process-wide counter: runs stay deterministic.
#include <atomic>
#include <cmath>

#include "data_util.h"

namespace fleetrt {
namespace {
using namespace datak;

class Mt19937 {
 public:
  explicit Mt19937(uint32_t seed) {
    mt_[0] = seed;
    for (int i = 1; i < 624; ++i) mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + static_cast<uint32_t>(i);
    idx_ = 624;
  }
  uint32_t next() {
    if (idx_ >= 624) twist();
    uint32_t y = mt_[idx_++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() {
    uint32_t a = next() >> 5, b = next() >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  }
  double gauss() {
    if (has_gauss_) {
      has_gauss_ = false;
      return gauss_;
    }
    double x1, x2, r2;
    do {
      x1 = 2.0 * uniform() - 1.0;
      x2 = 2.0 * uniform() - 1.0;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    double f = std::sqrt(-2.0 * std::log(r2) / r2);
    gauss_ = f * x1;
    has_gauss_ = true;
    return f * x2;
  }

 private:
  void twist() {
    for (int i = 0; i < 624; ++i) {
      uint32_t y = (mt_[i] & 0x80000000u) | (mt_[(i + 1) % 624] & 0x7fffffffu);
      mt_[i] = mt_[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1) ? 0x9908b0dfu : 0u);
    }
    idx_ = 0;
  }
  uint32_t mt_[624];
  int idx_;
  bool has_gauss_ = false;
  double gauss_ = 0;
};

uint32_t pick_seed(const KernelContext& ctx) {
  static std::atomic<uint32_t> counter{0x5eed};
  const Attribute* a = ctx.attrs().find("seed");
  if (!a) return counter.fetch_add(1);
  double s = a->kind == Attribute::Kind::kInt ? static_cast<double>(a->i) : a->f;
  return static_cast<uint32_t>(static_cast<int64_t>(s));
}

Status Dropout(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  double ratio = ctx.attrs().get_float("ratio", 0.5);
  bool training = false;
  if (ctx.opset() >= 12) {
    ratio = 0.5;
    if (const Tensor* r = ctx.input(1)) {
      if (r->numel() != 1 || !is_float_dtype(r->dtype)) return err(ctx, "ratio must be a float scalar");
      ratio = get_f64(*r, 0);
    }
    if (const Tensor* t = ctx.input(2)) {
      if (t->numel() != 1) return err(ctx, "training_mode must be a scalar");
      training = get_f64(*t, 0) != 0;
    }
  } else if (ctx.opset() < 7) {
    training = ctx.attrs().get_int("is_test", 0) == 0;
  }
  if (ratio < 0 || ratio >= 1) {
    if (training || ratio < 0) return err(ctx, "ratio must be in [0, 1), got " + std::to_string(ratio));
  }
  Tensor *y, *mask;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, x->shape, &y));
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 1, x->shape, &mask));
  const int64_t n = x->numel();
  if (!training || ratio == 0) {
    if (y) {
      FLEETRT_RETURN_IF_ERROR(check_movable(ctx, x->dtype));
      copy_tensor_data(*x, y);
    }
    if (mask) std::memset(mask->data, 1, n);
    return Status::Ok();
  }
  if (!is_float_dtype(x->dtype)) return err(ctx, "training mode needs a float input");
  Mt19937 rng(pick_seed(ctx));
  const double scale = 1.0 / (1.0 - ratio);
  for (int64_t i = 0; i < n; ++i) {
    bool keep = rng.uniform() >= ratio;
    if (y) set_f64(*y, i, keep ? static_cast<float>(get_f64(*x, i)) * static_cast<float>(scale) : 0.0);
    if (mask) mask->as<uint8_t>()[i] = keep;
  }
  return Status::Ok();
}

// The output dtype of the generator ops: `dtype` attribute, else the like-input's, else float.
DType gen_dtype(const KernelContext& ctx, const Tensor* like) {
  if (ctx.attrs().has("dtype")) return static_cast<DType>(ctx.attrs().get_int("dtype", 1));
  return like ? like->dtype : DType::kF32;
}

Status fill_random(KernelContext& ctx, const std::vector<int64_t>& shape, DType dt, bool normal) {
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &out));
  if (!out) return Status::Ok();
  if (!is_float_dtype(out->dtype) || out->dtype != dt)
    return err(ctx, std::string("output dtype must be the requested float type, got ") + dtype_name(out->dtype));
  Mt19937 rng(pick_seed(ctx));
  const Attributes& a = ctx.attrs();
  for (int64_t i = 0; i < out->numel(); ++i) {
    double v = normal ? a.get_float("mean", 0.0) + a.get_float("scale", 1.0) * rng.gauss()
                      : a.get_float("low", 0.0) + (a.get_float("high", 1.0) - a.get_float("low", 0.0)) * rng.uniform();
    set_f64(*out, i, v);
  }
  return Status::Ok();
}

Status RandomUniform(KernelContext& ctx) {
  return fill_random(ctx, ctx.attrs().get_ints("shape"), gen_dtype(ctx, nullptr), false);
}
Status RandomNormal(KernelContext& ctx) {
  return fill_random(ctx, ctx.attrs().get_ints("shape"), gen_dtype(ctx, nullptr), true);
}
Status RandomUniformLike(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  return fill_random(ctx, x->shape, gen_dtype(ctx, x), false);
}
Status RandomNormalLike(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  return fill_random(ctx, x->shape, gen_dtype(ctx, x), true);
}

Status Bernoulli(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  if (!is_float_dtype(x->dtype)) return err(ctx, "input probabilities must be a float tensor");
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, x->shape, &out));
  if (!out) return Status::Ok();
  if (!is_numeric(out->dtype)) return err(ctx, "unsupported output dtype");
  Mt19937 rng(pick_seed(ctx));
  for (int64_t i = 0; i < x->numel(); ++i) {
    double p = get_f64(*x, i);
    if (!(p >= 0 && p <= 1)) return err(ctx, "probability " + std::to_string(p) + " is outside [0, 1]");
    set_f64(*out, i, rng.uniform() < p ? 1.0 : 0.0);
  }
  return Status::Ok();
}

// Multinomial: input [batch, classes] of unnormalised log-probabilities; output [batch, sample_size].
Status Multinomial(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  if (x->rank() != 2 || !is_float_dtype(x->dtype)) return err(ctx, "input must be a 2-D float tensor [batch, classes]");
  const int64_t B = x->shape[0], K = x->shape[1], S = ctx.attrs().get_int("sample_size", 1);
  if (S < 0) return err(ctx, "sample_size must be non-negative");
  if (K == 0 && B > 0 && S > 0) return err(ctx, "cannot sample from zero classes");
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, {B, S}, &out));
  if (!out) return Status::Ok();
  if (out->dtype != DType::kI32 && out->dtype != DType::kI64) return err(ctx, "output dtype must be int32 or int64");
  Mt19937 rng(pick_seed(ctx));
  std::vector<double> cdf(K);
  for (int64_t b = 0; b < B; ++b) {
    double mx = -INFINITY, acc = 0;
    for (int64_t k = 0; k < K; ++k) mx = std::max(mx, get_f64(*x, b * K + k));
    for (int64_t k = 0; k < K; ++k) cdf[k] = acc += std::exp(get_f64(*x, b * K + k) - mx);
    for (int64_t s = 0; s < S; ++s) {
      double u = rng.uniform() * acc;
      int64_t k = std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin();
      set_f64(*out, b * S + s, static_cast<double>(std::min(k, K - 1)));
    }
  }
  return Status::Ok();
}

FLEETRT_REGISTER_KERNEL("", "Dropout", Dropout);
FLEETRT_REGISTER_KERNEL("", "RandomUniform", RandomUniform);
FLEETRT_REGISTER_KERNEL("", "RandomNormal", RandomNormal);
FLEETRT_REGISTER_KERNEL("", "RandomUniformLike", RandomUniformLike);
FLEETRT_REGISTER_KERNEL("", "RandomNormalLike", RandomNormalLike);
FLEETRT_REGISTER_KERNEL("", "Bernoulli", Bernoulli);
FLEETRT_REGISTER_KERNEL("", "Multinomial", Multinomial);

}  // namespace
}  // namespace fleetrt
