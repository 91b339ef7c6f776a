// Sequence ops (SequenceEmpty/Construct/Insert/Erase/At/Length, SplitToSequence,
// ConcatFromSequence, SequenceMap) and Optional ops (Optional, OptionalHasElement,
// OptionalGetElement). Sequence elements are runtime-owned tensors; elements taken over from an
// input sequence share its storage (tensors are immutable once produced).
#include <algorithm>

#include "data_util.h"

namespace fleetrt {
namespace {
using namespace datak;

Status require_seq(const KernelContext& ctx, int i, const Value** v) {
  *v = ctx.input_value(i);
  if (!*v || (*v)->kind != Value::Kind::kSequence) return err(ctx, "input " + std::to_string(i) + " must be a sequence");
  return Status::Ok();
}

Value make_seq(DType elem) {
  Value v;
  v.kind = Value::Kind::kSequence;
  v.elem_dtype = elem;
  return v;
}

// Reads an optional position input and normalises it into [0, limit].
Status read_position(const KernelContext& ctx, int i, int64_t n, int64_t def, int64_t limit, int64_t* pos) {
  *pos = def;
  const Tensor* t = ctx.input(i);
  if (!t) return Status::Ok();
  std::vector<int64_t> v;
  FLEETRT_RETURN_IF_ERROR(read_ints(ctx, t, "position", &v));
  if (v.size() != 1) return err(ctx, "position must be a scalar");
  int64_t p = v[0] < 0 ? v[0] + n : v[0];
  if (p < 0 || p > limit)
    return err(ctx, "position " + std::to_string(v[0]) + " is out of range for a sequence of length " + std::to_string(n));
  *pos = p;
  return Status::Ok();
}

Status SequenceEmpty(KernelContext& ctx) {
  return ctx.set_output_value(0, make_seq(static_cast<DType>(ctx.attrs().get_int("dtype", 1))));
}

Status SequenceConstruct(KernelContext& ctx) {
  if (ctx.num_inputs() < 1) return err(ctx, "needs at least one input");
  Value s = make_seq(DType::kUndefined);
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor* t;
    FLEETRT_RETURN_IF_ERROR(require_input(ctx, i, &t));
    if (i == 0) s.elem_dtype = t->dtype;
    if (t->dtype != s.elem_dtype) return err(ctx, "all inputs must have the same dtype");
    OwnedTensor o;
    FLEETRT_RETURN_IF_ERROR(clone_tensor(ctx, *t, &o));
    s.elements.push_back(o);
  }
  return ctx.set_output_value(0, std::move(s));
}

Status SequenceInsert(KernelContext& ctx) {
  const Value* seq;
  const Tensor* t;
  FLEETRT_RETURN_IF_ERROR(require_seq(ctx, 0, &seq));
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &t));
  const int64_t n = static_cast<int64_t>(seq->elements.size());
  if (n > 0 && t->dtype != seq->elements[0].view.dtype) return err(ctx, "tensor dtype differs from the sequence's");
  int64_t pos;
  FLEETRT_RETURN_IF_ERROR(read_position(ctx, 2, n, n, n, &pos));
  Value s = *seq;
  s.elem_dtype = t->dtype;
  OwnedTensor o;
  FLEETRT_RETURN_IF_ERROR(clone_tensor(ctx, *t, &o));
  s.elements.insert(s.elements.begin() + pos, o);
  return ctx.set_output_value(0, std::move(s));
}

Status SequenceErase(KernelContext& ctx) {
  const Value* seq;
  FLEETRT_RETURN_IF_ERROR(require_seq(ctx, 0, &seq));
  const int64_t n = static_cast<int64_t>(seq->elements.size());
  if (n == 0) return err(ctx, "cannot erase from an empty sequence");
  int64_t pos;
  FLEETRT_RETURN_IF_ERROR(read_position(ctx, 1, n, n - 1, n - 1, &pos));
  Value s = *seq;
  s.elements.erase(s.elements.begin() + pos);
  return ctx.set_output_value(0, std::move(s));
}

Status SequenceAt(KernelContext& ctx) {
  const Value* seq;
  FLEETRT_RETURN_IF_ERROR(require_seq(ctx, 0, &seq));
  const int64_t n = static_cast<int64_t>(seq->elements.size());
  if (!ctx.input(1)) return err(ctx, "missing input 'position'");
  int64_t pos;
  FLEETRT_RETURN_IF_ERROR(read_position(ctx, 1, n, 0, n - 1, &pos));
  const Tensor& src = seq->elements[pos].view;
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, src.shape, &out));
  if (out) copy_tensor_data(src, out);
  return Status::Ok();
}

Status SequenceLength(KernelContext& ctx) {
  const Value* seq;
  FLEETRT_RETURN_IF_ERROR(require_seq(ctx, 0, &seq));
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, {}, &out));
  if (out) out->as<int64_t>()[0] = static_cast<int64_t>(seq->elements.size());
  return Status::Ok();
}

// Copies the slab [start, start+len) of axis out of `in` into a new owned tensor.
Status slab(KernelContext& ctx, const Tensor& in, int64_t axis, int64_t start, int64_t len, bool drop_axis, OwnedTensor* o) {
  std::vector<int64_t> shape = in.shape;
  shape[axis] = len;
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= in.shape[k];
  for (size_t k = axis + 1; k < in.shape.size(); ++k) inner *= in.shape[k];
  if (drop_axis) shape.erase(shape.begin() + axis);
  FLEETRT_RETURN_IF_ERROR(ctx.allocate(in.dtype, shape, o));
  for (int64_t q = 0; q < outer; ++q)
    copy_elems(in.dtype, o->view.data, q * len * inner, in.data, (q * in.shape[axis] + start) * inner, len * inner);
  return Status::Ok();
}

Status SplitToSequence(KernelContext& ctx) {
  const Tensor* in;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &in));
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, in->dtype));
  int64_t axis;
  FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, ctx.attrs().get_int("axis", 0), static_cast<int64_t>(in->rank()), &axis));
  const int64_t dim = in->shape[axis];
  std::vector<int64_t> sizes;
  bool drop = false;
  const Tensor* sp = ctx.input(1);
  if (!sp) {
    sizes.assign(dim, 1);
    drop = ctx.attrs().get_int("keepdims", 1) == 0;
  } else {
    std::vector<int64_t> v;
    FLEETRT_RETURN_IF_ERROR(read_ints(ctx, sp, "split", &v));
    if (sp->rank() == 0) {
      if (v[0] <= 0) return err(ctx, "split size must be positive");
      for (int64_t s = 0; s < dim; s += v[0]) sizes.push_back(std::min(v[0], dim - s));
    } else {
      int64_t tot = 0;
      for (int64_t s : v) {
        if (s < 0) return err(ctx, "split sizes must be non-negative");
        tot += s;
      }
      if (tot != dim) return err(ctx, "split sizes sum to " + std::to_string(tot) + " but the axis has " + std::to_string(dim));
      sizes = v;
    }
  }
  Value s = make_seq(in->dtype);
  int64_t start = 0;
  for (int64_t len : sizes) {
    OwnedTensor o;
    FLEETRT_RETURN_IF_ERROR(slab(ctx, *in, axis, start, len, drop, &o));
    s.elements.push_back(o);
    start += len;
  }
  return ctx.set_output_value(0, std::move(s));
}

Status ConcatFromSequence(KernelContext& ctx) {
  const Value* seq;
  FLEETRT_RETURN_IF_ERROR(require_seq(ctx, 0, &seq));
  if (seq->elements.empty()) return err(ctx, "cannot concatenate an empty sequence");
  const bool new_axis = ctx.attrs().get_int("new_axis", 0) != 0;
  const Tensor& f = seq->elements[0].view;
  FLEETRT_RETURN_IF_ERROR(check_movable(ctx, f.dtype));
  const int64_t r = static_cast<int64_t>(f.rank());
  int64_t axis;
  FLEETRT_RETURN_IF_ERROR(norm_axis(ctx, ctx.attrs().get_int("axis", 0), new_axis ? r + 1 : r, &axis));
  // View every element with the (possibly new) axis explicit.
  std::vector<int64_t> out_shape = f.shape;
  if (new_axis) out_shape.insert(out_shape.begin() + axis, 0);
  else out_shape[axis] = 0;
  std::vector<int64_t> lens;
  for (const auto& e : seq->elements) {
    std::vector<int64_t> sh = e.view.shape;
    if (new_axis) sh.insert(sh.begin() + axis, 1);
    if (e.view.dtype != f.dtype || sh.size() != out_shape.size()) return err(ctx, "sequence elements differ in dtype or rank");
    for (size_t k = 0; k < sh.size(); ++k)
      if (static_cast<int64_t>(k) != axis && sh[k] != out_shape[k])
        return err(ctx, "sequence element shape " + shape_str(e.view.shape) + " does not match " + shape_str(f.shape));
    lens.push_back(sh[axis]);
    out_shape[axis] += sh[axis];
  }
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, out_shape, &out));
  if (!out) return Status::Ok();
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= out_shape[k];
  for (size_t k = axis + 1; k < out_shape.size(); ++k) inner *= out_shape[k];
  int64_t off = 0;
  for (size_t i = 0; i < lens.size(); ++i) {
    const Tensor& e = seq->elements[i].view;
    for (int64_t q = 0; q < outer; ++q)
      copy_elems(f.dtype, out->data, (q * out_shape[axis] + off) * inner, e.data, q * lens[i] * inner, lens[i] * inner);
    off += lens[i];
  }
  return Status::Ok();
}

Status SequenceMap(KernelContext& ctx) {
  const Value* seq;
  FLEETRT_RETURN_IF_ERROR(require_seq(ctx, 0, &seq));
  int g = -1;
  FLEETRT_RETURN_IF_ERROR(graph_attr(ctx, "body", &g));
  const size_t n = seq->elements.size();
  std::vector<const Value*> extra;
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    const Value* v = ctx.input_value(i);
    if (!v) return err(ctx, "missing input " + std::to_string(i));
    if (v->kind == Value::Kind::kSequence && v->elements.size() != n)
      return err(ctx, "sequence input " + std::to_string(i) + " has length " + std::to_string(v->elements.size()) +
                          ", expected " + std::to_string(n));
    extra.push_back(v);
  }
  std::vector<Value> outs(ctx.num_outputs(), make_seq(DType::kUndefined));
  for (size_t it = 0; it < n; ++it) {
    std::vector<Value> args;
    args.reserve(1 + extra.size());
    args.push_back(tensor_value(seq->elements[it].view));
    for (const Value* v : extra)
      args.push_back(v->kind == Value::Kind::kSequence ? tensor_value(v->elements[it].view) : *v);
    std::vector<const Value*> ins;
    for (auto& a : args) ins.push_back(&a);
    std::vector<Value> res;
    FLEETRT_RETURN_IF_ERROR(ctx.run_subgraph(g, ins, &res));
    if (res.size() != outs.size()) return err(ctx, "body produced " + std::to_string(res.size()) + " outputs");
    for (size_t k = 0; k < res.size(); ++k) {
      if (res[k].kind != Value::Kind::kTensor) return err(ctx, "body output " + std::to_string(k) + " is not a tensor");
      OwnedTensor o = res[k].tensor;
      if (!o.storage) FLEETRT_RETURN_IF_ERROR(clone_tensor(ctx, res[k].tensor.view, &o));
      outs[k].elem_dtype = o.view.dtype;
      outs[k].elements.push_back(o);
    }
  }
  for (size_t k = 0; k < outs.size(); ++k) FLEETRT_RETURN_IF_ERROR(ctx.set_output_value(static_cast<int>(k), std::move(outs[k])));
  return Status::Ok();
}

// ---- Optional ------------------------------------------------------------------------------
bool has_element(const Value* v) { return v && v->kind != Value::Kind::kOptionalNone; }

Status Optional(KernelContext& ctx) {
  const Value* v = ctx.num_inputs() > 0 ? ctx.input_value(0) : nullptr;
  if (!has_element(v)) {
    Value none;
    none.kind = Value::Kind::kOptionalNone;
    const Attribute* a = ctx.attrs().find("type");
    if (a && a->kind == Attribute::Kind::kInt) none.elem_dtype = static_cast<DType>(a->i);
    return ctx.set_output_value(0, std::move(none));
  }
  Value out = *v;
  if (out.kind == Value::Kind::kTensor) FLEETRT_RETURN_IF_ERROR(clone_tensor(ctx, v->tensor.view, &out.tensor));
  return ctx.set_output_value(0, std::move(out));
}

Status OptionalHasElement(KernelContext& ctx) {
  const Value* v = ctx.num_inputs() > 0 ? ctx.input_value(0) : nullptr;
  Tensor* out;
  FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, {}, &out));
  if (out) out->as<uint8_t>()[0] = has_element(v) ? 1 : 0;
  return Status::Ok();
}

Status OptionalGetElement(KernelContext& ctx) {
  const Value* v = ctx.input_value(0);
  if (!has_element(v)) return err(ctx, "the optional input is empty");
  if (v->kind == Value::Kind::kTensor) {
    Tensor* out;
    FLEETRT_RETURN_IF_ERROR(make_output(ctx, 0, v->tensor.view.shape, &out));
    if (out) copy_tensor_data(v->tensor.view, out);
    return Status::Ok();
  }
  return ctx.set_output_value(0, *v);
}

FLEETRT_REGISTER_KERNEL("", "SequenceEmpty", SequenceEmpty);
FLEETRT_REGISTER_KERNEL("", "SequenceConstruct", SequenceConstruct);
FLEETRT_REGISTER_KERNEL("", "SequenceInsert", SequenceInsert);
FLEETRT_REGISTER_KERNEL("", "SequenceErase", SequenceErase);
FLEETRT_REGISTER_KERNEL("", "SequenceAt", SequenceAt);
FLEETRT_REGISTER_KERNEL("", "SequenceLength", SequenceLength);
FLEETRT_REGISTER_KERNEL("", "SplitToSequence", SplitToSequence);
FLEETRT_REGISTER_KERNEL("", "ConcatFromSequence", ConcatFromSequence);
FLEETRT_REGISTER_KERNEL("", "SequenceMap", SequenceMap);
FLEETRT_REGISTER_KERNEL("", "Optional", Optional);
FLEETRT_REGISTER_KERNEL("", "OptionalHasElement", OptionalHasElement);
FLEETRT_REGISTER_KERNEL("", "OptionalGetElement", OptionalGetElement);

}  // namespace
}  // namespace fleetrt
