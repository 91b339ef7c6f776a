// Linear-algebra StableHLO ops the frontend cannot map onto ONNX: convolution with any
// dimension numbers, lhs/rhs dilation, negative padding, window reversal and batch groups
// (integer types included), dot_general for element types MatMul does not take, and
// triangular_solve. Straightforward loops: these run the cases ONNX Conv/MatMul cannot.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "stablehlo_util.h"

namespace fleetrt {
namespace shlo {
namespace {

// Element i as double (floats) or int64 (integers), and back.
double get_f(const Tensor& t, int64_t i) {
  switch (t.dtype) {
    case DType::kF32: return t.as<float>()[i];
    case DType::kF64: return t.as<double>()[i];
    case DType::kF16: return f16_to_float(t.as<uint16_t>()[i]);
    case DType::kBF16: return bf16_to_float(t.as<uint16_t>()[i]);
    default: return static_cast<double>(get_int(t, i));
  }
}
void set_f(Tensor& t, int64_t i, double v) {
  switch (t.dtype) {
    case DType::kF32: t.as<float>()[i] = static_cast<float>(v); break;
    case DType::kF64: t.as<double>()[i] = v; break;
    case DType::kF16: t.as<uint16_t>()[i] = float_to_f16(static_cast<float>(v)); break;
    case DType::kBF16: t.as<uint16_t>()[i] = float_to_bf16(static_cast<float>(v)); break;
    default: break;
  }
}
void set_i(Tensor& t, int64_t i, int64_t v) {
  switch (t.dtype) {
    case DType::kI8: case DType::kU8: t.as<uint8_t>()[i] = static_cast<uint8_t>(v); break;
    case DType::kBool: t.as<uint8_t>()[i] = v != 0; break;
    case DType::kI16: case DType::kU16: t.as<uint16_t>()[i] = static_cast<uint16_t>(v); break;
    case DType::kI32: case DType::kU32: t.as<uint32_t>()[i] = static_cast<uint32_t>(v); break;
    case DType::kI64: case DType::kU64: t.as<uint64_t>()[i] = static_cast<uint64_t>(v); break;
    default: break;
  }
}

// Wrapping multiply-add in 64 bits, truncated to the result type on store.
int64_t mac(int64_t acc, int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(acc) + static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}

Status check_types(const KernelContext& ctx, const Tensor& a, const Tensor& b, const Tensor& y) {
  for (const Tensor* t : {&a, &b, &y})
    if (!is_float_dtype(t->dtype) && !is_int_dtype(t->dtype) && t->dtype != DType::kBool)
      return err(ctx, std::string("element type ") + dtype_name(t->dtype) + " is not supported");
  if (is_float_dtype(y.dtype) != is_float_dtype(a.dtype) || is_float_dtype(y.dtype) != is_float_dtype(b.dtype))
    return err(ctx, "mixing integer and float operands is not supported");
  return Status::Ok();
}

Status convolution(KernelContext& ctx) {
  const Tensor *x, *k;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &x));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &k));
  const Attributes& at = ctx.attrs();
  size_t r = x->rank();
  if (r < 2 || k->rank() != r) return err(ctx, "operands must have the same rank >= 2");
  size_t ns = r - 2;
  int64_t ib = at.get_int("input_batch_dimension", 0), ifd = at.get_int("input_feature_dimension", 1);
  int64_t kif = at.get_int("kernel_input_feature_dimension", 0), kof = at.get_int("kernel_output_feature_dimension", 1);
  int64_t ob = at.get_int("output_batch_dimension", 0), of = at.get_int("output_feature_dimension", 1);
  std::vector<int64_t> isp, ksp, osp, strides, ldil, rdil, pad, rev;
  FLEETRT_RETURN_IF_ERROR(ints_attr(ctx, "input_spatial_dimensions", ns, -2, &isp));
  FLEETRT_RETURN_IF_ERROR(ints_attr(ctx, "kernel_spatial_dimensions", ns, -2, &ksp));
  FLEETRT_RETURN_IF_ERROR(ints_attr(ctx, "output_spatial_dimensions", ns, -2, &osp));
  FLEETRT_RETURN_IF_ERROR(ints_attr(ctx, "window_strides", ns, 1, &strides));
  FLEETRT_RETURN_IF_ERROR(ints_attr(ctx, "lhs_dilation", ns, 1, &ldil));
  FLEETRT_RETURN_IF_ERROR(ints_attr(ctx, "rhs_dilation", ns, 1, &rdil));
  FLEETRT_RETURN_IF_ERROR(ints_attr(ctx, "padding", 2 * ns, 0, &pad));
  FLEETRT_RETURN_IF_ERROR(ints_attr(ctx, "window_reversal", ns, 0, &rev));
  int64_t fgc = at.get_int("feature_group_count", 1), bgc = at.get_int("batch_group_count", 1);
  int64_t N = x->shape[ib], C = x->shape[ifd], O = k->shape[kof], KC = k->shape[kif];
  if (fgc < 1 || bgc < 1 || C != KC * fgc || O % fgc || O % bgc || N % bgc)
    return err(ctx, "feature/batch group counts do not fit the operands");
  std::vector<int64_t> shape(r);
  shape[ob] = N / bgc;
  shape[of] = O;
  for (size_t d = 0; d < ns; ++d) {
    int64_t in = x->shape[isp[d]], kw = k->shape[ksp[d]];
    int64_t dil_in = in == 0 ? 0 : (in - 1) * ldil[d] + 1;
    int64_t padded = dil_in + pad[2 * d] + pad[2 * d + 1];
    int64_t dil_k = kw == 0 ? 0 : (kw - 1) * rdil[d] + 1;
    shape[osp[d]] = padded < dil_k ? 0 : (padded - dil_k) / strides[d] + 1;
  }
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &y));
  if (!y) return Status::Ok();
  FLEETRT_RETURN_IF_ERROR(check_types(ctx, *x, *k, *y));
  bool fl = is_float_dtype(y->dtype);
  std::vector<int64_t> xst = strides_of(x->shape), kst = strides_of(k->shape), ost = strides_of(shape);
  std::vector<int64_t> kspat(ns), ospat(ns), oidx(ns, 0), kidx(ns, 0);
  for (size_t d = 0; d < ns; ++d) {
    kspat[d] = k->shape[ksp[d]];
    ospat[d] = shape[osp[d]];
  }
  int64_t o_per_fg = O / fgc, o_per_bg = O / bgc, nb = N / bgc;
  int64_t n_sp = numel_of(ospat), n_k = numel_of(kspat);
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t f = 0; f < O; ++f) {
      int64_t fg = f / o_per_fg, bg = f / o_per_bg;
      int64_t xb = bg * nb + b;
      std::fill(oidx.begin(), oidx.end(), 0);
      for (int64_t s = 0; s < n_sp; ++s, next_index(oidx, ospat)) {
        double accf = 0;
        int64_t acci = 0;
        std::fill(kidx.begin(), kidx.end(), 0);
        for (int64_t w = 0; w < n_k; ++w, next_index(kidx, kspat)) {
          int64_t xoff = xb * xst[ib], koff = f * kst[kof];
          bool ok = true;
          for (size_t d = 0; d < ns && ok; ++d) {
            int64_t kk = rev[d] ? kspat[d] - 1 - kidx[d] : kidx[d];
            int64_t p = oidx[d] * strides[d] + kidx[d] * rdil[d] - pad[2 * d];
            if (p < 0 || p % ldil[d]) { ok = false; break; }
            p /= ldil[d];
            if (p >= x->shape[isp[d]]) { ok = false; break; }
            xoff += p * xst[isp[d]];
            koff += kk * kst[ksp[d]];
          }
          if (!ok) continue;
          for (int64_t c = 0; c < KC; ++c) {
            int64_t xi = xoff + (fg * KC + c) * xst[ifd], ki = koff + c * kst[kif];
            if (fl) accf += get_f(*x, xi) * get_f(*k, ki);
            else acci = mac(acci, get_int(*x, xi), get_int(*k, ki));
          }
        }
        int64_t o = b * ost[ob] + f * ost[of];
        for (size_t d = 0; d < ns; ++d) o += oidx[d] * ost[osp[d]];
        if (fl) set_f(*y, o, accf);
        else set_i(*y, o, acci);
      }
    }
  return Status::Ok();
}

Status dot_general(KernelContext& ctx) {
  const Tensor *a, *b;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &a));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &b));
  const Attributes& at = ctx.attrs();
  std::vector<int64_t> lb = at.get_ints("lhs_batching_dimensions"), rb = at.get_ints("rhs_batching_dimensions"),
                       lc = at.get_ints("lhs_contracting_dimensions"), rc = at.get_ints("rhs_contracting_dimensions");
  if (lb.size() != rb.size() || lc.size() != rc.size()) return err(ctx, "dimension numbers do not pair up");
  auto in = [](const std::vector<int64_t>& v, int64_t x) {
    for (int64_t e : v)
      if (e == x) return true;
    return false;
  };
  std::vector<int64_t> lfree, rfree, shape, csz;
  for (int64_t d : lb) shape.push_back(a->shape[d]);
  for (int64_t d = 0; d < static_cast<int64_t>(a->rank()); ++d)
    if (!in(lb, d) && !in(lc, d)) { lfree.push_back(d); shape.push_back(a->shape[d]); }
  for (int64_t d = 0; d < static_cast<int64_t>(b->rank()); ++d)
    if (!in(rb, d) && !in(rc, d)) { rfree.push_back(d); shape.push_back(b->shape[d]); }
  for (int64_t d : lc) csz.push_back(a->shape[d]);
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &y));
  if (!y) return Status::Ok();
  FLEETRT_RETURN_IF_ERROR(check_types(ctx, *a, *b, *y));
  bool fl = is_float_dtype(y->dtype);
  std::vector<int64_t> ast = strides_of(a->shape), bst = strides_of(b->shape), idx(shape.size(), 0), cidx(lc.size(), 0);
  int64_t n = y->numel(), nc = numel_of(csz);
  for (int64_t o = 0; o < n; ++o, next_index(idx, shape)) {
    int64_t ao = 0, bo = 0;
    size_t p = 0;
    for (size_t i = 0; i < lb.size(); ++i, ++p) { ao += idx[p] * ast[lb[i]]; bo += idx[p] * bst[rb[i]]; }
    for (int64_t d : lfree) ao += idx[p++] * ast[d];
    for (int64_t d : rfree) bo += idx[p++] * bst[d];
    double accf = 0;
    int64_t acci = 0;
    std::fill(cidx.begin(), cidx.end(), 0);
    for (int64_t c = 0; c < nc; ++c, next_index(cidx, csz)) {
      int64_t ai = ao, bi = bo;
      for (size_t i = 0; i < lc.size(); ++i) { ai += cidx[i] * ast[lc[i]]; bi += cidx[i] * bst[rc[i]]; }
      if (fl) accf += get_f(*a, ai) * get_f(*b, bi);
      else acci = mac(acci, get_int(*a, ai), get_int(*b, bi));
    }
    if (fl) set_f(*y, o, accf);
    else set_i(*y, o, acci);
  }
  return Status::Ok();
}

// chlo.ragged_dot(lhs, rhs, group_sizes), the mode where the ragged dimension is a lhs free
// dimension: row m of that dimension uses rhs group g(m) (rows past the groups give zeros).
Status ragged_dot(KernelContext& ctx) {
  const Tensor *a, *b, *gs;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &a));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &b));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 2, &gs));
  const Attributes& at = ctx.attrs();
  std::vector<int64_t> lb = at.get_ints("lhs_batching_dimensions"), rb = at.get_ints("rhs_batching_dimensions"),
                       lc = at.get_ints("lhs_contracting_dimensions"), rc = at.get_ints("rhs_contracting_dimensions"),
                       lr = at.get_ints("lhs_ragged_dimensions"), rg = at.get_ints("rhs_group_dimensions");
  auto in = [](const std::vector<int64_t>& v, int64_t x) {
    for (int64_t e : v)
      if (e == x) return true;
    return false;
  };
  if (lr.size() != 1 || rg.size() != 1 || in(lc, lr[0]) || in(lb, lr[0]) || gs->rank() != 1)
    return err(ctx, "only a ragged lhs non-contracting dimension with 1-D group sizes is supported");
  if (!is_float_dtype(a->dtype) || !is_float_dtype(b->dtype)) return err(ctx, "float operands are required");
  std::vector<int64_t> lfree, rfree, shape, csz, ends;
  for (int64_t d : lb) shape.push_back(a->shape[d]);
  for (int64_t d = 0; d < static_cast<int64_t>(a->rank()); ++d)
    if (!in(lb, d) && !in(lc, d)) { lfree.push_back(d); shape.push_back(a->shape[d]); }
  for (int64_t d = 0; d < static_cast<int64_t>(b->rank()); ++d)
    if (!in(rb, d) && !in(rc, d) && d != rg[0]) { rfree.push_back(d); shape.push_back(b->shape[d]); }
  for (int64_t d : lc) csz.push_back(a->shape[d]);
  int64_t acc = 0;
  for (int64_t g = 0; g < gs->numel(); ++g) ends.push_back(acc += get_int(*gs, g));
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, shape, &y));
  if (!y) return Status::Ok();
  std::vector<int64_t> ast = strides_of(a->shape), bst = strides_of(b->shape), idx(shape.size(), 0), cidx(lc.size(), 0);
  int64_t n = y->numel(), nc = numel_of(csz);
  for (int64_t o = 0; o < n; ++o, next_index(idx, shape)) {
    int64_t ao = 0, bo = 0, row = 0;
    size_t p = 0;
    for (size_t i = 0; i < lb.size(); ++i, ++p) { ao += idx[p] * ast[lb[i]]; bo += idx[p] * bst[rb[i]]; }
    for (int64_t d : lfree) {
      if (d == lr[0]) row = idx[p];
      ao += idx[p++] * ast[d];
    }
    for (int64_t d : rfree) bo += idx[p++] * bst[d];
    int64_t g = 0;
    while (g < static_cast<int64_t>(ends.size()) && row >= ends[g]) ++g;
    double sum = 0;
    if (g < static_cast<int64_t>(ends.size())) {
      bo += g * bst[rg[0]];
      std::fill(cidx.begin(), cidx.end(), 0);
      for (int64_t c = 0; c < nc; ++c, next_index(cidx, csz)) {
        int64_t ai = ao, bi = bo;
        for (size_t i = 0; i < lc.size(); ++i) { ai += cidx[i] * ast[lc[i]]; bi += cidx[i] * bst[rc[i]]; }
        sum += get_f(*a, ai) * get_f(*b, bi);
      }
    }
    set_f(*y, o, sum);
  }
  return Status::Ok();
}

// triangular_solve(a, b): op(a) x = b (left_side) or x op(a) = b, batched over leading dims.
Status triangular_solve(KernelContext& ctx) {
  const Tensor *a, *b;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &a));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &b));
  if (!is_float_dtype(a->dtype) || a->dtype != b->dtype) return err(ctx, "operands must have the same float type");
  size_t r = a->rank();
  if (r < 2 || b->rank() != r) return err(ctx, "operands must have the same rank >= 2");
  int64_t M = a->shape[r - 1];
  if (a->shape[r - 2] != M) return err(ctx, "a must be square");
  const Attributes& at = ctx.attrs();
  bool left = at.get_int("left_side", 0) != 0, lower = at.get_int("lower", 0) != 0, unit = at.get_int("unit_diagonal", 0) != 0;
  std::string tr = at.get_string("transpose_a", "NO_TRANSPOSE");
  bool trans = tr == "TRANSPOSE" || tr == "ADJOINT";
  int64_t R = b->shape[r - 2], Cn = b->shape[r - 1];
  if ((left && R != M) || (!left && Cn != M)) return err(ctx, "b does not fit a");
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, b->shape, &y));
  if (!y) return Status::Ok();
  int64_t batches = a->numel() / (M * M);
  // E = op(a) restricted to its triangle; solve E x = b (left) or E^T x^T = b^T (right).
  std::vector<double> E(M * M), F(M * M), rhs(M), sol(M);
  for (int64_t bt = 0; bt < batches; ++bt) {
    int64_t ao = bt * M * M, bo = bt * R * Cn;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < M; ++j) {
        bool keep = lower ? j <= i : j >= i;
        double v = keep ? get_f(*a, ao + i * M + j) : 0.0;
        if (i == j && unit) v = 1.0;
        E[trans ? j * M + i : i * M + j] = v;
      }
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < M; ++j) F[i * M + j] = left ? E[i * M + j] : E[j * M + i];
    // F is lower-triangular when exactly one of {a lower, transposed, right side} flips it.
    bool f_lower = lower != trans;
    if (!left) f_lower = !f_lower;
    int64_t systems = left ? Cn : R;
    for (int64_t s = 0; s < systems; ++s) {
      for (int64_t i = 0; i < M; ++i) rhs[i] = get_f(*b, bo + (left ? i * Cn + s : s * Cn + i));
      for (int64_t step = 0; step < M; ++step) {
        int64_t i = f_lower ? step : M - 1 - step;
        double acc = rhs[i];
        for (int64_t j = 0; j < M; ++j)
          if (j != i && (f_lower ? j < i : j > i)) acc -= F[i * M + j] * sol[j];
        sol[i] = acc / F[i * M + i];
      }
      for (int64_t i = 0; i < M; ++i) set_f(*y, bo + (left ? i * Cn + s : s * Cn + i), sol[i]);
    }
  }
  return Status::Ok();
}

}  // namespace

FLEETRT_REGISTER_KERNEL("stablehlo", "convolution", convolution);
FLEETRT_REGISTER_KERNEL("stablehlo", "dot_general", dot_general);
FLEETRT_REGISTER_KERNEL("stablehlo", "triangular_solve", triangular_solve);
FLEETRT_REGISTER_KERNEL("chlo", "ragged_dot", ragged_dot);

}  // namespace shlo
}  // namespace fleetrt
