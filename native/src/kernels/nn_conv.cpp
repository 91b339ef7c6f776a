// Conv and ConvTranspose over any number of spatial dims, with groups, strides, dilations, pads
// and auto_pad. Conv, per call: 2-D depthwise convs by their own loops (nn_conv_depthwise.h);
// 3×3 stride-1 convs with enough channels and tiles by Winograd's F(4×4, 3×3) or F(2×2, 3×3)
// (AVX-512, nn_conv_winograd.h); convs with few output positions and many filters by the packed
// GEMM (nn_conv_gemm.h, see use_packed_gemm); a direct convolution (AVX2/AVX-512,
// nn_conv_direct.h) for other 2-D convs in L2-sized bands of output rows and for 1×1 convs (strided
// ones with many filters decimated first, conv1x1_decimated); else im2col tiles and the packed
// SGEMM (1×1 stride-1 unpadded convs skip im2col). ConvTranspose: SGEMM into columns then col2im (scatter-add). f16/bf16/f64 go
// through float.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "fused_epilogue.h"
#include "kernel_util.h"
#include "nn_conv_blocked.h"
#include "nn_conv_depthwise.h"
#include "nn_conv_direct.h"
#include "nn_conv_gemm.h"
#include "nn_conv_winograd.h"

namespace fleetrt {
namespace {

using ku::WindowGeom;

// Maps between an image [C, image...] and columns [C·prod(kernel), prod(grid)]: column row
// (c, k) at grid position p touches image coordinate p·stride − pad_begin + k·dilation.
// kScatter=false gathers (im2col, zero outside); true adds columns back (col2im).
template <bool kScatter>
void window_map(KernelContext& ctx, float* img, int64_t C, const std::vector<int64_t>& image,
                const std::vector<int64_t>& grid, const WindowGeom& g, float* col) {
  const size_t nsp = image.size();
  const int64_t ksz = g.kernel_size(), gsz = ku::numel_of(grid), isz = ku::numel_of(image);
  auto do_rows = [&](int64_t r0, int64_t r1) {
    std::vector<int64_t> kidx(nsp), gidx(nsp);
    for (int64_t r = r0; r < r1; ++r) {
      int64_t c = r / ksz, kk = r % ksz;
      float* im = img + c * isz;
      float* dst = col + r * gsz;
      for (size_t d = nsp, rem = kk; d-- > 0;) {
        kidx[d] = static_cast<int64_t>(rem) % g.kernel[d];
        rem /= g.kernel[d];
      }
      if (nsp == 2) {
        const int64_t H = image[0], W = image[1], OH = grid[0], OW = grid[1];
        const int64_t sh = g.stride[0], sw = g.stride[1];
        const int64_t offh = kidx[0] * g.dil[0] - g.pad_begin[0], offw = kidx[1] * g.dil[1] - g.pad_begin[1];
        // valid ow range: 0 <= ow*sw + offw < W
        int64_t ow_lo = offw >= 0 ? 0 : (-offw + sw - 1) / sw;
        int64_t ow_hi = W - offw <= 0 ? 0 : std::min<int64_t>(OW, (W - offw + sw - 1) / sw);
        if (ow_lo > ow_hi) ow_lo = ow_hi;
        for (int64_t oh = 0; oh < OH; ++oh) {
          int64_t ih = oh * sh + offh;
          float* drow = dst + oh * OW;
          if (ih < 0 || ih >= H) {
            if (!kScatter) std::fill(drow, drow + OW, 0.f);
            continue;
          }
          float* irow = im + ih * W + offw;
          if (!kScatter) {
            std::fill(drow, drow + ow_lo, 0.f);
            if (sw == 1) std::memcpy(drow + ow_lo, irow + ow_lo, static_cast<size_t>(ow_hi - ow_lo) * sizeof(float));
            else
              for (int64_t ow = ow_lo; ow < ow_hi; ++ow) drow[ow] = irow[ow * sw];
            std::fill(drow + ow_hi, drow + OW, 0.f);
          } else {
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) irow[ow * sw] += drow[ow];
          }
        }
        continue;
      }
      std::fill(gidx.begin(), gidx.end(), 0);
      for (int64_t p = 0; p < gsz; ++p) {
        int64_t off = 0;
        bool inside = true;
        for (size_t d = 0; d < nsp; ++d) {
          int64_t ic = gidx[d] * g.stride[d] - g.pad_begin[d] + kidx[d] * g.dil[d];
          if (ic < 0 || ic >= image[d]) {
            inside = false;
            break;
          }
          off = off * image[d] + ic;
        }
        if (!kScatter) dst[p] = inside ? im[off] : 0.f;
        else if (inside) im[off] += dst[p];
        for (size_t d = nsp; d-- > 0;) {
          if (++gidx[d] < grid[d]) break;
          gidx[d] = 0;
        }
      }
    }
  };
  if (kScatter) {
    // rows of one channel touch the same image plane: split by channel
    ku::parallel_elems(ctx, C, ksz * gsz, [&](int64_t c0, int64_t c1) { do_rows(c0 * ksz, c1 * ksz); });
  } else {
    ku::parallel_elems(ctx, C * ksz, gsz, do_rows);
  }
}

Status check_float(const KernelContext& ctx, const Tensor& t) {
  if (!ku::is_float_like(t.dtype)) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(t.dtype));
  return Status::Ok();
}

// X, W and the optional B of Conv / ConvTranspose: float X, W of X's rank (>= 3).
Status conv_operands(KernelContext& ctx, const Tensor** x, const Tensor** w, const Tensor** b) {
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, w));
  *b = ctx.num_inputs() > 2 ? ctx.input(2) : nullptr;
  FLEETRT_RETURN_IF_ERROR(check_float(ctx, **x));
  if ((*x)->rank() < 3 || (*w)->rank() != (*x)->rank())
    return ku::op_error(ctx, "X " + ku::shape_str((*x)->shape) + " and W " + ku::shape_str((*w)->shape) +
                                 " must have the same rank >= 3");
  return Status::Ok();
}

void add_bias(const float* bias, float* y, int64_t N, int64_t M, int64_t sz) {
  if (!bias) return;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m) {
      float b = bias[m];
      float* p = y + (n * M + m) * sz;
      for (int64_t i = 0; i < sz; ++i) p[i] += b;
    }
}

// The 2-D direct kernel reads every input channel of a band for each block of outputs, once per
// block of output channels: a band's inputs (and its output block) must stay in L2.
constexpr int64_t kMaxDirectBandInBytes = 512 * 1024;  // 2-D: one band's phase planes
constexpr int64_t kMaxDirectBandOutBytes = 256 * 1024;  // 2-D: one band's outputs
// 1×1: outputs between two epilogue passes, still in L2 when the pass reads them back; at
// 128 KiB, a 14×14 conv with 576 filters ran it per block of 32 positions, a call per channel
// and block, in runs too short to pay for it.
constexpr int64_t kEpilogueSpanBytes = 512 * 1024;
// Inputs per call of the 1×1 kernel on stride-1 planes (conv1x1_direct): the kernel takes
// each block of 8 filters across all the positions of the call, so that it writes (and reads the
// residual) along 8 rows at a time, which the prefetchers follow, rather than 3 lines in each of
// all M rows per block of positions. In ResNet-50 (2 threads, caches flushed, input read back)
// 56×56 c64→256 0.63–0.70 → 0.60–0.64 ms; MobileNetV2's 112×112 c16→96 0.44–0.49 → 0.31–0.34.
constexpr int64_t kInPlaceSpanBytes = 128 * 1024;

// Phase layout of a 2-D conv's input planes: each plane is zero-padded and split into stride
// phases (phase (pr, pc) holds padded rows ≡ pr mod sh and columns ≡ pc mod sw), so that every
// kernel tap reads one phase at a fixed offset from the output position. With outputs laid out
// Wq wide, a tap is one long vectorizable run phase[o + offset]; the Wq − OW extra columns of
// each output row are computed and dropped. A layout covers `rows` output rows (a band).
struct PhaseLayout {
  int64_t Hq, Wq, nph, plane;  // plane = nph·Hq·Wq floats per input plane

  PhaseLayout(const WindowGeom& g, int64_t rows)
      : Hq(rows + ((g.kernel[0] - 1) * g.dil[0]) / g.stride[0] + 1),  // one spare row: wide rows read past Wq
        Wq(g.out[1] + ((g.kernel[1] - 1) * g.dil[1]) / g.stride[1]),
        nph(g.stride[0] * g.stride[1]),
        plane(nph * Hq * Wq) {}

  // Offset of tap t (row-major over the kernel) from an output position, within one plane.
  int64_t tap_offset(const WindowGeom& g, int64_t t) const {
    const int64_t KW = g.kernel[1], sh = g.stride[0], sw = g.stride[1];
    const int64_t r = (t / KW) * g.dil[0], q = (t % KW) * g.dil[1];
    return ((r % sh) * sw + q % sw) * Hq * Wq + (r / sh) * Wq + q / sw;
  }
};

// Row pieces of build_phases. Rows are short (tens of floats), where a libc call per row costs
// more than the copy, and GCC turns plain copy loops back into such calls.
inline void copy_run(float* d, const float* s, int64_t n) {
  int64_t i = 0;
#if defined(__SSE2__)
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(d + i, _mm_loadu_ps(s + i));
#endif
  for (; i < n; ++i) d[i] = s[i];
}
// d[j] = s[j·stride]; stride 2 pairs two loads and one shuffle per 4 values, reading no further
// than s[2·(n − 1)].
inline void gather_run(float* d, const float* s, int64_t n, int64_t stride) {
  int64_t i = 0;
#if defined(__SSE2__)
  if (stride == 2)
    for (; i + 4 < n; i += 4)
      _mm_storeu_ps(d + i, _mm_shuffle_ps(_mm_loadu_ps(s + 2 * i), _mm_loadu_ps(s + 2 * i + 4), _MM_SHUFFLE(2, 0, 2, 0)));
#endif
  for (; i < n; ++i) d[i] = s[i * stride];
}

// Writes the phases of one [H, W] input plane for the band of output rows starting at oh0 to
// dst (L.plane floats): the rows and columns that fall inside the input copied over, the rest
// (padding) zero. Phase row i of the band holds padded input row (oh0 + i)·sh + pr. Only the
// padding is zeroed (a memset of the whole plane first took 3-5% of a 3×3 conv), and stride-2
// rows are split with AVX-512 where it runs (the SSE split took 16% of a stride-2 3×3 conv).
void build_phases(const float* xp, const WindowGeom& g, const PhaseLayout& L, int64_t oh0, float* dst) {
  const int64_t H = g.in[0], W = g.in[1], sh = g.stride[0], sw = g.stride[1];
  const int64_t pt = g.pad_begin[0], pl = g.pad_begin[1], Hq = L.Hq, Wq = L.Wq;
  const bool split512 = sw == 2 && ku::use_avx512();
  auto zero = [](float* d, int64_t n) {
    if (n >= 64) {
      std::memset(d, 0, static_cast<size_t>(n) * sizeof(float));
      return;
    }
    // a row's pad columns: a few values, where a libc call costs more than the stores
    int64_t k = 0;
#if defined(__SSE2__)
    for (; k + 4 <= n; k += 4) _mm_storeu_ps(d + k, _mm_setzero_ps());
#endif
    for (; k < n; ++k) d[k] = 0.f;
  };
  for (int64_t pr = 0; pr < sh; ++pr)
    for (int64_t pc = 0; pc < sw; ++pc) {
      float* ph = dst + (pr * sw + pc) * Hq * Wq;
      // columns j with 0 <= j·sw + pc − pl < W; rows i with 0 <= i·sh + pr − pt < H
      const int64_t first = pl - pc <= 0 ? 0 : std::min<int64_t>(Wq, (pl - pc + sw - 1) / sw);
      const int64_t last = std::max(first, std::min<int64_t>(Wq, (W + pl - pc + sw - 1) / sw));
      const int64_t top = pt - pr - oh0 * sh;  // band row i is input row i·sh − top
      const int64_t i0 = top <= 0 ? 0 : std::min<int64_t>(Hq, (top + sh - 1) / sh);
      const int64_t i1 = std::max(i0, std::min<int64_t>(Hq, (H + top + sh - 1) / sh));
      const int64_t n = last - first;
      if (n <= 0) {
        zero(ph, Hq * Wq);
        continue;
      }
      zero(ph, i0 * Wq);
      for (int64_t i = i0; i < i1; ++i) {
        float* drow = ph + i * Wq;
        const float* srow = xp + (i * sh - top) * W + first * sw + pc - pl;
        zero(drow, first);
        if (sw == 1) copy_run(drow + first, srow, n);
        else if (split512) convdirect::gather2_avx512(drow + first, srow, n);
        else gather_run(drow + first, srow, n, sw);
        zero(drow + last, Wq - last);
      }
      zero(ph + i1 * Wq, (Hq - i1) * Wq);
    }
}

// Depthwise 2-D conv (one input channel per group), planes in parallel. With AVX2/AVX-512
// (nn_conv_depthwise.h), vectorised along the output and written straight into it with the
// epilogue applied in registers: same-size stride-1 convs over the flat plane with masked taps,
// 3-wide stride-2 ones from the even and odd columns of the input rows, others over phase planes
// (PhaseLayout). The portable code runs each tap as one long loop over the phase planes.
void depthwise2d(KernelContext& ctx, const float* x, const float* w, const float* bias, float* y, int64_t N, int64_t C,
                 int64_t M, const WindowGeom& g, const ConvEpilogue* ep) {
  const int64_t H = g.in[0], W = g.in[1], OH = g.out[0], OW = g.out[1], KH = g.kernel[0], KW = g.kernel[1];
  const int64_t ntaps = KH * KW;
  const int64_t mult = M / C;  // output channels per input channel
  const bool avx512 = ku::use_avx512(), vec = ku::use_avx2();
  const bool flat = vec && g.stride[0] == 1 && g.stride[1] == 1 && OH == H && OW == W && KW <= depthwise::kMaxKernelWidth;
  const bool s2 = vec && !flat && g.stride[0] == 2 && g.stride[1] == 2 && KW == 3 && g.dil[1] == 1 &&
                  g.pad_begin[1] == 1;
  // the epilogue in the kernel's registers where it is an affine clamp (or none), else a pass after
  depthwise::Planes pl{x, w, bias, ep ? ep->residual : nullptr, y, C, M, mult, ntaps};
  pl.clamp = ep && ep->affine_clamp(&pl.a, &pl.b, &pl.lo, &pl.hi, &pl.times_x);
  pl.regs = vec && (!ep || pl.clamp || ep->act == ConvEpilogue::Act::kNone);
  // same-size stride 1: flat offsets of the taps and the column offset of each kernel column
  std::vector<int64_t> offsets, col_offset;
  if (flat) {
    for (int64_t kw = 0; kw < KW; ++kw) col_offset.push_back(kw * g.dil[1] - g.pad_begin[1]);
    for (int64_t t = 0; t < ntaps; ++t) offsets.push_back(((t / KW) * g.dil[0] - g.pad_begin[0]) * W + col_offset[t % KW]);
  }
  const bool pad1_3x3 =
      KH == 3 && KW == 3 && g.dil[0] == 1 && g.dil[1] == 1 && g.pad_begin[0] == 1 && g.pad_begin[1] == 1;
  const depthwise::Flat fgeom{H, W, offsets.data(), KW, col_offset.data(), pad1_3x3};
  const depthwise::Stride2 s2geom{H, W, KH, g.dil[0], g.pad_begin[0], OH, OW};
  const PhaseLayout L(g, OH);
  const int64_t Wq = L.Wq;
  std::vector<int64_t> taps(static_cast<size_t>(ntaps));
  for (int64_t t = 0; t < ntaps; ++t) taps[t] = L.tap_offset(g, t);
  ku::parallel_elems(ctx, N * M, OH * OW * ntaps, [&](int64_t p0, int64_t p1) {
    if (flat || s2) {
      if (flat) (avx512 ? depthwise::flat_avx512 : depthwise::flat_avx2)(fgeom, pl, p0, p1);
      else (avx512 ? depthwise::stride2_avx512 : depthwise::stride2_avx2)(s2geom, pl, p0, p1);
      if (!pl.regs)
        for (int64_t p = p0; p < p1; ++p)
          ep->apply(y + p * OH * OW, OH * OW, bias ? bias[p % M] : 0.f, ep->residual ? ep->residual + p * OH * OW : nullptr);
      return;
    }
    thread_local std::vector<float> ph, acc;  // kept between calls (no page faults per call)
    if (ph.size() < static_cast<size_t>(L.plane)) ph.resize(static_cast<size_t>(L.plane));
    if (!vec && acc.size() < static_cast<size_t>(OH * Wq)) acc.resize(static_cast<size_t>(OH * Wq));
    int64_t filled = -1;  // input plane now in ph
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / M, m = p % M, c = m / mult, plane = n * C + c;
      const float* wp = w + m * ntaps;
      float* yp = y + p * OH * OW;
      const float b = bias ? bias[m] : 0.f;
      if (plane != filled) {
        build_phases(x + plane * H * W, g, L, 0, ph.data());
        filled = plane;
      }
      if (vec) {
        const depthwise::Plane pp{ph.data(), taps.data(), ntaps, wp, Wq, OH, OW, yp, pl.epilogue(p, OH * OW)};
        if (avx512) depthwise::plane_avx512(pp);
        else depthwise::plane_avx2(pp);
        if (pl.regs) continue;
      } else {
        float* __restrict a = acc.data();
        const int64_t len = OH * Wq;
        // the last row may read up to Wq − OW values into the spare row: always inside ph
        auto tap = [&](int64_t t) { return ph.data() + taps[t]; };
        if (ntaps == 9) {  // 3×3: all taps per output in registers, one pass
          const float *s0 = tap(0), *s1 = tap(1), *s2p = tap(2), *s3 = tap(3), *s4 = tap(4), *s5 = tap(5),
                      *s6 = tap(6), *s7 = tap(7), *s8 = tap(8);
          const float w0 = wp[0], w1 = wp[1], w2 = wp[2], w3 = wp[3], w4 = wp[4], w5 = wp[5], w6 = wp[6],
                      w7 = wp[7], w8 = wp[8];
          for (int64_t o = 0; o < len; ++o)
            a[o] = w0 * s0[o] + w1 * s1[o] + w2 * s2p[o] + w3 * s3[o] + w4 * s4[o] + w5 * s5[o] + w6 * s6[o] +
                   w7 * s7[o] + w8 * s8[o];
        } else {
          std::fill(a, a + len, 0.f);
          for (int64_t t = 0; t < ntaps; ++t) {
            const float* __restrict src = tap(t);
            const float wv = wp[t];
            for (int64_t o = 0; o < len; ++o) a[o] += wv * src[o];
          }
        }
        for (int64_t oh = 0; oh < OH; ++oh) std::memcpy(yp + oh * OW, a + oh * Wq, static_cast<size_t>(OW) * sizeof(float));
      }
      if (ep) ep->apply(yp, OH * OW, b, ep->residual ? ep->residual + p * OH * OW : nullptr);
      else if (b != 0.f)
        for (int64_t i = 0; i < OH * OW; ++i) yp[i] += b;
    }
  });
}

// im2col of output positions [p0, p1) of a 2-D conv: col[r][p − p0] for rows r = (c, kh, kw).
void im2col_tile2d(const float* img, int64_t C, const WindowGeom& g, int64_t p0, int64_t p1, float* col) {
  const int64_t H = g.in[0], W = g.in[1], OW = g.out[1], KH = g.kernel[0], KW = g.kernel[1];
  const int64_t sh = g.stride[0], sw = g.stride[1], n = p1 - p0;
  const int64_t oh_first = p0 / OW, ow_first = p0 % OW;  // no divisions per row segment
  for (int64_t c = 0; c < C; ++c)
    for (int64_t kh = 0; kh < KH; ++kh)
      for (int64_t kw = 0; kw < KW; ++kw) {
        const float* im = img + c * H * W;
        float* dst = col + ((c * KH + kh) * KW + kw) * n;
        const int64_t offh = kh * g.dil[0] - g.pad_begin[0], offw = kw * g.dil[1] - g.pad_begin[1];
        int64_t ow_lo = offw >= 0 ? 0 : (-offw + sw - 1) / sw;
        int64_t ow_hi = W - offw <= 0 ? 0 : std::min<int64_t>(OW, (W - offw + sw - 1) / sw);
        if (ow_lo > ow_hi) ow_lo = ow_hi;
        for (int64_t p = p0, oh = oh_first, ow0 = ow_first; p < p1; ++oh, ow0 = 0) {
          const int64_t ow1 = std::min<int64_t>(OW, ow0 + (p1 - p));
          float* d = dst + (p - p0) - ow0;  // d[ow] for ow in [ow0, ow1)
          const int64_t ih = oh * sh + offh;
          // plain loops: rows are short, and library calls per row segment cost more than the copy
          if (ih < 0 || ih >= H) {
            for (int64_t ow = ow0; ow < ow1; ++ow) d[ow] = 0.f;
          } else {
            const float* irow = im + ih * W + offw;
            const int64_t a = std::min(ow1, std::max(ow0, ow_lo)), b = std::max(a, std::min(ow1, ow_hi));
            for (int64_t ow = ow0; ow < a; ++ow) d[ow] = 0.f;
            if (sw == 1)
              for (int64_t ow = a; ow < b; ++ow) d[ow] = irow[ow];
            else
              for (int64_t ow = a; ow < b; ++ow) d[ow] = irow[ow * sw];
            for (int64_t ow = b; ow < ow1; ++ow) d[ow] = 0.f;
          }
          p += ow1 - ow0;
        }
      }
}

// Bands of output per (image, group) task of a direct conv: 1, or when the conv is large enough
// to split, enough for two tasks per thread (at most max_bands).
int64_t direct_bands(KernelContext& ctx, int64_t macs, int64_t pairs, int64_t max_bands) {
  const int threads = std::max(1, ctx.num_threads());
  if (threads == 1 || macs < ku::kParallelMinMacs || pairs >= 2 * threads) return 1;
  return std::max<int64_t>(1, std::min(max_bands, (2 * threads + pairs - 1) / pairs));
}

// The task count to use instead of `tasks` (tasks of about equal size, at most max_tasks): one
// that the pool hands out evenly (ThreadPool::parallel_for claims chunks of whole tasks, at most
// 4 per thread, so a count that no number of chunks splits evenly leaves one thread a chunk more
// than the other: 14 bands go out as 7 chunks of 2, four to one thread and three to the other).
bool even_for_pool(KernelContext& ctx, int64_t n) {
  const int64_t threads = std::max(1, ctx.num_threads()), most = 4 * threads;
  return n % threads == 0 && (n <= most || n % most == 0);
}
int64_t even_task_count(KernelContext& ctx, int64_t tasks, int64_t max_tasks) {
  if (ctx.num_threads() <= 1 || tasks <= 1) return tasks;
  for (int64_t n = tasks; n <= max_tasks; ++n)
    if (even_for_pool(ctx, n)) return n;
  return tasks;
}

// Runs the direct conv's tasks, on the pool when there is more than one.
void run_tasks(KernelContext& ctx, int64_t tasks, const std::function<void(int64_t, int64_t)>& body) {
  if (tasks > 1 && ctx.num_threads() > 1) ctx.parallel_for(tasks, 1, body);
  else body(0, tasks);
}

// Rows [m·osz + o0, m·osz + o1) of every output channel of one group, after the kernel: bias,
// residual and activation.
void direct_epilogue(float* yg, const float* zg, const float* bias, int64_t Mg, int64_t osz, int64_t o0, int64_t o1,
                     const ConvEpilogue* ep) {
  for (int64_t m = 0; m < Mg; ++m) {
    float* row = yg + m * osz + o0;
    finish_conv_run(ep, row, row, o1 - o0, bias ? bias[m] : 0.f, zg ? zg + m * osz + o0 : nullptr);
  }
}

// The activation part of ep for the kernels' stores (StoreEpilogue; bias and residual are set
// per task): false where the kernels cannot apply it (HardSwish, LeakyReLU, sigmoid, tanh).
bool store_epilogue(const ConvEpilogue* ep, convdirect::StoreEpilogue* se) {
  return !ep || ep->in_stores(se);
}

// The memory planner may place a conv's output over its residual (in place,
// passes/memory/device.ts). Winograd, the packed GEMM, the 2-D direct kernel and the 1×1 one where
// its stores take the epilogue read each residual value before they write the output value over
// it; the paths that write the sums first take ep from here: with the residual copied into
// scratch (the copy's epilogue in *copy) where it is y, else ep itself.
const ConvEpilogue* residual_apart(KernelContext& ctx, const ConvEpilogue* ep, const float* y, ConvEpilogue* copy) {
  if (!ep || !ep->residual || ep->residual != y) return ep;
  *copy = *ep;
  const size_t bytes = static_cast<size_t>(ep->residual_numel) * sizeof(float);
  float* z = static_cast<float*>(ctx.scratch(bytes));
  std::memcpy(z, ep->residual, bytes);
  copy->residual = z;
  return copy;
}

// W (input 1) reordered for the direct kernel (convdirect::pack_weights), made once per op and
// kept in its state while W is constant.
struct DirectWeights {
  const void* data;
  DType dtype;
  int64_t M, Mg, K, mb;
  ku::FloatBuf packed;  // on large pages (large_floats): ResNet-50's layer4 1×1s take 4 MiB
};

// The weights the direct kernel reads, and whether they are packed: W reordered when it is
// constant (*keep holds them for the call), else wf as it lies.
const float* direct_weights(KernelContext& ctx, const float* wf, int64_t M, int64_t Mg, int64_t K, int64_t mb,
                            bool* packed, std::shared_ptr<const DirectWeights>* keep) {
  *packed = false;
  const Tensor* wt = ctx.input(1);
  if (!wt || !ctx.input_is_constant(1)) return wf;
  auto fits = [&](const DirectWeights& d) {
    return d.data == wt->data && d.dtype == wt->dtype && d.M == M && d.Mg == Mg && d.K == K && d.mb == mb;
  };
  *keep = ku::prepared<DirectWeights>(ctx, fits, [&] {
    auto d = std::make_shared<DirectWeights>(DirectWeights{wt->data, wt->dtype, M, Mg, K, mb, ku::large_floats(M * K)});
    if (!d->packed) return std::shared_ptr<const DirectWeights>();
    convdirect::pack_weights(wf, M, Mg, K, mb, d->packed.get());
    return std::shared_ptr<const DirectWeights>(std::move(d));
  });
  if (!*keep) return wf;
  *packed = true;
  return (*keep)->packed.get();
}

// 1×1 unpadded conv (any stride) with the direct kernel (W reordered once per op where it is
// constant: direct_weights). A task is a run of output positions of one (image, group). With
// stride 1 it goes through them a few register blocks at a time (kInPlaceSpanBytes), whose runs
// of each channel the kernel reads where they lie; strided convs take one block at a time, its
// inputs of all channels gathered next to each other first, as are those of the last partial
// block (zero-padded; its outputs go through a small buffer). The epilogue follows every ~128 KiB
// of outputs, while they are still in L2. Returns false where it does not apply (no AVX2).
bool conv1x1_direct(KernelContext& ctx, const float* x, const float* w, const float* bias, float* y, int64_t N,
                    int64_t C, int64_t M, int64_t group, const WindowGeom& g, const ConvEpilogue* ep) {
  if (!ku::use_avx2()) return false;
  const int64_t Cg = C / group, Mg = M / group, isz = g.in_size(), osz = g.out_size();
  // The few positions past the last whole block by few_avx512 / few_avx2, which computes only
  // them: AVX-512 on small planes with 48-position blocks where that computes fewer positions
  // than 32-position blocks (7×7: 48 + 1 against 64, 14×14: 192 + 4 against 224); AVX2 after
  // 24-position blocks (7×7: 48 + 1 against 72; MobileNetV2's 7×7 c320→1280, 2 threads,
  // 0.455 → 0.420 ms, c960→160 0.18 → 0.16 ms; 1 thread c576→160 0.150 → 0.125 ms)
  const bool avx512 = ku::use_avx512();
  const int64_t left = osz % (avx512 ? 48 : 24);
  const bool few_tail = osz >= 24 && left > 0 && left <= convdirect::kFewPositions &&
                        (!avx512 || (osz >= 48 && osz - left < (osz + 31) / 32 * 32));
  const convdirect::Kernel kern = convdirect::kernel(avx512, osz >= convdirect::kWidePositions || few_tail);
  const int64_t PB = kern.positions;
  bool packed;
  std::shared_ptr<const DirectWeights> keep;
  w = direct_weights(ctx, w, M, Mg, Cg, kern.channels, &packed, &keep);
  const size_t nsp = g.in.size();
  bool unit = true;  // stride 1: output position o reads input position o
  for (size_t d = 0; d < nsp; ++d) unit = unit && g.stride[d] == 1 && g.in[d] == g.out[d];
  // Stride-1 planes are read where they lie (whole blocks; the last partial one is gathered):
  // copying a block's runs waits on memory on large planes (MobileNetV2's 112×112 c32→16: 1.9×
  // slower), and costs a pass on small ones too (2 threads, against copying: MobileNetV2's 14×14
  // c576→96 0.120 → 0.115 ms, 7×7 c960→160 0.083 → 0.077, ResNet-50's 14×14 c1024→256 0.506 →
  // 0.471).
  const int64_t tap0 = 0;
  const int64_t blocks = (osz + PB - 1) / PB;
  // One band per thread (direct_bands asks for two): each thread then takes one contiguous half
  // of the positions, as the ops around it split them, rather than the pool handing out quarters
  // to whichever thread is free (in the model, 2 threads, scripts/bench/ab.ts, 128 passes:
  // ResNet-50's 1×1s ~1% faster, MobileNetV2's convs 1.1–1.3%).
  const int64_t threads = std::max(1, ctx.num_threads());
  int64_t bands = std::min(direct_bands(ctx, N * M * osz * Cg, N * group, blocks), threads), chunks = 1;
  // Split over threads: stride-1 planes with 128 filters or more (whole kernel blocks, as many
  // per thread) by output channels, so that each thread reads its part of the weights and none
  // is left an extra block of positions (14×14: 7 blocks of 32; 14×14 c96→576, 2 threads:
  // 170 → 277 GFLOP/s), where the whole input (which every thread reads) and each thread's share
  // of the outputs fit L2; the others by bands of positions. In the model (2 threads,
  // scripts/bench/ab.ts): ResNet-50's 56×56 c64→256 (1.6 MB of outputs per thread) layer1 8.3%
  // faster by bands, its 28×28 c512→128 (1.6 MB of input) 12%; MobileNetV2's 56×56 c24→144 (0.9
  // MB) unchanged either way. (Strided ones would each gather all the inputs; with fewer filters
  // the gathering weighs more than the uneven bands.)
  const int64_t mblocks = (Mg + kern.channels - 1) / kern.channels, l2 = ku::l2_cache_bytes();
  if (bands > 1 && unit && Cg * osz * int64_t{sizeof(float)} <= l2 && N * group < threads && Mg >= 128 &&
      mblocks % threads == 0 && Mg / threads * osz * int64_t{sizeof(float)} <= l2) {
    chunks = threads;
    bands = 1;
  }
  const int64_t cper = mblocks / chunks * kern.channels;  // output channels per chunk
  // positions per epilogue pass: about kEpilogueSpanBytes of outputs
  const int64_t epi_span = std::max<int64_t>(1, (kEpilogueSpanBytes / int64_t{sizeof(float)}) / (Mg * PB)) * PB;
  // The epilogue in the kernel's stores (StoreEpilogue) where it is bias, residual and an affine
  // clamp or nothing, as for ReLU and Clip: no second pass over the outputs (a bottleneck's last
  // 1×1 with its residual read the outputs back, the residual beside them, and wrote them again).
  convdirect::StoreEpilogue store_ep;
  const bool in_kernel = store_epilogue(ep, &store_ep);
  ConvEpilogue apart;  // an epilogue pass after the sums reads a copy of a residual under y
  if (!in_kernel) ep = residual_apart(ctx, ep, y, &apart);
  const int64_t span_blocks = std::max<int64_t>(1, (kInPlaceSpanBytes / int64_t{sizeof(float)}) / (Cg * PB));
  auto body = [&](int64_t t0, int64_t t1) {
    thread_local std::vector<float> xblock, tail_out;
    thread_local std::vector<int64_t> src;
    if (xblock.size() < static_cast<size_t>(Cg * PB)) xblock.resize(static_cast<size_t>(Cg * PB));
    if (tail_out.size() < static_cast<size_t>(Mg * PB)) tail_out.resize(static_cast<size_t>(Mg * PB));
    src.resize(static_cast<size_t>(PB));
    // positions [o, o + cnt) of every channel into xblock (strided where the conv is), zero to PB
    auto gather_block = [&](const float* xg, int64_t o, int64_t cnt) {
      if (unit) {
        for (int64_t c = 0; c < Cg; ++c) copy_run(xblock.data() + c * PB, xg + c * isz + o, cnt);
      } else {
        // input offset of each output position of the block (row-major over the spatial dims)
        for (int64_t i = 0; i < cnt; ++i) {
          int64_t rem = o + i, off = 0, scale = 1;
          for (size_t d = nsp; d-- > 0;) {
            off += (rem % g.out[d]) * g.stride[d] * scale;
            rem /= g.out[d];
            scale *= g.in[d];
          }
          src[i] = off;
        }
        for (int64_t c = 0; c < Cg; ++c) {
          const float* xc = xg + c * isz;
          float* d = xblock.data() + c * PB;
          for (int64_t i = 0; i < cnt; ++i) d[i] = xc[src[i]];
        }
      }
      if (cnt < PB)
        for (int64_t c = 0; c < Cg; ++c) std::fill(xblock.data() + c * PB + cnt, xblock.data() + (c + 1) * PB, 0.f);
    };
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t ng = t / (bands * chunks), n = ng / group, gi = ng % group, band = t % bands;
      // whole blocks shared out evenly (28×28: 17 blocks in 4 bands of 4, 4, 4, 5, not 5, 5, 5, 2,
      // which left one thread 10 blocks and the other 7: c512→256, 2 threads, 1.10 → 1.00 ms)
      const int64_t o0 = std::min(osz, band * blocks / bands * PB),
                    o1 = std::min(osz, (band + 1) * blocks / bands * PB);
      const int64_t m0 = t / bands % chunks * cper, Mt = chunks == 1 ? Mg : std::min(Mg, m0 + cper) - m0;
      if (o0 >= o1 || Mt <= 0) continue;
      const float* xg = x + (n * C + gi * Cg) * isz;
      float* yg = y + (n * M + gi * Mg + m0) * osz;
      const float* wg = w + (gi * Mg + m0) * Cg;
      const float* zg = ep && ep->residual ? ep->residual + (n * M + gi * Mg + m0) * osz : nullptr;
      const float* bg = bias ? bias + gi * Mg + m0 : nullptr;
      convdirect::StoreEpilogue se = store_ep;
      se.bias = bg;
      int64_t e0 = o0;  // outputs from e0 on await the epilogue (when it is not in the stores)
      for (int64_t o = o0, cnt; o < o1; o += cnt) {
        cnt = std::min(PB, o1 - o);
        se.z = zg ? zg + o : nullptr;
        // whole blocks go to y with the epilogue in the kernel's stores where it can be
        const convdirect::StoreEpilogue* in_stores = in_kernel ? &se : nullptr;
        bool partial = false;  // sums of a partial block in tail_out
        if (unit && cnt == PB) {
          // stride 1, whole blocks: the kernel reads the channels' runs where they lie
          cnt = std::max<int64_t>(1, std::min(span_blocks, (o1 - o) / PB)) * PB;
          convdirect::Problem pr{xg + o, isz, Cg, &tap0, 1, wg, Cg, packed, Mt, osz, in_stores};
          kern.run(pr, 0, cnt, yg + o);
        } else if (few_tail && packed && cnt < PB && cnt <= convdirect::kFewPositions) {
          gather_block(xg, o, cnt);
          convdirect::Problem pr{xblock.data(), PB, Cg, &tap0, 1, wg, Cg, packed, Mt, PB};
          (avx512 ? convdirect::few_avx512 : convdirect::few_avx2)(pr, cnt, tail_out.data());
          partial = true;
        } else {
          gather_block(xg, o, cnt);
          const bool whole = cnt == PB;
          convdirect::Problem pr{xblock.data(), PB, Cg, &tap0, 1, wg, Cg, packed, Mt, whole ? osz : PB,
                                 whole ? in_stores : nullptr};
          kern.run(pr, 0, PB, whole ? yg + o : tail_out.data());
          partial = !whole;
        }
        // a partial block into place: with the epilogue where the stores take it (each residual
        // value read before the output value over it is written: the output may lie over it)
        if (partial)
          for (int64_t m = 0; m < Mt; ++m) {
            if (in_kernel)
              finish_conv_run(ep, yg + m * osz + o, tail_out.data() + m * PB, cnt, bg ? bg[m] : 0.f,
                              zg ? zg + m * osz + o : nullptr);
            else copy_run(yg + m * osz + o, tail_out.data() + m * PB, cnt);
          }
        if (in_kernel) continue;
        // the epilogue over the outputs written since the last one, while they are in L2
        if (o + cnt - e0 >= epi_span || o + cnt == o1) {
          direct_epilogue(yg, zg, bg, Mt, osz, e0, o + cnt, ep);
          e0 = o + cnt;
        }
      }
    }
  };
  run_tasks(ctx, N * group * bands * chunks, body);
  return true;
}

// A strided 1×1 unpadded 2-D conv with filters of a quarter of L2 or more and 14×14 outputs or
// more (AVX-512), as the stride-1 one (conv1x1_direct) over its input decimated first: each input
// row the output reads, every stride-th value (by permutes, gather2_avx512), into a buffer kept
// by the thread. The threads then split the filters, each reading its part once, where bands of
// positions each reread all of them from past L2 and gathered every block's inputs value by
// value, or the packed GEMM gathered its panels value by value: in the model, 2 threads
// (scripts/bench/ab.ts), ResNet-50's 56×56 c256→512 stride 2 11–15% faster, 28×28 c512→1024
// 5.7%. Elsewhere the pass cost more than it saved: ResNet-18's downsamples (c64→128 and
// c128→256, 28×28 and 14×14 outputs) 5–19% slower, ResNet-50's 14×14 c1024→2048 (7×7 outputs)
// 5%. False (nothing written) where it does not apply.
bool conv1x1_decimated(KernelContext& ctx, const float* x, const float* w, const float* bias, float* y, int64_t N,
                       int64_t C, int64_t M, int64_t group, const WindowGeom& g, const ConvEpilogue* ep) {
  const int64_t isz = g.in_size(), osz = g.out_size();
  if (!ku::use_avx512() || g.in.size() != 2 || osz < 14 * 14 ||
      (M / group) * (C / group) * int64_t{sizeof(float)} < ku::l2_cache_bytes() / 4)
    return false;
  const int64_t OH = g.out[0], OW = g.out[1], W = g.in[1], sh = g.stride[0], sw = g.stride[1];
  thread_local ku::FloatBuf buf;
  thread_local int64_t cap = 0;
  float* xs = ku::grow(buf, cap, N * C * osz);
  if (!xs) return false;
  auto decimate = [&](int64_t b, int64_t e) {
    for (int64_t nc = b; nc < e; ++nc)
      for (int64_t oh = 0; oh < OH; ++oh) {
        const float* row = x + nc * isz + oh * sh * W;
        float* dst = xs + nc * osz + oh * OW;
        if (sw == 2) convdirect::gather2_avx512(dst, row, OW);
        else gather_run(dst, row, OW, sw);
      }
  };
  if (ctx.num_threads() > 1 && N * C * osz >= (int64_t{1} << 16)) ctx.parallel_for(N * C, 1, decimate);
  else decimate(0, N * C);
  WindowGeom unit = g;
  unit.in = unit.out;
  unit.stride.assign(2, 1);
  return conv1x1_direct(ctx, xs, w, bias, y, N, C, M, group, unit, ep);
}

// Direct 2-D conv (nn_conv_direct.h): no column matrix, no packing of the input. Tasks are
// (image, group, band of output rows); each builds the phase planes of its band's input rows
// (with the kernel's halo) and computes every output channel of its group from them. Bands are
// as tall as L2 allows (kMaxDirectBand*Bytes), and shorter when the conv is worth splitting
// across threads; where the weights are large and one band holds the whole plane, the threads
// split the output channels instead. Returns false (nothing written) where it does not apply: no AVX2, or not even
// one output row's inputs fit.
bool conv2d_direct(KernelContext& ctx, const float* x, const float* w, const float* bias, float* y, int64_t N,
                   int64_t C, int64_t M, int64_t group, const WindowGeom& g, const ConvEpilogue* ep) {
  if (!ku::use_avx2()) return false;
  // 48-position blocks (with a 32-position one for the last few: see `tail` below) on wide planes,
  // and on smaller ones where they compute no more positions than 32-position blocks would over
  // the whole plane (14×14, rows 16 wide: 192 + 32 = 224 = 7 × 32). ResNet's 14×14 c256 3×3, cold
  // caches, the two alternated in one process, 40 runs each: 1 thread 1.47–1.60 → 1.36–1.50 ms
  // at best (medians 1.63–1.81 → 1.48–1.65), 2 threads 0.79 → 0.74 ms on a quiet round.
  const convdirect::Kernel narrow = convdirect::kernel(ku::use_avx512(), false);  // same weight blocks
  const int64_t plane_used = (g.out[0] - 1) * PhaseLayout(g, g.out[0]).Wq + g.out[1];
  const int64_t by48 = plane_used / 48 * 48 + (plane_used % 48 == 0 ? 0 : plane_used % 48 <= 32 ? 32 : 48);
  const bool wide = g.out_size() >= convdirect::kWidePositions || by48 <= (plane_used + 31) / 32 * 32;
  const convdirect::Kernel kern = convdirect::kernel(ku::use_avx512(), wide);
  const int64_t kPositionBlock = kern.positions;
  const int64_t Cg = C / group, Mg = M / group, ntaps = g.kernel_size(), K = Cg * ntaps;
  const int64_t OH = g.out[0], OW = g.out[1], osz = OH * OW, isz = g.in[0] * g.in[1];
  auto in_bytes = [&](int64_t rows) { return Cg * PhaseLayout(g, rows).plane * int64_t{sizeof(float)}; };
  auto out_bytes = [&](int64_t rows, int64_t channels) {
    return channels * ((rows * PhaseLayout(g, rows).Wq + kPositionBlock - 1) / kPositionBlock * kPositionBlock) *
           int64_t{sizeof(float)};
  };
  if (in_bytes(1) > kMaxDirectBandInBytes) return false;
  // Positions [0, used) of a band matter (the last row's columns past OW do not). 48-position
  // blocks leave up to 47 of the last one unused (ResNet-50's 56→28 stride-2 3×3: bands of 5 and
  // 6 rows 29 wide, 145 and 174 positions, computed as 192 each); where 32 or fewer are left past
  // the last whole block, a 32-position block computes them (5 rows: 144, 6 rows: 176). The
  // positions a band of `rows` computes; *whole of them in kern's blocks, *tail: then one of narrow's.
  const int64_t Wq = PhaseLayout(g, 1).Wq;
  auto band_span = [&](int64_t rows, int64_t* whole, bool* tail) {
    const int64_t used = (rows - 1) * Wq + OW;
    *whole = used / kPositionBlock * kPositionBlock;
    *tail = narrow.positions < kPositionBlock && used - *whole > 0 && used - *whole <= narrow.positions;
    return *tail ? *whole + narrow.positions : (used + kPositionBlock - 1) / kPositionBlock * kPositionBlock;
  };
  int64_t rows_per = 1;
  while (rows_per < OH && in_bytes(rows_per + 1) <= kMaxDirectBandInBytes && out_bytes(rows_per + 1, Mg) <= kMaxDirectBandOutBytes)
    ++rows_per;
  bool packed;
  std::shared_ptr<const DirectWeights> keep;
  w = direct_weights(ctx, w, M, Mg, K, kern.channels, &packed, &keep);
  const int64_t split = direct_bands(ctx, N * M * osz * K, N * group, OH);
  // as many bands as L2 and the split ask for, made an even count for the pool, with their rows
  // shared out evenly (band b: rows OH·b/bands up to OH·(b + 1)/bands)
  int64_t bands = std::max((OH + rows_per - 1) / rows_per, split);
  if (split > 1) bands = even_task_count(ctx, N * group * bands, N * group * OH) / (N * group);
  // Of the band counts up to twice that (still even for the pool), the one whose bands compute
  // the fewest positions (by 2% at least): ResNet-18's 56→28 stride-2 c64→128 on 2 threads went as 4 bands of 7
  // rows (224 positions each for 202), now 6 of 4 and 5 rows (128 and 144: 832 for 784, not 896)
  {
    auto computed = [&](int64_t b) {
      int64_t total = 0, whole;
      bool tail;
      for (int64_t i = 0; i < b; ++i) total += band_span(OH * (i + 1) / b - OH * i / b, &whole, &tail);
      return total;
    };
    int64_t least = computed(bands);
    for (int64_t b = bands + 1, b_end = std::min(OH, 2 * bands); b <= b_end; ++b) {
      if (split > 1 && !even_for_pool(ctx, N * group * b)) continue;
      const int64_t c = computed(b);
      if (c * 50 < least * 49) least = c, bands = b;  // 2% fewer at least: more bands rebuild more halo rows
    }
  }
  // Where the whole plane's inputs fit L2 (and a thread's share of the outputs): the threads
  // share out the output channels instead (whole kernel blocks each), so that each reads its
  // part of the weights once rather than every band rereading all of them, and no band's last
  // block of positions is mostly past its rows (28×28 in 4 bands: 240 positions for 210).
  int64_t chunks = 1;
  const int64_t mblocks = (Mg + kern.channels - 1) / kern.channels, threads = std::max(1, ctx.num_threads());
  const int64_t chunk_channels = (mblocks + threads - 1) / threads * kern.channels;
  if (split > 1 && N * group < threads && mblocks >= 2 * threads && in_bytes(OH) <= kMaxDirectBandInBytes &&
      out_bytes(OH, chunk_channels) <= kMaxDirectBandOutBytes) {
    chunks = threads;
    bands = 1;
  }
  const int64_t cper = (mblocks + chunks - 1) / chunks * kern.channels;  // output channels per chunk
  rows_per = (OH + bands - 1) / bands;
  const PhaseLayout L(g, rows_per);

  std::vector<int64_t> taps(static_cast<size_t>(ntaps));
  int64_t max_tap = 0;
  for (int64_t t = 0; t < ntaps; ++t) max_tap = std::max(max_tap, taps[t] = L.tap_offset(g, t));
  // Blocks of output positions round up to kPositionBlock: the last one reads past the last
  // plane by at most that much plus the largest tap, into zeroed slack.
  const int64_t slack = kPositionBlock + max_tap;

  // With AVX-512, the kernel stores each band's rows straight into y, closed up, with the
  // epilogue applied in its registers where that can be (Problem::row_width): no pass over a
  // buffer of wide rows after it (the stem's 3 MiB of outputs went through L2 twice more).
  convdirect::StoreEpilogue store_ep;
  const bool row_stores = ku::use_avx512() && store_epilogue(ep, &store_ep);

  auto body = [&](int64_t t0, int64_t t1) {
    thread_local std::vector<float> phases, out;  // grow only: resize() zero-fills what it adds
    const size_t need = static_cast<size_t>(Cg * L.plane + slack);
    if (phases.size() < need) phases.resize(need);
    std::fill(phases.data() + Cg * L.plane, phases.data() + need, 0.f);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t ng = t / (bands * chunks), n = ng / group, gi = ng % group;
      const int64_t m0 = std::min(Mg, t / bands % chunks * cper), m1 = std::min(Mg, m0 + cper), Mt = m1 - m0;
      const int64_t band = t % bands, oh0 = OH * band / bands, oh1 = OH * (band + 1) / bands;
      if (oh0 >= oh1 || Mt <= 0) continue;
      for (int64_t c = 0; c < Cg; ++c) build_phases(x + (n * C + gi * Cg + c) * isz, g, L, oh0, phases.data() + c * L.plane);
      int64_t whole;
      bool tail;
      const int64_t span = band_span(oh1 - oh0, &whole, &tail);
      auto compute = [&](const convdirect::Problem& pr, float* dst, int64_t tail_at) {
        if (whole > 0 || !tail) kern.run(pr, 0, tail ? whole : span, dst);
        if (tail) narrow.run(pr, whole, span, dst + tail_at);
      };
      if (row_stores) {
        convdirect::StoreEpilogue se = store_ep;
        se.bias = bias ? bias + gi * Mg + m0 : nullptr;
        const int64_t at = (n * M + gi * Mg + m0) * osz + oh0 * OW;
        se.z = ep && ep->residual ? ep->residual + at : nullptr;
        convdirect::Problem pr{phases.data(), L.plane, Cg, taps.data(), ntaps, w + (gi * Mg + m0) * K, K, packed, Mt, osz,
                               &se, L.Wq, OW, (oh1 - oh0) * L.Wq};
        compute(pr, y + at, 0);  // row stores place the tail themselves
        continue;
      }
      if (out.size() < static_cast<size_t>(Mt * span)) out.resize(static_cast<size_t>(Mt * span));
      convdirect::Problem pr{phases.data(), L.plane, Cg, taps.data(), ntaps, w + (gi * Mg + m0) * K, K, packed, Mt, span};
      compute(pr, out.data(), whole);
      float* yg = y + (n * M + gi * Mg + m0) * osz + oh0 * OW;
      // each channel's rows closed up where the kernel left them (in L1: the row r moves from r·Wq
      // to r·OW, forwards, so that no value is overwritten before it is read), then into place
      // with the epilogue on the way, in one run per channel (rows of 7 or 14 values, one call
      // each, cost as much as the conv's own work on small planes)
      const float* zg = ep && ep->residual ? ep->residual + (n * M + gi * Mg + m0) * osz + oh0 * OW : nullptr;
      for (int64_t m = 0; m < Mt; ++m) {
        float* o = out.data() + m * span;
        if (L.Wq != OW)
          for (int64_t r = 1; r < oh1 - oh0; ++r) copy_run(o + r * OW, o + r * L.Wq, OW);
        finish_conv_run(ep, yg + m * osz, o, (oh1 - oh0) * OW, bias ? bias[gi * Mg + m0 + m] : 0.f,
                        zg ? zg + m * osz : nullptr);
      }
    }
  };
  run_tasks(ctx, N * group * bands * chunks, body);
  return true;
}

// Whether a conv goes to the packed GEMM (nn_conv_gemm.h) rather than the direct kernels: few
// output positions (7×7, and 14×14 for 1×1s) with enough filters and depth. There the direct kernels
// stream every filter once per block of 32 positions (or per band of rows, split over threads),
// while the GEMM reads them once per call and splits the filters over the threads. Measured per
// layer with fleetrt_conv_bench (FLEETRT_BENCH_CMP=1 runs both); FLEETRT_CONV_PATH=direct|gemm
// overrides the choice (benchmarks, tests).
bool use_packed_gemm(int64_t osz, int64_t ksz, int64_t K, int64_t Mg, bool strided, int64_t threads) {
  if (const char* force = std::getenv("FLEETRT_CONV_PATH")) {
    if (std::strcmp(force, "gemm") == 0) return true;
    if (std::strcmp(force, "direct") == 0) return false;
  }
  if (Mg < 16 || K < 128) return false;
  // 3×3 and larger: 7×7 outputs, and 14×14 ones of strided convs. A strided conv's phase
  // planes of 256 channels pass the band limit, and each band rereads filters that L2 cannot
  // hold: ResNet-50's 28×28 c256 stride-2 layer ran at 135–145 GFLOP/s direct, 145–171 by the
  // GEMM (fleetrt_conv_bench, FLEETRT_BENCH_CMP=1 FLEETRT_BENCH_COLD=1, 1 and 2 threads), and
  // ResNet-18's c128→256 one 137–168 against 153–175. 14×14 stride-1 outputs ran even on one
  // thread and faster direct on two.
  // On several threads, 14×14 strided outputs only where the filters pass L2 per thread, as for
  // 1×1s below: in the model (2 threads, alternated rounds, medians of 10) ResNet-18's
  // c128→256 (1.2 MB of filters) ran 0.549 → 0.489 ms direct; ResNet-50's c256→256 (2.4 MB) stays.
  if (ksz > 1 && osz > 64 && strided && threads > 1 && Mg * K <= threads * (int64_t{1} << 18)) return false;
  if (ksz > 1) return osz <= 64 || (osz <= 196 && strided);
  // 1×1: filters past L2, which the direct kernel would stream once per block or band.
  // Unstrided ones on several threads: past L2 per thread, since the direct kernel splits the
  // filters between the threads there (conv1x1_direct) and applies the epilogue in its stores.
  // In the model (1 MiB of L2, 2 threads, before/after alternated, medians of 8–10 rounds):
  // ResNet-50's 14×14 c256→1024 with its residual 0.416–0.431 → 0.364–0.394 ms, c1024→512
  // 0.753–0.763 → 0.663–0.672, c1024→256 unchanged (0.38–0.39); MobileNetV2's 7×7 c960→320
  // 0.186–0.199 → 0.134, c320→1280 0.209 → 0.178–0.189. With 512 KiB of L2 (Zen 3) those two
  // pass it per thread and go back to the GEMM, which reads each filter once: the direct kernel
  // read them from L3 once per block of positions (medians of 8 alternated rounds in the model: 0.49 →
  // 0.42 ms, 0.35 → 0.30). (Strided ones gather their inputs per block of positions and keep the GEMM.)
  // An L2 past 1 MiB (Sapphire Rapids: 2 MiB) counts as 1 MiB: no figures were taken there.
  const int64_t l2_floats = std::min<int64_t>(ku::l2_cache_bytes(), int64_t{1} << 20) / int64_t{sizeof(float)};
  // With AVX2, 7×7 outputs keep the GEMM from past L2 per core on any number of threads: the
  // direct kernel's 24-position blocks leave 48 + 1 positions there (MobileNetV2's 7×7 c160→960 on
  // 2 threads, Zen 3 with 512 KiB of L2, in the model: 21% faster by the GEMM, c960→160 unchanged;
  // scripts/bench/ab.ts, 64 passes). Not so for 14×14: ResNet-50's c256→1024 and c1024→256 ran 7%
  // slower by the GEMM.
  // With AVX-512, 7×7 outputs by the direct kernel whatever the filters: 48 positions a block and
  // the one left by the few-position kernel, where the GEMM computes 5 panels of 12 rows.
  // fleetrt_conv_bench (FLEETRT_BENCH_CMP=1, caches flushed, input read back), direct against
  // GEMM: ResNet-50's c2048→512 0.34–0.36 against 0.41–0.43 ms on 2 threads, 0.55 against 0.62 on
  // 1; c512→2048 0.33–0.35 against 0.36–0.37, 0.56 against 0.63; MobileNetV2's c320→1280 on 1
  // thread 0.235 against 0.277; warm, c2048→512 0.27 against 0.32–0.35, c512→2048 the same.
  // ResNet-50 against the build before, process by process (8 alternated rounds, 2 threads, a
  // busy spell): ±0.4%.
  const bool small = osz <= 64;  // 7×7 outputs
  if (!strided && small && ku::use_avx512()) return false;
  if (!strided && threads > 1 && !small) return osz <= 196 && Mg * K > threads * l2_floats;
  return osz <= 196 && Mg * K >= l2_floats;
}

// The float32 conv into yf, by the first path that applies (see the file comment).
void conv_float(KernelContext& ctx, const float* xf, const float* wf, const float* bf, float* yf, int64_t N, int64_t C,
                int64_t M, int64_t group, const WindowGeom& g, const ConvEpilogue* ep) {
  const int64_t Cg = C / group, Mg = M / group, ksz = g.kernel_size(), K = Cg * ksz;
  const int64_t isz = g.in_size(), osz = g.out_size();
  const size_t nsp = g.in.size();
  ConvEpilogue apart;  // depthwise and im2col write the sums first: residual_apart
  if (Cg == 1 && group > 1 && nsp == 2)
    return depthwise2d(ctx, xf, wf, bf, yf, N, C, M, g, residual_apart(ctx, ep, yf, &apart));
  bool strided = false;
  for (size_t d = 0; d < nsp; ++d) strided = strided || g.stride[d] > 1;
  if (winograd::fits(g, Cg, Mg, group) && winograd::run(ctx, xf, wf, bf, yf, N, C, M, g, ep)) return;
  bool pointwise = ksz == 1, direct = ksz == 1;
  for (size_t d = 0; d < nsp; ++d) {
    if (g.pad_begin[d] != 0 || g.pad_end[d] != 0) pointwise = false;
    if (g.stride[d] != 1 || g.pad_begin[d] != 0 || g.pad_end[d] != 0) direct = false;
  }
  if (pointwise && strided && conv1x1_decimated(ctx, xf, wf, bf, yf, N, C, M, group, g, ep)) return;
  if (use_packed_gemm(osz, ksz, K, Mg, strided, std::max(1, ctx.num_threads())) &&
      convgemm::run(ctx, xf, wf, bf, yf, N, C, M, group, g, ep))
    return;
  if (nsp == 2 && ksz > 1 && conv2d_direct(ctx, xf, wf, bf, yf, N, C, M, group, g, ep)) return;
  if (pointwise && conv1x1_direct(ctx, xf, wf, bf, yf, N, C, M, group, g, ep)) return;
  ep = residual_apart(ctx, ep, yf, &apart);
  // Other 2-D convs: im2col in tiles of output positions that stay in cache, one tile per task
  // (im2col + single-thread SGEMM + epilogue), instead of one huge column matrix.
  // Small convs run on one thread: a pool wake-up costs more than they do.
  int64_t tile = std::max<int64_t>(64, (96 * 1024 / std::max<int64_t>(K, 1)) / 16 * 16);
  const int64_t work = N * group * Mg * osz * K, per = N * group, want = 2 * std::max(1, ctx.num_threads());
  const bool parallel = work >= ku::kParallelMinMacs && ctx.num_threads() > 1;
  if (parallel && per * ((osz + tile - 1) / tile) < want) {
    const int64_t splits = (want + per - 1) / per;
    tile = std::max<int64_t>(32, ((osz + splits - 1) / splits + 15) / 16 * 16);
  }
  const int64_t ntiles = (osz + tile - 1) / tile;
  if (!direct && nsp == 2) {
    const int64_t tasks = N * group * ntiles;
    auto body = [&](int64_t t0, int64_t t1) {
      // per-thread column tile, kept between calls: a fresh large buffer costs page faults
      thread_local std::vector<float> col;
      if (col.size() < static_cast<size_t>(K * tile)) col.resize(static_cast<size_t>(K * tile));
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t ng = t / ntiles, n = ng / group, gi = ng % group;
        const int64_t p0 = (t % ntiles) * tile, p1 = std::min(osz, p0 + tile);
        const float* xg = xf + (n * C + gi * Cg) * isz;
        im2col_tile2d(xg, Cg, g, p0, p1, col.data());
        float* yg = yf + (n * M + gi * Mg) * osz;
        ku::sgemm(false, false, Mg, p1 - p0, K, 1.f, wf + gi * Mg * K, K, col.data(), p1 - p0, 0.f, yg + p0, osz,
                  nullptr);
        direct_epilogue(yg, ep && ep->residual ? ep->residual + (n * M + gi * Mg) * osz : nullptr,
                        bf ? bf + gi * Mg : nullptr, Mg, osz, p0, p1, ep);
      }
    };
    if (parallel && tasks > 1) ctx.parallel_for(tasks, 1, body);
    else body(0, tasks);
    return;
  }
  float* col = direct ? nullptr : static_cast<float*>(ctx.scratch(static_cast<size_t>(K * osz) * sizeof(float)));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t gi = 0; gi < group; ++gi) {
      float* xg = const_cast<float*>(xf) + (n * C + gi * Cg) * isz;
      const float* src = xg;
      if (!direct) {
        window_map<false>(ctx, xg, Cg, g.in, g.out, g, col);
        src = col;
      }
      float* yg = yf + (n * M + gi * Mg) * osz;
      ku::sgemm(false, false, Mg, osz, K, 1.f, wf + gi * Mg * K, K, src, osz, 0.f, yg, osz, &ctx);
      if (ep) {
        const float* zg = ep->residual ? ep->residual + (n * M + gi * Mg) * osz : nullptr;
        ku::parallel_elems(ctx, Mg, osz, [&](int64_t m0, int64_t m1) {
          for (int64_t m = m0; m < m1; ++m)
            ep->apply(yg + m * osz, osz, bf ? bf[gi * Mg + m] : 0.f, zg ? zg + m * osz : nullptr);
        });
      }
    }
  if (!ep) add_bias(bf, yf, N, M, osz);
}

// A blocked conv (Y and the residual NCHW8c; X too unless x_plain): by the blocked loops where
// they apply, else the plain conv between reorders of its operands.
Status conv_blocked(KernelContext& ctx, const float* xf, bool x_plain, const float* wf, const float* bf, float* yf,
                    int64_t N, int64_t C, int64_t M, int64_t group, const WindowGeom& g, const ConvEpilogue* ep) {
  if (g.in.size() != 2 || (!x_plain && C % blocked::kBlock != 0) || M % blocked::kBlock != 0)
    return ku::op_error(ctx, "the NCHW8c layout needs a 2-D conv with channels in multiples of 8, got C " +
                                 std::to_string(C) + ", M " + std::to_string(M));
  if (blocked::run(ctx, xf, x_plain, wf, bf, yf, N, C, M, group, g, ep)) return Status::Ok();
  const int64_t isz = g.in_size(), osz = g.out_size();
  auto buffer = [&](int64_t n) { return static_cast<float*>(ctx.scratch(static_cast<size_t>(n) * sizeof(float))); };
  float* x = x_plain ? nullptr : buffer(N * C * isz);  // a plain X is read where it lies
  float* y = buffer(N * M * osz);
  ConvEpilogue plain;
  if (ep) {
    plain = *ep;
    if (ep->residual) {
      float* z = buffer(N * M * osz);
      if (!z) return ku::op_error(ctx, "out of memory for the plain copy of the residual");
      blocked::reorder(ctx, ep->residual, z, N * M / blocked::kBlock, osz, false);
      plain.residual = z;
    }
  }
  if ((!x_plain && !x) || !y) return ku::op_error(ctx, "out of memory for the plain copies of X and Y");
  if (!x_plain) blocked::reorder(ctx, xf, x, N * C / blocked::kBlock, isz, false);
  conv_float(ctx, x_plain ? xf : x, wf, bf, y, N, C, M, group, g, ep ? &plain : nullptr);
  blocked::reorder(ctx, y, yf, N * M / blocked::kBlock, osz, true);
  return Status::Ok();
}

}  // namespace

Status conv_forward(KernelContext& ctx, const ConvEpilogue* ep, bool blocked, bool x_plain) {
  const Tensor *x, *w, *b;
  FLEETRT_RETURN_IF_ERROR(conv_operands(ctx, &x, &w, &b));
  const int64_t N = x->shape[0], C = x->shape[1], M = w->shape[0];
  const int64_t group = ctx.attrs().get_int("group", 1);
  if (group <= 0 || C % group != 0 || M % group != 0 || w->shape[1] != C / group)
    return ku::op_error(ctx, "channels do not match: X " + ku::shape_str(x->shape) + ", W " + ku::shape_str(w->shape) +
                                 ", group " + std::to_string(group));
  if (b && b->numel() != M) return ku::op_error(ctx, "bias has " + std::to_string(b->numel()) + " values, expected " + std::to_string(M));
  std::vector<int64_t> in_sp(x->shape.begin() + 2, x->shape.end()), k_sp(w->shape.begin() + 2, w->shape.end());
  std::vector<int64_t> ks = ctx.attrs().get_ints("kernel_shape");
  if (!ks.empty() && ks != k_sp) return ku::op_error(ctx, "kernel_shape does not match W " + ku::shape_str(w->shape));
  WindowGeom g;
  FLEETRT_RETURN_IF_ERROR(ku::window_geometry(ctx, in_sp, k_sp, false, &g));
  std::vector<int64_t> oshape = {N, M};
  oshape.insert(oshape.end(), g.out.begin(), g.out.end());
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, oshape, x->dtype, &y));
  if (y->numel() == 0) return Status::Ok();
  if (ep && ep->residual && ep->residual_numel != y->numel())
    return ku::op_error(ctx, "residual Z has " + std::to_string(ep->residual_numel) + " values, the output " +
                                 ku::shape_str(oshape));
  if (ep && y->dtype != DType::kF32) return ku::op_error(ctx, "fused epilogues need float32");
  if (blocked) {
    if (x->dtype != DType::kF32 || w->dtype != DType::kF32 || (b && b->dtype != DType::kF32))
      return ku::op_error(ctx, "the NCHW8c layout needs float32 X, W and B");
    return conv_blocked(ctx, x->as<float>(), x_plain, w->as<float>(), b ? b->as<float>() : nullptr, y->as<float>(),
                        N, C, M, group, g, ep);
  }
  float* yf = ku::float_out_buffer(ctx, *y);
  conv_float(ctx, ku::as_float_buffer(ctx, *x), ku::as_float_buffer(ctx, *w), b ? ku::as_float_buffer(ctx, *b) : nullptr,
             yf, N, C, M, group, g, ep);
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  return Status::Ok();
}

namespace {

Status k_Conv(KernelContext& ctx) { return conv_forward(ctx, nullptr); }

Status k_ConvTranspose(KernelContext& ctx) {
  const Tensor *x, *w, *b;
  FLEETRT_RETURN_IF_ERROR(conv_operands(ctx, &x, &w, &b));
  const Attributes& at = ctx.attrs();
  const int64_t N = x->shape[0], C = x->shape[1];
  const int64_t group = at.get_int("group", 1);
  if (group <= 0 || C % group != 0 || w->shape[0] != C)
    return ku::op_error(ctx, "channels do not match: X " + ku::shape_str(x->shape) + ", W " + ku::shape_str(w->shape));
  const int64_t Cg = C / group, Mg = w->shape[1], M = Mg * group;
  if (b && b->numel() != M) return ku::op_error(ctx, "bias has " + std::to_string(b->numel()) + " values, expected " + std::to_string(M));
  const size_t nsp = x->rank() - 2;
  WindowGeom g;
  g.in.assign(x->shape.begin() + 2, x->shape.end());
  g.kernel.assign(w->shape.begin() + 2, w->shape.end());
  g.stride = at.get_ints("strides");
  g.dil = at.get_ints("dilations");
  std::vector<int64_t> pads = at.get_ints("pads"), opad = at.get_ints("output_padding"),
                       oshape_attr = at.get_ints("output_shape");
  if (g.stride.empty()) g.stride.assign(nsp, 1);
  if (g.dil.empty()) g.dil.assign(nsp, 1);
  if (pads.empty()) pads.assign(2 * nsp, 0);
  if (opad.empty()) opad.assign(nsp, 0);
  if (oshape_attr.size() == nsp + 2) oshape_attr.erase(oshape_attr.begin(), oshape_attr.begin() + 2);
  if (g.stride.size() != nsp || g.dil.size() != nsp || pads.size() != 2 * nsp || opad.size() != nsp ||
      (!oshape_attr.empty() && oshape_attr.size() != nsp))
    return ku::op_error(ctx, "strides/dilations/pads/output_padding/output_shape do not match the spatial dims");
  std::string ap = at.get_string("auto_pad", "NOTSET");
  g.pad_begin.assign(nsp, 0);
  g.pad_end.assign(nsp, 0);
  g.out.assign(nsp, 0);
  for (size_t d = 0; d < nsp; ++d) {
    int64_t ek = (g.kernel[d] - 1) * g.dil[d] + 1;
    int64_t full = g.stride[d] * (g.in[d] - 1) + opad[d] + ek;
    int64_t target = -1;
    if (!oshape_attr.empty()) target = oshape_attr[d];
    else if (ap == "SAME_UPPER" || ap == "SAME_LOWER") target = g.in[d] * g.stride[d];
    if (target >= 0) {
      int64_t total = full - target;
      if (ap == "SAME_UPPER" || ap == "NOTSET" || ap == "VALID") {
        g.pad_begin[d] = total / 2;
        g.pad_end[d] = total - total / 2;
      } else {
        g.pad_begin[d] = total - total / 2;
        g.pad_end[d] = total / 2;
      }
      g.out[d] = target;
    } else {
      if (ap != "VALID") g.pad_begin[d] = pads[d], g.pad_end[d] = pads[nsp + d];
      g.out[d] = full - g.pad_begin[d] - g.pad_end[d];
    }
    if (g.out[d] < 0) return ku::op_error(ctx, "negative output size");
  }
  std::vector<int64_t> oshape = {N, M};
  oshape.insert(oshape.end(), g.out.begin(), g.out.end());
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, oshape, x->dtype, &y));
  if (y->numel() == 0) return Status::Ok();
  const float* xf = ku::as_float_buffer(ctx, *x);
  const float* wf = ku::as_float_buffer(ctx, *w);
  const float* bf = b ? ku::as_float_buffer(ctx, *b) : nullptr;
  float* yf = ku::float_out_buffer(ctx, *y);
  const int64_t ksz = g.kernel_size(), isz = g.in_size(), osz = g.out_size(), R = Mg * ksz;
  float* col = static_cast<float*>(ctx.scratch(static_cast<size_t>(R * isz) * sizeof(float)));
  std::fill(yf, yf + y->numel(), 0.f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t gi = 0; gi < group; ++gi) {
      const float* xg = xf + (n * C + gi * Cg) * isz;
      ku::sgemm(true, false, R, isz, Cg, 1.f, wf + gi * Cg * R, R, xg, isz, 0.f, col, isz, &ctx);
      // grid = input positions, image = output
      window_map<true>(ctx, yf + (n * M + gi * Mg) * osz, Mg, g.out, g.in, g, col);
    }
  add_bias(bf, yf, N, M, osz);
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  return Status::Ok();
}

// Bilinear sample of an [H, W] plane at (y, x); zero outside.
float bilinear(const float* im, int64_t H, int64_t W, float y, float x) {
  if (y <= -1.f || y >= static_cast<float>(H) || x <= -1.f || x >= static_cast<float>(W)) return 0.f;
  const int64_t y0 = static_cast<int64_t>(std::floor(y)), x0 = static_cast<int64_t>(std::floor(x));
  const float ly = y - static_cast<float>(y0), lx = x - static_cast<float>(x0);
  auto at = [&](int64_t yy, int64_t xx) { return yy >= 0 && yy < H && xx >= 0 && xx < W ? im[yy * W + xx] : 0.f; };
  return (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x0 + 1)) + ly * ((1 - lx) * at(y0 + 1, x0) + lx * at(y0 + 1, x0 + 1));
}

// DeformConv (2-D): im2col with offset-shifted bilinear samples (times the optional mask), then
// the SGEMM per group.
Status k_DeformConv(KernelContext& ctx) {
  const Tensor *x, *w, *off;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &w));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 2, &off));
  const Tensor* b = ctx.num_inputs() > 3 ? ctx.input(3) : nullptr;
  const Tensor* mask = ctx.num_inputs() > 4 ? ctx.input(4) : nullptr;
  FLEETRT_RETURN_IF_ERROR(check_float(ctx, *x));
  if (x->rank() != 4 || w->rank() != 4) return ku::op_error(ctx, "only 2-D DeformConv (4-D X and W) is supported");
  const int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3], M = w->shape[0];
  const int64_t group = ctx.attrs().get_int("group", 1), og = ctx.attrs().get_int("offset_group", 1);
  if (group <= 0 || og <= 0 || C % group || M % group || C % og || w->shape[1] != C / group)
    return ku::op_error(ctx, "channels do not match group/offset_group");
  std::vector<int64_t> k_sp(w->shape.begin() + 2, w->shape.end());
  WindowGeom g;
  FLEETRT_RETURN_IF_ERROR(ku::window_geometry(ctx, {H, W}, k_sp, false, &g));
  const int64_t OH = g.out[0], OW = g.out[1], kh = k_sp[0], kw = k_sp[1], ksz = kh * kw, osz = OH * OW;
  if (off->numel() != N * og * 2 * ksz * osz) return ku::op_error(ctx, "offset shape " + ku::shape_str(off->shape) + " does not match");
  if (mask && mask->numel() != N * og * ksz * osz) return ku::op_error(ctx, "mask shape " + ku::shape_str(mask->shape) + " does not match");
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, {N, M, OH, OW}, x->dtype, &y));
  const float* xf = ku::as_float_buffer(ctx, *x);
  const float* wf = ku::as_float_buffer(ctx, *w);
  const float* of = ku::as_float_buffer(ctx, *off);
  const float* mf = mask ? ku::as_float_buffer(ctx, *mask) : nullptr;
  const float* bf = b ? ku::as_float_buffer(ctx, *b) : nullptr;
  float* yf = ku::float_out_buffer(ctx, *y);
  const int64_t Cg = C / group, Mg = M / group, K = Cg * ksz, cpo = C / og;
  std::vector<float> col(static_cast<size_t>(K * osz));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t gi = 0; gi < group; ++gi) {
      for (int64_t cc = 0; cc < Cg; ++cc) {
        const int64_t c = gi * Cg + cc, o = c / cpo;
        const float* im = xf + (n * C + c) * H * W;
        for (int64_t i = 0; i < kh; ++i)
          for (int64_t j = 0; j < kw; ++j) {
            const int64_t kk = i * kw + j;
            const float* dy = of + ((n * og + o) * 2 * ksz + 2 * kk) * osz;
            const float* dx = dy + osz;
            const float* mk = mf ? mf + ((n * og + o) * ksz + kk) * osz : nullptr;
            float* dst = &col[(cc * ksz + kk) * osz];
            for (int64_t oh = 0; oh < OH; ++oh)
              for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t p = oh * OW + ow;
                float yy = static_cast<float>(oh * g.stride[0] - g.pad_begin[0] + i * g.dil[0]) + dy[p];
                float xx = static_cast<float>(ow * g.stride[1] - g.pad_begin[1] + j * g.dil[1]) + dx[p];
                float v = bilinear(im, H, W, yy, xx);
                dst[p] = mk ? v * mk[p] : v;
              }
          }
      }
      ku::sgemm(false, false, Mg, osz, K, 1.f, wf + gi * Mg * K, K, col.data(), osz, 0.f, yf + (n * M + gi * Mg) * osz, osz,
                &ctx);
    }
  add_bias(bf, yf, N, M, osz);
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  return Status::Ok();
}

}  // namespace

FLEETRT_REGISTER_KERNEL("", "DeformConv", k_DeformConv);
FLEETRT_REGISTER_KERNEL("", "Conv", k_Conv);
FLEETRT_REGISTER_KERNEL("", "ConvTranspose", k_ConvTranspose);

}  // namespace fleetrt
