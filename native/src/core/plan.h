// plan.json: the deployment plan written by `fleetc compile` (docs/plan-format.md). fleetrt reads
// the parts it executes: the schema version, the devices with their bundles (each file checked
// against its sha256), thread counts and the graph's inputs and outputs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fleetrt {

constexpr int kPlanSchemaVersion = 2;

struct PlanFile {
  std::string path;  // relative to the bundle folder
  std::string sha256;
  uint64_t bytes = 0;
};

struct PlanDevice {
  std::string name, device_class;
  std::string backend = "cpu";  // a name in engine/backend.h's table: "cpu", "emulated", "cuda" …
  int ordinal = 0;              // which physical device of that backend (cudaDevice)
  std::string bundle_dir;  // absolute (resolved against the plan's folder)
  std::vector<PlanFile> files;
  int threads = 1;
  bool home = false;
  uint64_t capacity = 0;          // memory budget in bytes (memory.capacity); 0: unlimited
  double predicted_memory = -1;   // predicted.memory[name] (bytes), -1 when absent
  double predicted_busy = -1;     // predicted.busy[name] (seconds), -1 when absent
};

// A value crossing devices (plan.json "channels"; its index is the id programs refer to).
struct PlanChannel {
  std::string value, from, to;
  double bytes = 0;               // predicted bytes per request
  std::vector<std::string> links;
};

struct PlanLink {
  std::string id;
  double bandwidth = 0, latency = 0;            // fleet.links (bytes/s, s)
  double predicted_bytes = 0, predicted_seconds = 0;  // predicted.links
};

struct PlanIO {
  std::string name, dtype, device, kind;
};

// A state object (plan.json state[]): one KV cache (or other carried state) kept by the engine in
// pages on its owner device between steps (docs/state-ops.md).
struct PlanState {
  int id = 0;
  std::string kind, mode;        // "kv-cache"; "paged" (attention reads the pages) or "gather"
  std::string input, output;     // the model's past input and present output it replaces
  std::string owner;             // device name
  std::string dtype;             // numpy name
  int layer = -1;
  int outer = 0, inner = 0;      // a page holds [outer][page_size][inner] elements
  int64_t bytes_per_token = 0;
};

// What the engine needs to drive generation (plan.json generation): which graph inputs it feeds and
// which output holds the logits.
struct PlanGeneration {
  bool present = false;
  std::string tokens, positions, attention_mask, logits_index, logits;  // graph input/output names
  std::string past_lengths;      // [batch] tokens already cached (a static cache's write indices)
  bool flatten = true;           // one pass per step for all sequences; false: one pass per sequence
  int vocab = 0;
  int page_size = 16;
  int max_step_tokens = 256;
  int64_t capacity_tokens = 0;   // pool size in tokens (per device with state)
  int64_t max_positions = 0;     // the most tokens one sequence may hold (0: unbounded)
  int64_t static_capacity = 0;   // a static cache's fixed capacity in tokens (0: the cache grows)
};

struct Plan {
  std::string path, dir;
  int schema_version = 0;
  std::vector<PlanDevice> devices;
  std::vector<PlanIO> inputs, outputs;
  std::vector<PlanChannel> channels;
  std::vector<PlanLink> links;
  std::vector<PlanState> state;
  PlanGeneration generation;
  double predicted_latency = -1, predicted_throughput = -1;  // seconds, requests/s
};

// Reads and checks plan.json (not the bundle hashes; see verify_bundles).
bool load_plan(const std::string& path, Plan* plan, std::string* error);
// Checks every bundle file's size and sha256.
bool verify_bundles(const Plan& plan, std::string* error);

}  // namespace fleetrt
