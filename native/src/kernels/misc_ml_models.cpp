// ai.onnx.ml models: TreeEnsemble (opset 5), TreeEnsembleRegressor (opsets 1/3) and
// LinearRegressor, with the shared score post-transforms.
#include <algorithm>
#include <cmath>
#include <map>

#include "data_util.h"

namespace fleetrt {
namespace {
using namespace datak;

std::vector<double> tensor_attr_f64(const Attributes& a, const char* name) {
  std::vector<double> v;
  if (const Tensor* t = a.get_tensor(name))
    for (int64_t k = 0; k < t->numel(); ++k) v.push_back(get_f64(*t, k));
  return v;
}

// Post-transform codes as TreeEnsemble numbers them (the older ops name them as strings).
enum class Post { kNone = 0, kSoftmax = 1, kLogistic = 2, kSoftmaxZero = 3, kProbit = 4 };

Status parse_post(const KernelContext& ctx, Post* p) {
  std::string s = ctx.attrs().get_string("post_transform", "NONE");
  if (s == "NONE") *p = Post::kNone;
  else if (s == "SOFTMAX") *p = Post::kSoftmax;
  else if (s == "LOGISTIC") *p = Post::kLogistic;
  else if (s == "SOFTMAX_ZERO") *p = Post::kSoftmaxZero;
  else if (s == "PROBIT") *p = Post::kProbit;
  else return err(ctx, "unknown post_transform '" + s + "'");
  return Status::Ok();
}

Status post_transform(const KernelContext& ctx, Post p, std::vector<double>* v) {
  switch (p) {
    case Post::kNone: return Status::Ok();
    case Post::kLogistic:
      for (auto& x : *v) x = 1 / (1 + std::exp(-x));
      return Status::Ok();
    case Post::kSoftmax:
    case Post::kSoftmaxZero: {
      double mx = -INFINITY, sum = 0;
      for (double x : *v) mx = std::max(mx, x);
      for (auto& x : *v) sum += (x = (p == Post::kSoftmaxZero && x == 0) ? 0 : std::exp(x - mx));
      for (auto& x : *v) x = sum > 0 ? x / sum : 0;
      return Status::Ok();
    }
    default: return err(ctx, "post_transform PROBIT is not supported");
  }
}

// Branch test of node modes 0..5 (BRANCH_LEQ, LT, GTE, GT, EQ, NEQ).
bool branch_true(int mode, double v, double s) {
  switch (mode) {
    case 0: return v <= s;
    case 1: return v < s;
    case 2: return v >= s;
    case 3: return v > s;
    case 4: return v == s;
    default: return v != s;
  }
}

// Adds leaf weight w into acc[t] under aggregate code agg (TreeEnsemble's numbering:
// 0 AVERAGE and 1 SUM add, 2 MIN, 3 MAX).
void aggregate(int64_t agg, std::vector<double>& acc, std::vector<bool>& hit, int64_t t, double w) {
  if (agg == 2) acc[t] = hit[t] ? std::min(acc[t], w) : w;
  else if (agg == 3) acc[t] = hit[t] ? std::max(acc[t], w) : w;
  else acc[t] += w;
  hit[t] = true;
}

Status TreeEnsemble(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  if (x->rank() != 2 || !is_float_dtype(x->dtype)) return err(ctx, "input must be a 2-D float tensor [N, features]");
  const Attributes& a = ctx.attrs();
  const std::vector<int64_t> feat = a.get_ints("nodes_featureids"), tn = a.get_ints("nodes_truenodeids"),
                             fn = a.get_ints("nodes_falsenodeids"), tl = a.get_ints("nodes_trueleafs"),
                             fl = a.get_ints("nodes_falseleafs"), roots = a.get_ints("tree_roots"),
                             targets = a.get_ints("leaf_targetids"), missing = a.get_ints("nodes_missing_value_tracks_true");
  const std::vector<double> splits = tensor_attr_f64(a, "nodes_splits"), modes = tensor_attr_f64(a, "nodes_modes"),
                            weights = tensor_attr_f64(a, "leaf_weights"), members = tensor_attr_f64(a, "membership_values");
  const size_t nn = feat.size();
  if (tn.size() != nn || fn.size() != nn || tl.size() != nn || fl.size() != nn || splits.size() != nn ||
      (!modes.empty() && modes.size() != nn))
    return err(ctx, "node attribute lists differ in length");
  if (targets.size() != weights.size()) return err(ctx, "leaf_targetids and leaf_weights differ in length");
  const int64_t T = a.get_int("n_targets", 1), agg = a.get_int("aggregate_function", 1), post = a.get_int("post_transform", 0);
  // Member sets: consecutive NaN-separated groups, one per BRANCH_MEMBER node in node order.
  std::vector<std::vector<double>> sets(nn);
  size_t mpos = 0;
  for (size_t k = 0; k < nn; ++k) {
    if (modes.empty() || modes[k] != 6) continue;
    while (mpos < members.size() && !std::isnan(members[mpos])) sets[k].push_back(members[mpos++]);
    ++mpos;
  }
  const int64_t N = x->shape[0], F = x->shape[1];
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, {N, T}, &out));
  if (!out) return Status::Ok();
  for (int64_t r = 0; r < N; ++r) {
    std::vector<double> acc(T, 0.0);
    std::vector<bool> hit(T, false);
    for (int64_t root : roots) {
      int64_t node = root;
      size_t steps = 0;
      while (true) {
        if (++steps > nn) return err(ctx, "tree from root " + std::to_string(root) + " does not reach a leaf");
        if (node < 0 || node >= static_cast<int64_t>(nn)) return err(ctx, "node id " + std::to_string(node) + " out of range");
        if (feat[node] < 0 || feat[node] >= F) return err(ctx, "feature id out of range");
        const double v = get_f64(*x, r * F + feat[node]), s = splits[node];
        const int mode = modes.empty() ? 0 : static_cast<int>(modes[node]);
        if (mode < 0 || mode > 6) return err(ctx, "unknown node mode " + std::to_string(mode));
        bool c = mode == 6 ? std::find(sets[node].begin(), sets[node].end(), v) != sets[node].end() : branch_true(mode, v, s);
        if (std::isnan(v) && static_cast<size_t>(node) < missing.size() && missing[node]) c = true;
        const int64_t next = c ? tn[node] : fn[node];
        if (c ? tl[node] : fl[node]) {
          if (next < 0 || next >= static_cast<int64_t>(weights.size())) return err(ctx, "leaf id out of range");
          const int64_t t = targets[next];
          if (t < 0 || t >= T) return err(ctx, "leaf target out of range");
          aggregate(agg, acc, hit, t, weights[next]);
          break;
        }
        node = next;
      }
    }
    if (agg == 0 && !roots.empty())
      for (auto& v : acc) v /= static_cast<double>(roots.size());
    if (post < 0 || post > 4) return err(ctx, "unknown post_transform " + std::to_string(post));
    FLEETRT_RETURN_IF_ERROR(post_transform(ctx, static_cast<Post>(post), &acc));
    for (int64_t t = 0; t < T; ++t) set_f64(*out, r * T + t, acc[t]);
  }
  return Status::Ok();
}

// ---- TreeEnsembleRegressor (ai.onnx.ml opsets 1 and 3) ---------------------------------
// Trees are given as (treeid, nodeid) tuples; node ids restart at 0 in every tree.
std::vector<double> floats_or_tensor(const Attributes& a, const char* name) {
  std::string t = std::string(name) + "_as_tensor";
  if (a.has(t.c_str())) return tensor_attr_f64(a, t.c_str());
  return a.get_floats(name);
}

Status TreeEnsembleRegressor(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  if (x->rank() != 2 || !is_numeric(x->dtype)) return err(ctx, "input must be a 2-D numeric tensor [N, features]");
  const Attributes& a = ctx.attrs();
  const std::vector<int64_t> tree = a.get_ints("nodes_treeids"), node = a.get_ints("nodes_nodeids"),
                             feat = a.get_ints("nodes_featureids"), tn = a.get_ints("nodes_truenodeids"),
                             fn = a.get_ints("nodes_falsenodeids"), missing = a.get_ints("nodes_missing_value_tracks_true"),
                             ttree = a.get_ints("target_treeids"), tnode = a.get_ints("target_nodeids"), tid = a.get_ints("target_ids");
  const std::vector<std::string> modes = a.get_strings("nodes_modes");
  const std::vector<double> vals = floats_or_tensor(a, "nodes_values"), tw = floats_or_tensor(a, "target_weights"),
                            base = floats_or_tensor(a, "base_values");
  const size_t nn = tree.size();
  if (node.size() != nn || feat.size() != nn || tn.size() != nn || fn.size() != nn || modes.size() != nn || vals.size() != nn)
    return err(ctx, "nodes_* attributes differ in length");
  if (ttree.size() != tnode.size() || tid.size() != tnode.size() || tw.size() != tnode.size())
    return err(ctx, "target_* attributes differ in length");
  const int64_t T = a.get_int("n_targets", 1);
  if (T < 1) return err(ctx, "n_targets must be positive");
  if (!base.empty() && static_cast<int64_t>(base.size()) != T) return err(ctx, "base_values must have n_targets entries");
  const std::string agg_name = a.get_string("aggregate_function", "SUM");
  if (agg_name != "SUM" && agg_name != "AVERAGE" && agg_name != "MIN" && agg_name != "MAX")
    return err(ctx, "unknown aggregate_function '" + agg_name + "'");
  const int64_t agg = agg_name == "AVERAGE" ? 0 : agg_name == "MIN" ? 2 : agg_name == "MAX" ? 3 : 1;
  Post post;
  FLEETRT_RETURN_IF_ERROR(parse_post(ctx, &post));
  // Node index by (tree, node id); modes as codes 0..5 (BRANCH_LEQ…BRANCH_NEQ), 6 = LEAF.
  std::map<std::pair<int64_t, int64_t>, size_t> at;
  std::vector<int> mode(nn);
  static const char* kModes[] = {"BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ", "LEAF"};
  for (size_t k = 0; k < nn; ++k) {
    at[{tree[k], node[k]}] = k;
    mode[k] = -1;
    for (int m = 0; m < 7; ++m)
      if (modes[k] == kModes[m]) mode[k] = m;
    if (mode[k] < 0) return err(ctx, "unknown node mode '" + modes[k] + "'");
  }
  std::vector<std::vector<std::pair<int64_t, double>>> leaf_targets(nn);
  for (size_t k = 0; k < tnode.size(); ++k) {
    auto it = at.find({ttree[k], tnode[k]});
    if (it == at.end()) return err(ctx, "target refers to a missing node");
    if (tid[k] < 0 || tid[k] >= T) return err(ctx, "target id out of range");
    leaf_targets[it->second].push_back({tid[k], tw[k]});
  }
  std::vector<size_t> roots;
  for (size_t k = 0; k < nn; ++k)
    if (node[k] == 0) roots.push_back(k);
  const int64_t N = x->shape[0], F = x->shape[1];
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, {N, T}, &out));
  if (!out) return Status::Ok();
  for (int64_t r = 0; r < N; ++r) {
    std::vector<double> acc(T, 0.0);
    std::vector<bool> hit(T, false);
    for (size_t root : roots) {
      size_t k = root, steps = 0;
      while (mode[k] != 6) {
        if (++steps > nn) return err(ctx, "tree " + std::to_string(tree[root]) + " does not reach a leaf");
        if (feat[k] < 0 || feat[k] >= F) return err(ctx, "feature id out of range");
        const double v = get_f64(*x, r * F + feat[k]), s = vals[k];
        bool c = branch_true(mode[k], v, s);
        if (std::isnan(v) && k < missing.size() && missing[k]) c = true;
        auto it = at.find({tree[k], c ? tn[k] : fn[k]});
        if (it == at.end()) return err(ctx, "node id " + std::to_string(c ? tn[k] : fn[k]) + " is missing from its tree");
        k = it->second;
      }
      for (const auto& tw1 : leaf_targets[k]) aggregate(agg, acc, hit, tw1.first, tw1.second);
    }
    for (int64_t t = 0; t < T; ++t) {
      if (agg == 0 && !roots.empty()) acc[t] /= static_cast<double>(roots.size());
      if (!base.empty()) acc[t] += base[t];
    }
    FLEETRT_RETURN_IF_ERROR(post_transform(ctx, post, &acc));
    for (int64_t t = 0; t < T; ++t) set_f64(*out, r * T + t, acc[t]);
  }
  return Status::Ok();
}

// ---- LinearRegressor ---------------------------------------------------------------------
Status LinearRegressor(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  if (!is_numeric(x->dtype) || x->rank() < 1 || x->rank() > 2) return err(ctx, "input must be a 1-D or 2-D numeric tensor");
  const std::vector<double> coef = ctx.attrs().get_floats("coefficients"), icpt = ctx.attrs().get_floats("intercepts");
  const int64_t T = ctx.attrs().get_int("targets", 1);
  const int64_t N = x->rank() == 2 ? x->shape[0] : 1, F = x->shape.back();
  if (T < 1 || static_cast<int64_t>(coef.size()) != T * F)
    return err(ctx, "coefficients must hold targets x features = " + std::to_string(T * F) + " values");
  if (!icpt.empty() && static_cast<int64_t>(icpt.size()) != T) return err(ctx, "intercepts must have one value per target");
  Post post;
  FLEETRT_RETURN_IF_ERROR(parse_post(ctx, &post));
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, {N, T}, &out));
  if (!out) return Status::Ok();
  std::vector<double> y(T);
  for (int64_t r = 0; r < N; ++r) {
    for (int64_t t = 0; t < T; ++t) {
      double acc = icpt.empty() ? 0.0 : icpt[t];
      for (int64_t f = 0; f < F; ++f) acc += coef[t * F + f] * get_f64(*x, r * F + f);
      y[t] = acc;
    }
    FLEETRT_RETURN_IF_ERROR(post_transform(ctx, post, &y));
    for (int64_t t = 0; t < T; ++t) set_f64(*out, r * T + t, y[t]);
  }
  return Status::Ok();
}

FLEETRT_REGISTER_KERNEL("ai.onnx.ml", "TreeEnsemble", TreeEnsemble);
FLEETRT_REGISTER_KERNEL("ai.onnx.ml", "TreeEnsembleRegressor", TreeEnsembleRegressor);
FLEETRT_REGISTER_KERNEL("ai.onnx.ml", "LinearRegressor", LinearRegressor);

}  // namespace
}  // namespace fleetrt
