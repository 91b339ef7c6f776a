#include "core/program.h"

#include <cstring>
#include <limits>

namespace fleetrt {

namespace {

constexpr char kMagic[8] = {'F', 'L', 'T', 'P', 'R', 'O', 'G', '\0'};
constexpr uint32_t kVersion = 1;

constexpr uint32_t tag(const char (&t)[5]) {
  return uint32_t(uint8_t(t[0])) | (uint32_t(uint8_t(t[1])) << 8) | (uint32_t(uint8_t(t[2])) << 16) |
         (uint32_t(uint8_t(t[3])) << 24);
}

// A cursor over a byte range; every read checks the bounds and latches the first failure.
struct Reader {
  const uint8_t* p;
  size_t n;
  size_t pos = 0;
  std::string err;

  bool ok() const { return err.empty(); }
  bool need(size_t k, const char* what) {
    if (!ok()) return false;
    if (k > n - pos) {
      err = std::string("truncated ") + what + " at byte " + std::to_string(pos);
      return false;
    }
    return true;
  }
  template <class T>
  T get(const char* what) {
    T v{};
    if (!need(sizeof(T), what)) return v;
    std::memcpy(&v, p + pos, sizeof(T));  // the format and all supported hosts are little-endian
    pos += sizeof(T);
    return v;
  }
  uint8_t u8(const char* w) { return get<uint8_t>(w); }
  uint16_t u16(const char* w) { return get<uint16_t>(w); }
  uint32_t u32(const char* w) { return get<uint32_t>(w); }
  int32_t i32(const char* w) { return get<int32_t>(w); }
  int64_t i64(const char* w) { return get<int64_t>(w); }
  uint64_t u64(const char* w) { return get<uint64_t>(w); }
  double f64(const char* w) { return get<double>(w); }
  // A count whose items take at least `min_item` bytes each: rejects counts the rest cannot hold.
  uint32_t count(const char* what, size_t min_item) {
    uint32_t c = u32(what);
    if (ok() && min_item && c > (n - pos) / min_item) {
      err = std::string("count of ") + what + " (" + std::to_string(c) + ") exceeds the section at byte " +
            std::to_string(pos);
      return 0;
    }
    return c;
  }
  void fail(const std::string& m) {
    if (ok()) err = m;
  }
};

bool valid_dtype(int32_t d) { return d >= 1 && d <= 26; }

// String weights are stored as `count` records of (u32 length, bytes); they become std::string
// objects at load time.
bool decode_strings(const uint8_t* p, size_t n, int64_t count, std::shared_ptr<void>* out) {
  if (count < 0 || static_cast<uint64_t>(count) > n / 4 + 1) return false;
  std::shared_ptr<std::string> arr(new std::string[count > 0 ? count : 1], std::default_delete<std::string[]>());
  Reader r{p, n};
  for (int64_t i = 0; i < count; ++i) {
    uint32_t len = r.u32("string weight");
    if (!r.need(len, "string weight")) return false;
    arr.get()[i].assign(reinterpret_cast<const char*>(p + r.pos), len);
    r.pos += len;
  }
  if (!r.ok() || r.pos != n) return false;
  *out = std::static_pointer_cast<void>(arr);
  return true;
}

int64_t numel_of(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace

int64_t Program::single_symbol(uint32_t id) const {
  if (id >= exprs.size()) return -1;
  const auto& e = exprs[id];
  return e.size() == 1 && e[0].op == kPushSym ? e[0].arg : -1;
}

bool Program::eval(uint32_t id, const int64_t* values, const uint8_t* bound, int64_t* out) const {
  if (id >= exprs.size()) return false;
  int64_t stack[64];
  int sp = 0;
  for (const ExprCode& c : exprs[id]) {
    if (c.op == kPushConst || c.op == kPushSym) {
      if (sp >= 64) return false;
      if (c.op == kPushSym) {
        if (!bound || !bound[c.arg]) return false;
        stack[sp++] = values[c.arg];
      } else {
        stack[sp++] = c.arg;
      }
      continue;
    }
    if (sp < 2) return false;
    int64_t y = stack[--sp];
    int64_t x = stack[sp - 1];
    int64_t r = 0;
    switch (c.op) {
      case kAdd: r = x + y; break;
      case kSub: r = x - y; break;
      case kMul: r = x * y; break;
      case kFloorDiv:
        if (y == 0) return false;
        r = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) --r;
        break;
      case kMod:
        if (y == 0) return false;
        r = ((x % y) + y) % y;
        break;
      case kMax: r = x > y ? x : y; break;
      case kMin: r = x < y ? x : y; break;
      default: return false;
    }
    stack[sp - 1] = r;
  }
  if (sp != 1) return false;
  *out = stack[0];
  return true;
}

bool Program::load(const std::string& program_path, const std::string& weights_path, std::string* error) {
  if (!read_file(program_path, &program_bytes_, error)) return false;
  if (!weights.open(weights_path, error)) return false;
  const uint8_t* base = reinterpret_cast<const uint8_t*>(program_bytes_.data());
  const size_t size = program_bytes_.size();
  auto bad = [&](const std::string& m) {
    *error = program_path + ": " + m;
    return false;
  };
  Reader hdr{base, size};
  if (size < 24 || std::memcmp(base, kMagic, 8) != 0) return bad("not a fleetc program (bad magic)");
  hdr.pos = 8;
  uint32_t version = hdr.u32("header");
  if (version > kVersion)
    return bad("program format version " + std::to_string(version) + " is newer than this fleetrt reads (" +
               std::to_string(kVersion) + "); rebuild fleetrt");
  if (version == 0) return bad("program format version 0 is invalid");
  uint32_t nsec = hdr.count("sections", 24);
  uint64_t file_size = hdr.u64("header");
  if (!hdr.ok()) return bad(hdr.err);
  if (file_size != size)
    return bad("file is " + std::to_string(size) + " bytes but its header says " + std::to_string(file_size) +
               " (truncated or padded)");

  struct Sec { uint32_t tag; uint64_t off, len; };
  std::vector<Sec> secs;
  for (uint32_t i = 0; i < nsec; ++i) {
    Sec s;
    s.tag = hdr.u32("section directory");
    hdr.u32("section directory");
    s.off = hdr.u64("section directory");
    s.len = hdr.u64("section directory");
    if (!hdr.ok()) return bad(hdr.err);
    if (s.off > size || s.len > size - s.off) return bad("section " + std::to_string(i) + " lies outside the file");
    secs.push_back(s);
  }
  auto section = [&](uint32_t t, Reader* r) {
    for (const Sec& s : secs)
      if (s.tag == t) {
        *r = Reader{base + s.off, static_cast<size_t>(s.len)};
        return true;
      }
    return false;
  };

  // Strings.
  Reader r{nullptr, 0};
  if (!section(tag("STRS"), &r)) return bad("missing STRS section");
  uint32_t nstr = r.count("strings", 4);
  strings.reserve(nstr);
  for (uint32_t i = 0; i < nstr && r.ok(); ++i) {
    uint32_t len = r.u32("string length");
    if (!r.need(len, "string")) break;
    strings.emplace_back(reinterpret_cast<const char*>(r.p + r.pos), len);
    r.pos += len;
  }
  if (!r.ok()) return bad("STRS: " + r.err);
  auto str = [&](Reader& rd, const char* what) -> std::string {
    uint32_t id = rd.u32(what);
    if (rd.ok() && id >= strings.size()) rd.fail(std::string(what) + ": string id " + std::to_string(id) + " out of range");
    return rd.ok() ? strings[id] : std::string();
  };

  // Symbols.
  if (!section(tag("SYMS"), &r)) return bad("missing SYMS section");
  uint32_t nsym = r.count("symbols", 16);
  for (uint32_t i = 0; i < nsym && r.ok(); ++i) {
    SymbolDesc s;
    s.name = str(r, "symbol name");
    s.kind = r.u8("symbol");
    r.u8("symbol"); r.u16("symbol");
    s.planned = r.i64("symbol");
    symbols.push_back(std::move(s));
  }
  if (!r.ok()) return bad("SYMS: " + r.err);

  // Shape expressions.
  if (!section(tag("EXPR"), &r)) return bad("missing EXPR section");
  uint32_t nexpr = r.count("expressions", 2);
  exprs.resize(nexpr);
  for (uint32_t i = 0; i < nexpr && r.ok(); ++i) {
    uint32_t ncodes = r.u16("expression");
    int depth = 0;
    for (uint32_t k = 0; k < ncodes && r.ok(); ++k) {
      ExprCode c{r.u8("expression code"), 0};
      if (c.op == kPushConst) {
        c.arg = r.i64("expression constant");
        ++depth;
      } else if (c.op == kPushSym) {
        c.arg = r.u32("expression symbol");
        if (r.ok() && static_cast<uint64_t>(c.arg) >= symbols.size()) r.fail("expression " + std::to_string(i) + " names symbol " + std::to_string(c.arg) + " out of range");
        ++depth;
      } else if (c.op >= kAdd && c.op <= kMin) {
        if (depth < 2) r.fail("expression " + std::to_string(i) + " pops an empty stack");
        --depth;
      } else {
        r.fail("expression " + std::to_string(i) + " has unknown opcode " + std::to_string(c.op));
      }
      if (depth > 64) r.fail("expression " + std::to_string(i) + " is too deep");
      exprs[i].push_back(c);
    }
    if (r.ok() && depth != 1) r.fail("expression " + std::to_string(i) + " leaves " + std::to_string(depth) + " values");
  }
  if (!r.ok()) return bad("EXPR: " + r.err);

  // Programs.
  if (!section(tag("PROG"), &r)) return bad("missing PROG section");
  uint32_t nprog = r.count("programs", 24);
  if (r.ok() && nprog == 0) r.fail("no programs");
  programs.resize(nprog);
  const size_t wsize = weights.size();

  auto read_const = [&](Reader& rd, ConstDesc* c, const std::string& where) {
    int32_t dt = rd.i32("tensor constant");
    uint32_t rank = rd.count("tensor constant dims", 8);
    c->view.dtype = static_cast<DType>(dt);
    for (uint32_t k = 0; k < rank && rd.ok(); ++k) {
      int64_t d = rd.i64("tensor constant dim");
      if (d < 0) rd.fail(where + ": negative dimension");
      c->view.shape.push_back(d);
    }
    uint64_t off = rd.u64("tensor constant"), len = rd.u64("tensor constant");
    if (!rd.ok()) return;
    if (!valid_dtype(dt)) return rd.fail(where + ": invalid dtype " + std::to_string(dt));
    if (off > wsize || len > wsize - off)
      return rd.fail(where + ": constant at " + std::to_string(off) + "+" + std::to_string(len) +
                     " lies outside weights.bin (" + std::to_string(wsize) + " bytes; truncated?)");
    if (c->view.dtype == DType::kString) {
      if (!decode_strings(weights.data() + off, len, numel_of(c->view.shape), &c->owned))
        return rd.fail(where + ": malformed string constant");
      keep_.push_back(c->owned);
      c->view.data = c->owned.get();
      return;
    } else {
      int64_t n = 1;
      for (int64_t d : c->view.shape) {
        if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) return rd.fail(where + ": constant too large");
        n *= d;
      }
      if (dtype_bytes(c->view.dtype, n) != len) return rd.fail(where + ": constant size does not match its shape");
    }
    c->view.data = const_cast<uint8_t*>(weights.data() + off);
  };

  for (uint32_t pi = 0; pi < nprog && r.ok(); ++pi) {
    ProgramDesc& P = programs[pi];
    const std::string where = "program " + std::to_string(pi);
    P.name = str(r, "program name");
    uint32_t nloc = r.count("local symbols", 4);
    for (uint32_t k = 0; k < nloc && r.ok(); ++k) {
      uint32_t s = r.u32("local symbol");
      if (s >= symbols.size()) r.fail(where + ": local symbol out of range");
      P.local_symbols.push_back(s);
    }
    P.arena_bytes = r.u64("arena size");
    if (r.ok() && P.arena_bytes > (uint64_t(1) << 40)) r.fail(where + ": arena of " + std::to_string(P.arena_bytes) + " bytes is implausible");
    uint32_t nt = r.count("tensors", 40);
    P.tensors.resize(nt);
    for (uint32_t t = 0; t < nt && r.ok(); ++t) {
      TensorDesc& T = P.tensors[t];
      T.name = str(r, "tensor name");
      int32_t dt = r.i32("tensor");
      T.value_kind = static_cast<ValueKind>(r.u8("tensor"));
      T.storage = static_cast<Storage>(r.u8("tensor"));
      T.flags = r.u16("tensor");
      T.rank = r.i32("tensor");
      if (!r.ok()) break;
      if (dt != 0 && !valid_dtype(dt)) r.fail(where + ": tensor '" + T.name + "' has invalid dtype " + std::to_string(dt));
      T.dtype = static_cast<DType>(dt);
      if (static_cast<uint8_t>(T.value_kind) > 2) r.fail(where + ": tensor '" + T.name + "' has invalid value kind");
      if (static_cast<uint8_t>(T.storage) > 7) r.fail(where + ": tensor '" + T.name + "' has invalid storage");
      if (T.rank < -1 || T.rank > 64) r.fail(where + ": tensor '" + T.name + "' has invalid rank");
      for (int32_t k = 0; k < T.rank && r.ok(); ++k) {
        uint32_t e = r.u32("tensor shape");
        if (e >= exprs.size()) r.fail(where + ": tensor '" + T.name + "' shape expression out of range");
        T.shape.push_back(e);
      }
      T.a = r.u64("tensor");
      T.b = r.u64("tensor");
      T.first = r.i32("tensor");
      T.last = r.i32("tensor");
      if (!r.ok()) break;
      switch (T.storage) {
        case Storage::kArena:
          if (T.a > P.arena_bytes || T.b > P.arena_bytes - T.a) r.fail(where + ": tensor '" + T.name + "' lies outside the arena");
          break;
        case Storage::kWeight:
          if (T.a > wsize || T.b > wsize - T.a)
            r.fail(where + ": weight '" + T.name + "' at " + std::to_string(T.a) + "+" + std::to_string(T.b) +
                   " lies outside weights.bin (" + std::to_string(wsize) + " bytes; truncated?)");
          else if (T.rank < 0) r.fail(where + ": weight '" + T.name + "' has no shape");
          break;
        case Storage::kOuter:
          if (pi == 0) r.fail(where + ": the main program cannot have outer tensors");
          break;
        default: break;
      }
    }
    uint32_t nin = r.count("inputs", 4);
    for (uint32_t k = 0; k < nin && r.ok(); ++k) {
      uint32_t t = r.u32("input");
      if (t >= nt) r.fail(where + ": input tensor out of range");
      P.inputs.push_back(t);
    }
    uint32_t nout = r.count("outputs", 4);
    for (uint32_t k = 0; k < nout && r.ok(); ++k) {
      uint32_t t = r.u32("output");
      if (t >= nt) r.fail(where + ": output tensor out of range");
      P.outputs.push_back(t);
    }
    for (uint32_t t = 0; t < nt && r.ok(); ++t) {
      const TensorDesc& T = P.tensors[t];
      if (T.storage == Storage::kInput && T.a >= P.inputs.size()) r.fail(where + ": input index of '" + T.name + "' out of range");
      if (T.storage == Storage::kOutput && T.a >= P.outputs.size()) r.fail(where + ": output index of '" + T.name + "' out of range");
    }
    uint32_t nops = r.count("ops", 32);
    P.ops.resize(nops);
    for (uint32_t o = 0; o < nops && r.ok(); ++o) {
      OpDesc& op = P.ops[o];
      op.name = str(r, "op name");
      op.domain = str(r, "op domain");
      op.op_type = str(r, "op type");
      op.opset = static_cast<int>(r.u32("op opset"));
      const std::string ow = where + ": op '" + op.name + "'";
      uint32_t ni = r.count("op inputs", 4);
      for (uint32_t k = 0; k < ni && r.ok(); ++k) {
        int32_t t = r.i32("op input");
        if (t < -1 || t >= static_cast<int32_t>(nt)) r.fail(ow + ": input tensor out of range");
        op.inputs.push_back(t);
      }
      uint32_t no = r.count("op outputs", 4);
      for (uint32_t k = 0; k < no && r.ok(); ++k) {
        int32_t t = r.i32("op output");
        if (t < -1 || t >= static_cast<int32_t>(nt)) r.fail(ow + ": output tensor out of range");
        op.outputs.push_back(t);
      }
      uint32_t na = r.count("op attributes", 5);
      for (uint32_t k = 0; k < na && r.ok(); ++k) {
        Attribute a;
        std::string aname = str(r, "attribute name");
        uint8_t kind = r.u8("attribute kind");
        const std::string aw = ow + " attribute '" + aname + "'";
        switch (kind) {
          case 0: a.kind = Attribute::Kind::kInt; a.i = r.i64("attribute"); break;
          case 1: a.kind = Attribute::Kind::kFloat; a.f = r.f64("attribute"); break;
          case 2: a.kind = Attribute::Kind::kString; a.s = str(r, "attribute string"); break;
          case 3: {
            a.kind = Attribute::Kind::kInts;
            uint32_t c = r.count("attribute ints", 8);
            for (uint32_t j = 0; j < c && r.ok(); ++j) a.ints.push_back(r.i64("attribute"));
            break;
          }
          case 4: {
            a.kind = Attribute::Kind::kFloats;
            uint32_t c = r.count("attribute floats", 8);
            for (uint32_t j = 0; j < c && r.ok(); ++j) a.floats.push_back(r.f64("attribute"));
            break;
          }
          case 5: {
            a.kind = Attribute::Kind::kStrings;
            uint32_t c = r.count("attribute strings", 4);
            for (uint32_t j = 0; j < c && r.ok(); ++j) a.strings.push_back(str(r, "attribute string"));
            break;
          }
          case 6: {
            a.kind = Attribute::Kind::kTensor;
            ConstDesc c;
            read_const(r, &c, aw);
            a.tensor = c.view;
            break;
          }
          case 7: {
            a.kind = Attribute::Kind::kTensors;
            uint32_t c = r.count("attribute tensors", 20);
            for (uint32_t j = 0; j < c && r.ok(); ++j) {
              ConstDesc cd;
              read_const(r, &cd, aw);
              a.tensors.push_back(cd.view);
            }
            break;
          }
          case 8: {
            a.kind = Attribute::Kind::kGraph;
            uint32_t g = r.u32("attribute graph");
            if (r.ok() && (g >= nprog || g == 0)) r.fail(aw + ": program index out of range");
            a.graph = static_cast<int>(g);
            break;
          }
          case 9: {
            a.kind = Attribute::Kind::kGraphs;
            uint32_t c = r.count("attribute graphs", 4);
            for (uint32_t j = 0; j < c && r.ok(); ++j) {
              uint32_t g = r.u32("attribute graph");
              if (r.ok() && (g >= nprog || g == 0)) r.fail(aw + ": program index out of range");
              a.graphs.push_back(static_cast<int>(g));
            }
            break;
          }
          default: r.fail(aw + ": unknown attribute kind " + std::to_string(kind));
        }
        if (r.ok()) op.attrs.items.emplace_back(std::move(aname), std::move(a));
      }
      if (r.ok()) {
        for (const auto& kv : op.attrs.items) {
          if (kv.second.kind == Attribute::Kind::kGraph) {
            if (programs[kv.second.graph].parent != -1 || kv.second.graph <= static_cast<int>(pi))
              r.fail(ow + ": subgraph program " + std::to_string(kv.second.graph) + " is shared or out of order");
            else programs[kv.second.graph].parent = static_cast<int>(pi);
          }
          for (int g : kv.second.graphs) {
            if (programs[g].parent != -1 || g <= static_cast<int>(pi)) r.fail(ow + ": subgraph program is shared or out of order");
            else programs[g].parent = static_cast<int>(pi);
          }
        }
      }
    }
    uint32_t nch = r.count("channel endpoints", 12);
    for (uint32_t k = 0; k < nch && r.ok(); ++k) {
      ChannelEndpoint c;
      c.tensor = r.u32("channel endpoint");
      c.channel = r.u32("channel endpoint");
      c.direction = r.u8("channel endpoint");
      r.u8("channel endpoint"); r.u16("channel endpoint");
      if (r.ok() && c.tensor >= nt) r.fail(where + ": channel endpoint tensor out of range");
      P.channels.push_back(c);
    }
  }
  if (!r.ok()) return bad("PROG: " + r.err);
  for (ProgramDesc& P : programs)
    for (TensorDesc& T : P.tensors) {
      if (T.storage != Storage::kWeight || T.dtype != DType::kString) continue;
      std::vector<int64_t> shape;
      for (uint32_t e : T.shape) {
        int64_t v;
        if (!eval(e, nullptr, nullptr, &v) || v < 0) return bad("string weight '" + T.name + "' has a non-constant shape");
        shape.push_back(v);
      }
      if (!decode_strings(weights.data() + T.a, T.b, numel_of(shape), &T.owned))
        return bad("string weight '" + T.name + "' is malformed");
    }
  if (r.pos != r.n) return bad("PROG: " + std::to_string(r.n - r.pos) + " trailing bytes");
  for (uint32_t pi = 1; pi < nprog; ++pi)
    if (programs[pi].parent < 0) return bad("program " + std::to_string(pi) + " is not owned by any op");
  // Outer references must name a tensor of the enclosing program.
  for (uint32_t pi = 1; pi < nprog; ++pi)
    for (const TensorDesc& T : programs[pi].tensors)
      if (T.storage == Storage::kOuter && T.a >= programs[programs[pi].parent].tensors.size())
        return bad("program " + std::to_string(pi) + ": outer tensor '" + T.name + "' out of range");
  return true;
}

}  // namespace fleetrt
