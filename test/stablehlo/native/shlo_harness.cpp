// Runs exported StableHLO cases (FLT1 files from export.ts) with the graph interpreter of the
// kernels-B harness, but judges outputs by the case's own check: each expected output is named
// `value|kind|rtol|atol|max_ulp` (kind eq, almost_eq or close), compared as evaluateCheck() in
// src/frontends/stablehlo/testcases.ts does. Usage: shlo_harness [-v] FILE.bin…
#define main kernels_b_main
#include "../../../native/tests/kernels_b/harness.cpp"
#undef main

namespace {

struct Check {
  int ref = -1;  // compare with computed output `ref` instead of the expected tensor
  std::string kind = "eq";
  double rtol = 0, atol = 0;
  int64_t max_ulp = 0;
};

bool is_float_dtype_any(DType t) { return t == DType::kF32 || t == DType::kF64 || t == DType::kF16 || t == DType::kBF16; }

Check parse_check(const std::string& name) {
  Check c;
  std::vector<std::string> parts;
  std::string cur;
  for (char ch : name) {
    if (ch == '|') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  parts.push_back(cur);
  if (parts.size() >= 5) {
    c.kind = parts[1];
    c.rtol = std::atof(parts[2].c_str());
    c.atol = std::atof(parts[3].c_str());
    c.max_ulp = std::atoll(parts[4].c_str());
  }
  if (parts.size() >= 6 && parts[5].rfind("ref=", 0) == 0) c.ref = std::atoi(parts[5].c_str() + 4);
  return c;
}

// 8- and 4-bit floats (see src/frontends/stablehlo/minifloat.ts): exponent/mantissa widths,
// bias and how NaN/inf are spelled.
double minifloat(int code, int e, int m, int bias, char kind) {
  if (kind == 'z') return code == 255 ? NAN : std::ldexp(1.0, code - bias);  // E8M0
  int bits = 1 + e + m;
  if (kind == 'u' && code == 1 << (bits - 1)) return NAN;  // FNUZ
  double sign = (code >> (bits - 1)) ? -1 : 1;
  int ex = (code >> m) & ((1 << e) - 1), mm = code & ((1 << m) - 1), emax = (1 << e) - 1;
  if (kind == 'i' && ex == emax) return mm ? NAN : sign * INFINITY;
  if (kind == 'n' && ex == emax && mm == (1 << m) - 1) return NAN;
  if (ex == 0) return sign * std::ldexp(mm, 1 - bias - m);
  return sign * std::ldexp(1.0 + mm / double(1 << m), ex - bias);
}

bool is_minifloat(DType t) {
  return t == DType::kF8E4M3FN || t == DType::kF8E4M3FNUZ || t == DType::kF8E5M2 || t == DType::kF8E5M2FNUZ ||
         t == DType::kF4E2M1 || t == DType::kF8E8M0;
}

double elem_f(const Tensor& t, int64_t i) {
  const uint8_t* b = static_cast<const uint8_t*>(t.data);
  switch (t.dtype) {
    case DType::kF8E4M3FN: return minifloat(b[i], 4, 3, 7, 'n');
    case DType::kF8E4M3FNUZ: return minifloat(b[i], 4, 3, 8, 'u');
    case DType::kF8E5M2: return minifloat(b[i], 5, 2, 15, 'i');
    case DType::kF8E5M2FNUZ: return minifloat(b[i], 5, 2, 16, 'u');
    case DType::kF8E8M0: return minifloat(b[i], 8, 0, 127, 'z');
    case DType::kF4E2M1: return minifloat((b[i / 2] >> ((i & 1) * 4)) & 15, 2, 1, 1, 'f');
    case DType::kF32: return t.as<float>()[i];
    case DType::kF64: return t.as<double>()[i];
    case DType::kF16: return half_to_float(t.as<uint16_t>()[i]);
    case DType::kBF16: {
      uint32_t b = static_cast<uint32_t>(t.as<uint16_t>()[i]) << 16;
      float f;
      memcpy(&f, &b, 4);
      return f;
    }
    default: return NAN;
  }
}

// Ordered integer key of a float in its own type, for ULP distances.
int64_t ulp_key(const Tensor& t, int64_t i) {
  int64_t bits, sign;
  switch (t.dtype) {
    case DType::kF32: { uint32_t u; memcpy(&u, t.as<float>() + i, 4); bits = u & 0x7fffffff; sign = u >> 31; break; }
    case DType::kF64: { uint64_t u; memcpy(&u, t.as<double>() + i, 8); bits = static_cast<int64_t>(u & 0x7fffffffffffffffull); sign = static_cast<int64_t>(u >> 63); break; }
    default: { uint16_t u = t.as<uint16_t>()[i]; bits = u & 0x7fff; sign = u >> 15; break; }
  }
  return sign ? -bits : bits;
}

std::string judge(const Tensor& got, const Tensor& exp, const Check& c) {
  if (got.dtype != exp.dtype) return "element type differs";
  if (got.shape != exp.shape) return "shape " + shape_str(got.shape) + " != expected " + shape_str(exp.shape);
  int64_t n = exp.numel();
  bool isf = exp.dtype == DType::kF32 || exp.dtype == DType::kF64 || exp.dtype == DType::kF16 || exp.dtype == DType::kBF16 ||
             is_minifloat(exp.dtype);
  if (!isf) {
    size_t nb = dtype_bytes(exp.dtype, n);
    if (memcmp(got.data, exp.data, nb) == 0) return "";
    if (exp.dtype == DType::kI4 || exp.dtype == DType::kU4) {  // ignore the unused nibble of an odd count
      if (nb && memcmp(got.data, exp.data, nb - 1) == 0 &&
          ((static_cast<const uint8_t*>(got.data)[nb - 1] ^ static_cast<const uint8_t*>(exp.data)[nb - 1]) & (n % 2 ? 0x0f : 0xff)) == 0)
        return "";
    }
    return "integer values differ";
  }
  for (int64_t i = 0; i < n; ++i) {
    double a = elem_f(got, i), b = elem_f(exp, i);
    if (std::isnan(a) && std::isnan(b)) continue;
    if (a == b) continue;
    if (c.kind != "eq" && std::isfinite(a) && std::isfinite(b)) {
      if (std::fabs(a - b) <= c.atol + c.rtol * std::fabs(b)) continue;
      if (c.kind == "close" && !is_minifloat(exp.dtype) &&
          std::llabs(ulp_key(got, i) - ulp_key(exp, i)) <= c.max_ulp)
        continue;
    }
    std::ostringstream os;
    os.precision(17);
    os << "value[" << i << "] " << a << " != expected " << b << " (" << c.kind << ")";
    return os.str();
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  int pass = 0, fail = 0;
  bool verbose = false;
  for (int ai = 1; ai < argc; ++ai) {
    std::string path = argv[ai];
    if (path == "-v") { verbose = true; continue; }
    std::string test = path.substr(path.find_last_of('/') + 1);
    Reader r;
    std::ifstream f(path, std::ios::binary);
    r.buf.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    g_graphs.clear();
    g_missing.clear();
    if (r.buf.size() < 4 || memcmp(r.buf.data(), "FLT1", 4) != 0) { printf("BAD  %s\n", test.c_str()); ++fail; continue; }
    r.pos = 4;
    g_opset = r.get<int32_t>();
    int gi = read_graph(r);
    uint32_t n = r.get<uint32_t>();
    Env top;
    for (uint32_t i = 0; i < n; ++i) { std::string nm = r.str(); top.vals[nm] = std::make_shared<Value>(read_value(r)); }
    std::vector<std::pair<std::string, Value>> outs;
    n = r.get<uint32_t>();
    for (uint32_t i = 0; i < n; ++i) { std::string nm = r.str(); outs.emplace_back(nm, read_value(r)); }
    if (r.bad) { printf("BAD  %s: truncated\n", test.c_str()); ++fail; continue; }
    std::vector<Value> got;
    Status s = run_graph(gi, &top, {}, &got);
    std::string e = s.ok() ? "" : s.message;
    for (size_t i = 0; i < outs.size() && e.empty(); ++i) {
      if (i >= got.size() || got[i].kind != Value::Kind::kTensor) { e = "missing output"; break; }
      Check c = parse_check(outs[i].first);
      if (c.kind == "skip") continue;
      if (c.kind == "finite") {  // a run with random inputs: every float output element is finite
        const Tensor& t = got[i].tensor.view;
        for (int64_t k = 0; k < t.numel() && e.empty(); ++k)
          if (!std::isfinite(elem_f(t, k)) && is_float_dtype_any(t.dtype)) e = "element " + std::to_string(k) + " is not finite";
        if (verbose) printf("  %s: %s %s\n", outs[i].first.substr(0, outs[i].first.find('|')).c_str(), shape_str(t.shape).c_str(), e.empty() ? "finite" : e.c_str());
        continue;
      }
      if (c.ref >= static_cast<int>(got.size()) || (c.ref >= 0 && got[c.ref].kind != Value::Kind::kTensor)) { e = "missing output"; break; }
      const Tensor& want = c.ref >= 0 ? got[c.ref].tensor.view : outs[i].second.tensor.view;
      e = judge(got[i].tensor.view, want, c);
      if (!e.empty()) e = outs[i].first.substr(0, outs[i].first.find('|')) + ": " + e;
    }
    if (e.empty()) { ++pass; if (verbose) printf("PASS %s\n", test.c_str()); }
    else { ++fail; printf("FAIL %s: %s\n", test.c_str(), e.c_str()); }
  }
  printf("stablehlo cases: %d passed, %d failed\n", pass, fail);
  return fail ? 1 : 0;
}
