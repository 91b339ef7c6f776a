// Control flow over subgraphs: If, Loop, Scan (opset 8 batch form and opset 9+).
#include <algorithm>

#include "data_util.h"

namespace fleetrt {
namespace {
using namespace datak;

Status read_bool_scalar(KernelContext& ctx, const Tensor* t, const char* what, bool* v) {
  if (!t || t->numel() != 1 || !is_numeric(t->dtype))
    return err(ctx, std::string("'") + what + "' must be a boolean scalar");
  *v = get_f64(*t, 0) != 0;
  return Status::Ok();
}

Status If(KernelContext& ctx) {
  bool c;
  FLEETRT_RETURN_IF_ERROR(read_bool_scalar(ctx, ctx.input(0), "cond", &c));
  int g = -1;
  FLEETRT_RETURN_IF_ERROR(graph_attr(ctx, c ? "then_branch" : "else_branch", &g));
  std::vector<Value> outs;
  FLEETRT_RETURN_IF_ERROR(ctx.run_subgraph(g, {}, &outs));
  if (static_cast<int>(outs.size()) != ctx.num_outputs())
    return err(ctx, "branch produced " + std::to_string(outs.size()) + " outputs, expected " + std::to_string(ctx.num_outputs()));
  for (int i = 0; i < ctx.num_outputs(); ++i) FLEETRT_RETURN_IF_ERROR(emit_value(ctx, i, std::move(outs[i])));
  return Status::Ok();
}

// Stacks equally shaped tensors along a new axis `axis` (reversed order when `reverse`).
Status stack_into(KernelContext& ctx, int out_index, const std::vector<OwnedTensor>& items, int64_t axis, bool reverse,
                  const char* what) {
  const Tensor& first = items[0].view;
  for (const auto& it : items)
    if (it.view.shape != first.shape || it.view.dtype != first.dtype)
      return err(ctx, std::string(what) + " changes shape across iterations: " + shape_str(first.shape) + " vs " +
                          shape_str(it.view.shape));
  const int64_t r = static_cast<int64_t>(first.rank());
  if (axis < 0) axis += r + 1;
  if (axis < 0 || axis > r) return err(ctx, std::string(what) + " axis out of range");
  std::vector<int64_t> shape = first.shape;
  const int64_t T = static_cast<int64_t>(items.size());
  shape.insert(shape.begin() + axis, T);
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, out_index, shape, &out));
  if (!out) return Status::Ok();
  if (out->dtype != first.dtype) return err(ctx, std::string(what) + " dtype differs from the planned output");
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= first.shape[k];
  for (int64_t k = axis; k < r; ++k) inner *= first.shape[k];
  for (int64_t t = 0; t < T; ++t) {
    const Tensor& src = items[reverse ? T - 1 - t : t].view;
    for (int64_t o = 0; o < outer; ++o) copy_elems(first.dtype, out->data, (o * T + t) * inner, src.data, o * inner, inner);
  }
  return Status::Ok();
}

// An empty scan output (zero iterations): planned shape if known, else [0].
Status empty_scan_output(KernelContext& ctx, int i) {
  if (ctx.output(i)) return Status::Ok();
  Tensor* t;
  return ctx.output(i, {0}, &t);
}

Status Loop(KernelContext& ctx) {
  const Tensor* m_t = ctx.num_inputs() > 0 ? ctx.input(0) : nullptr;
  const Tensor* c_t = ctx.num_inputs() > 1 ? ctx.input(1) : nullptr;
  int g = -1;
  FLEETRT_RETURN_IF_ERROR(graph_attr(ctx, "body", &g));
  int64_t max_trip = -1;
  if (m_t) {
    std::vector<int64_t> mv;
    FLEETRT_RETURN_IF_ERROR(read_ints(ctx, m_t, "M", &mv));
    if (mv.size() != 1) return err(ctx, "M must be a scalar");
    max_trip = mv[0];
  }
  bool cond = true;
  if (c_t) FLEETRT_RETURN_IF_ERROR(read_bool_scalar(ctx, c_t, "cond", &cond));
  if (!m_t && !c_t) return err(ctx, "neither trip count nor condition is given: the loop would never end");
  const int n_carried = std::max(0, ctx.num_inputs() - 2);
  const int n_scan = ctx.num_outputs() - n_carried;
  if (n_scan < 0) return err(ctx, "fewer outputs than loop-carried values");

  std::vector<Value> carried(n_carried);
  for (int i = 0; i < n_carried; ++i) {
    const Value* v = ctx.input_value(i + 2);
    if (!v) {
      carried[i].kind = Value::Kind::kOptionalNone;
      continue;
    }
    carried[i] = *v;  // views of the inputs; replaced by owned subgraph results after one step
  }
  OwnedTensor iter_t, cond_t;
  FLEETRT_RETURN_IF_ERROR(ctx.allocate(DType::kI64, {}, &iter_t));
  FLEETRT_RETURN_IF_ERROR(ctx.allocate(DType::kBool, {}, &cond_t));
  Value iter_v, cond_v;
  std::vector<std::vector<OwnedTensor>> scans(n_scan);
  for (int64_t it = 0; (max_trip < 0 || it < max_trip) && cond; ++it) {
    iter_t.view.as<int64_t>()[0] = it;
    cond_t.view.as<uint8_t>()[0] = 1;
    iter_v.tensor = iter_t;
    cond_v.tensor = cond_t;
    std::vector<const Value*> ins{&iter_v, &cond_v};
    for (auto& v : carried) ins.push_back(&v);
    std::vector<Value> outs;
    FLEETRT_RETURN_IF_ERROR(ctx.run_subgraph(g, ins, &outs));
    if (static_cast<int>(outs.size()) != 1 + n_carried + n_scan)
      return err(ctx, "body produced " + std::to_string(outs.size()) + " outputs, expected " +
                          std::to_string(1 + n_carried + n_scan));
    if (outs[0].kind != Value::Kind::kTensor) return err(ctx, "body condition output is not a tensor");
    // Without an outer condition the body's condition is ignored (a for loop).
    if (c_t) FLEETRT_RETURN_IF_ERROR(read_bool_scalar(ctx, &outs[0].tensor.view, "body cond", &cond));
    for (int i = 0; i < n_carried; ++i) carried[i] = std::move(outs[1 + i]);
    for (int k = 0; k < n_scan; ++k) {
      Value& sv = outs[1 + n_carried + k];
      if (sv.kind != Value::Kind::kTensor) return err(ctx, "scan output " + std::to_string(k) + " is not a tensor");
      scans[k].push_back(sv.tensor);
    }
  }
  for (int i = 0; i < n_carried; ++i) {
    // Inputs handed straight through (zero iterations) must be copied, not aliased.
    if (carried[i].kind == Value::Kind::kTensor && !carried[i].tensor.storage) {
      OwnedTensor o;
      FLEETRT_RETURN_IF_ERROR(clone_tensor(ctx, carried[i].tensor.view, &o));
      carried[i].tensor = o;
    }
    FLEETRT_RETURN_IF_ERROR(emit_value(ctx, i, std::move(carried[i])));
  }
  for (int k = 0; k < n_scan; ++k) {
    if (scans[k].empty()) FLEETRT_RETURN_IF_ERROR(empty_scan_output(ctx, n_carried + k));
    else FLEETRT_RETURN_IF_ERROR(stack_into(ctx, n_carried + k, scans[k], 0, false, "scan output"));
  }
  return Status::Ok();
}

// Slice t of `src` along `axis` into an owned tensor.
Status take_slice(KernelContext& ctx, const Tensor& src, int64_t axis, int64_t t, OwnedTensor* out) {
  std::vector<int64_t> shape = src.shape, st = strides_of(src.shape), sst = st;
  shape.erase(shape.begin() + axis);
  sst.erase(sst.begin() + axis);
  FLEETRT_RETURN_IF_ERROR(ctx.allocate(src.dtype, shape, out));
  if (out->view.numel() > 0) strided_copy(ctx, src.dtype, out->view.data, src.data, t * st[axis], shape, sst);
  return Status::Ok();
}

// One scan over `states` and `scan_in` (already unbatched). Returns final states and the
// per-iteration scan outputs (in iteration order).
struct ScanSpec {
  int graph = -1;
  std::vector<int64_t> in_axes, in_dirs;
};
Status scan_core(KernelContext& ctx, const ScanSpec& sp, std::vector<Value>* states, const std::vector<const Tensor*>& scan_in,
                 int64_t len, int n_scan_out, std::vector<std::vector<OwnedTensor>>* scans) {
  scans->assign(n_scan_out, {});
  const int n_state = static_cast<int>(states->size());
  for (int64_t t = 0; t < len; ++t) {
    std::vector<Value> slices(scan_in.size());
    std::vector<const Value*> ins;
    for (auto& s : *states) ins.push_back(&s);
    for (size_t j = 0; j < scan_in.size(); ++j) {
      int64_t pos = sp.in_dirs[j] ? len - 1 - t : t;
      FLEETRT_RETURN_IF_ERROR(take_slice(ctx, *scan_in[j], sp.in_axes[j], pos, &slices[j].tensor));
      ins.push_back(&slices[j]);
    }
    std::vector<Value> outs;
    FLEETRT_RETURN_IF_ERROR(ctx.run_subgraph(sp.graph, ins, &outs));
    if (static_cast<int>(outs.size()) != n_state + n_scan_out)
      return err(ctx, "body produced " + std::to_string(outs.size()) + " outputs, expected " + std::to_string(n_state + n_scan_out));
    for (int i = 0; i < n_state; ++i) (*states)[i] = std::move(outs[i]);
    for (int k = 0; k < n_scan_out; ++k) {
      if (outs[n_state + k].kind != Value::Kind::kTensor) return err(ctx, "scan output is not a tensor");
      (*scans)[k].push_back(outs[n_state + k].tensor);
    }
  }
  return Status::Ok();
}

Status Scan(KernelContext& ctx) {
  const auto& A = ctx.attrs();
  ScanSpec sp;
  FLEETRT_RETURN_IF_ERROR(graph_attr(ctx, "body", &sp.graph));
  const int64_t m = A.get_int("num_scan_inputs", -1);
  const bool v8 = ctx.opset() < 9;
  const int first = v8 ? 1 : 0;
  const int n_in = ctx.num_inputs() - first;
  if (m < 1 || m > n_in) return err(ctx, "num_scan_inputs is missing or out of range");
  const int n_state = n_in - static_cast<int>(m);
  const int n_scan_out = ctx.num_outputs() - n_state;
  if (n_scan_out < 0) return err(ctx, "fewer outputs than state variables");
  std::vector<int64_t> in_dirs = A.get_ints(v8 ? "directions" : "scan_input_directions");
  std::vector<int64_t> out_dirs = A.get_ints("scan_output_directions");
  std::vector<int64_t> in_axes = A.get_ints("scan_input_axes"), out_axes = A.get_ints("scan_output_axes");
  in_dirs.resize(m, 0);
  out_dirs.resize(n_scan_out, 0);
  in_axes.resize(m, 0);
  out_axes.resize(n_scan_out, 0);
  std::vector<const Tensor*> scan_in(m);
  for (int j = 0; j < m; ++j) {
    scan_in[j] = ctx.input(first + n_state + j);
    if (!scan_in[j]) return err(ctx, "missing scan input " + std::to_string(j));
  }
  sp.in_dirs = in_dirs;
  if (!v8) {
    int64_t len = -1;
    for (int j = 0; j < m; ++j) {
      int64_t a = 0;
      FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, in_axes[j], static_cast<int64_t>(scan_in[j]->rank()), &a));
      in_axes[j] = a;
      if (len >= 0 && scan_in[j]->shape[a] != len) return err(ctx, "scan inputs have different lengths");
      len = scan_in[j]->shape[a];
    }
    sp.in_axes = in_axes;
    std::vector<Value> states(n_state);
    for (int i = 0; i < n_state; ++i) {
      const Value* v = ctx.input_value(i);
      if (!v) return err(ctx, "missing state input " + std::to_string(i));
      states[i] = *v;
    }
    std::vector<std::vector<OwnedTensor>> scans;
    FLEETRT_RETURN_IF_ERROR(scan_core(ctx, sp, &states, scan_in, len, n_scan_out, &scans));
    for (int i = 0; i < n_state; ++i) {
      if (states[i].kind == Value::Kind::kTensor && !states[i].tensor.storage) {
        OwnedTensor o;
        FLEETRT_RETURN_IF_ERROR(clone_tensor(ctx, states[i].tensor.view, &o));
        states[i].tensor = o;
      }
      FLEETRT_RETURN_IF_ERROR(emit_value(ctx, i, std::move(states[i])));
    }
    for (int k = 0; k < n_scan_out; ++k) {
      if (scans[k].empty()) FLEETRT_RETURN_IF_ERROR(empty_scan_output(ctx, n_state + k));
      else FLEETRT_RETURN_IF_ERROR(stack_into(ctx, n_state + k, scans[k], out_axes[k], out_dirs[k] != 0, "scan output"));
    }
    return Status::Ok();
  }
  // Opset 8: axis 0 of every input is the batch; scan inputs scan along axis 1.
  std::vector<int64_t> lens;
  if (ctx.num_inputs() > 0 && ctx.input(0)) FLEETRT_RETURN_IF_ERROR(read_ints(ctx, ctx.input(0), "sequence_lens", &lens));
  const Tensor* ref = scan_in[0];
  if (ref->rank() < 2) return err(ctx, "scan inputs need [batch, sequence, ...] shape");
  const int64_t B = ref->shape[0], T = ref->shape[1];
  if (!lens.empty() && static_cast<int64_t>(lens.size()) != B) return err(ctx, "sequence_lens length differs from batch");
  for (int j = 0; j < m; ++j)
    if (scan_in[j]->rank() < 2 || scan_in[j]->shape[0] != B || scan_in[j]->shape[1] != T)
      return err(ctx, "scan inputs have different batch or sequence sizes");
  sp.in_axes.assign(m, 0);
  std::vector<std::vector<OwnedTensor>> final_states(n_state), scan_rows(n_scan_out);
  for (int64_t b = 0; b < B; ++b) {
    int64_t len = lens.empty() ? T : lens[b];
    if (len < 0 || len > T) return err(ctx, "sequence length out of range");
    std::vector<Value> states(n_state);
    std::vector<OwnedTensor> ins_b(m);
    std::vector<const Tensor*> scan_b(m);
    for (int i = 0; i < n_state; ++i) {
      const Tensor* s = ctx.input(first + i);
      if (!s || s->rank() < 1 || s->shape[0] != B) return err(ctx, "state input must have batch axis 0");
      FLEETRT_RETURN_IF_ERROR(take_slice(ctx, *s, 0, b, &states[i].tensor));
    }
    for (int j = 0; j < m; ++j) {
      FLEETRT_RETURN_IF_ERROR(take_slice(ctx, *scan_in[j], 0, b, &ins_b[j]));
      scan_b[j] = &ins_b[j].view;
    }
    std::vector<std::vector<OwnedTensor>> scans;
    FLEETRT_RETURN_IF_ERROR(scan_core(ctx, sp, &states, scan_b, len, n_scan_out, &scans));
    for (int i = 0; i < n_state; ++i) final_states[i].push_back(states[i].tensor);
    for (int k = 0; k < n_scan_out; ++k) {
      if (scans[k].empty()) return err(ctx, "zero-length sequences are not supported");
      // Pad short sequences with zeros up to T.
      while (static_cast<int64_t>(scans[k].size()) < T) {
        OwnedTensor z;
        FLEETRT_RETURN_IF_ERROR(ctx.allocate(scans[k][0].view.dtype, scans[k][0].view.shape, &z));
        if (z.view.dtype != DType::kString) std::memset(z.view.data, 0, z.view.bytes());
        scans[k].push_back(z);
      }
      OwnedTensor row;
      std::vector<int64_t> rs = scans[k][0].view.shape;
      rs.insert(rs.begin(), T);
      FLEETRT_RETURN_IF_ERROR(ctx.allocate(scans[k][0].view.dtype, rs, &row));
      int64_t inner = scans[k][0].view.numel();
      for (int64_t t = 0; t < T; ++t) {
        const Tensor& src = scans[k][out_dirs[k] ? T - 1 - t : t].view;
        if (src.shape != scans[k][0].view.shape) return err(ctx, "scan output changes shape across iterations");
        copy_elems(src.dtype, row.view.data, t * inner, src.data, 0, inner);
      }
      scan_rows[k].push_back(row);
    }
  }
  for (int i = 0; i < n_state; ++i) FLEETRT_RETURN_IF_ERROR(stack_into(ctx, i, final_states[i], 0, false, "state"));
  for (int k = 0; k < n_scan_out; ++k) FLEETRT_RETURN_IF_ERROR(stack_into(ctx, n_state + k, scan_rows[k], 0, false, "scan output"));
  return Status::Ok();
}

}  // namespace

FLEETRT_REGISTER_KERNEL("", "If", If);
FLEETRT_REGISTER_KERNEL("", "Loop", Loop);
FLEETRT_REGISTER_KERNEL("", "Scan", Scan);

}  // namespace fleetrt
