// Einsum: any number of operands, explicit or implicit output, repeated labels (diagonals),
// ellipsis broadcasting. Products of operand elements are summed over the labels that are not in
// the output, in double (floats) or int64 (integers). Float two-operand contractions without
// diagonals or one-sided sums become permutes + batched SGEMM.
#include <algorithm>
#include <cctype>
#include <map>
#include <string>

#include "kernel_util.h"

namespace fleetrt {
namespace {

constexpr int kEll = 1000;  // label ids of ellipsis dims: kEll + i

struct Term {
  std::vector<int> labels;
  bool ellipsis = false;
};

Status parse_term(const KernelContext& ctx, const std::string& s, Term* t) {
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == ' ') continue;
    if (c == '.') {
      if (s.compare(i, 3, "...") != 0 || t->ellipsis) return ku::op_error(ctx, "malformed ellipsis in equation");
      t->ellipsis = true;
      t->labels.push_back(-1);
      i += 2;
      continue;
    }
    if (!std::isalpha(static_cast<unsigned char>(c))) return ku::op_error(ctx, std::string("bad label '") + c + "' in equation");
    t->labels.push_back(static_cast<unsigned char>(c));
  }
  return Status::Ok();
}

// dst = src (dims `shape`) with its dims reordered so that dst dim i is src dim perm[i].
void permute(const float* src, const std::vector<int64_t>& shape, const std::vector<size_t>& perm, float* dst) {
  const size_t r = shape.size();
  std::vector<int64_t> sst(r), dshape(r), dst_st(r), idx(r, 0);
  for (int64_t i = static_cast<int64_t>(r) - 1, m = 1; i >= 0; --i) sst[i] = m, m *= shape[i];
  for (size_t i = 0; i < r; ++i) dshape[i] = shape[perm[i]], dst_st[i] = sst[perm[i]];
  const int64_t n = ku::numel_of(shape);
  int64_t so = 0;
  for (int64_t i = 0; i < n; ++i) {
    dst[i] = src[so];
    for (size_t d = r; d-- > 0;) {
      so += dst_st[d];
      if (++idx[d] < dshape[d]) break;
      so -= dst_st[d] * dshape[d];
      idx[d] = 0;
    }
  }
}

// Two-operand contraction as batched SGEMM: labels split into batch (both inputs and output),
// M (A and output), N (B and output) and K (A and B only). Sets *done = false (and leaves the
// output alone) for patterns it does not cover: repeated labels, labels summed out of one input,
// size-1 broadcasting.
Status contract_gemm(KernelContext& ctx, const std::vector<int>& la, const std::vector<int>& lb, const std::vector<int>& lo,
                     std::map<int, int64_t>& size, const Tensor& a, const Tensor& b, Tensor* y, bool* done) {
  *done = false;
  auto has = [](const std::vector<int>& v, int l) { return std::find(v.begin(), v.end(), l) != v.end(); };
  auto unique = [](std::vector<int> v) {
    std::sort(v.begin(), v.end());
    return std::adjacent_find(v.begin(), v.end()) == v.end();
  };
  if (!unique(la) || !unique(lb) || !unique(lo)) return Status::Ok();
  for (size_t d = 0; d < la.size(); ++d)
    if (a.shape[d] != size[la[d]]) return Status::Ok();
  for (size_t d = 0; d < lb.size(); ++d)
    if (b.shape[d] != size[lb[d]]) return Status::Ok();
  std::vector<int> batch, ml, nl, kl;
  for (int l : lo) {
    bool ia = has(la, l), ib = has(lb, l);
    if (ia && ib) batch.push_back(l);
    else if (ia) ml.push_back(l);
    else if (ib) nl.push_back(l);
    else return Status::Ok();
  }
  for (int l : la)
    if (!has(lo, l)) {
      if (!has(lb, l)) return Status::Ok();
      kl.push_back(l);
    }
  for (int l : lb)
    if (!has(lo, l) && !has(la, l)) return Status::Ok();
  auto prod_of = [&](const std::vector<int>& v) {
    int64_t p = 1;
    for (int l : v) p *= size[l];
    return p;
  };
  const int64_t Bn = prod_of(batch), M = prod_of(ml), N = prod_of(nl), K = prod_of(kl);
  auto order = [&](const std::vector<int>& labels, std::initializer_list<const std::vector<int>*> groups) {
    std::vector<size_t> perm;
    for (const auto* g : groups)
      for (int l : *g) perm.push_back(std::find(labels.begin(), labels.end(), l) - labels.begin());
    return perm;
  };
  const float* af = ku::as_float_buffer(ctx, a);
  const float* bf = ku::as_float_buffer(ctx, b);
  float* ap = static_cast<float*>(ctx.scratch(static_cast<size_t>(a.numel() + 1) * sizeof(float)));
  float* bp = static_cast<float*>(ctx.scratch(static_cast<size_t>(b.numel() + 1) * sizeof(float)));
  permute(af, a.shape, order(la, {&batch, &ml, &kl}), ap);
  permute(bf, b.shape, order(lb, {&batch, &kl, &nl}), bp);
  float* c = static_cast<float*>(ctx.scratch(static_cast<size_t>(Bn * M * N + 1) * sizeof(float)));
  for (int64_t i = 0; i < Bn; ++i) {
    if (K == 0) std::fill(c + i * M * N, c + (i + 1) * M * N, 0.f);
    else ku::sgemm(false, false, M, N, K, 1.f, ap + i * M * K, K, bp + i * K * N, N, 0.f, c + i * M * N, N, &ctx);
  }
  // c is laid out [batch…, m…, n…]; reorder to the output labels
  std::vector<int> cl = batch;
  cl.insert(cl.end(), ml.begin(), ml.end());
  cl.insert(cl.end(), nl.begin(), nl.end());
  std::vector<int64_t> cshape;
  for (int l : cl) cshape.push_back(size[l]);
  std::vector<size_t> perm;
  for (int l : lo) perm.push_back(std::find(cl.begin(), cl.end(), l) - cl.begin());
  float* yf = ku::float_out_buffer(ctx, *y);
  if (cshape.empty()) yf[0] = c[0];
  else permute(c, cshape, perm, yf);
  if (y->dtype != DType::kF32) ku::store_float_buffer(yf, *y);
  *done = true;
  return Status::Ok();
}

Status k_Einsum(KernelContext& ctx) {
  std::string eq = ctx.attrs().get_string("equation", "");
  eq.erase(std::remove(eq.begin(), eq.end(), ' '), eq.end());
  const int n_in = ctx.num_inputs();
  std::vector<const Tensor*> ins;
  for (int i = 0; i < n_in; ++i) {
    const Tensor* t;
    FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, i, &t));
    if (!ins.empty() && t->dtype != ins[0]->dtype) return ku::op_error(ctx, "inputs have different types");
    ins.push_back(t);
  }
  if (ins.empty()) return ku::op_error(ctx, "needs at least one input");
  size_t arrow = eq.find("->");
  std::string lhs = eq.substr(0, arrow);
  std::vector<Term> terms;
  for (size_t p = 0;;) {
    size_t c = lhs.find(',', p);
    Term t;
    FLEETRT_RETURN_IF_ERROR(parse_term(ctx, lhs.substr(p, c == std::string::npos ? std::string::npos : c - p), &t));
    terms.push_back(t);
    if (c == std::string::npos) break;
    p = c + 1;
  }
  if (terms.size() != ins.size())
    return ku::op_error(ctx, "equation '" + eq + "' has " + std::to_string(terms.size()) + " operands but there are " +
                                 std::to_string(ins.size()) + " inputs");
  // expand ellipses, collect dim sizes
  int64_t ell_rank = 0;
  for (size_t k = 0; k < terms.size(); ++k) {
    int64_t explicit_n = static_cast<int64_t>(terms[k].labels.size()) - (terms[k].ellipsis ? 1 : 0);
    int64_t e = static_cast<int64_t>(ins[k]->rank()) - explicit_n;
    if (e < 0 || (!terms[k].ellipsis && e != 0))
      return ku::op_error(ctx, "operand " + std::to_string(k) + " " + ku::shape_str(ins[k]->shape) + " does not match '" + eq + "'");
    ell_rank = std::max(ell_rank, e);
  }
  std::map<int, int64_t> size;
  std::map<int, int> count;
  for (size_t k = 0; k < terms.size(); ++k) {
    std::vector<int> exp;
    int64_t e = static_cast<int64_t>(ins[k]->rank()) - (static_cast<int64_t>(terms[k].labels.size()) - (terms[k].ellipsis ? 1 : 0));
    for (int l : terms[k].labels) {
      if (l == -1)
        for (int64_t i = 0; i < e; ++i) exp.push_back(kEll + static_cast<int>(ell_rank - e + i));
      else exp.push_back(l);
    }
    terms[k].labels = exp;
    for (size_t d = 0; d < exp.size(); ++d) {
      int l = exp[d];
      int64_t s = ins[k]->shape[d];
      auto it = size.find(l);
      if (it == size.end() || it->second == 1) size[l] = s;
      else if (s != it->second && !(l >= kEll && s == 1))
        return ku::op_error(ctx, "label sizes disagree in '" + eq + "'");
      count[l]++;
    }
  }
  std::vector<int> out_labels;
  if (arrow != std::string::npos) {
    Term t;
    FLEETRT_RETURN_IF_ERROR(parse_term(ctx, eq.substr(arrow + 2), &t));
    for (int l : t.labels) {
      if (l == -1)
        for (int64_t i = 0; i < ell_rank; ++i) out_labels.push_back(kEll + static_cast<int>(i));
      else if (!size.count(l)) return ku::op_error(ctx, "output label not in any input");
      else out_labels.push_back(l);
    }
  } else {
    for (int64_t i = 0; i < ell_rank; ++i) out_labels.push_back(kEll + static_cast<int>(i));
    for (auto& kv : count)
      if (kv.first < kEll && kv.second == 1) out_labels.push_back(kv.first);
  }
  for (int64_t i = 0; i < ell_rank; ++i)
    if (!size.count(kEll + static_cast<int>(i))) size[kEll + static_cast<int>(i)] = 1;
  std::vector<int> all = out_labels;
  for (auto& kv : size)
    if (std::find(all.begin(), all.end(), kv.first) == all.end()) all.push_back(kv.first);
  std::vector<int64_t> oshape;
  for (int l : out_labels) oshape.push_back(size[l]);
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, oshape, ins[0]->dtype, &y));
  if (ins.size() == 2 && ku::is_float_like(ins[0]->dtype)) {
    bool done = false;
    FLEETRT_RETURN_IF_ERROR(contract_gemm(ctx, terms[0].labels, terms[1].labels, out_labels, size, *ins[0], *ins[1], y, &done));
    if (done) return Status::Ok();
  }
  const size_t L = all.size(), K = ins.size();
  // stride of every label in every operand (summed for repeated labels; 0 when broadcast)
  std::vector<std::vector<int64_t>> st(K, std::vector<int64_t>(L, 0));
  for (size_t k = 0; k < K; ++k) {
    int64_t s = 1;
    for (size_t d = terms[k].labels.size(); d-- > 0;) {
      size_t li = std::find(all.begin(), all.end(), terms[k].labels[d]) - all.begin();
      if (ins[k]->shape[d] != 1 || size[all[li]] == 1) st[k][li] += s;
      s *= ins[k]->shape[d];
    }
  }
  std::vector<int64_t> dims;
  for (int l : all) dims.push_back(size[l]);
  const int64_t out_n = y->numel();
  const int64_t red_n = ku::prod(dims, out_labels.size(), L);
  const bool fl = ku::is_float_like(ins[0]->dtype);
  std::vector<const float*> fin;
  if (fl)
    for (auto* t : ins) fin.push_back(ku::as_float_buffer(ctx, *t));
  std::vector<double> acc(static_cast<size_t>(std::max<int64_t>(out_n, 1)), 0.0);
  std::vector<int64_t> iacc(fl ? 0 : static_cast<size_t>(std::max<int64_t>(out_n, 1)), 0);
  if (out_n > 0 && red_n > 0) {
    std::vector<int64_t> idx(L, 0), off(K, 0);
    const int64_t total = out_n * red_n;
    for (int64_t it = 0; it < total; ++it) {
      int64_t o = it / red_n;
      if (fl) {
        double p = 1;
        for (size_t k = 0; k < K; ++k) p *= fin[k][off[k]];
        acc[o] += p;
      } else {
        int64_t p = 1;
        for (size_t k = 0; k < K; ++k) p *= static_cast<int64_t>(ku::load_as_double(*ins[k], off[k]));
        iacc[o] += p;
      }
      for (size_t d = L; d-- > 0;) {
        for (size_t k = 0; k < K; ++k) off[k] += st[k][d];
        if (++idx[d] < dims[d]) break;
        for (size_t k = 0; k < K; ++k) off[k] -= st[k][d] * dims[d];
        idx[d] = 0;
      }
    }
  }
  for (int64_t i = 0; i < out_n; ++i) ku::store_from_double(*y, i, fl ? acc[i] : static_cast<double>(iacc[i]));
  if (!fl)
    ku::dispatch_numeric(y->dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_integral<T>::value)
        for (int64_t i = 0; i < out_n; ++i) y->as<T>()[i] = static_cast<T>(iacc[i]);
    });
  return Status::Ok();
}

}  // namespace

FLEETRT_REGISTER_KERNEL("", "Einsum", k_Einsum);

}  // namespace fleetrt
