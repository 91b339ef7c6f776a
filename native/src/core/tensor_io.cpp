#include "core/tensor_io.h"

#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

#include "core/host_heap.h"
#include "core/mapped_file.h"

namespace fleetrt {

namespace {
std::atomic<size_t> g_heap_now{0};
std::atomic<size_t> g_heap_peak{0};

thread_local HeapAccount* t_account = nullptr;

// Charges n bytes; returns the account charged (to credit on free).
HeapAccount* heap_add(size_t n) {
  size_t now = g_heap_now.fetch_add(n) + n;
  size_t peak = g_heap_peak.load();
  while (now > peak && !g_heap_peak.compare_exchange_weak(peak, now)) {
  }
  HeapAccount* a = t_account;
  if (a) {
    int64_t x = a->now.fetch_add(static_cast<int64_t>(n)) + static_cast<int64_t>(n);
    int64_t p = a->peak.load();
    while (x > p && !a->peak.compare_exchange_weak(p, x)) {
    }
  }
  return a;
}

void heap_sub(size_t n, HeapAccount* a) {
  g_heap_now.fetch_sub(n);
  if (a) a->now.fetch_sub(static_cast<int64_t>(n));
}
}  // namespace

void set_thread_heap_account(HeapAccount* a) { t_account = a; }

size_t heap_bytes_now() { return g_heap_now.load(); }
size_t heap_bytes_peak() { return g_heap_peak.load(); }
void heap_reset_peak() { g_heap_peak.store(g_heap_now.load()); }

bool alloc_owned(DType dtype, const std::vector<int64_t>& shape, OwnedTensor* out, std::string* error) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) {
      *error = "negative dimension " + std::to_string(d);
      return false;
    }
    if (d != 0 && n > (int64_t(1) << 40) / d) {
      *error = "tensor too large";
      return false;
    }
    n *= d;
  }
  out->view.dtype = dtype;
  out->view.shape = shape;
  if (dtype == DType::kString) {
    std::string* s = new (std::nothrow) std::string[n > 0 ? n : 1];
    if (!s) {
      *error = "out of memory";
      return false;
    }
    size_t bytes = sizeof(std::string) * static_cast<size_t>(n);
    HeapAccount* acct = heap_add(bytes);
    out->storage = std::shared_ptr<void>(s, [bytes, acct](void* q) {
      delete[] static_cast<std::string*>(q);
      heap_sub(bytes, acct);
    });
    out->view.data = s;
    return true;
  }
  size_t bytes = dtype_bytes(dtype, n);
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;  // empty tensors still get a valid pointer
  void* p = take_host_buffer(rounded);
  if (!p) {
    *error = "out of memory allocating " + std::to_string(bytes) + " bytes";
    return false;
  }
  std::memset(p, 0, rounded);
  HeapAccount* acct = heap_add(rounded);
  out->storage = std::shared_ptr<void>(p, [rounded, acct](void* q) {
    give_host_buffer(q, rounded);
    heap_sub(rounded, acct);
  });
  out->view.data = p;
  return true;
}

std::string safe_file_name(const std::string& name) {
  std::string s = name;
  for (char& c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      c = '_';
  return s;
}

std::string input_file_in(const std::string& dir, size_t k, const std::string& name, std::string* looked_for) {
  if (dir.empty()) return {};
  const std::string by_index = "input_" + std::to_string(k), by_name = safe_file_name(name);
  const std::string tried[] = {by_index + ".npy", by_index + ".pb", by_name + ".npy", by_name + ".pb"};
  for (const std::string& f : tried) {
    const std::string p = dir + "/" + f;
    struct stat st;
    if (stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return p;
  }
  if (looked_for) {
    looked_for->clear();
    for (const std::string& f : tried) *looked_for += (looked_for->empty() ? "" : ", ") + f;
  }
  return {};
}

void fill_random(Tensor& x, uint64_t* state) {
  const int64_t n = x.numel();
  for (int64_t i = 0; i < n; ++i) {
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    uint32_t r = static_cast<uint32_t>(*state >> 33);
    switch (x.dtype) {
      case DType::kF32: x.as<float>()[i] = static_cast<float>(r) / 4294967296.0f * 2.0f - 1.0f; break;
      case DType::kF64: x.as<double>()[i] = static_cast<double>(r) / 4294967296.0 * 2.0 - 1.0; break;
      case DType::kI64: x.as<int64_t>()[i] = r % 8; break;
      case DType::kI32: x.as<int32_t>()[i] = static_cast<int32_t>(r % 8); break;
      case DType::kBool: x.as<uint8_t>()[i] = r & 1; break;
      default:
        if (x.dtype != DType::kString) static_cast<uint8_t*>(x.data)[i * dtype_bits(x.dtype) / 8] = static_cast<uint8_t>(r % 8);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Protobuf

namespace {

struct Pb {
  const uint8_t* p;
  size_t n;
  size_t pos = 0;
  bool bad = false;

  bool varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= n) return !(bad = true);
      uint8_t b = p[pos++];
      *v |= uint64_t(b & 0x7F) << shift;
      if (!(b & 0x80)) return true;
    }
    return !(bad = true);
  }
  // Reads a field key; false at the end or on error.
  bool key(uint32_t* field, uint32_t* wire) {
    if (pos >= n || bad) return false;
    uint64_t k;
    if (!varint(&k)) return false;
    *field = static_cast<uint32_t>(k >> 3);
    *wire = static_cast<uint32_t>(k & 7);
    return true;
  }
  bool bytes(const uint8_t** b, size_t* len) {
    uint64_t l;
    if (!varint(&l) || l > n - pos) return !(bad = true);
    *b = p + pos;
    *len = static_cast<size_t>(l);
    pos += *len;
    return true;
  }
  bool skip(uint32_t wire) {
    uint64_t v;
    const uint8_t* b;
    size_t l;
    switch (wire) {
      case 0: return varint(&v);
      case 1: if (n - pos < 8) return !(bad = true); pos += 8; return true;
      case 2: return bytes(&b, &l);
      case 5: if (n - pos < 4) return !(bad = true); pos += 4; return true;
      default: return !(bad = true);
    }
  }
};

// Repeated scalar fields arrive packed (wire 2) or one by one.
template <class T>
bool repeated(Pb& pb, uint32_t wire, std::vector<T>* out, int kind /*0 varint, 5 fixed32, 1 fixed64*/) {
  auto one = [&](Pb& q) -> bool {
    if (kind == 0) {
      uint64_t v;
      if (!q.varint(&v)) return false;
      out->push_back(static_cast<T>(v));
    } else if (kind == 5) {
      if (q.n - q.pos < 4) return !(q.bad = true);
      T v;
      static_assert(sizeof(T) >= 4, "fixed32 needs 4 bytes");
      uint32_t raw;
      std::memcpy(&raw, q.p + q.pos, 4);
      q.pos += 4;
      std::memcpy(&v, &raw, 4);
      out->push_back(v);
    } else if constexpr (sizeof(T) == 8) {
      if (q.n - q.pos < 8) return !(q.bad = true);
      T v;
      std::memcpy(&v, q.p + q.pos, 8);
      q.pos += 8;
      out->push_back(v);
    } else {
      return !(q.bad = true);
    }
    return true;
  };
  if (wire == 2) {
    const uint8_t* b;
    size_t l;
    if (!pb.bytes(&b, &l)) return false;
    Pb sub{b, l};
    while (sub.pos < sub.n)
      if (!one(sub)) return !(pb.bad = true);
    return true;
  }
  return one(pb);
}

}  // namespace

bool parse_tensor_proto(const uint8_t* p, size_t n, OwnedTensor* out, std::string* error) {
  Pb pb{p, n};
  std::vector<int64_t> dims;
  int32_t data_type = 0;
  const uint8_t* raw = nullptr;
  size_t raw_len = 0;
  bool has_raw = false, external = false;
  std::vector<float> f32;
  std::vector<int64_t> i32;  // int32_data: varints, kept wide
  std::vector<int64_t> i64;
  std::vector<uint64_t> u64;
  std::vector<double> f64;
  std::vector<std::string> strs;
  uint32_t field, wire;
  while (pb.key(&field, &wire)) {
    bool ok = true;
    switch (field) {
      case 1: ok = repeated(pb, wire, &dims, 0); break;
      case 2: {
        uint64_t v;
        ok = pb.varint(&v);
        data_type = static_cast<int32_t>(v);
        break;
      }
      case 4: ok = repeated(pb, wire, &f32, 5); break;
      case 5: ok = repeated(pb, wire, &i32, 0); break;
      case 6: {
        const uint8_t* b;
        size_t l;
        ok = pb.bytes(&b, &l);
        if (ok) strs.emplace_back(reinterpret_cast<const char*>(b), l);
        break;
      }
      case 7: ok = repeated(pb, wire, &i64, 0); break;
      case 9: ok = pb.bytes(&raw, &raw_len); has_raw = true; break;
      case 10: ok = repeated(pb, wire, &f64, 1); break;
      case 11: ok = repeated(pb, wire, &u64, 0); break;
      case 13: external = true; ok = pb.skip(wire); break;
      default: ok = pb.skip(wire);
    }
    if (!ok) break;
  }
  if (pb.bad) {
    *error = "malformed TensorProto";
    return false;
  }
  if (external) {
    *error = "TensorProto with external data is not supported as an input";
    return false;
  }
  if (data_type < 1 || data_type > 26) {
    *error = "TensorProto has unsupported data_type " + std::to_string(data_type);
    return false;
  }
  DType dt = static_cast<DType>(data_type);
  for (int64_t d : dims)
    if (d < 0) {
      *error = "TensorProto has a negative dimension";
      return false;
    }
  if (!alloc_owned(dt, dims, out, error)) return false;
  const int64_t count = out->view.numel();
  const size_t bytes = out->view.bytes();
  if (dt == DType::kString) {
    if (static_cast<int64_t>(strs.size()) != count) {
      *error = "TensorProto has " + std::to_string(strs.size()) + " strings for " + std::to_string(count) + " elements";
      return false;
    }
    std::string* s = out->view.as<std::string>();
    for (int64_t i = 0; i < count; ++i) s[i] = std::move(strs[i]);
    return true;
  }
  if (has_raw) {
    if (raw_len != bytes) {
      *error = "TensorProto raw_data has " + std::to_string(raw_len) + " bytes, shape needs " + std::to_string(bytes);
      return false;
    }
    if (bytes) std::memcpy(out->view.data, raw, bytes);
    return true;
  }
  auto mismatch = [&](size_t have) {
    *error = "TensorProto has " + std::to_string(have) + " values for " + std::to_string(count) + " elements";
    return false;
  };
  uint8_t* dst = static_cast<uint8_t*>(out->view.data);
  switch (dt) {
    case DType::kF32:
      if (static_cast<int64_t>(f32.size()) != count) return mismatch(f32.size());
      if (count) std::memcpy(dst, f32.data(), bytes);
      return true;
    case DType::kC64:
      if (static_cast<int64_t>(f32.size()) != 2 * count) return mismatch(f32.size());
      if (count) std::memcpy(dst, f32.data(), bytes);
      return true;
    case DType::kF64:
      if (static_cast<int64_t>(f64.size()) != count) return mismatch(f64.size());
      if (count) std::memcpy(dst, f64.data(), bytes);
      return true;
    case DType::kC128:
      if (static_cast<int64_t>(f64.size()) != 2 * count) return mismatch(f64.size());
      if (count) std::memcpy(dst, f64.data(), bytes);
      return true;
    case DType::kI64:
      if (static_cast<int64_t>(i64.size()) != count) return mismatch(i64.size());
      if (count) std::memcpy(dst, i64.data(), bytes);
      return true;
    case DType::kU32:
    case DType::kU64:
      if (static_cast<int64_t>(u64.size()) != count) return mismatch(u64.size());
      for (int64_t i = 0; i < count; ++i) {
        if (dt == DType::kU32) {
          uint32_t v = static_cast<uint32_t>(u64[i]);
          std::memcpy(dst + 4 * i, &v, 4);
        } else {
          std::memcpy(dst + 8 * i, &u64[i], 8);
        }
      }
      return true;
    case DType::kU4:
    case DType::kI4:
    case DType::kF4E2M1:
    case DType::kU2:
    case DType::kI2: {
      // int32_data holds the packed bytes, one per value.
      size_t need = bytes;
      if (i32.size() != need) return mismatch(i32.size());
      for (size_t i = 0; i < need; ++i) dst[i] = static_cast<uint8_t>(i32[i]);
      return true;
    }
    default: {
      // int32_data: one element per value (int8/16/32, uint8/16, bool, float16 bits, bfloat16, float8).
      if (static_cast<int64_t>(i32.size()) != count) return mismatch(i32.size());
      size_t w = dtype_bits(dt) / 8;
      for (int64_t i = 0; i < count; ++i) {
        int64_t v = i32[i];
        if (w == 1) dst[i] = static_cast<uint8_t>(v);
        else if (w == 2) { uint16_t x = static_cast<uint16_t>(v); std::memcpy(dst + 2 * i, &x, 2); }
        else { int32_t x = static_cast<int32_t>(v); std::memcpy(dst + 4 * i, &x, 4); }
      }
      return true;
    }
  }
}

namespace {

bool parse_value_proto(const uint8_t* p, size_t n, int want, Value* out, std::string* error, int depth);

// SequenceProto: 2 elem_type, 3 tensor_values.
bool parse_sequence(const uint8_t* p, size_t n, Value* out, std::string* error) {
  Pb pb{p, n};
  out->kind = Value::Kind::kSequence;
  uint32_t field, wire;
  while (pb.key(&field, &wire)) {
    if (field == 3 && wire == 2) {
      const uint8_t* b;
      size_t l;
      if (!pb.bytes(&b, &l)) break;
      OwnedTensor t;
      if (!parse_tensor_proto(b, l, &t, error)) return false;
      out->elem_dtype = t.view.dtype;
      out->elements.push_back(std::move(t));
    } else if (field == 5 || field == 6) {
      *error = "sequences of sequences or maps are not supported";
      return false;
    } else if (!pb.skip(wire)) {
      break;
    }
  }
  if (pb.bad) {
    *error = "malformed SequenceProto";
    return false;
  }
  return true;
}

// OptionalProto: 2 elem_type, 3 tensor_value, 5 sequence_value.
bool parse_optional(const uint8_t* p, size_t n, Value* out, std::string* error, int depth) {
  Pb pb{p, n};
  out->kind = Value::Kind::kOptionalNone;
  uint32_t field, wire;
  while (pb.key(&field, &wire)) {
    if ((field == 3 || field == 5) && wire == 2) {
      const uint8_t* b;
      size_t l;
      if (!pb.bytes(&b, &l)) break;
      if (!parse_value_proto(b, l, field == 3 ? 0 : 1, out, error, depth + 1)) return false;
    } else if (!pb.skip(wire)) {
      break;
    }
  }
  if (pb.bad) {
    *error = "malformed OptionalProto";
    return false;
  }
  return true;
}

bool parse_value_proto(const uint8_t* p, size_t n, int want, Value* out, std::string* error, int depth) {
  if (depth > 8) {
    *error = "nesting too deep";
    return false;
  }
  if (want == 1) return parse_sequence(p, n, out, error);
  if (want == 2) return parse_optional(p, n, out, error, depth);
  out->kind = Value::Kind::kTensor;
  return parse_tensor_proto(p, n, &out->tensor, error);
}

// ---------------------------------------------------------------------------------------------
// .npy

struct NpyType {
  const char* descr;
  DType dt;
};
const NpyType kNpyTypes[] = {
    {"f4", DType::kF32}, {"f8", DType::kF64}, {"f2", DType::kF16}, {"i1", DType::kI8}, {"u1", DType::kU8},
    {"i2", DType::kI16}, {"u2", DType::kU16}, {"i4", DType::kI32}, {"u4", DType::kU32}, {"i8", DType::kI64},
    {"u8", DType::kU64}, {"b1", DType::kBool}, {"c8", DType::kC64}, {"c16", DType::kC128},
};

bool parse_npy(const std::string& data, Value* out, std::string* error) {
  if (data.size() < 10 || std::memcmp(data.data(), "\x93NUMPY", 6) != 0) {
    *error = "not a .npy file";
    return false;
  }
  uint8_t major = static_cast<uint8_t>(data[6]);
  size_t hlen, hstart;
  if (major == 1) {
    hlen = static_cast<uint8_t>(data[8]) | (static_cast<uint8_t>(data[9]) << 8);
    hstart = 10;
  } else {
    if (data.size() < 12) {
      *error = "truncated .npy header";
      return false;
    }
    hlen = static_cast<uint32_t>(static_cast<uint8_t>(data[8])) | (static_cast<uint32_t>(static_cast<uint8_t>(data[9])) << 8) |
           (static_cast<uint32_t>(static_cast<uint8_t>(data[10])) << 16) |
           (static_cast<uint32_t>(static_cast<uint8_t>(data[11])) << 24);
    hstart = 12;
  }
  if (hlen > data.size() - hstart) {
    *error = "truncated .npy header";
    return false;
  }
  std::string h = data.substr(hstart, hlen);
  auto field = [&](const char* key) -> std::string {
    size_t k = h.find(std::string("'") + key + "'");
    if (k == std::string::npos) return "";
    size_t c = h.find(':', k);
    return c == std::string::npos ? "" : h.substr(c + 1);
  };
  std::string descr = field("descr");
  size_t q1 = descr.find('\''), q2 = q1 == std::string::npos ? q1 : descr.find('\'', q1 + 1);
  if (q2 == std::string::npos) {
    *error = ".npy header has no descr";
    return false;
  }
  descr = descr.substr(q1 + 1, q2 - q1 - 1);
  if (descr.empty() || descr[0] == '>') {
    *error = ".npy dtype '" + descr + "' is not supported (big-endian or empty)";
    return false;
  }
  std::string code = descr.substr(1);
  DType dt = DType::kUndefined;
  for (const NpyType& t : kNpyTypes)
    if (code == t.descr) dt = t.dt;
  if (dt == DType::kUndefined) {
    *error = ".npy dtype '" + descr + "' is not supported";
    return false;
  }
  if (field("fortran_order").find("True") == 0 || field("fortran_order").find(" True") == 0) {
    *error = ".npy in Fortran order is not supported";
    return false;
  }
  std::string shp = field("shape");
  size_t lp = shp.find('('), rp = shp.find(')');
  if (lp == std::string::npos || rp == std::string::npos || rp < lp) {
    *error = ".npy header has no shape";
    return false;
  }
  std::vector<int64_t> shape;
  std::string inner = shp.substr(lp + 1, rp - lp - 1);
  size_t i = 0;
  while (i < inner.size()) {
    while (i < inner.size() && (inner[i] == ' ' || inner[i] == ',')) ++i;
    if (i >= inner.size()) break;
    char* end;
    long long v = std::strtoll(inner.c_str() + i, &end, 10);
    if (end == inner.c_str() + i || v < 0) {
      *error = ".npy shape is malformed";
      return false;
    }
    shape.push_back(v);
    i = static_cast<size_t>(end - inner.c_str());
  }
  out->kind = Value::Kind::kTensor;
  if (!alloc_owned(dt, shape, &out->tensor, error)) return false;
  size_t need = out->tensor.view.bytes();
  size_t body = hstart + hlen;
  if (data.size() - body != need) {
    *error = ".npy data has " + std::to_string(data.size() - body) + " bytes, shape needs " + std::to_string(need);
    return false;
  }
  if (need) std::memcpy(out->tensor.view.data, data.data() + body, need);
  return true;
}

}  // namespace

bool load_value(const std::string& path, int want_kind, Value* out, std::string* error) {
  std::string data;
  if (!read_file(path, &data, error)) return false;
  bool ok;
  if (data.size() >= 6 && std::memcmp(data.data(), "\x93NUMPY", 6) == 0) {
    ok = parse_npy(data, out, error);
  } else {
    ok = parse_value_proto(reinterpret_cast<const uint8_t*>(data.data()), data.size(), want_kind, out, error, 0);
  }
  if (!ok) *error = path + ": " + *error;
  return ok;
}

bool write_value(const std::string& base, const Value& v, std::string* error) {
  if (v.kind == Value::Kind::kTensor) return write_npy(base + ".npy", v.tensor.view, error);
  if (v.kind == Value::Kind::kSequence)
    for (size_t k = 0; k < v.elements.size(); ++k)
      if (!write_npy(base + "." + std::to_string(k) + ".npy", v.elements[k].view, error)) return false;
  return true;
}

bool write_npy(const std::string& path, const Tensor& t, std::string* error) {
  std::string descr;
  std::string body;
  if (t.dtype == DType::kString) {
    // numpy unicode: UTF-32 little-endian, fixed width.
    std::vector<std::u32string> u;
    size_t width = 1;
    const std::string* s = t.as<std::string>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      std::u32string w;
      const std::string& x = s[i];
      for (size_t k = 0; k < x.size();) {
        unsigned char c = static_cast<unsigned char>(x[k]);
        char32_t cp;
        int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
        cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
        for (int j = 1; j < len && k + j < x.size(); ++j) cp = (cp << 6) | (static_cast<unsigned char>(x[k + j]) & 0x3F);
        w.push_back(cp);
        k += len;
      }
      width = std::max(width, w.size());
      u.push_back(std::move(w));
    }
    descr = "<U" + std::to_string(width);
    for (auto& w : u) {
      w.resize(width, 0);
      body.append(reinterpret_cast<const char*>(w.data()), width * 4);
    }
  } else {
    const char* code = nullptr;
    for (const NpyType& nt : kNpyTypes)
      if (nt.dt == t.dtype) code = nt.descr;
    if (t.dtype == DType::kBF16) code = "u2";  // numpy has no bfloat16: raw bits
    if (!code && dtype_bits(t.dtype) == 8) code = "u1";  // float8 and friends: raw bits
    if (!code && dtype_bits(t.dtype) < 8) code = "u1";  // packed 4-/2-bit: raw bytes
    if (!code) {
      *error = std::string("cannot write dtype ") + dtype_name(t.dtype) + " as .npy";
      return false;
    }
    descr = std::string(std::strcmp(code, "b1") == 0 || std::strcmp(code, "i1") == 0 || std::strcmp(code, "u1") == 0 ? "|" : "<") + code;
    body.assign(static_cast<const char*>(t.data), t.bytes());
  }
  std::string shape = "(";
  for (size_t i = 0; i < t.shape.size(); ++i) shape += std::to_string(t.shape[i]) + (t.shape.size() == 1 || i + 1 < t.shape.size() ? ", " : "");
  if (t.shape.size() == 1) shape.resize(shape.size() - 1);
  shape += ")";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string file = "\x93NUMPY";
  file.push_back('\x01');
  file.push_back('\x00');
  file.push_back(static_cast<char>(header.size() & 0xFF));
  file.push_back(static_cast<char>(header.size() >> 8));
  file += header;
  file += body;
  return write_file(path, file.data(), file.size(), error);
}

}  // namespace fleetrt
