// Signal processing: DFT (opsets 17 and 20; forward/inverse, onesided, dft_length), STFT,
// Hann/Hamming/Blackman windows and MelWeightMatrix. Transforms run in double precision:
// radix-2 FFT for power-of-two lengths, a direct sum with a twiddle table otherwise.
#include <cmath>
#include <complex>

#include "data_util.h"

namespace fleetrt {
namespace {
using namespace datak;
using cd = std::complex<double>;
constexpr double kPi = 3.14159265358979323846;

// In-place transform of x (length n); sign -1 forward, +1 inverse (unscaled).
void transform(std::vector<cd>& x, int sign) {
  const size_t n = x.size();
  if (n <= 1) return;
  if ((n & (n - 1)) == 0) {
    for (size_t i = 1, j = 0; i < n; ++i) {
      size_t bit = n >> 1;
      for (; j & bit; bit >>= 1) j ^= bit;
      j ^= bit;
      if (i < j) std::swap(x[i], x[j]);
    }
    for (size_t len = 2; len <= n; len <<= 1) {
      double ang = sign * 2 * kPi / static_cast<double>(len);
      for (size_t i = 0; i < n; i += len)
        for (size_t k = 0; k < len / 2; ++k) {
          cd w = std::polar(1.0, ang * static_cast<double>(k));
          cd u = x[i + k], v = x[i + k + len / 2] * w;
          x[i + k] = u + v;
          x[i + k + len / 2] = u - v;
        }
    }
    return;
  }
  std::vector<cd> tw(n), y(n);
  for (size_t k = 0; k < n; ++k) tw[k] = std::polar(1.0, sign * 2 * kPi * static_cast<double>(k) / static_cast<double>(n));
  for (size_t k = 0; k < n; ++k) {
    cd acc = 0;
    for (size_t j = 0; j < n; ++j) acc += x[j] * tw[(j * k) % n];
    y[k] = acc;
  }
  x.swap(y);
}

Status read_scalar_int(const KernelContext& ctx, const Tensor* t, const char* what, int64_t* v) {
  std::vector<int64_t> vals;
  FLEETRT_RETURN_IF_ERROR(read_ints(ctx, t, what, &vals));
  if (vals.size() != 1) return err(ctx, std::string("'") + what + "' must be a scalar");
  *v = vals[0];
  return Status::Ok();
}

Status DFT(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  const int64_t r = static_cast<int64_t>(x->rank());
  if (r < 2 || (x->shape[r - 1] != 1 && x->shape[r - 1] != 2))
    return err(ctx, "input must end in a dimension of 1 (real) or 2 (complex), got " + shape_str(x->shape));
  if (!is_float_dtype(x->dtype)) return err(ctx, "input must be a float tensor");
  const bool inverse = ctx.attrs().get_int("inverse", 0) != 0;
  const bool onesided = ctx.attrs().get_int("onesided", 0) != 0;
  int64_t axis = ctx.attrs().get_int("axis", 1);
  if (ctx.opset() >= 20) {
    axis = -2;
    if (const Tensor* a = ctx.input(2)) FLEETRT_RETURN_IF_ERROR(read_scalar_int(ctx, a, "axis", &axis));
  }
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r - 1) return err(ctx, "axis is out of range for input " + shape_str(x->shape));
  const bool complex_in = x->shape[r - 1] == 2;
  const int64_t in_len = x->shape[axis];
  int64_t n = inverse && onesided ? 2 * (in_len - 1) : in_len;
  if (const Tensor* dl = ctx.input(1)) {
    FLEETRT_RETURN_IF_ERROR(read_scalar_int(ctx, dl, "dft_length", &n));
    if (n < 1) return err(ctx, "dft_length must be positive");
  }
  if (n < 1) return err(ctx, "the signal axis is empty: DFT length must be positive");
  if (onesided && !inverse && complex_in) return err(ctx, "onesided forward DFT needs a real input");
  std::vector<int64_t> oshape = x->shape;
  if (inverse && onesided) {
    oshape[axis] = n;
    oshape[r - 1] = 1;
  } else {
    oshape[axis] = onesided ? n / 2 + 1 : n;
    oshape[r - 1] = 2;
  }
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, oshape, &out));
  if (!out) return Status::Ok();
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= x->shape[k];
  for (int64_t k = axis + 1; k < r - 1; ++k) inner *= x->shape[k];
  const int64_t ci = x->shape[r - 1], co = oshape[r - 1], olen = oshape[axis];
  std::vector<cd> buf(n);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      std::fill(buf.begin(), buf.end(), cd(0, 0));
      auto at = [&](int64_t j) {
        int64_t b = ((o * in_len + j) * inner + in) * ci;
        return cd(get_f64(*x, b), complex_in ? get_f64(*x, b + 1) : 0.0);
      };
      if (inverse && onesided) {
        // Rebuild the full Hermitian spectrum from its first n/2+1 bins.
        const int64_t bins = std::min(in_len, n / 2 + 1);
        for (int64_t j = 0; j < bins; ++j) buf[j] = at(j);
        for (int64_t j = bins; j < n; ++j)
          if (n - j < bins) buf[j] = std::conj(buf[n - j]);
      } else {
        for (int64_t j = 0; j < std::min(in_len, n); ++j) buf[j] = at(j);
      }
      transform(buf, inverse ? 1 : -1);
      for (int64_t k = 0; k < olen; ++k) {
        cd v = inverse ? buf[k] / static_cast<double>(n) : buf[k];
        int64_t b = ((o * olen + k) * inner + in) * co;
        set_f64(*out, b, v.real());
        if (co == 2) set_f64(*out, b + 1, v.imag());
      }
    }
  return Status::Ok();
}

Status STFT(KernelContext& ctx) {
  const Tensor *sig, *step_t;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &sig));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &step_t));
  if (sig->rank() != 3 || (sig->shape[2] != 1 && sig->shape[2] != 2))
    return err(ctx, "signal must have shape [batch, length, 1 or 2], got " + shape_str(sig->shape));
  int64_t step, flen = -1;
  FLEETRT_RETURN_IF_ERROR(read_scalar_int(ctx, step_t, "frame_step", &step));
  const Tensor* win = ctx.input(2);
  if (win) flen = win->numel();
  if (const Tensor* fl = ctx.input(3)) {
    FLEETRT_RETURN_IF_ERROR(read_scalar_int(ctx, fl, "frame_length", &flen));
    if (win && win->numel() != flen) return err(ctx, "window length differs from frame_length");
  }
  if (flen < 1) return err(ctx, "frame length is unknown: give a window or frame_length");
  if (step < 1) return err(ctx, "frame_step must be positive");
  const int64_t B = sig->shape[0], L = sig->shape[1], C = sig->shape[2];
  if (L < flen) return err(ctx, "signal is shorter than one frame");
  const bool onesided = ctx.attrs().get_int("onesided", 1) != 0;
  if (onesided && C == 2) return err(ctx, "onesided STFT needs a real signal");
  const int64_t frames = (L - flen) / step + 1, bins = onesided ? flen / 2 + 1 : flen;
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, {B, frames, bins, 2}, &out));
  if (!out) return Status::Ok();
  std::vector<cd> buf(flen);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t f = 0; f < frames; ++f) {
      for (int64_t j = 0; j < flen; ++j) {
        int64_t s = (b * L + f * step + j) * C;
        double w = win ? get_f64(*win, j) : 1.0;
        buf[j] = cd(get_f64(*sig, s) * w, C == 2 ? get_f64(*sig, s + 1) * w : 0.0);
      }
      transform(buf, -1);
      for (int64_t k = 0; k < bins; ++k) {
        int64_t o = ((b * frames + f) * bins + k) * 2;
        set_f64(*out, o, buf[k].real());
        set_f64(*out, o + 1, buf[k].imag());
      }
    }
  return Status::Ok();
}

// Generalised cosine windows: a0 - a1 cos(2πn/N) + a2 cos(4πn/N).
Status cosine_window(KernelContext& ctx, double a0, double a1, double a2) {
  int64_t size;
  FLEETRT_RETURN_IF_ERROR(read_scalar_int(ctx, ctx.input(0), "size", &size));
  if (size < 0) return err(ctx, "size must be non-negative");
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, {size}, &out));
  if (!out) return Status::Ok();
  if (!is_numeric(out->dtype)) return err(ctx, "unsupported output_datatype");
  const bool periodic = ctx.attrs().get_int("periodic", 1) != 0;
  const double N = static_cast<double>(periodic ? size : size - 1);
  for (int64_t i = 0; i < size; ++i) {
    double t = N > 0 ? 2 * kPi * static_cast<double>(i) / N : 0.0;
    set_f64(*out, i, a0 - a1 * std::cos(t) + a2 * std::cos(2 * t));
  }
  return Status::Ok();
}

Status HannWindow(KernelContext& ctx) { return cosine_window(ctx, 0.5, 0.5, 0.0); }
Status HammingWindow(KernelContext& ctx) { return cosine_window(ctx, 25.0 / 46.0, 21.0 / 46.0, 0.0); }
Status BlackmanWindow(KernelContext& ctx) { return cosine_window(ctx, 0.42, 0.5, 0.08); }

Status MelWeightMatrix(KernelContext& ctx) {
  int64_t mels, dft_len, rate;
  FLEETRT_RETURN_IF_ERROR(read_scalar_int(ctx, ctx.input(0), "num_mel_bins", &mels));
  FLEETRT_RETURN_IF_ERROR(read_scalar_int(ctx, ctx.input(1), "dft_length", &dft_len));
  FLEETRT_RETURN_IF_ERROR(read_scalar_int(ctx, ctx.input(2), "sample_rate", &rate));
  const Tensor *lo_t, *hi_t;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 3, &lo_t));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 4, &hi_t));
  if (mels < 1 || dft_len < 1 || rate < 1) return err(ctx, "num_mel_bins, dft_length and sample_rate must be positive");
  const double lo = get_f64(*lo_t, 0), hi = get_f64(*hi_t, 0);
  const int64_t spec_bins = dft_len / 2 + 1;
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, {spec_bins, mels}, &out));
  if (!out) return Status::Ok();
  auto to_mel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
  const double lo_mel = to_mel(lo), step = (to_mel(hi) - lo_mel) / static_cast<double>(mels + 2);
  std::vector<int64_t> fb(mels + 2);
  for (int64_t i = 0; i < mels + 2; ++i) {
    double hz = 700.0 * (std::pow(10.0, (static_cast<double>(i) * step + lo_mel) / 2595.0) - 1.0);
    fb[i] = static_cast<int64_t>(std::floor(static_cast<double>(dft_len + 1) * hz / static_cast<double>(rate)));
  }
  std::vector<double> w(spec_bins * mels, 0.0);
  auto put = [&](int64_t j, int64_t i, double v) -> Status {
    if (j < 0 || j >= spec_bins) return err(ctx, "mel band edge falls outside the spectrum: check the edge frequencies");
    w[j * mels + i] = v;
    return Status::Ok();
  };
  for (int64_t i = 0; i < mels; ++i) {
    const int64_t l = fb[i], c = fb[i + 1], h = fb[i + 2];
    if (c == l) {
      FLEETRT_RETURN_IF_ERROR(put(c, i, 1.0));
    } else {
      for (int64_t j = l; j <= c; ++j) FLEETRT_RETURN_IF_ERROR(put(j, i, static_cast<double>(j - l) / static_cast<double>(c - l)));
    }
    if (h > c)
      for (int64_t j = c; j < h; ++j) FLEETRT_RETURN_IF_ERROR(put(j, i, static_cast<double>(h - j) / static_cast<double>(h - c)));
  }
  for (int64_t k = 0; k < spec_bins * mels; ++k) set_f64(*out, k, w[k]);
  return Status::Ok();
}

FLEETRT_REGISTER_KERNEL("", "DFT", DFT);
FLEETRT_REGISTER_KERNEL("", "STFT", STFT);
FLEETRT_REGISTER_KERNEL("", "HannWindow", HannWindow);
FLEETRT_REGISTER_KERNEL("", "HammingWindow", HammingWindow);
FLEETRT_REGISTER_KERNEL("", "BlackmanWindow", BlackmanWindow);
FLEETRT_REGISTER_KERNEL("", "MelWeightMatrix", MelWeightMatrix);

}  // namespace
}  // namespace fleetrt
