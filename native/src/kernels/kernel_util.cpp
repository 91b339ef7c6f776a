#include "kernel_util.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace fleetrt {
namespace ku {

Status op_error(const KernelContext& ctx, const std::string& msg) {
  return Status::Error(ctx.op_type() + " '" + ctx.op_name() + "': " + msg);
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Status alloc_output(KernelContext& ctx, int i, const std::vector<int64_t>& shape, DType dtype, Tensor** out) {
  *out = nullptr;
  if (i >= ctx.num_outputs()) return Status::Ok();
  Tensor* t = ctx.output(i);
  if (t) {
    if (t->shape != shape)
      return op_error(ctx, "output " + std::to_string(i) + " was planned as " + shape_str(t->shape) +
                               " but the inputs give " + shape_str(shape));
    if (t->dtype != dtype && t->dtype != DType::kUndefined)
      return op_error(ctx, "output " + std::to_string(i) + " was planned as " + dtype_name(t->dtype) + " but is " +
                               dtype_name(dtype));
    t->dtype = dtype;
    *out = t;
    return Status::Ok();
  }
  FLEETRT_RETURN_IF_ERROR(ctx.output(i, shape, &t));
  if (t) t->dtype = dtype;
  *out = t;
  return Status::Ok();
}

Status alloc_optional_output(KernelContext& ctx, int i, const std::vector<int64_t>& shape, DType dtype,
                             Tensor** out) {
  *out = nullptr;
  if (i >= ctx.num_outputs()) return Status::Ok();
  return alloc_output(ctx, i, shape, dtype, out);
}

Status require_input(const KernelContext& ctx, int i, const Tensor** t) {
  *t = i < ctx.num_inputs() ? ctx.input(i) : nullptr;
  if (!*t) return op_error(ctx, "missing required input " + std::to_string(i));
  if (!(*t)->data && (*t)->numel() > 0) return op_error(ctx, "input " + std::to_string(i) + " has no data");
  return Status::Ok();
}

Status normalize_axis(const KernelContext& ctx, int64_t axis, int64_t rank, int64_t* out) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= std::max<int64_t>(rank, 1))
    return op_error(ctx, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  *out = a;
  return Status::Ok();
}

Status read_int_tensor(const KernelContext& ctx, const Tensor& t, std::vector<int64_t>* out) {
  int64_t n = t.numel();
  out->resize(static_cast<size_t>(n));
  switch (t.dtype) {
    case DType::kI64: for (int64_t i = 0; i < n; ++i) (*out)[i] = t.as<int64_t>()[i]; break;
    case DType::kI32: for (int64_t i = 0; i < n; ++i) (*out)[i] = t.as<int32_t>()[i]; break;
    case DType::kI16: for (int64_t i = 0; i < n; ++i) (*out)[i] = t.as<int16_t>()[i]; break;
    case DType::kI8: for (int64_t i = 0; i < n; ++i) (*out)[i] = t.as<int8_t>()[i]; break;
    case DType::kU8: for (int64_t i = 0; i < n; ++i) (*out)[i] = t.as<uint8_t>()[i]; break;
    case DType::kU16: for (int64_t i = 0; i < n; ++i) (*out)[i] = t.as<uint16_t>()[i]; break;
    case DType::kU32: for (int64_t i = 0; i < n; ++i) (*out)[i] = t.as<uint32_t>()[i]; break;
    case DType::kU64: for (int64_t i = 0; i < n; ++i) (*out)[i] = static_cast<int64_t>(t.as<uint64_t>()[i]); break;
    default: return op_error(ctx, std::string("expected an integer tensor, got ") + dtype_name(t.dtype));
  }
  return Status::Ok();
}

Status read_scalar(const KernelContext& ctx, const Tensor& t, double* out) {
  if (t.numel() < 1) return op_error(ctx, "expected a scalar, got an empty tensor");
  if (!(is_float(t.dtype) || is_int(t.dtype) || t.dtype == DType::kBool))
    return op_error(ctx, std::string("expected a numeric scalar, got ") + dtype_name(t.dtype));
  *out = load_as_double(t, 0);
  return Status::Ok();
}

int64_t numel_of(const std::vector<int64_t>& shape) { return prod(shape, 0, shape.size()); }
int64_t prod(const std::vector<int64_t>& shape, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end && i < shape.size(); ++i) n *= shape[i];
  return n;
}

// ---------------------------------------------------------------- fp16 / bf16
float half_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ffu) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | mant << 13;
  } else {
    bits = sign | (exp + 112) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) return sign | (ax > 0x7f800000u ? 0x7e00u : 0x7c00u);
  if (ax >= 0x477ff000u) return sign | 0x7c00u;  // rounds to >= 65520 → inf
  if (ax < 0x38800000u) {                         // below the smallest normal half: subnormal/zero
    if (ax < 0x33000000u) return sign;            // < 2^-25 rounds to 0
    uint32_t e = ax >> 23;
    uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    int shift = static_cast<int>(126 - e);  // 113 - e + 13
    uint32_t half_m = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half_m & 1))) ++half_m;
    return sign | static_cast<uint16_t>(half_m);
  }
  uint32_t r = ax - 0x38000000u;  // rebias 127 → 15
  uint32_t h = r >> 13;
  uint32_t rem = r & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;
  return sign | static_cast<uint16_t>(h);
}

uint16_t float_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  uint32_t lsb = (x >> 16) & 1u;
  x += 0x7fffu + lsb;
  return static_cast<uint16_t>(x >> 16);
}

// ---------------------------------------------------------------- float8
namespace {
struct F8Format {
  int mbits, bias;
  bool fnuz;      // NaN = 0x80, no negative zero, no inf
  bool has_inf;   // E5M2
  float maxv;
};
F8Format f8_format(DType t) {
  switch (t) {
    case DType::kF8E4M3FN: return {3, 7, false, false, 448.0f};
    case DType::kF8E4M3FNUZ: return {3, 8, true, false, 240.0f};
    case DType::kF8E5M2: return {2, 15, false, true, 57344.0f};
    default: return {2, 16, true, false, 57344.0f};  // E5M2FNUZ
  }
}
}  // namespace

float f8_to_float(uint8_t v, DType t) {
  F8Format F = f8_format(t);
  int ebits = 7 - F.mbits;
  bool neg = (v & 0x80) != 0;
  if (F.fnuz && v == 0x80) return std::numeric_limits<float>::quiet_NaN();
  int e = (v >> F.mbits) & ((1 << ebits) - 1);
  int m = v & ((1 << F.mbits) - 1);
  if (!F.fnuz) {
    if (F.has_inf && e == (1 << ebits) - 1) {
      if (m == 0) return neg ? -INFINITY : INFINITY;
      return std::numeric_limits<float>::quiet_NaN();
    }
    if (!F.has_inf && e == (1 << ebits) - 1 && m == (1 << F.mbits) - 1) return std::numeric_limits<float>::quiet_NaN();
  }
  float val;
  if (e == 0)
    val = std::ldexp(static_cast<float>(m), 1 - F.bias - F.mbits);
  else
    val = std::ldexp(static_cast<float>(m + (1 << F.mbits)), e - F.bias - F.mbits);
  return neg ? -val : val;
}

uint8_t float_to_f8(float f, DType t, bool saturate) {
  F8Format F = f8_format(t);
  uint8_t nan = F.fnuz ? 0x80 : (F.has_inf ? 0x7e : 0x7f);
  if (std::isnan(f)) return nan;
  uint8_t sign = std::signbit(f) ? 0x80 : 0;
  float a = std::fabs(f);
  auto encode_max = [&]() -> uint8_t {
    // max finite: E4M3FN 0x7e, E4M3FNUZ 0x7f, E5M2 0x7b, E5M2FNUZ 0x7f
    if (t == DType::kF8E4M3FN) return sign | 0x7e;
    if (t == DType::kF8E5M2) return sign | 0x7b;
    return sign | 0x7f;
  };
  auto overflow = [&]() -> uint8_t {
    if (saturate) return encode_max();
    if (F.has_inf) return sign | 0x7c;
    return F.fnuz ? nan : static_cast<uint8_t>(sign | 0x7f);  // E4M3FN: NaN keeps the sign
  };
  if (std::isinf(a)) return overflow();
  int emin = 1 - F.bias;
  int e;
  std::frexp(a, &e);  // a = m·2^e, m in [0.5,1)
  e -= 1;             // a = 1.x·2^e
  if (a == 0) return F.fnuz ? 0 : sign;
  int qe = (e < emin ? emin : e) - F.mbits;
  double q = std::ldexp(1.0, qe);
  double r = std::nearbyint(static_cast<double>(a) / q) * q;
  if (r > F.maxv) return overflow();
  if (r == 0) return F.fnuz ? 0 : sign;
  int e2;
  std::frexp(r, &e2);
  e2 -= 1;
  uint8_t bits;
  if (e2 < emin) {
    bits = static_cast<uint8_t>(r / std::ldexp(1.0, emin - F.mbits));
  } else {
    int mant = static_cast<int>(r / std::ldexp(1.0, e2 - F.mbits)) - (1 << F.mbits);
    bits = static_cast<uint8_t>(((e2 + F.bias) << F.mbits) | mant);
  }
  return sign | bits;
}

float f4_to_float(uint8_t code) {
  static const float mag[8] = {0.f, 0.5f, 1.f, 1.5f, 2.f, 3.f, 4.f, 6.f};
  float v = mag[code & 7];
  return (code & 8) ? -v : v;
}

uint8_t float_to_f4(float f) {
  if (std::isnan(f)) return 0x8;
  static const float mag[8] = {0.f, 0.5f, 1.f, 1.5f, 2.f, 3.f, 4.f, 6.f};
  uint8_t sign = std::signbit(f) ? 8 : 0;
  float a = std::fabs(f);
  uint8_t best = 7;
  for (uint8_t c = 0; c < 7; ++c) {
    float mid = (mag[c] + mag[c + 1]) / 2;  // round to nearest, ties to the even code
    if (a < mid || (a == mid && (c & 1) == 0)) {
      best = c;
      break;
    }
  }
  return sign | best;
}

float e8m0_to_float(uint8_t v) {
  if (v == 0xff) return std::numeric_limits<float>::quiet_NaN();
  return std::ldexp(1.0f, static_cast<int>(v) - 127);
}

uint8_t float_to_e8m0(float f, int round_mode, bool saturate) {
  if (std::isnan(f)) return 0xff;
  if (std::isinf(f)) return saturate ? 0xfe : 0xff;
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t e = (x >> 23) & 0xff, m = x & 0x7fffffu;
  if (round_mode == 0 && m != 0) ++e;                    // up
  else if (round_mode == 2 && m >= 0x400000u) ++e;      // nearest (half up)
  if (e >= 0xff) return saturate ? 0xfe : 0xff;
  return static_cast<uint8_t>(e);
}

bool is_float(DType t) {
  switch (t) {
    case DType::kF16: case DType::kBF16: case DType::kF32: case DType::kF64:
    case DType::kF8E4M3FN: case DType::kF8E4M3FNUZ: case DType::kF8E5M2: case DType::kF8E5M2FNUZ:
    case DType::kF8E8M0: case DType::kF4E2M1:
      return true;
    default: return false;
  }
}
bool is_signed_int(DType t) {
  return t == DType::kI8 || t == DType::kI16 || t == DType::kI32 || t == DType::kI64;
}
bool is_unsigned_int(DType t) {
  return t == DType::kU8 || t == DType::kU16 || t == DType::kU32 || t == DType::kU64;
}

double load_as_double(const Tensor& t, int64_t i) {
  switch (t.dtype) {
    case DType::kF32: return t.as<float>()[i];
    case DType::kF64: return t.as<double>()[i];
    case DType::kF16: return half_to_float(t.as<uint16_t>()[i]);
    case DType::kBF16: return bf16_to_float(t.as<uint16_t>()[i]);
    case DType::kI8: return t.as<int8_t>()[i];
    case DType::kI16: return t.as<int16_t>()[i];
    case DType::kI32: return t.as<int32_t>()[i];
    case DType::kI64: return static_cast<double>(t.as<int64_t>()[i]);
    case DType::kU8: return t.as<uint8_t>()[i];
    case DType::kU16: return t.as<uint16_t>()[i];
    case DType::kU32: return t.as<uint32_t>()[i];
    case DType::kU64: return static_cast<double>(t.as<uint64_t>()[i]);
    case DType::kBool: return t.as<bool>()[i] ? 1.0 : 0.0;
    case DType::kF8E4M3FN: case DType::kF8E4M3FNUZ: case DType::kF8E5M2: case DType::kF8E5M2FNUZ:
      return f8_to_float(t.as<uint8_t>()[i], t.dtype);
    case DType::kF8E8M0: return e8m0_to_float(t.as<uint8_t>()[i]);
    case DType::kI4: case DType::kU4: case DType::kF4E2M1: {
      uint8_t b = t.as<uint8_t>()[i / 2];
      int v = (i & 1) ? (b >> 4) : (b & 0xf);
      if (t.dtype == DType::kF4E2M1) return f4_to_float(static_cast<uint8_t>(v));
      return t.dtype == DType::kI4 && v >= 8 ? v - 16 : v;
    }
    case DType::kI2: case DType::kU2: {
      int v = (t.as<uint8_t>()[i / 4] >> (2 * (i & 3))) & 3;
      return t.dtype == DType::kI2 && v >= 2 ? v - 4 : v;
    }
    default: return 0.0;
  }
}

void store_from_double(Tensor& t, int64_t i, double v) {
  switch (t.dtype) {
    case DType::kF32: t.as<float>()[i] = static_cast<float>(v); break;
    case DType::kF64: t.as<double>()[i] = v; break;
    case DType::kF16: t.as<uint16_t>()[i] = float_to_half(static_cast<float>(v)); break;
    case DType::kBF16: t.as<uint16_t>()[i] = float_to_bf16(static_cast<float>(v)); break;
    case DType::kI8: t.as<int8_t>()[i] = static_cast<int8_t>(v); break;
    case DType::kI16: t.as<int16_t>()[i] = static_cast<int16_t>(v); break;
    case DType::kI32: t.as<int32_t>()[i] = static_cast<int32_t>(v); break;
    case DType::kI64: t.as<int64_t>()[i] = static_cast<int64_t>(v); break;
    case DType::kU8: t.as<uint8_t>()[i] = static_cast<uint8_t>(v); break;
    case DType::kU16: t.as<uint16_t>()[i] = static_cast<uint16_t>(v); break;
    case DType::kU32: t.as<uint32_t>()[i] = static_cast<uint32_t>(v); break;
    case DType::kU64: t.as<uint64_t>()[i] = static_cast<uint64_t>(v); break;
    case DType::kBool: t.as<bool>()[i] = v != 0; break;
    case DType::kF8E4M3FN: case DType::kF8E4M3FNUZ: case DType::kF8E5M2: case DType::kF8E5M2FNUZ:
      t.as<uint8_t>()[i] = float_to_f8(static_cast<float>(v), t.dtype, true);
      break;
    case DType::kF8E8M0: t.as<uint8_t>()[i] = float_to_e8m0(static_cast<float>(v), 0, true); break;
    case DType::kI4: case DType::kU4: case DType::kF4E2M1: {
      uint8_t nib = t.dtype == DType::kF4E2M1 ? float_to_f4(static_cast<float>(v))
                                              : static_cast<uint8_t>(static_cast<int64_t>(v) & 0xf);
      uint8_t& b = t.as<uint8_t>()[i / 2];
      b = (i & 1) ? static_cast<uint8_t>((b & 0x0f) | (nib << 4)) : static_cast<uint8_t>((b & 0xf0) | nib);
      break;
    }
    case DType::kI2: case DType::kU2: {
      const int sh = 2 * static_cast<int>(i & 3);
      uint8_t& b = t.as<uint8_t>()[i / 4];
      b = static_cast<uint8_t>((b & ~(3 << sh)) | ((static_cast<int64_t>(v) & 3) << sh));
      break;
    }
    default: break;
  }
}

const float* as_float_buffer(KernelContext& ctx, const Tensor& t) {
  if (t.dtype == DType::kF32) return t.as<float>();
  int64_t n = t.numel();
  float* buf = static_cast<float*>(ctx.scratch(static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(float)));
  if (t.dtype == DType::kF16) {
    const uint16_t* p = t.as<uint16_t>();
    for (int64_t i = 0; i < n; ++i) buf[i] = half_to_float(p[i]);
  } else if (t.dtype == DType::kBF16) {
    const uint16_t* p = t.as<uint16_t>();
    for (int64_t i = 0; i < n; ++i) buf[i] = bf16_to_float(p[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) buf[i] = static_cast<float>(load_as_double(t, i));
  }
  return buf;
}

void store_float_buffer(const float* src, Tensor& dst) {
  int64_t n = dst.numel();
  switch (dst.dtype) {
    case DType::kF32:
      if (dst.data != src) std::memcpy(dst.data, src, static_cast<size_t>(n) * sizeof(float));
      break;
    case DType::kF16:
      for (int64_t i = 0; i < n; ++i) dst.as<uint16_t>()[i] = float_to_half(src[i]);
      break;
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) dst.as<uint16_t>()[i] = float_to_bf16(src[i]);
      break;
    default:
      for (int64_t i = 0; i < n; ++i) store_from_double(dst, i, src[i]);
  }
}

float* float_out_buffer(KernelContext& ctx, Tensor& dst) {
  if (dst.dtype == DType::kF32) return dst.as<float>();
  return static_cast<float*>(ctx.scratch(static_cast<size_t>(std::max<int64_t>(dst.numel(), 1)) * sizeof(float)));
}

const float* broadcast_float(KernelContext& ctx, const Tensor& t, const std::vector<int64_t>& shape) {
  std::vector<int64_t> out;
  if (!broadcast_shapes({t.shape, shape}, &out) || out != shape) return nullptr;
  const float* src = as_float_buffer(ctx, t);
  if (t.shape == shape) return src;
  const int64_t n = numel_of(shape);
  float* dst = static_cast<float*>(ctx.scratch(static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(float)));
  const size_t rank = shape.size(), off = rank - t.shape.size();
  std::vector<int64_t> st(rank, 0), idx(rank, 0);
  for (int64_t i = static_cast<int64_t>(t.shape.size()) - 1, s = 1; i >= 0; --i) {
    st[off + i] = t.shape[i] == 1 ? 0 : s;
    s *= t.shape[i];
  }
  int64_t so = 0;
  for (int64_t i = 0; i < n; ++i) {
    dst[i] = src[so];
    for (size_t d = rank; d-- > 0;) {
      so += st[d];
      if (++idx[d] < shape[d]) break;
      so -= st[d] * shape[d];
      idx[d] = 0;
    }
  }
  return dst;
}

// ---------------------------------------------------------------- broadcasting
bool broadcast_spans(const ShapeSpan* shapes, size_t n, std::vector<int64_t>* out) {
  size_t rank = 0;
  for (size_t k = 0; k < n; ++k) rank = std::max(rank, shapes[k].rank);
  out->assign(rank, 1);
  for (size_t k = 0; k < n; ++k) {
    const size_t off = rank - shapes[k].rank;
    for (size_t i = 0; i < shapes[k].rank; ++i) {
      const int64_t d = shapes[k].dims[i];
      int64_t& o = (*out)[off + i];
      if (d == o) continue;
      if (o == 1) o = d;
      else if (d != 1) return false;
    }
  }
  return true;
}

bool broadcast_shapes(const std::vector<std::vector<int64_t>>& shapes, std::vector<int64_t>* out) {
  std::vector<ShapeSpan> spans;
  spans.reserve(shapes.size());
  for (const std::vector<int64_t>& s : shapes) spans.push_back({s.data(), s.size()});
  return broadcast_spans(spans.data(), spans.size(), out);
}

namespace {
// make_broadcast over shapes[0..n), written into b's own storage: a Broadcast kept between calls
// (the binary kernels keep one per thread) allocates nothing once its vectors have grown.
bool broadcast_into(const ShapeSpan* shapes, size_t n, Broadcast* b) {
  if (!broadcast_spans(shapes, n, &b->out_shape)) return false;
  const size_t rank = b->out_shape.size();
  b->numel = numel_of(b->out_shape);
  // strides of every input over the output dims (0 where broadcast), dropping size-1 out dims
  std::vector<int64_t>& full = b->full_strides;  // n × rank
  full.assign(n * rank, 0);
  for (size_t k = 0; k < n; ++k) {
    const ShapeSpan& s = shapes[k];
    const size_t off = rank - s.rank;
    int64_t stride = 1;
    for (size_t i = s.rank; i-- > 0;) {
      full[k * rank + off + i] = s.dims[i] == 1 ? 0 : stride;
      stride *= s.dims[i];
    }
  }
  b->dims.clear();
  b->strides.resize(n);
  for (std::vector<int64_t>& st : b->strides) st.clear();
  for (size_t i = 0; i < rank; ++i) {
    if (b->out_shape[i] == 1) continue;
    if (!b->dims.empty()) {
      bool merge = true;
      for (size_t k = 0; k < n; ++k)
        if (b->strides[k].back() != full[k * rank + i] * b->out_shape[i]) merge = false;
      if (merge) {
        b->dims.back() *= b->out_shape[i];
        for (size_t k = 0; k < n; ++k) b->strides[k].back() = full[k * rank + i];
        continue;
      }
    }
    b->dims.push_back(b->out_shape[i]);
    for (size_t k = 0; k < n; ++k) b->strides[k].push_back(full[k * rank + i]);
  }
  b->inner_step.assign(n, 0);
  b->inner = 1;
  if (!b->dims.empty()) {
    b->inner = b->dims.back();
    for (size_t k = 0; k < n; ++k) {
      b->inner_step[k] = b->strides[k].back();  // 0 or 1 by construction
      b->strides[k].pop_back();
    }
    b->dims.pop_back();
  }
  b->rows = b->inner == 0 ? 0 : b->numel / b->inner;
  return true;
}
}  // namespace

bool make_broadcast(const std::vector<std::vector<int64_t>>& in_shapes, Broadcast* b) {
  std::vector<ShapeSpan> shapes;
  shapes.reserve(in_shapes.size());
  for (const std::vector<int64_t>& s : in_shapes) shapes.push_back({s.data(), s.size()});
  return broadcast_into(shapes.data(), shapes.size(), b);
}

bool make_broadcast(const std::vector<int64_t>& x, const std::vector<int64_t>& y, Broadcast* b) {
  const ShapeSpan shapes[2] = {{x.data(), x.size()}, {y.data(), y.size()}};
  return broadcast_into(shapes, 2, b);
}

bool make_broadcast(const std::vector<int64_t>& x, const std::vector<int64_t>& y, const std::vector<int64_t>& z,
                    Broadcast* b) {
  const ShapeSpan shapes[3] = {{x.data(), x.size()}, {y.data(), y.size()}, {z.data(), z.size()}};
  return broadcast_into(shapes, 3, b);
}

void Broadcast::row_offsets(int64_t row, int64_t* offs) const {
  const size_t n = strides.size();
  for (size_t k = 0; k < n; ++k) offs[k] = 0;
  for (size_t i = dims.size(); i-- > 0;) {
    int64_t idx = row % dims[i];
    row /= dims[i];
    for (size_t k = 0; k < n; ++k) offs[k] += idx * strides[k][i];
  }
}

Status window_geometry(const KernelContext& ctx, const std::vector<int64_t>& in_spatial, std::vector<int64_t> kernel,
                       bool allow_ceil, WindowGeom* g) {
  const Attributes& at = ctx.attrs();
  const size_t n = in_spatial.size();
  if (kernel.empty()) kernel = at.get_ints("kernel_shape");
  if (kernel.size() != n)
    return op_error(ctx, "kernel_shape has " + std::to_string(kernel.size()) + " dims but the input has " +
                             std::to_string(n) + " spatial dims");
  g->in = in_spatial;
  g->kernel = kernel;
  g->stride = at.get_ints("strides");
  g->dil = at.get_ints("dilations");
  std::vector<int64_t> pads = at.get_ints("pads");
  if (g->stride.empty()) g->stride.assign(n, 1);
  if (g->dil.empty()) g->dil.assign(n, 1);
  if (pads.empty()) pads.assign(2 * n, 0);
  if (g->stride.size() != n || g->dil.size() != n || pads.size() != 2 * n)
    return op_error(ctx, "strides/dilations/pads do not match the " + std::to_string(n) + " spatial dims");
  g->pad_begin.assign(pads.begin(), pads.begin() + n);
  g->pad_end.assign(pads.begin() + n, pads.end());
  std::string ap = at.get_string("auto_pad", "NOTSET");
  bool ceil_mode = allow_ceil && at.get_int("ceil_mode", 0) != 0;
  g->out.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    int64_t s = g->stride[i], ek = (kernel[i] - 1) * g->dil[i] + 1;
    if (s <= 0 || g->dil[i] <= 0 || kernel[i] <= 0) return op_error(ctx, "strides, dilations and kernel must be positive");
    if (ap == "SAME_UPPER" || ap == "SAME_LOWER") {
      int64_t o = (in_spatial[i] + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (o - 1) * s + ek - in_spatial[i]);
      g->pad_begin[i] = ap == "SAME_UPPER" ? total / 2 : total - total / 2;
      g->pad_end[i] = total - g->pad_begin[i];
      g->out[i] = o;
      continue;
    }
    if (ap == "VALID") g->pad_begin[i] = g->pad_end[i] = 0;
    int64_t span = in_spatial[i] + g->pad_begin[i] + g->pad_end[i] - ek;
    if (span < 0) return op_error(ctx, "the window is larger than the padded input");
    int64_t o = ceil_mode ? (span + s - 1) / s + 1 : span / s + 1;
    if (ceil_mode && (o - 1) * s >= in_spatial[i] + g->pad_begin[i]) --o;
    g->out[i] = o;
  }
  return Status::Ok();
}

namespace vexp_detail {
double exp_shift_sum_avx2(const float* x, float sign, float shift, float* y, int64_t n);
double exp_shift_sum_avx512(const float* x, float sign, float shift, float* y, int64_t n);
void tanh_avx2(const float* x, float* y, int64_t n);
void erf_avx2(const float* x, float* y, int64_t n);
void erf_avx512(const float* x, float* y, int64_t n);
float max_avx512(const float* x, int64_t n);
void scale_avx512(float* y, int64_t n, float s);
}

bool use_avx2() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool ok = [] {
    const char* portable = std::getenv("FLEETRT_PORTABLE");
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !(portable && *portable);
  }();
  return ok;
#else
  return false;
#endif
}

bool use_avx512() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool ok = [] {
    const char* cap = std::getenv("FLEETRT_SIMD");
    return use_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
           !(cap && std::string(cap) == "avx2");
  }();
  return ok;
#else
  return false;
#endif
}

namespace {
// The caches CPU 0 reports in Linux sysfs: (level, bytes) per index, in its order.
const std::vector<std::pair<int, int64_t>>& reported_caches() {
  static const std::vector<std::pair<int, int64_t>> caches = [] {
    std::vector<std::pair<int, int64_t>> out;
    for (int i = 0; i < 8; ++i) {
      const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
      std::ifstream level(dir + "level"), size(dir + "size");
      int lv = 0;
      int64_t n = 0;
      std::string unit;
      if (!(level >> lv) || !(size >> n)) break;  // the indexes run from 0 without gaps
      size >> unit;  // "32768K"; the number stops at the suffix
      if (unit == "K") n <<= 10;
      else if (unit == "M") n <<= 20;
      out.emplace_back(lv, n);
    }
    return out;
  }();
  return caches;
}
}  // namespace

int64_t last_level_cache_bytes() {
  int64_t best = 0;
  int best_level = 0;
  for (const auto& [lv, n] : reported_caches())
    if (lv > best_level || (lv == best_level && n > best)) best_level = lv, best = n;
  return best > 0 ? best : int64_t{8} << 20;
}

int64_t l2_cache_bytes() {
  for (const auto& [lv, n] : reported_caches())
    if (lv == 2 && n > 0) return n;
  return int64_t{1} << 20;
}

}  // namespace ku

const char* kernel_simd() { return ku::use_avx512() ? "avx512" : ku::use_avx2() ? "avx2" : "portable"; }

namespace ku {

void verf(const float* x, float* y, int64_t n) {
  if (use_avx512()) return vexp_detail::erf_avx512(x, y, n);  // the same bits as erf_avx2
  if (use_avx2()) return vexp_detail::erf_avx2(x, y, n);
  for (int64_t i = 0; i < n; ++i) y[i] = std::erf(x[i]);
}

void vsigmoid(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 1024) {  // blocks that stay in L1 between the two passes
    const int64_t m = std::min<int64_t>(1024, n - i);
    vexp_shift_sum(x + i, -1.f, 0.f, y + i, m);
    for (int64_t k = 0; k < m; ++k) y[i + k] = 1.f / (1.f + y[i + k]);
  }
}

void vrelu(const float* x, float* y, int64_t n) {
  int64_t i = 0;
#if defined(__SSE2__)
  const __m128 zero = _mm_setzero_ps();
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, _mm_max_ps(_mm_loadu_ps(x + i), zero));
#endif
  for (; i < n; ++i) y[i] = std::max(x[i], 0.f);
}

float vmax(const float* x, int64_t n) {
  if (use_avx512()) return vexp_detail::max_avx512(x, n);
  float m = -std::numeric_limits<float>::infinity();
  int64_t i = 0;
#if defined(__SSE2__)
  if (n >= 8) {  // maxps(x, m) keeps m where x is NaN, as std::max(m, x) below does
    __m128 vm = _mm_set1_ps(m);
    for (; i + 4 <= n; i += 4) vm = _mm_max_ps(_mm_loadu_ps(x + i), vm);
    alignas(16) float lanes[4];
    _mm_store_ps(lanes, vm);
    for (float v : lanes) m = std::max(m, v);
  }
#endif
  for (; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

void vscale(float* y, int64_t n, float s) {
  if (use_avx512()) return vexp_detail::scale_avx512(y, n, s);
  int64_t i = 0;
#if defined(__SSE2__)
  const __m128 vs = _mm_set1_ps(s);
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, _mm_mul_ps(_mm_loadu_ps(y + i), vs));
#endif
  for (; i < n; ++i) y[i] *= s;
}

void vadd(float* y, const float* b, int64_t n) {
  int64_t i = 0;
#if defined(__SSE2__)
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, _mm_add_ps(_mm_loadu_ps(y + i), _mm_loadu_ps(b + i)));
#endif
  for (; i < n; ++i) y[i] += b[i];
}

void vtanh(const float* x, float* y, int64_t n) {
  if (use_avx2()) return vexp_detail::tanh_avx2(x, y, n);
  for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}

double vexp_shift_sum(const float* x, float sign, float shift, float* y, int64_t n) {
  if (use_avx512()) return vexp_detail::exp_shift_sum_avx512(x, sign, shift, y, n);  // the same bits as avx2
  if (use_avx2()) return vexp_detail::exp_shift_sum_avx2(x, sign, shift, y, n);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    float v = std::exp(sign * x[i] - shift);
    if (y) y[i] = v;
    total += v;
  }
  return total;
}

void parallel_elems(KernelContext& ctx, int64_t n, int64_t cost_per_item,
                    const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  int64_t cost = std::max<int64_t>(cost_per_item, 1);
  int64_t grain = std::max<int64_t>(1, kParallelMinElems / cost);
  if (n <= grain || ctx.num_threads() <= 1) {
    fn(0, n);
    return;
  }
  ctx.parallel_for(n, grain, fn);
}

void parallel_rows(KernelContext& ctx, const Broadcast& b, const std::function<void(int64_t, int64_t)>& fn) {
  parallel_elems(ctx, b.rows, b.inner, fn);
}

}  // namespace ku
}  // namespace fleetrt
