// Internal: depthwise 2-D convolution (nn_conv.cpp drives it), AVX2 and AVX-512 (the loops are
// shared in nn_conv_depthwise_impl.h; each entry is called only after its CPU check). Vectorised
// along the output, written straight into it, the conv's epilogue (bias, residual, affine clamps)
// applied in registers. Three forms:
//   - same-size stride 1 (any kernel and dilation, OH = H, OW = W): over each plane as one flat
//     run, y[o] = Σ_t w[t] · x[o + offset_t], each tap's load masked to the lanes whose input
//     column and row are inside (3×3 with pads 1 on rows 28 wide and more: by rows, four output
//     rows at a time, each input row loaded once for all that read it; AVX2, rows 9 to 27 wide:
//     the same from a zero-bordered copy of each plane, no masks);
//   - 3 taps wide, stride 2, left pad 1 (MobileNet's downsampling 3×3): per output row, two
//     loads of each input row split into its even and odd columns (AVX-512, 3×3: each input
//     row split once per block of columns and used by both output rows that read it);
//   - any other geometry over phase planes (see PhaseLayout in nn_conv.cpp), per output row:
//       y[oh·OW + ow] = Σ_t w[t] · ph[oh·Wq + ow + taps[t]].
// The first two run over a range of planes per call, so that what every plane shares (weights
// aside) is set up once. The taps are summed in the same order by every form (with 9 taps: tap 0
// multiplied, then one FMA per tap; otherwise one FMA per tap from zero), so the outputs do not
// depend on which one ran.
#pragma once
#include <cstdint>

namespace fleetrt {
namespace depthwise {

// What happens to one plane's sums before they are stored, as ConvEpilogue::apply
// (fused_conv.cpp) would do it in a second pass, with the same arithmetic:
//   add 1: x = acc + bias; add 2: x = acc + (bias + z[o]); then with clamp
//   y = min(hi, max(lo, x·a + b)) (times x when times_x), else y = x.
struct Epilogue {
  int add = 0;
  bool clamp = false, times_x = false;
  float bias = 0.f, a = 1.f, b = 0.f, lo = 0.f, hi = 0.f;
  const float* z = nullptr;  // residual plane (OH×OW) when add == 2
};

// The planes of a call: output plane p = n·M + m reads input plane n·C + m / mult, weights
// w + m·ntaps, bias[m] (or none), residual z + p·OH·OW (or none).
struct Planes {
  const float* x;
  const float* w;
  const float* bias;
  const float* z;
  float* y;
  int64_t C, M, mult, ntaps;
  // regs: the epilogue in registers (else the raw sums are stored and the caller finishes them);
  // clamp: an affine clamp (ConvEpilogue::affine_clamp) after bias and residual
  bool regs = true, clamp = false, times_x = false;
  float a = 1.f, b = 0.f, lo = 0.f, hi = 0.f;

  Epilogue epilogue(int64_t p, int64_t out_size) const {
    Epilogue e;
    if (!regs) return e;
    const float bv = bias ? bias[p % M] : 0.f;
    e.z = z ? z + p * out_size : nullptr;
    e.add = e.z ? 2 : clamp || bv != 0.f ? 1 : 0;
    e.bias = bv, e.clamp = clamp, e.times_x = times_x, e.a = a, e.b = b, e.lo = lo, e.hi = hi;
    return e;
  }
};

// Phase-plane form, one plane.
struct Plane {
  const float* ph;       // phase planes of one input channel
  const int64_t* taps;   // ntaps offsets into them
  int64_t ntaps;
  const float* w;        // ntaps weights
  int64_t Wq, OH, OW;
  float* y;              // OH × OW
  Epilogue ep;
};
void plane_avx2(const Plane& p);
void plane_avx512(const Plane& p);

// Same-size stride-1 form over H×W planes, kernels up to kMaxKernelWidth columns wide.
constexpr int64_t kMaxKernelWidth = 16;
struct Flat {
  int64_t H, W;
  const int64_t* offsets;     // ntaps flat offsets (row offset · W + column offset), row-major taps
  int64_t kw;                 // kernel columns
  const int64_t* col_offset;  // kw column offsets (dilated, minus the left pad)
  bool pad1_3x3;              // 3×3, undilated, pads 1: the taps at rows and columns −1, 0, +1
};
void flat_avx2(const Flat& f, const Planes& pl, int64_t p0, int64_t p1);
void flat_avx512(const Flat& f, const Planes& pl, int64_t p0, int64_t p1);

// Stride-2 form, kernel KH × 3 (rows dilated by dh), left pad 1, over H×W planes.
struct Stride2 {
  int64_t H, W, KH, dh, pad_top, OH, OW;
};
void stride2_avx2(const Stride2& f, const Planes& pl, int64_t p0, int64_t p1);
void stride2_avx512(const Stride2& f, const Planes& pl, int64_t p0, int64_t p1);

}  // namespace depthwise
}  // namespace fleetrt
