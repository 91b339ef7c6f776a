#include "core/compare.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "kernels/kernel_util.h"

namespace fleetrt {

namespace {

bool as_double(const Tensor& t, int64_t i, double* out) {
  const uint8_t* p = static_cast<const uint8_t*>(t.data);
  switch (t.dtype) {
    case DType::kF32: { float v; std::memcpy(&v, p + 4 * i, 4); *out = v; return true; }
    case DType::kF64: { double v; std::memcpy(&v, p + 8 * i, 8); *out = v; return true; }
    case DType::kF16: { uint16_t v; std::memcpy(&v, p + 2 * i, 2); *out = ku::half_to_float(v); return true; }
    case DType::kBF16: { uint16_t v; std::memcpy(&v, p + 2 * i, 2); *out = ku::bf16_to_float(v); return true; }
    case DType::kF8E8M0: {  // exponent only: 2^(bits - 127); 0xFF is NaN
      const uint8_t v = p[i];
      *out = v == 0xFF ? NAN : std::ldexp(1.0, int(v) - 127);
      return true;
    }
    case DType::kC64: { float v; std::memcpy(&v, p + 4 * i, 4); *out = v; return true; }   // i over 2*numel
    case DType::kC128: { double v; std::memcpy(&v, p + 8 * i, 8); *out = v; return true; }
    default: return false;
  }
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string o = "[";
  for (size_t i = 0; i < s.size(); ++i) o += (i ? ", " : "") + std::to_string(s[i]);
  return o + "]";
}

// Maps a sign-magnitude float bit pattern to an integer that orders like the values.
int64_t ordered(int64_t bits, int64_t sign_bit) { return bits & sign_bit ? -(bits & (sign_bit - 1)) : bits; }

// Distance in representable values between two floats of the tensor's type (float16, bfloat16,
// float32, float64).
double ulp_distance(const Tensor& a, const Tensor& e, int64_t i) {
  if (e.dtype == DType::kF16 || e.dtype == DType::kBF16) {
    uint16_t x, y;
    std::memcpy(&x, static_cast<const uint8_t*>(a.data) + 2 * i, 2);
    std::memcpy(&y, static_cast<const uint8_t*>(e.data) + 2 * i, 2);
    const int64_t d = ordered(x, 0x8000) - ordered(y, 0x8000);
    return static_cast<double>(d < 0 ? -d : d);
  }
  if (e.dtype == DType::kF32) {
    int32_t x, y;
    std::memcpy(&x, static_cast<const uint8_t*>(a.data) + 4 * i, 4);
    std::memcpy(&y, static_cast<const uint8_t*>(e.data) + 4 * i, 4);
    int64_t ox = x < 0 ? int64_t(INT32_MIN) - x : x, oy = y < 0 ? int64_t(INT32_MIN) - y : y;
    return static_cast<double>(ox > oy ? ox - oy : oy - ox);
  }
  if (e.dtype == DType::kF64) {
    int64_t x, y;
    std::memcpy(&x, static_cast<const uint8_t*>(a.data) + 8 * i, 8);
    std::memcpy(&y, static_cast<const uint8_t*>(e.data) + 8 * i, 8);
    long double ox = x < 0 ? (long double)INT64_MIN - x : x, oy = y < 0 ? (long double)INT64_MIN - y : y;
    return static_cast<double>(ox > oy ? ox - oy : oy - ox);
  }
  return INFINITY;
}

CompareResult compare_tensors(const Tensor& a, const Tensor& e, double rtol, double atol, double max_ulp) {
  CompareResult r;
  if (a.dtype != e.dtype) {
    r.ok = false;
    r.message = std::string("dtype ") + dtype_name(a.dtype) + ", expected " + dtype_name(e.dtype);
    return r;
  }
  if (a.shape != e.shape) {
    r.ok = false;
    r.message = "shape " + shape_str(a.shape) + ", expected " + shape_str(e.shape);
    return r;
  }
  const int64_t n = e.numel();
  if (e.dtype == DType::kString) {
    for (int64_t i = 0; i < n; ++i)
      if (a.as<std::string>()[i] != e.as<std::string>()[i]) {
        r.ok = false;
        r.message = "string element " + std::to_string(i) + " is '" + a.as<std::string>()[i] + "', expected '" +
                    e.as<std::string>()[i] + "'";
        return r;
      }
    return r;
  }
  double probe;
  if (as_double(e, 0, &probe) || (n == 0 && (e.dtype == DType::kF32 || e.dtype == DType::kF64))) {
    const int64_t m = (e.dtype == DType::kC64 || e.dtype == DType::kC128) ? 2 * n : n;
    for (int64_t i = 0; i < m; ++i) {
      double x, y;
      as_double(a, i, &x);
      as_double(e, i, &y);
      if (std::isnan(x) && std::isnan(y)) continue;
      if (std::isinf(y) || std::isinf(x)) {
        if (x != y && r.ok) {
          r.ok = false;
          r.message = "element " + std::to_string(i) + " is " + std::to_string(x) + ", expected " + std::to_string(y);
        }
        continue;
      }
      double diff = std::fabs(x - y);
      if (std::isnan(diff)) diff = INFINITY;
      double rel = y != 0 ? diff / std::fabs(y) : (diff > 0 ? INFINITY : 0);
      if (diff > r.worst_abs) r.worst_abs = diff;
      if (rel > r.worst_rel && diff > atol) r.worst_rel = rel;
      if (!(diff <= atol + rtol * std::fabs(y)) && r.ok && !(max_ulp >= 0 && ulp_distance(a, e, i) <= max_ulp)) {
        r.ok = false;
        r.message = "element " + std::to_string(i) + " is " + std::to_string(x) + ", expected " + std::to_string(y);
      }
    }
    return r;
  }
  // Exact types: compare bytes, report the first differing element.
  size_t w = dtype_bits(e.dtype) / 8;
  if (w == 0) w = 1;
  if (std::memcmp(a.data, e.data, e.bytes()) != 0) {
    r.ok = false;
    const uint8_t* pa = static_cast<const uint8_t*>(a.data);
    const uint8_t* pe = static_cast<const uint8_t*>(e.data);
    for (size_t i = 0; i < e.bytes(); ++i)
      if (pa[i] != pe[i]) {
        int64_t k = static_cast<int64_t>(i / w);
        auto val = [&](const uint8_t* p) -> std::string {
          int64_t v = 0;
          switch (e.dtype) {
            case DType::kI64: std::memcpy(&v, p + 8 * k, 8); return std::to_string(v);
            case DType::kI32: { int32_t x; std::memcpy(&x, p + 4 * k, 4); return std::to_string(x); }
            case DType::kU64: { uint64_t x; std::memcpy(&x, p + 8 * k, 8); return std::to_string(x); }
            case DType::kI8: return std::to_string(static_cast<int8_t>(p[k]));
            case DType::kU8: case DType::kBool: return std::to_string(p[k]);
            case DType::kI16: { int16_t x; std::memcpy(&x, p + 2 * k, 2); return std::to_string(x); }
            case DType::kU16: { uint16_t x; std::memcpy(&x, p + 2 * k, 2); return std::to_string(x); }
            case DType::kU32: { uint32_t x; std::memcpy(&x, p + 4 * k, 4); return std::to_string(x); }
            default: {
              // Raw bits (float8, 4-bit and other packed types): the differing byte in hex.
              char buf[8];
              std::snprintf(buf, sizeof buf, "0x%02x", p[i]);
              return std::string(buf) + " (byte " + std::to_string(i) + ")";
            }
          }
        };
        r.message = "element " + std::to_string(k) + " is " + val(pa) + ", expected " + val(pe);
        break;
      }
  }
  return r;
}

}  // namespace

CompareResult compare_values(const Value& actual, const Value& expected, double rtol, double atol, double max_ulp) {
  CompareResult r;
  if (actual.kind != expected.kind) {
    r.ok = false;
    auto k = [](Value::Kind x) { return x == Value::Kind::kTensor ? "a tensor" : x == Value::Kind::kSequence ? "a sequence" : "none"; };
    r.message = std::string("got ") + k(actual.kind) + ", expected " + k(expected.kind);
    return r;
  }
  if (actual.kind == Value::Kind::kTensor) return compare_tensors(actual.tensor.view, expected.tensor.view, rtol, atol, max_ulp);
  if (actual.kind == Value::Kind::kSequence) {
    if (actual.elements.size() != expected.elements.size()) {
      r.ok = false;
      r.message = "sequence of " + std::to_string(actual.elements.size()) + " tensors, expected " + std::to_string(expected.elements.size());
      return r;
    }
    for (size_t i = 0; i < actual.elements.size(); ++i) {
      CompareResult e = compare_tensors(actual.elements[i].view, expected.elements[i].view, rtol, atol, max_ulp);
      r.worst_abs = std::max(r.worst_abs, e.worst_abs);
      r.worst_rel = std::max(r.worst_rel, e.worst_rel);
      if (!e.ok && r.ok) {
        r.ok = false;
        r.message = "sequence element " + std::to_string(i) + ": " + e.message;
      }
    }
  }
  return r;
}

}  // namespace fleetrt
