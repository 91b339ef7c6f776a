#include "engine/telemetry_writer.h"

#include <algorithm>
#include <map>
#include <set>

#include "engine/moe_telemetry.h"

namespace fleetrt {

namespace {

std::string num(double v) { return json_number(v); }

std::string outputs_json(const std::vector<std::string>& names, const std::vector<Value>& outputs, const std::string& dir) {
  std::string o = "[";
  for (size_t i = 0; i < outputs.size() && i < names.size(); ++i) {
    const Value& v = outputs[i];
    const std::string base = dir + "/" + safe_file_name(names[i]);
    std::string file = base + ".npy", dtype = "sequence", shape = "[]";
    if (v.kind == Value::Kind::kTensor) {
      dtype = dtype_name(v.tensor.view.dtype);
      shape = "[";
      for (size_t k = 0; k < v.tensor.view.shape.size(); ++k) shape += (k ? "," : "") + std::to_string(v.tensor.view.shape[k]);
      shape += "]";
    } else {
      file = base + ".0.npy";
    }
    o += std::string(i ? "," : "") + "{\"name\":" + json_quote(names[i]) + ",\"file\":" + json_quote(file) +
         ",\"dtype\":" + json_quote(dtype) + ",\"shape\":" + shape + "}";
  }
  return o + "]";
}

// Floating ops (engine/floating.h): where each ran, per device, and the values the devices shared.
std::string floating_metrics(const Plan& plan, const std::vector<const Json*>& dev, double requests) {
  std::vector<std::vector<double>> runs(plan.floating.size(), std::vector<double>(plan.devices.size(), 0));
  double messages = 0, bytes = 0;
  for (size_t d = 0; d < dev.size(); ++d) {
    const Json* f = dev[d] ? dev[d]->get("floating") : nullptr;
    if (!f) continue;
    messages += f->get_number("sharedMessages", 0);
    bytes += f->get_number("sharedBytes", 0);
    if (const Json* r = f->get("runs"); r && r->is_array())
      for (const Json& x : r->arr)
        if (x.arr.size() == 2 && x.arr[0].num >= 0 && x.arr[0].num < runs.size()) runs[static_cast<size_t>(x.arr[0].num)][d] += x.arr[1].num;
  }
  std::vector<double> per_device(plan.devices.size(), 0);
  std::string ops = "[";
  for (size_t k = 0; k < plan.floating.size(); ++k) {
    const PlanFloatingOp& op = plan.floating[k];
    std::string where = "{", devices = "[";
    for (size_t i = 0; i < op.devices.size(); ++i) devices += std::string(i ? "," : "") + json_quote(op.devices[i]);
    for (size_t d = 0; d < plan.devices.size(); ++d) {
      if (!runs[k][d]) continue;
      per_device[d] += runs[k][d];
      where += std::string(where.size() > 1 ? ", " : "") + json_quote(plan.devices[d].name) + ": " + num(runs[k][d]);
    }
    ops += std::string(k ? "," : "") + "\n      {\"op\": " + json_quote(op.name) + ", \"devices\": " + devices +
           "], \"placed\": " + json_quote(op.placed) + ", \"runs\": " + where + "}}";
  }
  std::string totals = "{";
  for (size_t d = 0; d < plan.devices.size(); ++d)
    if (per_device[d]) totals += std::string(totals.size() > 1 ? ", " : "") + json_quote(plan.devices[d].name) + ": " + num(per_device[d]);
  return "{\"runsPerDevice\": " + totals + "}, \"sharedValuesPerRequest\": " + num(requests > 0 ? messages / requests : 0) +
         ", \"sharedBytesPerRequest\": " + num(requests > 0 ? bytes / requests : 0) + ",\n    \"ops\": " + ops + "]}";
}

}  // namespace

std::string latency_json(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double v : ms) sum += v;
  const size_t n = ms.size();
  return "{\"mean\":" + json_number(n ? sum / n : 0) + ",\"min\":" + json_number(n ? ms[0] : 0) +
         ",\"p50\":" + json_number(n ? ms[n / 2] : 0) + ",\"max\":" + json_number(n ? ms[n - 1] : 0) + "}";
}

static double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
}

std::string device_fragment(const Engine& engine, int device, const std::vector<Value>& outputs, const std::string& output_dir) {
  const DeviceRuntime& dev = *engine.devices()[device];
  const ProgramDesc& D = dev.program.programs[0];
  const PlanDevice& pd = *dev.desc;
  const Telemetry& tel = engine.telemetry();
  const DeviceTelemetry& dt = tel.devices[device];
  // Times are sent relative to this process's first pass: ranks start their runs together.
  const double base = tel.passes.empty() ? 0 : tel.passes.front().start_us;
  std::map<int, const PassRecord*> pass_of;
  for (const PassRecord& p : tel.passes) pass_of[p.id] = &p;
  std::string passes = "[";
  for (const auto& f : dt.finished) {
    auto it = pass_of.find(f.first);
    if (it == pass_of.end()) continue;
    const PassRecord& p = *it->second;
    passes += std::string(passes.size() > 1 ? "," : "") + "[" + std::to_string(p.id) + "," + std::to_string(p.run) + "," +
              num(p.start_us - base) + "," + num(f.second - base) + "]";
  }
  passes += "]";
  std::string transfers = "[";
  for (const TransferEvent& t : tel.transfers) {
    if (t.to != device) continue;  // the receiver reports a transfer: it knows both ends
    transfers += std::string(transfers.size() > 1 ? "," : "") + "[" + std::to_string(t.pass) + "," + std::to_string(t.channel) +
                 "," + std::to_string(t.from) + "," + std::to_string(t.to) + "," + std::to_string(t.bytes) + "," +
                 num(t.send_us - base) + "," + num(t.recv_us - base) + "]";
  }
  transfers += "]";
  std::string events = "[";
  for (const OpEvent& e : dt.exec.events) {
    const OpDesc& op = dev.program.programs[e.program].ops[e.op];
    events += std::string(events.size() > 1 ? "," : "") + "[" + std::to_string(e.pass) + "," + json_quote(op.name) + "," +
              json_quote(op.op_type) + "," + std::to_string(e.depth) + "," + num(e.start_us - base) + "," + num(e.dur_us) + "]";
  }
  events += "]";
  std::string ops = "[";
  for (size_t i = 0; i < D.ops.size(); ++i) {
    const double us = i < dt.exec.op_us.size() ? dt.exec.op_us[i] : 0;
    std::vector<double> samples;
    if (i < dt.exec.op_samples.size()) samples.assign(dt.exec.op_samples[i].begin(), dt.exec.op_samples[i].end());
    ops += std::string(i ? "," : "") + "[" + json_quote(D.ops[i].name) + "," + json_quote(D.ops[i].op_type) + "," + num(us) +
           "," + num(median_of(samples)) + "]";
  }
  ops += "]";
  std::vector<double> per_pass;
  for (const auto& kv : dt.exec.pass_us) per_pass.push_back(kv.second);
  double busy = 0;
  for (double us : dt.exec.op_us) busy += us;
  // MoE plans: time and input rows of the experts' ops on this device (engine/moe_telemetry.h).
  std::string moe = "{}";
  std::vector<MoeUnit> units;
  std::string moe_err;
  if (read_moe_units(engine.plan().path, &units, &moe_err) && !units.empty())
    moe = moe_op_totals(units, pd.name, D, dt.exec.op_us, dt.exec.op_rows, dt.exec.op_samples);
  std::vector<std::string> names;
  std::vector<Value> mine;
  std::string out_order = "[";
  for (size_t i = 0; i < D.outputs.size(); ++i) {
    int k = dev.output_of[i];
    if (k < 0 || k >= static_cast<int>(outputs.size())) continue;
    names.push_back(engine.plan().outputs[k].name);
    mine.push_back(outputs[k]);
    out_order += std::string(out_order.size() > 1 ? "," : "") + std::to_string(k);
  }
  out_order += "]";
  return "{\"device\":" + std::to_string(device) + ",\"name\":" + json_quote(pd.name) + ",\"backend\":" + json_quote(pd.backend) +
         ",\"emulated\":" + (dev.backend->emulated() ? "true" : "false") + ",\"threads\":" + std::to_string(dev.pool->size()) +
         ",\"cpuContentionSpells\":" + std::to_string(dev.pool->contention_spells()) +
         ",\"simd\":" + json_quote(kernel_simd()) + ",\"weightsBytes\":" + std::to_string(dev.program.weights.size()) +
         ",\"stateBytes\":" + std::to_string(dev.reserved) + ",\"plannedArenaBytes\":" + std::to_string(D.arena_bytes) +
         ",\"arenaBytes\":" + std::to_string(std::max(dt.arena_peak, dt.exec.arena_bytes)) + ",\"heapPeakBytes\":" +
         std::to_string(dt.heap_peak) + ",\"replanned\":" + (dt.exec.replanned ? "true" : "false") + ",\"ops\":" +
         std::to_string(dt.ops) + ",\"busyUs\":" + num(busy) + ",\"busyMedianUs\":" + num(median_of(per_pass)) + ",\"passes\":" + passes + ",\"transfers\":" + transfers +
         ",\"events\":" + events + ",\"opUs\":" + ops + ",\"outputs\":" + outputs_json(names, mine, output_dir) +
         ",\"outputIndex\":" + out_order + ",\"moe\":" + moe +
         (engine.floating().any() ? ",\"floating\":" + engine.floating().fragment(device) : std::string()) + "}";
}

bool engine_report(const Plan& plan, const std::vector<Json>& frags, const std::string& launcher, const std::string& generation,
                   EngineReport* out, std::string* error) {
  std::vector<const Json*> dev(plan.devices.size(), nullptr);
  for (const Json& f : frags) {
    double d = f.get_number("device", -1);
    if (d < 0 || d >= static_cast<double>(dev.size())) {
      *error = "a device report names no device of the plan";
      return false;
    }
    dev[static_cast<size_t>(d)] = &f;
  }
  // Per pass: its run, start, and when its last op finished on any device.
  struct PassTimes {
    int run = 0;
    double start = 0, end = 0;
  };
  std::map<int, PassTimes> passes;
  for (const Json* f : dev) {
    if (!f) continue;
    for (const Json& p : f->get("passes")->arr) {
      if (p.arr.size() < 4) continue;
      PassTimes& t = passes[static_cast<int>(p.arr[0].num)];
      t.run = static_cast<int>(p.arr[1].num);
      t.start = p.arr[2].num;
      t.end = std::max(t.end, p.arr[3].num);
    }
  }
  std::vector<double> lat_ms;
  std::map<int, std::pair<double, double>> run_span;  // run → (first start, last end)
  std::map<int, int> run_passes;
  for (auto& kv : passes) {
    const PassTimes& t = kv.second;
    lat_ms.push_back((t.end - t.start) / 1000.0);
    auto it = run_span.find(t.run);
    if (it == run_span.end()) run_span[t.run] = {t.start, t.end};
    else it->second = {std::min(it->second.first, t.start), std::max(it->second.second, t.end)};
    run_passes[t.run]++;
  }
  double tput_sum = 0;
  for (auto& kv : run_span) {
    const double wall = kv.second.second - kv.second.first;
    tput_sum += wall > 0 ? run_passes[kv.first] / (wall / 1e6) : 0;
  }
  const int runs = static_cast<int>(run_span.size());
  const int total = static_cast<int>(passes.size());
  const int per_run = runs ? total / runs : 0;
  const double throughput = runs ? tput_sum / runs : 0;

  // Transfers: bytes per channel and link.
  struct ChanStat {
    double bytes = 0, ms = 0;
    int count = 0, from = -1, to = -1;
    std::vector<double> each;  // every transfer's ms (the median in the metrics)
  };
  std::map<uint32_t, ChanStat> chans;
  for (const Json* f : dev) {
    if (!f) continue;
    for (const Json& t : f->get("transfers")->arr) {
      if (t.arr.size() < 7) continue;
      ChanStat& c = chans[static_cast<uint32_t>(t.arr[1].num)];
      c.bytes += t.arr[4].num;
      if (t.arr[6].num >= t.arr[5].num) {
        c.ms += (t.arr[6].num - t.arr[5].num) / 1000.0;
        c.each.push_back((t.arr[6].num - t.arr[5].num) / 1000.0);
      }
      c.count++;
      c.from = static_cast<int>(t.arr[2].num);
      c.to = static_cast<int>(t.arr[3].num);
    }
  }
  std::map<std::string, double> link_bytes;
  for (auto& kv : chans)
    if (kv.first < plan.channels.size())
      for (const std::string& l : plan.channels[kv.first].links) link_bytes[l] += kv.second.bytes;

  // Trace.
  std::string& tr = out->trace;
  tr = "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":0,\"args\":{\"name\":" +
       json_quote("fleetrt (" + launcher + ")") + "}}";
  for (size_t d = 0; d < dev.size(); ++d) {
    const PlanDevice& pd = plan.devices[d];
    tr += ",{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":0,\"tid\":" + std::to_string(d + 1) + ",\"args\":{\"name\":" +
          json_quote(pd.name + " (" + pd.device_class + (pd.backend == "emulated" ? ", emulated" : "") + ")") + "}}";
    if (!dev[d]) continue;
    for (const Json& e : dev[d]->get("events")->arr) {
      if (e.arr.size() < 6) continue;
      tr += ",{\"ph\":\"X\",\"pid\":0,\"tid\":" + std::to_string(d + 1) + ",\"name\":" + json_quote(e.arr[1].str) +
            ",\"cat\":" + json_quote(e.arr[2].str) + ",\"ts\":" + num(e.arr[4].num) + ",\"dur\":" + num(e.arr[5].num) +
            ",\"args\":{\"pass\":" + std::to_string(static_cast<int>(e.arr[0].num)) + ",\"op\":" + json_quote(e.arr[2].str) +
            ",\"depth\":" + std::to_string(static_cast<int>(e.arr[3].num)) + "}}";
    }
  }
  int flow = 0;
  for (const Json* f : dev) {
    if (!f) continue;
    for (const Json& t : f->get("transfers")->arr) {
      if (t.arr.size() < 7 || t.arr[6].num < t.arr[5].num) continue;
      const uint32_t ch = static_cast<uint32_t>(t.arr[1].num);
      const std::string name = ch < plan.channels.size() ? plan.channels[ch].value : "channel " + std::to_string(ch);
      const std::string args = ",\"args\":{\"channel\":" + std::to_string(ch) + ",\"pass\":" +
                               std::to_string(static_cast<int>(t.arr[0].num)) + ",\"bytes\":" + num(t.arr[4].num) + "}";
      const int from = static_cast<int>(t.arr[2].num) + 1, to = static_cast<int>(t.arr[3].num) + 1;
      ++flow;
      // A short slice on each end, so the flow arrow has something to bind to.
      tr += ",{\"ph\":\"X\",\"pid\":0,\"tid\":" + std::to_string(from) + ",\"name\":" + json_quote("send " + name) +
            ",\"cat\":\"transfer\",\"ts\":" + num(t.arr[5].num) + ",\"dur\":0.001" + args + "}";
      tr += ",{\"ph\":\"s\",\"pid\":0,\"tid\":" + std::to_string(from) + ",\"id\":" + std::to_string(flow) + ",\"name\":" +
            json_quote(name) + ",\"cat\":\"transfer\",\"ts\":" + num(t.arr[5].num) + "}";
      tr += ",{\"ph\":\"X\",\"pid\":0,\"tid\":" + std::to_string(to) + ",\"name\":" + json_quote("recv " + name) +
            ",\"cat\":\"transfer\",\"ts\":" + num(t.arr[6].num) + ",\"dur\":0.001" + args + "}";
      tr += ",{\"ph\":\"f\",\"bp\":\"e\",\"pid\":0,\"tid\":" + std::to_string(to) + ",\"id\":" + std::to_string(flow) + ",\"name\":" +
            json_quote(name) + ",\"cat\":\"transfer\",\"ts\":" + num(t.arr[6].num) + "}";
    }
  }
  tr += "]}\n";

  // Metrics.
  std::string simd = "portable";
  for (const Json* f : dev)
    if (f) simd = f->get_string("simd", simd);
  std::string& m = out->metrics;
  m = "{\n  \"plan\": " + json_quote(plan.path) + ",\n  \"launcher\": " + json_quote(launcher) + ",\n  \"simd\": " + json_quote(simd) +
      ",\n  \"requests\": " + std::to_string(per_run) + ",\n  \"repeats\": " + std::to_string(runs) + ",\n  \"latencyMs\": [";
  for (size_t i = 0; i < lat_ms.size(); ++i) m += (i ? ", " : "") + num(lat_ms[i]);
  m += "],\n  \"latency\": " + latency_json(lat_ms) + ",\n  \"throughputPerSec\": " + num(throughput) + ",\n";
  m += "  \"predicted\": {\"latencyMs\": " + (plan.predicted_latency >= 0 ? num(plan.predicted_latency * 1000) : "null") +
       ", \"throughputPerSec\": " + (plan.predicted_throughput >= 0 ? num(plan.predicted_throughput) : "null") + "},\n";
  m += "  \"devices\": [";
  for (size_t d = 0; d < dev.size(); ++d) {
    const PlanDevice& pd = plan.devices[d];
    m += std::string(d ? "," : "") + "\n    {\"name\": " + json_quote(pd.name) + ", \"class\": " + json_quote(pd.device_class) +
         ", \"backend\": " + json_quote(pd.backend) + ", \"emulated\": " + (pd.backend == "emulated" ? "true" : "false");
    if (dev[d]) {
      const Json& f = *dev[d];
      const double busy = f.get_number("busyUs", 0);
      const double weights = f.get_number("weightsBytes", 0), state = f.get_number("stateBytes", 0),
                   arena = f.get_number("arenaBytes", 0), heap = f.get_number("heapPeakBytes", 0);
      const double busy_ms = total > 0 ? busy / 1000.0 / total : 0;
      const double busy_median_ms = f.get_number("busyMedianUs", 0) / 1000.0;
      const Json* rep = f.get("replanned");
      m += ", \"threads\": " + num(f.get_number("threads", 1));
      m += ", \"measured\": {\"busyMsPerRequest\": " + num(busy_ms) +
           ", \"busyMsMedian\": " + num(busy_median_ms) + ", \"opsExecuted\": " + num(f.get_number("ops", 0)) +
           ", \"weightsBytes\": " + num(weights) + ", \"stateBytes\": " + num(state) + ", \"arenaBytes\": " + num(arena) +
           ", \"plannedArenaBytes\": " + num(f.get_number("plannedArenaBytes", 0)) + ", \"heapPeakBytes\": " + num(heap) +
           ", \"peakBytes\": " + num(weights + state + arena + heap) + ", \"replanned\": " + (rep && rep->b ? "true" : "false") +
           ", \"cpuContentionSpells\": " + num(f.get_number("cpuContentionSpells", 0)) + "}";
      m += ", \"predicted\": {\"memoryBytes\": " + (pd.predicted_memory >= 0 ? num(pd.predicted_memory) : "null") +
           ", \"busyMs\": " + (pd.predicted_busy >= 0 ? num(pd.predicted_busy * 1000) : "null") + "}";
      // Against the median pass where there is one, as the latency's p50 is: a few passes pre-empted
      // by the rest of the machine move the mean far.
      if (pd.predicted_busy > 0)
        m += ", \"busyError\": " + num((busy_median_ms > 0 ? busy_median_ms : busy_ms) / (pd.predicted_busy * 1000) - 1);
      if (pd.predicted_memory > 0) m += ", \"memoryError\": " + num((weights + f.get_number("plannedArenaBytes", 0)) / pd.predicted_memory - 1);
      m += ", \"capacityBytes\": " + num(static_cast<double>(pd.capacity));
      m += ", \"ops\": [";
      const Json* ops = f.get("opUs");
      for (size_t i = 0; ops && i < ops->arr.size(); ++i) {
        const Json& o = ops->arr[i];
        if (o.arr.size() < 3) continue;
        const double us = o.arr[2].num;
        m += std::string(i ? "," : "") + "\n      {\"index\": " + std::to_string(i) + ", \"name\": " + json_quote(o.arr[0].str) +
             ", \"opType\": " + json_quote(o.arr[1].str) + ", \"totalMs\": " + num(us / 1000.0) +
             ", \"meanMs\": " + num(total ? us / 1000.0 / total : 0) +
             ", \"medianMs\": " + num(o.arr.size() > 3 ? o.arr[3].num / 1000.0 : 0) + ", \"share\": " + num(busy > 0 ? us / busy : 0) + "}";
      }
      m += "]";
    }
    m += "}";
  }
  m += "\n  ],\n  \"links\": [";
  bool first = true;
  std::map<std::string, bool> seen;
  for (const PlanLink& l : plan.links) {
    seen[l.id] = true;
    const double b = link_bytes.count(l.id) ? link_bytes[l.id] : 0;
    m += std::string(first ? "" : ",") + "\n    {\"id\": " + json_quote(l.id) + ", \"measuredBytesPerRequest\": " +
         num(total > 0 ? b / total : 0) + ", \"predictedBytes\": " + num(l.predicted_bytes) +
         ", \"predictedSeconds\": " + num(l.predicted_seconds) + "}";
    first = false;
  }
  for (auto& kv : link_bytes) {
    if (seen.count(kv.first)) continue;
    m += std::string(first ? "" : ",") + "\n    {\"id\": " + json_quote(kv.first) + ", \"measuredBytesPerRequest\": " +
         num(total > 0 ? kv.second / total : 0) + ", \"predictedBytes\": null}";
    first = false;
  }
  m += "\n  ],\n  \"channels\": [";
  first = true;
  for (auto& kv : chans) {
    const ChanStat& c = kv.second;
    const PlanChannel* pc = kv.first < plan.channels.size() ? &plan.channels[kv.first] : nullptr;
    m += std::string(first ? "" : ",") + "\n    {\"id\": " + std::to_string(kv.first) + ", \"value\": " +
         json_quote(pc ? pc->value : "") + ", \"from\": " + json_quote(c.from >= 0 ? plan.devices[c.from].name : "") +
         ", \"to\": " + json_quote(c.to >= 0 ? plan.devices[c.to].name : "") + ", \"transfers\": " + std::to_string(c.count) +
         ", \"bytesPerRequest\": " + num(total > 0 ? c.bytes / total : 0) +
         ", \"predictedBytes\": " + (pc ? num(pc->bytes) : "null") + ", \"meanTransferMs\": " + num(c.count ? c.ms / c.count : 0) +
         ", \"medianTransferMs\": " + num(median_of(c.each)) + "}";
    first = false;
  }
  m += "\n  ]";
  std::vector<MoeUnit> units;
  std::string moe_err;
  if (read_moe_units(plan.path, &units, &moe_err) && !units.empty()) {
    std::map<std::string, const Json*> moe_ops;
    for (size_t d = 0; d < dev.size(); ++d)
      if (dev[d]) moe_ops[plan.devices[d].name] = dev[d]->get("moe");
    std::set<std::string> routed;
    for (const MoeUnit& u : units) routed.insert({u.input, u.output});
    std::map<std::string, double> dispatch;
    for (auto& kv : chans)
      if (kv.first < plan.channels.size() && routed.count(plan.channels[kv.first].value))
        for (const std::string& l : plan.channels[kv.first].links) dispatch[l] += kv.second.bytes;
    m += ",\n  \"moe\": " + moe_metrics(units, moe_ops, dispatch, total);
  }
  if (!plan.floating.empty()) m += ",\n  \"floating\": " + floating_metrics(plan, dev, total);
  if (!generation.empty()) m += ",\n  \"generation\": " + generation;
  m += "\n}\n";

  // Summary (outputs in plan order).
  std::vector<std::string> outs(plan.outputs.size());
  for (const Json* f : dev) {
    if (!f) continue;
    const Json* list = f->get("outputs");
    const Json* order = f->get("outputIndex");
    for (size_t i = 0; list && order && i < list->arr.size() && i < order->arr.size(); ++i) {
      size_t k = static_cast<size_t>(order->arr[i].num);
      const Json& o = list->arr[i];
      std::string shape = "[";
      if (const Json* s = o.get("shape"))
        for (size_t j = 0; j < s->arr.size(); ++j) shape += (j ? "," : "") + num(s->arr[j].num);
      shape += "]";
      if (k < outs.size())
        outs[k] = "{\"name\":" + json_quote(o.get_string("name")) + ",\"file\":" + json_quote(o.get_string("file")) +
                  ",\"dtype\":" + json_quote(o.get_string("dtype")) + ",\"shape\":" + shape + "}";
    }
  }
  std::string s = "{\"summary\":{\"plan\":" + json_quote(plan.path) + ",\"devices\":[";
  for (size_t d = 0; d < plan.devices.size(); ++d) {
    const PlanDevice& pd = plan.devices[d];
    s += std::string(d ? "," : "") + "{\"name\":" + json_quote(pd.name) + ",\"backend\":" + json_quote(pd.backend) +
         ",\"emulated\":" + (pd.backend == "emulated" ? "true" : "false");
    if (dev[d] && plan.devices.size() > 1) {
      const Json& f = *dev[d];
      s += ",\"busyMsPerRequest\":" + num(total > 0 ? f.get_number("busyUs", 0) / 1000.0 / total : 0) +
           ",\"predictedBusyMs\":" + (pd.predicted_busy >= 0 ? num(pd.predicted_busy * 1000) : "null") + ",\"peakBytes\":" +
           num(f.get_number("weightsBytes", 0) + f.get_number("stateBytes", 0) + f.get_number("arenaBytes", 0) +
               f.get_number("heapPeakBytes", 0)) +
           ",\"capacityBytes\":" + num(static_cast<double>(pd.capacity));
    }
    s += "}";
  }
  s += "],\"outputs\":[";
  bool firsto = true;
  for (const std::string& o : outs) {
    if (o.empty()) continue;
    s += (firsto ? "" : ",") + o;
    firsto = false;
  }
  s += "],\"repeats\":" + std::to_string(runs) + ",\"requests\":" + std::to_string(per_run) + ",\"latencyMs\":" +
       latency_json(lat_ms) + ",\"throughputPerSec\":" + num(throughput) + "}}\n";
  out->summary = s;
  return true;
}

}  // namespace fleetrt
