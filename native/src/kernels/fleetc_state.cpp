// The stateful ops of the fleetc domain on host kernels (docs/state-ops.md): PagedAttention reads
// and appends a decoder's KV cache in the engine's pages; KvGather and KvAppend run a layer whose
// attention the compiler could not match from the same pages.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "fleetc_attention.h"
#include "kernel_util.h"

namespace fleetrt {

namespace {

using namespace ku;

// The fewest keys a split of one head's context gets: shorter ranges cost more in their partial
// sums and the merge than they save.
constexpr int64_t kMinSplitKeys = 512;
// Attention tasks per thread a step is cut into when its tokens are fewer (so that a late thread
// on a shared machine does not hold the others up).
constexpr int64_t kUnitsPerThread = 2;

Status need_step(KernelContext& ctx, StepState** out) {
  *out = ctx.step_state();
  if (!*out)
    return op_error(ctx, "needs the engine's generation state: run this plan with fleetc generate or fleetc serve (or fleetrt --engine)");
  return Status::Ok();
}

// Element j (position) of row o of one sequence of a state object.
inline size_t page_offset(const StateStorage& s, const StepSequence& q, int64_t o, int64_t j) {
  const int64_t page = q.pages[j / s.page_size];
  return static_cast<size_t>(page) * s.page_elems() + static_cast<size_t>((o * s.page_size + j % s.page_size) * s.inner);
}

Status check_pages(KernelContext& ctx, const StateStorage& s, const StepSequence& q) {
  const int64_t need = (static_cast<int64_t>(q.past) + q.tokens + s.page_size - 1) / s.page_size;
  if (q.num_pages < need)
    return op_error(ctx, "a sequence of " + std::to_string(q.past + q.tokens) + " tokens holds " + std::to_string(q.num_pages) +
                             " pages of " + std::to_string(s.page_size));
  for (int32_t i = 0; i < q.num_pages; ++i)
    if (q.pages[i] < 0 || q.pages[i] >= s.pages) return op_error(ctx, "page " + std::to_string(q.pages[i]) + " is out of the pool");
  return Status::Ok();
}

bool attention_dtype(DType t) { return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16; }

// Where head h of token t sits in the query / key / value / output tensors of each layout.
struct Layout {
  enum Kind { kBHSD, kBSD, kPacked } kind = kBHSD;
  int64_t T = 0, H = 0, KVH = 0, D = 0;
  size_t q(int64_t t, int64_t h) const {
    if (kind == kBHSD) return static_cast<size_t>((h * T + t) * D);
    if (kind == kBSD) return static_cast<size_t>((t * H + h) * D);
    return static_cast<size_t>((t * (H + 2 * KVH) + h) * D);
  }
  size_t k(int64_t t, int64_t g) const {
    if (kind == kBHSD) return static_cast<size_t>((g * T + t) * D);
    if (kind == kBSD) return static_cast<size_t>((t * KVH + g) * D);
    return static_cast<size_t>((t * (H + 2 * KVH) + H + g) * D);
  }
  size_t v(int64_t t, int64_t g) const { return kind == kPacked ? k(t, g) + static_cast<size_t>(KVH * D) : k(t, g); }
  size_t out(int64_t t, int64_t h) const {
    return kind == kBHSD ? static_cast<size_t>((h * T + t) * D) : static_cast<size_t>((t * H + h) * D);
  }
};

Status PagedAttention(KernelContext& ctx) {
  StepState* step = nullptr;
  FLEETRT_RETURN_IF_ERROR(need_step(ctx, &step));
  const Attributes& a = ctx.attrs();
  Layout L;
  const std::string layout = a.get_string("layout", "bhsd");
  L.kind = layout == "bhsd" ? Layout::kBHSD : layout == "bsd" ? Layout::kBSD : Layout::kPacked;
  if (layout != "bhsd" && layout != "bsd" && layout != "packed") return op_error(ctx, "unknown layout '" + layout + "'");
  L.H = a.get_int("num_heads", 0);
  L.KVH = a.get_int("kv_num_heads", L.H);
  L.D = a.get_int("head_size", 0);
  if (L.H <= 0 || L.KVH <= 0 || L.D <= 0 || L.H % L.KVH != 0)
    return op_error(ctx, "num_heads, kv_num_heads and head_size must be positive with num_heads a multiple of kv_num_heads");
  const float scale = a.get_float("scale", 0) != 0 ? static_cast<float>(a.get_float("scale", 0)) : 1.0f / std::sqrt(static_cast<float>(L.D));
  const Tensor* q = nullptr;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &q));
  const Tensor* kn = q;
  const Tensor* vn = q;
  if (L.kind != Layout::kPacked) {
    FLEETRT_RETURN_IF_ERROR(require_input(ctx, 1, &kn));
    FLEETRT_RETURN_IF_ERROR(require_input(ctx, 2, &vn));
  }
  L.T = step->num_tokens();
  const DType dt = q->dtype;
  if (!attention_dtype(dt) || kn->dtype != dt || vn->dtype != dt) return op_error(ctx, "query, key and value must share one float type");
  auto expect = [&](const Tensor& t, std::vector<int64_t> shape, const char* what) -> Status {
    if (t.shape != shape) return op_error(ctx, std::string(what) + " has shape " + shape_str(t.shape) + ", expected " + shape_str(shape));
    return Status::Ok();
  };
  std::vector<int64_t> out_shape;
  if (L.kind == Layout::kBHSD) {
    FLEETRT_RETURN_IF_ERROR(expect(*q, {1, L.H, L.T, L.D}, "query"));
    FLEETRT_RETURN_IF_ERROR(expect(*kn, {1, L.KVH, L.T, L.D}, "key"));
    FLEETRT_RETURN_IF_ERROR(expect(*vn, {1, L.KVH, L.T, L.D}, "value"));
    out_shape = {1, L.H, L.T, L.D};
  } else if (L.kind == Layout::kBSD) {
    FLEETRT_RETURN_IF_ERROR(expect(*q, {1, L.T, L.H * L.D}, "query"));
    FLEETRT_RETURN_IF_ERROR(expect(*kn, {1, L.T, L.KVH * L.D}, "key"));
    FLEETRT_RETURN_IF_ERROR(expect(*vn, {1, L.T, L.KVH * L.D}, "value"));
    out_shape = {1, L.T, L.H * L.D};
  } else {
    FLEETRT_RETURN_IF_ERROR(expect(*q, {1, L.T, (L.H + 2 * L.KVH) * L.D}, "packed query/key/value"));
    out_shape = {1, L.T, L.H * L.D};
  }
  StateStorage ks, vs;
  FLEETRT_RETURN_IF_ERROR(step->storage(static_cast<int>(a.get_int("k_state", -1)), &ks));
  FLEETRT_RETURN_IF_ERROR(step->storage(static_cast<int>(a.get_int("v_state", -1)), &vs));
  if (ks.dtype != dt || vs.dtype != dt || ks.outer != L.KVH || ks.inner != L.D || vs.outer != L.KVH || vs.inner != L.D)
    return op_error(ctx, "the state's pages do not hold [kv_num_heads, head_size] of the query's type");
  Tensor* out = nullptr;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, out_shape, dt, &out));

  // 1. Append every new token's K and V at its position.
  const int nseq = step->num_sequences();
  std::vector<int> seq_of(static_cast<size_t>(L.T), -1);
  std::vector<float> row(static_cast<size_t>(L.D));
  for (int s = 0; s < nseq; ++s) {
    const StepSequence& sq = step->sequence(s);
    FLEETRT_RETURN_IF_ERROR(check_pages(ctx, ks, sq));
    if (sq.first_token < 0 || sq.first_token + sq.tokens > L.T) return op_error(ctx, "a sequence's tokens lie outside the step");
    for (int32_t i = 0; i < sq.tokens; ++i) {
      const int64_t t = sq.first_token + i, pos = sq.past + i;
      seq_of[t] = s;
      for (int64_t g = 0; g < L.KVH; ++g) {
        paged::to_floats(dt, kn->data, L.k(t, g), row.data(), L.D);
        paged::from_floats(dt, row.data(), ks.data, page_offset(ks, sq, g, pos), L.D);
        paged::to_floats(dt, vn->data, L.v(t, g), row.data(), L.D);
        paged::from_floats(dt, row.data(), vs.data, page_offset(vs, sq, g, pos), L.D);
      }
    }
  }
  const uint64_t elem = dtype_bytes(dt, 1);
  uint64_t written = 2 * elem * static_cast<uint64_t>(L.T * L.KVH * L.D), read = 0;
  for (int64_t t = 0; t < L.T; ++t) {
    if (seq_of[t] < 0) return op_error(ctx, "token " + std::to_string(t) + " of the step belongs to no sequence");
    const StepSequence& sq = step->sequence(seq_of[t]);
    read += 2 * elem * static_cast<uint64_t>((sq.past + (t - sq.first_token) + 1) * L.KVH * L.D);
  }

  // 2. Attention, one task per (token, KV heads, key range): each KV head's group of query heads
  // reads that head's K/V once, page by page (a page's heads lie one after another, so that a task
  // over all heads reads one run of memory per page). A step with fewer tokens than a few per
  // thread (a decode step) is cut finer: a long context into ranges of whole pages, whose parts
  // are merged, and otherwise the KV heads into groups.
  const int64_t group = L.H / L.KVH;
  const int64_t D = L.D;
  const int64_t ps = ks.page_size;
  if (vs.page_size != ps) return op_error(ctx, "the K and V states' pages differ in size");
  int64_t max_ctx = 1;
  for (int s = 0; s < nseq; ++s) max_ctx = std::max<int64_t>(max_ctx, step->sequence(s).past + step->sequence(s).tokens);
  const int64_t want = kUnitsPerThread * static_cast<int64_t>(ctx.num_threads());
  const int64_t splits =
      L.T >= want ? 1 : std::max<int64_t>(1, std::min<int64_t>((want + L.T - 1) / L.T, max_ctx / kMinSplitKeys));
  const int64_t span = ((max_ctx + splits - 1) / splits + ps - 1) / ps * ps;  // keys per range, whole pages
  const int64_t head_groups = std::min<int64_t>(L.KVH, std::max<int64_t>(1, (want + L.T * splits - 1) / (L.T * splits)));
  const int64_t per_group = (L.KVH + head_groups - 1) / head_groups;  // KV heads per task
  const int64_t units = L.T * head_groups * splits;
  // per (token, range): each query head's m, then its l, then its unnormalised sums (splits > 1 only)
  const int64_t part_floats = L.H * (D + 2);
  float* parts = splits > 1 ? static_cast<float*>(ctx.scratch(static_cast<size_t>(L.T * splits * part_floats) * 4)) : nullptr;
  if (splits > 1 && !parts) return op_error(ctx, "cannot allocate the split ranges' partial sums");
  paged::HeadPages heads;
  heads.dtype = dt;
  heads.k = ks.data;
  heads.v = vs.data;
  heads.page_size = ps;
  heads.page_elems = static_cast<int64_t>(ks.page_elems());
  heads.D = D;
  // A step cut finer than its tokens (a decode step) runs its tasks on all the threads even when
  // they are short: they wait on memory (K/V rows the weights streamed out of the caches since the
  // previous step), not on arithmetic.
  const int64_t work_per_unit = std::min(max_ctx, span) * per_group * group * D;
  const int64_t grain = L.T < want ? 1 : std::max<int64_t>(1, (1 << 16) / (work_per_unit + 1));
  ctx.parallel_for(units, grain, [&](int64_t begin, int64_t end) {
    std::vector<float> qv(static_cast<size_t>(L.H * D)), acc(qv.size()), scratch;
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t part = unit % splits, t = unit / splits / head_groups;
      const int64_t g0 = unit / splits % head_groups * per_group, g1 = std::min(L.KVH, g0 + per_group);
      const int64_t r0 = g0 * group, r1 = g1 * group;  // its query heads
      if (g0 >= g1) continue;
      const StepSequence& sq = step->sequence(seq_of[t]);
      const int64_t n = sq.past + (t - sq.first_token) + 1;  // keys 0 … position
      const int64_t j0 = part * span, j1 = std::min(n, j0 + span);
      float* pm = splits > 1 ? parts + (t * splits + part) * part_floats : nullptr;
      if (j0 >= j1) {  // a shorter sequence's empty range: no weight in the merge
        std::fill(pm + r0, pm + r1, -INFINITY);
        std::fill(pm + L.H + r0, pm + L.H + r1, 0.0f);
        std::fill(pm + 2 * L.H + r0 * D, pm + 2 * L.H + r1 * D, 0.0f);
        continue;
      }
      paged::HeadPages h = heads;
      h.pages = sq.pages;
      h.head_offset = g0 * ps * D;
      scratch.resize(std::max(scratch.size(), paged::attend_scratch_floats(h, g1 - g0, group, j1 - j0)));
      for (int64_t hq = r0; hq < r1; ++hq) paged::to_floats(dt, q->data, L.q(t, hq), &qv[hq * D], D);
      if (pm) {
        paged::attend(h, g1 - g0, &qv[r0 * D], group, j0, j1, scale, scratch.data(), pm + 2 * L.H + r0 * D, pm + r0,
                      pm + L.H + r0);
      } else {
        paged::attend(h, g1 - g0, &qv[r0 * D], group, j0, j1, scale, scratch.data(), &acc[r0 * D], nullptr, nullptr);
        for (int64_t hq = r0; hq < r1; ++hq) paged::from_floats(dt, &acc[hq * D], out->data, L.out(t, hq), D);
      }
    }
  });
  if (splits > 1) {
    std::vector<float> m(static_cast<size_t>(splits * L.H)), l(m.size()), sums(static_cast<size_t>(splits * L.H * D)),
        acc(static_cast<size_t>(L.H * D));
    for (int64_t t = 0; t < L.T; ++t) {
      for (int64_t part = 0; part < splits; ++part) {
        const float* pm = parts + (t * splits + part) * part_floats;
        std::copy(pm, pm + L.H, &m[part * L.H]);
        std::copy(pm + L.H, pm + 2 * L.H, &l[part * L.H]);
        std::copy(pm + 2 * L.H, pm + part_floats, &sums[part * L.H * D]);
      }
      paged::merge(splits, L.H, D, m.data(), l.data(), sums.data(), acc.data());
      for (int64_t hq = 0; hq < L.H; ++hq) paged::from_floats(dt, &acc[hq * D], out->data, L.out(t, hq), D);
    }
  }
  step->count(written, read);
  return Status::Ok();
}

// The model's past/present tensor read as [outer, tokens, inner] around the growth axis.
Status flat_geometry(KernelContext& ctx, const std::vector<int64_t>& shape, int64_t axis, int64_t* outer, int64_t* inner) {
  if (axis < 0 || axis >= static_cast<int64_t>(shape.size())) return op_error(ctx, "axis out of range");
  *outer = prod(shape, 0, static_cast<size_t>(axis));
  *inner = prod(shape, static_cast<size_t>(axis) + 1, shape.size());
  return Status::Ok();
}

// The step of this pass and its one sequence.
Status single_sequence(KernelContext& ctx, StepState** step, const StepSequence** out) {
  FLEETRT_RETURN_IF_ERROR(need_step(ctx, step));
  if ((*step)->num_sequences() != 1)
    return op_error(ctx, "runs one sequence per pass, the step has " + std::to_string((*step)->num_sequences()));
  *out = &(*step)->sequence(0);
  return Status::Ok();
}

// The same, and the pages of the state that the op's `state` attribute names, checked against the sequence.
Status sequence_pages(KernelContext& ctx, StepState** step, const StepSequence** sq, StateStorage* st) {
  FLEETRT_RETURN_IF_ERROR(single_sequence(ctx, step, sq));
  FLEETRT_RETURN_IF_ERROR((*step)->storage(static_cast<int>(ctx.attrs().get_int("state", -1)), st));
  return check_pages(ctx, *st, **sq);
}

Status KvGather(KernelContext& ctx) {
  StepState* step = nullptr;
  const StepSequence* sq = nullptr;
  StateStorage st;
  FLEETRT_RETURN_IF_ERROR(sequence_pages(ctx, &step, &sq, &st));
  std::vector<int64_t> shape = ctx.attrs().get_ints("shape");
  const int64_t axis = ctx.attrs().get_int("axis", 0);
  if (axis < 0 || axis >= static_cast<int64_t>(shape.size())) return op_error(ctx, "axis out of range");
  // capacity > 0: a static cache, the model's fixed-size tensor with the past tokens first, zeros after
  const int64_t capacity = ctx.attrs().get_int("capacity", 0);
  if (capacity > 0 && sq->past > capacity)
    return op_error(ctx, std::to_string(sq->past) + " cached tokens do not fit the static cache of " + std::to_string(capacity));
  shape[axis] = capacity > 0 ? capacity : sq->past;
  int64_t outer = 0, inner = 0;
  FLEETRT_RETURN_IF_ERROR(flat_geometry(ctx, shape, axis, &outer, &inner));
  if (outer != st.outer || inner != st.inner) return op_error(ctx, "the state's pages do not match the past tensor's shape " + shape_str(shape));
  Tensor* out = nullptr;
  FLEETRT_RETURN_IF_ERROR(ctx.output(0, shape, &out));
  const size_t elem = dtype_bytes(st.dtype, 1);
  if (!out || out->dtype != st.dtype) return op_error(ctx, "the past tensor's type differs from the state's");
  uint8_t* dst = static_cast<uint8_t*>(out->data);
  const uint8_t* src = static_cast<const uint8_t*>(st.data);
  const int64_t rows = shape[axis];
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < sq->past; ++j)
      std::memcpy(dst + ((o * rows + j) * inner) * elem, src + page_offset(st, *sq, o, j) * elem, static_cast<size_t>(inner) * elem);
    if (rows > sq->past)
      std::memset(dst + ((o * rows + sq->past) * inner) * elem, 0, static_cast<size_t>((rows - sq->past) * inner) * elem);
  }
  step->count(0, 0, static_cast<uint64_t>(outer * sq->past * inner) * elem);
  return Status::Ok();
}

Status KvAppend(KernelContext& ctx) {
  StepState* step = nullptr;
  const StepSequence* sq = nullptr;
  StateStorage st;
  FLEETRT_RETURN_IF_ERROR(sequence_pages(ctx, &step, &sq, &st));
  const Tensor* present = nullptr;
  FLEETRT_RETURN_IF_ERROR(require_input(ctx, 0, &present));
  const int64_t axis = ctx.attrs().get_int("axis", 0);
  int64_t outer = 0, inner = 0;
  FLEETRT_RETURN_IF_ERROR(flat_geometry(ctx, present->shape, axis, &outer, &inner));
  const int64_t total = present->shape[axis];
  // capacity > 0: a static cache, the new tokens written at the past length of a fixed-size tensor
  const int64_t capacity = ctx.attrs().get_int("capacity", 0);
  const int64_t end = sq->past + sq->tokens;
  if (present->dtype != st.dtype || outer != st.outer || inner != st.inner || (capacity > 0 ? total != capacity || end > capacity : total != end))
    return op_error(ctx, "present " + shape_str(present->shape) + " does not extend the cache of " + std::to_string(sq->past) + " tokens by " +
                             std::to_string(sq->tokens) + (capacity > 0 ? " within the static capacity of " + std::to_string(capacity) : ""));
  const size_t elem = dtype_bytes(st.dtype, 1);
  const uint8_t* src = static_cast<const uint8_t*>(present->data);
  uint8_t* dst = static_cast<uint8_t*>(st.data);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = sq->past; j < end; ++j)
      std::memcpy(dst + page_offset(st, *sq, o, j) * elem, src + ((o * total + j) * inner) * elem, static_cast<size_t>(inner) * elem);
  Tensor* done = nullptr;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, {}, DType::kI64, &done));
  if (done) *done->as<int64_t>() = sq->tokens;
  step->count(static_cast<uint64_t>(outer * sq->tokens * inner) * elem, 0);
  return Status::Ok();
}

// The shape of one sequence's past (total = 0) or present (total = 1) cache tensor.
Status KvShape(KernelContext& ctx) {
  StepState* step = nullptr;
  const StepSequence* sq = nullptr;
  FLEETRT_RETURN_IF_ERROR(single_sequence(ctx, &step, &sq));
  std::vector<int64_t> shape = ctx.attrs().get_ints("shape");
  const int64_t axis = ctx.attrs().get_int("axis", 0);
  if (axis < 0 || axis >= static_cast<int64_t>(shape.size())) return op_error(ctx, "axis out of range");
  shape[axis] = sq->past + (ctx.attrs().get_int("total", 0) ? sq->tokens : 0);
  Tensor* out = nullptr;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, {static_cast<int64_t>(shape.size())}, DType::kI64, &out));
  if (out) std::memcpy(out->data, shape.data(), shape.size() * sizeof(int64_t));
  return Status::Ok();
}

}  // namespace

FLEETRT_REGISTER_KERNEL("fleetc", "KvShape", KvShape);
FLEETRT_REGISTER_KERNEL("fleetc", "PagedAttention", PagedAttention);
FLEETRT_REGISTER_KERNEL("fleetc", "KvGather", KvGather);
FLEETRT_REGISTER_KERNEL("fleetc", "KvAppend", KvAppend);

}  // namespace fleetrt
