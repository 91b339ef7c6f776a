// StableHLO ops with regions: reduce, reduce_window, sort, select_and_scatter and map call their
// body on scalars (ScalarRegion); while, if and case run whole subgraphs. The frontend lowers a
// reduce with a plain add/max/min/mul body to ONNX; these kernels run every other body.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <vector>

#include "stablehlo_util.h"

namespace fleetrt {
namespace shlo {
namespace {

char* at(Tensor* t, int64_t i) { return static_cast<char*>(t->data) + i * elem_size(t->dtype); }
const char* at(const Tensor* t, int64_t i) { return static_cast<const char*>(t->data) + i * elem_size(t->dtype); }

// Operands [0, n) and init values [n, 2n); checks shapes and byte-sized types.
Status variadic(KernelContext& ctx, std::vector<const Tensor*>* xs, std::vector<const Tensor*>* inits) {
  int n_in = ctx.num_inputs();
  if (n_in < 2 || n_in % 2) return err(ctx, "expects N operands and N init values");
  int n = n_in / 2;
  for (int i = 0; i < n; ++i) {
    const Tensor *x = ctx.input(i), *v = ctx.input(n + i);
    if (!x || !v) return err(ctx, "missing operand");
    if (elem_size(x->dtype) == 0 || elem_size(v->dtype) == 0) return err(ctx, "4-bit element types are not supported");
    if (x->shape != ctx.input(0)->shape) return err(ctx, "operands must have the same shape");
    xs->push_back(x);
    inits->push_back(v);
  }
  return Status::Ok();
}

std::vector<DType> region_types(const std::vector<const Tensor*>& acc, const std::vector<const Tensor*>& xs) {
  std::vector<DType> t;
  for (auto* a : acc) t.push_back(a->dtype);
  for (auto* x : xs) t.push_back(x->dtype);
  return t;
}

Status reduce(KernelContext& ctx) {
  std::vector<const Tensor*> xs, inits;
  FLEETRT_RETURN_IF_ERROR(variadic(ctx, &xs, &inits));
  size_t n = xs.size();
  const std::vector<int64_t>& in_shape = xs[0]->shape;
  std::vector<bool> red(in_shape.size(), false);
  for (int64_t d : ctx.attrs().get_ints("dimensions")) {
    if (d < 0 || d >= static_cast<int64_t>(in_shape.size())) return err(ctx, "dimension out of range");
    red[d] = true;
  }
  std::vector<int64_t> out_shape, keep_dims;
  for (size_t d = 0; d < in_shape.size(); ++d)
    if (!red[d]) out_shape.push_back(in_shape[d]);
  std::vector<Tensor*> ys(n);
  for (size_t i = 0; i < n; ++i) {
    FLEETRT_RETURN_IF_ERROR(make_output(ctx, static_cast<int>(i), out_shape, &ys[i]));
    if (!ys[i]) return err(ctx, "every result must be used");
    if (ys[i]->dtype != inits[i]->dtype) return err(ctx, "result type differs from the init value");
    for (int64_t k = 0; k < ys[i]->numel(); ++k) std::memcpy(at(ys[i], k), inits[i]->data, elem_size(inits[i]->dtype));
  }
  ScalarRegion region(ctx, graph_attr(ctx, "body"));
  FLEETRT_RETURN_IF_ERROR(region.init(region_types(inits, xs)));
  std::vector<int64_t> ost = strides_of(out_shape), idx(in_shape.size(), 0);
  int64_t total = xs[0]->numel();
  for (int64_t e = 0; e < total; ++e, next_index(idx, in_shape)) {
    int64_t o = 0;
    for (size_t d = 0, k = 0; d < idx.size(); ++d)
      if (!red[d]) o += idx[d] * ost[k++];
    for (size_t i = 0; i < n; ++i) {
      region.set_arg(i, at(ys[i], o));
      region.set_arg(n + i, at(xs[i], e));
    }
    FLEETRT_RETURN_IF_ERROR(region.run(n));
    for (size_t i = 0; i < n; ++i) FLEETRT_RETURN_IF_ERROR(store_scalar(ctx, region.result(i), ys[i]->dtype, at(ys[i], o)));
  }
  return Status::Ok();
}

struct Window {
  std::vector<int64_t> dims, strides, base_dil, win_dil, pad_lo, pad_hi;
};

Status window_attrs(const KernelContext& ctx, size_t r, Window* w) {
  FLEETRT_RETURN_IF_ERROR(ints_attr(ctx, "window_dimensions", r, -2, &w->dims));
  FLEETRT_RETURN_IF_ERROR(ints_attr(ctx, "window_strides", r, 1, &w->strides));
  FLEETRT_RETURN_IF_ERROR(ints_attr(ctx, "base_dilations", r, 1, &w->base_dil));
  FLEETRT_RETURN_IF_ERROR(ints_attr(ctx, "window_dilations", r, 1, &w->win_dil));
  std::vector<int64_t> pad;
  FLEETRT_RETURN_IF_ERROR(ints_attr(ctx, "padding", 2 * r, 0, &pad));
  for (size_t d = 0; d < r; ++d) {
    w->pad_lo.push_back(pad[2 * d]);
    w->pad_hi.push_back(pad[2 * d + 1]);
    if (w->strides[d] < 1 || w->base_dil[d] < 1 || w->win_dil[d] < 1) return err(ctx, "strides and dilations must be >= 1");
  }
  return Status::Ok();
}

std::vector<int64_t> window_out_shape(const std::vector<int64_t>& in, const Window& w) {
  std::vector<int64_t> out(in.size());
  for (size_t d = 0; d < in.size(); ++d) {
    int64_t dil_in = in[d] == 0 ? 0 : (in[d] - 1) * w.base_dil[d] + 1;
    int64_t padded = dil_in + w.pad_lo[d] + w.pad_hi[d];
    int64_t dil_win = (w.dims[d] - 1) * w.win_dil[d] + 1;
    out[d] = padded < dil_win ? 0 : (padded - dil_win) / w.strides[d] + 1;
  }
  return out;
}

// Operand position of window element `k` of output `o` along one dim; -1 when it is padding
// (outside the operand, or a hole of the base dilation).
int64_t window_src(const Window& w, size_t d, int64_t o, int64_t k, int64_t len) {
  int64_t p = o * w.strides[d] + k * w.win_dil[d] - w.pad_lo[d];
  if (p < 0 || p % w.base_dil[d]) return -1;
  p /= w.base_dil[d];
  return p < len ? p : -1;
}

Status reduce_window(KernelContext& ctx) {
  std::vector<const Tensor*> xs, inits;
  FLEETRT_RETURN_IF_ERROR(variadic(ctx, &xs, &inits));
  size_t n = xs.size(), r = xs[0]->rank();
  Window w;
  FLEETRT_RETURN_IF_ERROR(window_attrs(ctx, r, &w));
  std::vector<int64_t> out_shape = window_out_shape(xs[0]->shape, w);
  std::vector<Tensor*> ys(n);
  for (size_t i = 0; i < n; ++i) {
    FLEETRT_RETURN_IF_ERROR(make_output(ctx, static_cast<int>(i), out_shape, &ys[i]));
    if (!ys[i]) return err(ctx, "every result must be used");
  }
  ScalarRegion region(ctx, graph_attr(ctx, "body"));
  FLEETRT_RETURN_IF_ERROR(region.init(region_types(inits, xs)));
  std::vector<int64_t> xst = strides_of(xs[0]->shape), oidx(r, 0), kidx(r, 0);
  int64_t on = numel_of(out_shape), kn = numel_of(w.dims);
  // Accumulators live in the outputs; padding elements are the init values (spec: pad with init).
  for (int64_t o = 0; o < on; ++o, next_index(oidx, out_shape)) {
    for (size_t i = 0; i < n; ++i) std::memcpy(at(ys[i], o), inits[i]->data, elem_size(inits[i]->dtype));
    std::fill(kidx.begin(), kidx.end(), 0);
    for (int64_t k = 0; k < kn; ++k, next_index(kidx, w.dims)) {
      int64_t src = 0;
      bool padding = false;
      for (size_t d = 0; d < r && !padding; ++d) {
        int64_t p = window_src(w, d, oidx[d], kidx[d], xs[0]->shape[d]);
        padding = p < 0;
        src += p * xst[d];
      }
      for (size_t i = 0; i < n; ++i) {
        region.set_arg(i, at(ys[i], o));
        region.set_arg(n + i, padding ? static_cast<const char*>(inits[i]->data) : at(xs[i], src));
      }
      FLEETRT_RETURN_IF_ERROR(region.run(n));
      for (size_t i = 0; i < n; ++i) FLEETRT_RETURN_IF_ERROR(store_scalar(ctx, region.result(i), ys[i]->dtype, at(ys[i], o)));
    }
  }
  return Status::Ok();
}

// sort(inputs…) along `dimension` with the comparator region (lhs_i, rhs_i pairs).
Status sort(KernelContext& ctx) {
  int n = ctx.num_inputs();
  if (n < 1) return err(ctx, "expects at least one operand");
  std::vector<const Tensor*> xs(n);
  std::vector<Tensor*> ys(n);
  std::vector<DType> types;
  for (int i = 0; i < n; ++i) {
    xs[i] = ctx.input(i);
    if (!xs[i] || xs[i]->shape != ctx.input(0)->shape) return err(ctx, "operands must have the same shape");
    if (elem_size(xs[i]->dtype) == 0) return err(ctx, "4-bit element types are not supported");
    FLEETRT_RETURN_IF_ERROR(make_output(ctx, i, xs[i]->shape, &ys[i]));
    if (!ys[i]) return err(ctx, "every result must be used");
    types.push_back(xs[i]->dtype);
    types.push_back(xs[i]->dtype);
  }
  const std::vector<int64_t>& shape = xs[0]->shape;
  int64_t r = static_cast<int64_t>(shape.size());
  int64_t dim = ctx.attrs().get_int("dimension", -1);
  if (dim < 0) dim += r;
  if (r == 0) {
    for (int i = 0; i < n; ++i) std::memcpy(ys[i]->data, xs[i]->data, xs[i]->bytes());
    return Status::Ok();
  }
  if (dim < 0 || dim >= r) return err(ctx, "dimension out of range");
  bool stable = ctx.attrs().get_int("is_stable", 0) != 0;
  ScalarRegion region(ctx, graph_attr(ctx, "comparator"));
  FLEETRT_RETURN_IF_ERROR(region.init(types));
  std::vector<int64_t> st = strides_of(shape);
  int64_t len = shape[dim], step = st[dim];
  std::vector<int64_t> outer = shape;
  outer[dim] = 1;
  std::vector<int64_t> idx(r, 0), perm(len);
  Status status;
  int64_t lines = numel_of(outer);
  for (int64_t l = 0; l < lines; ++l, next_index(idx, outer)) {
    int64_t base = 0;
    for (int64_t d = 0; d < r; ++d) base += idx[d] * st[d];
    std::iota(perm.begin(), perm.end(), 0);
    auto less = [&](int64_t a, int64_t b) -> bool {
      if (!status.ok()) return false;
      for (int i = 0; i < n; ++i) {
        region.set_arg(2 * i, at(xs[i], base + a * step));
        region.set_arg(2 * i + 1, at(xs[i], base + b * step));
      }
      Status s = region.run(1);
      if (!s.ok()) {
        status = s;
        return false;
      }
      return region.result_bool(0);
    };
    // The comparator is a strict weak order by the spec; stable_sort is also a valid unstable sort.
    (void)stable;
    std::stable_sort(perm.begin(), perm.end(), less);
    FLEETRT_RETURN_IF_ERROR(status);
    for (int i = 0; i < n; ++i) {
      size_t es = elem_size(xs[i]->dtype);
      for (int64_t k = 0; k < len; ++k) std::memcpy(at(ys[i], base + k * step), at(xs[i], base + perm[k] * step), es);
    }
  }
  return Status::Ok();
}

// select_and_scatter(operand, source, init_value) with `select` and `scatter` regions.
Status select_and_scatter(KernelContext& ctx) {
  const Tensor *x, *src, *init;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &src));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 2, &init));
  if (elem_size(x->dtype) == 0 || elem_size(src->dtype) == 0) return err(ctx, "4-bit element types are not supported");
  size_t r = x->rank();
  Window w;
  FLEETRT_RETURN_IF_ERROR(window_attrs(ctx, r, &w));
  std::vector<int64_t> wshape = window_out_shape(x->shape, w);
  if (wshape != src->shape) return err(ctx, "source shape " + shape_str(src->shape) + " does not match the windows " + shape_str(wshape));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, x->shape, &y));
  if (!y) return Status::Ok();
  for (int64_t k = 0; k < y->numel(); ++k) std::memcpy(at(y, k), init->data, elem_size(init->dtype));
  ScalarRegion sel(ctx, graph_attr(ctx, "select")), sc(ctx, graph_attr(ctx, "scatter"));
  FLEETRT_RETURN_IF_ERROR(sel.init({x->dtype, x->dtype}));
  FLEETRT_RETURN_IF_ERROR(sc.init({y->dtype, src->dtype}));
  std::vector<int64_t> xst = strides_of(x->shape), oidx(r, 0), kidx(r, 0);
  int64_t on = src->numel(), kn = numel_of(w.dims);
  for (int64_t o = 0; o < on; ++o, next_index(oidx, wshape)) {
    int64_t best = -1;
    std::fill(kidx.begin(), kidx.end(), 0);
    for (int64_t k = 0; k < kn; ++k, next_index(kidx, w.dims)) {
      int64_t s = 0;
      bool padding = false;
      for (size_t d = 0; d < r && !padding; ++d) {
        int64_t p = window_src(w, d, oidx[d], kidx[d], x->shape[d]);
        padding = p < 0;
        s += p * xst[d];
      }
      if (padding) continue;
      if (best < 0) {
        best = s;
        continue;
      }
      sel.set_arg(0, at(x, best));
      sel.set_arg(1, at(x, s));
      FLEETRT_RETURN_IF_ERROR(sel.run(1));
      if (!sel.result_bool(0)) best = s;
    }
    if (best < 0) continue;
    sc.set_arg(0, at(y, best));
    sc.set_arg(1, at(src, o));
    FLEETRT_RETURN_IF_ERROR(sc.run(1));
    FLEETRT_RETURN_IF_ERROR(store_scalar(ctx, sc.result(0), y->dtype, at(y, best)));
  }
  return Status::Ok();
}

// map(inputs…) applies `computation` element by element.
Status map(KernelContext& ctx) {
  int n = ctx.num_inputs();
  std::vector<const Tensor*> xs(n);
  std::vector<DType> types;
  for (int i = 0; i < n; ++i) {
    xs[i] = ctx.input(i);
    if (!xs[i] || xs[i]->shape != ctx.input(0)->shape) return err(ctx, "operands must have the same shape");
    if (elem_size(xs[i]->dtype) == 0) return err(ctx, "4-bit element types are not supported");
    types.push_back(xs[i]->dtype);
  }
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, xs[0]->shape, &y));
  if (!y) return Status::Ok();
  ScalarRegion region(ctx, graph_attr(ctx, "computation"));
  FLEETRT_RETURN_IF_ERROR(region.init(types));
  for (int64_t e = 0; e < y->numel(); ++e) {
    for (int i = 0; i < n; ++i) region.set_arg(i, at(xs[i], e));
    FLEETRT_RETURN_IF_ERROR(region.run(1));
    FLEETRT_RETURN_IF_ERROR(store_scalar(ctx, region.result(0), y->dtype, at(y, e)));
  }
  return Status::Ok();
}

Status set_results(KernelContext& ctx, std::vector<Value>& vals) {
  if (static_cast<int>(vals.size()) < ctx.num_outputs())
    return err(ctx, "region returned " + std::to_string(vals.size()) + " values for " + std::to_string(ctx.num_outputs()) + " results");
  for (int i = 0; i < ctx.num_outputs(); ++i) FLEETRT_RETURN_IF_ERROR(ctx.set_output_value(i, std::move(vals[i])));
  return Status::Ok();
}

Status while_op(KernelContext& ctx) {
  int cond = graph_attr(ctx, "cond"), body = graph_attr(ctx, "body");
  if (cond < 0 || body < 0) return err(ctx, "missing cond or body region");
  std::vector<Value> cur;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Value* v = ctx.input_value(i);
    if (!v) return err(ctx, "missing operand");
    cur.push_back(*v);
  }
  for (;;) {
    std::vector<const Value*> ptrs;
    for (auto& v : cur) ptrs.push_back(&v);
    std::vector<Value> c;
    FLEETRT_RETURN_IF_ERROR(ctx.run_subgraph(cond, ptrs, &c));
    if (c.empty() || c[0].kind != Value::Kind::kTensor || c[0].tensor.view.numel() != 1)
      return err(ctx, "cond must return one i1 scalar");
    if (get_int(c[0].tensor.view, 0) == 0) break;
    std::vector<Value> next;
    FLEETRT_RETURN_IF_ERROR(ctx.run_subgraph(body, ptrs, &next));
    if (next.size() != cur.size()) return err(ctx, "body returns a different number of values");
    cur = std::move(next);
  }
  return set_results(ctx, cur);
}

Status if_op(KernelContext& ctx) {
  const Tensor* pred;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &pred));
  int g = graph_attr(ctx, get_int(*pred, 0) ? "then_branch" : "else_branch");
  if (g < 0) return err(ctx, "missing branch region");
  std::vector<Value> out;
  FLEETRT_RETURN_IF_ERROR(ctx.run_subgraph(g, {}, &out));
  return set_results(ctx, out);
}

// case(index): branch `index`, or the last branch when the index is out of range.
Status case_op(KernelContext& ctx) {
  const Tensor* index;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &index));
  const Attribute* a = ctx.attrs().find("branches");
  if (!a || a->kind != Attribute::Kind::kGraphs || a->graphs.empty()) return err(ctx, "missing branches");
  int64_t i = get_int(*index, 0);
  int64_t nb = static_cast<int64_t>(a->graphs.size());
  if (i < 0 || i >= nb) i = nb - 1;
  std::vector<Value> out;
  FLEETRT_RETURN_IF_ERROR(ctx.run_subgraph(a->graphs[i], {}, &out));
  return set_results(ctx, out);
}

// chlo.scan(inputs…, inits…) along `dimension`: the body takes (input slices…, carries…) and
// returns (output slices…, new carries…); results are (outputs…, final carries…).
Status scan(KernelContext& ctx) {
  int n_in = static_cast<int>(ctx.attrs().get_int("num_inputs", 0));
  int n_all = ctx.num_inputs(), n_carry = n_all - n_in;
  int body = graph_attr(ctx, "body");
  if (body < 0 || n_in < 1 || n_carry < 0 || ctx.num_outputs() != n_in + n_carry) return err(ctx, "malformed scan");
  bool reverse = ctx.attrs().get_int("is_reverse", 0) != 0;
  const Tensor* x0 = ctx.input(0);
  if (!x0) return err(ctx, "missing input");
  int64_t dim = ctx.attrs().get_int("dimension", 0);
  if (dim < 0 || dim >= static_cast<int64_t>(x0->rank())) return err(ctx, "dimension out of range");
  std::vector<int64_t> slice_shape = x0->shape;
  slice_shape.erase(slice_shape.begin() + dim);
  int64_t len = x0->shape[dim], inner = 1;
  for (size_t d = dim + 1; d < x0->rank(); ++d) inner *= x0->shape[d];
  int64_t outer = x0->numel() / (len ? len : 1) / (inner ? inner : 1);
  std::vector<Value> carries;
  for (int i = n_in; i < n_all; ++i) {
    const Value* v = ctx.input_value(i);
    if (!v) return err(ctx, "missing init");
    carries.push_back(*v);
  }
  std::vector<Tensor*> ys(n_in, nullptr);
  std::vector<Value> slices(n_in);
  for (int i = 0; i < n_in; ++i) {
    const Tensor* x = ctx.input(i);
    if (!x || x->shape != x0->shape || elem_size(x->dtype) == 0) return err(ctx, "inputs must have the same shape");
    OwnedTensor o;
    FLEETRT_RETURN_IF_ERROR(ctx.allocate(x->dtype, slice_shape, &o));
    slices[i].tensor = o;
    slices[i].elem_dtype = x->dtype;
  }
  for (int64_t step = 0; step < len; ++step) {
    int64_t k = reverse ? len - 1 - step : step;
    for (int i = 0; i < n_in; ++i) {
      const Tensor* x = ctx.input(i);
      size_t es = elem_size(x->dtype);
      char* dst = static_cast<char*>(slices[i].tensor.view.data);
      for (int64_t a = 0; a < outer; ++a)
        std::memcpy(dst + a * inner * es, at(x, (a * len + k) * inner), inner * es);
    }
    std::vector<const Value*> args;
    for (auto& v : slices) args.push_back(&v);
    for (auto& v : carries) args.push_back(&v);
    std::vector<Value> res;
    FLEETRT_RETURN_IF_ERROR(ctx.run_subgraph(body, args, &res));
    if (static_cast<int>(res.size()) != n_in + n_carry) return err(ctx, "body returns the wrong number of values");
    for (int i = 0; i < n_in; ++i) {
      const Tensor& r = res[i].tensor.view;
      if (!ys[i]) {
        std::vector<int64_t> shape = r.shape;
        shape.insert(shape.begin() + dim, len);
        FLEETRT_RETURN_IF_ERROR(make_output(ctx, i, shape, &ys[i]));
        if (!ys[i]) return err(ctx, "every result must be used");
      }
      if (r.numel() != outer * inner || r.dtype != ys[i]->dtype) return err(ctx, "body output slice has the wrong type");
      size_t es = elem_size(r.dtype);
      for (int64_t a = 0; a < outer; ++a)
        std::memcpy(at(ys[i], (a * len + k) * inner), static_cast<const char*>(r.data) + a * inner * es, inner * es);
    }
    for (int j = 0; j < n_carry; ++j) carries[j] = res[n_in + j];
  }
  for (int j = 0; j < n_carry; ++j) FLEETRT_RETURN_IF_ERROR(ctx.set_output_value(n_in + j, carries[j]));
  return Status::Ok();
}

}  // namespace

FLEETRT_REGISTER_KERNEL("chlo", "scan", scan);
FLEETRT_REGISTER_KERNEL("stablehlo", "reduce", reduce);
FLEETRT_REGISTER_KERNEL("stablehlo", "reduce_window", reduce_window);
FLEETRT_REGISTER_KERNEL("stablehlo", "sort", sort);
FLEETRT_REGISTER_KERNEL("stablehlo", "select_and_scatter", select_and_scatter);
FLEETRT_REGISTER_KERNEL("stablehlo", "map", map);
FLEETRT_REGISTER_KERNEL("stablehlo", "while", while_op);
FLEETRT_REGISTER_KERNEL("stablehlo", "if", if_op);
FLEETRT_REGISTER_KERNEL("stablehlo", "case", case_op);

}  // namespace shlo
}  // namespace fleetrt
