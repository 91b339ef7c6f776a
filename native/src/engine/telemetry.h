// What the engine measures, in one place: per device the op times (summed per op, and every op as
// an event when tracing), busy time, memory high-water marks; every transfer between devices; every
// pass with its kind and tokens; and, for generation, the state traffic per step. The writer
// (engine/telemetry_writer.h) turns it into a Chrome/Perfetto trace, a metrics file in the plan's
// terms and the summary line.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "core/executor.h"

namespace fleetrt {

enum PassKind { kPassOneShot = 0, kPassPrefill = 1, kPassDecode = 2, kPassMixed = 3 };

struct TransferEvent {
  int pass = 0;
  uint32_t channel = 0;
  int from = 0, to = 0;
  uint64_t bytes = 0;
  double send_us = 0, recv_us = -1;  // since the engine's epoch (recv: when the consumer took it)
};

struct DeviceTelemetry {
  ExecStats exec;               // per-op times, events, largest arena of one pass
  double busy_us = 0;           // sum of op times
  int64_t ops = 0;              // ops executed (main program)
  int64_t passes = 0;
  uint64_t arena_peak = 0;      // arenas of every pass in flight at once, at their peak
  int64_t heap_peak = 0;
  std::vector<std::pair<int, double>> finished;  // (pass, when its last op here finished)
};

struct PassRecord {
  int id = 0;
  int run = 0;       // which Engine::run call (a repeat of a one-shot run, or a generation step)
  int kind = kPassOneShot;
  int tokens = 0;
  double start_us = 0;
};

// State traffic of one generation step (summed over devices and layers).
struct StepRecord {
  int kind = kPassDecode;
  int tokens = 0, sequences = 0;
  double start_us = 0, dur_us = 0;
  uint64_t kv_written = 0, kv_read = 0, kv_moved = 0, kv_gathered = 0;
  uint64_t live_tokens = 0, capacity_tokens = 0;  // page occupancy after the step
  uint64_t link_bytes = 0;                        // activations crossing devices in the step
};

// Appends to a record list that a long-lived engine must not let grow without bound: past `cap`
// records the oldest half is dropped (aggregates are kept elsewhere).
template <class T>
void keep_recent(std::vector<T>& v, T x, size_t cap = size_t{1} << 18) {
  if (v.size() >= cap) v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(cap / 2));
  v.push_back(std::move(x));
}

struct Telemetry {
  double epoch_us = 0;
  std::vector<DeviceTelemetry> devices;
  std::vector<TransferEvent> transfers;
  std::vector<PassRecord> passes;
  std::vector<StepRecord> steps;
  std::vector<uint64_t> channel_bytes;  // per plan channel, every transfer ever (not bounded like the records)
  int runs = 0;
  std::mutex mu;  // transfers are appended from device threads

  void reset(size_t devices_count, double epoch);
};

double now_us();

}  // namespace fleetrt
