// plan.json: the deployment plan written by `fleetc compile` (docs/plan-format.md). fleetrt reads
// the parts it executes: the schema version, the devices with their bundles (each file checked
// against its sha256), thread counts and the graph's inputs and outputs.
#pragma once

#include <string>
#include <vector>

namespace fleetrt {

constexpr int kPlanSchemaVersion = 1;

struct PlanFile {
  std::string path;  // relative to the bundle folder
  std::string sha256;
  uint64_t bytes = 0;
};

struct PlanDevice {
  std::string name, device_class;
  std::string bundle_dir;  // absolute (resolved against the plan's folder)
  std::vector<PlanFile> files;
  int threads = 1;
};

struct PlanIO {
  std::string name, dtype, device, kind;
};

struct Plan {
  std::string path, dir;
  int schema_version = 0;
  std::vector<PlanDevice> devices;
  std::vector<PlanIO> inputs, outputs;
};

// Reads and checks plan.json (not the bundle hashes; see verify_bundles).
bool load_plan(const std::string& path, Plan* plan, std::string* error);
// Checks every bundle file's size and sha256.
bool verify_bundles(const Plan& plan, std::string* error);

}  // namespace fleetrt
