#include "engine/signals.h"

#include <algorithm>

#include "core/json.h"
#include "engine/generation.h"
#include "engine/moe_telemetry.h"

namespace fleetrt {

namespace {

double op_time(const DeviceTelemetry& t) {
  double us = 0;
  for (double x : t.exec.op_us) us += x;
  return us;
}

const char* kind_name(int kind) {
  switch (kind) {
    case kPassPrefill: return "prefill";
    case kPassDecode: return "decode";
    case kPassMixed: return "mixed";
    default: return "other";
  }
}

}  // namespace

void StepSignals::attach(const Engine& engine) {
  const Telemetry& tel = engine.telemetry();
  busy_.assign(tel.devices.size(), 0);
  for (size_t d = 0; d < tel.devices.size(); ++d) busy_[d] = op_time(tel.devices[d]);
  entries_.clear();
  layers_ = experts_ = 0;
  std::vector<MoeUnit> units;
  std::string err;
  if (!read_moe_units(engine.plan().path, &units, &err)) units.clear();  // no routing signal then
  for (const MoeUnit& u : units) {
    Entry e;
    e.layer = u.layer;
    e.expert = u.expert;
    for (const auto& d : engine.devices()) {
      if (d->desc->name != u.device || !d->local) continue;
      const ProgramDesc& main = d->program.programs[0];
      for (size_t i = 0; i < main.ops.size(); ++i)
        if (main.ops[i].name == u.entry) e.op = static_cast<int>(i);
      e.device = d->index;
    }
    if (e.device < 0 || e.op < 0) continue;
    const auto& rows = tel.devices[static_cast<size_t>(e.device)].exec.op_rows;
    e.rows = static_cast<size_t>(e.op) < rows.size() ? rows[static_cast<size_t>(e.op)] : 0;
    layers_ = std::max(layers_, e.layer + 1);
    experts_ = std::max(experts_, e.expert + 1);
    entries_.push_back(e);
  }
  last_start_ = tel.steps.empty() ? -1 : tel.steps.back().start_us;
}

std::string StepSignals::event(const Engine& engine, const Generator& gen, int64_t index) {
  const Telemetry& tel = engine.telemetry();
  if (tel.steps.empty() || tel.steps.back().start_us == last_start_) return "";
  const StepRecord& r = tel.steps.back();
  last_start_ = r.start_us;
  std::string devices = "{";
  for (const auto& d : engine.devices()) {
    if (!d->local) continue;
    const size_t i = static_cast<size_t>(d->index);
    const double now = op_time(tel.devices[i]);
    const double busy = std::max(0.0, now - busy_[i]);
    busy_[i] = now;
    devices += std::string(devices.size() > 1 ? "," : "") + json_quote(d->desc->name) + ":{\"busyUs\":" + json_number(busy) +
               ",\"util\":" + json_number(r.dur_us > 0 ? std::min(1.0, busy / r.dur_us) : 0) + "}";
  }
  devices += "}";
  std::string experts;
  if (!entries_.empty()) {
    std::vector<std::vector<int64_t>> counts(static_cast<size_t>(layers_), std::vector<int64_t>(static_cast<size_t>(experts_), 0));
    for (Entry& e : entries_) {
      const auto& rows = tel.devices[static_cast<size_t>(e.device)].exec.op_rows;
      const int64_t now = static_cast<size_t>(e.op) < rows.size() ? rows[static_cast<size_t>(e.op)] : 0;
      counts[static_cast<size_t>(e.layer)][static_cast<size_t>(e.expert)] += std::max<int64_t>(0, now - e.rows);
      e.rows = now;
    }
    experts = ",\"experts\":[";
    for (int l = 0; l < layers_; ++l) {
      experts += std::string(l ? "," : "") + "{\"layer\":" + std::to_string(l) + ",\"tokens\":[";
      for (int x = 0; x < experts_; ++x) experts += (x ? "," : "") + std::to_string(counts[static_cast<size_t>(l)][static_cast<size_t>(x)]);
      experts += "]}";
    }
    experts += "]";
  }
  return "{\"event\":\"step\",\"step\":" + std::to_string(index) + ",\"kind\":\"" + kind_name(r.kind) + "\",\"tokens\":" +
         std::to_string(r.tokens) + ",\"sequences\":" + std::to_string(r.sequences) + ",\"ms\":" + json_number(r.dur_us / 1000.0) +
         ",\"running\":" + std::to_string(gen.running()) + ",\"waiting\":" + std::to_string(gen.waiting()) +
         ",\"pagesUsed\":" + std::to_string(gen.pages_used()) + ",\"pagesFree\":" + std::to_string(gen.pages_free()) +
         ",\"linkBytes\":" + std::to_string(r.link_bytes) + ",\"devices\":" + devices + experts + "}";
}

}  // namespace fleetrt
