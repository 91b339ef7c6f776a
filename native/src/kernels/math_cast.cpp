// Cast and CastLike between all supported dtypes: plain numeric types (typed loops), float16,
// bfloat16, the four float8 types (attribute `saturate`, default 1), float8e8m0 (`round_mode`),
// packed int4/uint4/float4e2m1 and int2/uint2, and
// strings (numbers printed with round-trip precision; parsed with strtod/strtoll).
// Float → integer casts that are out of range go through int64 and wrap (numpy behaviour);
// NaN → integer gives 0.
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "kernel_util.h"

namespace fleetrt {
namespace {

bool is_f8(DType t) {
  return t == DType::kF8E4M3FN || t == DType::kF8E4M3FNUZ || t == DType::kF8E5M2 || t == DType::kF8E5M2FNUZ;
}
bool is_plain(DType t) {
  switch (t) {
    case DType::kF32: case DType::kF64: case DType::kI8: case DType::kI16: case DType::kI32: case DType::kI64:
    case DType::kU8: case DType::kU16: case DType::kU32: case DType::kU64: case DType::kBool:
      return true;
    default: return false;
  }
}
bool supported(DType t) {
  return is_plain(t) || t == DType::kF16 || t == DType::kBF16 || is_f8(t) || t == DType::kI4 || t == DType::kU4 ||
         t == DType::kI2 || t == DType::kU2 ||
         t == DType::kF4E2M1 || t == DType::kF8E8M0 || t == DType::kString;
}

template <class To>
To float_to_int(double v) {
  if (std::isnan(v)) return To(0);
  if (v >= -9.2233720368547758e18 && v < 9.2233720368547758e18) return static_cast<To>(static_cast<int64_t>(v));
  if (std::is_unsigned<To>::value && v >= 0 && v < 1.8446744073709552e19) return static_cast<To>(static_cast<uint64_t>(v));
  return To(0);
}

template <class To, class From>
To convert(From v) {
  if constexpr (std::is_same<To, bool>::value) {
    return v != From(0);
  } else if constexpr (std::is_floating_point<From>::value && std::is_integral<To>::value) {
    return float_to_int<To>(static_cast<double>(v));
  } else {
    return static_cast<To>(v);
  }
}

template <class From, class To>
void typed_cast(KernelContext& ctx, const From* in, To* out, int64_t n) {
  ku::parallel_elems(ctx, n, 2, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = convert<To>(in[i]);
  });
}

// One element as a wide value: integers keep full 64-bit precision.
struct Wide {
  enum { kF, kI, kU } kind;
  double f;
  int64_t i;
  uint64_t u;
};

int nibble(const Tensor& t, int64_t i) {
  uint8_t byte = t.as<uint8_t>()[i / 2];
  int v = (i & 1) ? (byte >> 4) : (byte & 0xf);
  if (t.dtype == DType::kI4 && v >= 8) v -= 16;
  return v;
}

Status load_wide(const KernelContext& ctx, const Tensor& t, int64_t i, Wide* w) {
  switch (t.dtype) {
    case DType::kI8: case DType::kI16: case DType::kI32: case DType::kI64: {
      int64_t v = t.dtype == DType::kI8 ? t.as<int8_t>()[i]
                  : t.dtype == DType::kI16 ? t.as<int16_t>()[i]
                  : t.dtype == DType::kI32 ? t.as<int32_t>()[i] : t.as<int64_t>()[i];
      *w = {Wide::kI, static_cast<double>(v), v, static_cast<uint64_t>(v)};
      return Status::Ok();
    }
    case DType::kU8: case DType::kU16: case DType::kU32: case DType::kU64: case DType::kBool: {
      uint64_t v = t.dtype == DType::kU8 ? t.as<uint8_t>()[i]
                   : t.dtype == DType::kU16 ? t.as<uint16_t>()[i]
                   : t.dtype == DType::kU32 ? t.as<uint32_t>()[i]
                   : t.dtype == DType::kBool ? (t.as<bool>()[i] ? 1u : 0u) : t.as<uint64_t>()[i];
      *w = {Wide::kU, static_cast<double>(v), static_cast<int64_t>(v), v};
      return Status::Ok();
    }
    case DType::kI4: case DType::kU4: case DType::kI2: case DType::kU2: {
      int v = t.dtype == DType::kI2 || t.dtype == DType::kU2 ? static_cast<int>(ku::load_as_double(t, i)) : nibble(t, i);
      *w = {Wide::kI, static_cast<double>(v), v, static_cast<uint64_t>(v)};
      return Status::Ok();
    }
    case DType::kString: {
      const std::string& s = t.as<std::string>()[i];
      char* end = nullptr;
      double v = std::strtod(s.c_str(), &end);
      if (end == s.c_str()) return ku::op_error(ctx, "cannot parse '" + s + "' as a number");
      *w = {Wide::kF, v, 0, 0};
      // integers written without a fraction keep full precision
      if (s.find_first_of(".eEnN") == std::string::npos) {
        w->kind = Wide::kI;
        w->i = std::strtoll(s.c_str(), nullptr, 10);
        if (!s.empty() && s[0] != '-') {
          w->kind = Wide::kU;
          w->u = std::strtoull(s.c_str(), nullptr, 10);
          w->i = static_cast<int64_t>(w->u);
        }
      }
      return Status::Ok();
    }
    default:
      *w = {Wide::kF, ku::load_as_double(t, i), 0, 0};
      return Status::Ok();
  }
}

std::string format_number(const Wide& w, DType src) {
  char buf[64];
  if (w.kind == Wide::kI) snprintf(buf, sizeof buf, "%" PRId64, w.i);
  else if (w.kind == Wide::kU) snprintf(buf, sizeof buf, "%" PRIu64, w.u);
  else if (std::isnan(w.f)) return "NaN";
  else if (std::isinf(w.f)) return w.f > 0 ? "INF" : "-INF";
  else snprintf(buf, sizeof buf, src == DType::kF64 ? "%.17g" : "%.9g", w.f);
  return buf;
}

void store_wide(Tensor& t, int64_t i, const Wide& w, bool saturate, int round_mode, DType src) {
  auto as_i64 = [&]() -> int64_t { return w.kind == Wide::kF ? float_to_int<int64_t>(w.f) : w.i; };
  auto as_u64 = [&]() -> uint64_t { return w.kind == Wide::kF ? float_to_int<uint64_t>(w.f) : w.u; };
  switch (t.dtype) {
    case DType::kI8: t.as<int8_t>()[i] = static_cast<int8_t>(as_i64()); break;
    case DType::kI16: t.as<int16_t>()[i] = static_cast<int16_t>(as_i64()); break;
    case DType::kI32: t.as<int32_t>()[i] = static_cast<int32_t>(as_i64()); break;
    case DType::kI64: t.as<int64_t>()[i] = as_i64(); break;
    case DType::kU8: t.as<uint8_t>()[i] = static_cast<uint8_t>(as_u64()); break;
    case DType::kU16: t.as<uint16_t>()[i] = static_cast<uint16_t>(as_u64()); break;
    case DType::kU32: t.as<uint32_t>()[i] = static_cast<uint32_t>(as_u64()); break;
    case DType::kU64: t.as<uint64_t>()[i] = as_u64(); break;
    case DType::kBool: t.as<bool>()[i] = w.kind == Wide::kF ? w.f != 0 : w.u != 0; break;
    case DType::kF32: t.as<float>()[i] = static_cast<float>(w.kind == Wide::kF ? w.f : w.kind == Wide::kI ? static_cast<double>(w.i) : static_cast<double>(w.u)); break;
    case DType::kF64: t.as<double>()[i] = w.kind == Wide::kF ? w.f : w.kind == Wide::kI ? static_cast<double>(w.i) : static_cast<double>(w.u); break;
    case DType::kF16: t.as<uint16_t>()[i] = ku::float_to_half(static_cast<float>(w.f)); break;
    case DType::kBF16: t.as<uint16_t>()[i] = ku::float_to_bf16(static_cast<float>(w.f)); break;
    case DType::kF8E4M3FN: case DType::kF8E4M3FNUZ: case DType::kF8E5M2: case DType::kF8E5M2FNUZ:
      t.as<uint8_t>()[i] = ku::float_to_f8(static_cast<float>(w.f), t.dtype, saturate);
      break;
    case DType::kF8E8M0: {
      double f = w.kind == Wide::kF ? w.f : w.kind == Wide::kI ? static_cast<double>(w.i) : static_cast<double>(w.u);
      t.as<uint8_t>()[i] = ku::float_to_e8m0(static_cast<float>(f), round_mode, saturate);
      break;
    }
    case DType::kI4: case DType::kU4: case DType::kF4E2M1: {
      uint8_t nib;
      if (t.dtype == DType::kF4E2M1) {
        double f = w.kind == Wide::kF ? w.f : w.kind == Wide::kI ? static_cast<double>(w.i) : static_cast<double>(w.u);
        nib = ku::float_to_f4(static_cast<float>(f));
      } else {
        // float → int4/uint4 rounds to an integer, then keeps the low 4 bits (wraps, like the wider ints)
        int64_t v = w.kind == Wide::kF ? (std::isnan(w.f) ? 0 : static_cast<int64_t>(std::nearbyint(w.f))) : w.i;
        nib = static_cast<uint8_t>(v & 0xf);
      }
      uint8_t& byte = t.as<uint8_t>()[i / 2];
      byte = (i & 1) ? static_cast<uint8_t>((byte & 0x0f) | (nib << 4)) : static_cast<uint8_t>((byte & 0xf0) | nib);
      break;
    }
    case DType::kI2: case DType::kU2: {
      // like int4: round to an integer, keep the low 2 bits
      int64_t v = w.kind == Wide::kF ? (std::isnan(w.f) ? 0 : static_cast<int64_t>(std::nearbyint(w.f))) : w.i;
      ku::store_from_double(t, i, static_cast<double>(v & 3));
      break;
    }
    case DType::kString: t.as<std::string>()[i] = format_number(w, src); break;
    default: break;
  }
}

Status cast_to(KernelContext& ctx, const Tensor& x, DType to) {
  if (!supported(x.dtype)) return ku::op_error(ctx, std::string("cannot cast from ") + dtype_name(x.dtype));
  if (!supported(to)) return ku::op_error(ctx, std::string("cannot cast to ") + dtype_name(to));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, x.shape, to, &y));
  const int64_t n = x.numel();
  if (n == 0) return Status::Ok();
  if (x.dtype == to) {
    if (to == DType::kString)
      for (int64_t i = 0; i < n; ++i) y->as<std::string>()[i] = x.as<std::string>()[i];
    else if (y->data != x.data)
      std::memcpy(y->data, x.data, x.bytes());
    return Status::Ok();
  }
  if (is_plain(x.dtype) && is_plain(to)) {
    ku::dispatch_numeric(x.dtype, [&](auto ftag) {
      using From = decltype(ftag);
      ku::dispatch_numeric(to, [&](auto ttag) {
        using To = decltype(ttag);
        typed_cast(ctx, x.as<From>(), y->as<To>(), n);
      });
    });
    return Status::Ok();
  }
  if (x.dtype == DType::kF16 && to == DType::kF32) {
    for (int64_t i = 0; i < n; ++i) y->as<float>()[i] = ku::half_to_float(x.as<uint16_t>()[i]);
    return Status::Ok();
  }
  if (x.dtype == DType::kF32 && to == DType::kF16) {
    for (int64_t i = 0; i < n; ++i) y->as<uint16_t>()[i] = ku::float_to_half(x.as<float>()[i]);
    return Status::Ok();
  }
  bool saturate = ctx.attrs().get_int("saturate", 1) != 0;
  const std::string rm = ctx.attrs().get_string("round_mode", "up");
  const int round_mode = rm == "down" ? 1 : rm == "nearest" ? 2 : 0;
  if (dtype_bits(to) < 8 && y->bytes() > 0) std::memset(y->data, 0, y->bytes());
  for (int64_t i = 0; i < n; ++i) {
    Wide w;
    FLEETRT_RETURN_IF_ERROR(load_wide(ctx, x, i, &w));
    // f16/bf16 from double go through float first only when the source is wider (exact otherwise)
    store_wide(*y, i, w, saturate, round_mode, x.dtype);
  }
  return Status::Ok();
}

Status k_Cast(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  if (!ctx.attrs().has("to")) return ku::op_error(ctx, "missing attribute 'to'");
  return cast_to(ctx, *x, static_cast<DType>(ctx.attrs().get_int("to", 0)));
}

Status k_CastLike(KernelContext& ctx) {
  const Tensor *x, *like;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 1, &like));
  return cast_to(ctx, *x, like->dtype);
}

}  // namespace

FLEETRT_REGISTER_KERNEL("", "Cast", k_Cast);
FLEETRT_REGISTER_KERNEL("", "CastLike", k_CastLike);

}  // namespace fleetrt
