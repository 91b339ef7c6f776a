#include "tool/fleet_telemetry.h"

#include <algorithm>
#include <map>
#include <set>

#include "tool/moe_telemetry.h"
#include "tool/telemetry.h"

namespace fleetrt {

namespace {
std::string num(double v) { return json_number(v); }
}  // namespace

std::string device_fragment(const Deployment& dep, const std::vector<DeploymentStats>& runs, int device,
                            const std::vector<Value>& outputs, const std::string& output_dir, bool trace) {
  const DeviceRuntime& dev = *dep.devices()[device];
  const ProgramDesc& D = dev.program.programs[0];
  const PlanDevice& pd = *dev.desc;
  uint64_t arena = 0;
  int64_t heap = 0, ops = 0;
  std::string busy = "[", finish = "[", transfers = "[";
  for (size_t r = 0; r < runs.size(); ++r) {
    const DeviceRunStats& ds = runs[r].devices[device];
    arena = std::max(arena, ds.arena_bytes);
    heap = std::max(heap, ds.heap_peak);
    ops += ds.ops;
    busy += (r ? "," : "") + num(ds.busy_us);
    finish += std::string(r ? "," : "") + "[";
    for (size_t q = 0; q < runs[r].request_us.size(); ++q) finish += (q ? "," : "") + num(runs[r].request_us[q]);
    finish += "]";
    for (const TransferEvent& t : runs[r].transfers) {
      if (t.to != device) continue;  // the receiver reports a transfer: it knows both ends
      transfers += std::string(transfers.size() > 1 ? "," : "") + "[" + std::to_string(r) + "," + std::to_string(t.request) + "," +
                   std::to_string(t.channel) + "," + std::to_string(t.from) + "," + std::to_string(t.to) + "," +
                   std::to_string(t.bytes) + "," + num(t.send_us) + "," + num(t.recv_us) + "]";
    }
  }
  busy += "]";
  finish += "]";
  transfers += "]";
  std::string events = "[";
  if (trace && !runs.empty()) {
    bool first = true;
    for (const DeviceEvent& e : runs.back().devices[device].events) {
      const OpDesc& op = dev.program.programs[e.program].ops[e.op];
      events += std::string(first ? "" : ",") + "[" + std::to_string(e.request) + "," + json_quote(op.name) + "," +
                json_quote(op.op_type) + "," + std::to_string(e.depth) + "," + num(e.start_us) + "," + num(e.dur_us) + "]";
      first = false;
    }
  }
  events += "]";
  std::vector<std::string> names;
  std::vector<Value> mine;
  for (size_t i = 0; i < D.outputs.size(); ++i) {
    int k = dev.output_of[i];
    if (k < 0 || k >= static_cast<int>(outputs.size())) continue;
    names.push_back(dep.plan().outputs[k].name);
    mine.push_back(outputs[k]);
  }
  // MoE plans: time and input rows of the experts' ops on this device, over every run.
  std::string moe = "{}";
  std::vector<MoeUnit> units;
  std::string err;
  if (read_moe_units(dep.plan().path, &units, &err) && !units.empty()) {
    std::vector<double> op_us(D.ops.size(), 0);
    std::vector<int64_t> op_rows(D.ops.size(), 0);
    for (const DeploymentStats& run : runs) {
      const DeviceRunStats& ds = run.devices[device];
      for (size_t o = 0; o < ds.op_us.size() && o < op_us.size(); ++o) op_us[o] += ds.op_us[o];
      for (size_t o = 0; o < ds.op_rows.size() && o < op_rows.size(); ++o) op_rows[o] += ds.op_rows[o];
    }
    moe = moe_op_totals(units, pd.name, D, op_us, op_rows);
  }
  std::string out_order = "[";
  for (size_t i = 0, c = 0; i < D.outputs.size(); ++i)
    if (dev.output_of[i] >= 0) out_order += (c++ ? "," : "") + std::to_string(dev.output_of[i]);
  out_order += "]";
  return "{\"device\":" + std::to_string(device) + ",\"name\":" + json_quote(pd.name) + ",\"backend\":" + json_quote(pd.backend) +
         ",\"weightsBytes\":" + std::to_string(dev.program.weights.size()) + ",\"plannedArenaBytes\":" + std::to_string(D.arena_bytes) +
         ",\"arenaBytes\":" + std::to_string(arena) + ",\"heapPeakBytes\":" + std::to_string(heap) + ",\"ops\":" + std::to_string(ops) +
         ",\"busyUs\":" + busy + ",\"finishUs\":" + finish + ",\"transfers\":" + transfers + ",\"events\":" + events +
         ",\"outputs\":" + outputs_json(names, mine, output_dir) + ",\"outputIndex\":" + out_order + ",\"moe\":" + moe + "}";
}

bool fleet_report(const Plan& plan, const std::vector<Json>& frags, int requests, int repeats, const std::string& launcher,
                  FleetReport* out, std::string* error) {
  std::vector<const Json*> dev(plan.devices.size(), nullptr);
  for (const Json& f : frags) {
    double d = f.get_number("device", -1);
    if (d < 0 || d >= static_cast<double>(dev.size())) {
      *error = "a device report names no device of the plan";
      return false;
    }
    dev[static_cast<size_t>(d)] = &f;
  }
  // Latency per (repeat, request): when its last output appeared anywhere.
  std::vector<std::vector<double>> finish(repeats, std::vector<double>(requests, 0));
  for (const Json* f : dev) {
    if (!f) continue;
    const Json* fin = f->get("finishUs");
    for (size_t r = 0; fin && r < fin->arr.size() && r < finish.size(); ++r)
      for (size_t q = 0; q < fin->arr[r].arr.size() && q < finish[r].size(); ++q)
        finish[r][q] = std::max(finish[r][q], fin->arr[r].arr[q].num);
  }
  std::vector<double> lat_ms;
  double tput_sum = 0;
  for (auto& rep : finish) {
    double wall = 0;
    for (double us : rep) {
      lat_ms.push_back(us / 1000.0);
      wall = std::max(wall, us);
    }
    tput_sum += wall > 0 ? requests / (wall / 1e6) : 0;
  }
  const double throughput = repeats ? tput_sum / repeats : 0;
  const double total_requests = static_cast<double>(requests) * repeats;

  // Transfers: bytes per channel and link.
  struct ChanStat {
    double bytes = 0, ms = 0;
    int count = 0, from = -1, to = -1;
  };
  std::map<uint32_t, ChanStat> chans;
  for (const Json* f : dev) {
    if (!f) continue;
    for (const Json& t : f->get("transfers")->arr) {
      if (t.arr.size() < 8) continue;
      ChanStat& c = chans[static_cast<uint32_t>(t.arr[2].num)];
      c.bytes += t.arr[5].num;
      if (t.arr[7].num >= 0) c.ms += (t.arr[7].num - t.arr[6].num) / 1000.0;
      c.count++;
      c.from = static_cast<int>(t.arr[3].num);
      c.to = static_cast<int>(t.arr[4].num);
    }
  }
  std::map<std::string, double> link_bytes;
  for (auto& kv : chans) {
    if (kv.first < plan.channels.size())
      for (const std::string& l : plan.channels[kv.first].links) link_bytes[l] += kv.second.bytes;
  }

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
            ",\"args\":{\"request\":" + std::to_string(static_cast<int>(e.arr[0].num)) + ",\"op\":" + json_quote(e.arr[2].str) +
            ",\"depth\":" + std::to_string(static_cast<int>(e.arr[3].num)) + "}}";
    }
  }
  int flow = 0;
  for (const Json* f : dev) {
    if (!f) continue;
    for (const Json& t : f->get("transfers")->arr) {
      if (t.arr.size() < 8 || static_cast<int>(t.arr[0].num) != repeats - 1 || t.arr[7].num < 0) continue;
      const uint32_t ch = static_cast<uint32_t>(t.arr[2].num);
      const std::string name = ch < plan.channels.size() ? plan.channels[ch].value : "channel " + std::to_string(ch);
      const std::string args = ",\"args\":{\"channel\":" + std::to_string(ch) + ",\"request\":" +
                               std::to_string(static_cast<int>(t.arr[1].num)) + ",\"bytes\":" + num(t.arr[5].num) + "}";
      const int from = static_cast<int>(t.arr[3].num) + 1, to = static_cast<int>(t.arr[4].num) + 1;
      ++flow;
      // A short slice on each end, so the flow arrow has something to bind to.
      tr += ",{\"ph\":\"X\",\"pid\":0,\"tid\":" + std::to_string(from) + ",\"name\":" + json_quote("send " + name) +
            ",\"cat\":\"transfer\",\"ts\":" + num(t.arr[6].num) + ",\"dur\":0.001" + args + "}";
      tr += ",{\"ph\":\"s\",\"pid\":0,\"tid\":" + std::to_string(from) + ",\"id\":" + std::to_string(flow) + ",\"name\":" +
            json_quote(name) + ",\"cat\":\"transfer\",\"ts\":" + num(t.arr[6].num) + "}";
      tr += ",{\"ph\":\"X\",\"pid\":0,\"tid\":" + std::to_string(to) + ",\"name\":" + json_quote("recv " + name) +
            ",\"cat\":\"transfer\",\"ts\":" + num(t.arr[7].num) + ",\"dur\":0.001" + args + "}";
      tr += ",{\"ph\":\"f\",\"bp\":\"e\",\"pid\":0,\"tid\":" + std::to_string(to) + ",\"id\":" + std::to_string(flow) + ",\"name\":" +
            json_quote(name) + ",\"cat\":\"transfer\",\"ts\":" + num(t.arr[7].num) + "}";
    }
  }
  tr += "]}\n";

  // Metrics.
  std::string& m = out->metrics;
  m = "{\n  \"plan\": " + json_quote(plan.path) + ",\n  \"launcher\": " + json_quote(launcher) + ",\n  \"requests\": " +
      std::to_string(requests) + ",\n  \"repeats\": " + std::to_string(repeats) + ",\n  \"latencyMs\": [";
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
      double busy = 0;
      for (const Json& b : f.get("busyUs")->arr) busy += b.num;
      const double weights = f.get_number("weightsBytes", 0), arena = f.get_number("arenaBytes", 0), heap = f.get_number("heapPeakBytes", 0);
      const double busy_ms = total_requests > 0 ? busy / 1000.0 / total_requests : 0;
      m += ", \"measured\": {\"busyMsPerRequest\": " + num(busy_ms) + ", \"opsExecuted\": " + num(f.get_number("ops", 0)) +
           ", \"weightsBytes\": " + num(weights) + ", \"arenaBytes\": " + num(arena) + ", \"heapPeakBytes\": " + num(heap) +
           ", \"peakBytes\": " + num(weights + arena + heap) + "}";
      m += ", \"predicted\": {\"memoryBytes\": " + (pd.predicted_memory >= 0 ? num(pd.predicted_memory) : "null") +
           ", \"busyMs\": " + (pd.predicted_busy >= 0 ? num(pd.predicted_busy * 1000) : "null") + "}";
      if (pd.predicted_busy > 0) m += ", \"busyError\": " + num(busy_ms / (pd.predicted_busy * 1000) - 1);
      if (pd.predicted_memory > 0) m += ", \"memoryError\": " + num((weights + f.get_number("plannedArenaBytes", 0)) / pd.predicted_memory - 1);
      m += ", \"capacityBytes\": " + num(static_cast<double>(pd.capacity));
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
         num(total_requests > 0 ? b / total_requests : 0) + ", \"predictedBytes\": " + num(l.predicted_bytes) +
         ", \"predictedSeconds\": " + num(l.predicted_seconds) + "}";
    first = false;
  }
  for (auto& kv : link_bytes) {
    if (seen.count(kv.first)) continue;
    m += std::string(first ? "" : ",") + "\n    {\"id\": " + json_quote(kv.first) + ", \"measuredBytesPerRequest\": " +
         num(total_requests > 0 ? kv.second / total_requests : 0) + ", \"predictedBytes\": null}";
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
         ", \"bytesPerRequest\": " + num(total_requests > 0 ? c.bytes / total_requests : 0) +
         ", \"predictedBytes\": " + (pc ? num(pc->bytes) : "null") + ", \"meanTransferMs\": " + num(c.count ? c.ms / c.count : 0) + "}";
    first = false;
  }
  m += "\n  ]";
  std::vector<MoeUnit> units;
  std::string moe_err;
  if (read_moe_units(plan.path, &units, &moe_err) && !units.empty()) {
    std::map<std::string, const Json*> ops;
    for (size_t d = 0; d < dev.size(); ++d)
      if (dev[d]) ops[plan.devices[d].name] = dev[d]->get("moe");
    std::set<std::string> routed;
    for (const MoeUnit& u : units) routed.insert({u.input, u.output});
    std::map<std::string, double> dispatch;
    for (auto& kv : chans)
      if (kv.first < plan.channels.size() && routed.count(plan.channels[kv.first].value))
        for (const std::string& l : plan.channels[kv.first].links) dispatch[l] += kv.second.bytes;
    m += ",\n  \"moe\": " + moe_metrics(units, ops, dispatch, total_requests);
  }
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
    if (dev[d]) {
      double busy = 0;
      for (const Json& b : dev[d]->get("busyUs")->arr) busy += b.num;
      const Json& f = *dev[d];
      s += ",\"busyMsPerRequest\":" + num(total_requests > 0 ? busy / 1000.0 / total_requests : 0) +
           ",\"predictedBusyMs\":" + (pd.predicted_busy >= 0 ? num(pd.predicted_busy * 1000) : "null") + ",\"peakBytes\":" +
           num(f.get_number("weightsBytes", 0) + f.get_number("arenaBytes", 0) + f.get_number("heapPeakBytes", 0)) +
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
  s += "],\"repeats\":" + std::to_string(repeats) + ",\"requests\":" + std::to_string(requests) + ",\"latencyMs\":" +
       latency_json(lat_ms) + ",\"throughputPerSec\":" + num(throughput) + "}}\n";
  out->summary = s;
  return true;
}

}  // namespace fleetrt
