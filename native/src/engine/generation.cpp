#include "engine/generation.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "core/json.h"
#include "engine/telemetry_writer.h"
#include "kernels/kernel_util.h"

namespace fleetrt {

namespace {

// The generation state one device's kernels see during one pass.
class DeviceStep final : public StepState {
 public:
  explicit DeviceStep(DeviceState* state) : state_(state) {}
  int num_sequences() const override { return static_cast<int>(seqs.size()); }
  const StepSequence& sequence(int i) const override { return seqs[static_cast<size_t>(i)]; }
  int num_tokens() const override { return tokens; }
  Status storage(int id, StateStorage* out) override {
    if (!state_) return Status::Error("state " + std::to_string(id) + " is not kept on this device");
    return state_->storage(id, out);
  }
  void count(uint64_t w, uint64_t r, uint64_t c) override {
    written += w;
    read += r;
    copied += c;
  }

  std::vector<StepSequence> seqs;
  int tokens = 0;
  std::atomic<uint64_t> written{0}, read{0}, copied{0};

 private:
  DeviceState* state_;
};

Status bad_request(const std::string& m) { return Status{kStatusBadInput, m}; }

Status make_int_tensor(const std::string& dtype, const std::vector<int64_t>& shape, const std::vector<int64_t>& values, Value* out) {
  const DType t = dtype_from_name(dtype.empty() ? "int64" : dtype);
  if (t != DType::kI64 && t != DType::kI32) return Status::Error("generation inputs must be int64 or int32, the plan says " + dtype);
  out->kind = Value::Kind::kTensor;
  std::string err;
  if (!alloc_owned(t, shape, &out->tensor, &err)) return Status::Error(err);
  for (size_t i = 0; i < values.size(); ++i) {
    if (t == DType::kI64) out->tensor.view.as<int64_t>()[i] = values[i];
    else out->tensor.view.as<int32_t>()[i] = static_cast<int32_t>(values[i]);
  }
  return Status::Ok();
}

}  // namespace

Status Generator::open(Engine& engine, const GeneratorOptions& options) {
  engine_ = &engine;
  const Plan& plan = engine.plan();
  const PlanGeneration& gen = plan.generation;
  if (!gen.present)
    return Status{kStatusBadPlan, plan.path + ": the plan has no generation section (compile a decoder whose KV cache fleetc found: fleetc generate MODEL does)"};
  // Under MPI this process (rank 0) schedules for every rank; it must hold the graph's inputs.
  if (!engine.devices()[static_cast<size_t>(engine.home())]->local)
    return Status::Error("generation under MPI needs the home device '" + plan.devices[engine.home()].name + "' on rank 0");
  FLEETRT_RETURN_IF_ERROR(bind_io(plan));
  flatten_ = gen.flatten;
  vocab_ = gen.vocab;
  page_size_ = gen.page_size;
  max_step_tokens_ = options.max_step_tokens > 0 ? options.max_step_tokens : gen.max_step_tokens;
  if (vocab_ <= 0) return Status{kStatusBadPlan, plan.path + ": the generation section has no vocabulary size"};
  const int64_t pages = options.pages > 0 ? options.pages : (gen.capacity_tokens + page_size_ - 1) / page_size_;
  if (pages < 1 && !plan.state.empty())
    return Status{kStatusBadPlan, plan.path + ": the KV pool has no pages (capacityTokens " + std::to_string(gen.capacity_tokens) + ")"};
  pages_.reset(page_size_, pages);
  for (const PlanState& s : plan.state) kv_bytes_per_token_ += static_cast<uint64_t>(s.bytes_per_token);
  FLEETRT_RETURN_IF_ERROR(open_states(engine, &states_));
  if (options.prefix_cache) prefix_ = std::make_unique<PrefixCache>(&pages_);
  return Status::Ok();
}

// The memory of the state objects each local device owns (a device in another process keeps its
// own), within each device's budget.
Status Generator::open_states(Engine& engine, std::vector<std::unique_ptr<DeviceState>>* out) const {
  const Plan& plan = engine.plan();
  out->clear();
  for (const auto& d : engine.devices()) {
    out->push_back(nullptr);
    std::vector<const PlanState*> mine;
    for (const PlanState& s : plan.state)
      if (s.owner == d->desc->name) mine.push_back(&s);
    if (mine.empty() || !d->local) continue;
    auto st = std::make_unique<DeviceState>();
    FLEETRT_RETURN_IF_ERROR(st->open(*d->backend, mine, page_size_, pages_.pages()));
    d->reserved = st->bytes();
    const uint64_t need = d->program.weights.size() + d->program.programs[0].arena_bytes + d->reserved;
    if (d->desc->capacity && need > d->desc->capacity)
      return Status::Error("device '" + d->desc->name + "': weights, arena and a KV pool of " + std::to_string(pages_.pages()) +
                           " pages (" + std::to_string(d->reserved) + " bytes) need " + std::to_string(need) +
                           " bytes, over its budget of " + std::to_string(d->desc->capacity));
    out->back() = std::move(st);
  }
  return Status::Ok();
}

// Which graph inputs and output the engine feeds and reads.
Status Generator::bind_io(const Plan& plan) {
  const PlanGeneration& gen = plan.generation;
  tokens_in_ = positions_in_ = mask_in_ = past_in_ = index_in_ = logits_out_ = -1;
  for (size_t k = 0; k < plan.inputs.size(); ++k) {
    const std::string& n = plan.inputs[k].name;
    int* slot = n == gen.tokens ? &tokens_in_ : n == gen.positions ? &positions_in_ : n == gen.attention_mask ? &mask_in_
                : n == gen.past_lengths ? &past_in_ : n == gen.logits_index ? &index_in_ : nullptr;
    if (!slot)
      return Status{kStatusBadPlan, plan.path + ": graph input '" + n +
                                        "' is not one the engine feeds (tokens, positions, attention mask, past lengths, logits index)"};
    *slot = static_cast<int>(k);
  }
  for (size_t k = 0; k < plan.outputs.size(); ++k)
    if (plan.outputs[k].name == gen.logits) logits_out_ = static_cast<int>(k);
  if (tokens_in_ < 0 || logits_out_ < 0) return Status{kStatusBadPlan, plan.path + ": the generation section names no tokens input or logits output"};
  return Status::Ok();
}

Status Generator::adopt(Engine& next, Replan* out) {
  const Plan& now = engine_->plan();
  const Plan& plan = next.plan();
  const PlanGeneration& a = now.generation;
  const PlanGeneration& b = plan.generation;
  auto bad = [&](const std::string& why) { return Status{kStatusBadPlan, plan.path + ": not a new placement of the running model: " + why}; };
  if (!b.present || b.vocab != a.vocab || b.page_size != a.page_size || b.flatten != a.flatten) return bad("its generation section differs");
  if (plan.state.size() != now.state.size()) return bad("it has " + std::to_string(plan.state.size()) + " state objects, not " + std::to_string(now.state.size()));
  for (size_t i = 0; i < plan.state.size(); ++i) {
    const PlanState &x = now.state[i], &y = plan.state[i];
    if (x.dtype != y.dtype || x.outer != y.outer || x.inner != y.inner || x.input != y.input) return bad("state " + std::to_string(i) + " differs");
  }
  for (const auto& d : next.devices())
    if (!d->local) return bad("a replan runs in one process");
  // Open the new owners' memory, then move each state object into it.
  std::vector<std::unique_ptr<DeviceState>> fresh;
  Engine* old = engine_;
  engine_ = &next;
  Status st = open_states(next, &fresh);
  engine_ = old;
  FLEETRT_RETURN_IF_ERROR(st);
  std::vector<int32_t> used;
  for (int32_t p = 0; p < pages_.pages(); ++p)
    if (pages_.refs(p) > 0) used.push_back(p);
  auto index_of = [](const Engine& e, const std::string& name) {
    for (const auto& d : e.devices())
      if (d->desc->name == name) return d->index;
    return -1;
  };
  Replan r;
  for (const PlanState& s : plan.state) {
    const int from = index_of(*engine_, now.state[static_cast<size_t>(s.id)].owner), to = index_of(next, s.owner);
    DeviceState* src = from >= 0 ? states_[static_cast<size_t>(from)].get() : nullptr;
    DeviceState* dst = to >= 0 ? fresh[static_cast<size_t>(to)].get() : nullptr;
    if (!src || !dst) return Status::Error("state " + std::to_string(s.id) + " has no memory to move");
    const bool same = now.state[static_cast<size_t>(s.id)].owner == s.owner;
    const bool host = engine_->devices()[static_cast<size_t>(from)]->backend->host_visible() &&
                      next.devices()[static_cast<size_t>(to)]->backend->host_visible();
    if (same && host) {
      FLEETRT_RETURN_IF_ERROR(dst->take(s.id, *src));
    } else {
      uint64_t bytes = 0;
      FLEETRT_RETURN_IF_ERROR(dst->copy(s.id, *src, used, &bytes));
      if (!same) r.state_bytes_moved += bytes;
    }
  }
  // Weights a device loads anew: its bundle differs from what it ran before.
  for (const PlanDevice& d : plan.devices) {
    const PlanDevice* before = nullptr;
    for (const PlanDevice& o : now.devices)
      if (o.name == d.name) before = &o;
    for (const PlanFile& f : d.files)
      if (f.path == "weights.bin") {
        bool same_file = false;
        if (before)
          for (const PlanFile& g : before->files) same_file = same_file || (g.path == f.path && g.sha256 == f.sha256);
        if (!same_file) r.weight_bytes_loaded += f.bytes;
      }
  }
  FLEETRT_RETURN_IF_ERROR(bind_io(plan));
  // The figures so far carry over; the new engine's telemetry continues them.
  next.telemetry().steps = engine_->telemetry().steps;
  const Telemetry& was = engine_->telemetry();
  for (size_t d = 0; d < was.devices.size() && d < now.devices.size(); ++d)
    for (double us : was.devices[d].exec.op_us) busy_before_[now.devices[d].name] += us;
  for (size_t c = 0; c < was.channel_bytes.size() && c < now.channels.size(); ++c)
    for (const std::string& l : now.channels[c].links) link_bytes_before_[l] += was.channel_bytes[c];
  states_ = std::move(fresh);
  engine_ = &next;
  *out = r;
  return Status::Ok();
}

int64_t Generator::capacity_tokens() const { return engine_->plan().state.empty() ? 0 : pages_.pages() * page_size_; }

int64_t Generator::max_context() const {
  const int64_t cap = capacity_tokens(), pos = engine_->plan().generation.max_positions;
  return pos > 0 && (cap == 0 || pos < cap) ? pos : cap;
}

Status Generator::submit(GenerationRequest r) {
  if (r.id.empty()) return bad_request("a request needs an id");
  if (seqs_.count(r.id)) return bad_request("request id '" + r.id + "' is already in use");
  if (r.prompt.empty()) return bad_request("request '" + r.id + "': the prompt is empty");
  for (size_t i = 0; i < r.prompt.size(); ++i)
    if (r.prompt[i] < 0 || r.prompt[i] >= vocab_)
      return bad_request("request '" + r.id + "': prompt id " + std::to_string(r.prompt[i]) + " (position " + std::to_string(i) +
                         ") is outside the vocabulary 0.." + std::to_string(vocab_ - 1));
  if (r.max_new_tokens < 1) return bad_request("request '" + r.id + "': max new tokens must be at least 1");
  const SamplingParams& p = r.sampling;
  if (!(p.temperature >= 0) || !std::isfinite(p.temperature)) return bad_request("request '" + r.id + "': temperature must be ≥ 0");
  if (!(p.top_p > 0 && p.top_p <= 1)) return bad_request("request '" + r.id + "': top_p must be in (0, 1]");
  if (p.top_k < 0) return bad_request("request '" + r.id + "': top_k must be ≥ 0");
  const int64_t cap = max_context();
  const int64_t need = static_cast<int64_t>(r.prompt.size()) + r.max_new_tokens;
  const int64_t fixed = engine_->plan().generation.static_capacity;
  if (fixed > 0 && need > fixed)
    return bad_request("request '" + r.id + "': prompt (" + std::to_string(r.prompt.size()) + " tokens) + max new tokens (" +
                       std::to_string(r.max_new_tokens) + ") = " + std::to_string(need) + " tokens do not fit the static cache of " +
                       std::to_string(fixed));
  if (cap > 0 && need > cap)
    return bad_request("request '" + r.id + "': prompt (" + std::to_string(r.prompt.size()) + " tokens) + max new tokens (" +
                       std::to_string(r.max_new_tokens) + ") exceed the context of " + std::to_string(cap) + " tokens");
  if (static_cast<int64_t>(r.resume.size()) >= r.max_new_tokens)
    return bad_request("request '" + r.id + "': it already has " + std::to_string(r.resume.size()) + " of its " +
                       std::to_string(r.max_new_tokens) + " tokens");
  for (int64_t id : r.resume)
    if (id < 0 || id >= vocab_) return bad_request("request '" + r.id + "': resumed id " + std::to_string(id) + " is outside the vocabulary");
  auto s = std::make_unique<Sequence>();
  s->tokens = r.prompt;
  s->tokens.insert(s->tokens.end(), r.resume.begin(), r.resume.end());
  s->generated = static_cast<int>(r.resume.size());
  s->rng = Rng(p.seed);
  if (p.temperature > 0)
    for (size_t i = 0; i < r.resume.size(); ++i) s->rng.uniform();  // one draw per sampled token
  s->req = std::move(r);
  waiting_.push_back(s.get());
  seqs_[s->req.id] = std::move(s);
  return Status::Ok();
}

void Generator::cancel(const std::string& id) {
  auto it = seqs_.find(id);
  if (it != seqs_.end()) it->second->cancelled = true;
}

bool Generator::reserve(Sequence& s, int64_t upto) {
  const int64_t need = (upto + page_size_ - 1) / page_size_ - static_cast<int64_t>(s.table.size());
  if (need <= 0 || pages_.allocate(need, &s.table)) return true;
  // Pages only the prefix cache holds go back first.
  return prefix_ && prefix_->evict(need - pages_.free_pages()) > 0 && pages_.allocate(need, &s.table);
}

void Generator::release(Sequence& s) { pages_.release(&s.table); }

// Frees a running sequence's pages and queues it again at the front: it re-computes its tokens
// (prompt and those generated so far) when it is admitted again.
void Generator::preempt(Sequence& s) {
  release(s);
  s.computed = 0;
  s.keys.clear();
  running_.erase(std::remove(running_.begin(), running_.end(), &s), running_.end());
  waiting_.push_front(&s);
  ++preemptions_;
}

// A sequence starting (or restarting after preemption) takes the cached pages of its longest
// known prefix; at least its last token is computed again, for its logits.
void Generator::admit(Sequence& s) {
  if (!prefix_ || s.computed != 0) return;
  const int64_t n = static_cast<int64_t>(s.tokens.size());
  const int64_t matched = prefix_->match(s.tokens, (n - 1) / page_size_, &s.table);
  uint64_t key = 0;
  for (int64_t k = 0; k < matched; ++k) s.keys.push_back(key = PrefixCache::page_key(key, s.tokens.data() + k * page_size_, page_size_));
  s.computed = matched * page_size_;
}

// Full pages whose tokens are all computed become known to the prefix cache.
void Generator::share_full_pages(Sequence& s) {
  if (!prefix_) return;
  for (int64_t k = static_cast<int64_t>(s.keys.size()); (k + 1) * page_size_ <= s.computed; ++k) {
    const uint64_t key = PrefixCache::page_key(s.keys.empty() ? 0 : s.keys.back(), s.tokens.data() + k * page_size_, page_size_);
    prefix_->insert(key, s.table[static_cast<size_t>(k)]);
    s.keys.push_back(key);
  }
}

void Generator::finish(Sequence& s, const std::string& reason, std::vector<GenerationEvent>* events) {
  GenerationEvent e;
  e.kind = GenerationEvent::kDone;
  e.id = s.req.id;
  e.reason = reason;
  e.prompt_tokens = static_cast<int>(s.req.prompt.size());
  e.completion_tokens = s.generated;
  events->push_back(e);
  release(s);
  running_.erase(std::remove(running_.begin(), running_.end(), &s), running_.end());
  waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), &s), waiting_.end());
  if (reason != "cancelled") ++completed_;
  seqs_.erase(s.req.id);
}

Status Generator::make_pass(const std::vector<Work>& batch, PassSpec* pass, std::vector<std::unique_ptr<StepState>>* steps) {
  const Plan& plan = engine_->plan();
  std::vector<int64_t> ids, positions, index;
  bool prefill = false, decode = false;
  for (const Work& w : batch) {
    const Sequence& s = *w.seq;
    for (int64_t i = 0; i < w.tokens; ++i) {
      ids.push_back(s.tokens[static_cast<size_t>(s.computed + i)]);
      positions.push_back(s.computed + i);
    }
    if (s.computed + w.tokens == static_cast<int64_t>(s.tokens.size())) index.push_back(static_cast<int64_t>(ids.size()) - 1);
    (w.tokens == 1 && s.computed + 1 == static_cast<int64_t>(s.tokens.size()) && s.generated > 0 ? decode : prefill) = true;
  }
  const int64_t T = static_cast<int64_t>(ids.size());
  if (index.empty()) index.push_back(T - 1);  // a prompt chunk: its logits are not used
  pass->inputs.assign(plan.inputs.size(), Value());
  FLEETRT_RETURN_IF_ERROR(make_int_tensor(plan.inputs[tokens_in_].dtype, {1, T}, ids, &pass->inputs[tokens_in_]));
  if (positions_in_ >= 0)
    FLEETRT_RETURN_IF_ERROR(make_int_tensor(plan.inputs[positions_in_].dtype, {1, T}, positions, &pass->inputs[positions_in_]));
  if (mask_in_ >= 0) {
    if (batch.size() != 1) return Status::Error("a model with an attention-mask input runs one sequence per pass");
    const int64_t total = batch[0].seq->computed + batch[0].tokens;
    FLEETRT_RETURN_IF_ERROR(make_int_tensor(plan.inputs[mask_in_].dtype, {1, total}, std::vector<int64_t>(total, 1), &pass->inputs[mask_in_]));
  }
  if (past_in_ >= 0) {
    if (batch.size() != 1) return Status::Error("a model with a past-lengths input (static cache write indices) runs one sequence per pass");
    FLEETRT_RETURN_IF_ERROR(make_int_tensor(plan.inputs[past_in_].dtype, {1}, {batch[0].seq->computed}, &pass->inputs[past_in_]));
  }
  if (index_in_ >= 0)
    FLEETRT_RETURN_IF_ERROR(make_int_tensor(plan.inputs[index_in_].dtype, {static_cast<int64_t>(index.size())}, index, &pass->inputs[index_in_]));
  pass->kind = prefill && decode ? kPassMixed : prefill ? kPassPrefill : kPassDecode;
  pass->tokens = static_cast<int>(T);
  pass->step.assign(engine_->devices().size(), nullptr);
  // Every device sees the step's sequences (KvShape may run anywhere); pages where they are.
  // Devices in other processes get them in the step descriptor (send_steps).
  for (size_t d = 0; d < pass->step.size(); ++d) {
    auto st = std::make_unique<DeviceStep>(states_[d].get());
    int32_t first = 0;
    for (const Work& w : batch) {
      StepSequence q;
      q.pages = w.seq->table.data();
      q.num_pages = static_cast<int32_t>(w.seq->table.size());
      q.past = static_cast<int32_t>(w.seq->computed);
      q.tokens = static_cast<int32_t>(w.tokens);
      q.first_token = first;
      first += q.tokens;
      st->seqs.push_back(q);
    }
    st->tokens = static_cast<int>(T);
    pass->step[d] = st.get();
    steps->push_back(std::move(st));
  }
  return Status::Ok();
}

// Runs the batch and returns, per work item, the logits row of its last token (empty when the
// item does not sample this step).
Status Generator::run_batch(const std::vector<Work>& batch, std::vector<std::vector<float>>* logits) {
  std::vector<std::vector<Work>> groups;
  if (flatten_) groups.push_back(batch);
  else
    for (const Work& w : batch) groups.push_back({w});
  std::vector<PassSpec> passes(groups.size());
  std::vector<std::unique_ptr<StepState>> steps;
  for (size_t g = 0; g < groups.size(); ++g) FLEETRT_RETURN_IF_ERROR(make_pass(groups[g], &passes[g], &steps));
  FLEETRT_RETURN_IF_ERROR(send_steps(passes));
  Telemetry& tel = engine_->telemetry();
  const size_t transfers_before = tel.transfers.size();
  const double t0 = now_us();
  std::vector<std::vector<Value>> outputs;
  FLEETRT_RETURN_IF_ERROR(engine_->run(passes, &outputs));
  StepRecord rec;
  rec.start_us = t0 - tel.epoch_us;
  rec.dur_us = now_us() - t0;
  rec.kind = passes[0].kind;
  for (const PassSpec& p : passes) {
    rec.tokens += p.tokens;
    if (p.kind != rec.kind) rec.kind = kPassMixed;
  }
  rec.sequences = static_cast<int>(batch.size());
  for (const auto& s : steps) {
    const DeviceStep& d = static_cast<const DeviceStep&>(*s);
    rec.kv_written += d.written;
    rec.kv_read += d.read;
    rec.kv_gathered += d.copied;
  }
  for (size_t i = transfers_before; i < tel.transfers.size(); ++i) rec.link_bytes += tel.transfers[i].bytes;

  logits->assign(batch.size(), {});
  size_t w = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    const Value& out = outputs[g][static_cast<size_t>(logits_out_)];
    if (out.kind != Value::Kind::kTensor || out.tensor.view.shape.empty())
      return Status::Error("the logits output '" + engine_->plan().generation.logits + "' was not produced");
    const Tensor& t = out.tensor.view;
    const int64_t V = t.shape.back();
    if (V != vocab_) return Status::Error("the logits have " + std::to_string(V) + " entries per token, the plan's vocabulary is " + std::to_string(vocab_));
    const int64_t rows = t.numel() / V;
    int64_t first = 0, sampled = 0;
    for (const Work& item : groups[g]) {
      const Sequence& s = *item.seq;
      const bool samples = s.computed + item.tokens == static_cast<int64_t>(s.tokens.size());
      if (samples) {
        const int64_t row = index_in_ >= 0 ? sampled++ : first + item.tokens - 1;
        if (row >= rows) return Status::Error("the logits have " + std::to_string(rows) + " rows, row " + std::to_string(row) + " was wanted");
        std::vector<float>& dst = (*logits)[w];
        dst.resize(static_cast<size_t>(V));
        const size_t at = static_cast<size_t>(row * V);
        for (int64_t v = 0; v < V; ++v) {
          switch (t.dtype) {
            case DType::kF32: dst[v] = t.as<float>()[at + v]; break;
            case DType::kF16: dst[v] = ku::half_to_float(t.as<uint16_t>()[at + v]); break;
            case DType::kBF16: dst[v] = ku::bf16_to_float(t.as<uint16_t>()[at + v]); break;
            default: return Status::Error(std::string("logits of type ") + dtype_name(t.dtype) + " cannot be sampled");
          }
        }
      }
      first += item.tokens;
      ++w;
    }
  }
  // Occupancy after the step: the tokens held ÷ the tokens of the pages held.
  if (!engine_->plan().state.empty()) {
    for (const Sequence* s : running_) {
      rec.live_tokens += static_cast<uint64_t>(s->computed);
      rec.capacity_tokens += static_cast<uint64_t>(s->table.size()) * page_size_;
    }
    for (const Work& item : batch) rec.live_tokens += static_cast<uint64_t>(item.tokens);
  }
  keep_recent(tel.steps, rec);
  return Status::Ok();
}

Status Generator::step(std::vector<GenerationEvent>* events) {
  for (auto it = seqs_.begin(); it != seqs_.end();) {
    Sequence& s = *(it++)->second;
    if (s.cancelled) finish(s, "cancelled", events);
  }
  std::vector<Work> batch;
  int64_t budget = max_step_tokens_;
  // Decodes and unfinished prompt chunks of running sequences, oldest first. A sequence that needs
  // a page when none is free takes one from the newest running sequence (preempted: it goes back
  // to the waiting queue and recomputes later).
  for (size_t i = 0; i < running_.size() && budget > 0; ++i) {
    Sequence* s = running_[i];
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(s->tokens.size()) - s->computed, budget);
    while (!reserve(*s, s->computed + n)) {
      Sequence* victim = running_.back();
      preempt(*victim);
      if (victim == s) break;
    }
    if (std::find(running_.begin(), running_.end(), s) == running_.end()) break;  // s itself was preempted
    batch.push_back(Work{s, n});
    budget -= n;
  }
  // Admit waiting sequences while their whole current token list fits the free pages.
  while (!waiting_.empty() && budget > 0) {
    Sequence* s = waiting_.front();
    admit(*s);
    if (!reserve(*s, static_cast<int64_t>(s->tokens.size()))) {
      release(*s);  // the shared prefix pages it took, until it fits
      s->computed = 0;
      s->keys.clear();
      break;
    }
    waiting_.pop_front();
    running_.push_back(s);
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(s->tokens.size()) - s->computed, budget);
    batch.push_back(Work{s, n});
    budget -= n;
  }
  if (batch.empty()) {
    if (!waiting_.empty() && running_.empty())
      return Status::Error("request '" + waiting_.front()->req.id + "' does not fit the free KV pages");
    return Status::Ok();
  }
  std::vector<std::vector<float>> logits;
  FLEETRT_RETURN_IF_ERROR(run_batch(batch, &logits));
  std::vector<float> scratch;
  for (size_t i = 0; i < batch.size(); ++i) {
    Sequence& s = *batch[i].seq;
    s.computed += batch[i].tokens;
    share_full_pages(s);
    if (logits[i].empty()) continue;
    if (s.generated == 0) prompt_tokens_ += static_cast<int64_t>(s.req.prompt.size());
    const int64_t token = sample_token(logits[i].data(), vocab_, s.req.sampling, &s.rng, &scratch);
    s.tokens.push_back(token);
    s.generated++;
    generated_tokens_++;
    GenerationEvent e;
    e.id = s.req.id;
    e.token = token;
    events->push_back(e);
    if (std::find(s.req.stop.begin(), s.req.stop.end(), token) != s.req.stop.end()) finish(s, "stop", events);
    else if (s.generated >= s.req.max_new_tokens) finish(s, "length", events);
  }
  return Status::Ok();
}

// The step descriptor of every remote device: per pass its kind, tokens and, per sequence, past,
// new tokens, first token and that device's page table.
Status Generator::send_steps(const std::vector<PassSpec>& passes) {
  for (const auto& d : engine_->devices()) {
    if (d->local) continue;
    std::vector<int64_t> desc{static_cast<int64_t>(passes.size())};
    for (const PassSpec& p : passes) {
      const StepState* st = p.step[static_cast<size_t>(d->index)];
      desc.insert(desc.end(), {p.kind, p.tokens, st->num_sequences()});
      for (int i = 0; i < st->num_sequences(); ++i) {
        const StepSequence& q = st->sequence(i);
        desc.insert(desc.end(), {q.past, q.tokens, q.first_token, q.num_pages});
        desc.insert(desc.end(), q.pages, q.pages + q.num_pages);
      }
    }
    FLEETRT_RETURN_IF_ERROR(engine_->send_control(d->index, desc));
  }
  return Status::Ok();
}

void Generator::close() {
  for (const auto& d : engine_->devices())
    if (!d->local) engine_->send_control(d->index, {-1});
}

Status run_follower(Engine& engine) {
  const Plan& plan = engine.plan();
  DeviceRuntime* mine = nullptr;
  for (const auto& d : engine.devices())
    if (d->local) mine = d.get();
  if (!mine) return Status::Error("this process runs no device");
  DeviceState state;
  std::vector<const PlanState*> states;
  for (const PlanState& s : plan.state)
    if (s.owner == mine->desc->name) states.push_back(&s);
  if (!states.empty()) {
    const int64_t pages = (plan.generation.capacity_tokens + plan.generation.page_size - 1) / plan.generation.page_size;
    FLEETRT_RETURN_IF_ERROR(state.open(*mine->backend, states, plan.generation.page_size, pages));
    mine->reserved = state.bytes();
  }
  std::vector<int64_t> desc;
  for (;;) {
    FLEETRT_RETURN_IF_ERROR(engine.wait_control(&desc));
    if (desc.empty() || desc[0] < 0) return Status::Ok();
    size_t at = 0;
    auto next = [&]() -> int64_t { return at < desc.size() ? desc[at++] : -1; };
    const int64_t npass = next();
    std::vector<PassSpec> passes(static_cast<size_t>(npass));
    std::vector<std::unique_ptr<DeviceStep>> steps;
    std::vector<std::vector<int32_t>> tables;
    tables.reserve(desc.size());  // page tables are pointed into: no reallocation
    for (PassSpec& p : passes) {
      p.kind = static_cast<int>(next());
      p.tokens = static_cast<int>(next());
      p.inputs.assign(plan.inputs.size(), Value());
      auto st = std::make_unique<DeviceStep>(states.empty() ? nullptr : &state);
      st->tokens = p.tokens;
      const int64_t nseq = next();
      for (int64_t i = 0; i < nseq; ++i) {
        StepSequence q;
        q.past = static_cast<int32_t>(next());
        q.tokens = static_cast<int32_t>(next());
        q.first_token = static_cast<int32_t>(next());
        q.num_pages = static_cast<int32_t>(next());
        tables.emplace_back();
        for (int32_t k = 0; k < q.num_pages; ++k) tables.back().push_back(static_cast<int32_t>(next()));
        q.pages = tables.back().data();
        st->seqs.push_back(q);
      }
      if (at > desc.size()) return Status::Error("a malformed step descriptor arrived");
      p.step.assign(engine.devices().size(), nullptr);
      p.step[static_cast<size_t>(mine->index)] = st.get();
      steps.push_back(std::move(st));
    }
    std::vector<std::vector<Value>> outputs;
    FLEETRT_RETURN_IF_ERROR(engine.run(passes, &outputs));
  }
}

std::string Generator::stats_json() const {
  const Telemetry& tel = engine_->telemetry();
  std::vector<double> decode_ms;
  double prefill_ms = 0, total_ms = 0;
  uint64_t written = 0, read = 0, moved = 0, gathered = 0, link = 0, decode_tokens = 0;
  double occ_sum = 0;
  int occ_n = 0;
  for (const StepRecord& r : tel.steps) {
    total_ms += r.dur_us / 1000.0;
    if (r.kind != kPassDecode) {
      prefill_ms += r.dur_us / 1000.0;
      continue;
    }
    decode_ms.push_back(r.dur_us / 1000.0);
    written += r.kv_written;
    read += r.kv_read;
    moved += r.kv_moved;
    gathered += r.kv_gathered;
    link += r.link_bytes;
    decode_tokens += static_cast<uint64_t>(r.tokens);
    if (r.capacity_tokens) {
      occ_sum += static_cast<double>(r.live_tokens) / static_cast<double>(r.capacity_tokens);
      ++occ_n;
    }
  }
  const double n = decode_ms.empty() ? 1 : static_cast<double>(decode_ms.size());
  double decode_total = 0;
  for (double v : decode_ms) decode_total += v;
  const Plan& plan = engine_->plan();
  std::string pools = "{";
  for (size_t d = 0; d < states_.size(); ++d) {
    if (!states_[d]) continue;
    pools += std::string(pools.size() > 1 ? "," : "") + json_quote(plan.devices[d].name) + ":{\"bytes\":" +
             std::to_string(states_[d]->bytes()) + ",\"bytesPerToken\":" + std::to_string(states_[d]->bytes_per_token()) + "}";
  }
  pools += "}";
  const int64_t used = pages_.pages() - pages_.free_pages(), free = pages_.free_pages();
  // Every device any plan ran on, with what earlier plans' engines counted.
  std::map<std::string, double> busy_us = busy_before_;
  for (size_t d = 0; d < tel.devices.size(); ++d)
    for (double us : tel.devices[d].exec.op_us) busy_us[plan.devices[d].name] += us;
  std::string devices = "{";
  for (const auto& [name, us] : busy_us)
    devices += std::string(devices.size() > 1 ? "," : "") + json_quote(name) + ":{\"busyMs\":" + json_number(us / 1000.0) + "}";
  devices += "}";
  std::map<std::string, uint64_t> link_bytes = link_bytes_before_;
  for (size_t c = 0; c < tel.channel_bytes.size() && c < plan.channels.size(); ++c)
    for (const std::string& l : plan.channels[c].links) link_bytes[l] += tel.channel_bytes[c];
  std::string links = "{";
  for (const auto& kv : link_bytes)
    links += std::string(links.size() > 1 ? "," : "") + json_quote(kv.first) + ":{\"bytes\":" + std::to_string(kv.second) + "}";
  links += "}";
  return "{\"steps\":" + std::to_string(tel.steps.size()) + ",\"decodeSteps\":" + std::to_string(decode_ms.size()) +
         ",\"prefillMs\":" + json_number(prefill_ms) + ",\"decodeStepMs\":" + latency_json(decode_ms) +
         ",\"tokensPerSecond\":" + json_number(decode_total > 0 ? decode_tokens / (decode_total / 1000.0) : 0) +
         ",\"kvBytesPerToken\":" + std::to_string(kv_bytes_per_token_) + ",\"kvBytesWrittenPerDecodeStep\":" + json_number(written / n) +
         ",\"kvBytesWrittenPerDecodeToken\":" + json_number(decode_tokens ? static_cast<double>(written) / decode_tokens : 0) +
         ",\"kvBytesReadPerDecodeStep\":" + json_number(read / n) + ",\"kvBytesMovedPerDecodeStep\":" + json_number(moved / n) +
         ",\"kvBytesGatheredPerDecodeStep\":" + json_number(gathered / n) + ",\"linkBytesPerDecodeStep\":" + json_number(link / n) +
         ",\"kvOccupancy\":" + json_number(occ_n ? occ_sum / occ_n : 0) + ",\"preemptions\":" + std::to_string(preemptions_) + ",\"prefixLookups\":" +
         std::to_string(prefix_ ? prefix_->lookups : 0) + ",\"prefixHits\":" + std::to_string(prefix_ ? prefix_->hits : 0) +
         ",\"prefillTokensSaved\":" + std::to_string(prefix_ ? prefix_->tokens_saved : 0) +
         ",\"completed\":" + std::to_string(completed_) + ",\"running\":" + std::to_string(running_.size()) + ",\"waiting\":" +
         std::to_string(waiting_.size()) + ",\"promptTokens\":" + std::to_string(prompt_tokens_) + ",\"generatedTokens\":" +
         std::to_string(generated_tokens_) + ",\"pageSize\":" + std::to_string(page_size_) + ",\"pagesUsed\":" + std::to_string(used) + ",\"pagesFree\":" + std::to_string(free) +
         ",\"replans\":" + std::to_string(replans_) + ",\"replanStallMs\":" + json_number(replan_stall_ms_) +
         ",\"replanStateBytes\":" + std::to_string(replan_state_bytes_) + ",\"replanWeightBytes\":" + std::to_string(replan_weight_bytes_) +
         ",\"pools\":" + pools + ",\"devices\":" + devices + ",\"links\":" + links + "}";
}

}  // namespace fleetrt
