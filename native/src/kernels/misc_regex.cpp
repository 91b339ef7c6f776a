// RegexFullMatch with a small linear-time regex engine (a Pike VM over Unicode code points) for
// the RE2 syntax subset models use: literals, '.', classes with ranges and \d\w\s, anchors ^ $
// \A \z, word boundaries \b \B, groups (capturing, (?:…), named), alternation, and the
// quantifiers * + ? {n} {n,} {n,m} (lazy forms match the same strings). Unlike a backtracking
// matcher it cannot overflow the stack on long inputs or take exponential time.
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "data_util.h"

namespace fleetrt {
namespace {
using namespace datak;

struct Range {
  uint32_t lo, hi;
};
struct CharClass {
  std::vector<Range> ranges;
  bool negate = false;
  bool has(uint32_t c) const {
    bool in = false;
    for (const Range& r : ranges)
      if (c >= r.lo && c <= r.hi) {
        in = true;
        break;
      }
    return in != negate;
  }
};

enum class Op { kClass, kSplit, kJmp, kMatch, kBol, kEol, kWordB, kNotWordB };
struct Inst {
  explicit Inst(Op o, int c = -1, int to = 0) : op(o), cls(c), x(to) {}
  Op op;
  int cls;           // kClass
  int x, y = 0;      // kSplit targets / kJmp target
};

enum class NK { kClass, kAssert, kConcat, kAlt, kRepeat, kEmpty };
struct Node {
  explicit Node(NK k = NK::kEmpty) : kind(k) {}
  NK kind;
  int cls = -1;
  Op assert_op = Op::kBol;
  std::vector<Node> kids;
  int min = 0, max = -1;  // kRepeat; max -1 = unbounded
};

std::vector<uint32_t> utf8_decode(const std::string& s, bool* ok) {
  std::vector<uint32_t> out;
  *ok = false;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    if (n < 0 || i + n >= s.size() + (n == 0 ? 1 : 0) || (n > 0 && i + n > s.size() - 1)) return out;
    uint32_t cp = n == 0 ? c : c & (0x3fu >> n);
    for (int k = 1; k <= n; ++k) {
      const unsigned char t = static_cast<unsigned char>(s[i + k]);
      if ((t & 0xc0) != 0x80) return out;
      cp = (cp << 6) | (t & 0x3f);
    }
    out.push_back(cp);
    i += n + 1;
  }
  *ok = true;
  return out;
}

bool is_word(uint32_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

class Parser {
 public:
  Parser(const std::vector<uint32_t>& p, std::vector<CharClass>* classes) : p_(p), classes_(classes) {}

  bool parse(Node* out, std::string* error) {
    *out = alt();
    if (err_.empty() && i_ < p_.size()) err_ = "unmatched ')' at offset " + std::to_string(i_);
    *error = err_;
    return err_.empty();
  }

 private:
  bool more() const { return i_ < p_.size() && err_.empty(); }
  uint32_t peek() const { return p_[i_]; }

  int add_class(CharClass c) {
    classes_->push_back(std::move(c));
    return static_cast<int>(classes_->size()) - 1;
  }
  static CharClass single(uint32_t c) {
    CharClass k;
    k.ranges.push_back({c, c});
    return k;
  }
  // Ranges of a Perl class letter (d, w, s); `neg` for the upper-case forms.
  static bool perl_class(uint32_t e, CharClass* k) {
    static const Range kDigit[] = {{'0', '9'}};
    static const Range kWord[] = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
    static const Range kSpace[] = {{'\t', '\n'}, {'\f', '\r'}, {' ', ' '}};
    k->ranges.clear();
    switch (e) {
      case 'd': case 'D': k->ranges.insert(k->ranges.end(), std::begin(kDigit), std::end(kDigit)); break;
      case 'w': case 'W': k->ranges.insert(k->ranges.end(), std::begin(kWord), std::end(kWord)); break;
      case 's': case 'S': k->ranges.insert(k->ranges.end(), std::begin(kSpace), std::end(kSpace)); break;
      default: return false;
    }
    k->negate = e == 'D' || e == 'W' || e == 'S';
    return true;
  }
  // A single escaped literal (after the backslash); false when not a literal escape.
  bool escaped_literal(uint32_t e, uint32_t* c) {
    switch (e) {
      case 'n': *c = '\n'; return true;
      case 't': *c = '\t'; return true;
      case 'r': *c = '\r'; return true;
      case 'f': *c = '\f'; return true;
      case 'v': *c = '\v'; return true;
      case 'a': *c = 7; return true;
      case '0': *c = 0; return true;
      case 'x': {
        uint32_t v = 0;
        int digits = 0;
        bool brace = more() && peek() == '{';
        if (brace) ++i_;
        while (more() && (brace || digits < 2)) {
          uint32_t h = peek();
          int d = h >= '0' && h <= '9' ? static_cast<int>(h - '0') : h >= 'a' && h <= 'f' ? static_cast<int>(h - 'a' + 10)
                  : h >= 'A' && h <= 'F' ? static_cast<int>(h - 'A' + 10) : -1;
          if (d < 0) break;
          v = v * 16 + static_cast<uint32_t>(d);
          ++digits;
          ++i_;
        }
        if (brace) {
          if (!more() || peek() != '}') return false;
          ++i_;
        }
        if (digits == 0) return false;
        *c = v;
        return true;
      }
      default:
        if (e < 0x80 && !is_word(e)) {  // escaped punctuation
          *c = e;
          return true;
        }
        return false;
    }
  }

  Node alt() {
    Node first = concat();
    if (!more() || peek() != '|') return first;
    Node a{NK::kAlt};
    a.kids.push_back(std::move(first));
    while (more() && peek() == '|') {
      ++i_;
      a.kids.push_back(concat());
    }
    return a;
  }

  Node concat() {
    Node c{NK::kConcat};
    while (more() && peek() != '|' && peek() != ')') c.kids.push_back(repeat());
    return c;
  }

  bool read_int(int* v) {
    size_t start = i_;
    long long n = 0;
    while (more() && peek() >= '0' && peek() <= '9') {
      n = n * 10 + (peek() - '0');
      if (n > 1000) n = 1001;
      ++i_;
    }
    *v = static_cast<int>(n);
    return i_ > start;
  }

  Node repeat() {
    Node a = atom();
    while (more()) {
      uint32_t q = peek();
      int mn, mx;
      if (q == '*') mn = 0, mx = -1, ++i_;
      else if (q == '+') mn = 1, mx = -1, ++i_;
      else if (q == '?') mn = 0, mx = 1, ++i_;
      else if (q == '{') {
        size_t save = i_;
        ++i_;
        if (!read_int(&mn)) {  // not a repetition: a literal '{'
          i_ = save;
          return a;
        }
        mx = mn;
        if (more() && peek() == ',') {
          ++i_;
          if (!read_int(&mx)) mx = -1;
        }
        if (!more() || peek() != '}') {
          i_ = save;
          return a;
        }
        ++i_;
        if (mn > 1000 || mx > 1000 || (mx >= 0 && mx < mn)) {
          err_ = "bad repetition count";
          return a;
        }
      } else {
        break;
      }
      if (more() && peek() == '?') ++i_;  // lazy: same set of full matches
      if (a.kind == NK::kAssert) {
        err_ = "repetition of an assertion";
        return a;
      }
      Node r{NK::kRepeat};
      r.min = mn;
      r.max = mx;
      r.kids.push_back(std::move(a));
      a = std::move(r);
    }
    return a;
  }

  Node cls_node(CharClass k) {
    Node n{NK::kClass};
    n.cls = add_class(std::move(k));
    return n;
  }

  Node atom() {
    uint32_t c = peek();
    ++i_;
    switch (c) {
      case '(': {
        if (++depth_ > 1000) {
          err_ = "groups nested too deeply";
          return Node(NK::kEmpty);
        }
        if (more() && peek() == '?') {
          ++i_;
          if (more() && peek() == ':') {
            ++i_;
          } else if (more() && (peek() == 'P' || peek() == '<')) {
            while (more() && peek() != '>') ++i_;
            if (more()) ++i_;
          } else {
            err_ = "unsupported group flag at offset " + std::to_string(i_);
            return Node{NK::kEmpty};
          }
        }
        Node inner = alt();
        --depth_;
        if (!more() || peek() != ')') {
          if (err_.empty()) err_ = "missing ')'";
          return inner;
        }
        ++i_;
        return inner;
      }
      case '[': return bracket();
      case '.': {
        CharClass k;
        k.ranges.push_back({'\n', '\n'});
        k.negate = true;
        return cls_node(k);
      }
      case '^': { Node n{NK::kAssert}; n.assert_op = Op::kBol; return n; }
      case '$': { Node n{NK::kAssert}; n.assert_op = Op::kEol; return n; }
      case '*': case '+': case '?':
        err_ = "missing argument to repetition operator";
        return Node{NK::kEmpty};
      case '\\': {
        if (!more()) {
          err_ = "trailing backslash";
          return Node{NK::kEmpty};
        }
        uint32_t e = peek();
        ++i_;
        if (e == 'b' || e == 'B') { Node n{NK::kAssert}; n.assert_op = e == 'b' ? Op::kWordB : Op::kNotWordB; return n; }
        if (e == 'A') { Node n{NK::kAssert}; n.assert_op = Op::kBol; return n; }
        if (e == 'z') { Node n{NK::kAssert}; n.assert_op = Op::kEol; return n; }
        CharClass k;
        if (perl_class(e, &k)) return cls_node(k);
        uint32_t lit;
        if (escaped_literal(e, &lit)) return cls_node(single(lit));
        err_ = "unsupported escape at offset " + std::to_string(i_ - 1);
        return Node{NK::kEmpty};
      }
      default: return cls_node(single(c));
    }
  }

  Node bracket() {
    CharClass k;
    if (more() && peek() == '^') {
      k.negate = true;
      ++i_;
    }
    bool first = true;
    while (more() && (peek() != ']' || first)) {
      first = false;
      uint32_t lo = peek();
      ++i_;
      if (lo == '\\') {
        if (!more()) break;
        uint32_t e = peek();
        ++i_;
        CharClass pc;
        if (perl_class(e, &pc)) {
          if (pc.negate) {  // complement of the ranges within the code point space
            uint32_t next = 0;
            for (const Range& r : pc.ranges) {
              if (r.lo > next) k.ranges.push_back({next, r.lo - 1});
              next = r.hi + 1;
            }
            k.ranges.push_back({next, 0x10ffff});
          } else {
            k.ranges.insert(k.ranges.end(), pc.ranges.begin(), pc.ranges.end());
          }
          continue;
        }
        if (!escaped_literal(e, &lo)) {
          err_ = "unsupported escape in class";
          return Node{NK::kEmpty};
        }
      }
      uint32_t hi = lo;
      if (i_ + 1 < p_.size() && peek() == '-' && p_[i_ + 1] != ']') {
        ++i_;
        hi = peek();
        ++i_;
        if (hi == '\\') {
          if (!more() || !escaped_literal((++i_, p_[i_ - 1]), &hi)) {
            err_ = "bad range in class";
            return Node{NK::kEmpty};
          }
        }
        if (hi < lo) {
          err_ = "bad range in class";
          return Node{NK::kEmpty};
        }
      }
      k.ranges.push_back({lo, hi});
    }
    if (!more()) {
      if (err_.empty()) err_ = "missing ']'";
      return Node{NK::kEmpty};
    }
    ++i_;  // ']'
    return cls_node(std::move(k));
  }

  const std::vector<uint32_t>& p_;
  std::vector<CharClass>* classes_;
  size_t i_ = 0;
  int depth_ = 0;
  std::string err_;
};

class Program {
 public:
  std::vector<Inst> code;
  std::vector<CharClass> classes;

  bool compile(const Node& n, std::string* error) {
    emit(n);
    code.push_back(Inst(Op::kMatch));
    if (code.size() > kMaxInsts) {
      *error = "pattern is too large";
      return false;
    }
    return true;
  }

  bool full_match(const std::vector<uint32_t>& s) const {
    const int n = static_cast<int>(code.size());
    std::vector<int> cur, nxt, stack;
    std::vector<uint32_t> mark(n, UINT32_MAX);
    uint32_t gen = 0;
    auto add = [&](std::vector<int>& list, int pc0, size_t pos) {
      stack.assign(1, pc0);
      while (!stack.empty()) {
        int pc = stack.back();
        stack.pop_back();
        if (mark[pc] == gen) continue;
        mark[pc] = gen;
        const Inst& in = code[pc];
        bool prev_w = pos > 0 && is_word(s[pos - 1]), next_w = pos < s.size() && is_word(s[pos]);
        switch (in.op) {
          case Op::kJmp: stack.push_back(in.x); break;
          case Op::kSplit: stack.push_back(in.y); stack.push_back(in.x); break;
          case Op::kBol: if (pos == 0) stack.push_back(pc + 1); break;
          case Op::kEol: if (pos == s.size()) stack.push_back(pc + 1); break;
          case Op::kWordB: if (prev_w != next_w) stack.push_back(pc + 1); break;
          case Op::kNotWordB: if (prev_w == next_w) stack.push_back(pc + 1); break;
          default: list.push_back(pc);
        }
      }
    };
    add(cur, 0, 0);
    for (size_t pos = 0; pos < s.size() && !cur.empty(); ++pos) {
      ++gen;
      nxt.clear();
      for (int pc : cur)
        if (code[pc].op == Op::kClass && classes[code[pc].cls].has(s[pos])) add(nxt, pc + 1, pos + 1);
      cur.swap(nxt);
    }
    for (int pc : cur)
      if (code[pc].op == Op::kMatch) return true;
    return false;
  }

 private:
  int here() const { return static_cast<int>(code.size()); }

  // Nested counted repetitions multiply: stop emitting once the program is too large.
  static constexpr size_t kMaxInsts = 200000;

  void emit(const Node& n) {
    if (code.size() > kMaxInsts) return;
    switch (n.kind) {
      case NK::kEmpty: break;
      case NK::kClass: code.push_back(Inst(Op::kClass, n.cls)); break;
      case NK::kAssert: code.push_back(Inst(n.assert_op)); break;
      case NK::kConcat:
        for (const Node& k : n.kids) emit(k);
        break;
      case NK::kAlt: {
        // split L1, next; L1: a; jmp end; next: split L2, … ; last alternative falls through.
        std::vector<int> jumps;
        for (size_t i = 0; i < n.kids.size(); ++i) {
          if (i + 1 < n.kids.size()) {
            int sp = here();
            code.push_back(Inst(Op::kSplit));
            code[sp].x = here();
            emit(n.kids[i]);
            jumps.push_back(here());
            code.push_back(Inst(Op::kJmp));
            code[sp].y = here();
          } else {
            emit(n.kids[i]);
          }
        }
        for (int j : jumps) code[j].x = here();
        break;
      }
      case NK::kRepeat: {
        const Node& a = n.kids[0];
        for (int i = 0; i < n.min && code.size() <= kMaxInsts; ++i) emit(a);
        if (n.max < 0) {  // star: L: split body, end; body; jmp L
          int sp = here();
          code.push_back(Inst(Op::kSplit));
          code[sp].x = here();
          emit(a);
          code.push_back(Inst(Op::kJmp, -1, sp));
          code[sp].y = here();
        } else {
          std::vector<int> splits;
          for (int i = n.min; i < n.max && code.size() <= kMaxInsts; ++i) {
            splits.push_back(here());
            code.push_back(Inst(Op::kSplit));
            code.back().x = here();
            emit(a);
          }
          for (int sp : splits) code[sp].y = here();
        }
        break;
      }
    }
  }
};

Status RegexFullMatch(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  if (x->dtype != DType::kString) return err(ctx, "input must be a string tensor");
  const std::string pat = ctx.attrs().get_string("pattern", "");
  bool ok;
  std::vector<uint32_t> pcp = utf8_decode(pat, &ok);
  if (!ok) return err(ctx, "pattern is not valid UTF-8");
  Program prog;
  Node ast;
  std::string error;
  Parser parser(pcp, &prog.classes);
  if (!parser.parse(&ast, &error) || !prog.compile(ast, &error)) {
    const std::string shown = pat.size() > 60 ? pat.substr(0, 60) + "..." : pat;
    return err(ctx, "invalid pattern '" + shown + "': " + error);
  }
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, x->shape, &out));
  if (!out) return Status::Ok();
  for (int64_t i = 0; i < x->numel(); ++i) {
    std::vector<uint32_t> s = utf8_decode(x->as<std::string>()[i], &ok);
    if (!ok) return err(ctx, "input string " + std::to_string(i) + " is not valid UTF-8");
    out->as<uint8_t>()[i] = prog.full_match(s) ? 1 : 0;
  }
  return Status::Ok();
}

FLEETRT_REGISTER_KERNEL("", "RegexFullMatch", RegexFullMatch);

}  // namespace
}  // namespace fleetrt
