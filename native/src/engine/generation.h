// Autoregressive generation on the engine (docs/runtime.md, "Generation"). The Generator owns the
// KV pages of every device (one StatePool each) and the sequences; each step() it schedules a batch
// — decodes first, then prompt chunks within a token budget — gives every sequence the pages its
// new tokens need (preempting the newest sequence when the pool is full), runs the batch as engine
// passes (one pass for all sequences, or one per sequence where the model cannot be flattened),
// samples the next token of every sequence whose logits were computed, and reports tokens as events.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/prefix_cache.h"
#include "engine/sampler.h"
#include "engine/state_pool.h"

namespace fleetrt {

struct GenerationRequest {
  std::string id;
  std::vector<int64_t> prompt;
  int max_new_tokens = 16;
  SamplingParams sampling;
  std::vector<int64_t> stop;
  // Tokens already generated for this request (resumed after a restart): they count toward
  // max_new_tokens and advance the sampler as if drawn here.
  std::vector<int64_t> resume;
};

struct GenerationEvent {
  enum Kind { kToken, kDone } kind = kToken;
  std::string id;
  int64_t token = -1;
  std::string reason;  // kDone: "length", "stop", "cancelled"
  int prompt_tokens = 0, completion_tokens = 0;
};

struct GeneratorOptions {
  int64_t pages = -1;           // pages per device pool (-1: from the plan's capacity)
  int max_step_tokens = 0;      // token budget per step (0: the plan's)
  bool prefix_cache = true;     // share full pages between sequences with the same prefix
};

class Generator {
 public:
  // Opens a pool on every local device that owns state. Fails when the plan has no generation
  // section or a graph input the engine cannot feed.
  Status open(Engine& engine, const GeneratorOptions& options);

  // Checks and queues a request (ids in the vocabulary, fits the pool, sampling values sane). A
  // request that can never run is refused here with a one-line reason (code kStatusBadInput).
  Status submit(GenerationRequest request);
  // Ends a request at the next step (its pages are freed); unknown ids are ignored.
  void cancel(const std::string& id);
  bool idle() const { return running_.empty() && waiting_.empty(); }
  size_t running() const { return running_.size(); }
  size_t waiting() const { return waiting_.size(); }
  int64_t pages_used() const { return pages_.pages() - pages_.free_pages(); }
  int64_t pages_free() const { return pages_.free_pages(); }

  // One step: schedule, run, sample. Appends the events of the step.
  Status step(std::vector<GenerationEvent>* events);

  // Tells the processes of the other devices (MPI) that generation is over.
  void close();

  // Between steps, goes on with `next`, an engine opened on a new plan of the same model (a new
  // placement): the state each device kept moves to its new owner — on the same device the memory
  // changes hands, between devices the pages in use are copied and counted. On failure nothing
  // changes. The caller then drops the old engine.
  struct Replan {
    uint64_t state_bytes_moved = 0, weight_bytes_loaded = 0;
  };
  Status adopt(Engine& next, Replan* out);
  // Counts a replan that was adopted, with the time steps stood still for it (in the stats).
  void count_replan(const Replan& r, double stall_ms) {
    ++replans_;
    replan_stall_ms_ += stall_ms;
    replan_state_bytes_ += r.state_bytes_moved;
    replan_weight_bytes_ += r.weight_bytes_loaded;
  }

  // Generation figures as JSON (for metrics files, `--json` and /metrics).
  std::string stats_json() const;
  int64_t capacity_tokens() const;
  // The most tokens one request may hold: the pool, or the model's positions when fewer.
  int64_t max_context() const;
  int vocab() const { return vocab_; }
  int max_step_tokens() const { return max_step_tokens_; }

 private:
  struct Sequence {
    GenerationRequest req;
    std::vector<int64_t> tokens;  // prompt, then generated
    int64_t computed = 0;         // tokens whose K/V are in the pages
    int generated = 0;
    std::vector<int32_t> table;                // its pages: every layer on every device
    std::vector<uint64_t> keys;                // prefix keys of its full pages known to the cache
    Rng rng;
    bool cancelled = false;
  };
  struct Work {
    Sequence* seq;
    int64_t tokens;  // new tokens fed this step
  };
  bool reserve(Sequence& s, int64_t upto);
  void release(Sequence& s);
  void preempt(Sequence& s);
  Status run_batch(const std::vector<Work>& batch, std::vector<std::vector<float>>* logits);
  Status make_pass(const std::vector<Work>& batch, PassSpec* pass, std::vector<std::unique_ptr<StepState>>* steps);
  Status send_steps(const std::vector<PassSpec>& passes);
  void finish(Sequence& s, const std::string& reason, std::vector<GenerationEvent>* events);
  void admit(Sequence& s);
  void share_full_pages(Sequence& s);

  Status open_states(Engine& engine, std::vector<std::unique_ptr<DeviceState>>* out) const;
  Status bind_io(const Plan& plan);

  Engine* engine_ = nullptr;
  PageAllocator pages_;
  std::vector<std::unique_ptr<DeviceState>> states_;  // per device: the memory of its state (null: none here)
  std::unique_ptr<PrefixCache> prefix_;               // null when prefix reuse is off
  std::map<std::string, std::unique_ptr<Sequence>> seqs_;
  std::deque<Sequence*> waiting_;
  std::vector<Sequence*> running_;  // in admission order
  int tokens_in_ = -1, positions_in_ = -1, mask_in_ = -1, past_in_ = -1, index_in_ = -1, logits_out_ = -1;
  int vocab_ = 0, page_size_ = 16, max_step_tokens_ = 256;
  bool flatten_ = true;
  uint64_t kv_bytes_per_token_ = 0;
  int64_t preemptions_ = 0, completed_ = 0, prompt_tokens_ = 0, generated_tokens_ = 0;
  // Busy µs per device and bytes per link counted by the engines of earlier plans (a replan).
  std::map<std::string, double> busy_before_;
  std::map<std::string, uint64_t> link_bytes_before_;
  int64_t replans_ = 0;
  double replan_stall_ms_ = 0;
  uint64_t replan_state_bytes_ = 0, replan_weight_bytes_ = 0;
};

// The other ranks of an MPI generation run: each opens its device's pool and runs the passes rank
// 0's scheduler describes, until it says stop.
Status run_follower(Engine& engine);

}  // namespace fleetrt
