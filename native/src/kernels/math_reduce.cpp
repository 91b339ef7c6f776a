// Reductions: ReduceSum/Mean/Max/Min/Prod/L1/L2/SumSquare/LogSum/LogSumExp and ArgMax/ArgMin.
// Axes come from the attribute (older opsets) or the optional second input (ReduceSum ≥ 13,
// the others ≥ 18). Floats accumulate in double, integers in int64; float16/bfloat16 go through
// float. The input is walked once in memory order; each element lands in its output slot.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernel_util.h"

namespace fleetrt {
namespace {

enum class Red { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kSumSquare, kLogSum, kLogSumExp };

struct ReducePlan {
  std::vector<int64_t> in_shape;
  std::vector<bool> reduced;
  std::vector<int64_t> out_shape;     // honouring keepdims
  std::vector<int64_t> out_strides;   // per input dim; 0 on reduced dims
  int64_t out_numel = 1;
  int64_t count = 1;  // elements folded into each output
};

Status read_axes(KernelContext& ctx, int axes_input_opset, std::vector<int64_t>* axes, bool* from_input) {
  *from_input = false;
  axes->clear();
  if (ctx.opset() >= axes_input_opset) {
    const Tensor* t = ctx.num_inputs() > 1 ? ctx.input(1) : nullptr;
    if (t) {
      FLEETRT_RETURN_IF_ERROR(ku::read_int_tensor(ctx, *t, axes));
      *from_input = true;
    }
  } else {
    *axes = ctx.attrs().get_ints("axes");
  }
  return Status::Ok();
}

Status make_plan(KernelContext& ctx, const std::vector<int64_t>& shape, const std::vector<int64_t>& axes, bool keepdims,
                 bool noop_empty, ReducePlan* p) {
  const int64_t rank = static_cast<int64_t>(shape.size());
  p->in_shape = shape;
  p->reduced.assign(shape.size(), false);
  if (axes.empty()) {
    if (!noop_empty)
      for (auto&& r : p->reduced) r = true;
  } else {
    for (int64_t a : axes) {
      int64_t n;
      FLEETRT_RETURN_IF_ERROR(ku::normalize_axis(ctx, a, rank, &n));
      p->reduced[n] = true;
    }
  }
  p->out_shape.clear();
  for (int64_t d = 0; d < rank; ++d) {
    if (!p->reduced[d]) p->out_shape.push_back(shape[d]);
    else if (keepdims) p->out_shape.push_back(1);
  }
  p->out_strides.assign(shape.size(), 0);
  int64_t s = 1;
  p->count = 1;
  for (int64_t d = rank - 1; d >= 0; --d) {
    if (p->reduced[d]) {
      p->count *= shape[d];
      continue;
    }
    p->out_strides[d] = s;
    s *= shape[d];
  }
  p->out_numel = s;
  return Status::Ok();
}

// Calls f(in_index, out_index) for every input element in memory order.
template <class F>
void walk(const ReducePlan& p, F f) {
  const size_t rank = p.in_shape.size();
  int64_t n = ku::numel_of(p.in_shape);
  if (n == 0) return;
  if (rank == 0) {
    f(0, 0);
    return;
  }
  const int64_t inner = p.in_shape[rank - 1], ostep = p.out_strides[rank - 1];
  std::vector<int64_t> idx(rank, 0);
  int64_t in_i = 0, out_base = 0;
  while (in_i < n) {
    for (int64_t k = 0; k < inner; ++k) f(in_i + k, out_base + k * ostep);
    in_i += inner;
    for (size_t d = rank - 1; d-- > 0;) {
      out_base += p.out_strides[d];
      if (++idx[d] < p.in_shape[d]) break;
      out_base -= p.out_strides[d] * p.in_shape[d];
      idx[d] = 0;
    }
  }
}

template <class T, class A>
void reduce_typed(Red op, const ReducePlan& p, const T* x, std::vector<A>& acc) {
  A init = 0;
  if (op == Red::kProd) init = 1;
  if (op == Red::kMax || op == Red::kLogSumExp)
    init = std::numeric_limits<A>::has_infinity ? -std::numeric_limits<A>::infinity() : std::numeric_limits<A>::lowest();
  if (op == Red::kMin)
    init = std::numeric_limits<A>::has_infinity ? std::numeric_limits<A>::infinity() : std::numeric_limits<A>::max();
  acc.assign(static_cast<size_t>(p.out_numel), init);
  A* a = acc.data();
  switch (op) {
    case Red::kSum: case Red::kMean: case Red::kLogSum:
      walk(p, [&](int64_t i, int64_t o) { a[o] += static_cast<A>(x[i]); });
      break;
    case Red::kProd: walk(p, [&](int64_t i, int64_t o) { a[o] *= static_cast<A>(x[i]); }); break;
    case Red::kL1:
      walk(p, [&](int64_t i, int64_t o) {
        A v = static_cast<A>(x[i]);
        a[o] += v < 0 ? -v : v;
      });
      break;
    case Red::kL2: case Red::kSumSquare:
      walk(p, [&](int64_t i, int64_t o) {
        A v = static_cast<A>(x[i]);
        a[o] += v * v;
      });
      break;
    case Red::kMax:
      walk(p, [&](int64_t i, int64_t o) {
        A v = static_cast<A>(x[i]);
        if (v > a[o] || v != v) a[o] = v;
      });
      break;
    case Red::kMin:
      walk(p, [&](int64_t i, int64_t o) {
        A v = static_cast<A>(x[i]);
        if (v < a[o] || v != v) a[o] = v;
      });
      break;
    case Red::kLogSumExp: {
      walk(p, [&](int64_t i, int64_t o) {
        A v = static_cast<A>(x[i]);
        if (v > a[o]) a[o] = v;
      });
      std::vector<A> s(acc.size(), 0);
      walk(p, [&](int64_t i, int64_t o) {
        if (std::isfinite(static_cast<double>(a[o]))) s[o] += static_cast<A>(std::exp(static_cast<double>(x[i] - a[o])));
      });
      for (size_t o = 0; o < acc.size(); ++o) {
        double m = static_cast<double>(a[o]);
        a[o] = std::isfinite(m) ? static_cast<A>(m + std::log(static_cast<double>(s[o]))) : a[o];
      }
      break;
    }
  }
  switch (op) {
    case Red::kMean:
      for (auto& v : acc) v = static_cast<A>(static_cast<double>(v) / static_cast<double>(p.count));
      break;
    case Red::kL2:
      for (auto& v : acc) v = static_cast<A>(std::sqrt(static_cast<double>(v)));
      break;
    case Red::kLogSum:
      for (auto& v : acc) v = static_cast<A>(std::log(static_cast<double>(v)));
      break;
    default: break;
  }
}

// True when the reduced dims are exactly the trailing ones: each output is one contiguous row.
bool suffix_reduction(const ReducePlan& p) {
  bool seen = false;
  for (size_t d = 0; d < p.reduced.size(); ++d) {
    if (p.reduced[d]) seen = true;
    else if (seen && p.in_shape[d] != 1) return false;
  }
  return seen;
}

// float32 rows of n values reduced in parallel (the common "last axis" case: ReduceMean in
// decomposed LayerNorms, ReduceSum/Max over logits).
void reduce_rows_f32(KernelContext& ctx, Red op, const float* x, int64_t rows, int64_t n, float* y) {
  ku::parallel_elems(ctx, rows, n, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = x + r * n;
      double acc = 0;
      switch (op) {
        case Red::kMax: case Red::kMin: {
          float m = row[0];
          for (int64_t i = 1; i < n; ++i) {
            float v = row[i];
            if (v != v) { m = v; break; }
            m = op == Red::kMax ? std::max(m, v) : std::min(m, v);
          }
          y[r] = m;
          continue;
        }
        case Red::kLogSumExp: {
          float m = row[0];
          for (int64_t i = 1; i < n; ++i) m = std::max(m, row[i]);
          y[r] = std::isfinite(m) ? static_cast<float>(m + std::log(ku::vexp_shift_sum(row, 1.f, m, nullptr, n))) : m;
          continue;
        }
        case Red::kProd:
          acc = 1;
          for (int64_t i = 0; i < n; ++i) acc *= row[i];
          break;
        case Red::kL1:
          for (int64_t i = 0; i < n; ++i) acc += std::fabs(row[i]);
          break;
        case Red::kL2: case Red::kSumSquare:
          for (int64_t i = 0; i < n; ++i) acc += static_cast<double>(row[i]) * row[i];
          break;
        default:
          for (int64_t i = 0; i < n; ++i) acc += row[i];
      }
      if (op == Red::kMean) acc /= static_cast<double>(n);
      else if (op == Red::kL2) acc = std::sqrt(acc);
      else if (op == Red::kLogSum) acc = std::log(acc);
      y[r] = static_cast<float>(acc);
    }
  });
}

// The axes and plan of a reduction (ku::thread_kept: a small model's LayerNorms reduce every step).
struct ReduceScratch {
  std::vector<int64_t> axes;
  ReducePlan plan;
};

Status reduce_kernel(KernelContext& ctx, Red op) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  ReduceScratch& kept = ku::thread_kept<ReduceScratch>();
  std::vector<int64_t>& axes = kept.axes;
  bool from_input;
  FLEETRT_RETURN_IF_ERROR(read_axes(ctx, op == Red::kSum ? 13 : 18, &axes, &from_input));
  bool keepdims = ctx.attrs().get_int("keepdims", 1) != 0;
  bool noop = ctx.attrs().get_int("noop_with_empty_axes", 0) != 0;
  ReducePlan& p = kept.plan;
  FLEETRT_RETURN_IF_ERROR(make_plan(ctx, x->shape, axes, keepdims, noop, &p));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, p.out_shape, x->dtype, &y));
  DType t = x->dtype;
  if (t == DType::kF32 && suffix_reduction(p) && p.count > 0 && p.out_numel > 1) {
    reduce_rows_f32(ctx, op, x->as<float>(), p.out_numel, p.count, y->as<float>());
    return Status::Ok();
  }
  if (t == DType::kF16 || t == DType::kBF16) {
    const float* xf = ku::as_float_buffer(ctx, *x);
    std::vector<double> acc;
    reduce_typed<float, double>(op, p, xf, acc);
    for (int64_t i = 0; i < p.out_numel; ++i) ku::store_from_double(*y, i, acc[i]);
    return Status::Ok();
  }
  bool done = ku::dispatch_numeric(t, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point<T>::value) {
      std::vector<double> acc;
      reduce_typed<T, double>(op, p, x->as<T>(), acc);
      for (int64_t i = 0; i < p.out_numel; ++i) y->as<T>()[i] = static_cast<T>(acc[i]);
    } else if constexpr (std::is_same<T, uint64_t>::value) {
      std::vector<uint64_t> acc;
      reduce_typed<T, uint64_t>(op, p, x->as<T>(), acc);
      for (int64_t i = 0; i < p.out_numel; ++i) y->as<T>()[i] = acc[i];
    } else {
      std::vector<int64_t> acc;
      reduce_typed<T, int64_t>(op, p, x->as<T>(), acc);
      for (int64_t i = 0; i < p.out_numel; ++i) y->as<T>()[i] = static_cast<T>(acc[i]);
    }
  });
  if (!done) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(t));
  return Status::Ok();
}

// ArgMax / ArgMin along one axis; ties resolve to the first index unless select_last_index.
template <class T>
void arg_typed(const T* x, int64_t outer, int64_t n, int64_t inner, bool is_max, bool last, int64_t* out) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      const T* p = x + o * n * inner + in;
      int64_t best = 0;
      T bv = p[0];
      for (int64_t k = 1; k < n; ++k) {
        T v = p[k * inner];
        bool better = is_max ? (last ? v >= bv : v > bv) : (last ? v <= bv : v < bv);
        if (better) bv = v, best = k;
      }
      out[o * inner + in] = best;
    }
}

Status arg_kernel(KernelContext& ctx, bool is_max) {
  const Tensor* x;
  FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, 0, &x));
  int64_t rank = static_cast<int64_t>(x->rank()), axis;
  FLEETRT_RETURN_IF_ERROR(ku::normalize_axis(ctx, ctx.attrs().get_int("axis", 0), rank, &axis));
  bool keepdims = ctx.attrs().get_int("keepdims", 1) != 0;
  bool last = ctx.attrs().get_int("select_last_index", 0) != 0;
  std::vector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d) {
    if (d != axis) shape.push_back(x->shape[d]);
    else if (keepdims) shape.push_back(1);
  }
  int64_t n = rank ? x->shape[axis] : 1;
  if (n == 0) return ku::op_error(ctx, "cannot take the arg-extreme of an empty axis");
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, shape, DType::kI64, &y));
  int64_t outer = ku::prod(x->shape, 0, axis), inner = ku::prod(x->shape, axis + 1, rank);
  if (x->dtype == DType::kF16 || x->dtype == DType::kBF16) {
    arg_typed(ku::as_float_buffer(ctx, *x), outer, n, inner, is_max, last, y->as<int64_t>());
    return Status::Ok();
  }
  bool done = ku::dispatch_numeric(x->dtype, [&](auto tag) {
    using T = decltype(tag);
    arg_typed(x->as<T>(), outer, n, inner, is_max, last, y->as<int64_t>());
  });
  if (!done) return ku::op_error(ctx, std::string("unsupported input type ") + dtype_name(x->dtype));
  return Status::Ok();
}

#define RED_KERNEL(NAME, KIND) \
  Status k_##NAME(KernelContext& ctx) { return reduce_kernel(ctx, Red::KIND); }
RED_KERNEL(ReduceSum, kSum)
RED_KERNEL(ReduceMean, kMean)
RED_KERNEL(ReduceMax, kMax)
RED_KERNEL(ReduceMin, kMin)
RED_KERNEL(ReduceProd, kProd)
RED_KERNEL(ReduceL1, kL1)
RED_KERNEL(ReduceL2, kL2)
RED_KERNEL(ReduceSumSquare, kSumSquare)
RED_KERNEL(ReduceLogSum, kLogSum)
RED_KERNEL(ReduceLogSumExp, kLogSumExp)
#undef RED_KERNEL
Status k_ArgMax(KernelContext& ctx) { return arg_kernel(ctx, true); }
Status k_ArgMin(KernelContext& ctx) { return arg_kernel(ctx, false); }

}  // namespace

FLEETRT_REGISTER_KERNEL("", "ReduceSum", k_ReduceSum);
FLEETRT_REGISTER_KERNEL("", "ReduceMean", k_ReduceMean);
FLEETRT_REGISTER_KERNEL("", "ReduceMax", k_ReduceMax);
FLEETRT_REGISTER_KERNEL("", "ReduceMin", k_ReduceMin);
FLEETRT_REGISTER_KERNEL("", "ReduceProd", k_ReduceProd);
FLEETRT_REGISTER_KERNEL("", "ReduceL1", k_ReduceL1);
FLEETRT_REGISTER_KERNEL("", "ReduceL2", k_ReduceL2);
FLEETRT_REGISTER_KERNEL("", "ReduceSumSquare", k_ReduceSumSquare);
FLEETRT_REGISTER_KERNEL("", "ReduceLogSum", k_ReduceLogSum);
FLEETRT_REGISTER_KERNEL("", "ReduceLogSumExp", k_ReduceLogSumExp);
FLEETRT_REGISTER_KERNEL("", "ArgMax", k_ArgMax);
FLEETRT_REGISTER_KERNEL("", "ArgMin", k_ArgMin);

}  // namespace fleetrt
