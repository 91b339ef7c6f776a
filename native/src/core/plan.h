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

struct Plan {
  std::string path, dir;
  int schema_version = 0;
  std::vector<PlanDevice> devices;
  std::vector<PlanIO> inputs, outputs;
  std::vector<PlanChannel> channels;
  std::vector<PlanLink> links;
  double predicted_latency = -1, predicted_throughput = -1;  // seconds, requests/s
};

// Reads and checks plan.json (not the bundle hashes; see verify_bundles).
bool load_plan(const std::string& path, Plan* plan, std::string* error);
// Checks every bundle file's size and sha256.
bool verify_bundles(const Plan& plan, std::string* error);

}  // namespace fleetrt
