// The cuda kernel set's element-type table and the host-side shape helpers its kernels share.
#include <algorithm>
#include <utility>

#include "backends/cuda/cuda_context.h"

namespace fleetrt {
namespace cuda {

namespace {
struct DTypeEntry {
  std::string domain, op;
  std::vector<std::string> dtypes;
};
std::vector<DTypeEntry>& dtype_table() {
  static std::vector<DTypeEntry> t;
  return t;
}
}  // namespace

bool register_dtypes(const char* domain, const char* op_type, const char* dtypes) {
  DTypeEntry e{domain, op_type, {}};
  std::string cur;
  for (const char* c = dtypes;; ++c) {
    if (*c == ',' || *c == '\0') {
      if (!cur.empty()) e.dtypes.push_back(cur);
      cur.clear();
      if (!*c) break;
    } else if (*c != ' ') {
      cur += *c;
    }
  }
  dtype_table().push_back(std::move(e));
  return true;
}

const std::vector<std::string>* kernel_dtypes(const std::string& domain, const std::string& op_type) {
  const std::string d = domain == "ai.onnx" ? std::string() : domain;
  for (const DTypeEntry& e : dtype_table())
    if (e.domain == d && e.op == op_type) return &e.dtypes;
  return nullptr;
}

Status check_dtypes(KernelContext& ctx) {
  // The op's domain is not on the context; cuda op types are unique across domains.
  const std::vector<std::string>* list = nullptr;
  for (const DTypeEntry& e : dtype_table())
    if (e.op == ctx.op_type()) list = &e.dtypes;
  if (!list) return Status::Ok();
  auto ok = [&](DType t) { return std::find(list->begin(), list->end(), dtype_name(t)) != list->end(); };
  // Integer inputs after the first are shape-like (axes, shapes, indices; the compiler does not
  // count them when they are weights): the kernels check those themselves.
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor* t = ctx.input(i);
    if (!t || (i > 0 && (t->dtype == DType::kI64 || t->dtype == DType::kI32))) continue;
    if (!ok(t->dtype)) return op_error(ctx, std::string("input ") + std::to_string(i) + " is " + dtype_name(t->dtype) + ", which this kernel does not take");
  }
  return Status::Ok();
}

bool broadcast_shape(const std::vector<std::vector<int64_t>>& shapes, std::vector<int64_t>* out) {
  size_t rank = 0;
  for (const auto& s : shapes) rank = std::max(rank, s.size());
  out->assign(rank, 1);
  for (const auto& s : shapes)
    for (size_t k = 0; k < s.size(); ++k) {
      int64_t& o = (*out)[rank - s.size() + k];
      if (s[k] == o || s[k] == 1) continue;
      if (o != 1) return false;
      o = s[k];
    }
  return true;
}

Dims broadcast_dims(const std::vector<int64_t>& shape, const std::vector<int64_t>& out) {
  Dims d;
  d.rank = static_cast<int>(out.size());
  int64_t stride = 1;
  for (int k = d.rank - 1; k >= 0; --k) {
    d.size[k] = out[k];
    const int src = k - (d.rank - static_cast<int>(shape.size()));
    if (src >= 0 && shape[src] != 1) {
      d.stride[k] = stride;
      stride *= shape[src];
    } else {
      d.stride[k] = 0;
      if (src >= 0) stride *= shape[src];
    }
  }
  return d;
}

bool host_ints(const Tensor* t, std::vector<int64_t>* out) {
  out->clear();
  if (!t) return false;
  const int64_t n = t->numel();
  if (t->dtype == DType::kI64) out->assign(t->as<int64_t>(), t->as<int64_t>() + n);
  else if (t->dtype == DType::kI32) out->assign(t->as<int32_t>(), t->as<int32_t>() + n);
  else return false;
  return true;
}

}  // namespace cuda
}  // namespace fleetrt
