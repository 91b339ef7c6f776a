// String ops: StringConcat (broadcasting), StringSplit, StringNormalizer and TfIdfVectorizer
// (RegexFullMatch is in misc_regex.cpp).
// Case changes act on ASCII letters; other bytes (UTF-8 sequences) pass through unchanged.
#include <algorithm>
#include <map>

#include "data_util.h"

namespace fleetrt {
namespace {
using namespace datak;

Status require_strings(const KernelContext& ctx, int i, const Tensor** t) {
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, i, t));
  if ((*t)->dtype != DType::kString) return err(ctx, "input " + std::to_string(i) + " must be a string tensor");
  return Status::Ok();
}

std::string ascii_case(std::string s, bool upper) {
  for (char& c : s) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

Status StringConcat(KernelContext& ctx) {
  const Tensor *a, *b;
  FLEETRT_RETURN_IF_ERROR(require_strings(ctx, 0, &a));
  FLEETRT_RETURN_IF_ERROR(require_strings(ctx, 1, &b));
  const size_t r = std::max(a->rank(), b->rank());
  std::vector<int64_t> sa(r, 1), sb(r, 1), so(r);
  for (size_t i = 0; i < a->rank(); ++i) sa[r - a->rank() + i] = a->shape[i];
  for (size_t i = 0; i < b->rank(); ++i) sb[r - b->rank() + i] = b->shape[i];
  for (size_t i = 0; i < r; ++i) {
    if (sa[i] != sb[i] && sa[i] != 1 && sb[i] != 1)
      return err(ctx, "shapes " + shape_str(a->shape) + " and " + shape_str(b->shape) + " do not broadcast");
    so[i] = sa[i] == 1 ? sb[i] : sa[i];
  }
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, so, &out));
  if (!out) return Status::Ok();
  const std::vector<int64_t> ta = strides_of(sa), tb = strides_of(sb);
  const int64_t n = numel_of(so);
  for (int64_t o = 0; o < n; ++o) {
    int64_t rem = o, ia = 0, ib = 0;
    for (int64_t k = static_cast<int64_t>(r) - 1; k >= 0; --k) {
      int64_t c = rem % so[k];
      rem /= so[k];
      if (sa[k] != 1) ia += c * ta[k];
      if (sb[k] != 1) ib += c * tb[k];
    }
    out->as<std::string>()[o] = a->as<std::string>()[ia] + b->as<std::string>()[ib];
  }
  return Status::Ok();
}

// Python str.split semantics: whitespace runs when the delimiter is empty, otherwise exact
// delimiter matches (consecutive delimiters give empty strings); at most maxsplit splits.
std::vector<std::string> split_one(const std::string& s, const std::string& d, int64_t maxsplit) {
  std::vector<std::string> parts;
  if (d.empty()) {
    auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
    size_t i = 0;
    while (true) {
      while (i < s.size() && ws(s[i])) ++i;
      if (i >= s.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
        parts.push_back(s.substr(i));
        break;
      }
      size_t j = i;
      while (j < s.size() && !ws(s[j])) ++j;
      parts.push_back(s.substr(i, j - i));
      i = j;
    }
    return parts;
  }
  size_t i = 0;
  while (true) {
    size_t j = s.find(d, i);
    if (j == std::string::npos || (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit)) {
      parts.push_back(s.substr(i));
      break;
    }
    parts.push_back(s.substr(i, j - i));
    i = j + d.size();
  }
  return parts;
}

Status StringSplit(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_strings(ctx, 0, &x));
  const std::string d = ctx.attrs().get_string("delimiter", "");
  const int64_t maxsplit = ctx.attrs().has("maxsplit") ? ctx.attrs().get_int("maxsplit", -1) : -1;
  const int64_t n = x->numel();
  std::vector<std::vector<std::string>> parts(n);
  int64_t width = 0;
  for (int64_t i = 0; i < n; ++i) {
    parts[i] = split_one(x->as<std::string>()[i], d, maxsplit);
    width = std::max(width, static_cast<int64_t>(parts[i].size()));
  }
  std::vector<int64_t> yshape = x->shape;
  yshape.push_back(width);
  Tensor *y, *z;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, yshape, &y));
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 1, x->shape, &z));
  for (int64_t i = 0; i < n; ++i) {
    if (y)
      for (int64_t j = 0; j < width; ++j)
        y->as<std::string>()[i * width + j] = j < static_cast<int64_t>(parts[i].size()) ? parts[i][j] : std::string();
    if (z) set_f64(*z, i, static_cast<double>(parts[i].size()));
  }
  return Status::Ok();
}

Status StringNormalizer(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_strings(ctx, 0, &x));
  if (!(x->rank() == 1 || (x->rank() == 2 && x->shape[0] == 1)))
    return err(ctx, "input must be [C] or [1, C], got " + shape_str(x->shape));
  const std::string action = ctx.attrs().get_string("case_change_action", "NONE");
  if (action != "NONE" && action != "LOWER" && action != "UPPER") return err(ctx, "unknown case_change_action '" + action + "'");
  const bool sensitive = ctx.attrs().get_int("is_case_sensitive", 0) != 0;
  std::vector<std::string> stop = ctx.attrs().get_strings("stopwords");
  if (!sensitive)
    for (auto& w : stop) w = ascii_case(w, false);
  std::vector<std::string> kept;
  for (int64_t i = 0; i < x->numel(); ++i) {
    const std::string& s = x->as<std::string>()[i];
    std::string key = sensitive ? s : ascii_case(s, false);
    if (std::find(stop.begin(), stop.end(), key) != stop.end()) continue;
    kept.push_back(action == "NONE" ? s : ascii_case(s, action == "UPPER"));
  }
  if (kept.empty()) kept.emplace_back();  // all removed: one empty string
  std::vector<int64_t> shape = {static_cast<int64_t>(kept.size())};
  if (x->rank() == 2) shape.insert(shape.begin(), 1);
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &out));
  if (!out) return Status::Ok();
  for (size_t i = 0; i < kept.size(); ++i) out->as<std::string>()[i] = kept[i];
  return Status::Ok();
}

Status TfIdfVectorizer(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  const Attributes& a = ctx.attrs();
  const int64_t min_n = a.get_int("min_gram_length", 1), max_n = a.get_int("max_gram_length", 1);
  const int64_t max_skip = a.get_int("max_skip_count", 0);
  const std::string mode = a.get_string("mode", "TF");
  if (mode != "TF" && mode != "IDF" && mode != "TFIDF") return err(ctx, "unknown mode '" + mode + "'");
  if (min_n < 1 || max_n < min_n || max_skip < 0) return err(ctx, "invalid gram lengths or skip count");
  const std::vector<int64_t> counts = a.get_ints("ngram_counts"), indexes = a.get_ints("ngram_indexes");
  const std::vector<double> weights = a.get_floats("weights");
  const bool strings = a.has("pool_strings");
  std::vector<int64_t> pool = a.get_ints("pool_int64s");
  std::map<std::string, int64_t> str_ids;
  if (strings) {
    if (x->dtype != DType::kString) return err(ctx, "pool_strings needs a string input");
    for (const std::string& s : a.get_strings("pool_strings")) {
      auto it = str_ids.emplace(s, static_cast<int64_t>(str_ids.size())).first;
      pool.push_back(it->second);
    }
  } else if (!is_int_dtype(x->dtype)) {
    return err(ctx, "pool_int64s needs an integer input");
  }
  // n-gram (as item ids) → output column.
  std::map<std::vector<int64_t>, int64_t> grams;
  int64_t gi = 0, ncols = 0;
  for (size_t c = 0; c < counts.size(); ++c) {
    const int64_t n = static_cast<int64_t>(c) + 1;
    const int64_t start = counts[c], end = c + 1 < counts.size() ? counts[c + 1] : static_cast<int64_t>(pool.size());
    if (start < 0 || end > static_cast<int64_t>(pool.size()) || (end - start) % n != 0) return err(ctx, "ngram_counts does not fit the pool");
    for (int64_t p = start; p < end; p += n, ++gi) {
      if (gi >= static_cast<int64_t>(indexes.size()) || indexes[gi] < 0) return err(ctx, "ngram_indexes is shorter than the pool or negative");
      grams[std::vector<int64_t>(pool.begin() + p, pool.begin() + p + n)] = indexes[gi];
      ncols = std::max(ncols, indexes[gi] + 1);
    }
  }
  if (x->rank() > 2) return err(ctx, "input must be 1-D or 2-D");
  const int64_t B = x->rank() == 2 ? x->shape[0] : 1, L = x->rank() == 0 ? 1 : x->shape[x->rank() - 1];
  std::vector<int64_t> oshape = x->rank() == 2 ? std::vector<int64_t>{B, ncols} : std::vector<int64_t>{ncols};
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, oshape, &out));
  if (!out) return Status::Ok();
  std::vector<int64_t> ids(x->numel());
  for (int64_t i = 0; i < x->numel(); ++i) {
    if (strings) {
      auto it = str_ids.find(x->as<std::string>()[i]);
      ids[i] = it == str_ids.end() ? -1 : it->second;
    } else {
      ids[i] = get_int(*x, i);
    }
  }
  std::vector<double> cnt(B * ncols, 0.0);
  std::vector<int64_t> key;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t* row = ids.data() + b * L;
    for (int64_t i = 0; i < L; ++i)
      for (int64_t n = min_n; n <= max_n; ++n)
        for (int64_t s = 0; s <= (n == 1 ? 0 : max_skip); ++s) {
          const int64_t step = s + 1;
          if (i + (n - 1) * step >= L) break;
          key.assign(n, 0);
          for (int64_t k = 0; k < n; ++k) key[k] = row[i + k * step];
          auto it = grams.find(key);
          if (it != grams.end()) cnt[b * ncols + it->second] += 1;
        }
  }
  // weights[g] belongs to the g-th pool n-gram, which lands in column ngram_indexes[g].
  std::vector<double> col_w(ncols, 1.0);
  for (size_t g = 0; g < indexes.size() && g < weights.size(); ++g) col_w[indexes[g]] = weights[g];
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < ncols; ++c) {
      double v = cnt[b * ncols + c];
      if (mode == "IDF") v = v > 0 ? col_w[c] : 0;
      else if (mode == "TFIDF") v *= col_w[c];
      set_f64(*out, b * ncols + c, v);
    }
  return Status::Ok();
}

FLEETRT_REGISTER_KERNEL("", "StringConcat", StringConcat);
FLEETRT_REGISTER_KERNEL("", "StringSplit", StringSplit);
FLEETRT_REGISTER_KERNEL("", "StringNormalizer", StringNormalizer);
FLEETRT_REGISTER_KERNEL("", "TfIdfVectorizer", TfIdfVectorizer);

}  // namespace
}  // namespace fleetrt
