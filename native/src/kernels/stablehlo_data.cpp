// Data-movement StableHLO ops that have no exact ONNX equivalent: iota, reverse, pad with
// interior padding, dynamic_slice / dynamic_update_slice (start indices clamped as the spec
// says), gather and scatter with the full dimension numbers (batching dims included),
// bitcast_convert, get_dimension_size, dynamic_iota / dynamic_broadcast_in_dim /
// dynamic_reshape, and chlo.mulhi. Elements are moved as bytes; only iota and scatter's update
// computation look at values.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "stablehlo_util.h"

namespace fleetrt {
namespace shlo {
namespace {

Status need_bytes(const KernelContext& ctx, DType t) {
  if (elem_size(t) == 0) return err(ctx, std::string("element type ") + dtype_name(t) + " is not supported");
  return Status::Ok();
}

int64_t offset_of(const std::vector<int64_t>& idx, const std::vector<int64_t>& strides) {
  int64_t o = 0;
  for (size_t i = 0; i < idx.size(); ++i) o += idx[i] * strides[i];
  return o;
}

// Writes the index along the iota_dimension attribute into every element of y.
Status fill_iota(const KernelContext& ctx, Tensor* y) {
  int64_t dim = ctx.attrs().get_int("iota_dimension", 0);
  if (dim < 0 || dim >= static_cast<int64_t>(y->rank())) return err(ctx, "iota_dimension out of range");
  std::vector<int64_t> st = strides_of(y->shape);
  int64_t n = y->numel(), len = y->shape[dim];
  return visit_dtype(ctx, y->dtype, [&](auto tag) -> Status {
    using T = decltype(tag);
    using C = compute_t<T>;
    T* o = y->as<T>();
    for (int64_t i = 0; i < n; ++i) o[i] = Elem<T>::store(static_cast<C>((i / st[dim]) % len));
    return Status::Ok();
  });
}

// y[idx] = x[src_of(idx)] for every multi-index idx of y (row-major), moving elem_size bytes each.
template <class F>
void gather_elements(const Tensor& x, Tensor* y, F src_of) {
  size_t es = elem_size(x.dtype);
  std::vector<int64_t> idx(y->rank(), 0);
  int64_t n = y->numel();
  for (int64_t i = 0; i < n; ++i, next_index(idx, y->shape))
    std::memcpy(static_cast<char*>(y->data) + i * es, static_cast<const char*>(x.data) + src_of(idx) * es, es);
}

Status iota(KernelContext& ctx) {
  std::vector<int64_t> shape = ctx.attrs().get_ints("shape");
  Tensor* y = ctx.output(0);
  if (!y) FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &y));
  if (!y) return Status::Ok();
  return fill_iota(ctx, y);
}

// dynamic_iota(output_shape): the shape is an operand.
Status dynamic_iota(KernelContext& ctx) {
  std::vector<int64_t> shape;
  FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(0), "output_shape", &shape));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &y));
  if (!y) return Status::Ok();
  return fill_iota(ctx, y);
}

Status reverse(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(need_bytes(ctx, x->dtype));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, x->shape, &y));
  if (!y) return Status::Ok();
  std::vector<bool> rev(x->rank(), false);
  for (int64_t d : ctx.attrs().get_ints("dimensions")) {
    if (d < 0 || d >= static_cast<int64_t>(x->rank())) return err(ctx, "dimension out of range");
    rev[d] = true;
  }
  std::vector<int64_t> st = strides_of(x->shape);
  gather_elements(*x, y, [&](const std::vector<int64_t>& idx) {
    int64_t src = 0;
    for (size_t d = 0; d < idx.size(); ++d) src += (rev[d] ? x->shape[d] - 1 - idx[d] : idx[d]) * st[d];
    return src;
  });
  return Status::Ok();
}

// pad(operand, padding_value): edges may be negative (cropping); interior >= 0.
Status pad(KernelContext& ctx) {
  const Tensor *x, *v;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &v));
  FLEETRT_RETURN_IF_ERROR(need_bytes(ctx, x->dtype));
  size_t r = x->rank();
  std::vector<int64_t> lo, hi, in;
  FLEETRT_RETURN_IF_ERROR(ints_attr(ctx, "edge_padding_low", r, -2, &lo));
  FLEETRT_RETURN_IF_ERROR(ints_attr(ctx, "edge_padding_high", r, -2, &hi));
  FLEETRT_RETURN_IF_ERROR(ints_attr(ctx, "interior_padding", r, 0, &in));
  std::vector<int64_t> shape(r);
  for (size_t d = 0; d < r; ++d) {
    if (in[d] < 0) return err(ctx, "negative interior padding");
    int64_t n = x->shape[d];
    shape[d] = lo[d] + hi[d] + (n > 0 ? n + (n - 1) * in[d] : 0);
    if (shape[d] < 0) return err(ctx, "padding makes a negative dimension");
  }
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &y));
  if (!y) return Status::Ok();
  size_t es = elem_size(x->dtype);
  int64_t on = y->numel();
  for (int64_t i = 0; i < on; ++i) std::memcpy(static_cast<char*>(y->data) + i * es, v->data, es);
  std::vector<int64_t> ost = strides_of(shape), idx(r, 0);
  int64_t n = x->numel();
  for (int64_t i = 0; i < n; ++i, next_index(idx, x->shape)) {
    int64_t o = 0;
    bool inside = true;
    for (size_t d = 0; d < r && inside; ++d) {
      int64_t p = lo[d] + idx[d] * (in[d] + 1);
      inside = p >= 0 && p < shape[d];
      o += p * ost[d];
    }
    if (inside) std::memcpy(static_cast<char*>(y->data) + o * es, static_cast<const char*>(x->data) + i * es, es);
  }
  return Status::Ok();
}

// Start indices from scalar operands [first, first + rank), clamped to [0, dim - size].
Status clamped_starts(const KernelContext& ctx, int first, const std::vector<int64_t>& dims,
                      const std::vector<int64_t>& sizes, std::vector<int64_t>* starts) {
  size_t r = dims.size();
  if (ctx.num_inputs() < first + static_cast<int>(r)) return err(ctx, "expects one start index per dimension");
  starts->resize(r);
  for (size_t d = 0; d < r; ++d) {
    const Tensor* t = ctx.input(first + static_cast<int>(d));
    if (!t || t->numel() != 1) return err(ctx, "start indices must be scalars");
    int64_t s = get_int(*t, 0);
    int64_t hi = dims[d] - sizes[d];
    (*starts)[d] = s < 0 ? 0 : (s > hi ? hi : s);
  }
  return Status::Ok();
}

Status dynamic_slice(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(need_bytes(ctx, x->dtype));
  std::vector<int64_t> sizes, starts;
  FLEETRT_RETURN_IF_ERROR(ints_attr(ctx, "slice_sizes", x->rank(), -2, &sizes));
  for (size_t d = 0; d < sizes.size(); ++d)
    if (sizes[d] < 0 || sizes[d] > x->shape[d]) return err(ctx, "slice size out of range");
  FLEETRT_RETURN_IF_ERROR(clamped_starts(ctx, 1, x->shape, sizes, &starts));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, sizes, &y));
  if (!y) return Status::Ok();
  std::vector<int64_t> st = strides_of(x->shape);
  gather_elements(*x, y, [&](const std::vector<int64_t>& idx) {
    int64_t src = 0;
    for (size_t d = 0; d < idx.size(); ++d) src += (starts[d] + idx[d]) * st[d];
    return src;
  });
  return Status::Ok();
}

Status dynamic_update_slice(KernelContext& ctx) {
  const Tensor *x, *u;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &u));
  FLEETRT_RETURN_IF_ERROR(need_bytes(ctx, x->dtype));
  if (u->rank() != x->rank() || u->dtype != x->dtype) return err(ctx, "update must have the operand's rank and type");
  for (size_t d = 0; d < u->rank(); ++d)
    if (u->shape[d] > x->shape[d]) return err(ctx, "update is larger than the operand");
  std::vector<int64_t> starts;
  FLEETRT_RETURN_IF_ERROR(clamped_starts(ctx, 2, x->shape, u->shape, &starts));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, x->shape, &y));
  if (!y) return Status::Ok();
  size_t es = elem_size(x->dtype);
  if (y->data != x->data) std::memcpy(y->data, x->data, x->bytes());
  std::vector<int64_t> st = strides_of(x->shape), idx(u->rank(), 0);
  int64_t n = u->numel();
  for (int64_t i = 0; i < n; ++i, next_index(idx, u->shape)) {
    int64_t dst = 0;
    for (size_t d = 0; d < idx.size(); ++d) dst += (starts[d] + idx[d]) * st[d];
    std::memcpy(static_cast<char*>(y->data) + dst * es, static_cast<const char*>(u->data) + i * es, es);
  }
  return Status::Ok();
}

bool contains(const std::vector<int64_t>& v, int64_t x) {
  for (int64_t e : v)
    if (e == x) return true;
  return false;
}

// Element k of the index vector at batch position `batch` (index_vector_dim inserted).
int64_t index_at(const Tensor& ind, const std::vector<int64_t>& batch, int64_t ivd, int64_t k,
                 const std::vector<int64_t>& ist) {
  int64_t o = 0;
  size_t b = 0;
  for (int64_t d = 0; d < static_cast<int64_t>(ind.rank()); ++d) o += (d == ivd ? k : batch[b++]) * ist[d];
  return get_int(ind, o);
}

// gather, with slice_sizes from the attribute or (dynamic_gather) from input 2.
Status gather_impl(KernelContext& ctx, const std::vector<int64_t>& sizes) {
  const Tensor *x, *ind;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &ind));
  FLEETRT_RETURN_IF_ERROR(need_bytes(ctx, x->dtype));
  const Attributes& a = ctx.attrs();
  std::vector<int64_t> offset_dims = a.get_ints("offset_dims"), collapsed = a.get_ints("collapsed_slice_dims"),
                       obatch = a.get_ints("operand_batching_dims"), ibatch = a.get_ints("start_indices_batching_dims"),
                       sim = a.get_ints("start_index_map");
  int64_t ivd = a.get_int("index_vector_dim", static_cast<int64_t>(ind->rank()) - 1);
  if (sizes.size() != x->rank()) return err(ctx, "slice_sizes must have one entry per operand dimension");
  std::vector<int64_t> batch_shape;
  for (int64_t d = 0; d < static_cast<int64_t>(ind->rank()); ++d)
    if (d != ivd) batch_shape.push_back(ind->shape[d]);
  std::vector<int64_t> off_sizes, off_dims_operand;
  for (int64_t d = 0; d < static_cast<int64_t>(x->rank()); ++d)
    if (!contains(collapsed, d) && !contains(obatch, d)) {
      off_sizes.push_back(sizes[d]);
      off_dims_operand.push_back(d);
    }
  size_t rr = batch_shape.size() + off_sizes.size();
  if (offset_dims.size() != off_sizes.size()) return err(ctx, "offset_dims does not match slice_sizes");
  std::vector<int64_t> shape(rr);
  std::vector<int> kind(rr, -1);  // -1 batch, else offset ordinal
  {
    size_t b = 0, o = 0;
    for (size_t d = 0; d < rr; ++d) {
      if (contains(offset_dims, static_cast<int64_t>(d))) {
        kind[d] = static_cast<int>(o);
        shape[d] = off_sizes[o++];
      } else {
        if (b >= batch_shape.size()) return err(ctx, "dimension numbers do not fit the indices");
        shape[d] = batch_shape[b++];
      }
    }
  }
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &y));
  if (!y) return Status::Ok();
  size_t es = elem_size(x->dtype);
  std::vector<int64_t> xst = strides_of(x->shape), ist = strides_of(ind->shape), idx(rr, 0), bidx, full(x->rank());
  int64_t n = y->numel();
  int64_t nvec = ivd < static_cast<int64_t>(ind->rank()) ? ind->shape[ivd] : 1;
  if (static_cast<int64_t>(sim.size()) != nvec) return err(ctx, "start_index_map does not match the index vector");
  for (int64_t i = 0; i < n; ++i, next_index(idx, shape)) {
    bidx.clear();
    std::fill(full.begin(), full.end(), 0);
    for (size_t d = 0; d < rr; ++d)
      if (kind[d] < 0) bidx.push_back(idx[d]);
      else full[off_dims_operand[kind[d]]] += idx[d];
    for (int64_t k = 0; k < nvec; ++k) {
      int64_t od = sim[k];
      int64_t s = index_at(*ind, bidx, ivd, k, ist);
      int64_t hi = x->shape[od] - sizes[od];
      full[od] += s < 0 ? 0 : (s > hi ? hi : s);
    }
    for (size_t k = 0; k < obatch.size(); ++k) {
      int64_t ds = ibatch[k];
      full[obatch[k]] += bidx[ds < ivd ? ds : ds - 1];
    }
    std::memcpy(static_cast<char*>(y->data) + i * es, static_cast<const char*>(x->data) + offset_of(full, xst) * es, es);
  }
  return Status::Ok();
}

Status gather(KernelContext& ctx) { return gather_impl(ctx, ctx.attrs().get_ints("slice_sizes")); }

Status dynamic_gather(KernelContext& ctx) {
  std::vector<int64_t> sizes;
  FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(2), "slice_sizes", &sizes));
  return gather_impl(ctx, sizes);
}

// scatter(inputs…, scatter_indices, updates…) with update_computation; out-of-bounds updates
// are skipped. Updates are applied in row-major order of the update index.
Status scatter(KernelContext& ctx) {
  int n_in = ctx.num_inputs();
  if (n_in < 3 || n_in % 2 == 0) return err(ctx, "expects N inputs, the indices and N updates");
  int n = (n_in - 1) / 2;
  const Tensor* ind = ctx.input(n);
  if (!ind) return err(ctx, "missing scatter_indices");
  std::vector<const Tensor*> xs(n), us(n);
  std::vector<Tensor*> ys(n);
  for (int i = 0; i < n; ++i) {
    xs[i] = ctx.input(i);
    us[i] = ctx.input(n + 1 + i);
    if (!xs[i] || !us[i]) return err(ctx, "missing operand");
    FLEETRT_RETURN_IF_ERROR(need_bytes(ctx, xs[i]->dtype));
    FLEETRT_RETURN_IF_ERROR(make_output(ctx, i, xs[i]->shape, &ys[i]));
    if (!ys[i]) return err(ctx, "every result must be used");
    if (ys[i]->data != xs[i]->data) std::memcpy(ys[i]->data, xs[i]->data, xs[i]->bytes());
  }
  const Attributes& a = ctx.attrs();
  std::vector<int64_t> uwd = a.get_ints("update_window_dims"), iwd = a.get_ints("inserted_window_dims"),
                       ibd = a.get_ints("input_batching_dims"), sibd = a.get_ints("scatter_indices_batching_dims"),
                       sdod = a.get_ints("scatter_dims_to_operand_dims");
  int64_t ivd = a.get_int("index_vector_dim", static_cast<int64_t>(ind->rank()) - 1);
  const Tensor& x0 = *xs[0];
  const Tensor& u0 = *us[0];
  int64_t nvec = ivd < static_cast<int64_t>(ind->rank()) ? ind->shape[ivd] : 1;
  if (static_cast<int64_t>(sdod.size()) != nvec) return err(ctx, "scatter_dims_to_operand_dims does not match the index vector");
  std::vector<int64_t> window_operand_dims;
  for (int64_t d = 0; d < static_cast<int64_t>(x0.rank()); ++d)
    if (!contains(iwd, d) && !contains(ibd, d)) window_operand_dims.push_back(d);
  if (window_operand_dims.size() != uwd.size()) return err(ctx, "update_window_dims does not fit the operand");
  ScalarRegion region(ctx, graph_attr(ctx, "update_computation"));
  std::vector<DType> types;
  for (int i = 0; i < n; ++i) types.push_back(xs[i]->dtype);
  for (int i = 0; i < n; ++i) types.push_back(us[i]->dtype);
  FLEETRT_RETURN_IF_ERROR(region.init(types));
  std::vector<int64_t> xst = strides_of(x0.shape), ist = strides_of(ind->shape), ust = strides_of(u0.shape);
  std::vector<int64_t> idx(u0.rank(), 0), bidx, full(x0.rank());
  int64_t total = u0.numel();
  for (int64_t e = 0; e < total; ++e, next_index(idx, u0.shape)) {
    bidx.clear();
    std::fill(full.begin(), full.end(), 0);
    size_t w = 0;
    for (int64_t d = 0; d < static_cast<int64_t>(u0.rank()); ++d)
      if (contains(uwd, d)) full[window_operand_dims[w++]] += idx[d];
      else bidx.push_back(idx[d]);
    for (int64_t k = 0; k < nvec; ++k) full[sdod[k]] += index_at(*ind, bidx, ivd, k, ist);
    for (size_t k = 0; k < ibd.size(); ++k) {
      int64_t ds = sibd[k];
      full[ibd[k]] += bidx[ds < ivd ? ds : ds - 1];
    }
    bool inside = true;
    for (size_t d = 0; d < full.size() && inside; ++d) inside = full[d] >= 0 && full[d] < x0.shape[d];
    if (!inside) continue;
    int64_t o = offset_of(full, xst);
    for (int i = 0; i < n; ++i) {
      size_t es = elem_size(xs[i]->dtype);
      region.set_arg(i, static_cast<char*>(ys[i]->data) + o * es);
      region.set_arg(n + i, static_cast<const char*>(us[i]->data) + e * elem_size(us[i]->dtype));
    }
    FLEETRT_RETURN_IF_ERROR(region.run(n));
    for (int i = 0; i < n; ++i)
      FLEETRT_RETURN_IF_ERROR(store_scalar(ctx, region.result(i), ys[i]->dtype,
                                           static_cast<char*>(ys[i]->data) + o * elem_size(ys[i]->dtype)));
  }
  return Status::Ok();
}

// bitcast_convert: same bits; a narrower result adds a minor dimension, a wider one drops it.
// i1 counts as one bit (f64 → 64 x i1, least significant bit first).
Status bitcast_convert(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(need_bytes(ctx, x->dtype));
  int64_t from = x->dtype == DType::kBool ? 1 : static_cast<int64_t>(elem_size(x->dtype)) * 8;
  int64_t to = ctx.attrs().get_int("result_elem_bits", from);
  Tensor* pre = ctx.output(0);
  std::vector<int64_t> shape = x->shape;
  if (pre) {
    shape = pre->shape;
  } else if (to < from) {
    shape.push_back(from / to);
  } else if (to > from) {
    if (shape.empty() || shape.back() * from != to) return err(ctx, "the minor dimension does not fit the result type");
    shape.pop_back();
  }
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &y));
  if (!y) return Status::Ok();
  if (from > 1 && to > 1) {
    if (y->bytes() != x->bytes()) return err(ctx, "result and operand sizes differ");
    if (y->data != x->data) std::memcpy(y->data, x->data, x->bytes());
    return Status::Ok();
  }
  if (numel_of(shape) * to != x->numel() * from) return err(ctx, "result and operand sizes differ");
  const uint8_t* src = x->as<uint8_t>();
  uint8_t* dst = y->as<uint8_t>();
  int64_t bits = x->numel() * from;
  if (to == 1 && from == 1) {
    std::memcpy(dst, src, x->numel());
  } else if (to == 1) {  // unpack: byte-sized elements → bits
    for (int64_t b = 0; b < bits; ++b) dst[b] = (src[b / 8] >> (b % 8)) & 1;
  } else {  // pack bits → byte-sized elements
    std::memset(dst, 0, y->bytes());
    for (int64_t b = 0; b < bits; ++b)
      if (src[b]) dst[b / 8] = static_cast<uint8_t>(dst[b / 8] | (1u << (b % 8)));
  }
  return Status::Ok();
}

// chlo.top_k(x, k) along the last dimension: values in descending total order (NaN above +inf,
// -NaN below -inf), ties by lower index; indices as the result's integer type.
Status top_k(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  if (x->rank() < 1) return err(ctx, "operand must have rank >= 1");
  int64_t k = ctx.attrs().get_int("k", -1), len = x->shape.back();
  if (k < 0 || k > len) return err(ctx, "k is out of range");
  std::vector<int64_t> shape = x->shape;
  shape.back() = k;
  Tensor *v, *ix;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &v));
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 1, shape, &ix));
  if (!v || !ix) return err(ctx, "both results must be used");
  return visit_dtype(ctx, x->dtype, [&](auto tag) -> Status {
    using T = decltype(tag);
    const T* p = x->as<T>();
    auto key = [](T t) -> double {
      auto c = Elem<T>::load(t);
      return static_cast<double>(c);
    };
    auto greater = [&](int64_t a, int64_t b, int64_t base) -> bool {
      double fa = key(p[base + a]), fb = key(p[base + b]);
      if constexpr (is_float_v<T>) {
        // Total order: compare sign-magnitude keys of the doubles.
        auto tk = [](double d) {
          int64_t bits;
          std::memcpy(&bits, &d, 8);
          return bits < 0 ? static_cast<int64_t>(0x8000000000000000ull) - bits - 1 : bits;
        };
        return tk(fa) > tk(fb);
      } else {
        return fa > fb;
      }
    };
    int64_t rows = x->numel() / (len ? len : 1);
    std::vector<int64_t> perm(len);
    for (int64_t r = 0; r < rows; ++r) {
      int64_t base = r * len;
      for (int64_t i = 0; i < len; ++i) perm[i] = i;
      std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return greater(a, b, base); });
      for (int64_t i = 0; i < k; ++i) {
        v->as<T>()[r * k + i] = p[base + perm[i]];
        int64_t o = r * k + i;
        if (ix->dtype == DType::kI64) ix->as<int64_t>()[o] = perm[i];
        else if (ix->dtype == DType::kI32) ix->as<int32_t>()[o] = static_cast<int32_t>(perm[i]);
        else return err(ctx, "indices must be i32 or i64");
      }
    }
    return Status::Ok();
  });
}

Status get_dimension_size(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  int64_t d = ctx.attrs().get_int("dimension", 0);
  if (d < 0 || d >= static_cast<int64_t>(x->rank())) return err(ctx, "dimension out of range");
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, {}, &y));
  if (!y) return Status::Ok();
  if (y->dtype != DType::kI32) return err(ctx, "result must be i32");
  y->as<int32_t>()[0] = static_cast<int32_t>(x->shape[d]);
  return Status::Ok();
}

// broadcast_in_dim with the result shape as input 1 (dynamic_broadcast_in_dim) or planned.
Status broadcast_to(KernelContext& ctx, const std::vector<int64_t>& shape) {
  const Tensor* x = ctx.input(0);
  if (!x) return err(ctx, "missing operand");
  FLEETRT_RETURN_IF_ERROR(need_bytes(ctx, x->dtype));
  std::vector<int64_t> dims = ctx.attrs().get_ints("broadcast_dimensions");
  if (dims.size() != x->rank()) return err(ctx, "broadcast_dimensions must have one entry per operand dimension");
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] < 0 || dims[i] >= static_cast<int64_t>(shape.size()) ||
        (x->shape[i] != 1 && x->shape[i] != shape[dims[i]]))
      return err(ctx, "operand does not broadcast to " + shape_str(shape));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &y));
  if (!y) return Status::Ok();
  std::vector<int64_t> xst = strides_of(x->shape);
  gather_elements(*x, y, [&](const std::vector<int64_t>& idx) {
    int64_t src = 0;
    for (size_t k = 0; k < dims.size(); ++k) src += (x->shape[k] == 1 ? 0 : idx[dims[k]]) * xst[k];
    return src;
  });
  return Status::Ok();
}

Status dynamic_broadcast_in_dim(KernelContext& ctx) {
  std::vector<int64_t> shape;
  FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(1), "output_dimensions", &shape));
  return broadcast_to(ctx, shape);
}

Status broadcast_in_dim(KernelContext& ctx) {
  Tensor* pre = ctx.output(0);
  std::vector<int64_t> shape = pre ? pre->shape : ctx.attrs().get_ints("shape");
  return broadcast_to(ctx, shape);
}

Status dynamic_reshape(KernelContext& ctx) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  std::vector<int64_t> shape;
  FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(1), "output_shape", &shape));
  if (numel_of(shape) != x->numel()) return err(ctx, "output_shape " + shape_str(shape) + " has a different size");
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &y));
  if (y && y->data != x->data) std::memcpy(y->data, x->data, x->bytes());
  return Status::Ok();
}

// chlo.mulhi: the high half of the double-width product.
Status mulhi(KernelContext& ctx) {
  const Tensor *a, *b;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &a));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &b));
  if (a->shape != b->shape || a->dtype != b->dtype) return err(ctx, "operands must have the same type");
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, a->shape, &y));
  if (!y) return Status::Ok();
  return visit_dtype(ctx, a->dtype, [&](auto tag) -> Status {
    using T = decltype(tag);
    if constexpr (!is_int_v<T>) {
      return err(ctx, "mulhi takes integers");
    } else {
      int64_t n = a->numel();
      constexpr int bits = sizeof(T) * 8;
      for (int64_t i = 0; i < n; ++i) {
        T x = a->as<T>()[i], z = b->as<T>()[i];
        if constexpr (std::is_signed<T>::value) {
          __int128 p = static_cast<__int128>(x) * static_cast<__int128>(z);
          y->as<T>()[i] = static_cast<T>(p >> bits);
        } else {
          unsigned __int128 p = static_cast<unsigned __int128>(x) * static_cast<unsigned __int128>(z);
          y->as<T>()[i] = static_cast<T>(p >> bits);
        }
      }
      return Status::Ok();
    }
  });
}

}  // namespace

FLEETRT_REGISTER_KERNEL("stablehlo", "iota", iota);
FLEETRT_REGISTER_KERNEL("stablehlo", "dynamic_iota", dynamic_iota);
FLEETRT_REGISTER_KERNEL("stablehlo", "reverse", reverse);
FLEETRT_REGISTER_KERNEL("stablehlo", "pad", pad);
FLEETRT_REGISTER_KERNEL("stablehlo", "dynamic_slice", dynamic_slice);
FLEETRT_REGISTER_KERNEL("stablehlo", "dynamic_update_slice", dynamic_update_slice);
FLEETRT_REGISTER_KERNEL("stablehlo", "gather", gather);
FLEETRT_REGISTER_KERNEL("stablehlo", "dynamic_gather", dynamic_gather);
FLEETRT_REGISTER_KERNEL("stablehlo", "scatter", scatter);
FLEETRT_REGISTER_KERNEL("stablehlo", "bitcast_convert", bitcast_convert);
FLEETRT_REGISTER_KERNEL("stablehlo", "get_dimension_size", get_dimension_size);
FLEETRT_REGISTER_KERNEL("stablehlo", "broadcast_in_dim", broadcast_in_dim);
FLEETRT_REGISTER_KERNEL("stablehlo", "dynamic_broadcast_in_dim", dynamic_broadcast_in_dim);
FLEETRT_REGISTER_KERNEL("stablehlo", "dynamic_reshape", dynamic_reshape);
FLEETRT_REGISTER_KERNEL("chlo", "mulhi", mulhi);
FLEETRT_REGISTER_KERNEL("chlo", "top_k", top_k);

}  // namespace shlo
}  // namespace fleetrt
