// ai.onnx.ml feature transforms: LabelEncoder (opsets 1–4, list and tensor attributes),
// Binarizer, ArrayFeatureExtractor, Scaler, Normalizer, Imputer, OneHotEncoder, CategoryMapper,
// FeatureVectorizer. (Tree and linear models: misc_ml_models.cpp.)
#include <algorithm>
#include <cmath>
#include <map>

#include "data_util.h"

namespace fleetrt {
namespace {
using namespace datak;

// A key or value of LabelEncoder: string or number (ints kept exact).
struct Scalar {
  bool is_str = false;
  std::string s;
  double f = 0;
  int64_t i = 0;
};

bool scalar_less(const Scalar& a, const Scalar& b) {
  if (a.is_str) return a.s < b.s;
  // NaN keys compare equal to each other and after every number.
  if (std::isnan(a.f) || std::isnan(b.f)) return !std::isnan(a.f) && std::isnan(b.f);
  if (a.f != b.f) return a.f < b.f;
  return a.i < b.i;
}

Scalar tensor_scalar(const Tensor& t, int64_t k) {
  Scalar s;
  if (t.dtype == DType::kString) {
    s.is_str = true;
    s.s = t.as<std::string>()[k];
  } else {
    s.f = get_f64(t, k);
    s.i = is_int_dtype(t.dtype) ? get_int(t, k) : static_cast<int64_t>(s.f);
  }
  return s;
}

// Reads the `<prefix>_strings / _int64s / _floats / _tensor` attribute family.
Status read_list(const KernelContext& ctx, const std::string& prefix, std::vector<Scalar>* out) {
  const Attributes& a = ctx.attrs();
  out->clear();
  if (const Attribute* t = a.find((prefix + "_tensor").c_str())) {
    for (int64_t k = 0; k < t->tensor.numel(); ++k) out->push_back(tensor_scalar(t->tensor, k));
    return Status::Ok();
  }
  for (const std::string& s : a.get_strings((prefix + "_strings").c_str())) {
    Scalar v;
    v.is_str = true;
    v.s = s;
    out->push_back(v);
  }
  for (int64_t i : a.get_ints((prefix + "_int64s").c_str())) {
    Scalar v;
    v.i = i;
    v.f = static_cast<double>(i);
    out->push_back(v);
  }
  for (double f : a.get_floats((prefix + "_floats").c_str())) {
    Scalar v;
    v.f = f;
    v.i = static_cast<int64_t>(f);
    out->push_back(v);
  }
  if (out->empty()) return err(ctx, "missing attribute '" + prefix + "_*'");
  return Status::Ok();
}

void put_scalar(Tensor* t, int64_t k, const Scalar& v) {
  if (t->dtype == DType::kString) t->as<std::string>()[k] = v.s;
  else if (t->dtype == DType::kI64) t->as<int64_t>()[k] = v.i;
  else set_f64(*t, k, is_float_dtype(t->dtype) ? v.f : static_cast<double>(v.i));
}

Status LabelEncoder(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  std::vector<Scalar> keys, vals;
  FLEETRT_RETURN_IF_ERROR(read_list(ctx, "keys", &keys));
  FLEETRT_RETURN_IF_ERROR(read_list(ctx, "values", &vals));
  if (keys.size() != vals.size()) return err(ctx, "keys and values differ in length");
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, x->shape, &out));
  if (!out) return Status::Ok();
  Scalar def;
  const Attributes& a = ctx.attrs();
  if (const Attribute* t = a.find("default_tensor")) {
    if (t->tensor.numel() < 1) return err(ctx, "default_tensor is empty");
    def = tensor_scalar(t->tensor, 0);
  } else if (out->dtype == DType::kString) {
    def.is_str = true;
    def.s = a.get_string("default_string", "_Unused");
  } else if (out->dtype == DType::kI64 || is_int_dtype(out->dtype)) {
    def.i = a.get_int("default_int64", -1);
    def.f = static_cast<double>(def.i);
  } else {
    def.f = a.get_float("default_float", -0.0);
  }
  std::map<Scalar, size_t, bool (*)(const Scalar&, const Scalar&)> m(scalar_less);
  for (size_t k = 0; k < keys.size(); ++k) {
    if (keys[k].is_str != (x->dtype == DType::kString)) return err(ctx, "key type does not match the input dtype");
    m.emplace(keys[k], k);
  }
  for (int64_t k = 0; k < x->numel(); ++k) {
    auto it = m.find(tensor_scalar(*x, k));
    put_scalar(out, k, it == m.end() ? def : vals[it->second]);
  }
  return Status::Ok();
}

Status Binarizer(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  if (!is_numeric(x->dtype)) return err(ctx, "input must be numeric");
  const double thr = ctx.attrs().get_float("threshold", 0.0);
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, x->shape, &out));
  if (!out) return Status::Ok();
  for (int64_t k = 0; k < x->numel(); ++k) set_f64(*out, k, get_f64(*x, k) > thr ? 1.0 : 0.0);
  return Status::Ok();
}

Status ArrayFeatureExtractor(KernelContext& ctx) {
  const Tensor *x, *y;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &y));
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, x->dtype));
  if (x->rank() == 0) return err(ctx, "input must have rank >= 1");
  std::vector<int64_t> idx;
  FLEETRT_RETURN_IF_ERROR(read_ints(ctx, y, "Y", &idx));
  const int64_t C = x->shape.back(), K = static_cast<int64_t>(idx.size()), rows = x->numel() / std::max<int64_t>(C, 1);
  std::vector<int64_t> oshape = x->shape;
  oshape.back() = K;
  if (x->rank() == 1) oshape = {1, K};
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, oshape, &out));
  if (!out) return Status::Ok();
  for (int64_t k : idx)
    if (k < 0 || k >= C) return err(ctx, "index " + std::to_string(k) + " is out of range for " + std::to_string(C) + " features");
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < K; ++j) copy_elems(x->dtype, out->data, r * K + j, x->data, r * C + idx[j], 1);
  return Status::Ok();
}

// Per-feature attribute value: one value for all features, or one per feature.
Status per_feature(const KernelContext& ctx, const std::vector<double>& v, int64_t F, const char* what, std::vector<double>* out) {
  if (v.size() == 1) out->assign(F, v[0]);
  else if (static_cast<int64_t>(v.size()) == F) *out = v;
  else return err(ctx, std::string(what) + " has " + std::to_string(v.size()) + " values for " + std::to_string(F) + " features");
  return Status::Ok();
}

Status Scaler(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  if (!is_numeric(x->dtype) || x->rank() == 0) return err(ctx, "input must be a numeric tensor of rank >= 1");
  const int64_t F = x->shape.back();
  std::vector<double> off, sc;
  std::vector<double> oa = ctx.attrs().get_floats("offset"), sa = ctx.attrs().get_floats("scale");
  if (oa.empty()) oa = {0.0};
  if (sa.empty()) sa = {1.0};
  FLEETRT_RETURN_IF_ERROR(per_feature(ctx, oa, F, "offset", &off));
  FLEETRT_RETURN_IF_ERROR(per_feature(ctx, sa, F, "scale", &sc));
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, x->shape, &out));
  if (!out) return Status::Ok();
  for (int64_t i = 0; i < x->numel(); ++i) set_f64(*out, i, (get_f64(*x, i) - off[i % F]) * sc[i % F]);
  return Status::Ok();
}

Status Normalizer(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  if (!is_numeric(x->dtype) || x->rank() < 1 || x->rank() > 2) return err(ctx, "input must be a 1-D or 2-D numeric tensor");
  const std::string norm = ctx.attrs().get_string("norm", "MAX");
  if (norm != "MAX" && norm != "L1" && norm != "L2") return err(ctx, "unknown norm '" + norm + "'");
  const int64_t F = x->shape.back(), N = F ? x->numel() / F : 0;
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, x->shape, &out));
  if (!out) return Status::Ok();
  for (int64_t r = 0; r < N; ++r) {
    double d = 0;
    for (int64_t f = 0; f < F; ++f) {
      double v = get_f64(*x, r * F + f);
      if (norm == "MAX") d = f == 0 ? v : std::max(d, v);
      else if (norm == "L1") d += std::fabs(v);
      else d += v * v;
    }
    if (norm == "L2") d = std::sqrt(d);
    for (int64_t f = 0; f < F; ++f) {
      double v = get_f64(*x, r * F + f);
      set_f64(*out, r * F + f, d != 0 ? v / d : v);
    }
  }
  return Status::Ok();
}

Status Imputer(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  if (!is_numeric(x->dtype) || x->rank() == 0) return err(ctx, "input must be a numeric tensor of rank >= 1");
  const Attributes& a = ctx.attrs();
  const bool floats = is_float_dtype(x->dtype);
  std::vector<double> imp;
  if (floats) {
    imp = a.get_floats("imputed_value_floats");
  } else {
    for (int64_t v : a.get_ints("imputed_value_int64s")) imp.push_back(static_cast<double>(v));
  }
  const int64_t F = x->shape.back();
  std::vector<double> per;
  FLEETRT_RETURN_IF_ERROR(per_feature(ctx, imp, F, "imputed values", &per));
  const double repl = floats ? a.get_float("replaced_value_float", 0.0) : static_cast<double>(a.get_int("replaced_value_int64", 0));
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, x->shape, &out));
  if (!out) return Status::Ok();
  for (int64_t i = 0; i < x->numel(); ++i) {
    double v = get_f64(*x, i);
    bool hit = std::isnan(repl) ? std::isnan(v) : v == repl;
    if (hit) set_f64(*out, i, per[i % F]);
    else copy_elems(x->dtype, out->data, i, x->data, i, 1);
  }
  return Status::Ok();
}

Status OneHotEncoder(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  const std::vector<int64_t> ci = ctx.attrs().get_ints("cats_int64s");
  const std::vector<std::string> cs = ctx.attrs().get_strings("cats_strings");
  const bool strings = x->dtype == DType::kString;
  if (strings ? cs.empty() : ci.empty()) return err(ctx, strings ? "missing cats_strings" : "missing cats_int64s");
  if (!strings && !is_numeric(x->dtype)) return err(ctx, "unsupported input dtype");
  const int64_t C = static_cast<int64_t>(strings ? cs.size() : ci.size());
  const bool zeros = ctx.attrs().get_int("zeros", 1) != 0;
  std::vector<int64_t> shape = x->shape;
  shape.push_back(C);
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &out));
  if (!out) return Status::Ok();
  for (int64_t i = 0; i < x->numel(); ++i) {
    int64_t hit = -1;
    for (int64_t c = 0; c < C && hit < 0; ++c)
      if (strings ? x->as<std::string>()[i] == cs[c] : get_f64(*x, i) == static_cast<double>(ci[c])) hit = c;
    if (hit < 0 && !zeros) return err(ctx, "value at index " + std::to_string(i) + " is not a known category (zeros = 0)");
    for (int64_t c = 0; c < C; ++c) set_f64(*out, i * C + c, c == hit ? 1.0 : 0.0);
  }
  return Status::Ok();
}

Status CategoryMapper(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  const std::vector<int64_t> ci = ctx.attrs().get_ints("cats_int64s");
  const std::vector<std::string> cs = ctx.attrs().get_strings("cats_strings");
  if (ci.size() != cs.size()) return err(ctx, "cats_int64s and cats_strings differ in length");
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, x->shape, &out));
  if (!out) return Status::Ok();
  if (x->dtype == DType::kString) {
    std::map<std::string, int64_t> m;
    for (size_t k = 0; k < cs.size(); ++k) m.emplace(cs[k], ci[k]);
    const int64_t def = ctx.attrs().get_int("default_int64", -1);
    for (int64_t i = 0; i < x->numel(); ++i) {
      auto it = m.find(x->as<std::string>()[i]);
      set_f64(*out, i, static_cast<double>(it == m.end() ? def : it->second));
    }
    return Status::Ok();
  }
  if (x->dtype != DType::kI64 || out->dtype != DType::kString) return err(ctx, "input must be string or int64");
  std::map<int64_t, std::string> m;
  for (size_t k = 0; k < ci.size(); ++k) m.emplace(ci[k], cs[k]);
  const std::string def = ctx.attrs().get_string("default_string", "_Unused");
  for (int64_t i = 0; i < x->numel(); ++i) {
    auto it = m.find(x->as<int64_t>()[i]);
    out->as<std::string>()[i] = it == m.end() ? def : it->second;
  }
  return Status::Ok();
}

Status FeatureVectorizer(KernelContext& ctx) {
  const std::vector<int64_t> dims = ctx.attrs().get_ints("inputdimensions");
  if (static_cast<int>(dims.size()) != ctx.num_inputs()) return err(ctx, "inputdimensions must have one entry per input");
  int64_t N = -1, W = 0;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor* t;
    FLEETRT_RETURN_IF_ERROR(require_input(ctx, i, &t));
    if (!is_numeric(t->dtype)) return err(ctx, "inputs must be numeric");
    const int64_t n = t->rank() <= 1 ? 1 : t->numel() / std::max<int64_t>(t->shape.back(), 1);
    if (N >= 0 && n != N) return err(ctx, "inputs differ in batch size");
    N = n;
    if (dims[i] < 0) return err(ctx, "inputdimensions must be non-negative");
    W += dims[i];
  }
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, {std::max<int64_t>(N, 0), W}, &out));
  if (!out) return Status::Ok();
  int64_t col = 0;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = *ctx.input(i);
    const int64_t w = t.rank() == 0 ? 1 : t.shape.back();
    for (int64_t r = 0; r < N; ++r)
      for (int64_t c = 0; c < dims[i]; ++c) set_f64(*out, r * W + col + c, c < w ? get_f64(t, r * w + c) : 0.0);
    col += dims[i];
  }
  return Status::Ok();
}

FLEETRT_REGISTER_KERNEL("ai.onnx.ml", "LabelEncoder", LabelEncoder);
FLEETRT_REGISTER_KERNEL("ai.onnx.ml", "Binarizer", Binarizer);
FLEETRT_REGISTER_KERNEL("ai.onnx.ml", "ArrayFeatureExtractor", ArrayFeatureExtractor);
FLEETRT_REGISTER_KERNEL("ai.onnx.ml", "Scaler", Scaler);
FLEETRT_REGISTER_KERNEL("ai.onnx.ml", "Normalizer", Normalizer);
FLEETRT_REGISTER_KERNEL("ai.onnx.ml", "Imputer", Imputer);
FLEETRT_REGISTER_KERNEL("ai.onnx.ml", "OneHotEncoder", OneHotEncoder);
FLEETRT_REGISTER_KERNEL("ai.onnx.ml", "CategoryMapper", CategoryMapper);
FLEETRT_REGISTER_KERNEL("ai.onnx.ml", "FeatureVectorizer", FeatureVectorizer);

}  // namespace
}  // namespace fleetrt
